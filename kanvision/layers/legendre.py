"""Legendre polynomials of tanh(x), in the style of KALN.

KALN (Kolmogorov-Arnold Legendre Networks, from the TorchKAN project, 2024) writes each edge
function as ``sum_n c_n P_n(t)`` of a bounded input ``t``; Legendre polynomials are orthogonal on
[-1, 1] with constant weight and bounded by 1 there. Here ``t = tanh(x)``, a fixed bounded map that
needs no normalisation statistics.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanvision.layers.basis import Basis, register_basis


@register_basis("legendre")
class LegendreBasis(Basis):
    """``P_0 .. P_degree`` of ``t = tanh(x)`` per input channel (K = degree + 1).

    Computed by Bonnet's recurrence ``(n + 1) P_{n+1} = (2n + 1) t P_n - n P_{n-1}``; values lie
    in [-1, 1], so outputs and gradients are finite for any finite input.
    """

    def __init__(self, in_features: int, degree: int = 3) -> None:
        super().__init__()
        if degree < 0:
            raise ValueError(f"legendre needs degree >= 0, got {degree}")
        self.in_features = in_features
        self.degree = degree
        self.num_functions = degree + 1

    def functions(self, x: Tensor) -> list[Tensor]:
        t = torch.tanh(x)
        polys = [torch.ones_like(t), t]
        for n in range(1, self.degree):
            # P_{n+1} = a t P_n - b P_{n-1}, one fused multiply-add pass plus one scale
            a, b = (2 * n + 1) / (n + 1), n / (n + 1)
            polys.append(torch.addcmul(polys[-2] * -b, t, polys[-1], value=a))
        return polys[: self.degree + 1]

    def extra_repr(self) -> str:
        return f"{self.in_features}, degree={self.degree}"
