"""ResNets with basic blocks: CIFAR-style (3x3 stem, no max-pool) and ImageNet-style ResNet-18.

In a KAN ResNet the 3x3 convs of every block (and the stem) are KAN convs; the 1x1 projection
shortcuts stay plain linear maps, so the identity path stays linear as in the standard ResNet.
With KAN convs the activations are identity: each KAN conv applies its own edge functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from kanvision.models.factory import LayerFactory, scale_width
from kanvision.models.registry import register_variant


class BasicBlock(nn.Module):
    """``conv3x3 -> BN -> act -> conv3x3 -> BN``, plus the shortcut, then ``act``."""

    def __init__(self, convs: LayerFactory, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = convs.conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.act1 = convs.act()
        self.conv2 = convs.conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.act2 = convs.act()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        return self.act2(out + self.shortcut(x))


class ResNet(nn.Module):
    """A stem, stages of basic blocks (stride 2 from the second stage on), global pool, head."""

    def __init__(
        self,
        layers: LayerFactory,
        *,
        widths: Sequence[int],
        depths: Sequence[int],
        stem: str,
        num_classes: int,
        in_chans: int,
    ) -> None:
        super().__init__()
        convs = layers.part("convs")
        if stem == "cifar":
            stem_layers = [convs.conv2d(in_chans, widths[0], 3, padding=1, bias=False)]
        elif stem == "imagenet":
            stem_layers = [convs.conv2d(in_chans, widths[0], 7, stride=2, padding=3, bias=False)]
        else:
            raise ValueError(f"resnet stem must be 'cifar' or 'imagenet', got {stem!r}")
        stem_layers += [nn.BatchNorm2d(widths[0]), convs.act()]
        if stem == "imagenet":
            stem_layers.append(nn.MaxPool2d(3, stride=2, padding=1))
        self.stem = nn.Sequential(*stem_layers)
        stages, channels = [], widths[0]
        for index, (width, depth) in enumerate(zip(widths, depths, strict=True)):
            blocks = []
            for block in range(depth):
                stride = 2 if index > 0 and block == 0 else 1
                blocks.append(BasicBlock(convs, channels, width, stride))
                channels = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = channels
        self.head = layers.part("head").linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(self.stages(self.stem(x))).flatten(1))


def build_resnet(
    *,
    name: str,
    widths: Sequence[int],
    depths: Sequence[int],
    stem: str,
    num_classes: int,
    in_chans: int,
    img_size: int,
    kan: str,
    kan_where: str | Sequence[str],
    width_mult: float,
    **kan_kwargs,
) -> ResNet:
    """Build a :class:`ResNet`, widths scaled by ``width_mult`` (any image size >= 1 pixel
    after the stem works: the head pools globally)."""
    return ResNet(
        LayerFactory(kan, kan_where, ("convs", "head"), **kan_kwargs),
        widths=[scale_width(w, width_mult) for w in widths],
        depths=depths,
        stem=stem,
        num_classes=num_classes,
        in_chans=in_chans,
    )


_CIFAR_WIDTHS = (16, 32, 64)
register_variant(
    "resnet8_cifar", build_resnet,
    "CIFAR-style ResNet-8: 3x3 stem, three stages (16, 32, 64) of one basic block.",
    input_size=(3, 32, 32), widths=_CIFAR_WIDTHS, depths=(1, 1, 1), stem="cifar",
)
register_variant(
    "resnet20_cifar", build_resnet,
    "CIFAR-style ResNet-20 (He et al.): 3x3 stem, three stages (16, 32, 64) of three blocks.",
    input_size=(3, 32, 32), widths=_CIFAR_WIDTHS, depths=(3, 3, 3), stem="cifar",
)
register_variant(
    "resnet18_cifar", build_resnet,
    "ResNet-18 with a CIFAR stem (3x3, no max-pool) for 32x32 images.",
    input_size=(3, 32, 32), widths=(64, 128, 256, 512), depths=(2, 2, 2, 2), stem="cifar",
)
register_variant(
    "resnet18", build_resnet,
    "ResNet-18 (ImageNet stem: 7x7 stride 2 + max-pool) for 224x224 images.",
    input_size=(3, 224, 224), widths=(64, 128, 256, 512), depths=(2, 2, 2, 2), stem="imagenet",
)
