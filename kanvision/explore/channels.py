"""Edges of a KAN layer addressed by the layer's *original* input channels.

Structural pruning (:meth:`KANLayer.select_inputs`) removes input channels, after which the
layer's weight columns no longer line up with the channel numbers a user saw. The explorer
always names an edge ``(out, in)`` by the original input channel, and these helpers translate.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanvision.inspect.edges import edge_columns
from kanvision.layers import KANLayer


def kept_channels(layer: KANLayer, original: int) -> list[int]:
    """The original input channels a layer still reads (all ``original`` if never pruned)."""
    if layer.input_index is None:
        return list(range(original))
    return [int(i) for i in layer.input_index.tolist()]


def positions(layer: KANLayer, channels: Tensor) -> Tensor:
    """Where each original input channel sits among the layer's current inputs (-1: removed)."""
    if layer.input_index is None:
        inside = (channels >= 0) & (channels < layer.basis.in_features)
        return torch.where(inside, channels, -1)
    size = int(max(int(channels.max()), int(layer.input_index.max()))) + 1
    lookup = torch.full((size,), -1, dtype=torch.long)
    lookup[layer.input_index.cpu()] = torch.arange(len(layer.input_index))
    return lookup[channels]


def slots(layer: KANLayer, out: Tensor, channels: Tensor) -> tuple[Tensor, Tensor]:
    """For edges ``out <- original channel``: whether each exists (its input was not removed, and
    a grouped layer connects an input only to its group's outputs) and its column in
    :meth:`KANLayer.edge_weights` (the row is ``out``)."""
    return edge_columns(layer, out, positions(layer, channels))


def position(layer: KANLayer, channel: int) -> int | None:
    """Where the original input ``channel`` sits among the layer's current inputs (None: removed)."""
    pos = int(positions(layer, torch.tensor([channel]))[0])
    return pos if pos >= 0 else None


def edge_coefficients(layer: KANLayer, out: int, channel: int) -> Tensor | None:
    """The edge's coefficients ``(K + 1, *kernel)`` (a view; None when removed or absent)."""
    exists, column = slots(layer, torch.tensor([out]), torch.tensor([channel]))
    if not 0 <= out < layer.mix.weight.shape[0] or not exists[0]:
        return None
    return layer.edge_weights()[out, int(column[0])]


@torch.no_grad()
def zero_edges(layer: KANLayer, edges: list[tuple[int, int]]) -> int:
    """Zero the edges ``(out, original in)`` (vectorised: a prune may name a million); returns
    how many existed and were zeroed."""
    if not edges:
        return 0
    pairs = torch.as_tensor(edges, dtype=torch.long).reshape(-1, 2)
    exists, column = slots(layer, pairs[:, 0], pairs[:, 1])
    w = layer.edge_weights()  # a view: index_put_ writes through to the mix weight
    w[pairs[exists, 0].to(w.device), column[exists].to(w.device)] = 0
    return int(exists.sum())


def nonzero_edges(layer: KANLayer) -> int:
    """Edges with any nonzero coefficient."""
    w = layer.edge_weights()
    return int((w.flatten(2) != 0).any(-1).sum())


def edge_mask(layer: KANLayer, original: int, nonzero: bool = False) -> Tensor:
    """``(out, original in)``: the edges the layer has (removed inputs have none); ``nonzero``:
    only those with a nonzero coefficient."""
    out_ch = layer.mix.weight.shape[0]
    out = torch.arange(out_ch)[:, None].expand(out_ch, original)
    channels = torch.arange(original)[None, :].expand(out_ch, original)
    exists, column = slots(layer, out.reshape(-1), channels.reshape(-1))
    mask = exists.view(out_ch, original)
    if nonzero:
        live = layer.edge_weights().flatten(2).ne(0).any(-1).cpu()  # (out, in_per_group)
        mask = mask & live[out.reshape(-1), column].view(out_ch, original)
    return mask
