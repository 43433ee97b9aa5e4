"""Ship a finished run: ``python -m kanvision.ship RUN_DIR --tag mnist``.

Copies the run's exported weights and metadata to ``checkpoints/<model>.<tag>.*`` (what
``create_model("<model>.<tag>", pretrained=True)`` loads) and its config, metrics and log to
``results/<tag>/<model>-<kan>/`` so the numbers in the README can be traced and repeated.
With ``--fp16`` the weights are stored in half precision, after a check on the run's test set
that this leaves the accuracy unchanged (within ``FP16_TOLERANCE`` points, on the whole test set
and on its exact subset where it has one); both precisions' accuracies are kept in the metadata. With ``--url URL`` the weights are hosted outside the repository (too large
for ``checkpoints/``): they are written to ``hosted/`` to be uploaded to ``URL``, and the entry
records the url and sha256 (``kanvision.models.hub`` downloads and checks them on first use).
``--record-only RESULTS_DIR`` copies only the records, for runs whose weights are not shipped
(a shipped model's other seeds). ``--hub-folder DIR --entry <model>.<tag>`` writes the Hugging Face
Hub folder of a shipped entry (config.json, model.safetensors, model card) for upload.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
import yaml

from kanvision.errors import KanvisionError
from kanvision.models.hub import sha256
from kanvision.models.pretrained import checkpoint_dir, list_pretrained, save_half_precision
from kanvision.runtime import run_cli

FP16_TOLERANCE = 0.05  # test-accuracy points fp16 storage may move a model (the zoo's reproduction tolerance)


def collapse_redraws(log: bytes) -> bytes:
    """A console log with each progress-bar line (redrawn with ``\\r``) kept in its final state.

    The bars' redraws make a log of a few epochs megabytes long; their last state keeps every
    epoch's summary (loss, val/acc, time) that a reader of the record needs.
    """
    return b"\n".join(line.rsplit(b"\r", 1)[-1] for line in log.split(b"\n"))


# Each accuracy the test reports: how fp16_check names it in the metadata and in its error. The
# whole test set, and the exact subset where the dataset has a test mask (the offline CIFAR-10 copy).
_CHECKED_ACCURACIES = {"top1": ("test_acc", "test accuracy"),
                       "top1_exact": ("exact_acc", "accuracy on the exact test images")}


def fp16_check(run_dir: Path, meta: dict[str, Any], full: Path, half: Path,
               tolerance: float | None = None) -> dict[str, Any]:
    """Test accuracy of the fp32 and the fp16-stored weights on the run's dataset (loaded once),
    on the whole test set and on its exact subset where there is one; raises when any of them
    differ by more than ``tolerance`` points (default ``FP16_TOLERANCE``), so half precision
    never ships a model that scores differently from its stated numbers."""
    from kanvision.data import ImageDataModule
    from kanvision.models import create_model
    from kanvision.training.evaluate import evaluate

    tolerance = FP16_TOLERANCE if tolerance is None else tolerance
    data_cfg = (yaml.safe_load((run_dir / "config.yaml").read_text()) or {}).get("data") or {}
    data = ImageDataModule(**data_cfg)
    fp32, fp16 = (
        evaluate(create_model(meta["model"], pretrained=str(f)), data, torch.device("cpu"))
        for f in (full, half)
    )
    check: dict[str, Any] = {}
    for key, (name, what) in _CHECKED_ACCURACIES.items():
        if key not in fp32:
            continue
        check |= {f"fp32_{name}": fp32[key], f"fp16_{name}": fp16[key]}
        if abs(fp32[key] - fp16[key]) > tolerance:
            raise KanvisionError(
                f"fp16 storage moves {meta['model']}'s {what} from {fp32[key]:.2f}% to {fp16[key]:.2f}% "
                f"(more than {tolerance} points): ship it in fp32 (omit --fp16)"
            )
    return {**check, "tolerance": tolerance}


def hosted_dir() -> Path:
    """Where ``ship --url`` leaves weights for upload: git-ignored ``hosted/`` next to
    ``checkpoints/`` (copy a file into ``kanvision.models.hub.cache_dir()`` to load it before
    the upload)."""
    return checkpoint_dir().parent / "hosted"


def ship(run_dir: Path, tag: str, *, log: Path | None = None, default: bool | None = None,
         fp16: bool = False, url: str | None = None) -> Path:
    """Copy a run's weights to the checkpoint folder and its records to ``results/``
    (``fp16``: stored in half precision once a test-set check shows the accuracy unchanged;
    ``url``: the weights are hosted there, so they go to ``hosted/`` for upload instead)."""
    meta_file = _metadata_file(run_dir)
    meta = json.loads(meta_file.read_text())
    name = f"{meta['model']}.{tag}"
    storage: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        weights = run_dir / meta["file"]
        if fp16:  # checked before anything is copied, so a failed check leaves no partial entry
            half = save_half_precision(weights, Path(tmp) / "half.safetensors")
            storage = {"storage_dtype": "float16", "fp16_check": fp16_check(run_dir, meta, weights, half)}
            weights = half
        results = checkpoint_dir().parent / "results" / tag / f"{meta['model']}-{meta['kan']}"
        _copy_records(run_dir, meta_file, results, log)
        in_repo = checkpoint_dir() / f"{name}.safetensors"
        dest = hosted_dir() / in_repo.name if url else in_repo
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights, dest)  # not copy2: a temporary file's 0600 mode
        if url:  # a stale file in checkpoints/ would be loaded instead of the hosted one
            in_repo.unlink(missing_ok=True)
            storage["url"] = url
    return _write_metadata(meta, name, tag, default, {"results": results, **storage}, sha256(dest))


def record(run_dir: Path, results: Path, *, log: Path | None = None) -> Path:
    """Copy a run's records to ``results`` without shipping its weights: for the other seeds of
    a shipped model, whose numbers the results table averages in."""
    _copy_records(run_dir, _metadata_file(run_dir), results, log)
    return results


def hub_folder(entry: str, folder: Path) -> Path:
    """The Hub folder of a shipped entry, its metadata (accuracy, command, twins) in the card."""
    from kanvision.models import create_model, get_pretrained_cfg, save_pretrained

    meta = get_pretrained_cfg(entry)
    return save_pretrained(create_model(entry, pretrained=True), folder, meta)


def _metadata_file(run_dir: Path) -> Path:
    """The one metadata .json train.py exports into a run's version folder."""
    meta_files = sorted(run_dir.glob("*.json"))
    if len(meta_files) != 1:
        raise KanvisionError(
            f"'{run_dir}' holds {len(meta_files)} metadata .json files, not 1: pass the "
            "version_<n> folder of one train.py run"
        )
    return meta_files[0]


