"""Surgery on a trained KAN as a list of JSON edits that can be undone and re-applied.

An edit is a plain dict with an ``"op"`` from :data:`EDITS`:

- ``{"op": "prune", "threshold": 0.05, "layer": null}``: in every KAN layer (or the named one),
  the edges whose importance is below ``threshold`` x the layer's strongest edge are zeroed, and
  input channels whose edges are all weak are removed (so the parameter count drops);
- ``{"op": "symbolic", "layer": "head", "out": 3, "in": 120, "fn": "sin"}``: the edge's function
  is replaced by its fit ``c * fn(a * x + b) + d``: its coefficients are refitted to the formula
  by least squares over the range its data covers, which keeps the layer's fast algebra (the
  residual of that refit is reported); for convs every kernel tap keeps its own scale and offset
  of the same ``fn(a * x + b)``, so the tap-summed edge function becomes the fit;
- ``{"op": "zero_channel", "layer": "features.4", "channel": 7}``: every edge from that input
  channel of the layer is zeroed.

Edges and channels are always named by the layer's original input channels
(:mod:`kanvision.explore.channels`). Applying an edit *resolves* it first: the edges a prune
removes and the fit's constants are written into the dict, so a resolved edit re-applies to the
same weights without data (:func:`apply_edits`) and the exported JSON list is a full record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from kanvision.errors import KanvisionError, unknown_name
from kanvision.explore.channels import (
    edge_coefficients,
    edge_mask,
    kept_channels,
    position,
    zero_edges,
)
from kanvision.inspect.edges import basis_values, kan_layers
from kanvision.inspect.prune import prune_plan
from kanvision.inspect.symbolic import SYMBOLIC_LIBRARY, SymbolicFit, fit_symbolic
from kanvision.layers import KANLayer

Edit = dict[str, Any]


class EditContext(Protocol):
    """What resolving an edit needs from the data (an :class:`ExploreSession` provides it)."""

    def importance(self, layer: str) -> Tensor:
        """``(out, original in)`` edge importance on the current model (NaN: no such edge)."""

    def data_range(self, layer: str, channel: int) -> tuple[float, float]:
        """The 1%..99% quantiles of the layer's input ``channel`` on the current model."""


@dataclass(frozen=True)
class EditOp:
    """One kind of edit: ``resolve`` fills in what the data decides, ``apply`` changes the model
    in place from a resolved edit and returns what it did (shown next to the edit)."""

    resolve: Callable[[Edit, dict[str, KANLayer], EditContext], Edit]
    apply: Callable[[Edit, dict[str, KANLayer]], dict[str, Any]]
    describe: Callable[[Edit], str]
    example: Callable[[dict[str, KANLayer], EditContext], Edit]
    """A valid edit of this kind for a model (the tests generated from the registry use it)."""


EDITS: dict[str, EditOp] = {}


def register_edit(name: str, op: EditOp) -> None:
    """Add an edit kind (the page and :func:`apply_edits` pick it up by its ``op`` name)."""
    EDITS[name] = op


def _layer(edit: Edit, layers: dict[str, KANLayer]) -> KANLayer:
    name = edit.get("layer")
    if name not in layers:
        raise unknown_name("KAN layer", str(name), list(layers), "name a KAN layer of the model")
    return layers[name]


def _channel(edit: Edit, key: str, original: int) -> int:
    value = edit.get(key)
    if not isinstance(value, int) or not 0 <= value < original:
        raise KanvisionError(f"edit {edit.get('op')!r}: {key} must be an integer in 0..{original - 1}, got {value!r}")
    return value


# --- prune --------------------------------------------------------------------------------------


def _resolve_prune(edit: Edit, layers: dict[str, KANLayer], ctx: EditContext) -> Edit:
    threshold = edit.get("threshold")
    if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise KanvisionError(f"prune: threshold must be a fraction in [0, 1] of each layer's strongest edge, got {threshold!r}")
    names = [edit["layer"]] if edit.get("layer") else list(layers)
    for name in names:
        _layer({"layer": name}, layers)
    removed: dict[str, list[int]] = {}
    zeroed: dict[str, list[int]] = {}  # flat indices out * inputs + in
    inputs: dict[str, int] = {}
    for name in names:
        scores = ctx.importance(name)  # (out, original in), NaN where no edge
        exists = ~scores.isnan()
        if not exists.any():
            continue
        plan = prune_plan(scores, threshold)  # the rule of kanvision.inspect.prune
        dropped = exists.any(0) & ~plan.keep
        inputs[name] = scores.shape[1]
        removed[name] = dropped.nonzero().flatten().tolist()
        cut = plan.weak & ~dropped[None, :] & edge_mask(layers[name], scores.shape[1], nonzero=True)
        zeroed[name] = cut.flatten().nonzero().flatten().tolist()
    return {"op": "prune", "threshold": float(threshold), "layer": edit.get("layer"),
            "inputs": inputs, "removed": removed, "zeroed": zeroed}


