"""Group-rational activation (KAT's GR-KAN): P(x) / Q(x) with coefficients shared per group.

``F_g(x) = (a_0 + a_1 x + ... + a_m x^m) / (1 + |b_1 x + ... + b_n x^n|)`` for the channels of
group g ("safe" Pade form: the denominator is >= 1, so there are no poles). As a basis it gives
one learnable function per channel and no base branch: a KAN layer with ``basis="rational"`` is a
learnable activation followed by a linear mix, which is KAT's GR-KAN layer.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor, nn

from kanvision.layers.basis import Basis, register_basis

_CLAMP = 1e4  # beyond this the fitted rational is numerically its asymptote; keeps x^m finite


@functools.cache
def _silu_fit(num_degree: int, den_degree: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Least-squares coefficients of P/Q ~ SiLU on [-4, 4] (linearised: P - silu * B = silu)."""
    x = torch.linspace(-4, 4, 801, dtype=torch.float64, device="cpu")  # also under a meta device
    target = torch.nn.functional.silu(x)
    num_cols = [x**i for i in range(num_degree + 1)]
    den_cols = [-target * x**j for j in range(1, den_degree + 1)]
    design = torch.stack(num_cols + den_cols, dim=1)
    coeffs = torch.linalg.lstsq(design, target[:, None]).solution[:, 0]
    return tuple(coeffs[: num_degree + 1].tolist()), tuple(coeffs[num_degree + 1 :].tolist())


@register_basis("rational")
class RationalBasis(Basis):
    """A learnable rational function per channel group (``num_groups`` groups of channels).

    Args:
        num_groups: channel groups sharing one function (reduced to a divisor of in_features).
        num_degree, den_degree: degrees m and n of P and Q (KAT: 5 and 4).
        init: ``"silu"`` fits P/Q to SiLU at start (as KAT starts from a known activation),
            ``"identity"`` starts from F(x) = x.
    """

    include_base = False

    def __init__(
        self,
        in_features: int,
        num_groups: int = 8,
        num_degree: int = 5,
        den_degree: int = 4,
        init: str = "silu",
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.groups = math.gcd(in_features, num_groups)
        self.num_functions = 1
        self.numerator = nn.Parameter(torch.empty(self.groups, num_degree + 1))
        self.denominator = nn.Parameter(torch.empty(self.groups, den_degree))
        self.initialize(init)

    @torch.no_grad()
    def initialize(self, init: str) -> None:
        """Set every group's function to SiLU (``"silu"``) or to F(x) = x (``"identity"``)."""
        num_degree, den_degree = self.numerator.shape[1] - 1, self.denominator.shape[1]
        if init == "silu":
            num, den = _silu_fit(num_degree, den_degree)
        elif init == "identity":
            num = (0.0, 1.0) + (0.0,) * (num_degree - 1)
            den = (0.0,) * den_degree
        else:
            raise ValueError(f"rational init must be 'silu' or 'identity', got {init!r}")
        self.numerator.copy_(torch.tensor(num, device="cpu").expand_as(self.numerator))
        self.denominator.copy_(torch.tensor(den, device="cpu").expand_as(self.denominator))

    def functions(self, x: Tensor) -> list[Tensor]:
        per_group = self.in_features // self.groups
        a = self.numerator.to(x.dtype).repeat_interleave(per_group, dim=0)  # (C, m + 1)
        b = self.denominator.to(x.dtype).repeat_interleave(per_group, dim=0)  # (C, n)
        x = x.clamp(-_CLAMP, _CLAMP)
        p = a[:, -1].expand_as(x)
        for i in range(a.shape[1] - 2, -1, -1):  # Horner
            p = p * x + a[:, i]
        q = b[:, -1].expand_as(x)
        for j in range(b.shape[1] - 2, -1, -1):
            q = q * x + b[:, j]
        q = 1.0 + (q * x).abs()
        return [p / q]

    def extra_repr(self) -> str:
        return f"{self.in_features}, groups={self.groups}, degrees=({self.numerator.shape[1] - 1}, {self.denominator.shape[1]})"
