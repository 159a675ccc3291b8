"""Run a rule's test cases (``cases:`` in a rulebook) through the real engine.

:func:`run_case` is the case runner ``rules lint`` is given (:func:`budgetclimat.rulebook.lint.lint`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from budgetclimat import model
from budgetclimat.engine.answers import conform_answers
from budgetclimat.engine.classify import classify, scope_decisions
from budgetclimat.engine.match import first_match
from budgetclimat.rulebook.model import Case, Outcome, Piece, Rule, Rulebook, RuleSet

CASE_LINE_ID = "2024CA-00-00001"
_DEFAULTS = {
    "line_id": CASE_LINE_ID,
    "source_file": "case",
    "source_row": 1,
    "source_format": "case",
    "exercice": 2024,
    "doc_type": "CA",
    "budget_code": "00",
    "budget_kind": "principal",
    "section": "F",
    "sens": "D",
    "operation": "reel",
    "amount_cents": 100_000,
    "amount_basis": "executed",
}
_PROBE = Rulebook(
    id="case-probe",
    kind="classification",
    path=Path("<case>"),
    axis="attenuation",
    default=Outcome(pieces=(Piece("N", share=1.0),)),
)


def case_line(rulebook: Rulebook, case: Case) -> pd.DataFrame:
    """The canonical one-line frame a case describes (neutral defaults for what it does not give)."""
    values = dict(_DEFAULTS)
    values["nomenclature"] = rulebook.nomenclatures[0] if rulebook.nomenclatures else "M57"
    for key, value in case.given.items():
        values["amount_cents" if key == "amount" else key] = value
    if values.get("operation") == "ordre" and "ordre_kind" not in case.given:
        values["ordre_kind"] = "section"
    return model.conform(pd.DataFrame({k: [v] for k, v in values.items()}))


def case_answers(case: Case) -> pd.DataFrame:
    rows = pd.DataFrame({"line_id": [CASE_LINE_ID] * len(case.facts), "fact": list(case.facts), "value": list(case.facts.values())})
    return conform_answers(rows.astype("string"), source_file="case")


def run_case(rulebook: Rulebook, rule: Rule, case: Case, context: RuleSet | None = None) -> list[str]:
    """Problems found running ``case`` of ``rule`` (empty list: the case passes).

    Scope rulebooks run alone; a classification rulebook runs after the scope rulebooks of ``context``;
    a weights or carbon rulebook is matched alone (its cases expect a ``rule``).
    """
    lines = case_line(rulebook, case)
    answers = case_answers(case)
    expect = case.expect
    problems: list[str] = []
    if rulebook.kind not in ("scope", "classification"):
        got = first_match(rulebook, lines, _facts(answers)).iloc[0]
        got = None if pd.isna(got) else str(got)
        if "rule" in expect and got != expect["rule"]:
            problems.append(f"decided by {got or 'no rule'}, expected {expect['rule']}")
        problems.extend(f"expect.{key} does not apply to a {rulebook.kind} rulebook (expect.rule does)" for key in expect if key != "rule")
        return problems
    if rulebook.kind == "scope":
        ruleset = RuleSet((rulebook, _PROBE))
        decision = scope_decisions(lines, ruleset, _facts(answers)).iloc[0]
        if "scope" in expect and decision["scope"] != expect["scope"]:
            problems.append(f"scope {decision['scope']} (rule {decision['scope_rule_id']}), expected {expect['scope']}")
        if "rule" in expect and decision["scope_rule_id"] != expect["rule"]:
            problems.append(f"decided by {decision['scope_rule_id']}, expected {expect['rule']}")
        return problems
    scope_books = tuple(context.scope) if context is not None else ()
    register = classify(lines, RuleSet(scope_books + (rulebook,)), answers).register
    rows = register[register["axis"] == rulebook.axis]
    first = rows.iloc[0]
    got_rule = first["rule_id"]
    if "scope" in expect and first["scope"] != expect["scope"]:
        problems.append(f"scope {first['scope']} ({first['scope_reason']}), expected {expect['scope']}")
    if "rule" in expect and got_rule != expect["rule"]:
        problems.append(f"decided by {got_rule}, expected {expect['rule']}")
    if "class" in expect:
        classes = sorted(set(rows["class"].dropna()))
        if classes != [expect["class"]]:
            problems.append(f"class {classes or first['scope']}, expected {expect['class']}")
    if "question" in expect and first["question_id"] != expect["question"]:
        problems.append(f"question {first['question_id']}, expected {expect['question']}")
    if "split" in expect:
        got = [(c, round(float(s), 9)) for c, s in zip(rows["class"], rows["share"])]
        want = [(p.klass, round(p.share if p.share is not None else 0.0, 9)) for p in expect["split"]]
        if any(p.fact or p.rest for p in expect["split"]):
            problems.append("expect.split must give numeric shares")
        elif got != want:
            problems.append(f"split {got}, expected {want}")
    if "staff_costs" in expect and (first["decided_by"] == "staff") != expect["staff_costs"]:
        problems.append(f"decided_by {first['decided_by']}, expected staff_costs {expect['staff_costs']}")
    return problems


def _facts(answers: pd.DataFrame) -> pd.DataFrame:
    if not len(answers):
        return pd.DataFrame(index=[0])
    return pd.DataFrame({f: [v] for f, v in zip(answers["fact"], answers["value"])}).astype("string")
