"""``python -m kanvision.results``: the results table, rebuilt from the committed run records.

Every folder under ``results/`` holding a run's ``<model>.json`` (written by train.py) and
``metrics.csv`` is one run. Runs of the same dataset, model, KAN type, arguments and epoch count
but different seeds (or repeats) are one row: test accuracy as mean +- std over its runs (std
with n - 1), with the number of runs and of distinct seeds. Each KAN row names its standard twin's result where one was run, and says
plainly when the twin wins (a gap within the seeds' spread, the larger std of two multi-seed
rows, is called level; between two single runs, a gap within the 95% margin of two accuracies on
the test set's images is). Params and FLOPs (one image, forward) are recomputed from the
model; time per epoch and images/s come from the runs (``time/*`` in metrics.csv, or wall time /
epochs for runs that predate them, marked ``~``): the median over the row's runs, with their range
when the runs differ by more than a quarter (seeds run on different code, or on a machine shared
with a different number of other runs). Runs tested with a test mask (``data.test_mask``: the
offline CIFAR-10 copy's 1,000 exact images) show the marked images' accuracy after the whole test
set's, with its Wilson 95% interval for a single run.

``--targets`` prints the accuracy-target table instead: for each target (dataset, parameter
budget, accuracy), the best KAN row within the budget (rows with the most seeds first), whether
its mean reaches the target, its parameter-matched twin, and the loop that repeats it.

``--write`` writes the generated tables (models, targets, shipped weights, all runs) into the
README and the documentation pages (``docs/``) between ``<!-- kanvision.results:NAME -->`` and
``<!-- /kanvision.results:NAME -->`` markers: each file gets the tables whose markers it holds
(the README only the targets), and every table must have a place. So the numbers in the README and
the documentation are always the committed records' numbers. ``--write FILE ...`` writes only
those files.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import re
import shlex
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from kanvision.data.datasets import get_dataset_info, list_datasets
from kanvision.recipes import current_command
from kanvision.stats import difference_margin
from kanvision.tables import format_table, kan_label, model_options
from kanvision.training.export import model_flops

ROOT = Path(__file__).resolve().parents[1]
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where built: ~10x faster over hundreds of records
SPREAD_SHOWN = 1.25  # a row's speed shows its runs' range when the slowest is this much slower than the fastest


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
    command: str | None = None
    exact: dict | None = None  # the test mask's subset: acc@1, ci95_wilson, images
    recipe: tuple = ()  # what sets the run's training apart: fine-tuning, extra augmentation; () if nothing
    test_images: int | None = None  # the size of the test set ``acc`` was measured on, where known

    @property
    def options(self) -> dict:
        """The model arguments that tell runs of one model apart (basis options, width)."""
        return model_options(self.args)

    @property
    def key(self) -> tuple:
        options = json.dumps(self.options, sort_keys=True)
        return (self.dataset, self.split, self.model, self.kan, options, self.epochs, self.recipe)


def _kan_label(run: Run) -> str:
    """``kan`` plus the options that set this run apart, model options first, then the recipe's,
    e.g. ``gram (degree=3, width_mult=0.8; jpeg_quality=(50, 100))``."""
    return kan_label(run.kan, run.options.items(), run.recipe)


def _shown(folder: Path) -> str:
    return str(folder.relative_to(ROOT)) if folder.is_relative_to(ROOT) else str(folder)


def _median(rows: list[dict], key: str) -> float | None:
    values = sorted(float(r[key]) for r in rows if r.get(key))
    return values[len(values) // 2] if values else None


def _timed_whole_epochs(rows: list[dict], wall_time_s: float | None) -> list[dict]:
    """The metric rows without the timing of an epoch that a resume entered mid-way: records
    written before the epoch timer knew of such resumes log it as an "epoch" longer than the
    whole run (its clock started at 0), and its throughput over that time as a tiny figure."""
    if not wall_time_s:
        return rows
    bogus = {r["epoch"] for r in rows if r.get("time/epoch_s") and float(r["time/epoch_s"]) > wall_time_s}
    return [{k: v for k, v in r.items() if not k.startswith("time/")} if r.get("epoch") in bogus else r for r in rows]


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
    config = yaml.load((folder / "config.yaml").read_text(), YAML_LOADER) if (folder / "config.yaml").is_file() else {}
    seed = meta.get("seed")
    if seed is None:
        seed = config.get("seed_everything")
    rows = _timed_whole_epochs(rows, meta.get("wall_time_s"))
    epoch_s = _median(rows, "time/epoch_s")
    return Run(
        folder=folder, dataset=meta["dataset"], model=meta["model"], kan=meta["kan"], args=meta["args"],
        epochs=meta["epochs"], seed=seed, acc=values["acc@1"], split=split, params=meta["num_params"],
        flops=meta.get("flops") or _flops(meta["model"], json.dumps(meta["args"], sort_keys=True), tuple(meta["input_size"])),
        epoch_s=epoch_s if epoch_s is not None else meta["wall_time_s"] / max(meta["epochs"], 1),
        approx_time=epoch_s is None, images_per_s=_median(rows, "time/train_images_per_s"),
        machine=meta.get("machine", "?"), command=meta.get("command"), exact=values.get("exact_subset"),
        recipe=_recipe(config, meta.get("command")), test_images=values.get("images") or _test_images(meta["dataset"]),
    )


@functools.cache
def _flops(model: str, args: str, input_size: tuple[int, ...]) -> int:
    """FLOPs of records that predate their ``flops`` field, counted once per model and arguments
    (``args`` as JSON, to be hashable): counting runs the model."""
    return model_flops(model, json.loads(args), input_size)


def _test_images(dataset: str) -> int | None:
    """For records that predate their ``images`` count: the registered dataset's test-set size
    (the offline CIFAR-10 copy has the official 10,000 too), or None for data-dependent sets and
    names the registry no longer has."""
    return get_dataset_info(dataset).test_images if dataset in list_datasets() else None


EXTRA_AUGMENTATION = (("data", "rand_augment"), ("data", "jpeg_quality"), ("model", "mixup"), ("model", "cutmix"))
FULL_PRECISION = {None, 32, "32", "32-true"}
#: (section, key) of the optimisation settings a command may change on top of its config, as
#: ``--section.key`` (e.g. ``--model.lr 0.006`` in a learning-rate sweep): a run that overrides
#: one is a row of its own, labelled with its value.
OPTIMISATION_SETTINGS = (
    ("model", "lr"), ("model", "weight_decay"), ("model", "optimizer"), ("model", "optimizer_kwargs"),
    ("model", "scheduler"), ("model", "warmup_fraction"), ("model", "min_lr_ratio"), ("model", "label_smoothing"),
    ("model", "reg_weight"), ("data", "batch_size"),
)


def _recipe(config: dict, command: str | None = None) -> tuple:
    """What sets a run's training apart, so that a row never mixes it with the plain recipe:
    the weights a fine-tuned run started from and its learning rate, any augmentation beyond
    crop and flip (RandAugment, JPEG compression, Mixup, CutMix), a numeric precision other than
    float32 (e.g. ``bf16-mixed``), and any optimisation setting the recorded command overrode
    (:data:`OPTIMISATION_SETTINGS`; the value is the run's config's)."""
    config = config or {}
    model = config.get("model") or {}
    recipe = [("pretrained", model["pretrained"]), ("lr", model.get("lr"))] if model.get("pretrained") else []
    for section, key in EXTRA_AUGMENTATION:
        value = (config.get(section) or {}).get(key)
        if value:
            recipe.append((key, tuple(value) if isinstance(value, list) else value))
    precision = (config.get("trainer") or {}).get("precision")
    if precision not in FULL_PRECISION:
        recipe.append(("precision", str(precision)))
    for section, key in _overridden(command):
        value = (config.get(section) or {}).get(key)
        if key not in dict(recipe):
            recipe.append((key, json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value))
    return tuple(recipe)


def _overridden(command: str | None) -> list[tuple[str, str]]:
    """The :data:`OPTIMISATION_SETTINGS` that ``command`` sets, as ``--section.key value`` or
    ``--section.key=value``."""
    words = shlex.split(command) if command else []
    flags = {word.split("=", 1)[0] for word in words if word.startswith("--")}
    return [(section, key) for section, key in OPTIMISATION_SETTINGS if f"--{section}.{key}" in flags]


def _shared_recipe(recipe: tuple) -> tuple:
    """What twins must share of a run's recipe: its extra augmentation, precision and overridden
    optimisation settings; not the weights a fine-tuned run started from (each twin starts from
    its own model's) nor the learning rate that the fine-tuning recipe records with them."""
    finetuned = any(key == "pretrained" for key, _ in recipe)
    return tuple(item for item in recipe if item[0] != "pretrained" and not (finetuned and item[0] == "lr"))


def collect(results: Path = ROOT / "results") -> list[Run]:
    runs = [read_run(p) for p in sorted({m.parent for m in results.rglob("metrics.csv")})]
    return [r for r in runs if r is not None]


def _acc(accs: list[float]) -> str:
    if len(accs) == 1:
        return f"{accs[0]:.2f}"
    return f"{statistics.mean(accs):.2f} +- {statistics.stdev(accs):.2f}"


def _exact(group: list[Run]) -> str:
    """``; exact 1,000: 63.10 (95% CI 60.07-66.03)`` when every run of the row has a test mask's
    subset (a row of several runs: their mean +- std), else nothing."""
    subsets = [r.exact for r in group]
    if not all(subsets):
        return ""
    images = f"{subsets[0]['images']:,}"
    if len(subsets) == 1:
        low, high = subsets[0]["ci95_wilson"]
        return f"; exact {images}: {subsets[0]['acc@1']:.2f} (95% CI {low:.2f}-{high:.2f})"
    return f"; exact {images}: {_acc([s['acc@1'] for s in subsets])}"


def _twin(groups: dict, means: dict, key: tuple, matched: bool) -> tuple | None:
    """The twin run group of a KAN row: same data, split, model, epochs and extra augmentation,
    ``kan="none"``.
    The standard twin has the KAN row's own width (``width_mult``, or none) and is the
    best-scoring one; the parameter-matched twin (another ``width_mult``) is the one closest in
    params (so a gram row meets the twin matched to gram, not to bspline), the best-scoring among
    equals."""
    width = json.loads(key[4]).get("width_mult")
    keys = [k for k in groups if k[:3] == key[:3] and k[3] == "none" and k[5] == key[5]
            and _shared_recipe(k[6]) == _shared_recipe(key[6])
            and (json.loads(k[4]).get("width_mult") != width) == matched]
    if not keys:
        return None
    if not matched:
        return max(keys, key=means.get)
    params = groups[key][0].params
    return min(keys, key=lambda k: (abs(groups[k][0].params - params), -means[k]))


def _verdict(kan: list[float], twin: list[float], test_images: int | None = None) -> str:
    """Who is ahead, KAN or twin, or level when the gap is within the noise: the seeds' spread
    (the larger std of the two rows that have several seeds), or, when there is no spread to go
    by (a single run each), the 95% margin of the difference of two accuracies measured on
    ``test_images`` images (``stats.difference_margin``)."""
    gap = statistics.mean(twin) - statistics.mean(kan)
    spread = max((statistics.stdev(accs) for accs in (kan, twin) if len(accs) > 1), default=0.0)
    if spread:
        if abs(gap) <= spread:
            return "level (within the seeds' spread)"
    elif test_images:
        margin = 100 * difference_margin(statistics.mean(kan) / 100, statistics.mean(twin) / 100, test_images)
        if abs(gap) <= margin:
            return f"level (within the test set's 95% margin, {margin:.2f})"
    elif gap == 0:
        return "tie"
    return "**twin wins**" if gap > 0 else "KAN wins"


def _versus(groups: dict, means: dict, key: tuple, matched: bool) -> str:
    twin = _twin(groups, means, key, matched)
    who = _verdict([r.acc for r in groups[key]], [r.acc for r in groups[twin]], groups[key][0].test_images)
    kind = "matched twin" if matched else "standard twin"
    return f"{kind} {means[twin]:.2f} ({groups[twin][0].params:,} params): {who}"


def _grouped(runs: list[Run]) -> tuple[dict[tuple, list[Run]], dict[tuple, float]]:
    """Runs grouped by data, model, arguments and epochs (the seeds of one row), and each group's mean accuracy."""
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        groups[run.key].append(run)
    return groups, {k: statistics.mean(r.acc for r in g) for k, g in groups.items()}


_CPU_MACHINE = re.compile(r"^\d+-core CPU \((?P<cpu>.*)\), ")
_CPU_NAME_NOISE = re.compile(r"\((?:R|TM)\)| Processor\b| CPU @ .*$")


def _machine_short(machine: str) -> str:
    """``2-core CPU (Intel(R) Xeon(R) Processor), 1 torch thread`` -> ``CPU (Intel Xeon), 1 torch
    thread``: shorter, but keeping the CPU model, since one model's epoch time differs by tens of
    per cent between machines."""
    def short(match: re.Match) -> str:
        return f"CPU ({_CPU_NAME_NOISE.sub('', match['cpu']).strip()}), "
    return _CPU_MACHINE.sub(short, machine).replace(" 1 torch threads", " 1 torch thread")


def _machines(group: list[Run]) -> str:
    """The row's machines, each named once in run order (a row's seeds may have run on
    different machines, or on one shared with a different number of other runs)."""
    return " / ".join(dict.fromkeys(_machine_short(r.machine) for r in group))


def _typical(values: list[float]) -> str:
    """A row's per-run speed figure: the median, plus the range when the runs differ by more than a
    quarter, so one slow seed (older code, a busier machine) neither hides nor skews the row."""
    middle, low, high = statistics.median(values), min(values), max(values)
    if high <= SPREAD_SHOWN * low:
        return f"{middle:,.0f}"
    return f"{middle:,.0f} ({low:,.0f}-{high:,.0f})"


def _describe(groups: dict, means: dict, key: tuple) -> dict[str, str]:
    """The cells of one run group (a row) that every results table draws from."""
    group = groups[key]
    first = group[0]
    verdict = ""
    if first.kan != "none":
        verdict = "; ".join(_versus(groups, means, key, matched) for matched in (False, True) if _twin(groups, means, key, matched))
    speeds = [r.images_per_s for r in group if r.images_per_s]
    return {
        "data": first.dataset + ("" if first.split.isalnum() or "(" not in first.split else " (unverified copy)"),
        "model": f"`{first.model}`", "kan": _kan_label(first), "params": f"{first.params:,}",
        "MFLOPs": f"{first.flops / 1e6:,.1f}", "epochs": str(first.epochs),
        "runs / seeds": f"{len(group)} / {len({r.seed for r in group})}",
        "seeds": str(len({r.seed for r in group})),
        "test acc %": _acc([r.acc for r in group]) + _exact(group),
        "s/epoch": ("~" if any(r.approx_time for r in group) else "") + _typical([r.epoch_s for r in group]),
        "train img/s": _typical(speeds) if speeds else "-", "machine": _machines(group),
        "vs twins (same epochs)": verdict or "-", "records": ", ".join(_shown(r.folder) for r in group),
        "repeat": f"`{seeds_loop(first.command, sorted({r.seed or 0 for r in group}))}`",
    }


def table(runs: list[Run]) -> list[list[str]]:
    """Every run group (all datasets), with the folders of its records."""
    groups, means = _grouped(runs)
    return [[_describe(groups, means, key)[h] for h in HEADERS] for key in sorted(groups)]


def dataset_table(runs: list[Run], dataset: str) -> list[list[str]]:
    """The run groups of one dataset, each with the command that repeats it (the README's view):
    the KAN rows and their twins, with accuracy, speed and the machine they ran on."""
    groups, means = _grouped([r for r in runs if r.dataset == dataset])
    return [[_describe(groups, means, key)[h] for h in DATASET_HEADERS] for key in sorted(groups)]


@dataclass(frozen=True)
class Target:
    dataset: str
    max_params: int
    min_acc: float
    label: str = ""  # how the dataset is named in the table (default: its registry name)

    def __str__(self) -> str:
        return f"{self.label or self.dataset}: >= {self.min_acc}% with <= {self.max_params:,} params"


TARGETS = (
    Target("mnist", 100_000, 99.5),
    Target("fashion_mnist", 100_000, 92.5),
    Target("fashion_mnist", 10_000, 90.0),
    Target("cifar10", 1_000_000, 88.0, "cifar10 (offline copy, full test set)"),
)


# Flags (each with its value) of a recorded command that say how a run went, not what it ran:
# the seed (the loop supplies it), the log folder, the progress bar and the resume checkpoint.
NOT_REPEATED_FLAGS = ("--seed_everything", "--logging.save_dir", "--trainer.enable_progress_bar", "--ckpt_path")


def seeds_loop(command: str | None, seeds: int | Sequence[int] = 3) -> str:
    """The run's train.py command as a loop over seeds, without its seed, log folder, progress
    bar, resume flag (``--ckpt_path``: how a stopped run went on, not what it ran) and environment
    (``KANVISION_DATA``): what a reader types to repeat the row. A config
    that has become a recipe plus flags (:mod:`kanvision.recipes`) is written as such; an
    absolute ``--data.root`` (where the data lay on the machine that ran it) becomes
    ``path/to/<folder>``."""
    if not command:
        return "-"
    words, kept = shlex.split(current_command(command)), []
    while words:
        word = words.pop(0)
        if word in NOT_REPEATED_FLAGS:
            words.pop(0)
        elif word == "--data.root" and words and words[0].startswith("/"):
            kept += [word, f"path/to/{Path(words.pop(0)).name}"]
        elif "=" not in word or word.startswith("-"):
            kept.append(word)
    seeds = list(range(seeds)) if isinstance(seeds, int) else sorted(seeds)
    if len(seeds) == 1:
        return f"{shlex.join(kept)} --seed_everything {seeds[0]}"
    return f"for s in {' '.join(map(str, seeds))}; do {shlex.join(kept)} --seed_everything $s; done"


def target_table(runs: list[Run], targets: tuple[Target, ...] = TARGETS) -> list[list[str]]:
    """One row per target: the best KAN run group within the budget and how it fares."""
    groups, means = _grouped(runs)
    rows = []
    for target in targets:
        fits = [k for k, g in groups.items() if k[0] == target.dataset and k[3] != "none"
                and g[0].params <= target.max_params]
        if not fits:
            rows.append([str(target), "no run yet", "-", "-", "-", "-", "-", "-"])
            continue
        best = max(fits, key=lambda k: (len(groups[k]), means[k]))
        group, twin = groups[best], _twin(groups, means, best, matched=True)
        accs = [r.acc for r in group]
        met = "**yes**" if means[best] >= target.min_acc else f"no ({target.min_acc - means[best]:.2f} short)"
        versus = "-"
        if twin:
            twin_accs = [r.acc for r in groups[twin]]
            who = _verdict(accs, twin_accs, group[0].test_images)
            versus = f"{_acc(twin_accs)} ({len(twin_accs)} seed{'s' * (len(twin_accs) > 1)}, {groups[twin][0].params:,} params): {who}"
        exact = _exact(group)
        shown = f"{_acc(accs)} ({len(accs)} seed{'s' * (len(accs) > 1)}){exact}"
        rows.append([
            str(target), f"`{group[0].model}` {_kan_label(group[0])}", f"{group[0].params:,}", str(group[0].epochs),
            shown, met, versus, f"`{seeds_loop(group[0].command)}`",
        ])
    return rows


TARGET_HEADERS = ["target", "best KAN model within budget", "params", "epochs", "test acc %", "met",
                  "parameter-matched twin (same epochs)", "repeat"]

HEADERS = ["data", "model", "kan", "params", "MFLOPs", "epochs", "runs / seeds", "test acc %", "s/epoch",
           "train img/s", "machine", "vs twins (same epochs)", "records"]


DATASET_HEADERS = ["model", "kan", "params", "epochs", "seeds", "test acc %", "s/epoch", "train img/s", "machine",
                   "vs twins (same epochs)", "repeat"]
DATASET_TABLES = ("cifar10",)  # datasets whose rows the README shows whole, by marker name


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    return format_table(rows, headers, markdown=True)


def readme_tables(results: Path = ROOT / "results") -> dict[str, str]:
    """The generated tables of the README and the documentation, by marker name."""
    from kanvision.models.__main__ import PRETRAINED_HEADERS, models_markdown, pretrained_rows

    runs = collect(results)
    return {"models": models_markdown(),
            "targets": markdown(TARGET_HEADERS, target_table(runs)),
            "pretrained": markdown(PRETRAINED_HEADERS, pretrained_rows()),
            "runs": markdown(HEADERS, table(runs)),
            **{name: markdown(DATASET_HEADERS, dataset_table(runs, name)) for name in DATASET_TABLES}}


DOC_FILES = (ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")))


def _marker(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- kanvision\.results:{name} -->\n).*?(<!-- /kanvision\.results:{name} -->)", re.DOTALL)


def fill_present(text: str, tables: dict[str, str]) -> tuple[str, set[str]]:
    """``text`` with the marked blocks it holds replaced by their tables, and the names filled."""
    found = {name for name in tables if _marker(name).search(text)}
    return fill_readme(text, {name: tables[name] for name in found}), found


def write_tables(files: Sequence[Path], tables: dict[str, str]) -> list[Path]:
    """Fill every marked block in ``files``; a table whose marker no file holds is an error.
    Returns the files that changed."""
    texts, placed = {}, set()
    for path in files:
        texts[path], found = fill_present(path.read_text(), tables)
        placed |= found
    if missing := sorted(set(tables) - placed):
        raise ValueError(f"no '<!-- kanvision.results:{missing[0]} -->' ... '<!-- /kanvision.results:{missing[0]} -->' "
                         f"block in {', '.join(_shown(f) for f in files)}: add the two marker lines where the table goes")
    changed = [path for path, text in texts.items() if path.read_text() != text]
    for path in changed:
        path.write_text(texts[path])
    return changed


def fill_readme(text: str, tables: dict[str, str]) -> str:
    """``text`` with each marked block replaced by its table; a missing marker is an error."""
    for name, body in tables.items():
        pattern = re.compile(rf"(<!-- kanvision\.results:{name} -->\n).*?(<!-- /kanvision\.results:{name} -->)", re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"no '<!-- kanvision.results:{name} -->' ... '<!-- /kanvision.results:{name} -->' block "
                             "in the README: add the two marker lines where the table goes")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanvision.results", description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--targets", action="store_true", help="print the accuracy-target table")
    parser.add_argument("--write", type=Path, nargs="*", metavar="FILE",
                        help="rewrite the marked tables in these files (default: README.md and docs/*.md) "
                        "instead of printing")
    parser.add_argument("--readme", type=Path, help=argparse.SUPPRESS)  # older spelling of --write FILE
    args = parser.parse_args(argv)
    if args.readme:
        args.write = [args.readme]
    if args.write is not None:
        files = args.write or list(DOC_FILES)
        try:
            changed = write_tables(files, readme_tables(args.results))
        except ValueError as e:
            parser.exit(2, f"error: {e}\n")
        print(f"rewrote the results tables in {', '.join(_shown(f) for f in changed) or 'no file (all up to date)'}")
        return 0
    runs = collect(args.results)
    print(markdown(TARGET_HEADERS, target_table(runs)) if args.targets else markdown(HEADERS, table(runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
