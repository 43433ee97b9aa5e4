"""KANLinear: a drop-in replacement for ``nn.Linear`` with a learnable function on every edge."""

from __future__ import annotations

import torch.nn.functional as F
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
        grid_size, spline_order: B-spline grid intervals G and degree k (K = G + k functions);
            None takes the basis default (5 and 3 for ``bspline``). Other families take their
            own options (``grid_size`` where they have a grid).
        fused: train through the fused op that saves only x and recomputes the basis in
            backward (less memory; same results).
        **basis_kwargs: further basis options, e.g. ``grid_range=(-1, 1)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        basis: str = "bspline",
        grid_size: int | None = None,
        spline_order: int | None = None,
        base_activation: type[nn.Module] = nn.SiLU,
        fused: bool = True,
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
            fused=fused,
            grid_size=grid_size,
            spline_order=spline_order,
            **basis_kwargs,
        )
        self.in_features = in_features
        self.out_features = out_features
        self.mix = nn.Linear(
            in_features * self.expanded_per_input, out_features, bias, device=device, dtype=dtype
        )
        self._finish_init(scale_base, scale_basis, device)

    def forward(self, x: Tensor) -> Tensor:
        return self.kan_forward(self.select_input_channels(x, -1))

    def channels_last_samples(self, x: Tensor) -> Tensor:
        return self.select_input_channels(x, -1).reshape(-1, self.in_features)

    def pointwise_mix(self) -> tuple[Tensor, int]:
        return self.mix.weight, 1

    def mix_forward(self, z: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        return F.linear(z, weight, bias)

    def mix_param_grads(self, grad_y, z, weight, bias, need_w, need_b):
        g2 = grad_y.reshape(-1, grad_y.shape[-1])
        grad_w = g2.t() @ z.reshape(-1, z.shape[-1]) if need_w else None
        grad_b = g2.sum(0) if need_b and bias is not None else None
        return grad_w, grad_b

    def mix_input_grad(self, grad_y, weight, z_shape):
        return grad_y @ weight.to(grad_y.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"
