"""KAT-style ViTs (Kolmogorov-Arnold Transformer, Yang & Wang 2024): timm's ViT whose MLPs are
group-rational KAN (GR-KAN) layers.

Each MLP is ``rational -> linear -> rational -> linear`` with one learnable rational function per
group of 8 channels (``basis="rational"``), the first one started at the identity and the second
at SiLU, as KAT starts from a plain ViT's function. ``kan="none"`` gives the plain ViT twin.
"""

from __future__ import annotations

from torch import nn

from kanvision.layers import KANLinear, RationalBasis
from kanvision.models.vit import build_vit, register_vits


def build_kat(**kwargs) -> nn.Module:
    """:func:`~kanvision.models.vit.build_vit` with KAT's start: the first rational of every MLP
    is the identity."""
    model = build_vit(**kwargs)
    for block in getattr(model, "blocks", []):
        fc1 = getattr(block.mlp, "fc1", None)
        if isinstance(fc1, KANLinear) and isinstance(fc1.basis, RationalBasis):
            fc1.basis.initialize("identity")
    return model


register_vits(
    "kat",
    ("tiny", "small"),
    "KAT-{size} ({dim} wide, {depth} deep), patch {patch}, {img}x{img}: ViT with GR-KAN MLPs.",
    build=build_kat,
    kan="rational",
    kan_where="mlp",
)
