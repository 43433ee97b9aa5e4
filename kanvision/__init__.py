"""kanvision: a vision model zoo built on Kolmogorov-Arnold Network (KAN) layers."""

from kanvision.errors import KanvisionError
from kanvision.models import (
    count_flops,
    count_params,
    create_model,
    get_model_info,
    get_pretrained_cfg,
    list_models,
    list_pretrained,
    push_to_hub,
    save_pretrained,
)
from kanvision.models import timm_bridge as _timm_bridge  # noqa: F401  (registers kanvision_<model> in timm)

__version__ = "0.1.0"

__all__ = [
    "KanvisionError",
    "count_flops",
    "count_params",
    "create_model",
    "get_model_info",
    "get_pretrained_cfg",
    "list_models",
    "list_pretrained",
    "push_to_hub",
    "save_pretrained",
]
