"""``rules coverage``: euros and lines decided by each rule, per axis, and the lines no rule matched."""

from __future__ import annotations

import pandas as pd

from budgetclimat.engine.classify import DEFAULT_RULE


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
