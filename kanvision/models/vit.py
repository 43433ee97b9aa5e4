"""Vision Transformers: timm's ``VisionTransformer`` with :class:`KANMlp` as its ``mlp_layer``.

``kan_where="mlp"`` (the default) puts KAN MLPs in every block, ``"head"`` makes the classifier
a KAN linear layer, ``"all"`` does both; attention and the patch embedding stay linear. Patch 4
for 28/32-pixel images, patch 16 for 224. Sizes follow timm/DeiT (tiny: 192 wide, 12 deep, 3
heads; small: 384, 12, 6) plus ``nano`` (96, 6, 3, MLP ratio 2), small enough to train on a CPU.
``width_mult`` scales the embedding width (kept a multiple of the head count).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import partial

from timm.layers import Mlp
from timm.models.vision_transformer import VisionTransformer
from torch import nn

from kanvision.errors import InputSizeError
from kanvision.layers import KANMlp
from kanvision.models.factory import LayerFactory, reset_kan_layers, scale_width
from kanvision.models.registry import register_variant

VIT_PARTS = ("mlp", "head")
# name: (embed_dim, depth, num_heads, mlp_ratio)
VIT_SIZES = {
    "nano": (96, 6, 3, 2.0),
    "tiny": (192, 12, 3, 4.0),
    "small": (384, 12, 6, 4.0),
}


def build_vit(
    *,
    name: str,
    patch_size: int,
    embed_dim: int,
    depth: int,
    num_heads: int,
    mlp_ratio: float,
    num_classes: int,
    in_chans: int,
    img_size: int,
    kan: str,
    kan_where: str | Sequence[str],
    width_mult: float,
    drop_path_rate: float = 0.0,
    global_pool: str = "token",
    **kan_kwargs,
) -> VisionTransformer:
    """A timm ViT whose MLPs (and/or head) are KAN layers of basis ``kan``."""
    if img_size % patch_size:
        raise InputSizeError(
            f"{name} cuts images into {patch_size}x{patch_size} patches, so the image size must "
            f"be a multiple of {patch_size}, got {img_size}: resize the images or pick a model "
            "with a smaller patch (kanvision.list_models('*patch4*'))"
        )
    layers = LayerFactory(kan, kan_where, VIT_PARTS, **kan_kwargs)
    mlp = layers.part("mlp")
    mlp_layer = partial(KANMlp, basis=kan, **kan_kwargs) if mlp.is_kan else Mlp
    model = VisionTransformer(
        img_size=img_size,
        patch_size=patch_size,
        in_chans=in_chans,
        num_classes=num_classes,
        embed_dim=scale_width(embed_dim, width_mult, multiple_of=num_heads),
        depth=depth,
        num_heads=num_heads,
        mlp_ratio=mlp_ratio,
        mlp_layer=mlp_layer,
        global_pool=global_pool,
        drop_path_rate=drop_path_rate,
    )
    head = layers.part("head")
    if head.is_kan and num_classes > 0:
        model.head = head.linear(model.embed_dim, num_classes)
    reset_kan_layers(model)  # timm's init treats the mix inside each KAN layer as a plain Linear
    return model


def register_vits(
    prefix: str, sizes: Sequence[str], doc: str, build: Callable[..., nn.Module] = build_vit, **defaults
) -> None:
    """Register ``<prefix>_<size>_patch4_32`` and ``..._patch16_224`` presets of ``build``
    (the 224 ones only for sizes other than nano), as models of the calling module's family."""
    module = sys._getframe(1).f_globals["__name__"]
    for size in sizes:
        embed_dim, depth, num_heads, mlp_ratio = VIT_SIZES[size]
        for patch, img in ((4, 32), (16, 224)):
            if size == "nano" and img == 224:
                continue
            register_variant(
                f"{prefix}_{size}_patch{patch}_{img}",
                build,
                doc.format(size=size, patch=patch, img=img, dim=embed_dim, depth=depth),
                input_size=(3, img, img),
                kan_parts=VIT_PARTS,
                module=module,
                patch_size=patch,
                embed_dim=embed_dim,
                depth=depth,
                num_heads=num_heads,
                mlp_ratio=mlp_ratio,
                **defaults,
            )


register_vits(
    "vit",
    ("nano", "tiny", "small"),
    "ViT-{size} ({dim} wide, {depth} deep), patch {patch}, {img}x{img}: timm ViT with KAN MLPs.",
    kan_where="mlp",
)

# ViT-nano's B-spline KAN MLPs (G=5, k=3: 9 coefficients per edge) with a hidden layer of 21
# instead of 192, so the KAN model has the plain ViT-nano's parameter count (456,424 against
# 460,906 at 32x32x3, -1.0%): a KAN ViT compared with the standard ViT at equal size.
NANO_NARROW_MLP_RATIO = 21 / 96
_embed, _depth, _heads, _ = VIT_SIZES["nano"]
register_variant(
    "vit_nano_narrow_patch4_32",
    build_vit,
    f"ViT-nano with narrow KAN MLPs (hidden {round(_embed * NANO_NARROW_MLP_RATIO)}, not "
    f"{_embed * 2}), patch 4, 32x32: the plain ViT-nano's parameter count with B-spline KAN MLPs.",
    input_size=(3, 32, 32),
    kan_parts=VIT_PARTS,
    kan_where="mlp",
    patch_size=4,
    embed_dim=_embed,
    depth=_depth,
    num_heads=_heads,
    mlp_ratio=NANO_NARROW_MLP_RATIO,
)
