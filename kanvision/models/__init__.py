"""The model zoo: registry, builders (one file per backbone family) and pretrained weights."""

from __future__ import annotations

from typing import Any

from torch import nn

from kanvision.errors import CheckpointError
from kanvision.models import convnet as _convnet  # noqa: F401  (registers models)
from kanvision.models.counting import ParamCount, count_params
from kanvision.models.factory import LayerFactory, kan_choices
from kanvision.models.pretrained import (
    default_tag_name,
    get_pretrained_cfg,
    list_pretrained,
    load_weights,
    read_checkpoint_metadata,
    save_pretrained,
)
from kanvision.models.registry import build_model, list_models, model_entrypoint, register_model


def create_model(
    name: str,
    *,
    num_classes: int | None = None,
    in_chans: int | None = None,
    kan: str | None = None,
    pretrained: bool | str = False,
    **kwargs: Any,
) -> nn.Module:
    """Build a registered model, optionally with weights.

    Args:
        name: a model name (``kanvision.list_models()``), or ``<model>.<tag>`` of shipped weights.
        num_classes, in_chans: output classes and input channels (model defaults if None).
        kan: a basis family (``"bspline"``, the default) or ``"none"`` for the standard twin.
        pretrained: ``True`` loads the shipped weights for ``name`` (its default tag when no tag
            is given); a path loads that kanvision ``.safetensors`` file.
        **kwargs: architecture and basis options, e.g. ``grid_size=8``.

    With weights, the stored constructor arguments are used unless given here.
    """
    model_name, _, tag = name.partition(".")
    explicit = {"num_classes": num_classes, "in_chans": in_chans, "kan": kan, **kwargs}
    explicit = {k: v for k, v in explicit.items() if v is not None}
    if tag and not pretrained:
        pretrained = True
    if pretrained is False or pretrained is None:
        return build_model(model_name, **explicit)
    if pretrained is True:
        model_entrypoint(model_name)  # unknown model -> clear error first
        path = get_pretrained_cfg(name if tag else model_name)["file"]
    else:
        path = pretrained
    saved_name, saved_args = read_checkpoint_metadata(path)
    if saved_name != model_name:
        raise CheckpointError(
            f"checkpoint '{path}' holds model '{saved_name}', not '{model_name}': "
            f"use create_model('{saved_name}', pretrained=...)"
        )
    model = build_model(model_name, **{**saved_args, **explicit})
    return load_weights(model, path)


__all__ = [
    "LayerFactory",
    "ParamCount",
    "count_params",
    "create_model",
    "default_tag_name",
    "get_pretrained_cfg",
    "kan_choices",
    "list_models",
    "list_pretrained",
    "register_model",
    "save_pretrained",
]
