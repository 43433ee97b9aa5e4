"""``--ckpt_path last`` finds where a run stopped (:func:`kanvision.training.resume.find_resume`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from kanvision.errors import CheckpointError
from kanvision.training.resume import find_resume


def save(path: Path, step: int, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {}, "global_step": step}, path)
    os.utime(path, (mtime, mtime))


@pytest.mark.parametrize(("plain_step", "versioned_step"), [(200, 352), (400, 352)])
def test_last_is_the_newer_of_the_step_and_epoch_checkpoints(tmp_path, plain_step, versioned_step):
    # the every-N-steps callback and the end-of-epoch one both keep a "last": Lightning names the
    # second last-v1.ckpt, and the one saved later is where the run stopped
    checkpoints = tmp_path / "version_0" / "checkpoints"
    save(checkpoints / "last.ckpt", plain_step, 1_000 + plain_step)
    save(checkpoints / "last-v1.ckpt", versioned_step, 1_000 + versioned_step)
    save(checkpoints / "best-00.ckpt", 999, 9_999)  # a best checkpoint is never resumed from
    resume = find_resume("last", tmp_path)
    assert resume.global_step == max(plain_step, versioned_step)
    assert resume.path.name == ("last-v1.ckpt" if versioned_step > plain_step else "last.ckpt")


def test_last_takes_the_newest_version(tmp_path):
    save(tmp_path / "version_0" / "checkpoints" / "last.ckpt", 500, 2_000)
    save(tmp_path / "version_1" / "checkpoints" / "last.ckpt", 10, 3_000)
    assert find_resume("last", tmp_path).path.parts[-3] == "version_1"


def test_no_last_checkpoint_is_one_line_error(tmp_path):
    save(tmp_path / "version_0" / "checkpoints" / "best-00.ckpt", 1, 1_000)
    with pytest.raises(CheckpointError, match="no last.ckpt under"):
        find_resume("last", tmp_path)


def test_a_newest_checkpoint_cut_short_falls_back_to_the_one_before(tmp_path):
    # a process killed while writing its checkpoint leaves a truncated newest file
    checkpoints = tmp_path / "version_0" / "checkpoints"
    save(checkpoints / "last-v1.ckpt", 352, 1_352)
    save(checkpoints / "last.ckpt", 400, 1_400)
    whole = (checkpoints / "last.ckpt").read_bytes()
    (checkpoints / "last.ckpt").write_bytes(whole[: len(whole) // 2])
    os.utime(checkpoints / "last.ckpt", (1_400, 1_400))
    with pytest.warns(UserWarning, match="is corrupt .* resuming from the one before it"):
        resume = find_resume("last", tmp_path)
    assert resume.path.name == "last-v1.ckpt" and resume.global_step == 352


def test_every_last_checkpoint_corrupt_is_one_line_error(tmp_path):
    (tmp_path / "version_0" / "checkpoints").mkdir(parents=True)
    (tmp_path / "version_0" / "checkpoints" / "last.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="is corrupt or not a PyTorch checkpoint"):
        find_resume("last", tmp_path)
