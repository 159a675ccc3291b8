"""The legal annex « Impact du budget pour la transition écologique »: definitions as data in ``rules/annex``.

A definition applies from its ``from_exercice``; an exercice uses the latest definition not after it.
The arrêté fixing the official table has not been seen, so rows, columns and the classes behind each
column are data (``layout``), and unconfirmed accounts are flagged in the data and in the sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from budgetclimat import yamlfile
from budgetclimat.errors import WARNING, ConfigError, findings_frame
from budgetclimat.paths import rules_dir

from .frames import ALL_KEYS, Prepared

_ROWS = ("nature", "chapitre", "total")


@dataclass(frozen=True)
class Account:
    code: str
    label: str = ""
    confirmed: bool = True


@dataclass(frozen=True)
class AnnexColumn:
    key: str
    label: dict
    classes: tuple[str, ...]


@dataclass(frozen=True)
class AnnexDefinition:
    id: str
    from_exercice: int
    status: str
    title: dict
    legal_basis: str
    nomenclatures: tuple[str, ...]
    axes: tuple[str, ...]
    description: dict
    section: str
    sens: str
    operation: str
    accounts: tuple[Account, ...]
    exclude_chapitres: tuple[str, ...]
    keep_accounts: tuple[Account, ...]
    rows: str
    columns: tuple[AnnexColumn, ...]
    total_column: bool
    shares_row: bool
    row_labels: dict
    path: str
    sha256: str

    def text(self, mapping: dict, lang: str) -> str:
        return str(mapping.get(lang) or mapping.get("fr") or "")

    def row_label(self, row: str) -> str:
        for acc in self.accounts + self.keep_accounts:
            if acc.code == row:
                return acc.label
        return self.row_labels.get(row, "")

    def unconfirmed(self, row: str) -> bool:
        return any(acc.code == row and not acc.confirmed for acc in self.accounts + self.keep_accounts)


def _fail(path: Path, detail: str, line: int = 1) -> ConfigError:
    return ConfigError("annex-invalid", path=str(path), line=line, detail=detail)


def _accounts(path: Path, items, key: str) -> tuple[Account, ...]:
    out = []
    for n, item in enumerate(items or []):
        if isinstance(item, (str, int)):
            item = {"code": str(item)}
        if not isinstance(item, dict) or "code" not in item:
            raise _fail(path, f"{key}: each account needs a code", yamlfile.line_at(items, (n,)))
        out.append(Account(str(item["code"]), str(item.get("label", "")), bool(item.get("confirmed", True))))
    return tuple(out)


def load_definition(path: Path) -> AnnexDefinition:
    import hashlib

    doc = yamlfile.load_file(path)
    raw_bytes = Path(path).read_bytes()
    annex = (doc or {}).get("annex") if isinstance(doc, dict) else None
    if not isinstance(annex, dict):
        raise _fail(path, "top-level key 'annex' expected")
    try:
        per = annex["perimeter"]
        layout = annex["layout"]
        rows = layout.get("rows", "nature")
        if rows not in _ROWS:
            raise _fail(path, f"layout.rows: one of {', '.join(_ROWS)} expected, got {rows!r}", yamlfile.line_at(doc, "annex.layout.rows"))
        columns = []
        for n, col in enumerate(layout["columns"]):
            bad = [c for c in col["classes"] if c not in ALL_KEYS]
            if bad:
                raise _fail(path, f"layout.columns.{col['key']}: unknown classes {bad} (expected {ALL_KEYS})",
                            yamlfile.line_at(doc, ("annex", "layout", "columns", n, "classes")))
            columns.append(AnnexColumn(str(col["key"]), dict(col["label"]), tuple(col["classes"])))
        return AnnexDefinition(
            id=str(annex["id"]),
            from_exercice=int(annex["from_exercice"]),
            status=str(annex.get("status", "provisional")),
            title=dict(annex["title"]),
            legal_basis=str(annex.get("legal_basis", "")),
            nomenclatures=tuple(annex.get("nomenclatures", [])),
            axes=tuple(annex["axes"]),
            description=dict(per.get("description", {})),
            section=str(per.get("section", "I")),
            sens=str(per.get("sens", "D")),
            operation=str(per.get("operation", "reel")),
            accounts=_accounts(path, per.get("accounts"), "perimeter.accounts"),
            exclude_chapitres=tuple(str(c) for c in per.get("exclude_chapitres", [])),
            keep_accounts=_accounts(path, per.get("keep_accounts"), "perimeter.keep_accounts"),
            rows=rows,
            columns=tuple(columns),
            total_column=bool(layout.get("total_column", True)),
            shares_row=bool(layout.get("shares_row", True)),
            row_labels={str(k): str(v) for k, v in (annex.get("row_labels") or {}).items()},
            path=str(path),
            sha256=hashlib.sha256(raw_bytes).hexdigest(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(path, f"missing or wrong key {exc}", yamlfile.line_at(doc, "annex")) from None


def load_definitions(folder: Path | None = None) -> list[AnnexDefinition]:
    folder = Path(folder) if folder else rules_dir() / "annex"
    defs = [load_definition(p) for p in sorted(folder.glob("*.yaml"))]
    return sorted(defs, key=lambda d: d.from_exercice)


def definition_for(exercice: int | None, definitions: list[AnnexDefinition]) -> AnnexDefinition | None:
    """The latest definition whose ``from_exercice`` is not after ``exercice``."""
    if exercice is None:
        return None
    chosen = None
    for d in definitions:
        if d.from_exercice <= exercice:
            chosen = d
    return chosen


def definition_or_nearest(exercice: int | None, definitions: list[AnnexDefinition]) -> tuple[AnnexDefinition | None, bool]:
    """:func:`definition_for`, else (an exercice before the first definition) the earliest definition:
    ``(definition, True)`` — the caller says the annex is shown with the nearest year's definition."""
    chosen = definition_for(exercice, definitions)
    if chosen is None and exercice is not None and definitions:
        return definitions[0], True
    return chosen, False


