"""``python train.py --config FILE``: LightningCLI that builds data + model + trainer and runs
fit, then tests the best checkpoint, exports the weights and prints a one-line summary."""

from __future__ import annotations

import csv
import difflib
import itertools
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from lightning.pytorch.callbacks import EMAWeightAveraging, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from kanvision.data import ImageDataModule
from kanvision.data.offline import file_md5
from kanvision.errors import KanvisionError
from kanvision.inspect.callback import InspectCallback, InspectOptions
from kanvision.layers import set_recompute_expand
from kanvision.models import twin_arguments
from kanvision.runtime import run_cli
from kanvision.training.callbacks import EpochThroughput, TrainingClock
from kanvision.training.export import export_run
from kanvision.training.loggers import (
    RunLogging,
    build_loggers,
    finish_wandb,
    next_run_dir,
    record_wandb_id,
    wandb_run_dir,
)
from kanvision.training.module import ImageClassifier
from kanvision.training.options import TrainingOptions
from kanvision.training.resume import RUN_DIR_ENV, check_fits, find_resume


class OneLineErrorParser(LightningArgumentParser):
    """Reports a bad option or config value as one line naming the problem and the fix."""

    def error(self, message: str, ex: Exception | None = None):
        if not self.exit_on_error:
            return super().error(message, ex)
        if isinstance(ex, KanvisionError) or isinstance(getattr(ex, "__cause__", None), KanvisionError):
            err = ex if isinstance(ex, KanvisionError) else ex.__cause__
            sys.stderr.write(f"error: {err}\n")
            sys.exit(2)
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
    """LightningCLI with kanvision's run layout, loggers, checkpointing and resume built in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parser_class", OneLineErrorParser)
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.link_arguments("data.in_chans", "model.in_chans", apply_on="instantiate")
        parser.link_arguments("data.img_size", "model.img_size", apply_on="instantiate")
        parser.add_class_arguments(RunLogging, "logging")
        parser.add_class_arguments(TrainingOptions, "training")
        parser.add_class_arguments(InspectOptions, "inspect")
        parser.add_argument(
            "--ckpt_path",
            type=str | None,
            default=None,
            help="Resume training from this Lightning checkpoint ('last' = the run's last.ckpt); "
            "the run continues in the checkpoint's run directory.",
        )
        parser.add_argument(
            "--twin",
            type=Literal["standard", "matched"] | None,
            default=None,
            help="Train the config's KAN model as its standard twin (plain layers, same widths) "
            "or its parameter-matched twin (plain layers widened to the KAN model's parameter "
            "count); the run's saved config is the twin's own.",
        )

    def before_instantiate_classes(self) -> None:
        """``--twin``: rewrite the model section into the twin's before anything is built, so the
        saved config, the logs and the exported weights all describe the twin itself."""
        twin = self.config.get("twin")
        if twin is None:
            return
        model = self.config.model
        model.kan, model.model_kwargs = twin_arguments(model.model, model.kan, model.model_kwargs or {}, twin)
        self.config.twin = None  # the saved config is a plain twin recipe: re-running it is the twin

    def run_name(self) -> str:
        return f"{self.datamodule.info.name}-{self.model.hparams.model}-{self.model.hparams.kan}"

    def _choose_run_dir(self, save_dir: str) -> Path:
        """Resume in the checkpoint's run dir, join rank 0's (DDP workers), or start a new one.
        The checkpoint is checked against the model first, so bad input writes nothing."""
        self.resume = find_resume(self.config.ckpt_path, Path(save_dir) / self.run_name())
        if self.resume is not None:
            check_fits(self.resume, self.model, dict(self.model.hparams))
        if os.environ.get(RUN_DIR_ENV):
            return Path(os.environ[RUN_DIR_ENV])
        if self.resume is not None and self.resume.run_dir is not None:
            return self.resume.run_dir
        return next_run_dir(save_dir, self.run_name())

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list) -> Any:
        logging_cfg: RunLogging = self._get(self.config_init, "logging")
        self.options: TrainingOptions = self._get(self.config_init, "training")
        plain_config = json.loads(self.parser.dump(self.config, format="json"))
        self.run_dir = self._choose_run_dir(logging_cfg.save_dir)
        resumes_here = self.resume is not None and self.resume.run_dir == self.run_dir
        step = self.resume.global_step if resumes_here else None
        self.loggers = build_loggers(logging_cfg, self.run_dir, plain_config, resume_step=step)
        config["logger"] = self.loggers or False
        config["default_root_dir"] = str(self.run_dir)
        checkpoints = self.run_dir / "checkpoints"
        self.checkpoint = ModelCheckpoint(
            dirpath=checkpoints,
            filename="best-{epoch:02d}",
            monitor="val/acc",
            mode="max",
            save_last=True,
            auto_insert_metric_name=False,
        )
        self.clock = TrainingClock()
        callbacks = [*callbacks, self.checkpoint, EpochThroughput(), self.clock]
        if self.options.checkpoint_every_n_steps > 0:
            callbacks.append(
                ModelCheckpoint(dirpath=checkpoints, save_top_k=0, save_last=True,
                                every_n_train_steps=self.options.checkpoint_every_n_steps)
            )
        if self.loggers:
            callbacks.append(LearningRateMonitor(logging_interval="step"))
        if self.options.ema_decay is not None:
            callbacks.append(EMAWeightAveraging(decay=self.options.ema_decay))
        inspect_options: InspectOptions = self._get(self.config_init, "inspect")
        if inspect_options.enabled:
            callbacks.append(InspectCallback(inspect_options, self.run_dir / "inspect"))
        if not self.options.recompute_expand:
            set_recompute_expand(self.model.net, False)
        if self.options.compile:
            self.model.net.compile()
        return super()._instantiate_trainer(config, callbacks)


def run_speed(run_dir: Path) -> dict[str, float]:
    """Median epoch time and training throughput of a run, from its metrics.csv."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    speed = {}
    for key, name in (("time/epoch_s", "epoch_time_s"), ("time/train_images_per_s", "train_images_per_s")):
        values = sorted(float(r[key]) for r in rows if r.get(key))
        if values:
            speed[name] = round(values[len(values) // 2], 2)
    return speed


def exact_subset(results: dict[str, float], data: Any) -> dict[str, Any] | None:
    """The test accuracy on the images ``data.test_mask`` marks, in % with its Wilson 95%
    interval, from the metrics ``trainer.test`` returned; None without a mask. The mask is named
    by its file name and md5, not its path, so a record does not carry one machine's folders."""
    if "test/acc_exact" not in results:
        return None
    mask = data.test_mask_path()
    tested = int(results["test/images"]) if "test/images" in results else None
    return {
        "acc@1": round(100 * results["test/acc_exact"], 2),
        "ci95_wilson": [round(100 * results[f"test/acc_exact_ci95_{end}"], 2) for end in ("low", "high")],
        "images": int(results["test/exact_images"]),
        "test_set": data.test_set_description(tested),
        "mask": mask.name,
        "mask_md5": file_md5(mask),
    }


def check_config_files(args: list[str]) -> None:
    """Each ``--config FILE`` exists and is valid YAML, else a one-line error naming the file,
    line and column (jsonargparse's own message does not name the file)."""
    for flag, value in itertools.pairwise(args):
        if flag != "--config" or value.lstrip().startswith(("{", "[")):
            continue
        path = Path(value)
        if not path.is_file():
            raise KanvisionError(f"config file '{path}' does not exist: check the path (configs/<dataset>/<model>.yaml)")
        try:
            yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(e, "problem", None) or type(e).__name__
            raise KanvisionError(
                f"config file '{path}' is not valid YAML ({problem}{where}): fix the indentation or "
                "syntax there (every key ends with ':', lists use '- ' or [a, b])"
            ) from None


def run(args: list[str] | None = None) -> dict[str, Any]:
    """Parse ``args`` (default: ``sys.argv``), train, test the best checkpoint, export weights."""
    check_config_files(sys.argv[1:] if args is None else list(args))
    cli = KanvisionCLI(ImageClassifier, ImageDataModule, run=False, args=args)
    trainer, model, data = cli.trainer, cli.model, cli.datamodule
    if cli.config.get("print_config"):
        return {}
    if trainer.is_global_zero:
        data.prepare_data()  # missing or corrupt data fails here, before the run dir is written
        record_wandb_id(cli.loggers, cli.run_dir)
    ckpt_path = str(cli.resume.path) if cli.resume else None
    previous = os.environ.get(RUN_DIR_ENV)
    os.environ[RUN_DIR_ENV] = str(cli.run_dir)  # DDP workers re-run this script: same run dir
    try:
        trainer.fit(model, datamodule=data, ckpt_path=ckpt_path, weights_only=False)
    finally:
        if previous is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = previous
    # read the clock now: testing a checkpoint restores the callbacks' states saved in it
    wall, sessions = cli.clock.elapsed_s(), cli.clock.sessions  # earlier sessions included
    best = cli.checkpoint.best_model_path or None
    results = trainer.test(model, datamodule=data, ckpt_path=best, weights_only=False)
    test_acc = results[0].get("test/acc") if results else None
    test_images = int(results[0]["test/images"]) if results and "test/images" in results[0] else None
    exact = exact_subset(results[0] if results else {}, data)
    weights = None
    if not trainer.fast_dev_run and trainer.is_global_zero:
        weights = export_run(
            model.net,
            cli.run_dir,
            data=data.info,
            test_acc=test_acc,
            epochs=trainer.current_epoch,
            wall_time_s=wall,
            accelerator=type(trainer.accelerator).__name__.lower().removesuffix("accelerator"),
            data_verified=getattr(data, "verify_integrity", True),
            exact=exact,
            test_images=test_images,
            extra={
                "best_checkpoint": Path(best).name if best else None,
                "seed": cli.config.get("seed_everything"),
                "fit_sessions": sessions,
                "config_files": [str(c) for c in (cli.config.get("config") or [])],
                **run_speed(cli.run_dir),
            },
        )
    counts = model.param_counts()
    summary = {
        "model": model.hparams.model,
        "kan": model.hparams.kan,
        "params": counts["params/total"],
        "test_acc": test_acc,
        "test_acc_exact": exact["acc@1"] / 100 if exact else None,
        "run_dir": str(cli.run_dir),
        "weights": str(weights) if weights else None,
        "wandb_dir": wandb_run_dir(cli.loggers) if trainer.is_global_zero else None,
    }
    if trainer.is_global_zero:
        acc = f"{100 * test_acc:.2f}%" if test_acc is not None else "n/a"
        if exact:
            low, high = exact["ci95_wilson"]
            acc += (f" on {exact['test_set']}, test/acc_exact={exact['acc@1']:.2f}% "
                    f"(Wilson 95% CI {low:.2f}-{high:.2f}, {exact['images']:,} images)")
        if not getattr(data, "verify_integrity", True):
            acc += " (data md5 not verified: not an official test accuracy)"
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
    run_cli(run, args)
