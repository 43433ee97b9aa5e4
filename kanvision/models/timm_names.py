"""kanvision model names as timm registers them: ``kanvision_<model>``.

The prefix keeps them apart from timm's own models (timm has ``resnet18`` and
``vit_tiny_patch16_224`` too), and a Hub folder's ``config.json`` names its architecture this way.
"""

from __future__ import annotations

TIMM_PREFIX = "kanvision_"


def timm_name(model: str) -> str:
    """The timm registry name of kanvision model ``model``."""
    return TIMM_PREFIX + model


def from_timm_name(architecture: str) -> str | None:
    """The kanvision model behind a timm architecture name, or None if it is not one of ours."""
    from kanvision.models.registry import list_models

    name = architecture.removeprefix(TIMM_PREFIX)
    return name if architecture.startswith(TIMM_PREFIX) and name in list_models() else None
