"""Fine-tuning: carry pretrained weights into a model with another classifier or input channels.

``create_model(name, pretrained=..., num_classes=N, in_chans=C)`` builds the model it is asked
for, then copies every weight of the pretrained one into it, as timm does:

- the classifier (the model's ``head``) keeps its fresh initialisation when its shape changed;
- the first layer's input channels are summed (to 1 channel) or repeated and scaled by
  ``old / new`` (to more), so a grey image repeated on every channel gives the same output.
  A KAN layer's inputs are per expanded channel (``[group][function][channel]``), and its basis
  keeps per-channel state (a B-spline's ``grid_lo`` / ``grid_step``), so both are adapted per
  channel. Summing to one channel is exact where the channels share one grid (the case unless
  ``update_grid`` was called; the grid of one channel is then their mean).

Any other weight whose shape differs is an error naming it: such a checkpoint is for another
architecture.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from kanvision.errors import CheckpointError
from kanvision.layers.kan_layer import KANLayer

log = logging.getLogger(__name__)

CLASSIFIER = "head"  # every zoo model's classifier, as timm's pretrained_cfg["classifier"]


def classifier_keys(model: nn.Module) -> set[str]:
    """State-dict keys of the model's classifier (empty when it has none, e.g. ``num_classes=0``)."""
    head = getattr(model, CLASSIFIER, None)
    if not isinstance(head, nn.Module):
        return set()
    return {f"{CLASSIFIER}.{k}" for k, _ in head.named_parameters()}


def _channel_map(old: int, new: int) -> tuple[Tensor, float]:
    """Source channel of each new channel, and the scale that keeps a repeated image's output."""
    return torch.arange(new) % old, old / new


def _adapt_per_channel(t: Tensor, old: int, new: int, reduce: str) -> Tensor:
    """Rows of a per-channel tensor for ``new`` channels: summed / averaged to 1, else repeated."""
    if new == 1:
        return t.sum(0, keepdim=True) if reduce == "sum" else t.mean(0, keepdim=True)
    index, scale = _channel_map(old, new)
    return t[index] * (scale if reduce == "sum" else 1.0)


def _adapt_kan(layer: KANLayer, target: KANLayer, new: int) -> dict[str, Tensor]:
    """A KAN layer's state for ``new`` input channels: edge coefficients summed or repeated and
    scaled per channel, per-channel basis state (grids) averaged or repeated; basis state shared
    across channels (a rational basis' group functions) is kept where its shape is unchanged."""
    if layer.groups != 1 or layer.input_index is not None:
        raise CheckpointError(
            "cannot change the input channels of a grouped or pruned KAN first layer: keep in_chans "
            "as saved, or convert the images to its channels"
        )
    old = layer.basis.in_features
    out = copy.deepcopy(layer)
    kernel = tuple(layer.mix.weight.shape[2:])
    with torch.no_grad():
        coef = _adapt_per_channel(layer._per_channel_coefficients(), old, new, "sum")
        out._set_per_channel_coefficients(coef, kernel)
        wanted = target.basis.state_dict()
        for name, t in [*out.basis.named_parameters(recurse=False), *out.basis.named_buffers(recurse=False)]:
            if t is not None and t.dim() > 0 and t.shape[0] == old and wanted[name].shape != t.shape:
                value = _adapt_per_channel(t, old, new, "mean")
                setattr(out.basis, name, nn.Parameter(value) if isinstance(t, nn.Parameter) else value)
    return out.state_dict()


def _adapt_conv(conv: nn.Module, target: nn.Module, new: int) -> dict[str, Tensor]:
    """A plain conv's state for ``new`` input channels (timm's ``adapt_input_conv``)."""
    if conv.groups != 1:
        raise CheckpointError("cannot change the input channels of a grouped first conv: keep in_chans as saved")
    w = conv.weight.detach()
    weight = _adapt_per_channel(w.transpose(0, 1), w.shape[1], new, "sum").transpose(0, 1)
    return {**conv.state_dict(), "weight": weight.contiguous()}


# layer type -> its input-channel adapter; the first match in order wins (KAN layers hold convs)
# (source layer, target layer, new input channels) -> the target layer's state
INPUT_ADAPTERS: dict[type[nn.Module], Callable[[nn.Module, nn.Module, int], dict[str, Tensor]]] = {
    KANLayer: _adapt_kan,
    nn.modules.conv._ConvNd: _adapt_conv,
}


