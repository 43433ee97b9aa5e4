"""Pruning a KAN by edge importance: zero the weak edges, remove inputs whose edges all are weak.

``prune(model, importance, threshold)`` looks at every KAN layer's ``(out, in)`` importance
(:func:`~kanvision.inspect.edges.edge_importance`), relative to the layer's strongest edge by
default. An input channel whose every edge is below the threshold is removed from the layer
(:meth:`KANLayer.select_inputs`: its coefficients and basis state are gone, so the parameter
count really drops, and the pruned model saves and loads at its new size); edges below the
threshold on the remaining inputs are set to zero. A grouped layer (the depthwise KAN convs of a
SepNet) or one with a grouped basis cannot drop inputs, so their edges are zeroed instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from kanvision.inspect.edges import all_edge_columns, kan_layers
from kanvision.layers import KANLayer
from kanvision.models.counting import count_params


@dataclass
class LayerPruning:
    name: str
    inputs_before: int
    inputs_after: int
    edges_zeroed: int


@dataclass
class PruneReport:
    """What a prune did: parameters before and after, per layer, and accuracy if measured."""

    params_before: int
    params_after: int
    kan_params_before: int
    kan_params_after: int
    layers: list[LayerPruning] = field(default_factory=list)
    acc_before: float | None = None
    acc_after: float | None = None

    @property
    def kan_removed_fraction(self) -> float:
        return 1 - self.kan_params_after / max(self.kan_params_before, 1)

    def summary(self) -> str:
        acc = ""
        if self.acc_before is not None and self.acc_after is not None:
            acc = f", accuracy {self.acc_before:.2f}% -> {self.acc_after:.2f}%"
        return (
            f"params {self.params_before:,} -> {self.params_after:,} (KAN {self.kan_params_before:,} -> "
            f"{self.kan_params_after:,}, -{100 * self.kan_removed_fraction:.1f}%){acc}"
        )


@dataclass
class PrunePlan:
    """What the pruning rule decides for one layer's ``(out, in)`` importance."""

    weak: Tensor  # (out, in) bool: existing edges below the cut
    keep: Tensor  # (in,) bool: inputs with at least one edge at or above the cut


def prune_plan(scores: Tensor, threshold: float, relative: bool = True) -> PrunePlan:
    """The rule shared by :func:`prune` and the browser explorer: an edge is weak below
    ``threshold`` (times the layer's strongest edge when ``relative``), an input is kept while
    one of its edges is not weak, and a layer always keeps its most important input. NaN scores
    mark edges that no longer exist (pruned before): never weak, never keeping an input."""
    exists = ~scores.isnan()
    filled = scores.nan_to_num(nan=0.0)
    cut = threshold * filled.max() if relative else torch.as_tensor(threshold)
    weak = (filled < cut) & exists
    keep = (exists & ~weak).any(0)
    if not keep.any():
        keep[filled.max(0).values.argmax()] = True
    return PrunePlan(weak, keep)


@torch.no_grad()
def zero_edge_mask(layer: KANLayer, mask: Tensor) -> int:
    """Zero the edges that ``mask`` ``(out, in)`` marks over the layer's current inputs (for a
    grouped layer, ``in`` is every input channel and only the edges inside a group exist).
    Returns how many existing edges it marked."""
    w = layer.edge_weights()  # (out, in_per_group, K + 1, *kernel), a view of the mix weight
    exists, column = all_edge_columns(layer)
    mask = mask.cpu() & exists
    rows = torch.arange(w.shape[0])[:, None].expand_as(mask)
    w[rows[mask].to(w.device), column[mask].to(w.device)] = 0  # index_put_ on the view writes through
    return int(mask.sum())


@torch.no_grad()
def prune(
    model: nn.Module,
    importance: dict[str, Tensor],
    threshold: float,
    relative: bool = True,
    zero_edges: bool = True,
) -> PruneReport:
    """Prune the KAN layers named in ``importance`` in place (see the module docstring).

    ``relative``: the threshold is a fraction of each layer's largest edge importance (else an
    absolute mean |phi|). A layer always keeps at least its most important input."""
    before = count_params(model)
    layers = kan_layers(model)
    report = PruneReport(before.total, 0, before.kan, 0)
    for name, scores in importance.items():
        layer = layers[name]
        plan = prune_plan(scores, threshold, relative)
        keep = plan.keep.nonzero().flatten()
        zeroed = zero_edge_mask(layer, plan.weak & plan.keep[None, :]) if zero_edges else 0
        inputs = scores.shape[1]
        if keep.numel() < inputs:
            if layer.can_select_inputs:
                layer.select_inputs(keep)
            else:  # a grouped layer cannot drop inputs: their edges are zeroed instead
                zeroed += zero_edge_mask(layer, ~plan.keep[None, :].expand_as(plan.weak))
        report.layers.append(LayerPruning(name, inputs, keep.numel(), zeroed))
    after = count_params(model)
    report.params_after, report.kan_params_after = after.total, after.kan
    return report


@torch.no_grad()
def accuracy(model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]], device: str = "cpu") -> float:
    """Top-1 accuracy in % of ``model`` (eval mode) over ``batches``."""
    was_training = model.training
    model.eval().to(device)
    correct = seen = 0
    for x, y, *_marked in batches:  # a masked test set's batches also say which images are marked
        correct += (model(x.to(device)).argmax(1) == y.to(device)).sum().item()
        seen += y.numel()
    model.train(was_training)
    return 100 * correct / max(seen, 1)
