"""Resuming runs: find the checkpoint and run directory, and check the checkpoint fits the model
before anything is written."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from kanvision.errors import CheckpointError

RUN_DIR_ENV = "KANVISION_RUN_DIR"  # lets DDP worker processes share rank 0's run directory
_IDENTITY_KEYS = ("model", "kan", "num_classes", "in_chans")
LAST_CHECKPOINTS = "version_*/checkpoints/last*.ckpt"  # last.ckpt, last-v1.ckpt (see find_resume)


@dataclass(frozen=True)
class ResumePoint:
    """A checkpoint to resume from, its run directory (None: outside any run) and step."""

    path: Path
    run_dir: Path | None
    global_step: int
    checkpoint: dict = field(repr=False, compare=False)


def _run_dir_of(checkpoint: Path) -> Path | None:
    """``<run>/checkpoints/x.ckpt`` -> ``<run>``, if that looks like a kanvision run directory."""
    run_dir = checkpoint.resolve().parent.parent
    if checkpoint.resolve().parent.name == "checkpoints" and (run_dir / "config.yaml").is_file():
        return run_dir
    return None


def load_lightning_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict, or a one-line error for a missing or corrupt file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist: check the path (or use --ckpt_path last)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001  (any unpickling failure means the file is unusable)
        raise CheckpointError(
            f"checkpoint '{path}' is corrupt or not a PyTorch checkpoint ({type(e).__name__}): "
            "use a .ckpt written by train.py (runs/<run>/checkpoints/)"
        ) from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(
            f"checkpoint '{path}' is not a Lightning checkpoint (no state_dict): "
            "use a .ckpt written by train.py, or load .safetensors weights with create_model"
        )
    return ckpt


def check_fits(resume: ResumePoint, module: nn.Module, hparams: dict) -> None:
    """Raise a one-line error if the checkpoint was made for another model or shape."""
    ckpt, path = resume.checkpoint, resume.path
    saved = ckpt.get("hyper_parameters", {})
    differs = [k for k in _IDENTITY_KEYS if k in saved and saved[k] != hparams.get(k)]
    if differs:
        theirs = " ".join(f"{k}={saved[k]}" for k in differs)
        ours = " ".join(f"{k}={hparams.get(k)}" for k in differs)
        raise CheckpointError(
            f"checkpoint '{path}' was trained with {theirs} but this run has {ours}: "
            "use the config it was trained with, or start without --ckpt_path"
        )
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in ckpt["state_dict"].items()}
    bad = sorted(k for k in expected.keys() & got.keys() if expected[k] != got[k])
    missing = sorted(expected.keys() - got.keys())
    if bad or missing:
        what = f"shape of '{bad[0]}' {got[bad[0]]} != {expected[bad[0]]}" if bad else f"no '{missing[0]}'"
        raise CheckpointError(
            f"checkpoint '{path}' does not fit this model ({what}): use the config it was trained with"
        )


def find_resume(ckpt_path: str | None, runs_parent: Path) -> ResumePoint | None:
    """Where ``--ckpt_path`` resumes from: ``last`` is the newest last checkpoint under
    ``runs_parent`` (``<save_dir>/<dataset>-<model>-<kan>``); a path is used as given.

    A run keeps two: the every-N-steps checkpoint and the end-of-epoch one, which Lightning names
    ``last.ckpt`` and ``last-v1.ckpt`` (whichever callback saved first has the plain name). The
    newer of them is where the run stopped, as Lightning's own ``ckpt_path="last"`` picks it.
    A process killed while writing it can leave the newest one cut short: then the one before it
    is used, with a warning, so the run loses at most one checkpoint's steps rather than stopping."""
    if ckpt_path is None:
        return None
    if ckpt_path == "last":
        path, ckpt = _newest_last(runs_parent)
    else:
        path, ckpt = Path(ckpt_path), load_lightning_checkpoint(ckpt_path)
    return ResumePoint(path, _run_dir_of(path), int(ckpt.get("global_step", 0)), ckpt)


def _newest_last(runs_parent: Path) -> tuple[Path, dict]:
    """The newest readable last checkpoint under ``runs_parent`` and its contents (see find_resume)."""
    found = sorted(runs_parent.glob(LAST_CHECKPOINTS), key=lambda p: p.stat().st_mtime, reverse=True)
    if not found:
        raise CheckpointError(
            f"--ckpt_path last: no last.ckpt under '{runs_parent}': pass the path of a checkpoint, "
            "or check logging.save_dir and the model/data of the config"
        )
    first_error: CheckpointError | None = None
    for path in found:
        try:
            ckpt = load_lightning_checkpoint(path)
        except CheckpointError as error:
            first_error = first_error or error
            continue
        if first_error is not None:
            warnings.warn(f"{first_error} -- resuming from the one before it, '{path}'", stacklevel=3)
        return path, ckpt
    raise first_error