def _owner(model: nn.Module, key: str) -> tuple[str, nn.Module] | None:
    """The outermost module holding ``key`` that an input adapter knows, with its name."""
    parts = key.split(".")
    for depth in range(1, len(parts)):
        name = ".".join(parts[:depth])
        module = model.get_submodule(name)
        if any(isinstance(module, kind) for kind in INPUT_ADAPTERS):
            return name, module
    return None


def _adapter(module: nn.Module) -> Callable[[nn.Module, nn.Module, int], dict[str, Tensor]]:
    return next(fn for kind, fn in INPUT_ADAPTERS.items() if isinstance(module, kind))


def model_arg(model: nn.Module, key: str) -> Any:
    """A constructor argument of a zoo model: as recorded, else its builder's default."""
    from kanvision.models.registry import model_entrypoint

    args = model.kanvision_cfg["args"]
    if key in args:
        return args[key]
    return inspect.signature(model_entrypoint(model.kanvision_cfg["model"])).parameters[key].default


def transfer_weights(source: nn.Module, target: nn.Module) -> list[str]:
    """Load ``source``'s weights into ``target`` (same architecture, possibly another
    ``num_classes`` / ``in_chans``); returns the classifier keys left freshly initialised."""
    src, tgt = source.state_dict(), target.state_dict()
    name = target.kanvision_cfg["model"]
    src_chans, tgt_chans = model_arg(source, "in_chans"), model_arg(target, "in_chans")
    src_classes, tgt_classes = model_arg(source, "num_classes"), model_arg(target, "num_classes")
    head = classifier_keys(target) | classifier_keys(source)
    if src_classes != tgt_classes and not (classifier_keys(source) and classifier_keys(target)):
        raise CheckpointError(
            f"{name} with num_classes={src_classes if not classifier_keys(source) else tgt_classes} "
            "has no classifier to reset: keep num_classes as saved "
            f"({src_classes}), or add a head on top of the model's features yourself"
        )
    state, fresh, adapted = {}, [], set()
    for key, value in tgt.items():
        if key in src and src[key].shape == value.shape:
            state[key] = src[key]
        elif key in head:
            state[key] = value
            fresh.append(key)
        elif (owner := _owner(target, key)) and src_chans != tgt_chans:
            layer_name, _ = owner
            if layer_name not in adapted:
                layer = target.get_submodule(layer_name)
                layer_state = _adapter(layer)(source.get_submodule(layer_name), layer, tgt_chans)
                state.update({f"{layer_name}.{k}": v for k, v in layer_state.items()})
                adapted.add(layer_name)
        else:
            have = tuple(src[key].shape) if key in src else "missing"
            raise CheckpointError(
                f"the pretrained checkpoint does not fit this model ({name}: '{key}' is {have} in the "
                f"weights, {tuple(value.shape)} here): "
                "build the model with the arguments it was saved with (only num_classes and "
                "in_chans can change)"
            )
    unexpected = sorted(set(src) - set(tgt) - head)
    if unexpected:
        raise CheckpointError(
            f"the pretrained checkpoint does not fit this model ({name} lacks {unexpected[:4]}): build it with "
            "the arguments it was saved with"
        )
    wrong = [k for k, v in tgt.items() if state[k].shape != v.shape]
    if wrong:
        raise CheckpointError(
            f"the pretrained checkpoint does not fit this model ({name}: {wrong[:4]} cannot be adapted to "
            f"in_chans={tgt_chans}): keep in_chans as saved ({src_chans})"
        )
    target.load_state_dict(state, strict=True)
    note = [f"the classifier ({', '.join(fresh)}) is new for {tgt_classes} classes"] if fresh else []
    if adapted:
        note.append(f"{', '.join(sorted(adapted))} adapted from {src_chans} to {tgt_chans} input channels")
    if note:
        log.info("%s: loaded the pretrained weights; %s", name, "; ".join(note))
    return fresh


def freeze_backbone(model: nn.Module) -> int:
    """Train only the classifier: every other parameter stops requiring gradients; returns the
    number of trainable parameters left (an error if the model has no classifier)."""
    head = classifier_keys(model)
    if not head:
        raise CheckpointError(
            f"{model.kanvision_cfg['model']} has no classifier to train alone: drop model.freeze"
        )
    for key, p in model.named_parameters():
        p.requires_grad_(key in head)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
