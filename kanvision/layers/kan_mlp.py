"""KANMlp: a transformer MLP block made of two KAN linear layers, with timm's ``Mlp`` signature.

Plugs into timm's ``VisionTransformer(..., mlp_layer=partial(KANMlp, basis="rbf"))``. A KAN layer
carries its own nonlinearity on every edge, so ``act_layer`` is accepted for compatibility and
not used. With ``basis="rational"`` this is KAT's GR-KAN block: a group-rational activation
followed by a linear mix, twice.
"""

from __future__ import annotations

from torch import Tensor, nn

from kanvision.layers.kan_linear import KANLinear


def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


class KANMlp(nn.Module):
    """``fc1 -> drop -> norm -> fc2 -> drop`` with ``fc1``/``fc2`` KAN linear layers."""

    def __init__(
        self,
        in_features: int,
        hidden_features: int | None = None,
        out_features: int | None = None,
        act_layer: type[nn.Module] | None = nn.GELU,
        norm_layer: type[nn.Module] | None = None,
        bias: bool | tuple[bool, bool] = True,
        drop: float | tuple[float, float] = 0.0,
        *,
        basis: str = "bspline",
        device=None,
        dtype=None,
        **basis_kwargs,
    ) -> None:
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        bias1, bias2 = _pair(bias)
        drop1, drop2 = _pair(drop)
        kw = dict(basis=basis, device=device, dtype=dtype, **basis_kwargs)
        self.fc1 = KANLinear(in_features, hidden_features, bias1, **kw)
        self.drop1 = nn.Dropout(drop1)
        self.norm = norm_layer(hidden_features) if norm_layer is not None else nn.Identity()
        self.fc2 = KANLinear(hidden_features, out_features, bias2, **kw)
        self.drop2 = nn.Dropout(drop2)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop2(self.fc2(self.norm(self.drop1(self.fc1(x)))))
