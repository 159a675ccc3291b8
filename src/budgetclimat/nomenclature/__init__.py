"""Plans de comptes (nomenclatures M57, M14, M52…): load the official ODM files, pick the plan of a
budget, and fill labels and chapters of the canonical lines. See ``docs/nomenclatures.md``."""

from budgetclimat.nomenclature.enrich import enrich, enrich_with_plans
from budgetclimat.nomenclature.plan import Plan, load_plan
from budgetclimat.nomenclature.select import available_plans, plan_for, split_nomenclature

__all__ = ["Plan", "available_plans", "enrich", "enrich_with_plans", "load_plan", "plan_for", "split_nomenclature"]
