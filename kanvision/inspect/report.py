"""Inspect a model on a batch of real images: plots, ``importance.csv`` and ``report.md``."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from kanvision.errors import KanvisionError
from kanvision.inspect.edges import (
    InputRange,
    collect_inputs,
    edge_importance,
    input_range,
    kan_layers,
)
from kanvision.inspect.formulas import fit_layer, layer_formulas
from kanvision.inspect.plots import plot_functions, plot_importance, plot_network
from kanvision.inspect.symbolic import SymbolicFit
from kanvision.models.counting import count_params


@dataclass
class LayerInspection:
    name: str
    kind: str
    shape: tuple[int, int]  # (out, in)
    importance: Tensor
    functions_plot: Path
    importance_plot: Path
    data_range: InputRange
    input_ids: list[int]  # original input channel of each column (pruned layers keep a subset)


@dataclass
class Inspection:
    """Everything :func:`inspect_model` computed and wrote."""

    layers: list[LayerInspection] = field(default_factory=list)
    symbolic: dict[str, dict[tuple[int, int], SymbolicFit]] = field(default_factory=dict)
    formulas: dict[str, list[str]] = field(default_factory=dict)
    network_plot: Path | None = None
    importance_csv: Path | None = None
    report: Path | None = None

    def importance(self) -> dict[str, Tensor]:
        return {layer.name: layer.importance for layer in self.layers}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def inspect_layers(
    model: nn.Module, images: Tensor, out_dir: str | Path, layers: list[str] | None = None, fmt: str = "png"
) -> Inspection:
    """Importance and plots of the selected KAN layers (default: all) on ``images``."""
    out_dir = Path(out_dir)
    inputs = collect_inputs(model, images, layers)
    all_layers = kan_layers(model)
    result = Inspection()
    for name, layer_input in inputs.items():
        layer = all_layers[name]
        scores = edge_importance(layer, layer_input)
        data_range = input_range(layer, layer_input)
        slug = _slug(name)
        result.layers.append(LayerInspection(
            name=name,
            kind=type(layer).__name__,
            shape=tuple(scores.shape),
            importance=scores,
            data_range=data_range,
            input_ids=layer.input_index.tolist() if layer.input_index is not None else list(range(scores.shape[1])),
            functions_plot=plot_functions(layer, data_range, out_dir / f"functions-{slug}.{fmt}",
                                          importance=scores, title=f"{name}: edge functions (summed over kernel taps)"),
            importance_plot=plot_importance(scores, out_dir / f"importance-{slug}.{fmt}", title=f"{name}: edge importance"),
        ))
    result.network_plot = plot_network(result.importance(), out_dir / f"network.{fmt}")
    return result


SMALL_FORMULA_EDGES = 64  # linear KAN layers with at most this many edges get a whole formula


def fit_symbolic_layers(model: nn.Module, inspection: Inspection, names: list[str], out_dir: Path,
                        max_edges: int = 64) -> None:
    """Fit the most important edges of the named layers to formulas (``symbolic-<layer>.csv``);
    small linear layers also get their whole formula."""
    layers = kan_layers(model)
    by_name = {layer.name: layer for layer in inspection.layers}
    for name in names:
        if name not in by_name:
            raise KanvisionError(f"unknown KAN layer '{name}': choose one of {sorted(by_name)}")
        info, layer = by_name[name], layers[name]
        fits = fit_layer(layer, info.data_range, info.importance, max_edges=max_edges)
        inspection.symbolic[name] = fits
        with (out_dir / f"symbolic-{_slug(name)}.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["out", "in", "importance", "function", "r2", "formula"])
            for (o, i), fit in fits.items():
                j = info.input_ids[i]
                writer.writerow([o, j, f"{info.importance[o, i]:.6g}", fit.name, f"{fit.r2:.5f}", fit.formula(f"x_{j}")])
        if info.kind == "KANLinear" and info.shape[0] * info.shape[1] <= SMALL_FORMULA_EDGES:
            inspection.formulas[name] = layer_formulas(layer, info.data_range)


def write_importance_csv(inspection: Inspection, path: Path) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["layer", "out", "in", "importance"])
        for layer in inspection.layers:
            for (o, i), value in zip(torch.cartesian_prod(
                torch.arange(layer.shape[0]), torch.arange(layer.shape[1])).tolist(),
                    layer.importance.flatten().tolist(), strict=True):
                writer.writerow([layer.name, o, layer.input_ids[i], f"{value:.6g}"])
    return path


def _edge_list(scores: Tensor, ids: list[int], k: int, largest: bool) -> str:
    values, idx = scores.flatten().topk(min(k, scores.numel()), largest=largest)
    cols = scores.shape[1]
    return ", ".join(f"{i // cols}<-{ids[i % cols]} ({v:.3g})" for v, i in zip(values.tolist(), idx.tolist(), strict=True))


def write_report(inspection: Inspection, out_dir: Path, title: str, notes: list[str] | None = None) -> Path:
    """``report.md``: per layer its plots and its most and least important edges."""
    lines = [f"# {title}", ""]
    lines += [f"- {n}" for n in notes or []]
    lines += ["", "| layer | kind | out x in | mean importance | edges < 1% of max |", "|---|---|---|---|---|"]
    for layer in inspection.layers:
        s = layer.importance
        weak = (s < 0.01 * s.max()).float().mean().item()
        lines.append(f"| `{layer.name}` | {layer.kind} | {layer.shape[0]} x {layer.shape[1]} | {s.mean():.4g} | {100 * weak:.1f}% |")
    if inspection.network_plot:
        lines += ["", "## Network", "", f"![network]({inspection.network_plot.name})"]
    for layer in inspection.layers:
        lines += [
            "", f"## `{layer.name}`", "",
            f"Most important edges (out<-in): {_edge_list(layer.importance, layer.input_ids, 5, True)}", "",
            f"Least important edges: {_edge_list(layer.importance, layer.input_ids, 5, False)}", "",
            f"![functions]({layer.functions_plot.name})", "", f"![importance]({layer.importance_plot.name})",
        ]
    for name, fits in inspection.symbolic.items():
        lines += ["", f"## Symbolic fit of `{name}`", "",
                  (f"Each edge fitted to c*f(a*x+b)+d over its data range ({len(fits)} most important edges; "
                  f"all in `symbolic-{_slug(name)}.csv`)."), "", "| edge (out<-in) | function | R^2 | formula |",
                  "|---|---|---|---|"]
        ids = next(layer.input_ids for layer in inspection.layers if layer.name == name)
        for (o, i), fit in list(fits.items())[:20]:
            lines.append(f"| {o}<-{ids[i]} | {fit.name} | {fit.r2:.4f} | `{fit.formula(f'x_{ids[i]}')}` |")
        for formula in inspection.formulas.get(name, []):
            lines += ["", f"`{formula}`"]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def inspect_model(
    model: nn.Module, images: Tensor, out_dir: str | Path, layers: list[str] | None = None,
    title: str = "KAN inspection", notes: list[str] | None = None, symbolic: list[str] | None = None,
    symbolic_edges: int = 64,
) -> Inspection:
    """Plots, ``importance.csv`` and ``report.md`` for ``model`` on ``images`` in ``out_dir``;
    ``symbolic`` names layers whose edges are fitted to formulas."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inspection = inspect_layers(model, images, out_dir, layers)
    fit_symbolic_layers(model, inspection, symbolic or [], out_dir, symbolic_edges)
    counts = count_params(model)
    notes = [f"parameters: {counts.total:,} ({counts.kan:,} in KAN layers)", f"images inspected: {images.shape[0]}",
             *(notes or [])]
    inspection.importance_csv = write_importance_csv(inspection, out_dir / "importance.csv")
    inspection.report = write_report(inspection, out_dir, title, notes)
    return inspection
