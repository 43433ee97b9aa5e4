"""Gram polynomials of tanh(x), in the style of KAGN.

KAGN (Kolmogorov-Arnold Gram Networks, from the torch-conv-kan project, 2024) builds each edge
function from polynomials given by the three-term recurrence
``p_0 = 1, p_1 = t, p_{n+1} = t p_n - beta_n p_{n-1}`` and learns the ``beta_n``. Here they are
fixed at ``beta_n = n^2 / (4 n^2 - 1)``, the values that make the family orthogonal on [-1, 1]
with constant weight: the monic Legendre polynomials. Fixed betas keep every basis value a fixed
function of x (no parameters inside the basis) and the values bounded.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanvision.layers.basis import Basis, register_basis


@register_basis("gram")
class GramBasis(Basis):
    """``p_0 .. p_degree`` of ``t = tanh(x)`` per input channel (K = degree + 1).

    ``p_{n+1} = t p_n - beta_n p_{n-1}`` with the fixed constants ``betas`` (``betas[n] =
    beta_n``; ``beta_0 = 0`` is unused). These are the monic Legendre polynomials, ``|p_n| <= 1``
    on [-1, 1], so outputs and gradients are finite for any finite input.

    The betas are Python floats rather than a buffer: they are exact in every dtype (a float32
    buffer would round them for float64 inputs; a float64 one cannot move to MPS) and, being
    fixed, are not state worth saving.
    """

    def __init__(self, in_features: int, degree: int = 3) -> None:
        super().__init__()
        if degree < 0:
            raise ValueError(f"gram needs degree >= 0, got {degree}")
        self.in_features = in_features
        self.degree = degree
        self.num_functions = degree + 1
        self.betas: tuple[float, ...] = tuple(n * n / (4.0 * n * n - 1.0) for n in range(degree))

    def functions(self, x: Tensor) -> list[Tensor]:
        t = torch.tanh(x)
        polys = [torch.ones_like(t), t]
        for n in range(1, self.degree):
            polys.append(t * polys[-1] - self.betas[n] * polys[-2])
        return polys[: self.degree + 1]

    def extra_repr(self) -> str:
        return f"{self.in_features}, degree={self.degree}"
