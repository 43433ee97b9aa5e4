"""What every KAN layer shares: expand each input channel into basis values, then mix linearly.

    expand:  x (..., C)  ->  z (..., C * (K + 1)),  z = [act(x_i), B_1(x_i), ..., B_K(x_i)] per i
    mix:     y = Linear / ConvNd over z

Within each channel group, z is laid out ``[function][channel]`` (see ``fused.expand_values``),
so the mix weight is ``(out, groups-block of (K + 1) x C/groups, *kernel)``. ``base_weight`` and
``spline_weight`` view it per edge: slot 0 is the base weight, slots 1..K the coefficients.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from kanvision.kernels.dispatch import kernel_path, kernel_setting, triton_failed
from kanvision.layers.basis import Basis, create_basis
from kanvision.layers.fused import fused_kan, run_expand


class KANLayer(nn.Module):
    """Base class of KAN layers: owns the basis and the channels-last expand step.

    Subclasses set ``self.mix`` (an ``nn.Linear`` or ``nn._ConvNd`` over the expanded channels).
    ``count_params`` counts every parameter inside a ``KANLayer`` as a KAN parameter.
    """

    mix: nn.Module
    #: recompute z in backward instead of keeping it from the forward (saves activation memory;
    #: False trades memory for speed, see :func:`set_recompute_expand`)
    recompute_expand: bool = True

    def __init__(
        self,
        in_features: int,
        *,
        basis: str,
        base_activation: type[nn.Module] = nn.SiLU,
        fused: bool = True,
        groups: int = 1,
        **basis_kwargs,
    ) -> None:
        super().__init__()
        self.fused = fused
        self.groups = groups
        options = {k: v for k, v in basis_kwargs.items() if v is not None}
        self.basis: Basis = create_basis(basis, in_features, **options)
        self.base_activation = base_activation() if self.basis.include_base else None
        self.expanded_per_input = self.basis.num_functions + int(self.basis.include_base)
        # set by select_inputs (structural pruning): the input channels this layer still reads
        self.register_buffer("input_index", None)

    def _finish_init(self, scale_base: float, scale_basis: float, device) -> None:
        """Called by subclasses once ``self.mix`` exists: basis to the device, then init."""
        self.basis.to(device=device)
        self.init_scales = (scale_base, scale_basis)
        self.reset_parameters()

    def expand(self, x: Tensor) -> Tensor:
        """``(..., C) -> (..., C * (K + 1))``, computed in float32 for half-precision inputs.

        Under autocast the result is cast to the autocast dtype so the mix runs in it.
        """
        return run_expand(x, self)

    def mix_forward(self, z: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        """The mix applied to channels-last expanded input ``z``."""
        raise NotImplementedError

    def prepare_grad(self, grad_y: Tensor) -> Tensor:
        """The output gradient in the layout the mix's backward kernels want (once per step)."""
        return grad_y

    def mix_param_grads(
        self, grad_y: Tensor, z: Tensor, weight: Tensor, bias: Tensor | None, need_w: bool, need_b: bool
    ) -> tuple[Tensor | None, Tensor | None]:
        """Gradients of :meth:`mix_forward` w.r.t. weight and bias (None where not needed)."""
        raise NotImplementedError

    def mix_input_grad(self, grad_y: Tensor, weight: Tensor, z_shape: torch.Size) -> Tensor:
        """Gradient of :meth:`mix_forward` w.r.t. z, from the weight alone (z is not needed)."""
        raise NotImplementedError

    def can_fuse(self) -> bool:
        """Whether the fused op (save only x, recompute z in backward) applies to this layer."""
        return self.fused

    def pointwise_mix(self) -> tuple[Tensor, int] | None:
        """The mix as a matmul over channels, ``(weight (out, (K + 1) * C / groups), groups)``,
        or None where it is not one (a spatial conv). The fused Triton kernel covers these."""
        return None

    def from_channels_last(self, y: Tensor) -> Tensor:
        """The fused kernel's channels-last output in the layout :meth:`mix_forward` returns."""
        return y

    def triton_forward(self, x: Tensor) -> Tensor:
        """The layer through the fused Triton kernel (``kanvision.kernels.triton_linear``)."""
        from kanvision.kernels.triton_linear import kan_linear

        weight, groups = self.pointwise_mix()
        has_base = self.base_activation is not None
        y = kan_linear(x, weight, self.mix.bias, self.basis.kernel_spec(), has_base, groups)
        return self.from_channels_last(y)

    def kan_forward(self, x: Tensor) -> Tensor:
        """``mix(expand(x))`` for channels-last ``x``: through the fused Triton kernel where it
        covers the layer (see ``kanvision.kernels``), else fused when training."""
        compiling = torch.compiler.is_compiling()
        if not compiling and kernel_path(self, x) == "triton":
            try:
                return self.triton_forward(x)
            except Exception as e:
                if kernel_setting() == "triton":
                    raise
                triton_failed(e)
        if torch.is_grad_enabled() and self.can_fuse() and not compiling:
            return fused_kan(x, self)
        return self.mix_forward(self.expand(x), self.mix.weight, self.mix.bias)

    def edge_weights(self) -> Tensor:
        """The mix weight viewed per edge: ``(out, in_per_group, K + 1, *kernel)`` (a view)."""
        w = self.mix.weight
        return w.view(w.shape[0], self.expanded_per_input, -1, *w.shape[2:]).transpose(1, 2)

    @property
    def base_weight(self) -> Tensor | None:
        """Weight of the base-activation branch of every edge, ``(out, in_per_group, *kernel)``;
        None for bases without a base branch."""
        return self.edge_weights()[:, :, 0] if self.basis.include_base else None

    @property
    def spline_weight(self) -> Tensor:
        """Basis coefficients of every edge, ``(out, in_per_group, K, *kernel)``."""
        return self.edge_weights()[:, :, int(self.basis.include_base) :]

    @torch.no_grad()
    def reset_parameters(
        self, scale_base: float | None = None, scale_basis: float | None = None
    ) -> None:
        """Initialise like the plain layer with the original fan-in (not the K-fold one).

        The scales default to those the layer was built with."""
        scale_base = self.init_scales[0] if scale_base is None else scale_base
        scale_basis = self.init_scales[1] if scale_basis is None else scale_basis
        w = self.edge_weights()
        fan_in = w.shape[1] * math.prod(w.shape[3:])
        bound = 1.0 / math.sqrt(fan_in)
        if self.basis.include_base:
            w[:, :, 0].uniform_(-scale_base * bound, scale_base * bound)
        w[:, :, int(self.basis.include_base) :].uniform_(-scale_basis * bound, scale_basis * bound)
        if self.mix.bias is not None:
            self.mix.bias.uniform_(-bound, bound)

    # --- regularization (original KAN's L1 + entropy, on coefficients) -------------------------

    def regularization_loss(self, l1: float = 1.0, entropy: float = 1.0) -> Tensor:
        """``l1 * sum_e |phi_e| + entropy * H(|phi_e| / sum |phi|)`` over the layer's edges e.

        As in efficient-kan, the magnitude of an edge's function is taken as the mean absolute
        value of its basis coefficients (summed over kernel taps for convs) instead of the mean
        |phi_e(x)| over a batch of activations: the same sparsity pressure without keeping the
        per-edge activations. The entropy term pushes a few edges to dominate.
        """
        coef = self.spline_weight.abs().mean(dim=2)  # (out, in_per_group, *kernel)
        magnitude = coef.flatten(2).sum(-1) if coef.dim() > 2 else coef
        total = magnitude.sum()
        p = magnitude / (total + 1e-12)
        ent = -(p * torch.log(p + 1e-12)).sum()
        return l1 * total + entropy * ent

    # --- structural pruning -------------------------------------------------------------------

    def select_input_channels(self, x: Tensor, dim: int) -> Tensor:
        """``x`` reduced to the input channels kept by :meth:`select_inputs` (all if none)."""
        return x if self.input_index is None else x.index_select(dim, self.input_index)

    @property
    def can_select_inputs(self) -> bool:
        """Whether :meth:`select_inputs` can remove inputs: not in a grouped (e.g. depthwise) layer,
        nor with a grouped basis (the group-rational KAT basis), where channels share parameters."""
        return self.groups == 1 and getattr(self.basis, "groups", 1) == 1

    @torch.no_grad()
    def select_inputs(self, index: Tensor) -> None:
        """Keep only the input channels ``index`` (of the current inputs): their edges, basis
        state and mix weights stay, the rest are removed, so the layer really has fewer
        parameters. The layer still takes the full input and picks the kept channels itself,
        so the modules around it are unchanged."""
        if not self.can_select_inputs:
            raise ValueError("input pruning needs an ungrouped layer (groups=1, no grouped rational basis)")
        index = torch.as_tensor(index, dtype=torch.long, device=self.mix.weight.device)
        channels = self.basis.in_features
        kernel = tuple(self.mix.weight.shape[2:])
        self._set_per_channel_coefficients(self._per_channel_coefficients()[index], kernel)
        for name, tensor in [*self.basis.named_parameters(recurse=False), *self.basis.named_buffers(recurse=False)]:
            if tensor is not None and tensor.dim() > 0 and tensor.shape[0] == channels:
                value = tensor[index].clone()
                if isinstance(tensor, nn.Parameter):
                    setattr(self.basis, name, nn.Parameter(value, requires_grad=tensor.requires_grad))
                else:
                    setattr(self.basis, name, value)
        self.basis.in_features = len(index)
        for attr in ("in_features", "in_channels"):
            if hasattr(self, attr):
                setattr(self, attr, len(index))
        self.input_index = index if self.input_index is None else self.input_index[index]

    # --- grid updates (bases with a grid, e.g. bspline) ----------------------------------------

    def channels_last_samples(self, x: Tensor) -> Tensor:
        """The layer input as ``(N, C)`` samples of its input channels."""
        raise NotImplementedError

    def _per_channel_coefficients(self) -> Tensor:
        """Mix weight as ``(C, K + 1, outputs of the channel's group * kernel taps)``."""
        w = self.mix.weight
        g, out = self.groups, w.shape[0]
        c_per_g = w.shape[1] // self.expanded_per_input
        v = w.reshape(g, out // g, self.expanded_per_input, c_per_g, -1)
        return v.permute(0, 3, 2, 1, 4).reshape(g * c_per_g, self.expanded_per_input, -1)

    def _set_per_channel_coefficients(self, coef: Tensor, kernel: tuple[int, ...]) -> None:
        g, out = self.groups, self.mix.weight.shape[0]
        channels, width, _ = coef.shape
        v = coef.reshape(g, channels // g, width, out // g, -1).permute(0, 3, 2, 1, 4)
        weight = v.reshape(out, width * (channels // g), *kernel)
        self.mix.weight = nn.Parameter(weight.contiguous().to(self.mix.weight.dtype))
        if isinstance(self.mix, nn.Linear):
            self.mix.in_features = weight.shape[1]
        else:
            self.mix.in_channels = weight.shape[1] * g

    @torch.no_grad()
    def _refit(self, new_basis: Basis, samples: Tensor) -> None:
        """Replace the basis, refitting coefficients by least squares so the edge functions stay
        as they were on ``samples`` (``(N, C)``)."""
        kernel = tuple(self.mix.weight.shape[2:])
        coef = self._per_channel_coefficients().to(samples.dtype)
        start = int(self.basis.include_base)
        old_values = self.basis(samples)  # (N, C, K)
        target = torch.einsum("nck,ckm->cnm", old_values, coef[:, start:])
        new_values = new_basis(samples).transpose(0, 1)  # (C, N, K')
        solution = torch.linalg.lstsq(new_values, target).solution  # (C, K', M)
        new_coef = torch.cat([coef[:, :start], solution], dim=1)
        self.basis = new_basis.to(device=self.mix.weight.device, dtype=self.mix.weight.dtype)
        self.expanded_per_input = new_basis.num_functions + start
        self._set_per_channel_coefficients(new_coef, kernel)

    def update_grid(self, x: Tensor, margin: float = 0.01) -> None:
        """Refit each channel's grid to the range of the data ``x`` (a batch of layer inputs)
        while keeping the learned functions (least squares on the batch), as in the original
        KAN. The grid stays uniform per channel, so the closed-form basis still applies."""
        if not hasattr(self.basis, "with_range"):
            raise TypeError(f"basis {type(self.basis).__name__} has no grid to update")
        samples = self.channels_last_samples(x).detach().double()
        lo, hi = samples.min(0).values, samples.max(0).values
        pad = margin * (hi - lo).clamp(min=1e-3)
        new_basis = self.basis.with_range(lo - pad, hi + pad)
        self._refit(new_basis.double(), samples)

    def refine_grid(self, grid_size: int, x: Tensor | None = None) -> None:
        """Grid extension: switch to a finer (or coarser) grid over the same range, fitting the
        new coefficients to the current functions on ``x`` or on dense points of the grid."""
        if not hasattr(self.basis, "with_grid_size"):
            raise TypeError(f"basis {type(self.basis).__name__} has no grid to refine")
        new_basis = self.basis.with_grid_size(grid_size).double()
        if x is None:
            lo, hi = self.basis.grid_range()
            t = torch.linspace(0, 1, 4 * (new_basis.num_functions + 1), dtype=torch.float64)
            samples = lo.double()[None, :] + t[:, None] * (hi - lo).double()[None, :]
        else:
            samples = self.channels_last_samples(x).detach().double()
        self._refit(new_basis, samples)


def set_recompute_expand(model: nn.Module, enabled: bool) -> int:
    """Whether every KAN layer of ``model`` recomputes its expanded input ``z`` in backward
    (True, the default: a KAN layer then holds no more activation memory than a plain layer on
    its input) or keeps ``z`` from the forward (False: no second expand per step, for about
    K + 1 times the layer input's activation memory). Returns the number of layers set.

    Keeping may pay where the expand is a large share of the step and memory is plentiful, as in
    CPU training (``training.recompute_expand: false`` in a train.py config). Layers whose basis
    has trainable parameters always recompute; layers run by the fused Triton kernel never write
    z, so this does not apply to them."""
    layers = [m for m in model.modules() if isinstance(m, KANLayer)]
    for layer in layers:
        layer.recompute_expand = enabled
    return len(layers)
