"""``python train.py --config FILE``: LightningCLI that builds data + model + trainer and runs
fit, then tests the best checkpoint, exports the weights and prints a one-line summary."""

from __future__ import annotations

import difflib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from kanvision.data import ImageDataModule
from kanvision.errors import KanvisionError
from kanvision.runtime import tune_cpu_allocator
from kanvision.training.export import export_run
from kanvision.training.loggers import RunLogging, build_loggers, finish_wandb, wandb_run_dir
from kanvision.training.module import ImageClassifier


class OneLineErrorParser(LightningArgumentParser):
    """Reports a bad option or config value as one line naming the problem and the fix."""

    def error(self, message: str, ex: Exception | None = None):
        if not self.exit_on_error:
            return super().error(message, ex)
        problem = " ".join(line.strip() for line in message.strip().splitlines() if line.strip())
        problem = re.sub(r"\s+", " ", problem)
        fix = "run `python train.py --print_config` to see every valid key and its type"
        keys = re.findall(r'key "([\w.]+)"|--([\w.]+)', message)
        wrong = next((a or b for a, b in keys), None)
        known = list(self.get_defaults().keys())
        if wrong and wrong not in known:
            close = difflib.get_close_matches(wrong, known, n=1)
            if close:
                fix = f"did you mean '{close[0]}'? Or " + fix
        sys.stderr.write(f"error: {problem[:400]}. Fix: {fix}\n")
        sys.exit(2)


class KanvisionCLI(LightningCLI):
    """LightningCLI with kanvision's run layout, loggers and checkpointing built in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parser_class", OneLineErrorParser)
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.link_arguments("data.in_chans", "model.in_chans", apply_on="instantiate")
        parser.link_arguments("data.img_size", "model.img_size", apply_on="instantiate")
        parser.add_class_arguments(RunLogging, "logging")
        parser.add_argument(
            "--ckpt_path",
            type=str | None,
            default=None,
            help="Resume training from this Lightning checkpoint ('last' = the run's last.ckpt).",
        )

    def run_name(self) -> str:
        return f"{self.datamodule.info.name}-{self.model.hparams.model}-{self.model.hparams.kan}"

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list) -> Any:
        logging_cfg: RunLogging = self._get(self.config_init, "logging")
        plain_config = self.parser.dump(self.config, format="json")
        self.loggers = build_loggers(logging_cfg, self.run_name(), json.loads(plain_config))
        self.run_dir = Path(self.loggers[0].log_dir)
        config["logger"] = self.loggers
        config.setdefault("default_root_dir", str(self.run_dir))
        self.checkpoint = ModelCheckpoint(
            dirpath=self.run_dir / "checkpoints",
            filename="best-{epoch:02d}",
            monitor="val/acc",
            mode="max",
            save_last=True,
            auto_insert_metric_name=False,
        )
        callbacks = [*callbacks, self.checkpoint]
        return super()._instantiate_trainer(config, callbacks)


def _resume_path(ckpt_path: str | None, cli: KanvisionCLI) -> str | None:
    if ckpt_path != "last":
        return ckpt_path
    runs = sorted(cli.run_dir.parent.glob("version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise KanvisionError(
            f"--ckpt_path last: no last.ckpt under '{cli.run_dir.parent}'; pass the path of a checkpoint"
        )
    return str(runs[-1])


def run(args: list[str] | None = None) -> dict[str, Any]:
    """Parse ``args`` (default: ``sys.argv``), train, test the best checkpoint, export weights."""
    cli = KanvisionCLI(ImageClassifier, ImageDataModule, run=False, args=args)
    trainer, model, data = cli.trainer, cli.model, cli.datamodule
    if cli.config.get("print_config"):
        return {}
    start = time.perf_counter()
    trainer.fit(model, datamodule=data, ckpt_path=_resume_path(cli.config.ckpt_path, cli))
    wall = time.perf_counter() - start
    best = cli.checkpoint.best_model_path or None
    results = trainer.test(model, datamodule=data, ckpt_path=best, weights_only=False)
    test_acc = results[0].get("test/acc") if results else None
    weights = None
    if not trainer.fast_dev_run:
        weights = export_run(
            model.net,
            cli.run_dir,
            data=data.info,
            test_acc=test_acc,
            epochs=trainer.current_epoch,
            wall_time_s=wall,
            accelerator=type(trainer.accelerator).__name__.lower().removesuffix("accelerator"),
            extra={"best_checkpoint": Path(best).name if best else None},
        )
    counts = model.param_counts()
    summary = {
        "model": model.hparams.model,
        "kan": model.hparams.kan,
        "params": counts["params/total"],
        "test_acc": test_acc,
        "run_dir": str(cli.run_dir),
        "weights": str(weights) if weights else None,
        "wandb_dir": wandb_run_dir(cli.loggers),
    }
    acc = f"{100 * test_acc:.2f}%" if test_acc is not None else "n/a"
    print(
        f"kanvision | model={summary['model']} kan={summary['kan']} params={summary['params']:,} "
        f"test/acc={acc} run_dir={summary['run_dir']}"
    )
    finish_wandb(cli.loggers)
    if summary["wandb_dir"] and getattr(cli.loggers[-1], "_offline", False):
        print(f"wandb ran offline; upload with: wandb sync {summary['wandb_dir']}")
    return summary


def main(args: list[str] | None = None) -> None:
    """Entry point: bad input ends with a one-line ``error:`` message and exit status 2."""
    tune_cpu_allocator()
    try:
        run(args)
    except KanvisionError as e:
        sys.stderr.write(f"error: {e}\n")
        sys.exit(2)
