"""KANConv1d/2d/3d: a KAN convolution is ONE ordinary convolution over the expanded channels.

The basis of a pixel does not depend on where the kernel sits, so expanding every input channel
into ``K + 1`` channels and convolving them with a standard ``nn.ConvNd`` is exact. The expand
runs channels last, so for 2-D the conv receives a ``channels_last`` tensor without a copy.
"""

from __future__ import annotations

from torch import Tensor, nn

from kanvision.layers.kan_layer import KANLayer


class _KANConvNd(KANLayer):
    """Shared implementation; subclasses set ``conv_class``."""

    conv_class: type[nn.modules.conv._ConvNd]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        *,
        basis: str = "bspline",
        grid_size: int = 5,
        spline_order: int = 3,
        base_activation: type[nn.Module] = nn.SiLU,
        scale_base: float = 1.0,
        scale_basis: float = 1.0,
        device=None,
        dtype=None,
        **basis_kwargs,
    ) -> None:
        super().__init__(
            in_channels,
            basis=basis,
            base_activation=base_activation,
            grid_size=grid_size,
            spline_order=spline_order,
            **basis_kwargs,
        )
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                f"divisible by groups ({groups})"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        # channel i expands to the contiguous block [i*(K+1), (i+1)*(K+1)), so groups carry over
        self.mix = self.conv_class(
            in_channels * self.expanded_per_input,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )
        self.basis.to(device=device)
        self.reset_parameters(scale_base, scale_basis)

    def forward(self, x: Tensor) -> Tensor:
        z = self.expand(x.movedim(1, -1)).movedim(-1, 1)
        return self.mix(z)

    def extra_repr(self) -> str:
        m = self.mix
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
        if any(p != 0 for p in m.padding) if isinstance(m.padding, tuple) else m.padding:
            s += f", padding={m.padding}"
        if any(d != 1 for d in m.dilation):
            s += f", dilation={m.dilation}"
        if m.groups != 1:
            s += f", groups={m.groups}"
        return s


class KANConv1d(_KANConvNd):
    """KAN counterpart of ``nn.Conv1d``; padded positions contribute nothing (zero in z)."""

    conv_class = nn.Conv1d


class KANConv2d(_KANConvNd):
    """KAN counterpart of ``nn.Conv2d``.

    ``y_o(p) = sum_{i, q} [w_oiq * silu(x_i(p+q)) + sum_j c_oijq * B_j(x_i(p+q))] + b_o`` over the
    kernel taps q that fall inside the image: zero padding pads the expanded channels, so a padded
    tap contributes nothing (as zero padding does in a plain conv). Other ``padding_mode`` values
    pad the expanded channels, which equals padding the input before expanding. With the default
    B-spline basis, inputs outside the extended grid get only the base branch (finite, defined).
    """

    conv_class = nn.Conv2d


class KANConv3d(_KANConvNd):
    """KAN counterpart of ``nn.Conv3d``; padded positions contribute nothing (zero in z)."""

    conv_class = nn.Conv3d