@torch.no_grad()
def _apply_prune(edit: Edit, layers: dict[str, KANLayer]) -> dict[str, Any]:
    inputs_removed = edges_zeroed = 0
    for name, flat in edit["zeroed"].items():
        original = edit["inputs"][name]
        edges_zeroed += zero_edges(layers[name], [(k // original, k % original) for k in flat])
    for name, channels in edit["removed"].items():
        layer, original = layers[name], edit["inputs"][name]
        gone = set(channels)
        current = kept_channels(layer, original)
        keep = [pos for pos, c in enumerate(current) if c not in gone]
        if len(keep) == len(current):
            continue
        inputs_removed += len(current) - len(keep)
        if layer.can_select_inputs:
            layer.select_inputs(torch.tensor(keep))
        else:  # a grouped layer cannot drop inputs: their edges are zeroed instead
            outs = range(layer.mix.weight.shape[0])
            zero_edges(layer, [(o, c) for c in gone for o in outs])
    return {"inputs_removed": inputs_removed, "edges_zeroed": edges_zeroed}


def _describe_prune(edit: Edit) -> str:
    where = f"layer {edit['layer']}" if edit.get("layer") else "every layer"
    removed = sum(len(v) for v in edit.get("removed", {}).values())
    zeroed = sum(len(v) for v in edit.get("zeroed", {}).values())
    return f"prune {where} below {edit['threshold']:g} x strongest edge: {removed} inputs removed, {zeroed} edges zeroed"


# --- symbolic -----------------------------------------------------------------------------------


def _resolve_symbolic(edit: Edit, layers: dict[str, KANLayer], ctx: EditContext) -> Edit:
    layer = _layer(edit, layers)
    fn = edit.get("fn")
    if fn not in SYMBOLIC_LIBRARY:
        raise unknown_name("symbolic function", str(fn), list(SYMBOLIC_LIBRARY), "see kanvision.inspect.symbolic.SYMBOLIC_LIBRARY")
    out = _channel(edit, "out", layer.mix.weight.shape[0])
    scores = ctx.importance(edit["layer"])
    channel = _channel(edit, "in", scores.shape[1])
    if edge_coefficients(layer, out, channel) is None:
        raise KanvisionError(f"symbolic: the edge {out} <- {channel} of {edit['layer']} was pruned or does not exist")
    if all(k in edit for k in ("a", "b", "c", "d", "low", "high")):
        return dict(edit)
    low, high = ctx.data_range(edit["layer"], channel)
    fit = fit_edge(layer, out, channel, low, high, [fn])[0]
    return {"op": "symbolic", "layer": edit["layer"], "out": out, "in": channel, "fn": fn,
            "a": fit.a, "b": fit.b, "c": fit.c, "d": fit.d, "r2": fit.r2, "low": low, "high": high}


def edge_points(low: float, high: float, points: int = 200) -> Tensor:
    """Sample points of an edge's data range, in float64."""
    return torch.linspace(low, high, points, dtype=torch.float64)


def edge_basis(layer: KANLayer, channel: int, x: Tensor) -> Tensor:
    """``(P, K + 1)``: the base activation and basis functions of ``channel`` at the points ``x``."""
    pos = position(layer, channel)
    dtype = layer.mix.weight.dtype
    values = basis_values(layer, x[:, None].expand(-1, layer.basis.in_features).to(dtype))
    return values[:, :, pos].double()


def edge_taps(layer: KANLayer, out: int, channel: int, x: Tensor) -> Tensor:
    """``(T, P)``: the edge's function at every kernel tap (T = 1 for linears)."""
    w = edge_coefficients(layer, out, channel).double()
    w = w.reshape(w.shape[0], -1)  # (K + 1, T)
    return (edge_basis(layer, channel, x) @ w).T


def fit_edge(layer: KANLayer, out: int, channel: int, low: float, high: float,
             candidates: list[str] | None = None) -> list[SymbolicFit]:
    """Each candidate's best fit to the edge's (tap-summed) function over ``[low, high]``,
    best R^2 first."""
    x = edge_points(low, high, 100)
    y = edge_taps(layer, out, channel, x).sum(0)
    names = candidates or list(SYMBOLIC_LIBRARY)
    fits = [fit_symbolic(x, y, candidates=[name])[0] for name in names]
    return sorted(fits, key=lambda f: -f.r2)


@torch.no_grad()
def _apply_symbolic(edit: Edit, layers: dict[str, KANLayer]) -> dict[str, Any]:
    layer = layers[edit["layer"]]
    w = edge_coefficients(layer, edit["out"], edit["in"])
    if w is None:
        return {"residual_rms": None, "note": "the edge was removed before this edit"}
    x = edge_points(edit["low"], edit["high"])
    fit = SymbolicFit(edit["fn"], edit["a"], edit["b"], edit["c"], edit["d"], edit.get("r2", float("nan")))
    g = fit(x) - fit.d  # c * fn(a x + b); each tap gets its own scale and offset of it
    fn_and_one = torch.stack([g, torch.ones_like(g)], dim=1)  # (P, 2)
    taps = edge_taps(layer, edit["out"], edit["in"], x)  # (T, P)
    scale = torch.linalg.lstsq(fn_and_one, taps.T).solution  # (2, T)
    targets = fn_and_one @ scale  # (P, T)
    basis = edge_basis(layer, edit["in"], x)  # (P, K + 1)
    coef = torch.linalg.lstsq(basis, targets).solution  # (K + 1, T)
    w.copy_(coef.reshape(w.shape).to(w.dtype))
    refit = (basis @ coef).sum(1)
    target = targets.sum(1)
    error = refit - target
    spread = float(target.max() - target.min()) or 1.0
    return {"residual_rms": float(error.square().mean().sqrt()), "residual_max": float(error.abs().max()),
            "residual_relative": float(error.abs().max()) / spread}


def _describe_symbolic(edit: Edit) -> str:
    fit = SymbolicFit(edit["fn"], edit["a"], edit["b"], edit["c"], edit["d"], edit.get("r2", 0.0))
    return f"{edit['layer']} edge {edit['out']} <- {edit['in']} := {fit.formula()} (R^2 {fit.r2:.4f})"


# --- zero an input channel ----------------------------------------------------------------------


def _resolve_zero_channel(edit: Edit, layers: dict[str, KANLayer], ctx: EditContext) -> Edit:
    _layer(edit, layers)
    channel = _channel(edit, "channel", ctx.importance(edit["layer"]).shape[1])
    return {"op": "zero_channel", "layer": edit["layer"], "channel": channel}


def _apply_zero_channel(edit: Edit, layers: dict[str, KANLayer]) -> dict[str, Any]:
    layer = layers[edit["layer"]]
    outs = range(layer.mix.weight.shape[0])
    return {"edges_zeroed": zero_edges(layer, [(o, edit["channel"]) for o in outs])}


def _describe_zero_channel(edit: Edit) -> str:
    return f"zero input channel {edit['channel']} of {edit['layer']}"


def _strongest_edge(layers: dict[str, KANLayer], ctx: EditContext) -> tuple[str, int, int]:
    name = list(layers)[-1]
    scores = ctx.importance(name).nan_to_num(nan=-1.0)
    flat = int(scores.flatten().argmax())
    return name, flat // scores.shape[1], flat % scores.shape[1]


def _example_symbolic(layers: dict[str, KANLayer], ctx: EditContext) -> Edit:
    name, out, channel = _strongest_edge(layers, ctx)
    return {"op": "symbolic", "layer": name, "out": out, "in": channel, "fn": "0"}  # a constant: always a change


def _example_zero_channel(layers: dict[str, KANLayer], ctx: EditContext) -> Edit:
    name, _, channel = _strongest_edge(layers, ctx)
    return {"op": "zero_channel", "layer": name, "channel": channel}


register_edit("prune", EditOp(_resolve_prune, _apply_prune, _describe_prune,
                              lambda layers, ctx: {"op": "prune", "threshold": 0.3, "layer": None}))
register_edit("symbolic", EditOp(_resolve_symbolic, _apply_symbolic, _describe_symbolic, _example_symbolic))
register_edit("zero_channel", EditOp(_resolve_zero_channel, _apply_zero_channel, _describe_zero_channel,
                                     _example_zero_channel))


def edit_op(edit: Edit) -> EditOp:
    if not isinstance(edit, dict) or edit.get("op") not in EDITS:
        op = edit.get("op") if isinstance(edit, dict) else edit
        raise unknown_name("edit", str(op), list(EDITS), "register new kinds with register_edit")
    return EDITS[edit["op"]]


def is_resolved(edit: Edit) -> bool:
    """Whether the data-decided fields are present (see the module docstring)."""
    needs = {"prune": ("inputs", "removed", "zeroed"), "symbolic": ("a", "b", "c", "d", "low", "high")}
    return all(key in edit for key in needs.get(edit["op"], ()))


def apply_edits(model: nn.Module, edits: list[Edit]) -> list[dict[str, Any]]:
    """Re-apply resolved edits (an exported JSON list) to ``model`` in place, in order."""
    layers = kan_layers(model)
    effects = []
    for edit in edits:
        op = edit_op(edit)
        if not is_resolved(edit):
            raise KanvisionError(f"edit {edit['op']!r} is not resolved (no data-decided fields): "
                                 "apply it through ExploreSession.apply, which resolves it on data")
        effects.append(op.apply(edit, layers))
    return effects
