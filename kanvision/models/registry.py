"""timm-style model registry: ``@register_model`` functions, ``list_models``, ``get_model_info``.

A builder is registered under its function name. It takes keyword arguments only and accepts at
least ``num_classes``, ``in_chans``, ``img_size``, ``kan``, ``kan_where``, ``width_mult`` and
basis options (``**kan_kwargs``), so every model is built, adapted and width-matched the same way.
"""

from __future__ import annotations

import fnmatch
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from kanvision.errors import unknown_name

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model without building it."""

    name: str
    family: str  # the module it lives in: convnet, resnet, vit, ...
    input_size: tuple[int, int, int]  # native (channels, height, width)
    default_kan: str
    kan_where: tuple[str, ...]  # valid kan_where values: "all" and the model's KAN parts
    default_kan_where: str
    description: str  # first line of the builder's docstring

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_MODELS: dict[str, Builder] = {}
_INFO: dict[str, ModelInfo] = {}
# called with each newly registered name (the timm bridge registers it in timm too)
REGISTER_HOOKS: list[Callable[[str], None]] = []


def _info_for(fn: Builder, input_size: tuple[int, int, int], kan_parts: tuple[str, ...]) -> ModelInfo:
    params = inspect.signature(fn).parameters
    missing = {"num_classes", "in_chans", "img_size", "kan", "kan_where", "width_mult"} - set(params)
    if missing:
        raise TypeError(f"model builder '{fn.__name__}' lacks the arguments {sorted(missing)}")
    doc = inspect.getdoc(fn) or ""
    return ModelInfo(
        name=fn.__name__,
        family=sys.modules[fn.__module__].__name__.rsplit(".", 1)[-1],
        input_size=tuple(input_size),
        default_kan=params["kan"].default,
        kan_where=("all", *kan_parts),
        default_kan_where=params["kan_where"].default,
        description=doc.splitlines()[0] if doc else "",
    )


def register_model(
    fn: Builder | None = None,
    *,
    input_size: tuple[int, int, int] = (1, 28, 28),
    kan_parts: tuple[str, ...] = ("convs", "head"),
) -> Builder | Callable[[Builder], Builder]:
    """Register a model builder under its function name.

    Usable bare or as ``@register_model(input_size=(3, 32, 32), kan_parts=("mlp", "head"))``:
    ``input_size`` is the native input, ``kan_parts`` the places ``kan_where`` can name.
    """

    def register(builder: Builder) -> Builder:
        name = builder.__name__
        if name in _MODELS:
            raise ValueError(f"model '{name}' is registered twice")
        _MODELS[name] = builder
        _INFO[name] = _info_for(builder, input_size, kan_parts)
        for hook in REGISTER_HOOKS:
            hook(name)
        return builder

    return register(fn) if fn is not None else register


def register_variant(
    name: str,
    build: Callable[..., nn.Module],
    doc: str,
    *,
    input_size: tuple[int, int, int] = (1, 28, 28),
    kan_parts: tuple[str, ...] = ("convs", "head"),
    kan: str = "bspline",
    kan_where: str = "all",
    module: str | None = None,
    **architecture: Any,
) -> Builder:
    """Register ``name`` as a preset of a family's ``build`` function (timm's variant pattern).

    The registered builder has the standard signature, with the given defaults; ``architecture``
    holds the preset's own options (widths, depth, ...), which a caller can still override.
    ``build`` receives ``name`` and every argument, and basis options through ``**kwargs``.
    ``module`` (default: the caller's) names the family in :class:`ModelInfo`.
    """
    native_chans = input_size[0]

    def builder(
        *,
        num_classes: int = 10,
        in_chans: int = native_chans,
        img_size: int | None = None,
        kan: str = kan,
        kan_where: str | tuple[str, ...] = kan_where,
        width_mult: float = 1.0,
        **kwargs: Any,
    ) -> nn.Module:
        return build(
            name=name,
            num_classes=num_classes,
            in_chans=in_chans,
            img_size=img_size or input_size[-1],
            kan=kan,
            kan_where=kan_where,
            width_mult=width_mult,
            **{**architecture, **kwargs},
        )

    builder.__name__ = builder.__qualname__ = name
    builder.__module__ = module or sys._getframe(1).f_globals["__name__"]
    builder.__doc__ = doc
    return register_model(builder, input_size=input_size, kan_parts=kan_parts)


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style ``pattern``, sorted."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def model_entrypoint(name: str) -> Builder:
    """The builder function of a registered model, or a one-line error naming the choices."""
    if name not in _MODELS:
        raise unknown_name("model", name, _MODELS, "see kanvision.list_models()")
    return _MODELS[name]


def get_model_info(name: str) -> ModelInfo:
    """Native input size, family, KAN placements and description of a registered model."""
    model_entrypoint(name)
    return _INFO[name]


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Call the builder of ``name`` with ``kwargs`` (``None`` values left to the builder's
    defaults) and record the arguments on the model as ``model.kanvision_cfg`` so it can be
    exported and rebuilt."""
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    model = model_entrypoint(name)(**kwargs)
    model.kanvision_cfg = {"model": name, "args": kwargs}
    return model
