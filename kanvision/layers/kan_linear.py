"""KANLinear: a drop-in replacement for ``nn.Linear`` with a learnable function on every edge."""

from __future__ import annotations

from torch import Tensor, nn

from kanvision.layers.kan_layer import KANLayer


class KANLinear(KANLayer):
    """``y_o = sum_i [w_oi * silu(x_i) + sum_j c_oij * B_j(x_i)] + b_o`` over any leading dims.

    Computed as one ``nn.Linear(in_features * (K + 1), out_features)`` over the expanded input
    (see :class:`KANLayer`). With the default B-spline basis, inputs outside the extended grid
    get no spline contribution, only the base branch, so outputs stay finite and defined.

    Args:
        in_features, out_features, bias: as for ``nn.Linear``.
        basis: basis family name, see ``kanvision.layers.list_bases()``.
        grid_size, spline_order: B-spline grid intervals G and degree k (K = G + k functions).
        **basis_kwargs: further basis options, e.g. ``grid_range=(-1, 1)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        basis: str = "bspline",
        grid_size: int = 5,
        spline_order: int = 3,
        base_activation: type[nn.Module] = nn.SiLU,
        scale_base: float = 1.0,
        scale_basis: float = 1.0,
        device=None,
        dtype=None,
        **basis_kwargs,
    ) -> None:
        super().__init__(
            in_features,
            basis=basis,
            base_activation=base_activation,
            grid_size=grid_size,
            spline_order=spline_order,
            **basis_kwargs,
        )
        self.in_features = in_features
        self.out_features = out_features
        self.mix = nn.Linear(
            in_features * self.expanded_per_input, out_features, bias, device=device, dtype=dtype
        )
        self.basis.to(device=device)
        self.reset_parameters(scale_base, scale_basis)

    def forward(self, x: Tensor) -> Tensor:
        return self.mix(self.expand(x))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"
