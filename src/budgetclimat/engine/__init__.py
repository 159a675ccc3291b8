"""How rules are evaluated on a line frame: matcher, classification, staff costs, answers, explain.

What a rule says is :mod:`budgetclimat.rulebook`.
"""

from budgetclimat.engine.answers import ANSWER_COLUMNS, read_answers
from budgetclimat.engine.classify import REGISTER_COLUMNS, Classification, classify
from budgetclimat.engine.explain import Explanation, explain

__all__ = ["ANSWER_COLUMNS", "REGISTER_COLUMNS", "Classification", "Explanation", "classify", "explain", "read_answers"]
