"""Fourier basis, in the style of FourierKAN.

FourierKAN (GistNoesis, 2024, "FourierKAN") writes each edge function as a truncated Fourier
series ``sum_k a_k cos(k x) + b_k sin(k x)``: smooth, global and bounded for any input.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanvision.layers.basis import Basis, register_basis

# |x| above this cannot be a meaningful phase anyway; clamping keeps k * x from overflowing to inf
# (cos(inf) is NaN) for any finite x and any sane grid_size
_MAX_ABS = 1e30


@register_basis("fourier")
class FourierBasis(Basis):
    """``2 * grid_size`` functions per channel: ``cos(k x)`` for k = 1..G, then ``sin(k x)``.

    The constant term is left out: the layer's bias plays its role. Values lie in [-1, 1] and the
    gradient is bounded by G, so outputs and gradients are finite for any finite input.
    """

    def __init__(self, in_features: int, grid_size: int = 4) -> None:
        super().__init__()
        if grid_size < 1:
            raise ValueError(f"fourier needs grid_size >= 1, got {grid_size}")
        self.in_features = in_features
        self.grid_size = grid_size
        self.num_functions = 2 * grid_size

    def functions(self, x: Tensor) -> list[Tensor]:
        x = x.clamp(-_MAX_ABS, _MAX_ABS)
        freqs = range(1, self.grid_size + 1)
        return [torch.cos(k * x) for k in freqs] + [torch.sin(k * x) for k in freqs]

    def extra_repr(self) -> str:
        return f"{self.in_features}, grid_size={self.grid_size}"
