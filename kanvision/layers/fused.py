"""The fused KAN step: expand + mix as one autograd node that saves only its input.

Forward expands the input into its basis values ``z`` (C * (K + 1) channels), runs the mix
(linear or conv) and frees ``z``. Backward recomputes ``z`` from the saved input, gets the mix's
input and weight gradients in one call (``aten.convolution_backward`` or two matmuls), and pulls
``grad_z`` back through the expand. So a KAN layer keeps no more activation memory than a plain
layer on its *input*, instead of one on the K-times wider ``z``.

The expand itself is an elementwise function of x. It is compiled with ``torch.compile`` into one
fused kernel (forward and backward) where a compiler is available; otherwise it runs eagerly,
which is correct but slower. ``KANVISION_COMPILE=0`` (or ``set_compile(False)``) turns
compilation off; ``KANVISION_COMPILE=1`` forces it on. ``KANVISION_KERNEL`` (see
``kanvision.kernels``) chooses between this path and the fused Triton kernel.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import warnings
from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn

_LOW_PRECISION = (torch.float16, torch.bfloat16)
_compile_setting: bool | None = None  # None: decide from the environment


def set_compile(enabled: bool | None) -> None:
    """Turn compilation of the expand step on or off (None: from ``KANVISION_COMPILE``/auto)."""
    global _compile_setting
    _compile_setting = enabled


@functools.cache
def _compiler_available(device_type: str) -> bool:
    if device_type == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return False
        return True
    if device_type == "cpu":
        return any(shutil.which(cc) for cc in ("g++", "c++", "clang++"))
    return False


@contextlib.contextmanager
def eager_expand() -> Iterator[None]:
    """Run the expand step eagerly inside this block, never through a fused kernel (e.g. to
    trace or count its operations)."""
    from kanvision.kernels.dispatch import use_kernel

    global _compile_setting
    previous, _compile_setting = _compile_setting, False
    try:
        with use_kernel("eager"):
            yield
    finally:
        _compile_setting = previous


def compile_enabled(device_type: str) -> bool:
    """Whether the expand step is compiled on this device type."""
    if _compile_setting is not None:
        return _compile_setting and _compiler_available(device_type)
    from kanvision.kernels.dispatch import kernel_setting

    setting = kernel_setting()
    if setting != "auto" and setting != "triton":  # KANVISION_KERNEL=compile|eager forces it
        return setting == "compile" and _compiler_available(device_type)
    env = os.environ.get("KANVISION_COMPILE", "auto").lower()
    if env in ("0", "false", "no", "off"):
        return False
    return _compiler_available(device_type)


def expand_values(
    x: Tensor,
    basis: nn.Module,
    base_activation: nn.Module | None,
    groups: int = 1,
    out_dtype: torch.dtype | None = None,
) -> Tensor:
    """``(..., C) -> (..., C * (K + 1))``: the base activation and the K basis functions of every
    channel, laid out per channel group as ``[group][function][channel in group]``.

    Each group's block is contiguous, so conv ``groups`` carry over, and inside it every function
    is a contiguous run of channels, so the compiled kernel writes (and pulls back) vectors.
    ``out_dtype`` casts every function before they are joined, so that a compiled kernel writes
    each value once, in that dtype, straight into its place in the result."""
    columns = basis.functions(x)
    if base_activation is not None:
        columns = [base_activation(x), *columns]
    if out_dtype is not None:
        columns = [column.to(out_dtype) for column in columns]
    if groups == 1:
        return torch.cat(columns, dim=-1)
    z = torch.stack(columns, dim=-2)  # (..., K + 1, C)
    z = z.unflatten(-1, (groups, -1)).transpose(-3, -2)  # (..., G, K + 1, C / G)
    return z.flatten(-3)


def expand_vjp(
    x: Tensor, grad_z: Tensor, basis: nn.Module, base_activation: nn.Module | None, groups: int = 1
) -> Tensor:
    """``grad_x`` from ``grad_z`` through the expand, recomputing the basis from x alone."""
    _, pull_back = torch.func.vjp(lambda t: expand_values(t, basis, base_activation, groups), x)
    return pull_back(grad_z)[0]


# One compiled expand serves every layer; it is specialised per basis family, input rank, group
# count and grad mode, which can exceed dynamo's default of 8 variants per function in one model
# (and then silently runs eagerly). Raise that limit for the process, never lower it.
_MIN_RECOMPILE_LIMIT = 64


@functools.cache
def _compiled(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    import torch._dynamo.config as dynamo_config

    for name in ("recompile_limit", "cache_size_limit"):
        if getattr(dynamo_config, name, _MIN_RECOMPILE_LIMIT) < _MIN_RECOMPILE_LIMIT:
            setattr(dynamo_config, name, _MIN_RECOMPILE_LIMIT)
    return torch.compile(fn, dynamic=True)


_compile_failed = False


def _run(fn: Callable[..., Tensor], x: Tensor, *args) -> Tensor:
    """Run an expand function, compiled when enabled; eager if compiling is off or fails."""
    global _compile_failed
    if not torch.compiler.is_compiling() and not _compile_failed and compile_enabled(x.device.type):
        try:
            return _compiled(fn)(x, *args)
        except Exception as e:  # noqa: BLE001  (no working compiler: eager is correct, slower)
            _compile_failed = True
            warnings.warn(f"kanvision: compiling the KAN expand failed ({e}); using eager mode")
    return fn(x, *args)


def _autocast_off(device_type: str) -> contextlib.AbstractContextManager:
    """Autocast disabled on this device type (nothing to disable on e.g. the meta device)."""
    if torch.amp.is_autocast_available(device_type):
        return torch.autocast(device_type=device_type, enabled=False)
    return contextlib.nullcontext()


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The expand's arithmetic dtype: float32 for half-precision inputs, else the input's."""
    return torch.float32 if dtype in _LOW_PRECISION else dtype


