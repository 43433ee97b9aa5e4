"""B-spline basis on a uniform grid, in closed form (no Cox-de Boor recursion at run time)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kanvision.kernels.spec import KernelBasis
from kanvision.layers.basis import Basis, check_grid_range, register_basis


def cardinal_bspline(t: Tensor, order: int) -> Tensor:
    """The cardinal B-spline of degree ``order`` with knots 0, 1, ..., order+1, evaluated at t.

    ``t`` is clamped to the support ``[0, order+1]`` first, where the function is exactly zero at
    both ends, so any finite or infinite input gives a finite value and a finite gradient.
    """
    if order == 3:  # the common case: symmetric closed form, fewer passes over memory
        s = (t - 2.0).abs().clamp(max=2.0)
        inner = 2.0 / 3.0 - s * s + 0.5 * s * s * s
        outer = (2.0 - s) ** 3 / 6.0
        return torch.where(s < 1.0, inner, outer)
    if order == 0:
        return ((t >= 0.0) & (t < 1.0)).to(t.dtype)
    t = t.clamp(0.0, order + 1.0)
    # truncated-power form, exact on integer knots; summed with sum() rather than onto a
    # zeros_like, which ONNX's tracer bakes in at the traced batch size (same ops, same FLOPs)
    terms = (
        (-1) ** i * math.comb(order + 1, i) * (t - i).clamp(min=0.0) ** order for i in range(order + 2)
    )
    return sum(terms) / math.factorial(order)


@register_basis("bspline")
class BSplineBasis(Basis):
    """``grid_size + spline_order`` B-splines of degree ``spline_order`` per input channel.

    Each channel has a uniform grid of ``grid_size`` intervals over ``grid_range``, extended by
    ``spline_order`` intervals on each side as in the original KAN, so the splines form a
    partition of unity on ``grid_range``. Outside the extended grid every B-spline is exactly 0:
    the spline branch of the layer contributes nothing there and the layer reduces to its base
    activation branch, which keeps outputs and gradients finite for any finite input.

    The grid is stored per channel (``grid_lo``, ``grid_step``) so it can be refitted to data.
    """

    def __init__(
        self,
        in_features: int,
        grid_size: int = 5,
        spline_order: int = 3,
        grid_range: tuple[float, float] = (-1.0, 1.0),
    ) -> None:
        super().__init__()
        if grid_size < 1 or spline_order < 0:
            raise ValueError(
                f"bspline needs grid_size >= 1 and spline_order >= 0, got {grid_size}, {spline_order}"
            )
        lo, hi = check_grid_range(grid_range)
        self.in_features = in_features
        self.grid_size = grid_size
        self.spline_order = spline_order
        self.num_functions = grid_size + spline_order
        self.register_buffer("grid_lo", torch.full((in_features,), lo))
        self.register_buffer("grid_step", torch.full((in_features,), (hi - lo) / grid_size))

    @property
    def knots(self) -> Tensor:
        """Knot positions per channel, ``(C, grid_size + 2 * spline_order + 1)``."""
        steps = torch.arange(self.grid_size + 2 * self.spline_order + 1, device=self.grid_lo.device)
        steps = steps.to(self.grid_lo.dtype) - self.spline_order
        return self.grid_lo[:, None] + steps * self.grid_step[:, None]

    def grid_range(self) -> tuple[Tensor, Tensor]:
        """Per-channel (low, high) of the grid, without the extension."""
        return self.grid_lo, self.grid_lo + self.grid_step * self.grid_size

    def with_range(self, low: Tensor, high: Tensor) -> BSplineBasis:
        """A copy of this basis with per-channel grid ranges ``[low, high]``."""
        new = BSplineBasis(self.in_features, self.grid_size, self.spline_order)
        new.grid_lo = low.detach().clone().to(self.grid_lo)
        new.grid_step = ((high - low) / self.grid_size).detach().clone().to(self.grid_step)
        return new.to(self.grid_lo.device)

    def with_grid_size(self, grid_size: int) -> BSplineBasis:
        """A copy of this basis with ``grid_size`` intervals over the same ranges."""
        lo, hi = self.grid_range()
        new = BSplineBasis(self.in_features, grid_size, self.spline_order)
        new.grid_lo = lo.detach().clone()
        new.grid_step = ((hi - lo) / grid_size).detach().clone()
        return new.to(self.grid_lo.device)

    def functions(self, x: Tensor) -> list[Tensor]:
        # position in knot units, 0 at the first extended knot; B_j(x) = N(u - j)
        u = (x - self.grid_lo.to(x.dtype)) / self.grid_step.to(x.dtype) + self.spline_order
        return [cardinal_bspline(u - j, self.spline_order) for j in range(self.num_functions)]

    def kernel_spec(self) -> KernelBasis | None:
        """Cubic splines only: the kernels evaluate the closed-form cubic (``cardinal_bspline``)."""
        if self.spline_order != 3:
            return None
        return KernelBasis(
            "bspline3",
            self.num_functions,
            lo=self.grid_lo,
            step=self.grid_step,
            shift=float(self.spline_order),
        )

    def extra_repr(self) -> str:
        return f"{self.in_features}, grid_size={self.grid_size}, spline_order={self.spline_order}"
