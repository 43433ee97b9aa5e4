"""Layer factory behind every model's ``kan=`` and ``kan_where=`` arguments.

Models ask this factory for their convs, linears and activations, so the KAN model and its
standard twin share one definition. A KAN layer applies its nonlinearity to its input, so where
the plain twin has ``conv -> norm -> ReLU`` the KAN model has ``kan_conv -> norm`` (identity act).

``kan_where`` picks the parts of a model that get KAN layers (``"all"``, or one or more of the
model's parts, e.g. ``"convs"``, ``"head"``, ``"mlp"``); a model asks ``layers.part("head")`` for
the factory of one part, which is plain where KAN layers are not wanted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from kanvision.errors import unknown_name
from kanvision.layers import KANConv2d, KANLayer, KANLinear, list_bases

PLAIN = "none"
ALL = "all"


def kan_choices() -> list[str]:
    """Valid values of ``kan=``: every basis family, plus ``"none"`` for the standard twin."""
    return [*list_bases(), PLAIN]


def check_kan(kan: str) -> str:
    """Return ``kan`` if valid, else raise a one-line error with the choices."""
    if kan not in kan_choices():
        raise unknown_name("kan type", kan, kan_choices(), "use a basis family or 'none'")
    return kan


def scale_width(width: int, width_mult: float, multiple_of: int = 1) -> int:
    """``width * width_mult`` rounded to a positive multiple of ``multiple_of``."""
    return multiple_of * max(1, round(width * width_mult / multiple_of))


def _where_parts(kan_where: str | Sequence[str], parts: Sequence[str]) -> frozenset[str]:
    names = [kan_where] if isinstance(kan_where, str) else list(kan_where)
    chosen: set[str] = set()
    for name in names:
        if name == ALL:
            chosen.update(parts)
        elif name in parts:
            chosen.add(name)
        else:
            raise unknown_name("kan_where", name, [ALL, *parts], "the parts of this model")
    return frozenset(chosen)


class LayerFactory:
    """Builds conv / linear / activation layers for one ``kan`` choice and its basis kwargs.

    Args:
        kan: a basis family, or ``"none"`` for plain layers everywhere.
        kan_where: ``"all"`` or the parts (from ``parts``) that get KAN layers.
        parts: the parts this model has, e.g. ``("convs", "head")``.
        **kan_kwargs: basis options passed to every KAN layer, e.g. ``grid_size=8``.
    """

    def __init__(
        self,
        kan: str = "bspline",
        kan_where: str | Sequence[str] = ALL,
        parts: Sequence[str] = ("convs", "head"),
        **kan_kwargs: Any,
    ) -> None:
        self.kan = check_kan(kan)
        self.kan_kwargs = kan_kwargs
        self.kan_parts = _where_parts(kan_where, parts) if self.kan != PLAIN else frozenset()
        if self.kan == PLAIN and kan_kwargs:
            raise ValueError(
                f"basis options {sorted(kan_kwargs)} were given with kan='none'; drop them or "
                "choose a basis family"
            )

    @property
    def is_kan(self) -> bool:
        return bool(self.kan_parts)

    def part(self, name: str) -> LayerFactory:
        """The factory for one part of the model: this one if the part gets KAN layers, else a
        plain one."""
        if name in self.kan_parts:
            return LayerFactory(self.kan, name, parts=(name,), **self.kan_kwargs)
        return LayerFactory(PLAIN)

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


def reset_kan_layers(model: nn.Module) -> None:
    """Re-initialise every KAN layer in ``model``, e.g. after a generic init (timm's ViT init
    treats the mix inside a KAN layer as a plain ``nn.Linear``)."""
    for module in model.modules():
        if isinstance(module, KANLayer):
            module.reset_parameters()
