"""Logger set-up: a CSV logger always, wandb online when logged in and offline otherwise."""

from __future__ import annotations

import netrc
import os
from dataclasses import dataclass
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger, Logger


@dataclass
class RunLogging:
    """Where runs go and how they are logged.

    Args:
        save_dir: runs are written to ``<save_dir>/<dataset>-<model>-<kan>/version_<n>``.
        wandb: also log to Weights & Biases (online if logged in, else offline in the run dir).
        wandb_project: the wandb project name.
    """

    save_dir: str = "runs"
    wandb: bool = True
    wandb_project: str = "kanvision"


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


def build_loggers(cfg: RunLogging, run_name: str, config: dict) -> list[Logger]:
    """A CSV logger (defines the run directory) and, if enabled, a wandb logger in it."""
    csv = CSVLogger(cfg.save_dir, name=run_name)
    loggers: list[Logger] = [csv]
    if cfg.wandb:
        from lightning.pytorch.loggers import WandbLogger  # imports wandb lazily

        mode = os.environ.get("WANDB_MODE")
        offline = mode in ("offline", "dryrun") or (mode != "online" and not wandb_logged_in())
        _ = csv.experiment  # creates the run directory while it is still empty
        loggers.append(
            WandbLogger(
                project=cfg.wandb_project,
                name=f"{run_name}/{Path(csv.log_dir).name}",
                save_dir=csv.log_dir,
                offline=offline,
                config=config,
            )
        )
    return loggers


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
