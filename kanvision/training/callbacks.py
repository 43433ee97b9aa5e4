"""Callbacks that every kanvision run gets: epoch time, training throughput and the run's clock."""

from __future__ import annotations

import time

import lightning as L
from lightning.pytorch.callbacks import Callback


class EpochThroughput(Callback):
    """Logs ``time/epoch_s`` (wall time of the training epoch, validation excluded) and
    ``time/train_images_per_s`` (images per second over all devices) at each epoch end.

    A run resumed from a mid-epoch checkpoint does not start that epoch again (Lightning skips
    ``on_train_epoch_start``), so its first epoch is timed from the resume over the batches it
    ran: it logs the throughput of that part and no epoch time, which would be a fraction of one.
    """

    def __init__(self) -> None:
        self._start = 0.0
        self._images = 0
        self._whole_epoch = False

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()
        self._images = 0
        self._whole_epoch = False  # until an epoch starts in this session

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()
        self._images = 0
        self._whole_epoch = True

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self._images += int(batch[0].shape[0])

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seconds = time.perf_counter() - self._start
        images = self._images * trainer.world_size
        metrics = {"time/train_images_per_s": images / max(seconds, 1e-9)}
        if self._whole_epoch:
            metrics["time/epoch_s"] = seconds
        pl_module.log_dict(metrics, on_epoch=True, sync_dist=False, rank_zero_only=True)


class TrainingClock(Callback):
    """The fit time of a run summed over its sessions: a run killed and resumed with
    ``--ckpt_path`` records the time up to its checkpoint plus the time after the resume.

    The elapsed time and the session count are saved in every checkpoint (Lightning keeps a
    callback's ``state_dict`` there), so the ``wall_time_s`` a run exports is its whole training
    time, not just that of its last process. Work done after the last checkpoint of a killed
    session is lost, and so is its time.

    Not a subclass of Lightning's ``Timer``, which keeps a similar clock: a ``Timer`` in the
    callback list makes the Trainer ignore ``--trainer.max_time``."""

    def __init__(self) -> None:
        self.previous_s = 0.0
        self.sessions = 0
        self._start: float | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()
        self.sessions += 1

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.previous_s, self._start = self.elapsed_s(), None  # the clock stops with the fit

    def elapsed_s(self) -> float:
        """Seconds of fitting so far, earlier sessions included."""
        running = time.perf_counter() - self._start if self._start is not None else 0.0
        return self.previous_s + running

    def state_dict(self) -> dict[str, float]:
        return {"elapsed_s": self.elapsed_s(), "sessions": self.sessions}

    def load_state_dict(self, state_dict: dict[str, float]) -> None:
        # Most strategies restore callbacks before on_fit_start, some after it: count this
        # session either way.
        self.previous_s = float(state_dict["elapsed_s"])
        self.sessions = int(state_dict["sessions"]) + (self._start is not None)
