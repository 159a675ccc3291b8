"""Every case of every shipped scope and classification rulebook, through the real engine.

A case gives a partial line (neutral defaults for the rest, ``docs/rulebooks.md``) and the expected
outcome; classification cases run after the shipped scope rulebooks, as in a real run.
"""

from __future__ import annotations

import pytest

from budgetclimat.engine.cases import run_case
from budgetclimat.rulebook import default_rulebooks

RULESET = default_rulebooks()
CASES = [
    pytest.param(rb, rule, case, id=f"{rule.id}-{i + 1}")
    for rb in RULESET.rulebooks
    for rule in rb.rules
    for i, case in enumerate(rule.cases)
]
RULES = [pytest.param(rb, rule, id=rule.id) for rb in RULESET.rulebooks for rule in rb.rules]


@pytest.mark.parametrize("rulebook, rule, case", CASES)
def test_case(rulebook, rule, case):
    problems = run_case(rulebook, rule, case, RULESET)
    assert not problems, f"{rulebook.path}, line {case.line}, rule {rule.id}: " + "; ".join(problems)


@pytest.mark.parametrize("rulebook, rule", RULES)
def test_every_rule_has_a_case(rulebook, rule):
    assert rule.cases, f"{rulebook.path}, line {rule.line}: rule {rule.id} has no case"
