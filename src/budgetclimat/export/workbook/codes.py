"""Labels of the codes a sheet shows (chapters, fonctions of every level), from the plan de comptes of the
budget's nomenclature and year: a council reader sees « 011 Charges à caractère général », not « 011 »."""

from __future__ import annotations

import pandas as pd

from budgetclimat.nomenclature.select import plan_for


def _plans(lines: pd.DataFrame) -> list:
    """The plans of the (nomenclature, year) pairs of ``lines``, most lines first."""
    if not len(lines) or "nomenclature" not in lines.columns:
        return []
    variant = lines["nomenclature_variant"] if "nomenclature_variant" in lines.columns else lines["nomenclature"]
    keys = pd.DataFrame({"norm": lines["nomenclature"].astype("string"), "variant": variant.astype("string").fillna(lines["nomenclature"].astype("string")),
                         "year": lines["exercice"] if "exercice" in lines.columns else pd.NA})
    counts = keys.value_counts(dropna=False)
    plans = []
    for (norm, var, year), _n in counts.items():
        if norm is pd.NA or not isinstance(norm, str):
            continue
        try:
            plan, _warning = plan_for(str(var) if isinstance(var, str) else norm, None, None if pd.isna(year) else int(year))
        except Exception:  # noqa: BLE001 - a missing or unreadable plan only costs the labels
            plan = None
        if plan is not None:
            plans.append(plan)
    return plans


def chapter_labels(lines: pd.DataFrame) -> dict[str, str]:
    """Chapter code (by nature, and functional chapters) -> label; the plan of most lines wins."""
    out: dict[str, str] = {}
    for plan in reversed(_plans(lines)):
        frame = plan.chapters.dropna(subset=["code", "label"])
        out.update(dict(zip(frame["code"].astype(str), frame["label"].astype(str))))
    return out


def fonction_labels(lines: pd.DataFrame) -> dict[str, str]:
    """Fonction code of every level (``8``, ``81``, ``815``) -> label; the lines' own labels win."""
    out: dict[str, str] = {}
    for plan in reversed(_plans(lines)):
        frame = plan.fonctions.dropna(subset=["code", "label"])
        out.update(dict(zip(frame["code"].astype(str), frame["label"].astype(str))))
    if "fonction_label" in lines.columns:
        known = lines[["fonction", "fonction_label"]].dropna().astype(str).drop_duplicates("fonction")
        out.update(dict(zip(known["fonction"], known["fonction_label"])))
    return out
