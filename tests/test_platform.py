"""Training-platform features through train.py: DDP, precision, compile, EMA, loggers,
throughput, optimizers and schedules, evaluation, and one-line errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from data_writers import write_cifar_batches
from test_train import ROOT, UNVERIFIED, read_metrics, run_main, tiny_args

import kanvision
from kanvision.training.cli import run
from kanvision.training.evaluate import main as evaluate_main
from kanvision.training.evaluate import run as evaluate
from kanvision.training.optim import build_schedule

CONVNET = ROOT / "configs/mnist/convnet.yaml"
FAST = ("--logging.wandb", "false", "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
        "--trainer.limit_val_batches", "1", "--trainer.limit_test_batches", "1")


def tree(path: Path) -> dict[str, float]:
    """Every file under ``path`` with its modification time."""
    return {str(p.relative_to(path)): p.stat().st_mtime for p in path.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def trained_run(tiny_data, tmp_path_factory) -> dict:
    """One short run of the plain convnet on tiny MNIST (checkpoints and an export)."""
    save_dir = tmp_path_factory.mktemp("runs")
    return run(tiny_args(CONVNET, tiny_data, save_dir, "--logging.wandb", "false", "--trainer.max_epochs", "1"))


def test_ddp_on_cpu_with_two_processes(tiny_data, tmp_path):
    args = tiny_args(CONVNET, tiny_data, tmp_path, *FAST, "--trainer.accelerator", "cpu",
                     "--trainer.devices", "2", "--trainer.strategy", "ddp")
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), *args], check=False,
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "world_size: 2" in proc.stderr or "distributed_backend=gloo" in proc.stderr, proc.stderr[-2000:]
    (run_dir,) = tmp_path.glob("*/version_*")  # both processes log into rank 0's run dir
    rows = read_metrics(run_dir)
    assert any(r.get("test/acc") for r in rows) and (run_dir / "kan_convnet.json").is_file()
    assert proc.stdout.count("kanvision | ") == 1, "rank 0 alone prints the summary"


def test_cifar10_config_runs_an_epoch_on_generated_cifar_files(tmp_path):
    root = tmp_path / "data"
    write_cifar_batches(root, n_train=200, n_test=50)
    summary = run(tiny_args(ROOT / "configs/cifar10/resnet8_kan.yaml", root, tmp_path / "runs",
                            "--logging.wandb", "false", "--trainer.max_epochs", "1",
                            "--model.model_kwargs", "{width_mult: 0.25}", *UNVERIFIED))
    rows = read_metrics(Path(summary["run_dir"]))
    assert any(r.get("val/acc") for r in rows) and summary["test_acc"] is not None
    meta = json.loads((Path(summary["run_dir"]) / "resnet8_cifar.json").read_text())
    assert meta["input_size"] == [3, 32, 32] and meta["args"]["img_size"] == 32
    assert list(meta["metrics"]) == ["CIFAR10 (unverified copy)"] and meta["data_verified"] is False


def test_bf16_compile_ema_tensorboard_sgd_cosine_in_one_run(tiny_data, tmp_path):
    summary = run(tiny_args(
        ROOT / "configs/mnist/kan_convnet.yaml", tiny_data, tmp_path, *FAST,
        "--trainer.precision", "bf16-mixed", "--training.compile", "true",
        "--training.ema_decay", "0.9", "--logging.tensorboard", "true",
        "--model.optimizer", "SGD", "--model.optimizer_kwargs", "{momentum: 0.9, nesterov: true}",
        "--model.scheduler", "cosine", "--trainer.gradient_clip_val", "1.0",
        "--trainer.deterministic", "true",
    ))
    run_dir = Path(summary["run_dir"])
    rows = read_metrics(run_dir)
    assert any(r.get("lr-SGD") for r in rows), "the learning-rate monitor logs every step"
    assert any(r.get("time/train_images_per_s") for r in rows) and any(r.get("time/epoch_s") for r in rows)
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert summary["test_acc"] is not None


@pytest.mark.parametrize("name", ["onecycle", "cosine", "constant"])
def test_schedules_warm_up_then_follow_their_shape(name):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = build_schedule(name, opt, total_steps=100, warmup_fraction=0.1, min_lr_ratio=0.0)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] < 0.2 and max(lrs) == pytest.approx(1.0, abs=0.02)
    assert (lrs[-1] < 0.05) == (name != "constant")


def test_mixup_trains(tiny_data, tmp_path):
    summary = run(tiny_args(CONVNET, tiny_data, tmp_path, *FAST, "--model.mixup", "0.2",
                            "--model.cutmix", "1.0"))
    assert summary["test_acc"] is not None


def test_evaluate_safetensors_and_lightning_checkpoint(trained_run, tiny_data, tmp_path):
    run_dir = Path(trained_run["run_dir"])
    out = tmp_path / "eval.json"
    common = ["--data.name", "mnist", "--data.root", str(tiny_data), "--out", str(out)]
    from_export = evaluate(["--model", "kan_convnet", "--checkpoint", trained_run["weights"], *common])
    (best,) = (run_dir / "checkpoints").glob("best-*.ckpt")
    from_ckpt = evaluate(["--model", "kan_convnet", "--checkpoint", str(best), *common])
    assert from_export["top1"] == from_ckpt["top1"] == pytest.approx(100 * trained_run["test_acc"], abs=0.01)
    report = json.loads(out.read_text())
    assert {"top1", "top5", "loss", "params", "flops", "images_per_s"} <= set(report)
    assert report["params"] == trained_run["params"] and report["flops"] > 0


def test_evaluate_shipped_weights_by_tag(tiny_data, tmp_path):
    report = evaluate(["--model", "kan_convnet", "--pretrained", "mnist", "--data.name", "mnist",
                       "--data.root", str(tiny_data), "--out", str(tmp_path / "e.json")])
    assert report["images"] == 64 and report["params"] == kanvision.get_pretrained_cfg("kan_convnet.mnist")["num_params"]


def eval_error(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        evaluate_main(list(args))
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    return line


def test_evaluate_bad_input_is_one_line(capsys, trained_run, tiny_data, tmp_path):
    (best,) = (Path(trained_run["run_dir"]) / "checkpoints").glob("best-*.ckpt")
    data = ["--data.name", "mnist", "--data.root", str(tiny_data), "--out", str(tmp_path / "e.json")]
    line = eval_error(capsys, "--model", "kkan_small", "--checkpoint", str(best), *data)
    assert "holds model 'kan_convnet'" in line
    line = eval_error(capsys, "--model", "kan_convnet", "--checkpoint", str(best), "--data.name", "cifar100",
                      "--data.root", str(tiny_data), "--data.verify_integrity", "false")
    assert "100" in line and "classes" in line
    line = eval_error(capsys, "--model", "kan_convnet", *data)
    assert "exactly one of --pretrained" in line


# --- bad input through train.py: one line, exit 2, nothing written in an existing run dir ----


@pytest.fixture()
def existing_run(trained_run) -> Path:
    return Path(trained_run["run_dir"])


def assert_untouched(run_dir: Path, before: dict[str, float]) -> None:
    assert tree(run_dir.parent.parent) == before, "bad input must not write or delete anything"


def test_yaml_syntax_error_is_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  model: kan_convnet\n   kan: [bspline\n")
    line = run_main(capsys, "--config", str(bad))
    assert line.startswith("error:") and "bad.yaml" in line


def test_architecture_that_cannot_take_the_input_is_one_line(capsys, tiny_data, existing_run):
    before = tree(existing_run.parent.parent)
    line = run_main(capsys, "--config", str(CONVNET), "--model.model", "vit_tiny_patch16_224",
                    "--data.root", str(tiny_data), "--logging.save_dir", str(existing_run.parent.parent))
    assert "multiple of 16, got 28" in line
    assert_untouched(existing_run, before)


@pytest.mark.parametrize(("override", "expected"), [
    (("--model.kan", "bspline"), "trained with kan=none but this run has kan=bspline"),
    (("--model.model", "kkan_small"), "trained with model=kan_convnet but this run has model=kkan_small"),
    (("--model.model_kwargs", "{widths: [8, 16]}"), "does not fit this model"),
])
def test_checkpoint_for_another_model_is_one_line(capsys, tiny_data, existing_run, override, expected):
    before = tree(existing_run.parent.parent)
    (last,) = (existing_run / "checkpoints").glob("last.ckpt")
    line = run_main(capsys, *tiny_args(CONVNET, tiny_data, existing_run.parent.parent), *override,
                    "--ckpt_path", str(last))
    assert expected in line, line
    assert_untouched(existing_run, before)


def test_checkpoint_for_another_number_of_classes_is_one_line(capsys, tiny_data, existing_run):
    (last,) = (existing_run / "checkpoints").glob("last.ckpt")
    line = run_main(capsys, *tiny_args(CONVNET, tiny_data, existing_run.parent.parent),
                    "--data.name", "cifar100", "--ckpt_path", str(last), *UNVERIFIED)
    assert "num_classes=10" in line and "num_classes=100" in line, line


def test_corrupt_checkpoint_is_one_line(capsys, tiny_data, existing_run, tmp_path):
    before = tree(existing_run.parent.parent)
    bad = tmp_path / "corrupt.ckpt"
    bad.write_bytes(b"\x80\x04not a checkpoint at all")
    line = run_main(capsys, *tiny_args(CONVNET, tiny_data, existing_run.parent.parent), "--ckpt_path", str(bad))
    assert "corrupt" in line and "corrupt.ckpt" in line
    assert_untouched(existing_run, before)


def test_data_file_failing_md5_is_one_line(capsys, tmp_path, existing_run):
    root = tmp_path / "data"
    write_cifar_batches(root, n_train=100, n_test=20)  # generated: not the official bytes
    before = tree(existing_run.parent.parent)
    line = run_main(capsys, "--config", str(ROOT / "configs/cifar10/resnet8_kan.yaml"),
                    "--data.root", str(root), "--logging.save_dir", str(existing_run.parent.parent),
                    "--logging.wandb", "false")
    assert "md5" in line and "verify_integrity" in line, line
    assert_untouched(existing_run, before)


@pytest.mark.parametrize("config", sorted((ROOT / "configs").rglob("*.yaml")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_config_builds_and_links_data_into_the_model(config, tiny_data, tmp_path):
    """Each config instantiates its model, data and trainer (test_train.py also runs each with
    fast_dev_run); shapes come from the data, never from the config."""
    from kanvision.training.cli import ImageClassifier, ImageDataModule, KanvisionCLI

    text = config.read_text()
    assert "num_classes" not in text and "in_chans" not in text, config
    cli = KanvisionCLI(ImageClassifier, ImageDataModule, run=False, args=tiny_args(
        config, tiny_data, tmp_path, "--logging.wandb", "false", *UNVERIFIED))
    hp, data = cli.model.hparams, cli.datamodule
    assert (hp.num_classes, hp.in_chans, hp.img_size) == (data.num_classes, data.in_chans, data.img_size)


def test_machine_note_is_appended_to_the_run_record(monkeypatch):
    from kanvision.training.export import MACHINE_NOTE_ENV, machine_description

    monkeypatch.delenv(MACHINE_NOTE_ENV, raising=False)
    plain = machine_description("cpu")
    assert "CPU" in plain and "shared" not in plain
    monkeypatch.setenv(MACHINE_NOTE_ENV, "shared with 5 other runs")
    assert machine_description("cpu") == f"{plain}, shared with 5 other runs"


def test_run_command_repeats_in_a_shell(monkeypatch):
    """A recorded command splits back into the same words, so a JSON option stays one word."""
    import shlex

    from kanvision.training.export import run_command

    argv = ["train.py", "--model.model_kwargs", '{"degree": 3, "constant": false}', "--seed_everything", "0"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setenv("KANVISION_DATA", "/data sets")
    words = shlex.split(run_command())
    assert words == ["KANVISION_DATA=/data sets", "python", *argv]
