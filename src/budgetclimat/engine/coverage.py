"""``rules coverage``: euros and lines decided by each rule, per axis, and the lines no rule matched."""

from __future__ import annotations

import numpy as np
import pandas as pd

from budgetclimat import i18n
from budgetclimat.engine.match import DEFAULT_RULE
from budgetclimat.errors import WARNING, empty_findings, findings_frame
from budgetclimat.money import format_euros


def coverage(register: pd.DataFrame, ruleset) -> pd.DataFrame:
    """``axis, rulebook_id, rule_id, lines, amount_cents`` for every rule of the classification rulebooks
    (0 for a rule that decided nothing), ``DEFAULT``, staff costs and the out-of-scope reasons.

    Amounts are the line amounts (not the pieces) of the lines each rule decided, so that they add up
    to the total of the lines on each axis.
    """
    first = register[register["piece"] == 0]
    lines = first.assign(amount_cents=register.groupby(["line_id", "axis"], sort=False)["amount_share_cents"].transform("sum")[first.index])
    key = lines["rule_id"].fillna("(" + lines["scope_reason"].fillna("") + ")")
    got = lines.assign(rule_id=key).groupby(["axis", "rule_id"], sort=False).agg(lines=("line_id", "size"), amount_cents=("amount_cents", "sum"))
    rows = []
    for rb in ruleset.classification:
        ids = [r.id for r in rb.rules] + [DEFAULT_RULE]
        present = got.loc[rb.axis] if rb.axis in got.index.get_level_values(0) else pd.DataFrame(columns=["lines", "amount_cents"])
        scope_ids = [i for i in present.index if i not in ids]
        for rule_id in scope_ids + ids:
            n = int(present.loc[rule_id, "lines"]) if rule_id in present.index else 0
            cents = int(present.loc[rule_id, "amount_cents"]) if rule_id in present.index else 0
            rows.append({"axis": rb.axis, "rulebook_id": rb.id if rule_id in ids else "scope", "rule_id": rule_id, "lines": n, "amount_cents": cents})
    return pd.DataFrame(rows, columns=["axis", "rulebook_id", "rule_id", "lines", "amount_cents"])


def unmatched(register: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """In-scope lines no rule matched (``DEFAULT``), with their codes, label and amount, per axis."""
    first = register[(register["piece"] == 0) & (register["rule_id"] == DEFAULT_RULE)][["line_id", "axis"]]
    cols = ["line_id", "section", "sens", "chapitre", "nature", "fonction", "label", "amount_cents"]
    return first.merge(lines[cols], on="line_id", how="left")


def uncovered_finding(lines: pd.DataFrame, uncovered: np.ndarray, ruleset) -> pd.DataFrame:
    """ONE warning for the real expense lines (in scope) that some classification rulebook does not cover:
    per nomenclature, how many lines and euros, and which nomenclatures the rulebooks do cover.

    ``uncovered`` is aligned with ``lines`` (True: in scope, a rulebook's nomenclatures do not include the
    line's, directly or through a crosswalk). Empty frame when every line is covered.
    """
    spending = uncovered & (lines["sens"] == "D").fillna(False).to_numpy(dtype=bool) & (lines["operation"] == "reel").fillna(False).to_numpy(dtype=bool)
    if not spending.any():
        return empty_findings()
    sub = lines.loc[spending, ["nomenclature", "amount_cents", "source_file"]]
    per = sub.groupby(sub["nomenclature"].astype("string").fillna("?"), sort=True).agg(lines=("amount_cents", "size"), cents=("amount_cents", "sum"))
    lang = i18n.language()
    word = "lines" if lang == "en" else "lignes"
    value = " ; ".join(f"{n} : {int(r.lines)} {word}, {format_euros(int(r.cents), lang)}" for n, r in per.iterrows())
    covered = []
    for rb in ruleset.classification:
        names = list(rb.nomenclatures) + [f"{cw.source} → {cw.target} ({cw.id})" for cw in rb.crosswalks]
        covered += [n for n in names if n not in covered]
    files = ", ".join(dict.fromkeys(sub["source_file"].dropna().astype(str))) or "—"
    return findings_frame([{"level": WARNING, "code": "nomenclature-not-covered", "file": files, "row": None, "column": "nomenclature",
                            "value": value, "expected": ", ".join(covered) or "—"}])
