"""``python -m kanvision.models``: one row per registered model with its size and cost.

Columns: name, native input, params and FLOPs with a KAN basis (``--kan``, default bspline) and
as the standard twin (``kan="none"``), and the pretrained tags that exist. Models are built on
the meta device, so listing even the 100M-parameter ones takes seconds and no memory.
``--pretrained`` lists the shipped weights instead, from their metadata: what each is, its
test accuracy, how long and where it trained, and the run record behind it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch

from kanvision.errors import KanvisionError
from kanvision.models.factory import check_kan
from kanvision.models.flops import count_flops
from kanvision.models.pretrained import get_pretrained_cfg, list_pretrained
from kanvision.models.registry import build_model, get_model_info, list_models
from kanvision.tables import format_table, kan_label, model_options

HEADERS = ("model", "input", "default kan", "params ({kan})", "params (none)", "MFLOPs ({kan})",
           "MFLOPs (none)", "pretrained")
NUMERIC = range(3, 7)  # the right-justified columns of both tables in plain text


def _size_and_cost(name: str, kan: str) -> tuple[int, int]:
    with torch.device("meta"):
        model = build_model(name, kan=kan)
    return sum(p.numel() for p in model.parameters()), count_flops(model)


def model_rows(pattern: str = "*", kan: str = "bspline") -> list[tuple[str, ...]]:
    """The table's rows, as strings, for the models matching ``pattern``."""
    check_kan(kan)
    tags: dict[str, list[str]] = {}
    for entry in list_pretrained():
        model, _, tag = entry.partition(".")
        tags.setdefault(model, []).append(tag)
    rows = []
    for name in list_models(pattern):
        info = get_model_info(name)
        kan_params, kan_flops = _size_and_cost(name, kan)
        plain_params, plain_flops = _size_and_cost(name, "none")
        rows.append((
            name,
            "x".join(map(str, info.input_size)),
            info.default_kan,
            f"{kan_params:,}",
            f"{plain_params:,}",
            f"{kan_flops / 1e6:,.1f}",
            f"{plain_flops / 1e6:,.1f}",
            ", ".join(tags.get(name, [])) or "-",
        ))
    return rows


def models_table(rows: Sequence[Sequence[str]], kan: str, markdown: bool) -> str:
    """The zoo table with its footnote, as plain text or markdown."""
    headers = [h.format(kan=kan) for h in HEADERS]
    return (format_table(rows, headers, markdown, NUMERIC)
            + f"\n\n{len(rows)} models; FLOPs: one image at the native input, KAN expand included.")


def models_markdown(pattern: str = "*", kan: str = "bspline") -> str:
    """The zoo table as markdown with its footnote (the README's models table)."""
    return models_table(model_rows(pattern, kan), kan, markdown=True)


PRETRAINED_HEADERS = ("weights", "data", "kan", "params", "MFLOPs", "test acc %", "epochs", "seed",
                      "s/epoch", "machine", "record")


def _kan_options(cfg: dict) -> str:
    """``gram (constant=False, degree=3, width_mult=0.89)``: the basis with the model options the
    weights were trained with (as the results tables write them), so that entries of one model
    that differ only in an option are told apart."""
    return kan_label(cfg["kan"], model_options(cfg["args"]).items())


def _notes(cfg: dict) -> str:
    """`` (default, fp16)``-style remarks on a shipped entry: its model's default weights, or
    weights stored in half precision."""
    notes = [note for note, on in (("default", cfg.get("default")),
                                   ("fp16", cfg.get("storage_dtype") == "float16")) if on]
    return f" ({', '.join(notes)})" if notes else ""


def pretrained_rows(pattern: str = "*") -> list[tuple[str, ...]]:
    """One row per shipped entry matching ``pattern``, read from its metadata."""
    rows = []
    for name in list_pretrained(pattern):
        cfg = get_pretrained_cfg(name)
        ((split, metrics),) = cfg["metrics"].items()
        epoch_s = cfg.get("epoch_time_s")
        rows.append((
            f"`{name}`" + _notes(cfg),
            cfg["dataset"] + ("" if split.isalnum() or "(" not in split else " (unverified copy)"),
            _kan_options(cfg),
            f"{cfg['num_params']:,}",
            f"{cfg['flops'] / 1e6:,.1f}" if cfg.get("flops") else "-",
            f"{metrics['acc@1']:.2f}",
            str(cfg.get("epochs", "-")),
            str(cfg.get("seed", "-")),
            f"{epoch_s:.0f}" if epoch_s else "-",
            str(cfg.get("machine", "-")).replace(" 1 torch threads", " 1 torch thread"),
            cfg.get("results", "-"),
        ))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanvision.models", description=__doc__.split("\n")[0])
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style name filter, e.g. 'vit_*'")
    parser.add_argument("--kan", default="bspline", help="basis family for the KAN columns")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--pretrained", action="store_true",
                        help="list the shipped weights (pattern matches '<model>.<tag>')")
    args = parser.parse_args(argv)
    if args.pretrained:
        rows = pretrained_rows(args.pattern)
        if not rows:
            print(f"error: no shipped weights match '{args.pattern}': see kanvision.list_pretrained()", file=sys.stderr)
            return 2
        print(format_table(rows, PRETRAINED_HEADERS, args.markdown, NUMERIC))
        print(f"\n{len(rows)} shipped weights; test accuracy on the dataset's official test split, "
              "or on an unverified copy of it where marked.")
        return 0
    try:
        rows = model_rows(args.pattern, args.kan)
    except KanvisionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not rows:
        print(f"error: no model matches '{args.pattern}': see python -m kanvision.models", file=sys.stderr)
        return 2
    print(models_table(rows, args.kan, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
