"""The LightningModule: builds a zoo model by name and trains it as an image classifier."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from timm.data import Mixup
from torch import Tensor
from torchmetrics import SumMetric
from torchmetrics.classification import MulticlassAccuracy

from kanvision.models import count_params, create_model, freeze_backbone
from kanvision.stats import wilson_interval
from kanvision.training.optim import (
    build_optimizer,
    build_schedule,
    check_schedule,
    optimizer_class,
)

STAGES = ("train", "val", "test")


class ImageClassifier(L.LightningModule):
    """Classifier around ``kanvision.create_model(model, kan=kan, **model_kwargs)``.

    Logs ``train/loss``, ``val/loss``, ``val/acc``, ``test/loss``, ``test/acc``, the number of test
    images ``test/images`` (what the accuracy's sampling margin depends on) and, once at the start
    of fit, ``params/total``, ``params/trainable`` and ``params/kan``. When the test batches
    carry a mask (``data.test_mask``, e.g. the offline CIFAR-10 copy's exact images), it also logs
    ``test/acc_exact`` on the marked images, its Wilson 95% interval ``test/acc_exact_ci95_low`` /
    ``_high`` and their number ``test/exact_images``.

    Args:
        model: registered model name (``kanvision.list_models()``).
        kan: basis family of the KAN layers, or ``"none"`` for the standard twin.
        model_kwargs: further builder options (e.g. ``{"grid_size": 8}``).
        num_classes, in_chans, img_size: set from the datamodule by the CLI (img_size None:
            the model's native size).
        optimizer: any ``torch.optim`` class by name (``AdamW``, ``SGD``, ...), built with
            ``lr``, ``weight_decay`` and ``optimizer_kwargs`` (e.g. ``{"momentum": 0.9}``).
        scheduler: learning-rate schedule over the whole run, stepped every optimizer step:
            ``onecycle`` (default), ``cosine`` (linear warm-up, cosine to ``min_lr_ratio * lr``),
            ``constant`` or ``none``; ``warmup_fraction`` of the steps warm up.
        label_smoothing: cross-entropy label smoothing.
        mixup, cutmix: timm Mixup / CutMix alphas for training batches (0 turns each off).
        reg_weight: weight of the KAN regularization added to the training loss: the sum of
            ``regularization_loss(l1=reg_l1, entropy=reg_entropy)`` over every module that has
            one (0 turns it off).
        pretrained: start from these weights (fine-tuning): a shipped entry ``<model>.<tag>``,
            ``hf-hub:owner/repo``, ``local-dir:PATH`` or a ``.safetensors`` file. A different
            ``num_classes`` gets a fresh classifier, a different ``in_chans`` an adapted first
            layer; every other weight is loaded.
        freeze: train only the classifier (the rest keeps its pretrained weights).
        channels_last: keep the network's 4-D weights and its image batches in channels-last
            memory order (timm's ``--channels-last``). Faster convolutions on CPUs (oneDNN) and
            on GPUs under mixed precision; the results are the same up to rounding, and saved
            weights are written in the usual contiguous order.
    """

    def __init__(
        self,
        model: str = "kan_convnet",
        kan: str = "bspline",
        model_kwargs: dict[str, Any] | None = None,
        num_classes: int = 10,
        in_chans: int = 1,
        img_size: int | None = None,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        optimizer: str = "AdamW",
        optimizer_kwargs: dict[str, Any] | None = None,
        scheduler: str = "onecycle",
        warmup_fraction: float = 0.1,
        min_lr_ratio: float = 0.0,
        label_smoothing: float = 0.0,
        mixup: float = 0.0,
        cutmix: float = 0.0,
        reg_weight: float = 0.0,
        reg_l1: float = 1.0,
        reg_entropy: float = 1.0,
        pretrained: str | None = None,
        freeze: bool = False,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        optimizer_class(optimizer)  # unknown names fail now, not after the data is loaded
        check_schedule(scheduler)
        self.mix = (
            Mixup(mixup_alpha=mixup, cutmix_alpha=cutmix, label_smoothing=label_smoothing,
                  num_classes=num_classes)
            if mixup > 0 or cutmix > 0
            else None
        )
        self.net = create_model(
            model,
            kan=kan,
            num_classes=num_classes,
            in_chans=in_chans,
            img_size=img_size,
            pretrained=pretrained or False,
            **(model_kwargs or {}),
        )
        if freeze:
            freeze_backbone(self.net)
        if channels_last:
            self.net.to(memory_format=torch.channels_last)
        self.metrics = torch.nn.ModuleDict(
            {f"{stage}_acc": MulticlassAccuracy(num_classes, average="micro") for stage in STAGES}
        )
        # correct / seen among the marked test images (summed over devices, then one interval)
        self.exact_correct, self.exact_seen = SumMetric(), SumMetric()
        self.test_seen = SumMetric()  # test images, summed over devices

    def forward(self, x: Tensor) -> Tensor:
        if self.hparams.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def param_counts(self) -> dict[str, int]:
        counts = count_params(self.net)
        return {f"params/{k}": v for k, v in counts._asdict().items()}

    def on_fit_start(self) -> None:
        for logger in self.loggers:
            logger.log_metrics(self.param_counts(), step=0)

    def _step(self, batch: tuple[Tensor, ...], stage: str) -> Tensor:
        x, y, *marked = batch  # a masked test set adds whether each image is marked
        target = y
        if stage == "train" and self.mix is not None and x.shape[0] % 2 == 0:
            x, target = self.mix(x, y)  # soft targets; accuracy stays against the true labels
        logits = self(x)
        loss = F.cross_entropy(logits, target, label_smoothing=0.0 if target is not y else self.hparams.label_smoothing)
        metric = self.metrics[f"{stage}_acc"]
        metric(logits, y)
        on_step = stage == "train"
        self.log(f"{stage}/loss", loss, on_step=on_step, on_epoch=not on_step, prog_bar=True)
        self.log(f"{stage}/acc", metric, on_step=False, on_epoch=True, prog_bar=stage != "train")
        if stage == "test":
            self.test_seen.update(y.numel())
        if marked:
            hits = logits.argmax(dim=1) == y
            self.exact_correct.update(hits[marked[0]].sum())
            self.exact_seen.update(marked[0].sum())
        return loss

    def regularization(self) -> Tensor:
        """Sum of ``regularization_loss`` over the modules that define it (no class list)."""
        terms = [
            m.regularization_loss(l1=self.hparams.reg_l1, entropy=self.hparams.reg_entropy)
            for m in self.net.modules()
            if callable(getattr(m, "regularization_loss", None))
        ]
        return torch.stack(terms).sum() if terms else torch.zeros((), device=self.device)

    def training_step(self, batch, batch_idx: int) -> Tensor:
        loss = self._step(batch, "train")
        if self.hparams.reg_weight:
            reg = self.regularization()
            self.log("train/reg", reg, on_step=True, on_epoch=False)
            loss = loss + self.hparams.reg_weight * reg
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "test")

    def on_test_epoch_end(self) -> None:
        """The number of test images; the accuracy on the marked ones and its Wilson 95%
        interval, when marked."""
        if self.test_seen.update_called:
            self.log("test/images", float(self.test_seen.compute()))
            self.test_seen.reset()
        if not self.exact_seen.update_called:
            return
        correct, seen = int(self.exact_correct.compute()), int(self.exact_seen.compute())
        self.exact_correct.reset()
        self.exact_seen.reset()
        if seen == 0:
            return
        low, high = wilson_interval(correct, seen)
        self.log_dict({"test/acc_exact": correct / seen, "test/acc_exact_ci95_low": low,
                       "test/acc_exact_ci95_high": high, "test/exact_images": float(seen)})

    def configure_optimizers(self):
        hp = self.hparams
        optimizer = build_optimizer(
            hp.optimizer, self.parameters(), hp.lr, hp.weight_decay, **(hp.optimizer_kwargs or {})
        )
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = build_schedule(hp.scheduler, optimizer, total, hp.warmup_fraction, hp.min_lr_ratio)
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
