"""Chebyshev polynomials of tanh(x), in the style of ChebyKAN.

ChebyKAN (SynodicMonth, 2024, "ChebyKAN") writes each edge function as ``sum_n c_n T_n(tanh x)``:
tanh maps any input into [-1, 1], where Chebyshev polynomials are bounded by 1.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanvision.layers.basis import Basis, register_basis


@register_basis("chebyshev")
class ChebyshevBasis(Basis):
    """``T_0 .. T_degree`` of ``t = tanh(x)`` per input channel (K = degree + 1).

    Computed by the recurrence ``T_{n+1} = 2 t T_n - T_{n-1}`` rather than ``cos(n acos t)``:
    no ``acos``, whose gradient is infinite at ``t = +-1`` (which tanh reaches in floating point
    for large |x|), and no transcendental function per polynomial. Values lie in [-1, 1].
    """

    include_base = True

    def __init__(self, in_features: int, degree: int = 4) -> None:
        super().__init__()
        if degree < 0:
            raise ValueError(f"chebyshev needs degree >= 0, got {degree}")
        self.in_features = in_features
        self.degree = degree
        self.num_functions = degree + 1

    def functions(self, x: Tensor) -> list[Tensor]:
        t = torch.tanh(x)
        polys = [torch.ones_like(t), t]
        two_t = 2.0 * t
        for _ in range(1, self.degree):
            polys.append(two_t * polys[-1] - polys[-2])
        return polys[: self.degree + 1]

    def extra_repr(self) -> str:
        return f"{self.in_features}, degree={self.degree}"
