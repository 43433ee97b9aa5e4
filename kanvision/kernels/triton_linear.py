"""The fused KAN matmul in Triton: the basis is computed in the matmul's operand loader.

For input ``X (M, C)``, functions ``phi_0 .. phi_{F-1}`` per channel (the base activation, then
the basis) and the mix weight ``W (N, F * C)`` viewed as ``W_j (N, C)``:

    forward   Y    = sum_j phi_j(X) @ W_j^T                (_forward_kernel)
    weight    dW_j = dY^T @ phi_j(X)                       (_weight_grad_kernel)
    input     dX   = sum_j (dY @ W_j) * phi_j'(X)          (_input_grad_kernel)

None of the three writes the expanded ``z = [phi_j(X)]_j`` to memory: each loads a tile of X,
evaluates ``phi_j`` (or its derivative) in registers and feeds the tensor cores, so the step
reads X instead of the F times wider z, and only X is saved for backward.

Groups (a grouped 1x1 conv) are block-diagonal: group g maps its ``C / G`` input channels to its
``N / G`` outputs, and its weight columns are laid out ``[function][channel in group]``, as
:func:`kanvision.layers.fused.expand_values` lays out z. A dense linear layer is ``G = 1``.

The basis values are computed in float32 (float64 for float64 inputs); the products take the
operands in the dot dtype (bfloat16/float16 under autocast, where the weight is cast once per
call, as autocast casts it for ``F.linear``) and accumulate in float32.
Under Triton's CPU interpreter (``TRITON_INTERPRET=1``) low-precision products are emulated by
rounding both operands to the dot dtype and multiplying in float32, which is what the tensor
cores compute (the interpreter's own bfloat16 dot is not exact).
"""

from __future__ import annotations

import functools
import math

import torch
import triton
import triton.language as tl
from torch import Tensor

from kanvision.kernels.dispatch import interpreting
from kanvision.kernels.spec import KINDS, KernelBasis

_TL_DTYPES = {
    torch.float16: tl.float16,
    torch.bfloat16: tl.bfloat16,
    torch.float32: tl.float32,
    torch.float64: tl.float64,
}
_LOW_PRECISION = (torch.float16, torch.bfloat16)
_FAR = 3.0e38  # "no clamp" for grid positions (finite, so every backend takes it as a float)


# --- the basis, in registers ------------------------------------------------------------------


@triton.jit
def _sigmoid(x):
    return 1.0 / (1.0 + tl.exp(-x))


@triton.jit
def _tanh(x):
    # 1 - 2 / (e^{2x} + 1): exact limits +-1 for large |x| (e^{2x} = inf or 0), no NaN
    return 1.0 - 2.0 / (tl.exp(2.0 * x) + 1.0)


@triton.jit
def _grid_position(x, lo, step, shift, u_min, u_max):
    """``u = clamp((x - lo) / step + shift)`` and ``du/dx`` (0 where clamped)."""
    raw = (x - lo[None, :]) / step[None, :] + shift
    u = tl.minimum(tl.maximum(raw, u_min), u_max)
    du = tl.where((raw >= u_min) & (raw <= u_max), (1.0 / step)[None, :], 0.0)  # no 0 * inf
    return u, du


@triton.jit
def _function(x, u, du, t, rec_ptr, j, KIND: tl.constexpr, HAS_BASE: tl.constexpr,
              NUM_BASIS: tl.constexpr, FIRST: tl.constexpr):
    """Value and x-derivative of function ``j`` of every channel (``j = 0`` is SiLU when the
    layer has a base branch). ``j`` may be a compile-time or a run-time index."""
    b = j - HAS_BASE + FIRST  # index within the basis (FIRST: polynomials the basis leaves out)
    if KIND == 0:  # cubic cardinal B-spline N(u - b), symmetric about 2, support [0, 4]
        r = u - b
        s = tl.minimum(tl.abs(r - 2.0), 2.0)
        w = 2.0 - s
        near = s < 1.0
        value = tl.where(near, (2.0 - 3.0 * s * s + 1.5 * s * s * s) / 3.0, w * w * w / 6.0)
        slope = tl.where(near, -2.0 * s + 1.5 * s * s, -0.5 * w * w)
        sign = tl.where(r > 2.0, 1.0, tl.where(r < 2.0, -1.0, 0.0))
        deriv = slope * sign * du
    elif KIND == 1:  # Gaussian exp(-(u - b)^2)
        r = u - b
        value = tl.exp(-(r * r))
        deriv = -2.0 * r * value * du
    else:  # p_b(tanh x) by p_{n+1} = a_n t p_n - b_n p_{n-1}; p_0 = 1, p_1 = t
        one = t * 0.0 + 1.0
        p_prev = one
        p = t
        dp_prev = t * 0.0
        dp = one
        value = tl.where(b == 0, one, t)
        dvalue = tl.where(b == 0, dp_prev, one)
        for n in tl.static_range(1, NUM_BASIS + FIRST - 1):
            a_n = tl.load(rec_ptr + 2 * (n - 1))
            b_n = tl.load(rec_ptr + 2 * (n - 1) + 1)
            p_next = a_n * t * p - b_n * p_prev
            dp_next = a_n * (p + t * dp) - b_n * dp_prev
            p_prev = p
            p = p_next
            dp_prev = dp
            dp = dp_next
            value = tl.where(b == n + 1, p, value)
            dvalue = tl.where(b == n + 1, dp, dvalue)
        deriv = dvalue * (1.0 - t * t)
    if HAS_BASE:
        sig = _sigmoid(x)
        value = tl.where(j == 0, x * sig, value)
        deriv = tl.where(j == 0, sig * (1.0 + x * (1.0 - sig)), deriv)
    return value, deriv


