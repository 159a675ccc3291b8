"""Filling the canonical lines from the plan de comptes: labels, fonction labels, missing chapters."""

from __future__ import annotations

import pandas as pd

from budgetclimat.nomenclature.plan import Plan


def enrich(lines: pd.DataFrame, plan: Plan | None) -> pd.DataFrame:
    """Return a copy of ``lines`` with what the plan knows filled in, never overwriting the source.

    ``account_label`` from the account (``nature``), ``fonction_label`` from the fonction, ``label``
    from ``account_label`` where the source had none, ``chapitre`` from the account, sens and
    réel/ordre where the source had none. Lines the plan does not know are left as they are.
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
    out["chapitre"] = _fill(out, "chapitre", chapter)
    return out


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype("string")
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def _fill(frame: pd.DataFrame, name: str, values: pd.Series) -> pd.Series:
    current = _column(frame, name)
    return current.mask(current.isna() | (current.str.strip() == ""), values.astype("string")).astype("string")
