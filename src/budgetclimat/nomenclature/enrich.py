"""Filling the canonical lines from the plan de comptes: labels, fonction labels, missing chapters."""

from __future__ import annotations

import pandas as pd

from budgetclimat.nomenclature.plan import Plan
from budgetclimat.nomenclature.select import plan_for


def enrich(lines: pd.DataFrame, plan: Plan | None) -> pd.DataFrame:
    """Return a copy of ``lines`` with what the plan knows filled in, never overwriting the source.

    ``account_label`` from the account (``nature``), ``fonction_label`` from the fonction, ``label``
    from ``account_label`` where the source had none, ``chapitre`` from the account, sens and
    réel/ordre where the source had none (for an account the plan lacks, from its closest parent
    account in the plan), ``chapitre_plan`` = that chapter of the plan whatever chapter the source
    voted the line in. Lines the plan does not know at all are left as they are.
    """
    out = lines.copy()
    if plan is None or out.empty:
        return out
    labels = plan.accounts.set_index("code")["label"]
    fonctions = plan.fonctions.set_index("code")["label"]
    nature = out["nature"].astype("string")
    out["account_label"] = _fill(out, "account_label", nature.map(labels))
    out["fonction_label"] = _fill(out, "fonction_label", out["fonction"].astype("string").map(fonctions))
    out["label"] = _fill(out, "label", out["account_label"])
    chapter = plan.chapter_of(nature, out["sens"], out["operation"], _column(out, "ordre_kind"))
    # An account the plan does not know takes the chapter of its closest known parent (validation warns),
    # except third-party operations (45…), whose chapter the collectivité numbers after the account.
    parent = plan.known_ancestor(nature).mask(nature.str.startswith("45").fillna(False))
    if parent.notna().any():
        chapter = chapter.fillna(plan.chapter_of(parent, out["sens"], out["operation"], _column(out, "ordre_kind")))
    out["chapitre"] = _fill(out, "chapitre", chapter)
    # The plan's own chapter, whatever chapter the source voted the line in (scope rules test it).
    out["chapitre_plan"] = _fill(out, "chapitre_plan", chapter)
    return out


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype("string")
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def _fill(frame: pd.DataFrame, name: str, values: pd.Series) -> pd.Series:
    current = _column(frame, name)
    return current.mask(current.isna() | (current.str.strip() == ""), values.astype("string")).astype("string")


def enrich_with_plans(lines: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`enrich` each nomenclature × year group of ``lines`` with its own plan.

    For readers whose files may mix years or carry the nomenclature per line (CSV/XLSX exports).
    Returns the enriched lines and the plan warnings (nearest year, other variant, not found), one per
    group, with ``file`` set. Lines without a nomenclature are left as they are.
    """
    out = lines.copy()
    warnings: list[dict] = []
    keys = out[["nomenclature", "nomenclature_variant", "exercice"]].astype("string")
    groups = keys.drop_duplicates().dropna(subset=["nomenclature"])
    for nomenclature, variant, exercice in groups.itertuples(index=False):  # one per plan, not per line
        plan, warning = plan_for(variant if pd.notna(variant) else nomenclature, None, int(exercice) if pd.notna(exercice) else None)
        if warning is not None:
            warnings.append({**warning, "file": file})
        if plan is None:
            continue
        mask = (keys["nomenclature"] == nomenclature).fillna(False)
        mask &= keys["nomenclature_variant"].isna() if pd.isna(variant) else (keys["nomenclature_variant"] == variant).fillna(False)
        mask &= keys["exercice"].isna() if pd.isna(exercice) else (keys["exercice"] == exercice).fillna(False)
        if mask.all():  # one plan for every line (the usual export): no masked frame assignment, 10× faster
            out = enrich(out, plan)
        else:
            out.loc[mask] = enrich(out.loc[mask], plan)
    return out, warnings
