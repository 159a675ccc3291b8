"""Choosing the plan de comptes of a budget: same norm, same variant when there is one, nearest year."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from lxml import etree

from budgetclimat import i18n, paths
from budgetclimat.errors import WARNING
from budgetclimat.nomenclature.plan import Plan, load_plan, safe_parser

i18n.define(
    "plan-nearest-year",
    fr="Pas de plan de comptes {value} : le plan de l'année la plus proche est utilisé ({expected}, fichier {file}).",
    en="No plan de comptes {value}: the plan of the nearest year is used ({expected}, file {file}).",
)
i18n.define(
    "plan-other-variant",
    fr="Pas de plan de comptes {value} : un plan de la même norme mais d'une autre déclinaison est utilisé ({expected}, fichier {file}). Les chapitres et libellés peuvent différer.",
    en="No plan de comptes {value}: a plan of the same norm but another variant is used ({expected}, file {file}). Chapters and labels may differ.",
)
i18n.define(
    "plan-not-found",
    fr="Aucun plan de comptes pour la nomenclature {value} : libellés et chapitres ne seront pas complétés. Ajoutez le fichier ODM du plan (voir docs/nomenclatures.md).",
    en="No plan de comptes for nomenclature {value}: labels and chapters will not be filled in. Add the plan's ODM file (see docs/nomenclatures.md).",
)


def shipped_dir() -> Path:
    return paths.rules_dir() / "nomenclatures"


def split_nomenclature(nomenclature: str) -> tuple[str, str]:
    """``M57-M57`` -> (``M57``, ``M57``); ``M14-M14_COM_SUP3500`` -> (``M14``, ``M14_COM_SUP3500``)."""
    norm, _, variant = nomenclature.strip().partition("-")
    return norm, (variant or norm)


def available_plans(folders: Iterable[str | Path] = ()) -> list[tuple[str, str, int, Path]]:
    """``(norm, variant, year, path)`` of every plan file in ``folders`` then the shipped folder."""
    found = []
    for folder in [*folders, shipped_dir()]:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.xml")):
            header = _header(str(path.resolve()), path.stat().st_mtime_ns)
            if header is not None:
                found.append((*header, path))
    return found


@functools.lru_cache(maxsize=256)
def _header(path: str, mtime_ns: int) -> tuple[str, str, int] | None:
    """Norm, variant and year from the root element only (the rest of the file is not parsed)."""
    try:
        for _, elem in etree.iterparse(path, events=("start",), resolve_entities=False, no_network=True, load_dtd=False):
            if etree.QName(elem).localname != "Nomenclature":
                return None
            return elem.get("Norme", ""), elem.get("Declinaison", ""), int(elem.get("Exer", ""))
    except (etree.XMLSyntaxError, ValueError):
        return None
    return None


def plan_for(
    nomenclature: str, variant: str | None = None, exercice: int | None = None, folders: Iterable[str | Path] = ()
) -> tuple[Plan | None, dict | None]:
    """The plan for a norm (``M57`` or ``M57-M57``), variant and year, and a warning finding or None.

    The norm must match. Among its plans, those of the same variant are preferred (M14 plans differ by
    variant: ``M14_COM_SUP3500``…); then the exact year, else the nearest year (the earlier one on a
    tie), with a ``plan-nearest-year`` warning. User ``folders`` win over the shipped plans for the
    same norm, variant and year. No plan for the norm: ``(None, plan-not-found warning)``.
    """
    norm, from_name = split_nomenclature(nomenclature)
    wanted_variant = split_nomenclature(variant)[1] if variant and "-" in variant else (variant or from_name)
    asked = f"{norm}-{wanted_variant}" + (f" {exercice}" if exercice is not None else "")
    candidates = [c for c in available_plans(folders) if c[0].upper() == norm.upper()]
    if not candidates:
        return None, _warning("plan-not-found", asked, None, None)
    same_variant = [c for c in candidates if c[1].upper() == wanted_variant.upper()]
    pool = same_variant or candidates
    year = exercice if exercice is not None else max(c[2] for c in pool)
    # Stable sort: distance, then earlier year, then folder order (user folders first).
    best = sorted(pool, key=lambda c: (abs(c[2] - year), c[2]))[0]
    plan = load_plan(best[3])
    if not same_variant:
        return plan, _warning("plan-other-variant", asked, plan, best[3])
    if exercice is not None and best[2] != exercice:
        return plan, _warning("plan-nearest-year", asked, plan, best[3])
    return plan, None


def _warning(code: str, asked: str, plan: Plan | None, path: Path | None) -> dict:
    return {
        "level": WARNING,
        "code": code,
        "file": path.name if path is not None else None,
        "row": None,
        "column": "Nomenclature",
        "value": asked,
        "expected": plan.name if plan is not None else None,
    }
