"""The model zoo: registry, builders (one file per backbone family) and pretrained weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

# importing each family's module registers its models
from kanvision.models import convkan as _convkan  # noqa: F401
from kanvision.models import convnet as _convnet  # noqa: F401
from kanvision.models import kat as _kat  # noqa: F401
from kanvision.models import resnet as _resnet  # noqa: F401
from kanvision.models import sepnet as _sepnet  # noqa: F401
from kanvision.models import vgg as _vgg  # noqa: F401
from kanvision.models import vit as _vit  # noqa: F401
from kanvision.models.adapt import freeze_backbone, transfer_weights
from kanvision.models.counting import ParamCount, count_params
from kanvision.models.factory import LayerFactory, kan_choices
from kanvision.models.flops import count_flops
from kanvision.models.hub import pretrained_file
from kanvision.models.hub_folder import is_folder_source, push_to_hub, read_hub_config
from kanvision.models.loading import fit_to_request, saved_model
from kanvision.models.matching import (
    TWINS,
    architecture_options,
    match_width,
    param_count,
    reference_params,
    twin_arguments,
)
from kanvision.models.pretrained import (
    default_tag_name,
    get_pretrained_cfg,
    list_pretrained,
    save_pretrained,
)
from kanvision.models.registry import (
    ModelInfo,
    build_model,
    get_model_info,
    list_models,
    model_entrypoint,  # noqa: F401  (kanvision.models.model_entrypoint)
    register_model,
    register_variant,
)


def create_model(
    name: str,
    *,
    num_classes: int | None = None,
    in_chans: int | None = None,
    kan: str | None = None,
    pretrained: bool | str = False,
    match_params: bool | str | int | Mapping[str, Any] = False,
    **kwargs: Any,
) -> nn.Module:
    """Build a registered model, optionally with weights.

    Args:
        num_classes, in_chans: output classes and input channels (model defaults if None).
        kan: a basis family (``"bspline"``, the default) or ``"none"`` for the standard twin.
        name: a model name (``kanvision.list_models()``), ``<model>.<tag>`` of shipped weights,
            or a Hub folder ``hf-hub:owner/repo`` / ``local-dir:PATH`` (loaded with its weights).
        pretrained: ``True`` loads the shipped weights for ``name`` (its default tag when no tag
            is given; hosted weights are downloaded once into ``$KANVISION_CACHE/weights``); a
            string names a shipped entry (``<model>.<tag>`` or its tag), a Hub folder or a
            kanvision ``.safetensors`` file. Asking for another ``num_classes`` or ``in_chans``
            than the weights have fine-tunes as timm does: every weight but the classifier is
            loaded, the first layer's input channels are adapted (``kanvision.models.adapt``).
        match_params: widen (or narrow) this model until its parameter count is within 5% of
            a reference: ``True`` the same model with its default KAN basis (so
            ``kan="none", match_params=True`` is the parameter-matched standard twin), a basis
            name, a dict of the reference's arguments, or a parameter count. The width found is
            stored as ``width_mult`` in ``model.kanvision_cfg``, so exports rebuild it exactly.
        **kwargs: architecture and basis options, e.g. ``grid_size=8``, ``kan_where="head"``,
            ``width_mult=0.5``, ``img_size=28``.

    With weights, the stored constructor arguments are used unless given here.
    """
    if is_folder_source(name):  # a Hub folder names its own architecture
        model_name, pretrained, tag = read_hub_config(name)[0], name, ""
    else:
        model_name, _, tag = name.partition(".")
    explicit = {"num_classes": num_classes, "in_chans": in_chans, "kan": kan, **kwargs}
    explicit = {k: v for k, v in explicit.items() if v is not None}
    if tag and not pretrained:
        pretrained = True
    if match_params is not False and match_params is not None:
        if pretrained:
            raise ValueError("match_params builds a new width; it cannot be combined with pretrained")
        target = reference_params(model_name, match_params, explicit)
        explicit["width_mult"] = match_width(model_name, target, **explicit)
    if pretrained is False or pretrained is None:
        return build_model(model_name, **explicit)
    return fit_to_request(saved_model(model_name, pretrained, tag), explicit)


__all__ = [
    "TWINS",
    "LayerFactory",
    "ModelInfo",
    "ParamCount",
    "architecture_options",
    "count_flops",
    "count_params",
    "create_model",
    "default_tag_name",
    "freeze_backbone",
    "get_model_info",
    "get_pretrained_cfg",
    "kan_choices",
    "list_models",
    "list_pretrained",
    "match_width",
    "param_count",
    "pretrained_file",
    "push_to_hub",
    "register_model",
    "register_variant",
    "save_pretrained",
    "transfer_weights",
    "twin_arguments",
]
