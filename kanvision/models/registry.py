"""timm-style model registry: ``@register_model`` functions, ``create_model``, ``list_models``."""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Callable
from typing import Any

from torch import nn

from kanvision.errors import unknown_name

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_MODEL_FAMILY: dict[str, str] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a model builder under its function name (the model's name)."""
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"model '{name}' is registered twice")
    _MODELS[name] = fn
    _MODEL_FAMILY[name] = sys.modules[fn.__module__].__name__.rsplit(".", 1)[-1]
    return fn


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style ``pattern``, sorted."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def model_entrypoint(name: str) -> Callable[..., nn.Module]:
    """The builder function of a registered model, or a one-line error naming the choices."""
    if name not in _MODELS:
        raise unknown_name("model", name, _MODELS, "see kanvision.list_models()")
    return _MODELS[name]


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Call the builder of ``name`` with ``kwargs`` (``None`` values left to the builder's
    defaults) and record the arguments on the model as ``model.kanvision_cfg`` so it can be
    exported and rebuilt."""
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    model = model_entrypoint(name)(**kwargs)
    model.kanvision_cfg = {"model": name, "args": kwargs}
    return model
