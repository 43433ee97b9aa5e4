"""Callbacks that every kanvision run gets: epoch time and training throughput."""

from __future__ import annotations

import time

import lightning as L
from lightning.pytorch.callbacks import Callback


class EpochThroughput(Callback):
    """Logs ``time/epoch_s`` (wall time of the training epoch, validation excluded) and
    ``time/train_images_per_s`` (images per second over all devices) at each epoch end."""

    def __init__(self) -> None:
        self._start = 0.0
        self._images = 0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()
        self._images = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self._images += int(batch[0].shape[0])

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seconds = time.perf_counter() - self._start
        images = self._images * trainer.world_size
        pl_module.log_dict(
            {"time/epoch_s": seconds, "time/train_images_per_s": images / max(seconds, 1e-9)},
            on_epoch=True,
            sync_dist=False,
            rank_zero_only=True,
        )
