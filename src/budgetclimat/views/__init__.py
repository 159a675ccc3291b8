"""Views of a classified budget: weighted green budget, carbon budget, territory trajectory, several years."""

from budgetclimat.views.carbon import CarbonResult, CarbonSettings, carbon_view, default_settings
from budgetclimat.views.evaluate import apply_carbon, apply_weights, carbon_mapping, weights_preset
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
    "weighted_view",
    "weights_from_classes",
    "weights_preset",
]
