"""End to end through train.py's code path on tiny generated data in torchvision's format."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from helpers import read_wandb_records
from torchvision import datasets

import kanvision
from kanvision.training.cli import main, run

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))


def tiny_args(config: Path, data_root: Path, save_dir: Path, *extra: str) -> list[str]:
    return [
        "--config", str(config), "--data.root", str(data_root), "--data.val_size", "64",
        "--data.batch_size", "64", "--logging.save_dir", str(save_dir),
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
        "--trainer.log_every_n_steps", "1", *extra,
    ]


UNVERIFIED = ("--data.verify_integrity", "false")  # generated files cannot match official md5s


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_config_runs_fast_dev_run(config, tiny_data, tmp_path):
    summary = run(tiny_args(config, tiny_data, tmp_path, "--trainer.fast_dev_run", "true",
                            "--logging.wandb", "false", *UNVERIFIED))
    assert summary["test_acc"] is not None


def test_one_real_epoch_logs_csv_wandb_and_exports_weights(tiny_data, tmp_path):
    config = ROOT / "configs/mnist/kan_convnet.yaml"
    summary = run(tiny_args(config, tiny_data, tmp_path, "--trainer.max_epochs", "1"))
    run_dir = Path(summary["run_dir"])
    rows = read_metrics(run_dir)
    params = [r["params/total"] for r in rows if r.get("params/total")]
    assert params and int(float(params[0])) == summary["params"]
    assert any(r.get("params/kan") for r in rows)
    test_accs = [float(r["test/acc"]) for r in rows if r.get("test/acc")]
    assert test_accs and abs(test_accs[-1] - summary["test_acc"]) < 1e-6
    assert any(r.get("val/acc") for r in rows) and any(r.get("train/loss") for r in rows)

    (wandb_file,) = Path(summary["wandb_dir"]).glob("run-*.wandb")
    deadline = time.monotonic() + 30  # wandb's service writes the file asynchronously
    while True:
        records = read_wandb_records(wandb_file)
        history = records["history"]  # every logged step, as written
        if "test/acc" in history or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert history["test/acc"] == pytest.approx(summary["test_acc"]), records
    assert history["params/total"] == summary["params"]
    assert {"train/loss", "val/acc", "params/kan"} <= set(history)

    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert list((run_dir / "checkpoints").glob("best-*.ckpt"))
    meta = json.loads((run_dir / "kan_convnet.json").read_text())
    assert meta["metrics"]["MNIST"]["acc@1"] == pytest.approx(100 * summary["test_acc"], abs=0.01)
    model = kanvision.create_model("kan_convnet", pretrained=summary["weights"])
    assert kanvision.count_params(model).total == meta["num_params"] == summary["params"]


def test_run_killed_mid_epoch_resumes_in_its_run_dir_keeping_its_history(tiny_data, tmp_path):
    kill = tmp_path / "kill.yaml"
    kill.write_text(
        "trainer:\n  callbacks:\n  - class_path: helpers.KillAfterSteps\n    init_args: {steps: 18}\n"
    )
    args = tiny_args(ROOT / "configs/mnist/convnet.yaml", tiny_data, tmp_path,
                     "--logging.wandb", "false", "--trainer.max_epochs", "2",
                     "--training.checkpoint_every_n_steps", "5", "--data.batch_size", "16")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    killed = subprocess.run([sys.executable, str(ROOT / "train.py"), *args, "--config", str(kill)],
                            env=env, check=False, capture_output=True, text=True, timeout=300)
    assert killed.returncode == 9, killed.stderr[-2000:]
    (run_dir,) = tmp_path.glob("*/version_*")
    before = read_metrics(run_dir)
    steps_per_epoch = 12  # 256 tiny images - 64 for validation, batches of 16
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["epoch"] == 1 and last["global_step"] == 15, "a mid-epoch checkpoint (15 of 12..23)"
    clock = last["callbacks"]["TrainingClock"]
    assert clock["sessions"] == 1 and clock["elapsed_s"] > 0
    (loader_state,) = last["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert loader_state, "the training loader's place in the epoch is in the checkpoint"
    epoch0_val = [r for r in before if r.get("val/acc") and r["epoch"] == "0"]
    assert len(epoch0_val) == 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = run([*args, "--ckpt_path", "last"])
    assert not [w for w in caught if "not resumable" in str(w.message)], "the loader resumes mid-epoch"
    assert Path(resumed["run_dir"]) == run_dir, "resumes in the same run directory"
    assert list(tmp_path.glob("*/version_*")) == [run_dir]
    after = read_metrics(run_dir)
    kept = [{k: r[k] for k in epoch0_val[0]} for r in after if r.get("val/acc") and r["epoch"] == "0"]
    assert kept == epoch0_val, "the rows logged before the kill are still there, unchanged"
    assert {r["epoch"] for r in after if r.get("val/acc")} == {"0", "1"}
    train_steps = [int(r["step"]) for r in after if r.get("train/loss")]
    assert len(train_steps) == len(set(train_steps)), "no step is logged twice"
    assert max(train_steps) == 2 * steps_per_epoch - 1
    timed = {r["epoch"]: r for r in after if r.get("time/train_images_per_s")}
    assert timed["0"].get("time/epoch_s"), "the whole epoch of the killed session is timed"
    assert not timed["1"].get("time/epoch_s"), "the resumed part of an epoch is no epoch time"
    assert 0 < float(timed["1"]["time/train_images_per_s"]) < 1e5, "its throughput counts from the resume"
    meta = json.loads((run_dir / "kan_convnet.json").read_text())
    assert meta["epochs"] == 2 and resumed["test_acc"] is not None
    assert meta["fit_sessions"] == 2, "the killed session and the resumed one"
    assert meta["wall_time_s"] >= round(clock["elapsed_s"], 1), "wall time counts the killed session"


def run_main(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_unknown_config_key_is_one_line_error(capsys, tiny_data):
    line = run_main(capsys, "--config", str(CONFIGS[0]), "--model.kann", "none")
    assert line.startswith("error:") and "model.kann" in line and "did you mean 'model.kan'" in line


def test_wrong_config_type_is_one_line_error(capsys):
    line = run_main(capsys, "--config", str(CONFIGS[0]), "--trainer.max_epochs", "ten")
    assert "trainer.max_epochs" in line and "--print_config" in line


def test_unknown_model_and_dataset_are_one_line_errors(capsys, tiny_data):
    line = run_main(capsys, "--config", str(CONFIGS[0]), "--model.model", "kan_convnt",
                    "--data.root", str(tiny_data))
    assert "unknown model 'kan_convnt'" in line and "did you mean 'kan_convnet'" in line
    line = run_main(capsys, "--config", str(CONFIGS[0]), "--data.name", "mnsit")
    assert "unknown dataset 'mnsit'" in line and "did you mean 'mnist'" in line


def test_missing_data_offline_is_one_line_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens
    line = run_main(capsys, "--config", str(ROOT / "configs/mnist/kan_convnet.yaml"),
                    "--data.root", str(tmp_path / "empty"), "--logging.wandb", "false")
    assert "MNIST is not under" in line and "could not be downloaded" in line and "raw" in line


def test_cli_entry_point_reports_errors_in_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--config", str(CONFIGS[0]), "--data.root",
         str(tmp_path), "--data.download", "false", "--logging.wandb", "false"],
        check=False, capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "download=false" in errors[0], proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == errors[0]


def test_print_config_shows_resolved_config(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(["--config", str(ROOT / "configs/mnist/kan_convnet.yaml"), "--print_config"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "kan_convnet" in out and "max_epochs" in out


def test_bf16_forward_of_trained_path_is_finite():
    model = kanvision.create_model("kan_convnet")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.isfinite(model(torch.randn(2, 1, 28, 28))).all()


def test_regularization_weight_from_config_adds_every_kan_layer():
    from kanvision.training.module import ImageClassifier

    module = ImageClassifier(reg_weight=0.1)
    kan_layers = [m for m in module.net.modules() if hasattr(m, "regularization_loss")]
    assert len(kan_layers) == 3
    expected = sum(m.regularization_loss() for m in kan_layers)
    torch.testing.assert_close(module.regularization(), expected)
    assert ImageClassifier(kan="none").regularization().item() == 0.0


def test_regularization_weight_trains_through_cli(tiny_data, tmp_path):
    summary = run(tiny_args(ROOT / "configs/mnist/kan_convnet.yaml", tiny_data, tmp_path,
                            "--model.reg_weight", "0.01", "--trainer.max_epochs", "1",
                            "--logging.wandb", "false"))
    rows = read_metrics(Path(summary["run_dir"]))
    assert any(r.get("train/reg") for r in rows)


@pytest.mark.parametrize("kan", ["gram", "none"])
def test_channels_last_module_computes_what_the_contiguous_one_does(kan):
    from kanvision.training.module import ImageClassifier

    torch.manual_seed(0)
    plain = ImageClassifier("resnet8_cifar", kan=kan, in_chans=3).eval()
    fast = ImageClassifier("resnet8_cifar", kan=kan, in_chans=3, channels_last=True).eval()
    fast.load_state_dict(plain.state_dict())
    conv_weights = [p for p in fast.net.parameters() if p.dim() == 4]
    assert conv_weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in conv_weights)
    x = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(fast(x), plain(x), rtol=1e-4, atol=1e-5)


def test_bf16_channels_last_epoch_exports_contiguous_weights_that_load(tiny_data, tmp_path):
    summary = run(tiny_args(ROOT / "configs/mnist/kan_convnet.yaml", tiny_data, tmp_path,
                            "--model.channels_last", "true", "--trainer.precision", "bf16-mixed",
                            "--trainer.max_epochs", "1", "--logging.wandb", "false"))
    assert summary["test_acc"] is not None
    model = kanvision.create_model("kan_convnet", pretrained=summary["weights"])
    assert all(p.is_contiguous() for p in model.parameters())
    assert torch.isfinite(model(torch.randn(2, 1, 28, 28))).all()


def test_keeping_z_trains_the_same_weights(tiny_data, tmp_path, monkeypatch):
    """``--training.recompute_expand false`` reaches every KAN layer and changes speed and memory,
    never the weights: one seeded epoch ends at bit-identical weights either way."""
    from kanvision.training import cli

    reached = []
    real = cli.set_recompute_expand
    monkeypatch.setattr(cli, "set_recompute_expand", lambda net, on: reached.append(real(net, on)))
    weights = []
    for keep in (False, True):
        extra = ("--training.recompute_expand", "false") if keep else ()
        summary = run(tiny_args(ROOT / "configs/mnist/kan_convnet.yaml", tiny_data, tmp_path / str(keep),
                                "--trainer.max_epochs", "1", "--logging.wandb", "false", *extra))
        weights.append(kanvision.create_model("kan_convnet", pretrained=summary["weights"]).state_dict())
    assert reached and reached[0] > 0
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
