"""Pick the headline CIFAR-10 KAN model (<= 1,000,000 params) on a 2-core CPU, one torch thread.

    python results/cifar10-ablation/ablation.py time                 # step time of each candidate
    python results/cifar10-ablation/ablation.py train --epochs 3     # short runs, through train.py

``time`` measures one training step (forward, backward, AdamW step) on a random batch of 128
images at 32x32x3, median of ``--steps`` steps after two warm-up steps, and writes
``step_times.json`` / ``.md`` here with the estimated seconds per epoch of ``train.py``'s 45,000
training images (352 steps). ``train`` runs ``train.py`` for each candidate with
``--trainer.limit_train_batches`` (a fresh random subset of the training split each epoch,
10,112 images at the default 79 batches) and ``--trainer.limit_val_batches`` (the first 2,560 of
the 5,000 held-out validation images), no test (candidates are chosen on validation accuracy, the
test set stays unseen); its records (config, metrics.csv, log, ``ablation.json``) go to
``<candidate>/`` here and the summary to ``summary.md``.

Data: ``--data-root`` (default: the offline CIFAR-10 copy, ``../shared/datasets/cifar-10-offline``,
whose 50,000 training images are exact; ``--data.verify_integrity false`` is passed for it).
Run one candidate at a time: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STEPS_PER_EPOCH = 352  # ceil(45,000 / 128): train.py's split of CIFAR-10 at batch 128

# name: (model, kan, model_kwargs). KAN ResNet-20s (CIFAR stem, 3 stages of 3 basic blocks,
# KAN 3x3 convs, 1x1 shortcuts plain) at the width that keeps each under 1,000,000 parameters.
CANDIDATES: dict[str, tuple[str, str, dict]] = {
    "resnet20-bspline-g3k2-w0.75": (
        "resnet20_cifar", "bspline", {"grid_size": 3, "spline_order": 2, "grid_range": [-2, 2],
                                      "width_mult": 0.75}),
    "resnet20-bspline-g5k3-w0.625": (
        "resnet20_cifar", "bspline", {"grid_size": 5, "spline_order": 3, "grid_range": [-2, 2],
                                      "width_mult": 0.625}),
    "resnet20-gram-d3-w0.8": ("resnet20_cifar", "gram", {"degree": 3, "width_mult": 0.8}),
    "resnet20-gram-d2-w0.875": ("resnet20_cifar", "gram", {"degree": 2, "width_mult": 0.875}),
}
# for reference: the plain ResNet-20 (the standard twin of each), the existing KAN ResNet-8, and
# the ViT-nano with narrow KAN MLPs against the plain ViT-nano of the same size
REFERENCES: dict[str, tuple[str, str, dict]] = {
    "resnet20-none": ("resnet20_cifar", "none", {}),
    "resnet8-bspline-g5k3": ("resnet8_cifar", "bspline", {"grid_size": 5, "spline_order": 3}),
    "vit_nano_narrow-bspline-g5k3": ("vit_nano_narrow_patch4_32", "bspline", {}),
    "vit_nano-none": ("vit_nano_patch4_32", "none", {}),
}


def build(model: str, kan: str, kwargs: dict):
    import kanvision

    return kanvision.create_model(model, kan=kan, num_classes=10, in_chans=3, img_size=32, **kwargs)


def step_time(model: str, kan: str, kwargs: dict, steps: int, batch: int = 128) -> dict:
    """Median seconds of one training step on a random batch, one torch thread."""
    import torch
    import torch.nn.functional as F

    import kanvision

    torch.manual_seed(0)
    net = build(model, kan, kwargs).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()
        if i >= 2:  # the first steps compile the KAN expand kernels and warm the allocator
            times.append(time.perf_counter() - start)
    s = statistics.median(times)
    return {"params": kanvision.count_params(net).total, "s_per_step": round(s, 3),
            "s_per_epoch_est": round(s * STEPS_PER_EPOCH), "steps_timed": steps,
            "step_range_s": [round(min(times), 3), round(max(times), 3)]}


def cmd_time(args: argparse.Namespace) -> None:
    import torch

    from kanvision.runtime import tune_cpu_allocator
    from kanvision.training.export import machine_description

    tune_cpu_allocator()
    torch.set_num_threads(1)
    times = HERE / "step_times.json"
    rows = json.loads(times.read_text())["candidates"] if args.only and times.is_file() else {}
    for name, spec in {**CANDIDATES, **REFERENCES}.items():
        if args.only and name not in args.only:
            continue
        rows[name] = {"model": spec[0], "kan": spec[1], "model_kwargs": spec[2],
                      **step_time(*spec, steps=args.steps), "command": " ".join(["python", *sys.argv])}
        print(name, rows[name], flush=True)
    record = {"machine": machine_description("cpu"), "batch": 128, "input": [3, 32, 32],
              "steps_per_epoch": STEPS_PER_EPOCH, "torch": torch.__version__,
              "command": " ".join(["python", *sys.argv]), "candidates": rows}
    (HERE / "step_times.json").write_text(json.dumps(record, indent=2) + "\n")
    write_times_table(record)


def write_times_table(record: dict) -> None:
    """step_times.md from step_times.json's record."""
    header = (f"Machine: {record['machine']}; torch {record['torch']}; one training step (AdamW) "
              f"on a random batch of 128 at 3x32x32, median of the timed steps after 2 warm-up "
              f"steps; s/epoch = s/step x {STEPS_PER_EPOCH} (45,000 images), data loading and "
              "validation not included. Each row's command is in step_times.json.")
    lines = [header, "",
             "| candidate | model | kan | options | params | s/step | est. s/epoch |",
             "|---|---|---|---|---|---|---|"]
    for name, r in record["candidates"].items():
        opts = ", ".join(f"{k}={v}" for k, v in r["model_kwargs"].items()) or "-"
        lines.append(f"| {name} | `{r['model']}` | {r['kan']} | {opts} | {r['params']:,} | "
                     f"{r['s_per_step']:.2f} | {r['s_per_epoch_est']:,} |")
    (HERE / "step_times.md").write_text("\n".join(lines) + "\n")


