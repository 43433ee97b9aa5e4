"""Which kernel path a KAN layer takes: the fused Triton kernel, the compiled expand, or eager.

    triton   the basis computed inside the matmul (``kanvision.kernels.triton_linear``): for
             KAN layers whose mix is a matmul over channels (``KANLinear``, 1x1 ``KANConv``) with
             a closed-form basis (``Basis.kernel_spec``), on CUDA, or on the CPU under Triton's
             interpreter (``TRITON_INTERPRET=1``, for tests);
    compile  the expand compiled by ``torch.compile`` into one kernel, then cuDNN / MKL over z;
    eager    the same expand in eager PyTorch (no compiler needed).

``auto`` (the default) takes ``triton`` on CUDA where it covers the layer and ``compile``
elsewhere, falling back to ``eager`` where no compiler works. ``KANVISION_KERNEL`` (or
:func:`use_kernel`) forces a path; a forced ``triton`` still takes the compiled expand for layers
the kernel does not cover (a 3x3 conv, a learnable rational basis).
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from kanvision.errors import KanvisionError

PATHS = ("auto", "triton", "compile", "eager")
_KERNEL_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
_override: str | None = None
_triton_failure: str | None = None  # set once the kernels failed to build or launch under auto


class KernelSettingError(KanvisionError, ValueError):
    """An unknown or unusable kernel path."""


def _checked(path: str, source: str) -> str:
    path = path.strip().lower()
    if path not in PATHS:
        raise KernelSettingError(
            f"{source}={path!r} is not a kernel path: use one of {', '.join(PATHS)}"
        )
    return path


def kernel_setting() -> str:
    """The requested path: :func:`use_kernel`'s, else ``$KANVISION_KERNEL``, else ``auto``."""
    if _override is not None:
        return _override
    return _checked(os.environ.get("KANVISION_KERNEL", "auto"), "KANVISION_KERNEL")


@contextlib.contextmanager
def use_kernel(path: str) -> Iterator[None]:
    """Force a kernel path inside this block (overrides ``$KANVISION_KERNEL``)."""
    global _override
    previous, _override = _override, _checked(path, "use_kernel")
    try:
        yield
    finally:
        _override = previous


def interpreting() -> bool:
    """Whether Triton kernels run on Triton's CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


@functools.cache
def triton_available() -> bool:
    """Whether Triton can be imported at all."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def _triton_runs_on(x: Tensor) -> bool:
    if not triton_available():
        return False
    if x.device.type == "cuda":
        return x.dtype in _KERNEL_DTYPES  # float64 products are for the interpreter's checks
    return x.device.type == "cpu" and interpreting()


def triton_covers(layer: nn.Module) -> bool:
    """Whether the fused kernel computes this layer: a matmul mix, a closed-form basis with no
    learnable parameters, SiLU (or no) base branch, and the fused training step allowed."""
    view = getattr(layer, "pointwise_mix", lambda: None)()
    if view is None or not layer.can_fuse():
        return False
    base = layer.base_activation
    if base is not None and type(base) is not nn.SiLU:
        return False
    if any(p.requires_grad for p in layer.basis.parameters()):
        return False
    return layer.basis.kernel_spec() is not None


def _auto_prefers_triton(x: Tensor) -> bool:
    """Where ``auto`` takes the kernels: on CUDA (on the CPU the interpreter is for tests)."""
    return x.device.type == "cuda"


def triton_failed(error: BaseException) -> None:
    """Under ``auto``: stop choosing the Triton path for this process, with one warning (e.g. a
    GPU whose Triton build fails); the compiled expand computes the same layers."""
    global _triton_failure
    if _triton_failure is None:
        _triton_failure = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        warnings.warn(
            f"kanvision: the fused Triton kernels failed ({_triton_failure}); KAN layers use the "
            "compiled expand instead (KANVISION_KERNEL=triton raises the error)"
        )


def kernel_path(layer: nn.Module, x: Tensor) -> str:
    """The path ``layer`` takes for channels-last input ``x``: triton, compile or eager."""
    from kanvision.layers.fused import compile_enabled

    setting = kernel_setting()
    if setting == "eager":
        return "eager"
    if setting == "triton" and x.device.type == "cpu" and not interpreting():
        raise KernelSettingError(
            "KANVISION_KERNEL=triton on the CPU needs Triton's interpreter: set TRITON_INTERPRET=1 "
            "(slow, for tests), or use KANVISION_KERNEL=compile"
        )
    wants_triton = setting == "triton" or (
        setting == "auto" and _triton_failure is None and _auto_prefers_triton(x)
    )
    if wants_triton and _triton_runs_on(x) and triton_covers(layer):
        return "triton"
    return "compile" if compile_enabled(x.device.type) else "eager"
