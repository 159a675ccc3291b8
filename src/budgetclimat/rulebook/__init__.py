"""What a rule says: the rulebook model (:mod:`.model`), its loader and validation (:mod:`.loader`),
the ``then`` of the weights and carbon kinds (:mod:`.kinds`), the safe regex subset (:mod:`.saferegex`)
and ``rules lint`` (:mod:`.lint`).

How rules are evaluated on a line frame is :mod:`budgetclimat.engine`.
"""

from budgetclimat.rulebook.loader import (
    default_rulebooks,
    load_rulebook,
    load_rulebooks,
    ruleset_of,
    shipped_rulebook_paths,
)
from budgetclimat.rulebook.model import (
    AXES,
    CLASSES,
    KINDS,
    Case,
    Condition,
    Outcome,
    Piece,
    Question,
    Rule,
    Rulebook,
    RuleSet,
    ScopeOutcome,
    axis_label,
    class_label,
)

__all__ = [
    "AXES",
    "CLASSES",
    "KINDS",
    "Case",
    "Condition",
    "Outcome",
    "Piece",
    "Question",
    "Rule",
    "RuleSet",
    "Rulebook",
    "ScopeOutcome",
    "axis_label",
    "class_label",
    "default_rulebooks",
    "load_rulebook",
    "load_rulebooks",
    "ruleset_of",
    "shipped_rulebook_paths",
]
