"""Compute the weighted and carbon views of a pipeline run (called by :func:`budgetclimat.pipeline.run_lines`).

Which rulebooks: the ``weights`` / ``carbon`` rulebooks of the run's rule set when it has some (the
first of each kind), else the shipped defaults (``rules/weights/i4ce-classes.yaml`` and
``rules/carbon/m57-m14-ademe-2023.yaml``).

The base of the weighted shares is the in-scope expense lines (scope rulebooks); the carbon rulebook
sees every line and excludes what it must, with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from budgetclimat.paths import rules_dir
from budgetclimat.rulebook import load_rulebook
from budgetclimat.rulebook.model import RuleSet
from budgetclimat.views.carbon import CarbonResult
from budgetclimat.views.rulebooks import apply_carbon, apply_weights
from budgetclimat.views.weighted import WeightedResult

DEFAULT_WEIGHTS = "weights/i4ce-classes.yaml"
DEFAULT_CARBON = "carbon/m57-m14-ademe-2023.yaml"


@dataclass
class Views:
    weighted: WeightedResult
    carbon: CarbonResult
    weights_rulebook: str
    carbon_rulebook: str


def _pick(ruleset: RuleSet, kind: str, default: str):
    books = ruleset.of_kind(kind)
    return books[0] if books else load_rulebook(rules_dir() / default)


def compute_views(lines: pd.DataFrame, register: pd.DataFrame, ruleset: RuleSet, facts: pd.DataFrame | None = None,
                  weights=None, carbon=None) -> Views:
    """Weighted and carbon views of classified lines; ``weights``/``carbon`` override the rulebooks used."""
    weighted, name = compute_weighted(lines, register, ruleset, facts, weights)
    carbon_result, carbon_name = compute_carbon(lines, ruleset, facts, carbon)
    return Views(weighted, carbon_result, name, carbon_name)


def compute_weighted(lines: pd.DataFrame, register: pd.DataFrame, ruleset: RuleSet, facts: pd.DataFrame | None = None,
                     weights=None) -> tuple[WeightedResult, str]:
    """The weighted view alone (and the id of the weights rulebook used)."""
    from budgetclimat.engine.classify import scope_decisions

    weights_rb = weights or _pick(ruleset, "weights", DEFAULT_WEIGHTS)
    scope = scope_decisions(lines, RuleSet(tuple(ruleset.scope)), facts.reset_index(drop=True) if facts is not None and len(facts.columns) else None)
    base = ((scope["scope"] == "in").to_numpy() & (lines["sens"] == "D").fillna(False).to_numpy(dtype=bool)
            & (lines["operation"] == "reel").fillna(False).to_numpy(dtype=bool))
    weighted, _ = apply_weights(lines[base].reset_index(drop=True), weights_rb, register, facts[base] if facts is not None else None)
    return weighted, getattr(weights_rb, "id", None) or weights_rb.rulebook.id


def compute_carbon(lines: pd.DataFrame, ruleset: RuleSet, facts: pd.DataFrame | None = None, carbon=None) -> tuple[CarbonResult, str]:
    """The carbon view alone (and the id of the carbon rulebook used)."""
    carbon_rb = carbon or _pick(ruleset, "carbon", DEFAULT_CARBON)
    result = apply_carbon(lines, carbon_rb, facts)
    return result, getattr(carbon_rb, "id", None) or carbon_rb.rulebook.id