def expand_values_as(
    x: Tensor, out_dtype: torch.dtype, basis: nn.Module, base_activation: nn.Module | None, groups: int = 1
) -> Tensor:
    """:func:`expand_values` computed in float32 (or float64) and returned as ``out_dtype``.

    The casts sit inside the function so that the compiled kernel reads x and writes z in their
    own dtypes: under bfloat16 autocast z, the widest tensor of the step, is written once in
    half the bytes instead of written in float32 and copied."""
    return expand_values(x.to(_compute_dtype(x.dtype)), basis, base_activation, groups, out_dtype)


def expand_vjp_as(
    x: Tensor, grad_z: Tensor, basis: nn.Module, base_activation: nn.Module | None, groups: int = 1
) -> Tensor:
    """:func:`expand_vjp` in float32 (or float64) for inputs of any dtype; ``grad_x`` in x's dtype
    (the casts are fused into the compiled kernel, as in :func:`expand_values_as`)."""
    compute = _compute_dtype(x.dtype)
    return expand_vjp(x.to(compute), grad_z.to(compute), basis, base_activation, groups).to(x.dtype)


def run_expand(x: Tensor, layer: nn.Module) -> Tensor:
    """The expand of a KAN layer's channels-last input, computed in float32 (or float64) and
    returned in the autocast dtype if autocast is active, else in x's dtype."""
    device = x.device.type
    out_dtype = x.dtype
    if torch.amp.is_autocast_available(device) and torch.is_autocast_enabled(device):
        out_dtype = torch.get_autocast_dtype(device)
    with _autocast_off(device):
        return _run(expand_values_as, x, out_dtype, layer.basis, layer.base_activation, layer.groups)


def run_expand_vjp(x: Tensor, grad_z: Tensor, layer: nn.Module) -> Tensor:
    """``grad_x`` for :func:`run_expand`, computed in float32 (or float64)."""
    with _autocast_off(x.device.type):
        return _run(expand_vjp_as, x, grad_z, layer.basis, layer.base_activation, layer.groups)


