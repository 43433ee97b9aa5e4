"""Small convnets for 28x28 grayscale images (MNIST, Fashion-MNIST)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from kanvision.models.factory import LayerFactory
from kanvision.models.registry import register_model


class ConvNet(nn.Module):
    """``[conv3x3 -> BN -> act -> maxpool2] * len(widths) -> flatten -> linear head``.

    With KAN layers the nonlinearity lives in the next layer's edges (act is identity); with
    ``kan="none"`` it is the same topology with ``nn.Conv2d`` / ``nn.Linear`` and ReLU.
    """

    def __init__(
        self,
        layers: LayerFactory,
        *,
        num_classes: int = 10,
        in_chans: int = 1,
        img_size: int = 28,
        widths: Sequence[int] = (16, 32),
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels, size = in_chans, img_size
        for width in widths:
            blocks += [
                layers.conv2d(channels, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                layers.act(),
                nn.MaxPool2d(2),
            ]
            channels, size = width, size // 2
        self.features = nn.Sequential(*blocks)
        self.num_features = channels * size * size
        self.head = layers.linear(self.num_features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).flatten(1))


@register_model
def kan_convnet(
    *,
    num_classes: int = 10,
    in_chans: int = 1,
    kan: str = "bspline",
    widths: Sequence[int] = (16, 32),
    **kan_kwargs,
) -> ConvNet:
    """Two KAN-conv blocks (16, 32 channels) and a KAN linear head, for 28x28 inputs.

    ``kan="none"`` gives its standard twin (Conv2d/BN/ReLU, Linear head)."""
    return ConvNet(
        LayerFactory(kan, **kan_kwargs), num_classes=num_classes, in_chans=in_chans, widths=widths
    )
