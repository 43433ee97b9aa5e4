"""Legendre polynomials of tanh(x), in the style of KALN.

KALN (Kolmogorov-Arnold Legendre Networks, from the TorchKAN project, 2024) writes each edge
function as ``sum_n c_n P_n(t)`` of a bounded input ``t``; Legendre polynomials are orthogonal on
[-1, 1] with constant weight and bounded by 1 there. Here ``t = tanh(x)``, a fixed bounded map that
needs no normalisation statistics.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanvision.layers.basis import TanhPolynomialBasis, register_basis


@register_basis("legendre")
class LegendreBasis(TanhPolynomialBasis):
    """``P_0 .. P_degree`` of ``t = tanh(x)`` per input channel (K = degree + 1;
    ``constant=False`` leaves out the constant first one, K = degree).

    Computed by Bonnet's recurrence ``(n + 1) P_{n+1} = (2n + 1) t P_n - n P_{n-1}``; values lie
    in [-1, 1], so outputs and gradients are finite for any finite input.
    """

    name = "legendre"

    def __init__(self, in_features: int, degree: int = 3, constant: bool = True) -> None:
        super().__init__(in_features, degree, constant)

    def next_polynomial(self, n: int, t: Tensor, p_n: Tensor, p_prev: Tensor) -> Tensor:
        # (n + 1) P_{n+1} = (2n + 1) t P_n - n P_{n-1}: one fused multiply-add pass plus one scale
        return torch.addcmul(p_prev * -(n / (n + 1)), t, p_n, value=(2 * n + 1) / (n + 1))

    def recurrence(self, n: int) -> tuple[float, float]:
        return (2 * n + 1) / (n + 1), n / (n + 1)
