"""A Lightning callback that logs what a KAN learned while it trains (config ``inspect:``).

At the end of training, and every ``every_n_epochs`` epochs if set, it draws the edge-function
grid and the importance heatmap of the selected KAN layers on a batch of validation images,
saves them under ``<run dir>/inspect/epoch_<n>/`` and logs them as images to the active loggers
(wandb images, TensorBoard images).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_only
from PIL import Image

from kanvision.inspect.report import inspect_model


@dataclass
class InspectOptions:
    """The ``inspect:`` config section.

    Args:
        enabled: log function grids and importance heatmaps at the end of training.
        every_n_epochs: also every this many epochs (0: only at the end).
        layers: KAN layer names (module names, e.g. ``head``); default all.
        images: validation images used for the data ranges and importance.
    """

    enabled: bool = False
    every_n_epochs: int = 0
    layers: list[str] | None = None
    images: int = 256


class InspectCallback(Callback):
    """Draws and logs a KAN's edge functions and edge importance during training."""

    def __init__(self, options: InspectOptions, out_dir: str | Path) -> None:
        self.options = options
        self.out_dir = Path(out_dir)

    def _images(self, trainer: L.Trainer) -> torch.Tensor:
        batches, count = [], 0
        for x, _ in trainer.datamodule.val_dataloader():
            batches.append(x)
            count += x.shape[0]
            if count >= self.options.images:
                break
        return torch.cat(batches)[: self.options.images]

    @rank_zero_only
    def inspect(self, trainer: L.Trainer, pl_module: L.LightningModule, tag: str) -> list[Path]:
        net = copy.deepcopy(pl_module.net).cpu().float()  # inspect a CPU copy, training goes on
        folder = self.out_dir / tag
        result = inspect_model(net, self._images(trainer), folder, self.options.layers,
                               title=f"{pl_module.hparams.model} at {tag}")
        paths = [p for layer in result.layers for p in (layer.functions_plot, layer.importance_plot)]
        for logger in trainer.loggers:
            kind = type(logger).__name__
            for path in paths:
                key = f"inspect/{path.stem}"
                if kind == "WandbLogger":
                    logger.log_image(key=key, images=[str(path)], step=trainer.global_step)
                elif kind == "TensorBoardLogger":
                    image = np.asarray(Image.open(path).convert("RGB"))
                    logger.experiment.add_image(key, image, trainer.global_step, dataformats="HWC")
        return paths

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        n = self.options.every_n_epochs
        last = trainer.current_epoch + 1 >= (trainer.max_epochs or 0)
        if n > 0 and (trainer.current_epoch + 1) % n == 0 and not last:
            self.inspect(trainer, pl_module, f"epoch_{trainer.current_epoch:02d}")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.inspect(trainer, pl_module, f"epoch_{trainer.current_epoch - 1:02d}-end")
