"""The views budgetclimat ships, registered in order (:mod:`budgetclimat.views.base`), and how each is computed.

Which rulebooks: the ``weights`` / ``carbon`` rulebooks of the run's rule set when it has some (the
first of each kind), else the shipped defaults (``rules/weights/i4ce-classes.yaml`` and
``rules/carbon/m57-m14-ademe-2023.yaml``); ``options["weights"]`` / ``options["carbon"]`` replace them.

The base of the weighted shares is the in-scope real expense lines, the scope as the register decided it
(:func:`~budgetclimat.views.base.in_scope_lines`); the carbon rulebook sees every line and excludes what
it must, with a reason. The territory and the measures' money apply when the user gave their files
(``options["territory"]``: what :func:`budgetclimat.pipeline.load_territory` returns).
"""

from __future__ import annotations

import pandas as pd

from budgetclimat.engine.match import columns_read
from budgetclimat.paths import rules_dir
from budgetclimat.rulebook import load_rulebook
from budgetclimat.rulebook.model import RuleSet
from budgetclimat.views.base import VIEWS, ViewInputs, ViewSpec, in_scope_lines, register_view
from budgetclimat.views.carbon import CarbonResult, range_sums
from budgetclimat.views.evaluate import WeightsPreset, apply_carbon, apply_weights, weights_preset
from budgetclimat.views.territory import MeasuresMoney, TerritoryResult, measures_money, territory_view
from budgetclimat.views.weighted import WeightedResult

DEFAULT_WEIGHTS = "weights/i4ce-classes.yaml"
DEFAULT_CARBON = "carbon/m57-m14-ademe-2023.yaml"


DEFAULT_RULEBOOKS = {"weights": DEFAULT_WEIGHTS, "carbon": DEFAULT_CARBON}


def view_rulebook(ruleset: RuleSet, kind: str):
    """The rulebook a view reads (``kind``: ``weights`` or ``carbon``): the rule set's first of that kind, else
    the shipped default (:data:`DEFAULT_RULEBOOKS`)."""
    books = ruleset.of_kind(kind)
    return books[0] if books else load_rulebook(rules_dir() / DEFAULT_RULEBOOKS[kind])


def view_rulebooks(ruleset: RuleSet) -> dict:
    """The weights and carbon rulebooks of a run, loaded once: the views' ``options`` (a partitioned run gives
    them to every partition instead of loading them per partition)."""
    return {kind: view_rulebook(ruleset, kind) for kind in DEFAULT_RULEBOOKS}


def compute_weighted(inputs: ViewInputs) -> WeightedResult:
    """The weighted view: weights on the in-scope real expense lines."""
    lines = inputs.lines
    weights_rb = inputs.options.get("weights") or view_rulebook(inputs.ruleset, "weights")
    facts = inputs.facts
    base = (in_scope_lines(lines, inputs.register).to_numpy(dtype=bool) & (lines["sens"] == "D").fillna(False).to_numpy(dtype=bool)
            & (lines["operation"] == "reel").fillna(False).to_numpy(dtype=bool))
    # Only the columns the weights read are filtered (rows of the base): line id, amount, what its rules test.
    preset = weights_rb if isinstance(weights_rb, WeightsPreset) else weights_preset(weights_rb)
    needed = ["line_id", "amount_cents"] + sorted(columns_read([preset.rulebook]) - {"line_id", "amount_cents"})
    chosen = lines[[c for c in needed if c in lines.columns]]
    weighted, _ = apply_weights(chosen[base].reset_index(drop=True), preset, inputs.register, facts[base] if facts is not None else None)
    return weighted


def compute_carbon(inputs: ViewInputs) -> CarbonResult:
    """The carbon view of every line (its findings, e.g. ``deflator-nearest-year``, join the run's)."""
    carbon_rb = inputs.options.get("carbon") or view_rulebook(inputs.ruleset, "carbon")
    return apply_carbon(inputs.lines, carbon_rb, inputs.facts)


def compute_territory(inputs: ViewInputs) -> TerritoryResult | None:
    """Caps, inventory, measures' effects and stock, with the carbon view's tCO2e per exercice as the
    collectivité's direct share; None without territory files."""
    loaded = inputs.options.get("territory")
    if loaded is None:
        return None
    inventory, trajectory, measures = loaded
    carbon = inputs.views.get("carbon")
    direct = None
    if carbon is not None and len(inputs.lines):
        per_line = carbon.lines.merge(inputs.lines[["line_id", "exercice"]], on="line_id", how="left")
        grams = range_sums(per_line, "exercice")
        direct = pd.DataFrame({
            "year": grams.index.astype("int64"),
            "tco2e": grams["gco2e"].to_numpy() / 1e6,
            "tco2e_low": grams["gco2e_low"].to_numpy() / 1e6,
            "tco2e_high": grams["gco2e_high"].to_numpy() / 1e6,
        })
    return territory_view(inventory, trajectory, measures, direct)


def compute_measures(inputs: ViewInputs) -> MeasuresMoney | None:
    """The measures' money (voted and executed amounts of the lines each pays with); None without measures."""
    loaded = inputs.options.get("territory")
    if loaded is None or loaded[2] is None:
        return None
    return measures_money(loaded[2], inputs.lines, inputs.register)


for _spec in (ViewSpec("weighted", compute_weighted), ViewSpec("carbon", compute_carbon),
              ViewSpec("territory", compute_territory), ViewSpec("measures", compute_measures)):
    register_view(_spec)


def compute_views(inputs: ViewInputs, names=None, isolate=None) -> dict:
    """The registered views (or those named) of ``inputs``, in the registry's order: ``{name: view}``,
    a view that does not apply left out. ``isolate(name, compute)``, when given, runs each computation
    (the pipeline's :func:`~budgetclimat.pipeline.isolated_view`: a failure is a finding, None)."""
    views = dict(inputs.views)
    for name, spec in list(VIEWS.items()):
        if names is not None and name not in names:
            continue
        step = ViewInputs(inputs.lines, inputs.register, inputs.ruleset, inputs.facts, inputs.options, views)
        view = isolate(name, lambda: spec.compute(step)) if isolate is not None else spec.compute(step)
        if view is not None:
            views[name] = view
    return views
