"""Pruning a KAN by edge importance: zero the weak edges, remove inputs whose edges all are weak.

``prune(model, importance, threshold)`` looks at every KAN layer's ``(out, in)`` importance
(:func:`~kanvision.inspect.edges.edge_importance`), relative to the layer's strongest edge by
default. An input channel whose every edge is below the threshold is removed from the layer
(:meth:`KANLayer.select_inputs`: its coefficients and basis state are gone, so the parameter
count really drops, and the pruned model saves and loads at its new size); edges below the
threshold on the remaining inputs are set to zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from kanvision.inspect.edges import kan_layers
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
        cut = threshold * scores.max() if relative else torch.as_tensor(threshold)
        weak = scores < cut  # (out, in)
        keep = (~weak).any(0).nonzero().flatten()
        if keep.numel() == 0:
            keep = scores.max(0).values.argmax().reshape(1)
        zeroed = 0
        if zero_edges:
            w = layer.edge_weights()  # (out, in_per_group, K + 1, *kernel), a view
            mask = weak[:, keep] if layer.groups == 1 else None
            if mask is not None:
                sub = w[:, keep]
                sub[mask] = 0
                w[:, keep] = sub
                zeroed = int(mask.sum())
        inputs = scores.shape[1]
        if keep.numel() < inputs:
            layer.select_inputs(keep)
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
