"""Draw every registered basis family's functions into ``docs/assets/bases/<name>.png``.

The plots come from the real basis code (``kanvision.layers.create_basis``) at each family's
default options, so they show what a layer computes. Run ``python docs/make_basis_plots.py``
after changing a family and commit the PNGs.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from kanvision.layers import create_basis, list_bases

OUT = Path(__file__).resolve().parent / "assets" / "bases"


def plot_basis(name: str, out: Path = OUT, low: float = -3.0, high: float = 3.0) -> Path:
    """Plot the K functions of basis ``name`` (one input channel, default options) on [low, high]."""
    torch.manual_seed(0)
    basis = create_basis(name, in_features=1).eval()
    x = torch.linspace(low, high, 601).unsqueeze(-1)  # (N, 1): N points, one channel
    with torch.no_grad():
        values = basis(x)[:, 0, :]  # (N, K)
    fig, ax = plt.subplots(figsize=(5, 2.6), dpi=100)
    for j in range(values.shape[-1]):
        ax.plot(x[:, 0], values[:, j], lw=1.4, label=f"B{j + 1}")
    ax.set_title(f"{name}: K = {values.shape[-1]} at the default options", fontsize=10)
    ax.set_xlabel("x")
    ax.axhline(0, color="0.7", lw=0.6)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def main() -> None:
    for name in list_bases():
        print(plot_basis(name))


if __name__ == "__main__":
    main()
