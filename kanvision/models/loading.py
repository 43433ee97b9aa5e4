"""Where pretrained weights come from, and how they reach the model that was asked for.

``pretrained`` may be ``True`` (the model's default entry, or the tag in ``<model>.<tag>``), a
shipped entry ``<model>.<tag>`` or its tag, ``hf-hub:owner/repo`` / ``local-dir:PATH`` (a Hub
folder) or a kanvision ``.safetensors`` file. The weights are first loaded strictly into the
model they were saved with; when the call changes ``num_classes`` or ``in_chans`` they are then
carried into the requested model (``kanvision.models.adapt``), with a fresh classifier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from kanvision.errors import CheckpointError
from kanvision.models.adapt import transfer_weights
from kanvision.models.hub import pretrained_file
from kanvision.models.hub_folder import is_folder_source, load_hub_folder
from kanvision.models.pretrained import (
    apply_pruned_structure,
    get_pretrained_cfg,
    list_pretrained,
    load_weights,
    pruned_structure,
    read_checkpoint_metadata,
    read_pruned_structure,
)
from kanvision.models.registry import build_model, model_entrypoint


def weights_path(model_name: str, pretrained: bool | str, tag: str = "") -> Path | str:
    """The safetensors file (or Hub folder source) that ``pretrained`` names for ``model_name``."""
    if pretrained is True:
        model_entrypoint(model_name)  # unknown model -> clear error first
        return pretrained_file(get_pretrained_cfg(f"{model_name}.{tag}" if tag else model_name))
    if is_folder_source(pretrained):
        return pretrained
    shipped = list_pretrained()
    for entry in (pretrained, f"{model_name}.{pretrained}"):
        if entry in shipped and not Path(pretrained).exists():
            return pretrained_file(get_pretrained_cfg(entry))
    return Path(pretrained)


def saved_model(model_name: str, pretrained: bool | str, tag: str = "") -> nn.Module:
    """The pretrained model as it was saved, its weights loaded strictly."""
    where = weights_path(model_name, pretrained, tag)
    if isinstance(where, str):
        return load_hub_folder(where, expected=model_name)
    saved_name, saved_args = read_checkpoint_metadata(where)
    if saved_name != model_name:
        raise CheckpointError(
            f"checkpoint '{where}' holds model '{saved_name}', not '{model_name}': "
            f"use create_model('{saved_name}', pretrained=...)"
        )
    model = apply_pruned_structure(build_model(saved_name, **saved_args), read_pruned_structure(where))
    return load_weights(model, where)


def fit_to_request(source: nn.Module, explicit: dict[str, Any]) -> nn.Module:
    """``source`` itself when ``explicit`` changes none of its arguments, else the requested model
    with ``source``'s weights carried over (new classifier / adapted input channels)."""
    name, saved_args = source.kanvision_cfg["model"], source.kanvision_cfg["args"]
    args = {**saved_args, **explicit}
    if args == saved_args:
        return source
    target = apply_pruned_structure(build_model(name, **args), pruned_structure(source))
    transfer_weights(source, target)
    return target
