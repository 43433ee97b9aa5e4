"""A short fine-tuning loop, to recover accuracy after pruning (no Lightning run needed)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import cycle, islice

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def finetune(
    model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]], steps: int, lr: float = 1e-3,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """``steps`` AdamW steps of cross-entropy on ``batches`` (cycled), then eval mode. Zeroed
    edges may grow back; removed inputs stay removed."""
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    for x, y in islice(cycle(batches), steps):
        loss = F.cross_entropy(model(x.to(device)), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()
