"""Every kanvision model in timm's registry, as ``kanvision_<model>`` (done on ``import kanvision``).

So ``timm.create_model("kanvision_kan_convnet", pretrained=True)``, ``timm.list_models("kanvision_*")``,
``timm.create_model("hf-hub:owner/repo")`` on a kanvision Hub folder and timm's own train /
validate / inference scripts (with ``--model kanvision_...`` after an ``import kanvision``) work.
Each timm entrypoint hands its arguments to ``kanvision.create_model``; ``pretrained=True`` loads
the model's default shipped weights, or the Hub folder timm resolved the name from.
"""

from __future__ import annotations

import sys
from typing import Any

from timm.models import _registry as timm_registry
from torch import nn

from kanvision.models.registry import REGISTER_HOOKS, get_model_info, list_models
from kanvision.models.timm_names import TIMM_PREFIX, timm_name

# keys timm passes to every entrypoint that are not model arguments
_TIMM_ONLY = ("pretrained_cfg_overlay", "cache_dir", "pretrained_model_args", "device", "dtype")


def _weights_source(name: str, pretrained: bool, pretrained_cfg: Any) -> bool | str:
    """What kanvision loads for timm's ``pretrained`` / ``pretrained_cfg`` of model ``name``."""
    cfg = pretrained_cfg if isinstance(pretrained_cfg, dict) else {}
    if not pretrained:
        return False
    if cfg.get("source") == "hf-hub" and cfg.get("hf_hub_id"):
        return f"hf-hub:{cfg['hf_hub_id']}"
    if cfg.get("source") == "local-dir" and cfg.get("file"):
        return f"local-dir:{cfg['file']}"
    if isinstance(pretrained_cfg, str):  # a tag: timm.create_model("kanvision_x.mnist")
        return f"{name}.{pretrained_cfg}"
    return True


def _entrypoint(name: str):
    def entry(pretrained: bool = False, pretrained_cfg: Any = None, **kwargs: Any) -> nn.Module:
        from kanvision.models import create_model

        for key in _TIMM_ONLY:
            kwargs.pop(key, None)
        model = create_model(name, pretrained=_weights_source(name, pretrained, pretrained_cfg), **kwargs)
        info = get_model_info(name)
        model.pretrained_cfg = model.default_cfg = {
            "architecture": timm_name(name),
            "input_size": info.input_size,
            "num_classes": model.kanvision_cfg["args"].get("num_classes", 10),
            "classifier": "head",
            "mean": (0.5,) * info.input_size[0],
            "std": (0.5,) * info.input_size[0],
            "interpolation": "bilinear",
            "crop_pct": 1.0,
            **(pretrained_cfg if isinstance(pretrained_cfg, dict) else {}),
        }
        return model

    entry.__name__ = entry.__qualname__ = timm_name(name)
    entry.__module__ = __name__
    entry.__doc__ = f"kanvision's {name}: {get_model_info(name).description}"
    return entry


def register_in_timm(name: str) -> None:
    """Register kanvision model ``name`` with timm as ``kanvision_<name>``."""
    fn = _entrypoint(name)
    setattr(sys.modules[__name__], fn.__name__, fn)
    timm_registry.register_model(fn)


def register_all() -> list[str]:
    """Register every kanvision model not yet in timm; returns the timm names added. Models
    registered later reach timm through ``REGISTER_HOOKS``."""
    added = [n for n in list_models() if timm_name(n) not in timm_registry._model_entrypoints]
    for name in added:
        register_in_timm(name)
    return [timm_name(n) for n in added]


register_all()
if register_in_timm not in REGISTER_HOOKS:
    REGISTER_HOOKS.append(register_in_timm)

__all__ = ["TIMM_PREFIX", "register_all", "register_in_timm"]