@triton.jit
def _load_channels(x_ptr, lo_ptr, step_ptr, rows, cols, row_mask, col_mask, stride_row,
                   shift, u_min, u_max, COMPUTE: tl.constexpr, KIND: tl.constexpr):
    """A tile of X and what every function of it needs: the grid position (and its slope) for
    the grid kinds, ``tanh x`` for the polynomial kind."""
    mask = row_mask[:, None] & col_mask[None, :]
    x = tl.load(x_ptr + rows[:, None] * stride_row + cols[None, :], mask=mask, other=0.0)
    x = x.to(COMPUTE)
    if KIND == 2:
        t = _tanh(x)
        u = t
        du = t
    else:
        lo = tl.load(lo_ptr + cols, mask=col_mask, other=0.0).to(COMPUTE)
        step = tl.load(step_ptr + cols, mask=col_mask, other=1.0).to(COMPUTE)
        u, du = _grid_position(x, lo, step, shift, u_min, u_max)
        t = u
    return x, u, du, t


@triton.jit
def _dot(a, b, acc, DOT: tl.constexpr, EMULATE: tl.constexpr, IEEE: tl.constexpr):
    """``acc + a @ b`` with both operands rounded to the dot dtype."""
    a = a.to(DOT)
    b = b.to(DOT)
    if EMULATE:  # the interpreter: round to DOT, multiply in float32 (as the tensor cores do)
        return tl.dot(a.to(tl.float32), b.to(tl.float32), acc)
    if IEEE:
        return tl.dot(a, b, acc, input_precision="ieee")
    return tl.dot(a, b, acc)


# --- the three kernels ------------------------------------------------------------------------


@triton.jit
def _forward_kernel(
    x_ptr, w_ptr, bias_ptr, y_ptr, lo_ptr, step_ptr, rec_ptr,
    M, N_G, C_G, stride_x, stride_w, stride_y, shift, u_min, u_max, M_BUCKET,
    KIND: tl.constexpr, HAS_BASE: tl.constexpr, NUM_BASIS: tl.constexpr, FIRST: tl.constexpr, HAS_BIAS: tl.constexpr,
    COMPUTE: tl.constexpr, DOT: tl.constexpr, EMULATE: tl.constexpr, IEEE: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr,
):
    pid_m, pid_n, g = tl.program_id(0), tl.program_id(1), tl.program_id(2)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    outs = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    row_mask, out_mask = rows < M, outs < N_G
    acc_dtype = tl.float64 if COMPUTE == tl.float64 else tl.float32
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=acc_dtype)
    w_rows = g * N_G + outs
    for c0 in range(0, C_G, BLOCK_C):
        chans = c0 + tl.arange(0, BLOCK_C)
        chan_mask = chans < C_G
        x, u, du, t = _load_channels(
            x_ptr + g * C_G, lo_ptr + g * C_G, step_ptr + g * C_G, rows, chans,
            row_mask, chan_mask, stride_x, shift, u_min, u_max, COMPUTE, KIND,
        )
        for j in tl.static_range(NUM_BASIS + HAS_BASE):
            value, _ = _function(x, u, du, t, rec_ptr, j, KIND, HAS_BASE, NUM_BASIS, FIRST)
            w = tl.load(
                w_ptr + w_rows[None, :] * stride_w + (j * C_G + chans)[:, None],
                mask=chan_mask[:, None] & out_mask[None, :], other=0.0,
            )
            acc = _dot(value, w, acc, DOT, EMULATE, IEEE)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + w_rows, mask=out_mask, other=0.0).to(acc_dtype)[None, :]
    y = y_ptr + rows[:, None] * stride_y + w_rows[None, :]
    tl.store(y, acc.to(y_ptr.dtype.element_ty), mask=row_mask[:, None] & out_mask[None, :])


