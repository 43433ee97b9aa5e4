"""Forward FLOPs of a model, with KAN layers counted by the work they really do.

``torch.utils.flop_counter`` counts the matmuls and convolutions, which covers the mix of every
KAN layer (a linear / conv over the expanded channels). The expand (base activation plus K basis
functions per input value) is elementwise, which the flop counter ignores; here every pointwise
op run inside a KAN layer counts one FLOP per output element, measured by running the layer
eagerly. Plain activations and norms are not counted, following the usual convention for CNNs
and ViTs. FLOPs count multiplies and adds separately (2 per multiply-accumulate), one image.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from kanvision.layers import KANLayer
from kanvision.layers.fused import eager_expand
from kanvision.models.registry import get_model_info

_COPIES = {torch.ops.aten.clone.default}  # layout copies, not arithmetic


def _attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


# torch's flop counter knows the CUDA attention kernels but not the fused CPU one, which
# scaled_dot_product_attention picks on some CPUs (AVX-512) and not on others (math path: bmm,
# counted): without this a ViT's count depends on the machine, and on AVX-512 misses attention.
_MISSING_FORMULAS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _attention_flops}


class _KANPointwiseCounter(TorchDispatchMode):
    """Counts output elements of pointwise ops while inside a KAN layer's forward."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.depth and torch.Tag.pointwise in func.tags and func not in _COPIES:
            self.flops += sum(t.numel() for t in tree_leaves(out) if isinstance(t, Tensor))
        return out


def native_input_size(model: nn.Module) -> tuple[int, int, int]:
    """The ``(C, H, W)`` a registered model was built for (its ``in_chans`` / ``img_size``)."""
    cfg = getattr(model, "kanvision_cfg", None)
    if cfg is None:
        raise ValueError("count_flops needs input_size for a model not built by create_model")
    chans, height, width = get_model_info(cfg["model"]).input_size
    args = cfg["args"]
    size = args.get("img_size")
    return (args.get("in_chans", chans), size or height, size or width)


@torch.no_grad()
def count_flops(model: nn.Module, input_size: Sequence[int] | None = None) -> int:
    """FLOPs of one forward pass on one image of ``input_size`` ``(C, H, W)`` (default: the
    model's native input). Works on models on the meta device too (no compute)."""
    size = tuple(input_size) if input_size is not None else native_input_size(model)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.zeros(1, *size, device=device)
    counter = _KANPointwiseCounter()

    def enter(*_):
        counter.depth += 1

    def leave(*_):
        counter.depth -= 1

    hooks = []
    for module in model.modules():
        if isinstance(module, KANLayer):
            hooks += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    was_training = model.training
    model.eval()
    try:
        with eager_expand(), FlopCounterMode(display=False, custom_mapping=_MISSING_FORMULAS) as matmuls, counter:
            model(x)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return matmuls.get_total_flops() + counter.flops
