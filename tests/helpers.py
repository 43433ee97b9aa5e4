"""Test helpers: tiny datasets in torchvision's MNIST on-disk format, and reference formulas."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
from lightning.pytorch.callbacks import Callback
from torch import Tensor

# the real datasets (MNIST, Fashion-MNIST, the offline CIFAR-10 copy) beside the checkout, or $KANVISION_DATA
SHARED_DATASETS = Path(os.environ.get("KANVISION_DATA", Path(__file__).resolve().parents[2] / "shared/datasets"))


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as an IDX file, the format of MNIST's raw files."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def make_tiny_mnist(root: Path, folder: str, n_train: int = 256, n_test: int = 64, seed: int = 0) -> Path:
    """Write a tiny learnable MNIST-format dataset (class k = a bright bar at row 2k+4) under
    ``root/folder/raw`` as torchvision's extracted raw files, so no download is attempted."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for img, label in zip(images, labels):
            img[2 * label + 4, 4:24] = 255
        write_idx(raw / f"{split}-images-idx3-ubyte", images)
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
    return root


def cox_de_boor(x: Tensor, knots: Tensor, order: int) -> Tensor:
    """All B-splines of degree ``order`` on ``knots`` at points x, by the Cox-de Boor recursion.

    x: (N,), knots: (M,) increasing; returns (N, M - order - 1)."""
    x = x[:, None]
    basis = ((x >= knots[:-1]) & (x < knots[1:])).to(x.dtype)
    for p in range(1, order + 1):
        left = (x - knots[: -(p + 1)]) / (knots[p:-1] - knots[: -(p + 1)]) * basis[:, :-1]
        right = (knots[p + 1 :] - x) / (knots[p + 1 :] - knots[1:-p]) * basis[:, 1:]
        basis = left + right
    return basis


def read_wandb_records(path: Path) -> dict[str, dict[str, object]]:
    """Logged ``history`` and ``summary`` values of an offline wandb run file (``run-*.wandb``).

    The file is a LevelDB-style log (7-byte W&B header, 32 KiB blocks of checksummed fragments)
    of ``Record`` protobufs, read here with wandb's own protobuf classes."""
    import json

    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", "not a wandb run file"
    block, pos, buffer, records = 32768, 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # block trailer too small for a header: padding
            pos += block - pos % block
            continue
        length = int.from_bytes(data[pos + 4 : pos + 6], "little")
        kind = data[pos + 6]
        payload = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        buffer = payload if kind in (1, 2) else buffer + payload
        if kind in (1, 4):
            records.append(buffer)
    found: dict[str, dict[str, object]] = {"history": {}, "summary": {}}
    for raw in records:
        record = pb.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            items = record.history.item
        elif kind == "summary":
            items = record.summary.update
        else:
            continue
        for item in items:
            key = item.key or "/".join(item.nested_key)
            found[kind][key] = json.loads(item.value_json)
    return found


class KillAtEpoch(Callback):
    """Kills the process (no clean-up, like SIGKILL) when ``epoch`` starts, to test resuming.
    Used from a config as ``helpers.KillAtEpoch``."""

    def __init__(self, epoch: int = 1) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch == self.epoch:
            os._exit(9)


class KillAfterSteps(Callback):
    """Kills the process (like SIGKILL: no clean-up) once ``steps`` optimizer steps are done,
    to test resuming from a mid-epoch checkpoint. Used from a config as
    ``helpers.KillAfterSteps``."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.steps:
            os._exit(9)


def shipped_weights(name: str) -> Path:
    """The local weights file of registry entry ``name`` (hosted ones downloaded into the cache).

    A hosted entry that cannot be downloaded here (CI has no internet) is skipped, with the
    reason; an entry in checkpoints/ whose file is missing fails."""
    import pytest

    import kanvision
    from kanvision.errors import CheckpointError

    cfg = kanvision.get_pretrained_cfg(name)
    try:
        return kanvision.models.pretrained_file(cfg)
    except CheckpointError as e:
        if cfg.get("url") and "could not download" in str(e):
            pytest.skip(f"hosted weights not reachable here: {e}")
        raise
