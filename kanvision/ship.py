"""Ship a finished run: ``python -m kanvision.ship RUN_DIR --tag mnist``.

Copies the run's exported weights and metadata to ``checkpoints/<model>.<tag>.*`` (what
``create_model("<model>.<tag>", pretrained=True)`` loads) and its config, metrics and log to
``results/<tag>/<model>-<kan>/`` so the numbers in the README can be traced and repeated.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

from kanvision.models.pretrained import checkpoint_dir, list_pretrained


def sha256(path: Path) -> str:
    """Hex sha256 of a file, recorded with every shipped checkpoint and checked by the tests."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def collapse_redraws(log: bytes) -> bytes:
    """A console log with each progress-bar line (redrawn with ``\\r``) kept in its final state.

    The bars' redraws make a log of a few epochs megabytes long; their last state keeps every
    epoch's summary (loss, val/acc, time) that a reader of the record needs.
    """
    return b"\n".join(line.rsplit(b"\r", 1)[-1] for line in log.split(b"\n"))


def ship(run_dir: Path, tag: str, *, log: Path | None = None, default: bool | None = None) -> Path:
    """Copy a run's weights to the checkpoint folder and its records to ``results/``."""
    (meta_file,) = [p for p in run_dir.glob("*.json")]
    meta = json.loads(meta_file.read_text())
    name = f"{meta['model']}.{tag}"
    dest = checkpoint_dir()
    dest.mkdir(parents=True, exist_ok=True)
    results = dest.parent / "results" / tag / f"{meta['model']}-{meta['kan']}"
    results.mkdir(parents=True, exist_ok=True)
    for file in ("config.yaml", "metrics.csv", meta_file.name):
        shutil.copy2(run_dir / file, results / file)
    if log is not None:
        (results / "train.log").write_bytes(collapse_redraws(log.read_bytes()))
    shutil.copy2(run_dir / meta["file"], dest / f"{name}.safetensors")
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
        sha256=sha256(dest / f"{name}.safetensors"),
        tag=tag,
        default=first_for_model if default is None else default,
        results=str(results.relative_to(dest.parent)),
    )
    (dest / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return dest / f"{name}.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a run directory written by train.py")
    parser.add_argument("--tag", required=True, help="weights tag, usually the dataset")
    parser.add_argument("--log", type=Path, help="console log of the run to keep with it")
    parser.add_argument("--default", action="store_true",
                        help="make it the model's default weights (create_model(model, pretrained=True))")
    args = parser.parse_args()
    print(ship(args.run_dir, args.tag, log=args.log, default=True if args.default else None))


if __name__ == "__main__":
    main()
