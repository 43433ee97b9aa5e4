"""Conv stacks with a flatten or global-pool head: ``kan_convnet`` and the 4- and 8-layer stacks.

The small conv-KAN families (``convkan.py``) are presets of the same :class:`ConvNet`."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from kanvision.errors import InputSizeError
from kanvision.models.factory import LayerFactory, scale_width
from kanvision.models.registry import register_variant


class ConvNet(nn.Module):
    """``[conv3x3 -> BN -> act (-> maxpool2)] * len(widths) -> (avgpool | flatten) -> head``.

    With KAN layers the nonlinearity lives in the next layer's edges (act is identity); with
    ``kan="none"`` it is the same topology with ``nn.Conv2d`` / ``nn.Linear`` and ReLU.

    Args:
        layers: the factory for the model's ``"convs"`` and ``"head"`` parts.
        widths: output channels of each conv layer.
        padding: of every 3x3 conv (0 shrinks the image by 2 per layer, as in Bodner et al.).
        pool_every: a 2x2 max-pool after every this many conv layers.
        global_pool: average-pool the last feature map (else flatten it, which fixes img_size).
        head_hidden: width of a hidden layer in the head (None: one linear layer).
    """

    def __init__(
        self,
        layers: LayerFactory,
        *,
        widths: Sequence[int],
        num_classes: int = 10,
        in_chans: int = 1,
        img_size: int = 28,
        padding: int = 1,
        pool_every: int = 1,
        global_pool: bool = False,
        head_hidden: int | None = None,
        name: str = "convnet",
    ) -> None:
        super().__init__()
        convs, head = layers.part("convs"), layers.part("head")
        blocks: list[nn.Module] = []
        channels, size = in_chans, img_size
        for index, width in enumerate(widths, start=1):
            blocks += [
                convs.conv2d(channels, width, 3, padding=padding, bias=False),
                nn.BatchNorm2d(width),
                convs.act(),
            ]
            size += 2 * padding - 2
            if index % pool_every == 0:
                blocks.append(nn.MaxPool2d(2))
                size //= 2
            if size < 1:
                raise InputSizeError(
                    f"{name} shrinks a {img_size}x{img_size} image to nothing after {index} conv "
                    "layers: use larger images (data.img_size / a Resize transform) or fewer layers"
                )
            channels = width
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1) if global_pool else nn.Identity()
        self.num_features = channels if global_pool else channels * size * size
        if head_hidden is None:
            self.head = head.linear(self.num_features, num_classes)
        else:
            self.head = nn.Sequential(
                head.linear(self.num_features, head_hidden),
                head.act(),
                head.linear(head_hidden, num_classes),
            )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


def build_convnet(
    *,
    name: str,
    widths: Sequence[int],
    num_classes: int,
    in_chans: int,
    img_size: int,
    kan: str,
    kan_where: str | Sequence[str],
    width_mult: float,
    padding: int = 1,
    pool_every: int = 1,
    global_pool: bool = False,
    head_hidden: int | None = None,
    **kan_kwargs,
) -> ConvNet:
    """Build a :class:`ConvNet` with its widths scaled by ``width_mult``; the family builder of
    every conv-stack preset."""
    return ConvNet(
        LayerFactory(kan, kan_where, ("convs", "head"), **kan_kwargs),
        widths=[scale_width(w, width_mult) for w in widths],
        num_classes=num_classes,
        in_chans=in_chans,
        img_size=img_size,
        padding=padding,
        pool_every=pool_every,
        global_pool=global_pool,
        head_hidden=scale_width(head_hidden, width_mult) if head_hidden else None,
        name=name,
    )


register_variant(
    "kan_convnet",
    build_convnet,
    """Two KAN-conv blocks (16, 32 channels, padded) and a KAN linear head, for 28x28 inputs.

    ``kan="none"`` gives its standard twin (Conv2d/BN/ReLU, Linear head).""",
    widths=(16, 32),
)

register_variant(
    "convstack4",
    build_convnet,
    "A plain 4-layer conv stack (32, 64, 128, 256; pool after each) with a global-pool head.",
    input_size=(3, 32, 32),
    widths=(32, 64, 128, 256),
    global_pool=True,
)

register_variant(
    "convstack8",
    build_convnet,
    "A plain 8-layer conv stack (32..256, pool after every 2) with a global-pool head.",
    input_size=(3, 32, 32),
    widths=(32, 32, 64, 64, 128, 128, 256, 256),
    pool_every=2,
    global_pool=True,
)
