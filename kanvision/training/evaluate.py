"""``python evaluate.py``: test a model's weights on a dataset's test split.

Weights come from a shipped tag (``--pretrained TAG``), a kanvision ``.safetensors`` export or a
Lightning ``.ckpt`` written by train.py (``--checkpoint PATH``). Prints one summary line and the
JSON it writes: top-1 / top-5 accuracy, mean loss, params, FLOPs and images/s (model forward
only, data loading excluded). With a test mask (``--data.test_mask``; by default the
``test_is_exact.npy`` found in the data folder, as the offline CIFAR-10 copy has) it also reports
the top-1 accuracy on the marked images alone, with its Wilson 95% interval.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from jsonargparse import ArgumentParser
from torch import nn

from kanvision.data import ImageDataModule
from kanvision.errors import CheckpointError, KanvisionError
from kanvision.models import count_flops, count_params, create_model, get_model_info
from kanvision.models.pretrained import default_tag_name
from kanvision.runtime import run_cli
from kanvision.stats import wilson_interval
from kanvision.training.resume import load_lightning_checkpoint


def model_from_lightning_checkpoint(name: str, path: Path) -> nn.Module:
    """Rebuild the network of a train.py checkpoint from its hyper-parameters and load it."""
    ckpt = load_lightning_checkpoint(path)
    hp = ckpt.get("hyper_parameters", {})
    if hp.get("model") != name:
        raise CheckpointError(
            f"checkpoint '{path}' holds model '{hp.get('model')}', not '{name}': "
            f"use --model {hp.get('model')}"
        )
    model = create_model(
        name, kan=hp.get("kan"), num_classes=hp.get("num_classes"), in_chans=hp.get("in_chans"),
        img_size=hp.get("img_size"), **(hp.get("model_kwargs") or {}),
    )
    state = {k.removeprefix("net."): v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[-1].strip()
        raise CheckpointError(f"checkpoint '{path}' does not fit {name} ({first}): use its config") from None
    return model


HUB_PREFIXES = ("hf-hub:", "local-dir:")  # model names that are a Hub folder with its weights


def load_model(name: str, pretrained: str | None, checkpoint: str | None) -> nn.Module:
    """The model with the requested weights (exactly one of ``pretrained`` / ``checkpoint``, or
    neither for a Hub folder ``hf-hub:...`` / ``local-dir:...``, which carries its weights)."""
    if name.startswith(HUB_PREFIXES):
        if pretrained is not None or checkpoint is not None:
            raise KanvisionError(f"{name} carries its own weights: drop --pretrained/--checkpoint")
        return create_model(name, pretrained=True)
    if (pretrained is None) == (checkpoint is None):
        raise KanvisionError("give exactly one of --pretrained TAG and --checkpoint PATH")
    if pretrained is not None:
        tagged = default_tag_name(name) if pretrained == "default" else f"{name}.{pretrained}"
        return create_model(tagged, pretrained=True)
    path = Path(checkpoint)
    if path.suffix == ".ckpt":
        return model_from_lightning_checkpoint(name, path)
    return create_model(name, pretrained=str(path))


def weights_name(cfg: Any) -> str:
    """What the weights are called in reports: the checkpoint path, ``<model>.<tag>``, or the Hub
    folder name (which carries its weights)."""
    return cfg.checkpoint or (f"{cfg.model}.{cfg.pretrained}" if cfg.pretrained else cfg.model)


def file_slug(name: str) -> str:
    """``name`` usable in a file name: a Hub name such as ``hf-hub:org/repo`` becomes ``hf-hub-org-repo``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")


