"""Parameter counts, the way KAN papers compare models: total, trainable, and inside KAN layers."""

from __future__ import annotations

from typing import NamedTuple

from torch import nn

from kanvision.layers import KANLayer


class ParamCount(NamedTuple):
    total: int
    trainable: int
    kan: int


def count_params(model: nn.Module) -> ParamCount:
    """Count parameters: ``total``, ``trainable`` and ``kan`` (those inside any ``KANLayer``)."""
    params = list(model.parameters())
    kan_ids = {
        id(p) for m in model.modules() if isinstance(m, KANLayer) for p in m.parameters()
    }
    return ParamCount(
        total=sum(p.numel() for p in params),
        trainable=sum(p.numel() for p in params if p.requires_grad),
        kan=sum(p.numel() for p in params if id(p) in kan_ids),
    )