def _copy_records(run_dir: Path, meta_file: Path, results: Path, log: Path | None) -> None:
    """The run's config, metrics, metadata and (collapsed) console log, under ``results/``."""
    results.mkdir(parents=True, exist_ok=True)
    for file in ("config.yaml", "metrics.csv", meta_file.name):
        shutil.copy2(run_dir / file, results / file)
    if log is not None:
        (results / "train.log").write_bytes(collapse_redraws(log.read_bytes()))


def _write_metadata(meta: dict[str, Any], name: str, tag: str, default: bool | None,
                    extra: dict[str, Any], digest: str) -> Path:
    """The entry's metadata next to its weights (``extra``: its ``results`` folder and any
    storage fields); ``default`` moves the model's default mark to this entry."""
    dest = checkpoint_dir()
    others = [n for n in list_pretrained(f"{meta['model']}.*") if n != name]
    if default:  # one default per model: the others give it up
        for other in others:
            other_file = dest / f"{other}.json"
            other_meta = json.loads(other_file.read_text())
            if other_meta.get("default"):
                other_file.write_text(json.dumps({**other_meta, "default": False}, indent=2) + "\n")
    first_for_model = not others
    meta.update(
        file=f"{name}.safetensors",
        sha256=digest,
        tag=tag,
        default=first_for_model if default is None else default,
        **{**extra, "results": str(extra["results"].relative_to(dest.parent))},
    )
    dest.mkdir(parents=True, exist_ok=True)  # the first entry may be hosted, its weights elsewhere
    (dest / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return dest / f"{name}.json"


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kanvision.ship", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, nargs="?", help="a run directory written by train.py")
    # one of: ship the weights under a tag, only record the run, or write a Hub folder
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--hub-folder", type=Path, metavar="DIR",
                        help="write the Hub folder of the shipped entry --entry to DIR (upload it with "
                        "kanvision.push_to_hub or `hf upload`)")
    parser.add_argument("--entry", help="the shipped entry <model>.<tag> that --hub-folder writes")
    target.add_argument("--tag", help="weights tag, usually the dataset")
    target.add_argument("--record-only", type=Path, metavar="RESULTS_DIR",
                        help="copy only the run's records to this folder (e.g. results/mnist-seeds/"
                        "kan_convnet-s1), no weights: for the other seeds of a shipped model")
    parser.add_argument("--log", type=Path, help="console log of the run to keep with it")
    parser.add_argument("--default", action="store_true",
                        help="make it the model's default weights (create_model(model, pretrained=True))")
    parser.add_argument("--fp16", action="store_true",
                        help="store the weights in half precision (checked on the test set first)")
    parser.add_argument("--url", help="host the weights at this URL instead of in checkpoints/ "
                        "(for files too large for the repository; upload the file it names)")
    args = parser.parse_args(argv)
    if args.hub_folder:
        if not args.entry or args.run_dir:
            parser.error("--hub-folder writes a shipped entry: give --entry <model>.<tag> and no run_dir")
        print(hub_folder(args.entry, args.hub_folder))
        return
    if args.run_dir is None:
        parser.error("give the run_dir of a train.py run to ship or record")
    if args.record_only:
        if args.default or args.fp16 or args.url:
            parser.error("--default, --fp16 and --url apply to shipped weights: drop them with "
                         "--record-only, or ship with --tag instead")
        print(record(args.run_dir, args.record_only, log=args.log))
        return
    meta_file = ship(args.run_dir, args.tag, log=args.log, default=True if args.default else None,
                     fp16=args.fp16, url=args.url)
    print(meta_file)
    if args.url:
        entry = json.loads(meta_file.read_text())
        print(f"upload {hosted_dir() / entry['file']} to {args.url} (sha256 {entry['sha256']})")


def main(argv: list[str] | None = None) -> None:
    run_cli(run, argv)


if __name__ == "__main__":
    main()
