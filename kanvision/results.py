"""``python -m kanvision.results``: the results table, rebuilt from the committed run records.

Every folder under ``results/`` holding a run's ``<model>.json`` (written by train.py) and
``metrics.csv`` is one run. Runs of the same dataset, model, KAN type, arguments and epoch count
but different seeds (or repeats) are one row: test accuracy as mean +- std over its runs (std
with n - 1), with the number of runs and of distinct seeds. Each KAN row names its standard twin's result where one was run, and says
plainly when the twin wins. Params and FLOPs (one image, forward) are recomputed from the
model; time per epoch and images/s come from the run (``time/*`` in metrics.csv, or wall time /
epochs for runs that predate them, marked ``~``).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from kanvision.training.export import model_flops

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    folder: Path
    dataset: str
    model: str
    kan: str
    args: dict
    epochs: int
    seed: int | None
    acc: float
    split: str
    params: int
    flops: int
    epoch_s: float
    approx_time: bool
    images_per_s: float | None
    machine: str

    @property
    def options(self) -> dict:
        """The model arguments that tell runs of one model apart (basis options, width)."""
        return {k: v for k, v in self.args.items() if k not in ("num_classes", "in_chans", "img_size", "kan")}

    @property
    def key(self) -> tuple:
        return (self.dataset, self.split, self.model, self.kan, json.dumps(self.options, sort_keys=True), self.epochs)


def _kan_label(run: Run) -> str:
    """``kan`` plus the options that set this run apart, e.g. ``bspline (grid_size=3, ...)``."""
    shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in run.options.items()}
    if not shown:
        return run.kan
    return f"{run.kan} ({', '.join(f'{k}={v}' for k, v in sorted(shown.items()))})"


def _shown(folder: Path) -> str:
    return str(folder.relative_to(ROOT)) if folder.is_relative_to(ROOT) else str(folder)


def _median(rows: list[dict], key: str) -> float | None:
    values = sorted(float(r[key]) for r in rows if r.get(key))
    return values[len(values) // 2] if values else None


def read_run(folder: Path) -> Run | None:
    """One run record, or None if the folder is not one."""
    metas = [p for p in folder.glob("*.json") if p.name != "meta.json"]
    if not metas or not (folder / "metrics.csv").is_file():
        return None
    meta = json.loads(metas[0].read_text())
    if "metrics" not in meta or not meta["metrics"]:
        return None
    with (folder / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    (split, values), = meta["metrics"].items()
    seed = meta.get("seed")
    if seed is None and (folder / "config.yaml").is_file():
        seed = yaml.safe_load((folder / "config.yaml").read_text()).get("seed_everything")
    epoch_s = _median(rows, "time/epoch_s")
    return Run(
        folder=folder, dataset=meta["dataset"], model=meta["model"], kan=meta["kan"], args=meta["args"],
        epochs=meta["epochs"], seed=seed, acc=values["acc@1"], split=split, params=meta["num_params"],
        flops=meta.get("flops") or model_flops(meta["model"], meta["args"], tuple(meta["input_size"])),
        epoch_s=epoch_s if epoch_s is not None else meta["wall_time_s"] / max(meta["epochs"], 1),
        approx_time=epoch_s is None, images_per_s=_median(rows, "time/train_images_per_s"),
        machine=meta.get("machine", "?"),
    )


def collect(results: Path = ROOT / "results") -> list[Run]:
    runs = [read_run(p) for p in sorted({m.parent for m in results.rglob("metrics.csv")})]
    return [r for r in runs if r is not None]


def _acc(accs: list[float]) -> str:
    if len(accs) == 1:
        return f"{accs[0]:.2f}"
    return f"{statistics.mean(accs):.2f} +- {statistics.stdev(accs):.2f}"


def _twin(groups: dict, means: dict, key: tuple, matched: bool) -> tuple | None:
    """The best-scoring standard (or parameter-matched: width_mult set) twin run group of a
    KAN row: same data, split, model and epochs, ``kan="none"``."""
    keys = [k for k in groups if k[:3] == key[:3] and k[3] == "none" and k[5] == key[5]
            and ("width_mult" in json.loads(k[4])) == matched]
    return max(keys, key=means.get) if keys else None


def _versus(groups: dict, means: dict, key: tuple, matched: bool) -> str:
    twin = _twin(groups, means, key, matched)
    gap = means[twin] - means[key]
    who = "**twin wins**" if gap > 0 else "KAN wins" if gap < 0 else "tie"
    kind = "matched twin" if matched else "standard twin"
    return f"{kind} {means[twin]:.2f} ({groups[twin][0].params:,} params): {who}"


def table(runs: list[Run]) -> list[list[str]]:
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        groups[run.key].append(run)
    means = {k: statistics.mean(r.acc for r in g) for k, g in groups.items()}
    rows = []
    for key, group in sorted(groups.items()):
        first = group[0]
        verdict = ""
        if first.kan != "none":
            verdict = "; ".join(_versus(groups, means, key, matched) for matched in (False, True) if _twin(groups, means, key, matched))
        images = f"{first.images_per_s:,.0f}" if first.images_per_s else "-"
        rows.append([
            first.dataset + ("" if first.split.isalnum() or "(" not in first.split else " (unverified copy)"),
            f"`{first.model}`", _kan_label(first), f"{first.params:,}", f"{first.flops / 1e6:,.1f}", str(first.epochs),
            f"{len(group)} / {len({r.seed for r in group})}", _acc([r.acc for r in group]),
            ("~" if first.approx_time else "") + f"{statistics.mean(r.epoch_s for r in group):.0f}",
            images, first.machine.replace("2-core CPU (AMD EPYC), ", "CPU, ").replace(" 1 torch threads", " 1 torch thread"), verdict or "-", ", ".join(_shown(r.folder) for r in group),
        ])
    return rows


HEADERS = ["data", "model", "kan", "params", "MFLOPs", "epochs", "runs / seeds", "test acc %", "s/epoch",
           "train img/s", "machine", "vs twins (same epochs)", "records"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanvision.results", description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    rows = table(collect(args.results))
    print("| " + " | ".join(HEADERS) + " |")
    print("|" + "---|" * len(HEADERS))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
