"""The learned edge functions of KAN layers, and how much each edge matters on real data.

An edge ``i -> o`` of a KAN layer computes ``phi_oi(x) = w_base * act(x) + sum_k c_k B_k(x)``
(for convs, one such function per kernel tap; "summed over taps" is the function the edge applies
to a constant input). Its importance, as in the original KAN, is the mean absolute output of the
edge over real inputs: for convs, of its whole contribution ``sum_taps phi_oi,tap(x)`` at every
output position, computed exactly with a grouped convolution.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kanvision.layers import KANLayer
from kanvision.layers.fused import expand_values


def channel_dim(layer: KANLayer) -> int:
    """The channel dimension of a layer's input: 1 for convs (N, C, ...), -1 for linears."""
    return 1 if layer.mix.weight.dim() > 2 else -1


def kan_layers(model: nn.Module) -> dict[str, KANLayer]:
    """Every KAN layer of ``model`` by its module name, in forward-definition order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, KANLayer)}


@contextmanager
def capturing_inputs(model: nn.Module, names: Iterable[str] | None = None, select: bool = True) -> Iterator[dict[str, Tensor]]:
    """While the block runs, every forward pass of ``model`` stores each named KAN layer's input
    (all of them by default) in the yielded dict, by layer name; ``select`` reduces it to the
    channels the layer reads (pruned layers read fewer), ``select=False`` keeps every channel.
    One pass gives both the model's output and its layers' inputs."""
    layers = kan_layers(model)
    captured: dict[str, Tensor] = {}

    def keep(name: str, layer: KANLayer, x: Tensor) -> None:
        captured[name] = layer.select_input_channels(x, channel_dim(layer)) if select else x

    hooks = [layers[n].register_forward_pre_hook(lambda m, args, n=n: keep(n, m, args[0]))
             for n in (layers if names is None else names)]
    try:
        yield captured
    finally:
        for h in hooks:
            h.remove()


@torch.no_grad()
def collect_inputs(model: nn.Module, x: Tensor, names: list[str] | None = None) -> dict[str, Tensor]:
    """Run ``model`` on the batch ``x`` (eval mode) and keep each KAN layer's input, reduced to
    the channels the layer reads (pruned layers read fewer)."""
    was_training = model.training
    model.eval()
    try:
        with capturing_inputs(model, names) as captured:
            model(x)
    finally:
        model.train(was_training)
    return captured


def channel_samples(layer: KANLayer, inputs: Tensor) -> Tensor:
    """A layer's (already channel-selected) input as ``(N, C)`` samples per input channel."""
    if channel_dim(layer) == 1:
        return inputs.movedim(1, -1).reshape(-1, inputs.shape[1])
    return inputs.reshape(-1, inputs.shape[-1])


@dataclass(frozen=True)
class InputRange:
    """Per-input-channel range of the data a layer saw: low and high quantiles and extremes."""

    low: Tensor
    high: Tensor
    min: Tensor
    max: Tensor


def input_range(layer: KANLayer, inputs: Tensor, q: float = 0.01) -> InputRange:
    s = channel_samples(layer, inputs).float()
    if s.shape[0] > 100_000:
        s = s[torch.randperm(s.shape[0], generator=torch.Generator().manual_seed(0))[:100_000]]
    return InputRange(s.quantile(q, dim=0), s.quantile(1 - q, dim=0), s.min(0).values, s.max(0).values)


