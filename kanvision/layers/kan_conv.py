"""KANConv1d/2d/3d: a KAN convolution is ONE ordinary convolution over the expanded channels.

The basis of a pixel does not depend on where the kernel sits, so expanding every input channel
into ``K + 1`` channels and convolving them with a standard ``nn.ConvNd`` is exact. The expand
runs channels last, so for 2-D the conv receives a ``channels_last`` tensor without a copy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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
        grid_size: int | None = None,
        spline_order: int | None = None,
        base_activation: type[nn.Module] = nn.SiLU,
        fused: bool = True,
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
            fused=fused,
            groups=groups,
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
        # each group's channels expand to one contiguous block, so groups carry over
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
        self._finish_init(scale_base, scale_basis, device)

    def forward(self, x: Tensor) -> Tensor:
        # dense channels-last input (free for a channels_last tensor) so the expand reads
        # and writes contiguous vectors
        return self.kan_forward(self.select_input_channels(x, 1).movedim(1, -1).contiguous())

    def channels_last_samples(self, x: Tensor) -> Tensor:
        return self.select_input_channels(x, 1).movedim(1, -1).reshape(-1, self.in_channels)

    def can_fuse(self) -> bool:
        return self.fused and self.mix.padding_mode == "zeros" and not isinstance(self.mix.padding, str)

    def pointwise_mix(self) -> tuple[Tensor, int] | None:
        """A 1x1 conv with stride 1 and no padding is a (grouped) matmul over channels."""
        m = self.mix
        ones = (1,) * len(m.stride)
        if m.kernel_size != ones or m.stride != ones or m.dilation != ones:
            return None
        if isinstance(m.padding, str) or any(m.padding):
            return None
        return m.weight.flatten(1), m.groups

    def from_channels_last(self, y: Tensor) -> Tensor:
        return y.movedim(y.dim() - 1, 1)  # a positive dim: ONNX's tracer mis-exports -1

    def mix_forward(self, z: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        # channels-last z viewed channels-first: a channels_last tensor, no copy
        return self.mix._conv_forward(z.movedim(z.dim() - 1, 1), weight, bias)  # see above

    def prepare_grad(self, grad_y: Tensor) -> Tensor:
        """Dense channels-last layout (2-D/3-D), which the conv kernels handle without temporaries;
        an incoming gradient may be broadcast (e.g. from ``y.sum()``)."""
        fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(grad_y.dim())
        return grad_y.contiguous(memory_format=fmt) if fmt else grad_y.contiguous()

    def mix_param_grads(self, grad_y, z, weight, bias, need_w, need_b):
        m = self.mix
        _, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad_y, z.movedim(-1, 1), weight.to(z.dtype),
            [weight.shape[0]] if bias is not None else None,
            m.stride, m.padding, m.dilation, False, [0] * len(m.stride), m.groups,
            [False, need_w, need_b and bias is not None],
        )
        return grad_w, grad_b

    def mix_input_grad(self, grad_y, weight, z_shape):
        m = self.mix
        spatial_in = (z_shape[1:-1])
        out_pad = [
            size - ((g - 1) * s - 2 * p + d * (k - 1) + 1)
            for size, g, s, p, d, k in zip(
                spatial_in, grad_y.shape[2:], m.stride, m.padding, m.dilation, weight.shape[2:]
            )
        ]
        grad_z = self.conv_transpose(
            grad_y, weight.to(grad_y.dtype), None, m.stride, m.padding, out_pad, m.groups, m.dilation
        )
        return grad_z.movedim(1, -1)

    def extra_repr(self) -> str:
        m = self.mix
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
        if m.padding not in ("valid", (0,) * len(m.stride)):
            s += f", padding={m.padding}"
        if any(d != 1 for d in m.dilation):
            s += f", dilation={m.dilation}"
        if m.groups != 1:
            s += f", groups={m.groups}"
        return s


class KANConv1d(_KANConvNd):
    """KAN counterpart of ``nn.Conv1d``; padded positions contribute nothing (zero in z)."""

    conv_class = nn.Conv1d
    conv_transpose = staticmethod(F.conv_transpose1d)


class KANConv2d(_KANConvNd):
    """KAN counterpart of ``nn.Conv2d``.

    ``y_o(p) = sum_{i, q} [w_oiq * silu(x_i(p+q)) + sum_j c_oijq * B_j(x_i(p+q))] + b_o`` over the
    kernel taps q that fall inside the image: zero padding pads the expanded channels, so a padded
    tap contributes nothing (as zero padding does in a plain conv). Other ``padding_mode`` values
    pad the expanded channels, which equals padding the input before expanding. With the default
    B-spline basis, inputs outside the extended grid get only the base branch (finite, defined).
    """

    conv_class = nn.Conv2d
    conv_transpose = staticmethod(F.conv_transpose2d)


class KANConv3d(_KANConvNd):
    """KAN counterpart of ``nn.Conv3d``; padded positions contribute nothing (zero in z)."""

    conv_class = nn.Conv3d
    conv_transpose = staticmethod(F.conv_transpose3d)
