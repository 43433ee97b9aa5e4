"""Symbolic formulas for the edges of a trained KAN layer, over the range its data covered."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from kanvision.inspect.edges import InputRange, edge_functions
from kanvision.inspect.symbolic import SymbolicFit, fit_symbolic, formula_for_layer
from kanvision.layers import KANLayer


@torch.no_grad()
def fit_layer(
    layer: KANLayer,
    data_range: InputRange | tuple[Tensor, Tensor],
    importance: Tensor | None = None,
    max_edges: int = 256,
    points: int = 100,
) -> dict[tuple[int, int], SymbolicFit]:
    """``{(out, in): fit}`` for the layer's most important ``max_edges`` edges (all if no
    importance is given and the layer is small enough), each sampled on its input's data range
    (``low``..``high``) and fitted in x (the affine scaling is converted back from [0, 1])."""
    low, high = (data_range.low, data_range.high) if isinstance(data_range, InputRange) else data_range
    out_ch, in_ch = layer.mix.weight.shape[0], layer.basis.in_features
    scores = importance if importance is not None else torch.ones(out_ch, in_ch)
    order = scores.flatten().argsort(descending=True)[:max_edges]
    edges = [(int(k) // in_ch, int(k) % in_ch) for k in order]
    t = torch.linspace(0, 1, points, dtype=torch.float64)
    width = (high - low).double().clamp(min=1e-6)
    x = low.double()[None, :] + t[:, None] * width[None, :]  # (P, C)
    phi = edge_functions(layer, x.to(layer.mix.weight.dtype)).double()  # (out, in, P)
    fits: dict[tuple[int, int], SymbolicFit] = {}
    for i in sorted({i for _, i in edges}):
        outs = [o for o, j in edges if j == i]
        for o, fit in zip(outs, fit_symbolic(t, phi[outs, i]), strict=True):
            a = fit.a / width[i].item()  # f(a' t + b') with t = (x - low) / width
            fits[(o, i)] = replace(fit, a=a, b=fit.b - a * low[i].item())
    return fits


def layer_formulas(layer: KANLayer, data_range: InputRange | tuple[Tensor, Tensor], min_r2: float = 0.0) -> list[str]:
    """The whole formula ``y_o = sum_i f_oi(x_i) + bias_o`` of a small linear KAN layer."""
    out_ch, in_ch = layer.mix.weight.shape[0], layer.basis.in_features
    fits = fit_layer(layer, data_range, max_edges=out_ch * in_ch)
    grid = [[fits[(o, i)] for i in range(in_ch)] for o in range(out_ch)]
    bias = layer.mix.bias.tolist() if layer.mix.bias is not None else None
    return formula_for_layer(grid, bias, min_r2=min_r2)
