"""VGG with batch norm, small-image variant: ceil-mode pools and a global-pool linear head.

The five 2x2 pools take 32x32 (CIFAR) and 28x28 (MNIST) inputs down to 1x1, and 224x224 to 7x7;
the global average pool and one linear layer replace VGG's 4096-wide classifier, as in the usual
CIFAR VGGs.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from kanvision.models.factory import LayerFactory, scale_width
from kanvision.models.registry import register_variant

POOL = "M"
_CONFIGS = {
    "vgg11": (64, POOL, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL),
    "vgg16": (64, 64, POOL, 128, 128, POOL, 256, 256, 256, POOL, 512, 512, 512, POOL,
              512, 512, 512, POOL),
}


class VGG(nn.Module):
    """``[conv3x3 -> BN -> act]`` groups separated by ceil-mode 2x2 max-pools, then a head."""

    def __init__(
        self, layers: LayerFactory, config: Sequence[int | str], *, num_classes: int, in_chans: int
    ) -> None:
        super().__init__()
        convs = layers.part("convs")
        blocks: list[nn.Module] = []
        channels = in_chans
        for item in config:
            if item == POOL:
                blocks.append(nn.MaxPool2d(2, ceil_mode=True))
                continue
            blocks += [
                convs.conv2d(channels, int(item), 3, padding=1, bias=False),
                nn.BatchNorm2d(int(item)),
                convs.act(),
            ]
            channels = int(item)
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = channels
        self.head = layers.part("head").linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


def build_vgg(
    *,
    name: str,
    config: Sequence[int | str],
    num_classes: int,
    in_chans: int,
    img_size: int,
    kan: str,
    kan_where: str | Sequence[str],
    width_mult: float,
    **kan_kwargs,
) -> VGG:
    """Build a :class:`VGG` from a config of widths and pools, widths scaled by ``width_mult``."""
    config = [item if item == POOL else scale_width(int(item), width_mult) for item in config]
    layers = LayerFactory(kan, kan_where, ("convs", "head"), **kan_kwargs)
    return VGG(layers, config, num_classes=num_classes, in_chans=in_chans)


for _name, _config in _CONFIGS.items():
    register_variant(
        f"{_name}_small",
        build_vgg,
        f"{_name.upper()} with BN for small images (32x32, 28x28): global pool + linear head.",
        input_size=(3, 32, 32),
        config=_config,
    )
