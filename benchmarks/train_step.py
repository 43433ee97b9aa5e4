"""Which precision and memory format to train a recipe in, on this machine: a training step of a
config's KAN model and its twins in float32 and bf16-mixed, NCHW and channels-last.

    python benchmarks/train_step.py --config configs/cifar10/resnet20_kan.yaml
    python benchmarks/train_step.py --config configs/cifar10/resnet20_kan.yaml --threads 1 --reps 10
    python benchmarks/train_step.py --config configs/cifar10/resnet20_kan.yaml --variants kan lean matched \
        --other_kan lean='{"constant": false, "width_mult": 0.89}' --tag lean

The step is the one ``train.py`` runs: the config's model (its ``--twin standard`` / ``matched``
twins too) at the config's batch size on random images, AdamW, cross-entropy, the forward under
``torch.autocast(dtype=bfloat16)`` for ``bf16-mixed`` (Lightning's ``--trainer.precision
bf16-mixed``), model and batch in channels-last order for ``channels_last``
(``--model.channels_last true``). ``kan_keep_z`` is the KAN model keeping its expanded inputs
``z`` for backward instead of recomputing them (``--training.recompute_expand false``);
``kan_unfused`` is the KAN model with every layer's ``fused = False``: plain autograd through the
compiled expand, which keeps what autograd saves instead of running the fused op.
``--other_kan NAME=JSON`` times another KAN model in the same run (the config's, with JSON's
model_kwargs), so that two models' ratio comes from one run. Every
setting is built and warmed up, then timed in rounds of one step each, in turn, so that the
machine's drift in speed falls on all of them alike; the median is reported with the images/s it
gives and its ratio to the float32 NCHW step of the same model, measured in the same run. glibc malloc's thresholds are raised as in ``train.py``
(``kanvision.runtime``).

bf16 is fast only on CPUs with native bf16 arithmetic (AVX512-BF16 or AMX: Intel Xeon since
Cooper/Sapphire Rapids, AMD Zen 4 and later); elsewhere it is emulated and slower than float32,
which this benchmark shows rather than assumes. Writes ``benchmarks/results/train-step-<device>-
<config stem>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

from kanvision.data import get_dataset_info
from kanvision.layers import KANLayer, set_recompute_expand
from kanvision.models import count_params, create_model, twin_arguments
from kanvision.runtime import tune_cpu_allocator
from kanvision.training.export import machine_description

OUT = Path(__file__).parent / "results"
SETTINGS = (("32-true", False), ("32-true", True), ("bf16-mixed", False), ("bf16-mixed", True))


def unfuse(net: torch.nn.Module) -> None:
    """Every KAN layer of ``net`` through plain autograd instead of the fused op."""
    for layer in net.modules():
        if isinstance(layer, KANLayer):
            layer.fused = False


#: the KAN model's variants: how each changes the model built from the config
KAN_VARIANTS = {"kan": lambda net: None, "kan_keep_z": lambda net: set_recompute_expand(net, False),
                "kan_unfused": unfuse}
VARIANTS = (*KAN_VARIANTS, "standard", "matched")


def model_arguments(config: dict, variant: str, other_kans: dict[str, dict] | None = None) -> tuple[str, str, dict]:
    """(model, kan, model_kwargs) of the config's KAN model (``kan`` and its other
    ``KAN_VARIANTS``), of another KAN model named in ``other_kans`` (the config's model_kwargs
    updated with its own), or of one of the config's twins, as ``--twin``."""
    section = config["model"]
    name, kan, kwargs = section["model"], section.get("kan", "bspline"), dict(section.get("model_kwargs") or {})
    if variant in (other_kans or {}):
        kwargs.update(other_kans[variant])
    elif variant not in KAN_VARIANTS:
        kan, kwargs = twin_arguments(name, kan, kwargs, variant)
    return name, kan, kwargs


def other_kan(text: str) -> tuple[str, dict]:
    """``NAME=JSON`` of ``--other_kan``: a variant name and the model_kwargs it changes."""
    name, _, kwargs = text.partition("=")
    try:
        parsed = json.loads(kwargs)
    except json.JSONDecodeError:
        parsed = None
    if not name or not isinstance(parsed, dict) or name in VARIANTS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write NAME='{{\"key\": value}}', a new variant name and a JSON object of "
            "model_kwargs, e.g. lean='{\"constant\": false, \"width_mult\": 0.89}'")
    return name, parsed


class TrainStep:
    """One setting's training step, built and warmed up; ``timed()`` runs one and returns seconds."""

    def __init__(self, name: str, kan: str, kwargs: dict, precision: str, channels_last: bool, batch: int,
                 image: tuple[int, int, int], classes: int, device: str, warmup: int,
                 variant: str = "kan") -> None:
        torch.manual_seed(0)
        net = create_model(name, kan=kan, num_classes=classes, in_chans=image[0], img_size=image[1], **kwargs)
        net = net.to(device).train()
        KAN_VARIANTS.get(variant, KAN_VARIANTS["kan"])(net)
        x = torch.randn(batch, *image, device=device)
        if channels_last:
            net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        self.net, self.x, self.device, self.bf16 = net, x, device, precision == "bf16-mixed"
        self.y = torch.randint(0, classes, (batch,), device=device)
        self.opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
        self.params = count_params(net).total
        self.first_step_s = self.timed()  # the first step compiles the KAN expand kernels
        for _ in range(warmup - 1):
            self.timed()

    def timed(self) -> float:
        start = time.perf_counter()
        self.opt.zero_grad(set_to_none=True)
        with torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.bf16):
            loss = F.cross_entropy(self.net(self.x), self.y)
        loss.backward()
        self.opt.step()
        if self.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start