@triton.jit
def _weight_grad_kernel(
    x_ptr, dy_ptr, dw_ptr, lo_ptr, step_ptr, rec_ptr,
    M, N_G, C_G, stride_x, stride_dy, stride_dw, shift, u_min, u_max, M_BUCKET,
    KIND: tl.constexpr, HAS_BASE: tl.constexpr, NUM_BASIS: tl.constexpr, FIRST: tl.constexpr,
    COMPUTE: tl.constexpr, DOT: tl.constexpr, EMULATE: tl.constexpr, IEEE: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr,
):
    pid_n, pid_c, gj = tl.program_id(0), tl.program_id(1), tl.program_id(2)
    functions = NUM_BASIS + HAS_BASE
    g = gj // functions
    j = gj % functions
    outs = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    chans = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    out_mask, chan_mask = outs < N_G, chans < C_G
    acc_dtype = tl.float64 if COMPUTE == tl.float64 else tl.float32
    acc = tl.zeros((BLOCK_N, BLOCK_C), dtype=acc_dtype)
    for m0 in range(0, M, BLOCK_M):
        rows = m0 + tl.arange(0, BLOCK_M)
        row_mask = rows < M
        x, u, du, t = _load_channels(
            x_ptr + g * C_G, lo_ptr + g * C_G, step_ptr + g * C_G, rows, chans,
            row_mask, chan_mask, stride_x, shift, u_min, u_max, COMPUTE, KIND,
        )
        value, _ = _function(x, u, du, t, rec_ptr, j, KIND, HAS_BASE, NUM_BASIS, FIRST)
        value = tl.where(row_mask[:, None], value, 0.0)
        dy = tl.load(
            dy_ptr + rows[:, None] * stride_dy + (g * N_G + outs)[None, :],
            mask=row_mask[:, None] & out_mask[None, :], other=0.0,
        )
        acc = _dot(tl.trans(dy), value, acc, DOT, EMULATE, IEEE)
    dw = dw_ptr + (g * N_G + outs)[:, None] * stride_dw + (j * C_G + chans)[None, :]
    tl.store(dw, acc.to(dw_ptr.dtype.element_ty), mask=out_mask[:, None] & chan_mask[None, :])


@triton.jit
def _input_grad_kernel(
    x_ptr, dy_ptr, w_ptr, dx_ptr, lo_ptr, step_ptr, rec_ptr,
    M, N_G, C_G, stride_x, stride_dy, stride_w, stride_dx, shift, u_min, u_max, M_BUCKET,
    KIND: tl.constexpr, HAS_BASE: tl.constexpr, NUM_BASIS: tl.constexpr, FIRST: tl.constexpr,
    COMPUTE: tl.constexpr, DOT: tl.constexpr, EMULATE: tl.constexpr, IEEE: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr,
):
    pid_m, pid_c, g = tl.program_id(0), tl.program_id(1), tl.program_id(2)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    chans = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    row_mask, chan_mask = rows < M, chans < C_G
    acc_dtype = tl.float64 if COMPUTE == tl.float64 else tl.float32
    x, u, du, t = _load_channels(
        x_ptr + g * C_G, lo_ptr + g * C_G, step_ptr + g * C_G, rows, chans,
        row_mask, chan_mask, stride_x, shift, u_min, u_max, COMPUTE, KIND,
    )
    dx = tl.zeros((BLOCK_M, BLOCK_C), dtype=acc_dtype)
    for j in tl.static_range(NUM_BASIS + HAS_BASE):
        grad_j = tl.zeros((BLOCK_M, BLOCK_C), dtype=acc_dtype)
        for n0 in range(0, N_G, BLOCK_N):
            outs = n0 + tl.arange(0, BLOCK_N)
            out_mask = outs < N_G
            dy = tl.load(
                dy_ptr + rows[:, None] * stride_dy + (g * N_G + outs)[None, :],
                mask=row_mask[:, None] & out_mask[None, :], other=0.0,
            )
            w = tl.load(
                w_ptr + (g * N_G + outs)[:, None] * stride_w + (j * C_G + chans)[None, :],
                mask=out_mask[:, None] & chan_mask[None, :], other=0.0,
            )
            grad_j = _dot(dy, w, grad_j, DOT, EMULATE, IEEE)
        _, deriv = _function(x, u, du, t, rec_ptr, j, KIND, HAS_BASE, NUM_BASIS, FIRST)
        dx += grad_j * deriv
    out = dx_ptr + rows[:, None] * stride_dx + (g * C_G + chans)[None, :]
    tl.store(out, dx.to(dx_ptr.dtype.element_ty), mask=row_mask[:, None] & chan_mask[None, :])


