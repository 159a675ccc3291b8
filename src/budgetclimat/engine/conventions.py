"""What the convention rules decided in a run (``docs/rulebooks.md``, « Conventions »).

A convention is a rule that decides a class without an I4CE cell supporting it (``convention: true``
with its ``convention_reason``). Every output lists each convention of the rulebooks with the lines and
euros it decided in the run, so that a reader sees what rests on a convention rather than on I4CE, and
can switch them all off (``--no-conventions``, ``run(..., conventions=False)``): the lines they decided
then fall to the next rule. Switched-off conventions are still listed, with 0 line and 0 €, as not
applied.

What a convention *decided* on its axis: the in-scope pieces whose deciding rule it is, except pieces
left « à approfondir » (a share fact still missing) and lines an analyst overrode. A scope convention
decided the lines whose scope it settled (out of scope, or kept in scope), counted once whatever the
number of axes.
"""

from __future__ import annotations

import pandas as pd

from budgetclimat.engine.classify import scope_decisions
from budgetclimat.money import euros_text
from budgetclimat.rulebook.model import Outcome, Rule, RuleSet, ScopeOutcome

COLUMNS = ["rule_id", "rulebook", "kind", "axis", "title", "reason", "class", "lines", "amount_cents", "applied"]


def outcome_class(rule: Rule) -> str:
    """The class a rule gives, as a code: ``N``; ``TF/D`` for a split; ``staff`` for staff costs; ``out`` or
    ``in`` for a scope rule."""
    then = rule.then
    if isinstance(then, ScopeOutcome):
        return "out" if then.out else "in"
    if isinstance(then, Outcome):
        if then.staff_costs:
            return "staff"
        return "/".join(dict.fromkeys(p.klass for p in then.pieces))
    return ""


def usage(
    register: pd.DataFrame,
    ruleset: RuleSet,
    lines: pd.DataFrame | None = None,
    facts: pd.DataFrame | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """One row per convention rule of ``ruleset`` (in force or switched off), in rulebook order, with the
    distinct lines and the cents it decided among the rows of ``register`` (the whole register, or a part
    of it: the Méthode sheet passes the expenses of the main exercice). Columns: :data:`COLUMNS`.

    ``lines`` (and ``facts``) are needed only for a ``scope: in`` convention, whose decision the register
    does not record (it records the classification rule of in-scope lines)."""
    rules = ruleset.all_conventions()
    applied = ruleset.conventions_applied
    rows = []
    for rule in rules:
        rb = ruleset.rulebook(rule.rulebook_id)
        reason = rule.convention_reason.get(lang) if rule.convention_reason is not None else ""
        rows.append({
            "rule_id": rule.id, "rulebook": rule.rulebook_id, "kind": rb.kind if rb else "", "axis": rb.axis if rb else None,
            "title": rule.title, "reason": reason, "class": outcome_class(rule),
        })
    frame = pd.DataFrame(rows, columns=COLUMNS[:7])
    counts = pd.DataFrame({"lines": pd.Series(dtype="int64"), "amount_cents": pd.Series(dtype="int64")})
    if applied and len(frame):
        counts = pd.concat([_classification_counts(register, frame), _scope_counts(register, frame, ruleset, lines, facts)])
    frame = frame.merge(counts, left_on="rule_id", right_index=True, how="left")
    frame["lines"] = frame["lines"].fillna(0).astype("int64")
    frame["amount_cents"] = frame["amount_cents"].fillna(0).astype("int64")
    frame["applied"] = applied
    return frame[COLUMNS].reset_index(drop=True)


def _classification_counts(register: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    ids = frame.loc[frame["kind"] == "classification", "rule_id"]
    mask = register["rule_id"].isin(ids) & (register["scope"] == "in") & (register["class"] != "AA") & (register["decided_by"] != "override")
    decided = register[mask.fillna(False).astype(bool)]
    return decided.groupby("rule_id").agg(lines=("line_id", "nunique"), amount_cents=("amount_share_cents", "sum"))


def _scope_counts(register: pd.DataFrame, frame: pd.DataFrame, ruleset: RuleSet, lines, facts) -> pd.DataFrame:
    scope = frame[frame["kind"] == "scope"]
    if not len(scope):
        return pd.DataFrame(columns=["lines", "amount_cents"])
    # Out of scope: the register names the scope rule on every axis; one row per line counts its amount once.
    out_rows = register[(register["rule_id"].isin(scope["rule_id"]) & (register["scope"] == "out")).fillna(False).astype(bool)]
    per_line = out_rows.drop_duplicates("line_id")[["rule_id", "line_id", "amount_share_cents"]]
    kept = scope.loc[scope["class"] == "in", "rule_id"]
    if len(kept) and lines is not None and len(lines):
        facts = facts if facts is not None and len(facts) == len(lines) else None
        decisions = scope_decisions(lines, ruleset, facts)
        decisions = decisions[decisions["scope_rule_id"].isin(kept) & decisions["line_id"].isin(register["line_id"])]
        amounts = lines[["line_id", "amount_cents"]].astype({"line_id": "string"})
        kept_lines = decisions.merge(amounts, on="line_id", how="left").rename(columns={"scope_rule_id": "rule_id", "amount_cents": "amount_share_cents"})
        per_line = pd.concat([per_line, kept_lines[["rule_id", "line_id", "amount_share_cents"]]], ignore_index=True)
    return per_line.groupby("rule_id").agg(lines=("line_id", "nunique"), amount_cents=("amount_share_cents", "sum"))


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of :func:`usage` as plain JSON values (the summary JSON's ``conventions``)."""
    euros = euros_text(frame["amount_cents"]) if len(frame) else pd.Series(dtype="string")
    return [
        {
            "rule_id": r["rule_id"], "rulebook": r["rulebook"], "axis": r["axis"] if isinstance(r["axis"], str) else None,
            "title": r["title"], "reason": r["reason"], "class": r["class"], "applied": bool(r["applied"]),
            "lines": int(r["lines"]), "amount_cents": int(r["amount_cents"]), "euros": str(e),
        }
        for r, e in zip(frame.to_dict("records"), euros)
    ]