def edge_columns(layer: KANLayer, out: Tensor, inputs: Tensor) -> tuple[Tensor, Tensor]:
    """For edges ``out <- inputs`` (positions among the layer's current inputs; negative: none):
    whether each exists (a grouped layer connects an input only to its group's outputs) and its
    column in :meth:`KANLayer.edge_weights` (the row is ``out``). The one place that knows how
    groups lay out the weight, shared by expansion, pruning and the explorer."""
    per_group = layer.basis.in_features // layer.groups
    rows_per_group = layer.mix.weight.shape[0] // layer.groups
    exists = (inputs >= 0) & (out // rows_per_group == inputs // per_group)
    return torch.broadcast_tensors(exists, inputs.clamp(min=0) % per_group)


def all_edge_columns(layer: KANLayer) -> tuple[Tensor, Tensor]:
    """:func:`edge_columns` over every ``(out, current input)`` pair: two ``(out, in)`` tensors."""
    out_ch, in_ch = layer.mix.weight.shape[0], layer.basis.in_features
    return edge_columns(layer, torch.arange(out_ch)[:, None], torch.arange(in_ch)[None, :])


def full_edge_weights(layer: KANLayer) -> Tensor:
    """Edge weights ``(out, in, K + 1, *kernel)`` (groups expanded to full in-channel blocks)."""
    w = layer.edge_weights()
    if layer.groups == 1:
        return w
    exists, column = all_edge_columns(layer)
    exists, column = exists.to(w.device), column.to(w.device)
    full = w[torch.arange(w.shape[0], device=w.device)[:, None], column]  # (out, in, K + 1, *kernel)
    return full * exists.view(*exists.shape, *[1] * (w.dim() - 2)).to(w.dtype)


def basis_values(layer: KANLayer, x: Tensor) -> Tensor:
    """``(P, K + 1, C)``: base activation and basis functions of every channel at ``x (P, C)``."""
    z = expand_values(x, layer.basis, layer.base_activation, 1)
    return z.view(x.shape[0], layer.expanded_per_input, x.shape[1])


@torch.no_grad()
def edge_functions(layer: KANLayer, x: Tensor, per_tap: bool = False) -> Tensor:
    """Every edge function on the points ``x``: ``(P,)`` shared by all input channels or
    ``(P, C)`` per channel. Returns ``(out, in, P)``, summed over kernel taps, or
    ``(out, in, *kernel, P)`` with ``per_tap=True``."""
    channels = layer.basis.in_features
    points = x[:, None].expand(-1, channels) if x.dim() == 1 else x
    values = basis_values(layer, points.to(layer.mix.weight.dtype))  # (P, F, C)
    w = full_edge_weights(layer)  # (O, C, F, *k)
    if not per_tap:
        w = w.flatten(3).sum(-1) if w.dim() > 3 else w
        return torch.einsum("ocf,pfc->ocp", w, values)
    return torch.einsum("ocf...,pfc->oc...p", w, values)


@torch.no_grad()
def edge_importance(layer: KANLayer, inputs: Tensor, max_samples: int = 4096) -> Tensor:
    """``(out, in)``: mean |output| of every edge over ``inputs`` (the layer's channel-selected
    input batch), the original KAN's importance score."""
    w = full_edge_weights(layer).to(torch.float32)
    out_ch, in_ch, funcs = w.shape[:3]
    if w.dim() == 3:  # linear: each sample's edge outputs directly
        s = channel_samples(layer, inputs).float()
        s = s[: max_samples * 4]
        values = basis_values(layer, s)  # (N, F, C)
        total = torch.zeros(out_ch, in_ch)
        rows = max(1, 16_000_000 // (out_ch * in_ch))  # bound the (rows, out, in) intermediate
        for chunk in values.split(rows):
            total += torch.einsum("ocf,nfc->noc", w, chunk).abs().sum(0)
        return total / values.shape[0]
    mix: nn.modules.conv._ConvNd = layer.mix
    x = inputs.float()[:max_samples]
    z = basis_values(layer, x.movedim(1, -1).reshape(-1, in_ch))  # (N*HW, F, C)
    z = z.view(*x.shape[:1], *x.shape[2:], funcs, in_ch)  # (N, *spatial, F, C)
    z = z.movedim(-1, 1).movedim(-1, 2).flatten(1, 2)  # (N, C*F, *spatial): [channel][function]
    kernel = w.permute(1, 0, 2, *range(3, w.dim())).reshape(in_ch * out_ch, funcs, *w.shape[3:])
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[w.dim() - 3]
    total = torch.zeros(in_ch * out_ch)
    per_image = in_ch * out_ch * z.shape[2:].numel()
    for chunk in z.split(max(1, 16_000_000 // per_image)):
        y = conv(chunk, kernel, None, mix.stride, mix.padding, mix.dilation, groups=in_ch)
        total += y.abs().transpose(0, 1).flatten(1).sum(1)
    positions = x.shape[0] * y.shape[2:].numel()
    return (total / positions).view(in_ch, out_ch).t()
