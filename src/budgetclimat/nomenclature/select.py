"""Choosing the plan de comptes of a budget: same norm, same variant when there is one, nearest year."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable
from pathlib import Path

from lxml import etree

from budgetclimat import paths
from budgetclimat.errors import WARNING
from budgetclimat.nomenclature.plan import Plan, load_plan, open_plan

INDEX_NAME = "index.csv"
INDEX_COLUMNS = ["norm", "variant", "year", "file"]
PLAN_PATTERNS = ("*.xml", "*.xml.gz")


def shipped_dir() -> Path:
    return paths.rules_dir() / "nomenclatures"


def split_nomenclature(nomenclature: str) -> tuple[str, str]:
    """``M57-M57`` -> (``M57``, ``M57``); ``M14-M14_COM_SUP3500`` -> (``M14``, ``M14_COM_SUP3500``)."""
    norm, _, variant = nomenclature.strip().partition("-")
    return norm, (variant or norm)


def variant_family(variant: str) -> str:
    """The variant a plan serves, for matching: ``M57_D`` (développé, 2022 on) is what ``M57`` was before.

    TOTEM names the M57 développé ``M57-M57`` and the official plans call it ``M57`` until 2021 and
    ``M57_D`` from 2022 (likewise ``M43``/``M43_D``, ``M49``/``M49_D``); the abrégé (``_A``) stays apart.
    """
    upper = variant.strip().upper()
    return upper[:-2] if upper.endswith("_D") else upper


def available_plans(folders: Iterable[str | Path] = ()) -> list[tuple[str, str, int, Path]]:
    """``(norm, variant, year, path)`` of every plan file in ``folders`` then the shipped folder.

    A folder is searched recursively for ``*.xml`` and ``*.xml.gz``. Its ``index.csv`` (norm, variant,
    year, file), when there is one, says what each file is without opening it; a file the index does not
    list has its root element read once (cached by path and modification time). One plan per norm,
    variant and year: the first found wins (user folders before the shipped plans).
    """
    found = []
    seen: set[tuple[str, str, int]] = set()
    for folder in [*folders, shipped_dir()]:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for norm, variant, year, path in _folder_plans(str(folder.resolve()), _signature(folder)):
            key = (norm.upper(), variant_family(variant), year)
            if key not in seen:
                seen.add(key)
                found.append((norm, variant, year, path))
    return found


def _signature(folder: Path) -> tuple:
    """What the cached listing of ``folder`` depends on: its plan files and their modification times."""
    files = sorted({p for pattern in PLAN_PATTERNS for p in folder.rglob(pattern)})
    index = folder / INDEX_NAME
    stamp = index.stat().st_mtime_ns if index.is_file() else None
    return (stamp, *((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in files))


@functools.lru_cache(maxsize=16)
def _folder_plans(folder: str, signature: tuple) -> tuple[tuple[str, str, int, Path], ...]:
    """The plans of one folder, from its index when it lists them, else from their root element."""
    root = Path(folder)
    indexed = _read_index(root / INDEX_NAME)
    out = []
    for relative, mtime in signature[1:]:
        path = root / relative
        header = indexed.get(Path(relative).as_posix()) or _header(str(path), mtime)
        if header is not None:
            out.append((*header, path))
    return tuple(out)


def _read_index(index: Path) -> dict[str, tuple[str, str, int]]:
    if not index.is_file():
        return {}
    with index.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    try:
        return {row["file"]: (row["norm"], row["variant"], int(row["year"])) for row in rows}
    except (KeyError, TypeError, ValueError):
        return {}  # a damaged index: every file is identified by its header instead


def build_index(folder: str | Path) -> str:
    """The ``index.csv`` text for the plan files of ``folder`` (``scripts/build_plan_index.py`` writes it)."""
    folder = Path(folder)
    rows = []
    for path in sorted({p for pattern in PLAN_PATTERNS for p in folder.rglob(pattern)}):
        header = _header(str(path), path.stat().st_mtime_ns)
        if header is not None:
            rows.append([*header, path.relative_to(folder).as_posix()])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INDEX_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


@functools.lru_cache(maxsize=256)
def _header(path: str, mtime_ns: int) -> tuple[str, str, int] | None:
    """Norm, variant and year from the root element only (the rest of the file is not parsed)."""
    try:
        with open_plan(path) as handle:
            for _, elem in etree.iterparse(handle, events=("start",), resolve_entities=False, no_network=True, load_dtd=False):
                if etree.QName(elem).localname != "Nomenclature":
                    return None
                return elem.get("Norme", ""), elem.get("Declinaison", ""), int(elem.get("Exer", ""))
    except (etree.XMLSyntaxError, ValueError, OSError, EOFError):
        return None
    return None


# A bare norm names its usual variant: « M14 » alone is the plan of communes over 3,500 inhabitants (those
# the legal annex concerns; the 500–3,500 plan is asked for by its full name, M14-M14_COM_500_3500).
DEFAULT_VARIANTS = {"M14": "M14_COM_SUP3500"}


def plan_for(
    nomenclature: str, variant: str | None = None, exercice: int | None = None, folders: Iterable[str | Path] = ()
) -> tuple[Plan | None, dict | None]:
    """The plan for a norm (``M57`` or ``M57-M57``), variant and year, and a warning finding or None.

    The norm must match. Among its plans, those of the same variant are preferred (M14 plans differ by
    variant: ``M14_COM_SUP3500``…; ``M57`` and ``M57_D`` are one family, see :func:`variant_family`);
    then the exact year, else the nearest year (the earlier one on a tie), with
    one ``plan-nearest-year`` warning. User ``folders`` win over the shipped plans for the same norm,
    variant and year. No plan for the norm: ``(None, plan-not-found warning)``. The warning's ``file``
    is left empty for the reader to name the budget file; the plan file is in ``expected``.
    """
    norm, from_name = split_nomenclature(nomenclature)
    wanted_variant = split_nomenclature(variant)[1] if variant and "-" in variant else (variant or from_name)
    if wanted_variant.upper() == norm.upper():
        wanted_variant = DEFAULT_VARIANTS.get(norm.upper(), wanted_variant)
    asked = f"{norm}-{wanted_variant}" + (f" {exercice}" if exercice is not None else "")
    plans = available_plans(folders)
    candidates = [c for c in plans if c[0].upper() == norm.upper()]
    if not candidates:  # budgets annexes may name the variant as the norm (M49-M49_A for a plan of norm M4)
        candidates = [c for c in plans if variant_family(c[1]) == variant_family(wanted_variant)]
    if not candidates:
        return None, _warning("plan-not-found", asked, None, None, folders)
    same_variant = [c for c in candidates if variant_family(c[1]) == variant_family(wanted_variant)]
    pool = same_variant or candidates
    year = exercice if exercice is not None else max(c[2] for c in pool)
    # Stable sort: distance, then earlier year, then folder order (user folders first).
    best = sorted(pool, key=lambda c: (abs(c[2] - year), c[2]))[0]
    plan = load_plan(best[3])
    if not same_variant:
        return plan, _warning("plan-other-variant", asked, plan, best[3], folders)
    if exercice is not None and best[2] != exercice:
        return plan, _warning("plan-nearest-year", asked, plan, best[3], folders)
    return plan, None


def plan_file_text(path: Path, folders: Iterable[str | Path] = ()) -> str:
    """A plan file as a user can find it: relative to its folder (``plans/2022/M57_D.xml.gz``)."""
    for folder in [*folders, shipped_dir()]:
        try:
            return Path(path).resolve().relative_to(Path(folder).resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def _warning(code: str, asked: str, plan: Plan | None, path: Path | None, folders: Iterable[str | Path] = ()) -> dict:
    return {
        "level": WARNING,
        "code": code,
        "file": None,
        "row": None,
        "column": "Nomenclature",
        "value": asked,
        "expected": f"{plan.name}, {plan_file_text(path, folders)}" if plan is not None and path is not None else None,
    }