# --- launching ----------------------------------------------------------------------------------


def tile_configs(interpreter: bool | None = None) -> list[triton.Config]:
    """Tile sizes to autotune over on a GPU (one small tile under the interpreter). Each fits an
    H100's shared memory for up to 14 functions a channel (checked by the tests, offline)."""
    if interpreting() if interpreter is None else interpreter:
        # the interpreter's cost is per operation, not per element: few, mid-sized tiles
        return [triton.Config({"BLOCK_M": 64, "BLOCK_N": 32, "BLOCK_C": 32}, num_warps=1)]
    return [
        triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_C": bc}, num_warps=w, num_stages=s)
        for bm, bn, bc, w, s in [
            (128, 128, 32, 8, 3),
            (128, 64, 32, 4, 3),
            (64, 128, 32, 4, 3),
            (64, 64, 32, 4, 4),
            (128, 128, 64, 8, 2),
            (64, 64, 64, 4, 3),
            (32, 64, 32, 4, 4),
        ]
    ]


_KEY = ["M_BUCKET", "N_G", "C_G", "KIND", "NUM_BASIS", "FIRST", "DOT"]


@functools.cache
def _tuned(kernel: triton.JITFunction) -> triton.runtime.Autotuner:
    """``kernel`` wrapped in an autotuner over :func:`tile_configs` keyed on the problem size (the
    number of rows bucketed to a power of two, so batch-size changes do not retune)."""
    return triton.autotune(configs=tile_configs(), key=_KEY)(kernel)


def _m_bucket(m: int) -> int:
    return 1 << max(m - 1, 0).bit_length()


def _grid(rows: int, row_block: str, cols: int, col_block: str, depth: int):
    """A launch grid of (row tiles, column tiles, depth) for the tile sizes the tuner picks."""
    return lambda meta: (triton.cdiv(rows, meta[row_block]), triton.cdiv(cols, meta[col_block]), depth)


