"""Look inside a trained KAN: edge functions, importance, pruning, symbolic formulas, reports."""

from kanvision.inspect.edges import (
    basis_values,
    capturing_inputs,
    collect_inputs,
    edge_functions,
    edge_importance,
    full_edge_weights,
    input_range,
    kan_layers,
)
from kanvision.inspect.plots import plot_functions, plot_importance, plot_network
from kanvision.inspect.prune import PruneReport, accuracy, prune
from kanvision.inspect.report import Inspection, inspect_model
from kanvision.inspect.training import finetune

__all__ = [
    "Inspection",
    "PruneReport",
    "accuracy",
    "basis_values",
    "capturing_inputs",
    "collect_inputs",
    "edge_functions",
    "edge_importance",
    "finetune",
    "full_edge_weights",
    "input_range",
    "inspect_model",
    "kan_layers",
    "plot_functions",
    "plot_importance",
    "plot_network",
    "prune",
]
