"""Fused kernels for KAN layers and the dispatch that picks one per layer and device.

``kernel_path(layer, x)`` says which path a layer takes (``triton``, ``compile`` or ``eager``);
``use_kernel(path)`` or ``$KANVISION_KERNEL`` forces one. The Triton kernels themselves live in
``kanvision.kernels.triton_linear`` and are imported only when a layer takes that path.
"""

from kanvision.kernels.dispatch import (
    PATHS,
    KernelSettingError,
    kernel_path,
    kernel_setting,
    triton_covers,
    use_kernel,
)
from kanvision.kernels.spec import KernelBasis

__all__ = [
    "PATHS",
    "KernelBasis",
    "KernelSettingError",
    "kernel_path",
    "kernel_setting",
    "triton_covers",
    "use_kernel",
]
