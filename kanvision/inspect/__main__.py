"""``python -m kanvision.inspect``: plots, edge importance and a report for trained KAN weights.

    python -m kanvision.inspect --model kan_convnet --pretrained mnist --data.name mnist --out inspect/

writes ``functions-<layer>.png``, ``importance-<layer>.png``, ``network.png`` (layers with at most
64 channels), ``importance.csv`` and ``report.md`` into ``--out``, from ``--images`` validation
images (the split held out of the training set; the test set is only used for accuracy).
With ``--prune T`` it also removes the inputs whose edges are all below ``T`` x the layer's
strongest edge (``--zero_edges true``: and zeroes the weak edges of the rest), optionally
fine-tunes (``--finetune_steps``), reports params and test accuracy before and after, and saves
``pruned.safetensors`` (loadable with ``create_model(name, pretrained=path)``). ``--symbolic
LAYER`` fits that layer's most important edges to formulas (R^2 per edge in the report).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from jsonargparse import ArgumentParser

from kanvision.inspect.prune import accuracy, prune
from kanvision.inspect.report import inspect_model
from kanvision.inspect.training import finetune
from kanvision.models import save_pretrained
from kanvision.runtime import run_cli
from kanvision.training.evaluate import (
    add_model_and_data_arguments,
    load_checked_model,
    parse,
    pick_device,
    weights_name,
)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m kanvision.inspect", description=__doc__.splitlines()[0],
                            exit_on_error=False)
    parser.add_argument("--out", type=str, default="inspect", help="output folder")
    parser.add_argument("--images", type=int, default=512, help="test images used for importance")
    parser.add_argument("--layers", type=list[str] | None, default=None, help="KAN layer names (default: all)")
    parser.add_argument("--prune", type=float | None, default=None,
                        help="prune edges below this fraction of each layer's strongest edge")
    parser.add_argument("--finetune_steps", type=int, default=0, help="training steps after pruning")
    parser.add_argument("--finetune_lr", type=float, default=1e-3)
    parser.add_argument("--zero_edges", type=bool, default=False,
                        help="also zero the weak edges of the inputs that stay (dense weights)")
    parser.add_argument("--symbolic", type=list[str] | None, default=None,
                        help="KAN layers whose most important edges are fitted to formulas")
    parser.add_argument("--symbolic_edges", type=int, default=64, help="edges fitted per layer")
    return add_model_and_data_arguments(parser)


def run(args: list[str] | None = None) -> dict:
    cfg, data = parse(build_parser(), args)
    start = time.perf_counter()
    model = load_checked_model(cfg, data)
    data.setup("fit")  # importance comes from held-out training images, never from the test set
    batches = []
    for x, _ in data.val_dataloader():
        batches.append(x)
        if sum(len(b) for b in batches) >= cfg.images:
            break
    images = torch.cat(batches)[: cfg.images]
    data.setup("test")
    out = Path(cfg.out)
    notes = [(f"model: `{cfg.model}`, weights: `{weights_name(cfg)}`; importance from "
             f"{len(images)} {data.info.name} validation images (held out of training), accuracy on the test split")]
    summary: dict = {"out": str(out)}
    if cfg.prune is not None:
        device = pick_device(cfg.device)
        acc_before = accuracy(model, data.test_dataloader(), device)
        importance = inspect_model(model.cpu(), images, out / "before", cfg.layers, title="before pruning").importance()
        report = prune(model, importance, cfg.prune, zero_edges=cfg.zero_edges)
        if cfg.finetune_steps:
            data.setup("fit")
            finetune(model, data.train_dataloader(), cfg.finetune_steps, cfg.finetune_lr, device)
        report.acc_before, report.acc_after = acc_before, accuracy(model, data.test_dataloader(), device)
        model.cpu()
        save_pretrained(model, out / "pruned.safetensors")
        finetuned = f", fine-tuned {cfg.finetune_steps} steps (lr {cfg.finetune_lr})" if cfg.finetune_steps else ""
        notes.append(f"pruned at {cfg.prune} x each layer's strongest edge{finetuned}: {report.summary()}")
        notes += [f"`{layer.name}`: inputs {layer.inputs_before} -> {layer.inputs_after}, "
                  f"{layer.edges_zeroed} edges zeroed" for layer in report.layers]
        summary["prune"] = report
    inspection = inspect_model(model, images, out, cfg.layers, title=f"Inside {cfg.model}", notes=notes,
                               symbolic=cfg.symbolic, symbolic_edges=cfg.symbolic_edges)
    summary["report"] = str(inspection.report)
    print(f"kanvision inspect | {len(inspection.layers)} KAN layers -> {inspection.report} "
          f"({time.perf_counter() - start:.1f} s)")
    for note in notes[1:]:
        print(f"  {note}")
    return summary


def main(args: list[str] | None = None) -> None:
    """Entry point: bad input ends with a one-line ``error:`` message and exit status 2."""
    run_cli(run, args)


if __name__ == "__main__":
    main()
