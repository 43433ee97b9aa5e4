"""Optimizers (any ``torch.optim`` class, by name) and learning-rate schedules, from config.

Schedules are registered by name and stepped every optimizer step:

- ``onecycle``: ``torch.optim.lr_scheduler.OneCycleLR`` (warm-up, then cosine decay; for Adam-type
  optimizers it also cycles beta1). The default, used by the shipped runs.
- ``cosine``: linear warm-up from 0, then cosine decay to ``min_lr_ratio * lr``.
- ``constant``: linear warm-up, then constant.
- ``none``: the optimizer's learning rate throughout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

from kanvision.errors import unknown_name

# (optimizer, total steps, warm-up fraction, min lr ratio) -> scheduler
ScheduleBuilder = Callable[[Optimizer, int, float, float], LRScheduler | None]
_SCHEDULES: dict[str, ScheduleBuilder] = {}


def _optimizer_classes() -> dict[str, type[Optimizer]]:
    return {
        name: cls
        for name in dir(torch.optim)
        if isinstance(cls := getattr(torch.optim, name), type) and issubclass(cls, Optimizer)
        and cls is not Optimizer
    }


def optimizer_class(name: str) -> type[Optimizer]:
    """The ``torch.optim`` class called ``name`` (case-insensitive, ``torch.optim.`` optional)."""
    classes = _optimizer_classes()
    by_lower = {k.lower(): v for k, v in classes.items()}
    key = name.removeprefix("torch.optim.").lower()
    if key not in by_lower:
        raise unknown_name("optimizer", name, classes, "any torch.optim class, e.g. AdamW or SGD")
    return by_lower[key]


def build_optimizer(
    name: str, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float, **kwargs
) -> Optimizer:
    """``torch.optim.<name>(params, lr=lr, weight_decay=weight_decay, **kwargs)``."""
    return optimizer_class(name)(params, lr=lr, weight_decay=weight_decay, **kwargs)


def register_schedule(name: str) -> Callable[[ScheduleBuilder], ScheduleBuilder]:
    def register(fn: ScheduleBuilder) -> ScheduleBuilder:
        _SCHEDULES[name] = fn
        return fn

    return register


def list_schedules() -> list[str]:
    return sorted(_SCHEDULES)


def check_schedule(name: str) -> str:
    if name not in _SCHEDULES:
        raise unknown_name("scheduler", name, _SCHEDULES, "set model.scheduler to one of them")
    return name


def build_schedule(
    name: str, optimizer: Optimizer, total_steps: int, warmup_fraction: float, min_lr_ratio: float
) -> LRScheduler | None:
    """The schedule ``name`` over ``total_steps`` optimizer steps (None for ``none``)."""
    return _SCHEDULES[check_schedule(name)](optimizer, max(total_steps, 1), warmup_fraction, min_lr_ratio)


@register_schedule("onecycle")
def _onecycle(optimizer: Optimizer, total: int, warmup: float, min_lr_ratio: float) -> LRScheduler:
    lrs = [group["lr"] for group in optimizer.param_groups]
    return OneCycleLR(optimizer, max_lr=lrs, total_steps=total, pct_start=warmup)


@register_schedule("cosine")
def _cosine(optimizer: Optimizer, total: int, warmup_fraction: float, min_lr_ratio: float) -> LRScheduler:
    warmup = round(warmup_fraction * total)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)


@register_schedule("constant")
def _constant(optimizer: Optimizer, total: int, warmup_fraction: float, min_lr_ratio: float) -> LRScheduler:
    warmup = round(warmup_fraction * total)
    return LambdaLR(optimizer, lambda step: min((step + 1) / warmup, 1.0) if warmup else 1.0)


@register_schedule("none")
def _none(optimizer: Optimizer, total: int, warmup_fraction: float, min_lr_ratio: float) -> None:
    return None