def train_command(name: str, spec: tuple, args: argparse.Namespace, save_dir: Path) -> list[str]:
    model, kan, kwargs = spec
    return [
        sys.executable, str(ROOT / "train.py"), "--config", str(ROOT / args.config),
        "--model.model", model, "--model.kan", kan, "--model.model_kwargs", json.dumps(kwargs),
        "--trainer.max_epochs", str(args.epochs),
        "--trainer.limit_train_batches", str(args.train_batches),
        "--trainer.limit_val_batches", str(args.val_batches), "--trainer.limit_test_batches", "0",
        "--data.root", args.data_root, "--data.verify_integrity", "false",
        "--seed_everything", "0", "--logging.wandb", "false", "--logging.save_dir", str(save_dir),
        "--trainer.enable_progress_bar", "false", "--training.checkpoint_every_n_steps", "0",
    ]


def cmd_train(args: argparse.Namespace) -> None:
    import shutil

    import yaml

    save_dir = ROOT / "runs" / "cifar10-ablation"
    summary = []
    for name, spec in {**CANDIDATES, **REFERENCES}.items():
        if (args.only and name not in args.only) or (not args.only and name in REFERENCES):
            continue
        out = HERE / name
        out.mkdir(exist_ok=True)
        command = train_command(name, spec, args, save_dir / name)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "KANVISION_MACHINE_NOTE": "other jobs on the second core"}
        print("$", " ".join(command), flush=True)
        start = time.perf_counter()
        with (out / "train.log").open("w") as log:
            subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
        wall = time.perf_counter() - start
        (run_dir,) = sorted((save_dir / name).glob("*/version_*"))[-1:]
        for f in ("config.yaml", "metrics.csv"):
            shutil.copyfile(run_dir / f, out / f)
        meta = json.loads(next(p for p in run_dir.glob("*.json")).read_text())
        metrics = list(csv_rows(out / "metrics.csv"))
        val = [float(r["val/acc"]) for r in metrics if r.get("val/acc")]
        epoch_s = [float(r["time/epoch_s"]) for r in metrics if r.get("time/epoch_s")]
        record = {
            "candidate": name, "model": spec[0], "kan": spec[1], "model_kwargs": spec[2],
            "params": meta["num_params"], "epochs": args.epochs,
            "train_images_per_epoch": args.train_batches * 128, "val_images": args.val_batches * 128,
            "val_acc_per_epoch": [round(100 * v, 2) for v in val],
            "train_epoch_s": [round(s, 1) for s in epoch_s], "wall_s": round(wall, 1),
            "machine": meta["machine"], "command": " ".join(command[1:]).replace(str(ROOT) + "/", ""),
        }
        (out / "ablation.json").write_text(json.dumps(record, indent=2) + "\n")
        summary.append(record)
        print(name, record["val_acc_per_epoch"], record["train_epoch_s"], flush=True)
        config = yaml.safe_load((out / "config.yaml").read_text())
        assert config["model"]["model"] == spec[0]
    write_summary(summary, args)


def csv_rows(path: Path):
    import csv

    with path.open(newline="") as f:
        yield from csv.DictReader(f)


def write_summary(summary: list[dict], args: argparse.Namespace) -> None:
    """summary.md: one line per candidate run so far (records found here, not only this call)."""
    records = [json.loads(p.read_text()) for p in sorted(HERE.glob("*/ablation.json"))]
    lines = ["| candidate | params | epochs x images | val acc % per epoch | train s/epoch (subset) | wall s |",
             "|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['candidate']} | {r['params']:,} | {r['epochs']} x {r['train_images_per_epoch']:,} | "
                     f"{', '.join(f'{v:.2f}' for v in r['val_acc_per_epoch'])} | "
                     f"{', '.join(f'{s:.0f}' for s in r['train_epoch_s'])} | {r['wall_s']:.0f} |")
    (HERE / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    timing = sub.add_parser("time", help="training-step time of each candidate")
    timing.add_argument("--steps", type=int, default=5)
    timing.add_argument("--only", nargs="*", help="candidate names (default: all)")
    train = sub.add_parser("train", help="short train.py runs of each candidate")
    train.add_argument("--epochs", type=int, default=3)
    train.add_argument("--train-batches", type=int, default=79, help="batches of 128 per epoch")
    train.add_argument("--val-batches", type=int, default=20, help="validation batches of 128")
    train.add_argument("--config", default="configs/cifar10/resnet8_kan.yaml",
                       help="the recipe (optimizer, schedule, augmentation) the runs share")
    train.add_argument("--data-root", default=str(ROOT.parent / "shared/datasets/cifar-10-offline"))
    train.add_argument("--only", nargs="*", help="candidate names (default: all candidates)")
    args = parser.parse_args()
    {"time": cmd_time, "train": cmd_train}[args.cmd](args)


if __name__ == "__main__":
    main()