def annex_year_finding(exercice: int | None, folder: Path | None = None):
    """The ``annex-nearest-year`` warning when ``exercice`` precedes every annex definition (else None)."""
    definitions = load_definitions(folder)
    definition, nearest = definition_or_nearest(exercice, definitions)
    if not nearest:
        return None
    return findings_frame([{"level": WARNING, "code": "annex-nearest-year", "file": Path(definition.path).name, "row": None,
                            "column": "exercice", "value": str(exercice), "expected": str(definition.from_exercice)}])


def _prefix_mask(codes: pd.Series, accounts: tuple[Account, ...]) -> tuple[pd.Series, pd.Series]:
    """Which codes start with one of the accounts; and the matching account code (longest prefix)."""
    codes = codes.astype("string").fillna("")
    matched = pd.Series(pd.NA, index=codes.index, dtype="string")
    for acc in sorted(accounts, key=lambda a: len(a.code)):
        matched = matched.mask(codes.str.startswith(acc.code), acc.code)
    return matched.notna(), matched


def annex_register(prep: Prepared, definition: AnnexDefinition) -> pd.DataFrame:
    """Register rows of the main exercice inside the annex perimeter, with the annex row key ``row``."""
    reg = prep.register
    keep = ((reg["section"] == definition.section) & (reg["sens"] == definition.sens) & (reg["operation"] == definition.operation)).to_numpy(dtype=bool, na_value=False)
    if prep.main_exercice is not None:
        keep &= (reg["exercice"] == prep.main_exercice).to_numpy(dtype=bool, na_value=False)
    keep &= reg["axis"].isin(definition.axes).to_numpy(dtype=bool, na_value=False)
    reg = reg[keep].copy()  # (one take of the wide register, not four)
    if definition.accounts:
        mask, matched = _prefix_mask(reg["nature"], definition.accounts)
        reg = reg[mask].copy()
        reg["account"] = matched[mask]
    else:
        reg["account"] = reg["nature"].astype("string")
    if definition.exclude_chapitres:
        keep_mask, _ = _prefix_mask(reg["nature"], definition.keep_accounts)
        excluded = reg["chapitre"].astype("string").isin(definition.exclude_chapitres) & ~keep_mask
        reg = reg[~excluded].copy()
    if definition.rows == "nature":
        reg["row"] = reg["account"]
    elif definition.rows == "chapitre":
        reg["row"] = reg["chapitre"].astype("string").fillna("")
    else:
        reg["row"] = ""
    return reg


def annex_table(reg: pd.DataFrame, definition: AnnexDefinition, axis: str) -> pd.DataFrame:
    """Cents per annex row × annex column for one axis; rows in the definition's order."""
    sub = reg[reg["axis"] == axis]
    column_of = {}
    for col in definition.columns:
        for cls in col.classes:
            column_of.setdefault(cls, col.key)
    sub = sub.assign(col=sub["key"].map(column_of).fillna(definition.columns[-1].key))
    table = sub.pivot_table(index="row", columns="col", values="amount_share_cents", aggfunc="sum", fill_value=0)
    keys = [c.key for c in definition.columns]
    table = table.reindex(columns=keys, fill_value=0).fillna(0).astype("int64")
    if definition.rows == "nature" and definition.accounts:
        table = table.reindex([a.code for a in definition.accounts], fill_value=0)
    else:
        table = table.sort_index()
    table["total"] = table[keys].sum(axis=1)
    table.columns.name = None
    return table
