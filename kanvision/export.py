"""``python -m kanvision.export``: a zoo model's weights as ONNX, checked against PyTorch.

    python -m kanvision.export --model kan_convnet --pretrained mnist --onnx kan_convnet.onnx
    python -m kanvision.export --weights runs/.../kan_convnet.safetensors --onnx out.onnx
    python -m kanvision.export --model kan_convnet --pretrained mnist --onnx k.onnx --benchmark

Exports with a dynamic batch axis (see ``kanvision.onnx_export``), runs the file with onnxruntime
and prints the largest logit difference from PyTorch and the top-1 agreement on the dataset's
test images (``KANVISION_DATA``; ``--random-inputs`` checks on random images where the data is
not on disk). ``--benchmark`` adds CPU images/s of onnxruntime against PyTorch. A run's weights
themselves are exported after training by ``kanvision.training.export``.
"""

from __future__ import annotations

import argparse
import json
from itertools import islice
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kanvision.errors import DatasetNotFoundError, KanvisionError
from kanvision.runtime import run_cli

MAX_ABS_DIFF = 1e-4  # fp32 parity: the largest logit difference accepted


def load_for_export(model: str | None, pretrained: str | None, weights: str | None) -> tuple[nn.Module, dict[str, Any]]:
    """The model with its weights, and what is known about them (a shipped entry's metadata,
    or the run's ``<model>.json`` next to a ``.safetensors`` file)."""
    from kanvision.models import create_model, get_pretrained_cfg
    from kanvision.models.pretrained import default_tag_name, read_checkpoint_metadata

    if (pretrained is None) == (weights is None):
        raise KanvisionError("give exactly one of --pretrained TAG (with --model) and --weights PATH")
    if pretrained is not None:
        if model is None:
            raise KanvisionError("--pretrained needs --model NAME (e.g. --model kan_convnet --pretrained mnist)")
        entry = default_tag_name(model) if pretrained == "default" else f"{model}.{pretrained}"
        return create_model(entry or model, pretrained=True), get_pretrained_cfg(entry or model)
    if ":" in weights and not Path(weights).exists():  # hf-hub:... / local-dir:...
        net = create_model(weights)
        return net, {}
    saved, _ = read_checkpoint_metadata(weights)
    if model is not None and model != saved:
        raise KanvisionError(f"'{weights}' holds {saved}, not {model}: drop --model or pass --model {saved}")
    sidecar = Path(weights).with_suffix(".json")
    meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    return create_model(saved, pretrained=str(weights)), meta


def input_size(net: nn.Module, meta: dict[str, Any]) -> tuple[int, int, int]:
    """The input the weights were trained on: their metadata's, else the model's native size."""
    from kanvision.models import get_model_info
    from kanvision.models.adapt import model_arg

    if meta.get("input_size"):
        return tuple(meta["input_size"])
    native = get_model_info(net.kanvision_cfg["model"]).input_size
    size = net.kanvision_cfg["args"].get("img_size") or native[-1]
    return (model_arg(net, "in_chans"), size, size)


def test_batches(dataset: str | None, images: int | None, batch_size: int = 250):
    """Batches of the dataset's test split (normalised as in training), at most ``images``."""
    from kanvision.data import ImageDataModule

    if dataset is None:
        raise DatasetNotFoundError("the weights name no dataset: pass --dataset NAME")
    data = ImageDataModule(name=dataset, batch_size=batch_size, download=False)
    data.setup("test")
    batches = data.test_dataloader()
    return list(islice(batches, None if not images else -(-images // batch_size))), data.info.name


def run(argv: list[str] | None = None) -> dict[str, Any]:
    from kanvision.onnx_export import (
        OPSET,
        benchmark,
        export_onnx,
        onnx_session,
        parity,
        random_batches,
    )
    from kanvision.training.export import machine_description

    parser = argparse.ArgumentParser(prog="python -m kanvision.export", description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="registered model name (kanvision.list_models())")
    parser.add_argument("--pretrained", help="shipped weights tag of --model (e.g. mnist), or 'default'")
    parser.add_argument("--weights", help="a kanvision .safetensors file (a run's export), or hf-hub:/local-dir:")
    parser.add_argument("--onnx", type=Path, required=True, help="the .onnx file to write")
    parser.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET})")
    parser.add_argument("--dataset", help="test data to check on (default: the weights' dataset)")
    parser.add_argument("--images", type=int, default=2000, help="test images to compare on (0: all)")
    parser.add_argument("--random-inputs", action="store_true",
                        help="where the test data is not on disk, compare on random images instead")
    parser.add_argument("--benchmark", action="store_true", help="also time onnxruntime and PyTorch on the CPU")
    parser.add_argument("--batch", type=int, default=256, help="batch size of --benchmark")
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args(argv)

    net, meta = load_for_export(args.model, args.pretrained, args.weights)
    size = input_size(net, meta)
    path = export_onnx(net, args.onnx, size, args.opset)
    session = onnx_session(path, threads=torch.get_num_threads())
    try:
        batches, checked_on = test_batches(args.dataset or meta.get("dataset"), args.images)
    except DatasetNotFoundError as e:
        if not args.random_inputs:
            raise KanvisionError(
                f"no test images to check the export on ({str(e).split(':')[0]}): set KANVISION_DATA "
                "to the data folder, or pass --random-inputs to check on random images"
            ) from None
        print(f"no test data ({str(e).split(':')[0]}): checking on random inputs (--random-inputs)")
        batches, checked_on = random_batches(size), "random inputs"
    result = parity(net, session, batches)
    report: dict[str, Any] = {
        "model": net.kanvision_cfg["model"], "onnx": str(path), "opset": args.opset,
        "input_size": list(size), "checked_on": checked_on, "images": result.images,
        "max_abs_diff": result.max_abs_diff, "same_top1": result.same_top1,
        "torch": torch.__version__, "machine": machine_description("cpu"),
    }
    print(f"kanvision export | {report['model']} -> {path} (opset {args.opset}, dynamic batch) | "
          f"{checked_on}: {result.images} images, max |onnxruntime - torch| = {result.max_abs_diff:.2e}, "
          f"same top-1 on {result.same_top1}/{result.images}")
    if args.benchmark:
        speed = benchmark(net, session, size, batch=args.batch)
        report["benchmark"] = speed
        print(f"CPU images/s at batch {speed['batch']} ({report['machine']}, torch {torch.__version__}): "
              f"onnxruntime {speed['onnxruntime_images_per_s']:,.0f}, PyTorch {speed['torch_images_per_s']:,.0f} "
              f"({speed['speedup']:.2f}x)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if result.max_abs_diff > MAX_ABS_DIFF or not result.all_same_top1:
        raise KanvisionError(
            f"the ONNX export differs from PyTorch (max {result.max_abs_diff:.2e}, top-1 same on "
            f"{result.same_top1}/{result.images}): report it with the model name and --opset"
        )
    return report


def main(argv: list[str] | None = None) -> None:
    run_cli(run, argv)


if __name__ == "__main__":
    main()
