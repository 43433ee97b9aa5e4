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


@torch.no_grad()
def zero_edges(layer: KANLayer, edges: list[tuple[int, int]]) -> int:
    """Zero the edges ``(out, original in)``; returns how many existed and were zeroed."""
    count = 0
    for out, channel in edges:
        w = edge_coefficients(layer, out, channel)
        if w is not None:
            w.zero_()
            count += 1
    return count


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
