"""Views of a classified budget: weighted green budget, carbon budget, territory trajectory, several years.

Importing this package registers the ``weights`` and ``carbon`` rulebook kinds with the loader.
"""

from budgetclimat.views import rulebooks as _rulebooks  # noqa: F401 - registers the weights/carbon kinds
from budgetclimat.views.carbon import CarbonResult, CarbonSettings, carbon_view, default_settings
from budgetclimat.views.rulebooks import apply_carbon, apply_weights, carbon_mapping, first_match, weights_preset
from budgetclimat.views.weighted import WeightedResult, weighted_view, weights_from_classes

__all__ = [
    "CarbonResult",
    "CarbonSettings",
    "WeightedResult",
    "apply_carbon",
    "apply_weights",
    "carbon_mapping",
    "carbon_view",
    "default_settings",
    "first_match",
    "weighted_view",
    "weights_from_classes",
    "weights_preset",
]