@torch.no_grad()
def evaluate(model: nn.Module, data: ImageDataModule, device: torch.device) -> dict[str, Any]:
    """Top-1 accuracy with its Wilson 95% interval, top-5, mean loss and forward throughput on
    the test split; with a test mask also ``top1_exact`` on the marked images, its interval and
    their number."""
    model = model.to(device).eval()
    data.setup("test")
    correct1 = correct5 = seen = exact_correct = exact_seen = 0
    loss_sum, forward_s = 0.0, 0.0
    loader = data.test_dataloader()
    model(next(iter(loader))[0].to(device))  # warm-up (first-call allocation and compilation)
    for x, y, *marked in loader:  # a masked test set adds whether each image is marked
        x, y = x.to(device), y.to(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        logits = model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        forward_s += time.perf_counter() - start
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        top = logits.topk(min(5, logits.shape[1]), dim=1).indices
        correct1 += (top[:, 0] == y).sum().item()
        correct5 += (top == y[:, None]).any(dim=1).sum().item()
        seen += y.numel()
        if marked:
            exact = marked[0].to(device)
            exact_correct += (top[:, 0] == y)[exact].sum().item()
            exact_seen += exact.sum().item()
    report = {
        "top1": round(100 * correct1 / seen, 3),
        "top1_ci95_wilson": [round(100 * v, 2) for v in wilson_interval(correct1, seen)],
        "top5": round(100 * correct5 / seen, 3),
        "loss": round(loss_sum / seen, 5),
        "images": seen,
        "images_per_s": round(seen / max(forward_s, 1e-9), 1),
    }
    if exact_seen:
        report |= {
            "top1_exact": round(100 * exact_correct / exact_seen, 3),
            "top1_exact_ci95_wilson": [round(100 * v, 2) for v in wilson_interval(exact_correct, exact_seen)],
            "exact_images": exact_seen,
        }
    return report


def add_model_and_data_arguments(parser: ArgumentParser) -> ArgumentParser:
    """``--model``, ``--pretrained`` / ``--checkpoint``, ``--device`` and ``--data.*``: shared by
    ``evaluate.py`` and ``python -m kanvision.inspect``."""
    parser.add_argument("--model", type=str, required=True, help="registered model name")
    parser.add_argument("--pretrained", type=str | None, default=None,
                        help="shipped weights tag (e.g. mnist), or 'default'")
    parser.add_argument("--checkpoint", type=str | None, default=None,
                        help="a .safetensors export or a train.py .ckpt")
    parser.add_argument("--device", type=str, default="auto", help="auto, cpu or cuda")
    parser.add_class_arguments(ImageDataModule, "data")
    return parser


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="evaluate.py", description=__doc__.splitlines()[0], exit_on_error=False)
    parser.add_argument("--out", type=str | None, default=None,
                        help="JSON file to write (default: eval-<model>-<dataset>.json)")
    return add_model_and_data_arguments(parser)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def parse(parser: ArgumentParser, args: list[str] | None) -> tuple[Any, ImageDataModule]:
    """Parsed arguments and the instantiated datamodule, with one-line errors."""
    try:
        cfg = parser.parse_args(args)
    except Exception as e:  # noqa: BLE001  (jsonargparse raises its own error types)
        raise KanvisionError(" ".join(str(e).split())[:400] + f". Fix: see {parser.prog} --help") from None
    return cfg, parser.instantiate_classes(cfg).data


def load_checked_model(cfg: Any, data: ImageDataModule) -> nn.Module:
    """The requested weights in eval mode, checked to fit the data's channels and classes."""
    model = load_model(cfg.model, cfg.pretrained, cfg.checkpoint).eval()
    cfg_of_weights = model.kanvision_cfg  # the registered model, also for a Hub folder's name
    chans = cfg_of_weights["args"].get("in_chans", get_model_info(cfg_of_weights["model"]).input_size[0])
    if chans != data.in_chans:
        raise CheckpointError(
            f"the weights take {chans}-channel images but {data.info.name} has {data.in_chans} "
            f"channels (and {data.num_classes} classes): use them on the dataset they were trained for (--data.name)"
        )
    with torch.no_grad():  # in eval mode: a training-mode probe would move BN statistics
        classes = model(torch.zeros(1, data.in_chans, data.img_size, data.img_size)).shape[1]
    if classes != data.num_classes:
        raise CheckpointError(
            f"the weights predict {classes} classes but {data.info.name} has {data.num_classes}: "
            "use them on the dataset they were trained for (--data.name)"
        )
    return model


def run(args: list[str] | None = None) -> dict[str, Any]:
    cfg, data = parse(build_parser(), args)
    model = load_checked_model(cfg, data)
    device = pick_device(cfg.device)
    scores = evaluate(model, data, device)
    report = {
        "model": cfg.model,
        "weights": weights_name(cfg),
        "dataset": data.info.name,
        "split": "test",
        **scores,
        "test_set": data.test_set_description(scores["images"]),
        "params": count_params(model).total,
        "flops": count_flops(model.cpu(), (data.in_chans, data.img_size, data.img_size)),
        "device": str(device),
    }
    out = Path(cfg.out or f"eval-{file_slug(cfg.model)}-{data.info.name}.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    report["out"] = str(out)
    low, high = report["top1_ci95_wilson"]
    exact = f" (95% CI {low:.2f}-{high:.2f})"
    if "top1_exact" in report:
        low, high = report["top1_exact_ci95_wilson"]
        exact += (f" (on {report['test_set']}) top1_exact={report['top1_exact']:.2f}% "
                 f"(Wilson 95% CI {low:.2f}-{high:.2f}, {report['exact_images']:,} images)")
    print(
        f"kanvision eval | model={report['model']} data={report['dataset']} top1={report['top1']:.2f}%{exact} "
        f"top5={report['top5']:.2f}% loss={report['loss']:.4f} params={report['params']:,} "
        f"MFLOPs={report['flops'] / 1e6:,.1f} images/s={report['images_per_s']:,.0f} -> {out}"
    )
    return report


def main(args: list[str] | None = None) -> None:
    """Entry point: bad input ends with a one-line ``error:`` message and exit status 2."""
    run_cli(run, args)
