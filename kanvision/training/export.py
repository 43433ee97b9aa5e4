"""After a run: export the trained network as weights-only safetensors plus a metadata sidecar."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kanvision.data.datasets import DatasetInfo
from kanvision.models import count_flops, count_params, save_pretrained
from kanvision.models.registry import build_model

MACHINE_NOTE_ENV = "KANVISION_MACHINE_NOTE"


def machine_description(accelerator: str = "cpu") -> str:
    """A short description of the hardware a run used, e.g. ``2-core CPU (AMD EPYC ...)``.

    ``$KANVISION_MACHINE_NOTE``, when set, is appended (e.g. ``shared with 5 other runs``), so a
    run on a shared machine says so in its record instead of the record being edited by hand.
    """
    note = os.environ.get(MACHINE_NOTE_ENV, "").strip()
    return _hardware(accelerator) + (f", {note}" if note else "")


def _hardware(accelerator: str) -> str:
    if accelerator == "cuda" and torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = torch.get_num_threads()
    return f"{os.cpu_count()}-core CPU ({cpu}), {threads} torch thread{'s' * (threads != 1)}"


def run_command() -> str:
    """The command line of this run, with the data-folder variable if it was set, quoted for a
    shell so that it repeats as it is (an argument such as ``--model.model_kwargs '{"degree": 3}'``
    stays one word)."""
    env = f"KANVISION_DATA={shlex.quote(os.environ['KANVISION_DATA'])} " if os.environ.get("KANVISION_DATA") else ""
    return env + shlex.join(["python", *sys.argv])


def model_flops(name: str, args: dict[str, Any], input_size: tuple[int, ...]) -> int:
    """Forward FLOPs of one image, counted on a meta-device copy of the model (no compute)."""
    with torch.device("meta"):
        model = build_model(name, **args)
    return count_flops(model, tuple(input_size))


def export_run(
    net: nn.Module,
    run_dir: str | os.PathLike,
    *,
    data: DatasetInfo,
    test_acc: float | None,
    epochs: int,
    wall_time_s: float,
    accelerator: str,
    data_verified: bool = True,
    exact: dict[str, Any] | None = None,
    test_images: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``<run_dir>/<model>.safetensors`` and ``<model>.json`` (the pretrained metadata).

    With ``data_verified=False`` (md5 check skipped, e.g. the re-built offline CIFAR-10) the
    accuracy is filed under ``"<dataset> (unverified copy)"``, never as the official one.
    ``exact`` (a test mask's subset: ``acc@1``, ``ci95_wilson``, ``images``, ...) is filed next to
    it as ``exact_subset``, and ``test_images``, the number of images the accuracy was measured on,
    as ``images``."""
    split = data.folder if data_verified else f"{data.folder} (unverified copy)"
    metrics: dict[str, Any] = {}
    if test_acc is not None:
        metrics[split] = {"acc@1": round(100 * test_acc, 2), **({"images": test_images} if test_images else {}),
                          **({"exact_subset": exact} if exact else {})}
    run_dir = Path(run_dir)
    name = net.kanvision_cfg["model"]
    weights = save_pretrained(net, run_dir / f"{name}.safetensors")
    meta = {
        "model": name,
        "file": weights.name,
        "kan": net.kanvision_cfg["args"].get("kan", "bspline"),
        "args": net.kanvision_cfg["args"],
        "num_params": count_params(net).total,
        "flops": model_flops(name, net.kanvision_cfg["args"], data.input_size),
        "num_classes": data.num_classes,
        "input_size": list(data.input_size),
        "mean": list(data.mean),
        "std": list(data.std),
        "dataset": data.name,
        "metrics": metrics,
        "data_verified": data_verified,
        "epochs": epochs,
        "wall_time_s": round(wall_time_s, 1),
        "machine": machine_description(accelerator),
        "command": run_command(),
        **(extra or {}),
    }
    (run_dir / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return weights