def time_round_robin(steps: list[TrainStep], reps: int) -> list[dict]:
    """``reps`` timed steps of every setting, taken in turn (one step of each per round), so
    that a machine's drift in speed falls on all settings alike and their ratios stay fair."""
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(reps):
        for step, record in zip(steps, times):
            record.append(step.timed())
    rows = []
    for step, record in zip(steps, times):
        median = statistics.median(record)
        rows.append({"s_per_step": round(median, 4), "images_per_s": round(step.x.shape[0] / median, 1),
                     "range_s": [round(min(record), 4), round(max(record), 4)],
                     "first_step_s": round(step.first_step_s, 2), "params": step.params})
    return rows


def to_markdown(doc: dict) -> str:
    head = ["variant", "model", "kan", "params", "precision", "memory format", "s/step", "images/s",
            "x fp32 NCHW", "step range s"]
    note = f" Note: {doc['note']}." if doc.get("note") else ""
    lines = [(f"Machine: {doc['machine']}. Command: `{doc['command']}`. torch {doc['torch']}. "
              f"Batch {doc['batch']}, {doc['reps']} timed steps of every setting, in rounds of one step "
              f"each, after {doc['warmup']} warm-up steps.{note}"), "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in doc["rows"]:
        lines.append("| " + " | ".join(str(v) for v in (
            r["variant"], f"`{r['model']}`", r["kan"], f"{r['params']:,}", r["precision"],
            "channels_last" if r["channels_last"] else "NCHW", r["s_per_step"], f"{r['images_per_s']:,}",
            r["vs_fp32_nchw"], f"{r['range_s'][0]}-{r['range_s'][1]}")) + " |")
    lines += ["", ("s/step: median seconds of one training step (forward, backward, AdamW). x fp32 NCHW: "
                   "that model's float32 NCHW median over this row's (above 1: faster), from the same run. "
                   "kan_keep_z: the KAN model keeping its expanded inputs for backward instead of "
                   "recomputing them (`--training.recompute_expand false`). kan_unfused: the KAN model "
                   "with every layer's `fused = False` (plain autograd through the compiled expand).")]
    for name, kwargs in (doc.get("other_kans") or {}).items():
        lines[-1] += f" {name}: the config's KAN model with `{json.dumps(kwargs)}` in its model_kwargs."
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="a train.py config (its model and batch size)")
    parser.add_argument("--variants", nargs="+", default=None,
                        help=f"of {', '.join(VARIANTS)} and the --other_kan names (default: all)")
    parser.add_argument("--other_kan", type=other_kan, action="append", default=[], metavar="NAME=JSON",
                        help="another KAN model to time in the same run: the config's model_kwargs "
                             "updated with JSON, e.g. lean='{\"constant\": false, \"width_mult\": 0.89}'")
    parser.add_argument("--tag", default="", help="added to the record's file name (a run with --other_kan)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--note", default="", help="what else ran on the machine, for the record")
    args = parser.parse_args(argv)
    if not args.config.is_file():
        parser.error(f"--config {args.config}: no such file (the configs are under configs/)")
    other_kans = dict(args.other_kan)
    known = [*VARIANTS, *other_kans]
    variants = args.variants or known
    if unknown := [v for v in variants if v not in known]:
        parser.error(f"--variants {' '.join(unknown)}: not a variant; choose from {', '.join(known)}")
    if args.warmup < 1:
        parser.error("--warmup must be at least 1 (the first step compiles)")
    tune_cpu_allocator()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = yaml.safe_load(args.config.read_text())
    data = config.get("data") or {}
    batch = int(data.get("batch_size", 128))
    info = get_dataset_info(data.get("name", "mnist"))
    image, classes = tuple(info.input_size), info.num_classes
    rows, steps = [], []
    for variant in variants:
        name, kan, kwargs = model_arguments(config, variant, other_kans)
        for precision, channels_last in SETTINGS:
            steps.append(TrainStep(name, kan, kwargs, precision, channels_last, batch, image, classes,
                                   args.device, args.warmup, variant))
            rows.append({"variant": variant, "model": name, "kan": kan, "model_kwargs": kwargs,
                         "precision": precision, "channels_last": channels_last})
    for row, timing in zip(rows, time_round_robin(steps, args.reps)):
        row.update(timing)
        base = next(r for r in rows if r["variant"] == row["variant"])["s_per_step"]
        row["vs_fp32_nchw"] = round(base / row["s_per_step"], 2)
        print(row["variant"], row["precision"], "channels_last" if row["channels_last"] else "NCHW", timing, flush=True)
    command = shlex.join(["python", "benchmarks/train_step.py", *(sys.argv[1:] if argv is None else argv)])
    doc = {"machine": machine_description(args.device), "command": command, "torch": torch.__version__,
           "python": platform.python_version(), "batch": batch, "reps": args.reps, "warmup": args.warmup, "note": args.note,
           "other_kans": other_kans, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    stem = args.out / f"train-step-{args.device}-{args.config.parent.name}-{args.config.stem}{tag}"
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    stem.with_suffix(".md").write_text(to_markdown(doc))
    print(to_markdown(doc))


if __name__ == "__main__":
    main()
