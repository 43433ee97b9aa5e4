"""SepNet: depthwise-separable conv stacks, the parameter-frugal backbones for small images.

A dense KAN conv pays ``K + 1`` parameters for every (input channel, output channel, tap) edge, so
dense KAN convs run out of a 10K or 100K budget after two or three narrow layers. Splitting each
conv into a depthwise 3x3 (one edge function per channel and tap) and a pointwise 1x1 (one per
channel pair) keeps every layer a KAN layer while cutting the edges by about ``9x``, the same
trade MobileNet makes for plain convs.

Layout: ``stem conv3x3 -> stages of [dw3x3 -> BN -> pw1x1 -> BN] (+ residual when the shape is
unchanged), a 2x2 max-pool between stages -> global average pool -> linear head``. The parts that
``kan_where`` can name are ``stem``, ``depthwise``, ``pointwise`` and ``head``; ``kan="none"``
gives the standard twin with ReLU after every BN.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from kanvision.models.factory import LayerFactory, scale_width
from kanvision.models.registry import register_variant

PARTS = ("stem", "depthwise", "pointwise", "head")


class SeparableBlock(nn.Module):
    """``dw3x3 -> BN -> act -> pw1x1 -> BN -> act``, with a residual sum when shapes allow."""

    def __init__(self, layers: LayerFactory, in_channels: int, out_channels: int) -> None:
        super().__init__()
        depthwise, pointwise = layers.part("depthwise"), layers.part("pointwise")
        self.depthwise = depthwise.conv2d(
            in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False
        )
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.act1 = depthwise.act()
        self.pointwise = pointwise.conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act2 = pointwise.act()
        self.residual = in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.pointwise(self.act1(self.bn1(self.depthwise(x)))))
        return self.act2(out + x if self.residual else out)


class SepNet(nn.Module):
    """A stem, stages of :class:`SeparableBlock` (a 2x2 max-pool before every stage after the
    first), global average pooling and a linear head.

    Args:
        layers: the factory for the parts in :data:`PARTS`.
        stem_width: output channels of the 3x3 stem conv.
        widths: output channels of each stage.
        depths: blocks per stage.
        stem_pool: max-pool 2x2 right after the stem (works at half resolution from there).
        drop_rate: dropout before the head.
    """

    def __init__(
        self,
        layers: LayerFactory,
        *,
        stem_width: int,
        widths: Sequence[int],
        depths: Sequence[int],
        num_classes: int = 10,
        in_chans: int = 1,
        stem_pool: bool = False,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        stem = layers.part("stem")
        stem_layers: list[nn.Module] = [
            stem.conv2d(in_chans, stem_width, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_width),
            stem.act(),
        ]
        if stem_pool:
            stem_layers.append(nn.MaxPool2d(2))
        self.stem = nn.Sequential(*stem_layers)
        stages: list[nn.Module] = []
        channels = stem_width
        for index, (width, depth) in enumerate(zip(widths, depths, strict=True)):
            blocks: list[nn.Module] = [nn.MaxPool2d(2, ceil_mode=True)] if index else []
            for _ in range(depth):
                blocks.append(SeparableBlock(layers, channels, width))
                channels = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(drop_rate)
        self.num_features = channels
        self.head = layers.part("head").linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.stages(self.stem(x))).flatten(1)
        return self.head(self.drop(x))


def build_sepnet(
    *,
    name: str,
    stem_width: int,
    widths: Sequence[int],
    depths: Sequence[int],
    num_classes: int,
    in_chans: int,
    img_size: int,
    kan: str,
    kan_where: str | Sequence[str],
    width_mult: float,
    stem_pool: bool = False,
    drop_rate: float = 0.0,
    **kan_kwargs,
) -> SepNet:
    """Build a :class:`SepNet` with its widths scaled by ``width_mult``. It works for any image
    size (global pooling, ceil-mode pools), so ``img_size`` only records the native size."""
    del name, img_size
    return SepNet(
        LayerFactory(kan, kan_where, PARTS, **kan_kwargs),
        stem_width=scale_width(stem_width, width_mult),
        widths=[scale_width(w, width_mult) for w in widths],
        depths=depths,
        num_classes=num_classes,
        in_chans=in_chans,
        stem_pool=stem_pool,
        drop_rate=drop_rate,
    )


_VARIANTS = {
    "sepnet_tiny": (
        {"stem_width": 8, "widths": (16, 24), "depths": (1, 2), "stem_pool": True},
        "for budgets under 10K parameters (9.4K with B-splines of grid 2, order 2)",
    ),
    "sepnet_small": (
        {"stem_width": 16, "widths": (32, 48, 72), "depths": (1, 2, 2), "stem_pool": True},
        "for budgets under 100K parameters (95.8K with B-splines of grid 3, order 2)",
    ),
}

for _name, (_arch, _purpose) in _VARIANTS.items():
    register_variant(
        _name,
        build_sepnet,
        f"Depthwise-separable KAN stack (stem {_arch['stem_width']}, widths {_arch['widths']}, "
        f"depths {_arch['depths']}) {_purpose}.",
        kan_parts=PARTS,
        **_arch,
    )
