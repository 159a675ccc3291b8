"""Nomenclature crosswalks: let a rulebook written for one nomenclature (M57) classify the lines of another
(M52) where their accounts and fonctions map cleanly — data, validated on load, never hand-edited rules.

A crosswalk file (``rules/crosswalks/m52-to-m57.yaml``) names the source and target nomenclatures, a CSV of
the source accounts that mean the same in the target (``code``), and a CSV mapping each source fonction
to a target fonction with its ``rationale``. A classification rulebook lists the crosswalks it accepts
(``rulebook.crosswalks``, paths relative to the rulebook). The engine reads a line of the source
nomenclature as a line of the target when its account is in the table and its fonction is mapped (or
empty); every other line of the source nomenclature stays uncovered (:func:`translate`).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import yamlfile
from budgetclimat.errors import ConfigError

_CODE = re.compile(r"^[0-9]+$")
TOP_KEYS = ["id", "from", "to", "accounts", "fonctions", "source", "rationale"]


@dataclass(frozen=True, eq=False)
class Crosswalk:
    id: str
    source: str  # nomenclature read (M52)
    target: str  # nomenclature the rules are written for (M57)
    path: Path
    accounts: frozenset[str] = frozenset()
    fonctions: dict[str, str] = field(default_factory=dict)  # source fonction -> target fonction
    rationale: str = ""
    provenance: str = ""


def _fail(file: Path, line: int, key: str, found: object, expected: str) -> ConfigError:
    return ConfigError("rulebook-value", file=str(file), line=line, key=key, found=found, hint="", expected=expected)


def load_crosswalk(path: str | Path) -> Crosswalk:
    """Load and validate a crosswalk file and its two tables (file, line and key named on any mistake)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("rulebook-not-found", path=str(path))
    raw = yamlfile.load_file(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("crosswalk"), dict):
        raise ConfigError("rulebook-missing-key", file=str(path), line=1, key="crosswalk", expected="crosswalk: {id, from, to, accounts, fonctions, rationale}")
    node = raw["crosswalk"]
    for key in node:
        if key not in TOP_KEYS:
            raise ConfigError("rulebook-unknown-key", file=str(path), line=node.line_of(key), key=f"crosswalk.{key}", hint="", expected=", ".join(TOP_KEYS))
    for key in ("id", "from", "to", "accounts", "fonctions", "rationale"):
        if not str(node.get(key, "") or "").strip():
            raise ConfigError("rulebook-missing-key", file=str(path), line=node.line, key=f"crosswalk.{key}", expected=key)
    accounts = _table(path.parent / str(node["accounts"]), ["code"], node.line_of("accounts"), path)
    fonctions = _table(path.parent / str(node["fonctions"]), ["source", "target", "rationale"], node.line_of("fonctions"), path,
                       aliases={"source": str(node["from"]).lower(), "target": str(node["to"]).lower()})
    codes = accounts["code"]
    bad = [c for c in codes if not _CODE.match(c)]
    if bad:
        raise _fail(path.parent / str(node["accounts"]), int(codes[codes == bad[0]].index[0]) + 2, "code", bad[0], "an account number (digits)")
    for column in ("source", "target"):
        wrong = fonctions[~fonctions[column].str.match(_CODE.pattern)]
        if len(wrong):
            raise _fail(path.parent / str(node["fonctions"]), int(wrong.index[0]) + 2, column, wrong[column].iloc[0], "a fonction code (digits)")
    missing = fonctions[fonctions["rationale"].str.strip() == ""]
    if len(missing):
        raise _fail(path.parent / str(node["fonctions"]), int(missing.index[0]) + 2, "rationale", "", "why the two fonctions mean the same")
    twice = fonctions[fonctions["source"].duplicated()]
    if len(twice):
        raise _fail(path.parent / str(node["fonctions"]), int(twice.index[0]) + 2, "source", twice["source"].iloc[0], "each source fonction once")
    return Crosswalk(
        id=str(node["id"]), source=str(node["from"]), target=str(node["to"]), path=path,
        accounts=frozenset(codes), fonctions=dict(zip(fonctions["source"], fonctions["target"], strict=True)),
        rationale=str(node["rationale"]), provenance=str(node.get("source", "")),
    )


def _table(file: Path, columns: list[str], line: int, owner: Path, aliases: dict[str, str] | None = None) -> pd.DataFrame:
    if not file.is_file():
        raise ConfigError("rulebook-value", file=str(owner), line=line, key=file.name, found=str(file), hint="", expected="a CSV file next to the crosswalk")
    with open(file, encoding="utf-8", newline="") as f:
        frame = pd.DataFrame(list(csv.DictReader(f)), dtype="string")
    rename = {v: k for k, v in (aliases or {}).items()}
    frame = frame.rename(columns=rename)
    for column in columns:
        if column not in frame.columns:
            raise ConfigError("rulebook-missing-key", file=str(file), line=1, key=(aliases or {}).get(column, column), expected=", ".join((aliases or {}).get(c, c) for c in columns))
    return frame[columns].fillna("").apply(lambda s: s.str.strip()).reset_index(drop=True)


def translate(frame: pd.DataFrame, crosswalks) -> pd.DataFrame:
    """``frame`` (a match frame: ``nomenclature``, ``nature``, ``fonction``…) with the rows of each
    crosswalk's source nomenclature whose account is in its table and whose fonction is mapped (or empty)
    rewritten as rows of its target: ``nomenclature`` := target, ``fonction`` := mapped fonction. Other
    rows are unchanged (those of the source nomenclature then stay uncovered)."""
    if not crosswalks or "nomenclature" not in frame.columns:
        return frame
    out = frame.copy()
    nomenclature = frame["nomenclature"].astype("string")
    for cw in crosswalks:
        mine = (nomenclature == cw.source).fillna(False).to_numpy(dtype=bool)
        if not mine.any():
            continue
        ok = mine.copy()
        if "nature" in frame.columns:
            ok &= frame["nature"].astype("string").isin(list(cw.accounts)).fillna(False).to_numpy(dtype=bool)
        if "fonction" in frame.columns:
            fonction = frame["fonction"].astype("string")
            mapped = fonction.map(cw.fonctions).astype("string")
            empty = (fonction.isna() | (fonction == "")).to_numpy(dtype=bool)
            ok &= empty | mapped.notna().to_numpy(dtype=bool)
            out["fonction"] = out["fonction"].astype("string").mask(ok & ~empty, mapped)
        out["nomenclature"] = out["nomenclature"].astype("string").mask(ok, cw.target)
    return out


def covered_mask(frame: pd.DataFrame, nomenclatures, crosswalks) -> np.ndarray:
    """Rows of ``frame`` a rulebook covers: its own nomenclatures, directly or through a crosswalk."""
    if not nomenclatures:
        return np.ones(len(frame), dtype=bool)
    view = translate(frame, crosswalks)
    return view["nomenclature"].isin(list(nomenclatures)).fillna(False).to_numpy(dtype=bool)
