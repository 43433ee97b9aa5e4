"""Matplotlib figures of a KAN's insides: edge-function grids, importance heatmaps, diagrams.

Every function writes one image (PNG or SVG, by the file suffix) and returns its path. The
Agg backend is used, so no display is needed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import Tensor

from kanvision.inspect.edges import InputRange, edge_functions
from kanvision.layers import KANLayer


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _top_indices(scores: Tensor, k: int) -> Tensor:
    return scores.argsort(descending=True)[:k].sort().values


def plot_functions(
    layer: KANLayer,
    data_range: InputRange,
    path: str | Path,
    importance: Tensor | None = None,
    max_inputs: int = 8,
    max_outputs: int = 8,
    points: int = 200,
    title: str = "",
) -> Path:
    """A grid of the layer's edge functions (rows: outputs, columns: inputs; the most important
    ones if there are more than fit), each over the data's range widened by 25%, with the range
    the data covered (1%-99% quantiles) shaded."""
    out_ch, in_ch = layer.mix.weight.shape[0], layer.basis.in_features
    scores = importance if importance is not None else torch.ones(out_ch, in_ch)
    ins = _top_indices(scores.sum(0), max_inputs)
    outs = _top_indices(scores[:, ins].sum(1), max_outputs)
    lo, hi = data_range.min[ins], data_range.max[ins]
    pad = 0.25 * (hi - lo).clamp(min=1e-3)
    t = torch.linspace(0, 1, points)
    xs = (lo - pad)[None, :] + t[:, None] * ((hi + pad) - (lo - pad))[None, :]  # (P, len(ins))
    full = torch.zeros(points, in_ch)
    full[:, ins] = xs
    phi = edge_functions(layer, full)[outs][:, ins]  # (rows, cols, P)
    rows, cols = len(outs), len(ins)
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols + 0.6, 1.1 * rows + 0.6), squeeze=False)
    for r, o in enumerate(outs.tolist()):
        for c, i in enumerate(ins.tolist()):
            ax = axes[r][c]
            ax.axvspan(data_range.low[i].item(), data_range.high[i].item(), color="tab:blue", alpha=0.08)
            ax.plot(xs[:, c].numpy(), phi[r, c].numpy(), color="tab:blue", lw=1.2)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"in {i}", fontsize=7)
            if c == 0:
                ax.set_ylabel(f"out {o}", fontsize=7)
    fig.suptitle(title or "edge functions phi(x) (shaded: 1-99% of the data)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_importance(importance: Tensor, path: str | Path, title: str = "") -> Path:
    """Heatmap of one layer's ``(out, in)`` edge importance (mean |phi(x)| on the data)."""
    out_ch, in_ch = importance.shape
    width = min(12.0, 2.0 + 0.12 * in_ch)
    height = min(8.0, 1.5 + 0.15 * out_ch)
    fig, ax = plt.subplots(figsize=(width, height))
    image = ax.imshow(importance.numpy(), aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_xlabel("input channel")
    ax.set_ylabel("output channel")
    ax.set_title(title or "edge importance (mean |phi(x)|)", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return _save(fig, path)


def plot_network(importance: dict[str, Tensor], path: str | Path, max_nodes: int = 64) -> Path | None:
    """A diagram of the layers with at most ``max_nodes`` inputs and outputs: input nodes on the
    left of each panel, output nodes on the right, an edge's line opacity its importance
    (relative to the layer's strongest edge). None if no layer is small enough."""
    small = {n: s for n, s in importance.items() if max(s.shape) <= max_nodes}
    if not small:
        return None
    fig, axes = plt.subplots(1, len(small), figsize=(3.2 * len(small), 4.2), squeeze=False)
    for ax, (name, scores) in zip(axes[0], small.items(), strict=True):
        out_ch, in_ch = scores.shape
        rel = (scores / scores.max().clamp(min=1e-12)).numpy()
        yin = torch.linspace(0, 1, in_ch).numpy() if in_ch > 1 else [0.5]
        yout = torch.linspace(0, 1, out_ch).numpy() if out_ch > 1 else [0.5]
        for o in range(out_ch):
            for i in range(in_ch):
                if rel[o, i] > 0.02:
                    ax.plot([0, 1], [yin[i], yout[o]], color="black", alpha=float(rel[o, i]), lw=0.8)
        ax.scatter([0] * in_ch, yin, s=12, color="tab:blue", zorder=3)
        ax.scatter([1] * out_ch, yout, s=12, color="tab:orange", zorder=3)
        ax.set_title(f"{name}\n{in_ch} -> {out_ch}", fontsize=8)
        ax.axis("off")
    fig.suptitle("edges by importance (opacity)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
