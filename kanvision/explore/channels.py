"""Edges of a KAN layer addressed by the layer's *original* input channels.

Structural pruning (:meth:`KANLayer.select_inputs`) removes input channels, after which the
layer's weight columns no longer line up with the channel numbers a user saw. The explorer
always names an edge ``(out, in)`` by the original input channel, and these helpers translate.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanvision.layers import KANLayer


def kept_channels(layer: KANLayer, original: int) -> list[int]:
    """The original input channels a layer still reads (all ``original`` if never pruned)."""
    if layer.input_index is None:
        return list(range(original))
    return [int(i) for i in layer.input_index.tolist()]


def position(layer: KANLayer, channel: int) -> int | None:
    """Where the original input ``channel`` sits among the layer's current inputs (None: removed)."""
    if layer.input_index is None:
        return channel if 0 <= channel < layer.basis.in_features else None
    hits = (layer.input_index == channel).nonzero()
    return int(hits[0, 0]) if len(hits) else None


def edge_slot(layer: KANLayer, out: int, pos: int) -> tuple[int, int] | None:
    """``(row, column)`` of the edge ``out <- pos`` in :meth:`KANLayer._edge_weights` (None when
    the edge does not exist: a grouped layer connects an input only to its group's outputs)."""
    out_ch = layer.mix.weight.shape[0]
    per_group = layer.basis.in_features // layer.groups
    group = pos // per_group
    rows_per_group = out_ch // layer.groups
    if not group * rows_per_group <= out < (group + 1) * rows_per_group:
        return None
    return out, pos % per_group


def edge_coefficients(layer: KANLayer, out: int, channel: int) -> Tensor | None:
    """The edge's coefficients ``(K + 1, *kernel)`` (a view; None when removed or absent)."""
    pos = position(layer, channel)
    slot = None if pos is None else edge_slot(layer, out, pos)
    if slot is None:
        return None
    return layer._edge_weights()[slot[0], slot[1]]


def positions(layer: KANLayer, channels: Tensor) -> Tensor:
    """Where each original input channel sits among the layer's current inputs (-1: removed)."""
    if layer.input_index is None:
        inside = (channels >= 0) & (channels < layer.basis.in_features)
        return torch.where(inside, channels, -1)
    size = int(max(int(channels.max()), int(layer.input_index.max()))) + 1
    lookup = torch.full((size,), -1, dtype=torch.long)
    lookup[layer.input_index.cpu()] = torch.arange(len(layer.input_index))
    return lookup[channels]


@torch.no_grad()
def zero_edges(layer: KANLayer, edges: list[tuple[int, int]]) -> int:
    """Zero the edges ``(out, original in)`` (vectorised: a prune may name a million); returns
    how many existed and were zeroed."""
    if not edges:
        return 0
    pairs = torch.as_tensor(edges, dtype=torch.long).reshape(-1, 2)
    out, pos = pairs[:, 0], positions(layer, pairs[:, 1])
    per_group = layer.basis.in_features // layer.groups
    rows_per_group = layer.mix.weight.shape[0] // layer.groups
    exists = (pos >= 0) & (out // rows_per_group == pos // per_group)
    w = layer._edge_weights()  # a view: index_put_ writes through to the mix weight
    w[out[exists].to(w.device), (pos[exists] % per_group).to(w.device)] = 0
    return int(exists.sum())


def nonzero_edges(layer: KANLayer) -> int:
    """Edges with any nonzero coefficient."""
    w = layer._edge_weights()
    return int((w.flatten(2) != 0).any(-1).sum())


def edge_mask(layer: KANLayer, original: int, nonzero: bool = False) -> Tensor:
    """``(out, original in)``: the edges the layer has (a grouped layer connects an input only
    to its group's outputs; removed inputs have none); ``nonzero``: only those with a nonzero
    coefficient."""
    w = layer._edge_weights().flatten(2).ne(0).any(-1)  # (out, in_per_group)
    mask = torch.zeros(w.shape[0], original, dtype=torch.bool)
    per_group = w.shape[1]
    rows_per_group = w.shape[0] // layer.groups
    for pos, channel in enumerate(kept_channels(layer, original)):
        group = pos // per_group
        rows = slice(group * rows_per_group, (group + 1) * rows_per_group)
        mask[rows, channel] = w[rows, pos % per_group] if nonzero else True
    return mask