@functools.lru_cache(maxsize=64)
def _constant(values: tuple[float, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
    """A small constant tensor, built once per device (no host-to-device copy per step)."""
    return torch.tensor(values or (0.0,), dtype=dtype, device=device)


def _per_channel(value: Tensor | float, channels: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """A grid parameter as a ``(C,)`` tensor on the device (a float is filled once and cached)."""
    if isinstance(value, Tensor):
        return value.to(device=device, dtype=dtype).expand(channels).contiguous()
    return _filled(float(value), channels, dtype, device)


@functools.lru_cache(maxsize=64)
def _filled(value: float, channels: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    return torch.full((channels,), value, dtype=dtype, device=device)


class _Launch:
    """Everything the three kernels share for one layer call: the basis as kernel arguments,
    the group sizes and the dtypes."""

    def __init__(self, spec: KernelBasis, has_base: bool, groups: int, x: Tensor, weight: Tensor,
                 dot_dtype: torch.dtype) -> None:
        self.m, channels = x.shape
        self.groups = groups
        self.c_g = channels // groups
        self.n_g = weight.shape[0] // groups
        compute = torch.float64 if x.dtype == torch.float64 else torch.float32
        device = x.device
        lo, step = (_per_channel(v, channels, compute, device) for v in (spec.lo, spec.step))
        self.tensors = (lo, step, _constant(spec.recurrence, compute, device))
        self.scalars = (
            spec.shift,
            max(spec.u_min, -_FAR) if math.isfinite(spec.u_min) else -_FAR,
            min(spec.u_max, _FAR) if math.isfinite(spec.u_max) else _FAR,
        )
        self.meta = {
            "KIND": KINDS.index(spec.kind),
            "HAS_BASE": int(has_base),
            "NUM_BASIS": spec.num_functions,
            "FIRST": spec.first,
            "COMPUTE": _TL_DTYPES[compute],
            "DOT": _TL_DTYPES[dot_dtype],
            "EMULATE": interpreting() and dot_dtype in _LOW_PRECISION,
            "IEEE": dot_dtype == torch.float32 and not torch.backends.cuda.matmul.allow_tf32,
        }
        self.functions = spec.num_functions + int(has_base)
        self.compute = compute

    def forward(self, x: Tensor, weight: Tensor, bias: Tensor | None, out_dtype: torch.dtype) -> Tensor:
        y = torch.empty(self.m, weight.shape[0], device=x.device, dtype=out_dtype)
        kernel = _tuned(_forward_kernel)
        kernel[_grid(self.m, "BLOCK_M", self.n_g, "BLOCK_N", self.groups)](
            x, weight, bias if bias is not None else weight, y, *self.tensors,
            self.m, self.n_g, self.c_g, x.stride(0), weight.stride(0), y.stride(0), *self.scalars,
            _m_bucket(self.m), HAS_BIAS=bias is not None, **self.meta,
        )
        return y

    def weight_grad(self, x: Tensor, grad_y: Tensor, weight: Tensor) -> Tensor:
        grad_w = torch.empty(weight.shape, device=x.device, dtype=self.compute)
        kernel = _tuned(_weight_grad_kernel)
        depth = self.groups * self.functions
        kernel[_grid(self.n_g, "BLOCK_N", self.c_g, "BLOCK_C", depth)](
            x, grad_y, grad_w, *self.tensors,
            self.m, self.n_g, self.c_g, x.stride(0), grad_y.stride(0), grad_w.stride(0), *self.scalars,
            _m_bucket(self.m), **self.meta,
        )
        return grad_w

    def input_grad(self, x: Tensor, grad_y: Tensor, weight: Tensor) -> Tensor:
        grad_x = torch.empty(x.shape, device=x.device, dtype=self.compute)
        kernel = _tuned(_input_grad_kernel)
        kernel[_grid(self.m, "BLOCK_M", self.c_g, "BLOCK_C", self.groups)](
            x, grad_y, weight, grad_x, *self.tensors,
            self.m, self.n_g, self.c_g, x.stride(0), grad_y.stride(0), weight.stride(0),
            grad_x.stride(0), *self.scalars, _m_bucket(self.m), **self.meta,
        )
        return grad_x


class _TritonKANLinear(torch.autograd.Function):
    """``y = mix(expand(x))`` for 2-D ``x``, saving only x and the weight for backward."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None, launch: _Launch,
                out_dtype: torch.dtype) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.launch = launch
        ctx.has_bias = bias is not None
        return launch.forward(x, weight.to(out_dtype), bias, out_dtype)

    @staticmethod
    def backward(ctx, grad_y: Tensor):
        x, weight = ctx.saved_tensors
        launch: _Launch = ctx.launch
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grad_y = grad_y.contiguous()
        grad_x = None
        if need_x:  # the products in the forward's dtype, as autocast's linear does
            grad_x = launch.input_grad(x, grad_y, weight.to(grad_y.dtype)).to(x.dtype)
        grad_w = launch.weight_grad(x, grad_y, weight).to(weight.dtype) if need_w else None
        grad_b = None
        if need_b and ctx.has_bias:
            grad_b = grad_y.sum(0, dtype=launch.compute).to(weight.dtype)
        return grad_x, grad_w, grad_b, None, None


def kan_linear(x: Tensor, weight: Tensor, bias: Tensor | None, spec: KernelBasis, has_base: bool,
               groups: int = 1) -> Tensor:
    """The fused KAN mix of channels-last ``x`` (..., C) with ``weight`` (N, F * C / groups).

    Under autocast the products run in the autocast dtype and the output has it, as
    ``F.linear`` does; otherwise they run in x's dtype.
    """
    lead, channels = x.shape[:-1], x.shape[-1]
    weight = weight if weight.is_contiguous() else weight.contiguous()
    x2 = x.reshape(-1, channels)
    if not x2.is_contiguous():
        x2 = x2.contiguous()
    device = x.device.type
    if torch.is_autocast_enabled(device):
        dot_dtype = torch.get_autocast_dtype(device)
    else:
        dot_dtype = x.dtype
    launch = _Launch(spec, has_base, groups, x2, weight, dot_dtype)
    y = _TritonKANLinear.apply(x2, weight, bias, launch, dot_dtype)
    return y.reshape(*lead, weight.shape[0])

