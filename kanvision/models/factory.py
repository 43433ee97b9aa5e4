"""Layer factory behind every model's ``kan=`` argument: a basis family name or ``"none"``.

Models ask this factory for their convs, linears and activations, so the KAN model and its
standard twin share one definition. A KAN layer applies its nonlinearity to its input, so where
the plain twin has ``conv -> norm -> ReLU`` the KAN model has ``kan_conv -> norm`` (identity act).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from kanvision.errors import unknown_name
from kanvision.layers import KANConv2d, KANLinear, list_bases

PLAIN = "none"


def kan_choices() -> list[str]:
    """Valid values of ``kan=``: every basis family, plus ``"none"`` for the standard twin."""
    return [*list_bases(), PLAIN]


def check_kan(kan: str) -> str:
    """Return ``kan`` if valid, else raise a one-line error with the choices."""
    if kan not in kan_choices():
        raise unknown_name("kan type", kan, kan_choices(), "use a basis family or 'none'")
    return kan


class LayerFactory:
    """Builds conv / linear / activation layers for one ``kan`` choice and its basis kwargs."""

    def __init__(self, kan: str = "bspline", **kan_kwargs: Any) -> None:
        self.kan = check_kan(kan)
        self.kan_kwargs = kan_kwargs
        if self.kan == PLAIN and kan_kwargs:
            raise ValueError(
                f"basis options {sorted(kan_kwargs)} were given with kan='none'; drop them or "
                "choose a basis family"
            )

    @property
    def is_kan(self) -> bool:
        return self.kan != PLAIN

    def conv2d(self, in_channels: int, out_channels: int, kernel_size, **kwargs: Any) -> nn.Module:
        if self.is_kan:
            return KANConv2d(
                in_channels, out_channels, kernel_size, basis=self.kan, **self.kan_kwargs, **kwargs
            )
        return nn.Conv2d(in_channels, out_channels, kernel_size, **kwargs)

    def linear(self, in_features: int, out_features: int, **kwargs: Any) -> nn.Module:
        if self.is_kan:
            return KANLinear(in_features, out_features, basis=self.kan, **self.kan_kwargs, **kwargs)
        return nn.Linear(in_features, out_features, **kwargs)

    def act(self) -> nn.Module:
        """The activation after a plain layer; identity for KAN layers (they carry their own)."""
        return nn.Identity() if self.is_kan else nn.ReLU(inplace=True)
