"""The Hugging Face Hub folder: ``config.json`` + ``model.safetensors`` + ``README.md``, as timm.

``save_hub_folder(model, folder)`` writes it (``kanvision.save_pretrained(model, folder)``),
``push_to_hub`` uploads it, and ``load_hub_folder("hf-hub:owner/repo" | "local-dir:/path")``
loads one strictly: a missing or unexpected key is an error naming the keys. Hub files come
through ``hf_hub_download``, so its cache, ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` apply.

``config.json`` names the architecture as timm registers it (``kanvision_<model>``, see
``kanvision.models.timm_bridge``), so ``timm.create_model("hf-hub:owner/repo")`` reads it too;
``model_args`` are the constructor arguments (basis and its options included).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from torch import nn

from kanvision.errors import CheckpointError
from kanvision.models.timm_names import from_timm_name, timm_name

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
SOURCES = ("hf-hub", "local-dir")
LICENSE = "apache-2.0"


def is_folder_source(name: str) -> bool:
    """Whether ``name`` is ``hf-hub:...`` or ``local-dir:...``."""
    return name.partition(":")[0] in SOURCES and ":" in name


def hub_config(model: nn.Module, pretrained_cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    """``config.json`` of a model: timm's fields plus the entry's metadata where known."""
    cfg = model.kanvision_cfg
    args = dict(cfg["args"])
    meta = pretrained_cfg or {}
    num_classes = args.get("num_classes", meta.get("num_classes"))
    pretrained = {
        "tag": meta.get("tag"),
        "input_size": meta.get("input_size"),
        "mean": meta.get("mean"),
        "std": meta.get("std"),
        "num_classes": num_classes,
        "interpolation": "bilinear",
        "crop_pct": 1.0,
        "crop_mode": "center",
        "fixed_input_size": True,
        "classifier": "head",
        "license": LICENSE,
        "metrics": meta.get("metrics"),
        "dataset": meta.get("dataset"),
    }
    return {
        "architecture": timm_name(cfg["model"]),
        "num_classes": num_classes,
        "model_args": args,
        "pretrained_cfg": {k: v for k, v in pretrained.items() if v is not None},
    }


def save_hub_folder(
    model: nn.Module, folder: str | os.PathLike, pretrained_cfg: dict[str, Any] | None = None
) -> Path:
    """Write ``folder/{config.json, model.safetensors, README.md}`` for ``model``;
    ``pretrained_cfg`` (a shipped entry's metadata) adds input size, normalisation, metrics,
    the training command and the twins to the config and the model card."""
    from kanvision.models.model_card import model_card
    from kanvision.models.pretrained import save_weights

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(model, folder / WEIGHTS_NAME)
    config = hub_config(model, pretrained_cfg)
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    (folder / CARD_NAME).write_text(model_card(model, config, pretrained_cfg or {}))
    return folder


def _hub_file(repo_id: str, filename: str) -> Path:
    """A file of a Hub repo through ``hf_hub_download`` (cache and offline mode), or one line
    saying why it cannot be had."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    repo_id, _, revision = repo_id.partition("@")
    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision or None))
    except LocalEntryNotFoundError:
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        why = "HF_HUB_OFFLINE is set and it is not in the cache" if offline else "it could not be downloaded"
        raise CheckpointError(
            f"'{filename}' of Hub repo '{repo_id}' is unavailable ({why}): connect and unset "
            "HF_HUB_OFFLINE to download it once, or point HF_HUB_CACHE at a cache that holds it"
        ) from None
    except (RepositoryNotFoundError, EntryNotFoundError, HFValidationError) as e:
        raise CheckpointError(
            f"Hub repo '{repo_id}' has no '{filename}' ({type(e).__name__}): check the repo id, "
            "or write the folder with kanvision.save_pretrained(model, folder)"
        ) from None
    except (HfHubHTTPError, OSError) as e:
        raise CheckpointError(
            f"could not fetch '{filename}' of Hub repo '{repo_id}' ({str(e).splitlines()[0][:120]}): "
            "check the connection and the repo id"
        ) from None


def folder_files(source: str) -> tuple[Path, Path]:
    """``(config.json, model.safetensors)`` of ``hf-hub:owner/repo[@rev]`` or ``local-dir:PATH``."""
    kind, _, where = source.partition(":")
    if kind == "hf-hub":
        return _hub_file(where, CONFIG_NAME), _hub_file(where, WEIGHTS_NAME)
    folder = Path(where)
    files = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise CheckpointError(
            f"folder '{folder}' lacks {missing}: give a folder written by "
            "kanvision.save_pretrained(model, folder)"
        )
    return files


def read_hub_config(source: str) -> tuple[str, dict[str, Any], Path]:
    """The kanvision model name, constructor arguments and weights file of a Hub folder."""
    config_file, weights = folder_files(source)
    config = json.loads(config_file.read_text())
    architecture = config.get("architecture", "?")
    name = from_timm_name(architecture)
    if name is None:
        raise CheckpointError(
            f"'{source}' holds timm architecture '{architecture}', not a kanvision model: load it "
            f"with timm.create_model('{source}')"
        )
    args = dict(config.get("model_args") or {})
    if config.get("num_classes") is not None:
        args.setdefault("num_classes", config["num_classes"])
    return name, args, weights


def load_hub_folder(source: str, expected: str | None = None) -> nn.Module:
    """The model of a Hub folder with its weights, loaded strictly; ``expected`` (a model name)
    must match the folder's architecture."""
    from kanvision.models.pretrained import (
        apply_pruned_structure,
        load_weights,
        read_pruned_structure,
    )
    from kanvision.models.registry import build_model

    name, args, weights = read_hub_config(source)
    if expected is not None and name != expected:
        raise CheckpointError(
            f"'{source}' holds model '{name}' (architecture {timm_name(name)}), not '{expected}': "
            f"use create_model('{source}') or create_model('{name}', pretrained='{source}')"
        )
    model = apply_pruned_structure(build_model(name, **args), read_pruned_structure(weights))
    return load_weights(model, weights)


def push_to_hub(
    model_or_name: nn.Module | str,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload kanvision model",
) -> str:
    """Write the Hub folder of a model (or of a shipped entry ``<model>.<tag>``, with its
    metadata) and upload it to ``repo_id`` (created if needed); returns the commit URL."""
    import tempfile

    from huggingface_hub import HfApi

    from kanvision.models.pretrained import get_pretrained_cfg

    meta = None
    if isinstance(model_or_name, str):
        from kanvision.models import create_model

        meta = get_pretrained_cfg(model_or_name)
        model = create_model(model_or_name, pretrained=True)
    else:
        model = model_or_name
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        save_hub_folder(model, tmp, meta)
        info = api.upload_folder(repo_id=repo_id, folder_path=tmp, commit_message=commit_message)
    return str(getattr(info, "commit_url", info))
