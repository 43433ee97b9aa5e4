"""Gaussian radial basis functions on a uniform grid, in the style of FastKAN.

FastKAN (Li, 2024, "Kolmogorov-Arnold Networks are Radial Basis Function Networks") replaces the
cubic B-splines of KAN by Gaussians, which approximate them closely and cost one ``exp`` each.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanvision.kernels.spec import KernelBasis
from kanvision.layers.basis import UniformCentresBasis, register_basis


@register_basis("rbf")
class RBFBasis(UniformCentresBasis):
    """``grid_size`` Gaussians ``B_j(x) = exp(-((x - c_j) / h)^2)`` per input channel.

    The centres ``c_j`` are uniform over ``grid_range`` and the width ``h`` is their spacing,
    ``(high - low) / (grid_size - 1)``, as in FastKAN. The input is clamped to ``margin`` widths
    outside the grid first, where every Gaussian is exactly 0, so ``((x - c_j) / h)^2`` cannot
    overflow and outputs and gradients are finite for any finite input.
    """

    name = "rbf"
    # beyond this many widths from the outer centres every Gaussian underflows to exactly 0 (even
    # in float64: exp(-900) < the smallest subnormal), so clamping there changes no value
    margin = 30.0

    def __init__(
        self,
        in_features: int,
        grid_size: int = 8,
        grid_range: tuple[float, float] = (-2.0, 2.0),
    ) -> None:
        super().__init__(in_features, grid_size, grid_range)

    @staticmethod
    def profile(t: Tensor) -> Tensor:
        return torch.exp(-(t * t))

    def kernel_spec(self) -> KernelBasis:
        lo, _ = self.grid_range
        return KernelBasis(
            "gaussian",
            self.num_functions,
            lo=lo,
            step=self.spacing,
            u_min=-self.margin,
            u_max=self.grid_size - 1 + self.margin,
        )
