"""How rules are evaluated on a line frame: the one evaluator (:mod:`.match`: first match on distinct
keys), classification, staff costs, answers, explain.

What a rule says is :mod:`budgetclimat.rulebook`.
"""

from budgetclimat.engine.answers import ANSWER_COLUMNS, read_answers
from budgetclimat.engine.classify import REGISTER_COLUMNS, Classification, classify
from budgetclimat.engine.explain import Explanation, explain
from budgetclimat.engine.match import first_match

__all__ = ["ANSWER_COLUMNS", "REGISTER_COLUMNS", "Classification", "Explanation", "classify", "explain", "first_match", "read_answers"]
