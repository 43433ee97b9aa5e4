"""Gaussian radial basis functions on a uniform grid, in the style of FastKAN.

FastKAN (Li, 2024, "Kolmogorov-Arnold Networks are Radial Basis Function Networks") replaces the
cubic B-splines of KAN by Gaussians, which approximate them closely and cost one ``exp`` each.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanvision.layers.basis import Basis, register_basis

# beyond this many widths from the outer centres every Gaussian underflows to exactly 0 (even in
# float64: exp(-900) < the smallest subnormal), so clamping there changes no value
_MARGIN = 30.0


@register_basis("rbf")
class RBFBasis(Basis):
    """``grid_size`` Gaussians ``B_j(x) = exp(-((x - c_j) / h)^2)`` per input channel.

    The centres ``c_j`` are uniform over ``grid_range`` and the width ``h`` is their spacing,
    ``(high - low) / (grid_size - 1)``, as in FastKAN. The input is clamped to ``_MARGIN`` widths
    outside the grid first, where every Gaussian is exactly 0, so ``((x - c_j) / h)^2`` cannot
    overflow and outputs and gradients are finite for any finite input.
    """

    def __init__(
        self,
        in_features: int,
        grid_size: int = 8,
        grid_range: tuple[float, float] = (-2.0, 2.0),
    ) -> None:
        super().__init__()
        if grid_size < 2:
            raise ValueError(
                f"rbf needs grid_size >= 2 (two centres define the width), got {grid_size}"
            )
        lo, hi = float(grid_range[0]), float(grid_range[1])
        if not hi > lo:
            raise ValueError(f"grid_range must be (low, high) with high > low, got {grid_range}")
        self.in_features = in_features
        self.grid_size = grid_size
        self.grid_range = (lo, hi)
        self.num_functions = grid_size
        self.width = (hi - lo) / (grid_size - 1)

    def functions(self, x: Tensor) -> list[Tensor]:
        u = ((x - self.grid_range[0]) / self.width).clamp(-_MARGIN, self.grid_size - 1 + _MARGIN)
        return [torch.exp(-((u - j) * (u - j))) for j in range(self.grid_size)]  # (x - c_j) / h

    def extra_repr(self) -> str:
        return f"{self.in_features}, grid_size={self.grid_size}, grid_range={self.grid_range}"