class _FusedKAN(torch.autograd.Function):
    """``y = mix(expand(x))`` saving only ``x`` (and the weights) for backward.

    Backward recomputes z, takes the weight gradients from it, frees it, then gets ``grad_z``
    from the weights alone and pulls it back to x with one fused vjp of the expand. The widest
    tensors alive at once are therefore z or grad_z, never both. Bases with learnable
    parameters take the generic route (autograd through the recomputed expand).

    A layer with ``recompute_expand = False`` (see :func:`set_recompute_expand`) saves z from the
    forward instead and skips the recompute: it may be faster where the expand is a large share of the step
    (on CPUs), at the cost of holding z, the K + 1 times wider tensor, until backward."""

    @staticmethod
    def forward(ctx, x: Tensor, layer: nn.Module, weight: Tensor, bias: Tensor | None, *basis_params: Tensor) -> Tensor:
        device = x.device.type
        ctx.autocast = (torch.is_autocast_enabled(device), torch.get_autocast_dtype(device))
        ctx.layer = layer
        with torch.no_grad():
            z = run_expand(x, layer)
            y = layer.mix_forward(z, weight, bias)
        ctx.z_shape = z.shape
        # a layer that opts out of recomputing keeps z for backward (its basis must have no
        # trainable parameters: those need autograd through a recomputed expand)
        ctx.kept_z = not layer.recompute_expand and not any(p.requires_grad for p in basis_params)
        ctx.save_for_backward(x, weight, bias, *basis_params, *((z,) if ctx.kept_z else ()))
        return y

    @staticmethod
    def backward(ctx, grad_y: Tensor):
        x, weight, bias, *basis_params = ctx.saved_tensors
        kept_z = basis_params.pop() if ctx.kept_z else None
        layer = ctx.layer
        need_x, _, need_w, need_b, *need_params = ctx.needs_input_grad
        enabled, dtype = ctx.autocast
        grad_params: list[Tensor | None] = [None] * len(basis_params)
        with torch.autocast(x.device.type, dtype=dtype, enabled=enabled):
            if not any(need_params):
                with torch.no_grad():
                    z = run_expand(x, layer) if kept_z is None else kept_z
                    del kept_z
                    grad_y = layer.prepare_grad(grad_y.to(z.dtype))
                    grad_w, grad_b = layer.mix_param_grads(grad_y, z, weight, bias, need_w, need_b)
                    del z
                    grad_x = None
                    if need_x:
                        grad_z = layer.mix_input_grad(grad_y, weight, ctx.z_shape)
                        grad_x = run_expand_vjp(x, grad_z, layer)
            else:
                with torch.enable_grad():
                    x_in = x.detach().requires_grad_(need_x)
                    z = run_expand(x_in, layer)
                    grad_y = layer.prepare_grad(grad_y.to(z.dtype))
                    grad_w, grad_b = layer.mix_param_grads(grad_y, z.detach(), weight, bias, need_w, need_b)
                    grad_z = layer.mix_input_grad(grad_y, weight, ctx.z_shape)
                    wanted = [(t, n) for t, n in zip((x_in, *basis_params), (need_x, *need_params))]
                    grads = iter(torch.autograd.grad(z, [t for t, n in wanted if n], grad_z))
                    grad_x, *grad_params = [next(grads) if n else None for _, n in wanted]
        cast = lambda g, ref: None if g is None else g.to(ref.dtype)
        return grad_x, None, cast(grad_w, weight), cast(grad_b, bias), *grad_params


def fused_kan(x: Tensor, layer: nn.Module) -> Tensor:
    """Apply ``layer`` (a KANLayer) through the fused op; x is channels last."""
    params = tuple(layer.basis.parameters())
    return _FusedKAN.apply(x, layer, layer.mix.weight, layer.mix.bias, *params)
