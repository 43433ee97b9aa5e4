"""Chebyshev polynomials of tanh(x), in the style of ChebyKAN.

ChebyKAN (SynodicMonth, 2024, "ChebyKAN") writes each edge function as ``sum_n c_n T_n(tanh x)``:
tanh maps any input into [-1, 1], where Chebyshev polynomials are bounded by 1.
"""

from __future__ import annotations

from torch import Tensor

from kanvision.layers.basis import TanhPolynomialBasis, register_basis


@register_basis("chebyshev")
class ChebyshevBasis(TanhPolynomialBasis):
    """``T_0 .. T_degree`` of ``t = tanh(x)`` per input channel (K = degree + 1;
    ``constant=False`` leaves out the constant first one, K = degree).

    Computed by the recurrence ``T_{n+1} = 2 t T_n - T_{n-1}`` rather than ``cos(n acos t)``:
    no ``acos``, whose gradient is infinite at ``t = +-1`` (which tanh reaches in floating point
    for large |x|), and no transcendental function per polynomial. Values lie in [-1, 1].
    """

    include_base = True

    name = "chebyshev"

    def __init__(self, in_features: int, degree: int = 4, constant: bool = True) -> None:
        super().__init__(in_features, degree, constant)

    def next_polynomial(self, n: int, t: Tensor, p_n: Tensor, p_prev: Tensor) -> Tensor:
        return 2.0 * t * p_n - p_prev

    def recurrence(self, n: int) -> tuple[float, float]:
        return 2.0, 1.0
