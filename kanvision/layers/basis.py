"""The basis-family registry: every family is one file with one ``@register_basis`` class.

A basis maps each input channel to ``num_functions`` values: ``(..., C) -> (..., C, K)``. The
KAN layers prepend the base activation to these values and mix them with one linear or conv layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch import Tensor, nn

from kanvision.errors import unknown_name

_BASES: dict[str, type[Basis]] = {}
B = TypeVar("B", bound=type)


class Basis(nn.Module):
    """A set of K fixed 1-D functions applied to every input channel, channels last."""

    num_functions: int

    def forward(self, x: Tensor) -> Tensor:  # (..., C) -> (..., C, K)
        raise NotImplementedError


def register_basis(name: str) -> Callable[[B], B]:
    """Class decorator that adds a basis family under ``name``."""

    def add(cls: B) -> B:
        if name in _BASES:
            raise ValueError(f"basis '{name}' is registered twice")
        _BASES[name] = cls
        return cls

    return add


def list_bases() -> list[str]:
    """Names of the registered basis families, sorted."""
    return sorted(_BASES)


def create_basis(name: str, in_features: int, **kwargs) -> Basis:
    """Instantiate the basis family ``name`` for ``in_features`` channels."""
    if name not in _BASES:
        raise unknown_name("basis", name, _BASES, "see kanvision.layers.list_bases()")
    return _BASES[name](in_features, **kwargs)
