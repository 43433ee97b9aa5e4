"""Weights-only checkpoints: safetensors files whose metadata say how to rebuild the model.

A shipped entry is ``checkpoints/<model>.<tag>.safetensors`` plus ``<model>.<tag>.json`` with
its metadata (``num_params``, ``num_classes``, ``input_size``, ``mean``, ``std``, ``metrics``,
how and where it was trained). ``KANVISION_CHECKPOINTS`` points at another checkpoint folder.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from kanvision.errors import CheckpointError, unknown_name

METADATA_MODEL = "kanvision.model"
METADATA_ARGS = "kanvision.args"
METADATA_PRUNED = "kanvision.pruned"  # {KAN layer name: number of input channels kept}


def checkpoint_dir() -> Path:
    """Folder of shipped weights: ``$KANVISION_CHECKPOINTS``, else the repository's checkpoints/."""
    env = os.environ.get("KANVISION_CHECKPOINTS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "checkpoints"


def _entries() -> dict[str, dict[str, Any]]:
    entries = {}
    folder = checkpoint_dir()
    for meta_file in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        cfg = json.loads(meta_file.read_text())
        cfg["file"] = str(folder / cfg["file"])
        entries[meta_file.stem] = cfg
    return entries


def list_pretrained(pattern: str = "*", dataset: str | None = None) -> list[str]:
    """Names ``<model>.<tag>`` of the shipped weights matching ``pattern``; ``dataset``: only
    those trained on that registry dataset (e.g. ``"cifar10"``, whatever the tag says)."""
    return sorted(n for n, cfg in _entries().items()
                  if fnmatch.fnmatch(n, pattern) and dataset in (None, cfg.get("dataset")))


def _default_in(entries: dict[str, dict[str, Any]], model: str) -> str | None:
    names = [n for n in entries if n.split(".", 1)[0] == model]
    marked = [n for n in names if entries[n].get("default")]
    return (marked or names or [None])[0]


def default_tag_name(model: str) -> str | None:
    """The entry that ``create_model(model, pretrained=True)`` loads: the one marked
    ``"default": true``, else the first by name; None if the model has no weights."""
    return _default_in(_entries(), model)


def get_pretrained_cfg(name: str) -> dict[str, Any]:
    """Metadata of a shipped entry ``<model>.<tag>`` (or a model's default entry)."""
    entries = _entries()
    if "." not in name:
        name = _default_in(entries, name) or name
    if name not in entries:
        raise unknown_name(
            "pretrained weights", name, entries, "see kanvision.list_pretrained()"
        )
    return entries[name]


def read_checkpoint_metadata(path: str | os.PathLike) -> tuple[str, dict[str, Any]]:
    """The model name and constructor arguments stored in a kanvision safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist: check the path")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(
            f"checkpoint '{path}' is not a readable safetensors file ({e}): re-export or "
            "re-download it"
        ) from None
    if METADATA_MODEL not in meta:
        raise CheckpointError(
            f"checkpoint '{path}' has no kanvision metadata: export it with "
            "kanvision.save_pretrained(model, path)"
        )
    return meta[METADATA_MODEL], json.loads(meta.get(METADATA_ARGS, "{}"))


def pruned_structure(model: nn.Module) -> dict[str, int]:
    """``{layer name: kept input channels}`` of the KAN layers that were input-pruned."""
    return {
        name: int(m.input_index.numel())
        for name, m in model.named_modules()
        if getattr(m, "input_index", None) is not None
    }


def apply_pruned_structure(model: nn.Module, structure: dict[str, int]) -> nn.Module:
    """Shrink the named KAN layers to their pruned input widths (weights and kept channel
    indices are then loaded from the checkpoint)."""
    modules = dict(model.named_modules())
    for name, kept in structure.items():
        if name not in modules or not hasattr(modules[name], "select_inputs"):
            raise CheckpointError(f"pruned layer '{name}' is not a KAN layer of this model: the checkpoint is for another architecture")
        modules[name].select_inputs(torch.arange(kept))
    return model


def read_pruned_structure(path: str | os.PathLike) -> dict[str, int]:
    """The pruned structure stored in a kanvision safetensors file ({} if not pruned)."""
    with safe_open(str(path), framework="pt") as f:
        return json.loads((f.metadata() or {}).get(METADATA_PRUNED, "{}"))


def save_pretrained(
    model: nn.Module, path: str | os.PathLike, pretrained_cfg: dict[str, Any] | None = None
) -> Path:
    """Save ``model``: a path ending in ``.safetensors`` gets the weights file
    (:func:`save_weights`); any other path becomes a Hub folder (``config.json``,
    ``model.safetensors``, ``README.md``) that timm and ``create_model("local-dir:...")`` load,
    with ``pretrained_cfg`` (a shipped entry's metadata) in its config and model card."""
    if Path(path).suffix == ".safetensors":
        return save_weights(model, path)
    from kanvision.models.hub_folder import save_hub_folder

    return save_hub_folder(model, path, pretrained_cfg)


def save_weights(model: nn.Module, path: str | os.PathLike) -> Path:
    """Write ``model``'s weights and its ``kanvision_cfg`` (name + args) to a safetensors file;
    a pruned model also records which layers it pruned, so it loads back at its pruned size."""
    cfg = getattr(model, "kanvision_cfg", None)
    if cfg is None:
        raise CheckpointError(
            "model has no kanvision_cfg: build it with kanvision.create_model() so it can be saved"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {METADATA_MODEL: cfg["model"], METADATA_ARGS: json.dumps(cfg["args"])}
    if structure := pruned_structure(model):
        metadata[METADATA_PRUNED] = json.dumps(structure)
    save_file(state, str(path), metadata=metadata)
    return path


def _buffer_names(path: str | os.PathLike) -> set[str]:
    """State-dict keys of the buffers (spline grids, BatchNorm statistics, ...) of the model a
    kanvision safetensors file holds, found by rebuilding the model from its metadata."""
    from kanvision.models.registry import build_model

    name, args = read_checkpoint_metadata(path)
    model = apply_pruned_structure(build_model(name, **args), read_pruned_structure(path))
    return {key for key, _ in model.named_buffers()}


def save_half_precision(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy a kanvision safetensors file with its floating parameters stored as float16.

    Nearly half the size on disk; ``load_weights`` casts the values back to the model's dtype,
    so the model runs as before with its learned weights rounded to fp16. Buffers (spline grids,
    BatchNorm running statistics) stay in their own dtype: they are few, and a grid or a running
    variance rounded to fp16 can move a basis more than its weights do (``python -m
    kanvision.ship --fp16`` checks on the test set that the accuracy is unchanged before it
    ships such a file)."""
    from safetensors.torch import load_file

    with safe_open(str(src), framework="pt") as f:
        metadata = f.metadata() or {}
    buffers = _buffer_names(src)
    state = {
        k: v.to(torch.float16) if v.is_floating_point() and k not in buffers else v
        for k, v in load_file(str(src)).items()
    }
    dst = Path(dst)
    save_file(state, str(dst), metadata=metadata)
    return dst


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a safetensors file into ``model`` strictly, with a one-line error on mismatch.

    Values are cast to the model's own dtypes, so fp16-stored weights load into a float32 model."""
    from safetensors.torch import load_file

    state = load_file(str(path))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
        raise CheckpointError(
            f"checkpoint '{path}' does not fit this model ({first}): build the model with the "
            "arguments it was saved with (omit the conflicting ones)"
        ) from None
    return model


