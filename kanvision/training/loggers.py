"""Logger set-up: CSV, wandb and TensorBoard, selectable and combinable, in one run directory.

A run directory is ``<save_dir>/<dataset>-<model>-<kan>/version_<n>``. Resuming a run reuses its
directory: the CSV logger appends to ``metrics.csv`` (rows past the checkpoint's step, which the
resumed run will log again, are dropped), TensorBoard adds an event file, and wandb continues the
run with the same id.
"""

from __future__ import annotations

import csv
import netrc
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

WANDB_ID_FILE = "wandb-run-id"


@dataclass
class RunLogging:
    """Where runs go and how they are logged.

    Args:
        save_dir: runs are written to ``<save_dir>/<dataset>-<model>-<kan>/version_<n>``.
        csv: write ``metrics.csv`` (the record the results tables are built from).
        wandb: log to Weights & Biases (online if logged in, else offline in the run dir).
        tensorboard: write TensorBoard event files to ``<run dir>/tensorboard``.
        wandb_project: the wandb project name.
    """

    save_dir: str = "runs"
    csv: bool = True
    wandb: bool = True
    tensorboard: bool = False
    wandb_project: str = "kanvision"


def next_run_dir(save_dir: str | os.PathLike, run_name: str) -> Path:
    """``<save_dir>/<run_name>/version_<n>`` with the first unused n (not created)."""
    parent = Path(save_dir) / run_name
    used = [int(m.group(1)) for p in parent.glob("version_*") if (m := re.fullmatch(r"version_(\d+)", p.name))]
    return parent / f"version_{max(used, default=-1) + 1}"


class _AppendingWriter(ExperimentWriter):
    """CSV writer that keeps an existing ``metrics.csv`` (Lightning's deletes it), dropping the
    rows at or after ``resume_step``: the resumed run logs those steps again."""

    def __init__(self, log_dir: str, resume_step: int | None) -> None:
        self._resume_step = resume_step
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if not path.is_file():
            return None  # other loggers' files may already be in the run dir: nothing to delete
        if self._resume_step is None:
            return super()._check_log_dir_exists()
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            fields = list(reader.fieldnames or [])
            rows = [r for r in reader if not r.get("step") or int(float(r["step"])) < self._resume_step]
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        self.metrics_keys = fields
        return None


class RunCSVLogger(CSVLogger):
    """Lightning's CSV logger writing straight into the run directory, appending on resume."""

    def __init__(self, run_dir: Path, resume_step: int | None = None) -> None:
        super().__init__(str(run_dir.parent.parent), name=run_dir.parent.name, version=run_dir.name)
        self._resume_step = resume_step

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(self.log_dir, self._resume_step)
        return self._experiment


def wandb_logged_in() -> bool:
    """Whether wandb has credentials, checked without touching the network."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        rc = netrc.netrc(os.environ.get("NETRC") or Path.home() / ".netrc")
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False
    host = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai").split("://")[-1]
    return rc.authenticators(host) is not None


def _wandb_logger(cfg: RunLogging, run_dir: Path, config: dict) -> Logger:
    from lightning.pytorch.loggers import WandbLogger  # imports wandb lazily

    id_file = run_dir / WANDB_ID_FILE  # written by record_wandb_id once the run starts
    run_id = id_file.read_text().strip() if id_file.is_file() else secrets.token_hex(4)
    mode = os.environ.get("WANDB_MODE")
    offline = mode in ("offline", "dryrun") or (mode != "online" and not wandb_logged_in())
    return WandbLogger(
        project=cfg.wandb_project,
        name=f"{run_dir.parent.name}/{run_dir.name}",
        id=run_id,
        resume="allow",
        save_dir=str(run_dir),
        offline=offline,
        config=config,
    )


def build_loggers(
    cfg: RunLogging, run_dir: Path, config: dict, resume_step: int | None = None
) -> list[Logger]:
    """The loggers ``cfg`` selects, all writing into ``run_dir`` (``resume_step``: the global
    step of the checkpoint a resumed run starts from)."""
    loggers: list[Logger] = []
    if cfg.csv:
        loggers.append(RunCSVLogger(run_dir, resume_step))
    if cfg.tensorboard:
        loggers.append(
            TensorBoardLogger(str(run_dir.parent.parent), name=run_dir.parent.name,
                              version=run_dir.name, sub_dir="tensorboard", default_hp_metric=False)
        )
    if cfg.wandb:
        loggers.append(_wandb_logger(cfg, run_dir, config))
    return loggers


def record_wandb_id(loggers: list[Logger], run_dir: Path) -> None:
    """Write the wandb run id into the run directory, so a resumed run continues it."""
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger":
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / WANDB_ID_FILE).write_text(f"{logger._id}\n")


def wandb_run_dir(loggers: list[Logger]) -> str | None:
    """The local directory of the wandb run, if one was started."""
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger":
            return logger.experiment.dir.removesuffix("/files")
    return None


def finish_wandb(loggers: list[Logger]) -> None:
    """Close the wandb run so its summary and history are written to disk."""
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger" and logger._experiment is not None:
            logger.experiment.log({}, commit=True)  # write the last step's row (the test metrics)
            logger.experiment.finish()
