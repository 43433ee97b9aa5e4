"""Gram polynomials of tanh(x), in the style of KAGN.

KAGN (Kolmogorov-Arnold Gram Networks, from the torch-conv-kan project, 2024) builds each edge
function from polynomials given by the three-term recurrence
``p_0 = 1, p_1 = t, p_{n+1} = t p_n - beta_n p_{n-1}`` and learns the ``beta_n``. Here they are
fixed at ``beta_n = n^2 / (4 n^2 - 1)``, the values that make the family orthogonal on [-1, 1]
with constant weight: the monic Legendre polynomials. Fixed betas keep every basis value a fixed
function of x (no parameters inside the basis) and the values bounded.
"""

from __future__ import annotations

from torch import Tensor

from kanvision.layers.basis import TanhPolynomialBasis, register_basis


@register_basis("gram")
class GramBasis(TanhPolynomialBasis):
    """``p_0 .. p_degree`` of ``t = tanh(x)`` per input channel (K = degree + 1;
    ``constant=False`` leaves out the constant first one, K = degree).

    ``p_{n+1} = t p_n - beta_n p_{n-1}`` with the fixed constants ``betas`` (``betas[n] =
    beta_n``; ``beta_0 = 0`` is unused). These are the monic Legendre polynomials, ``|p_n| <= 1``
    on [-1, 1], so outputs and gradients are finite for any finite input.

    The betas are Python floats rather than a buffer: they are exact in every dtype (a float32
    buffer would round them for float64 inputs; a float64 one cannot move to MPS) and, being
    fixed, are not state worth saving.
    """

    name = "gram"

    def __init__(self, in_features: int, degree: int = 3, constant: bool = True) -> None:
        super().__init__(in_features, degree, constant)
        self.betas: tuple[float, ...] = tuple(k * k / (4.0 * k * k - 1.0) for k in range(degree))

    def next_polynomial(self, n: int, t: Tensor, p_n: Tensor, p_prev: Tensor) -> Tensor:
        return t * p_n - self.betas[n] * p_prev

    def recurrence(self, n: int) -> tuple[float, float]:
        return 1.0, self.betas[n]
