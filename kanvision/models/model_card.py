"""The model card (``README.md``) of a Hub folder: what the weights are and how good they are.

Accuracy, parameters, FLOPs, the command that trained them, the comparison with the standard and
parameter-matched twins where shipped entries of both exist, and the license (Apache-2.0).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from kanvision.models.counting import count_params
from kanvision.models.flops import count_flops

TWIN_SUFFIXES = {"-none": "standard twin", "-matched": "parameter-matched twin"}


def _accuracy(meta: dict[str, Any]) -> str:
    metrics = meta.get("metrics") or {}
    return "; ".join(f"{m['acc@1']:.2f}% top-1 on the {split} test set" for split, m in metrics.items()) or "not recorded"


def twin_rows(meta: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    """``(entry, role, params, accuracy)`` of a shipped entry and its shipped twins."""
    from kanvision.models.pretrained import get_pretrained_cfg, list_pretrained

    model, tag = meta.get("model"), meta.get("tag")
    if not model or not tag:
        return []
    rows = [(f"{model}.{tag}", f"this model ({meta.get('kan', '?')})", meta.get("num_params", 0), _accuracy(meta))]
    shipped = set(list_pretrained(f"{model}.*"))
    for suffix, role in TWIN_SUFFIXES.items():
        if (name := f"{model}.{tag}{suffix}") in shipped:
            twin = get_pretrained_cfg(name)
            rows.append((name, role, twin.get("num_params", 0), _accuracy(twin)))
    return rows if len(rows) > 1 else []


def model_card(model: nn.Module, config: dict[str, Any], meta: dict[str, Any]) -> str:
    """Markdown with YAML front matter (license, library, tags) for the Hub."""
    name, args = model.kanvision_cfg["model"], model.kanvision_cfg["args"]
    input_size = tuple(meta.get("input_size") or config["pretrained_cfg"].get("input_size") or ())
    flops = meta.get("flops")
    if flops is None and input_size:
        flops = count_flops(model, input_size)
    lines = [
        "---",
        "license: apache-2.0",
        "library_name: timm",
        "tags: [image-classification, timm, kanvision, kolmogorov-arnold-network]",
        "---",
        "",
        f"# {name}" + (f".{meta['tag']}" if meta.get("tag") else ""),
        "",
        f"A kanvision `{name}` (KAN basis: `{args.get('kan', 'bspline')}`)"
        + (f" trained on {meta['dataset']}." if meta.get("dataset") else "."),
        "",
        f"- accuracy: {_accuracy(meta)}",
        f"- parameters: {count_params(model).total:,}",
        f"- FLOPs per image: {flops / 1e6:,.1f} M" if flops is not None else "- FLOPs: not counted",
        f"- input: {'x'.join(map(str, input_size)) or 'native'}, mean {meta.get('mean')}, std {meta.get('std')}",
        f"- constructor arguments: `{args}`",
    ]
    if meta.get("command"):
        lines.append(f"- trained with: `{meta['command']}`" + (f" ({meta['epochs']} epochs on {meta.get('machine')})" if meta.get("epochs") else ""))
    if rows := twin_rows(meta):
        lines += ["", "## Compared with its twins", "", "| weights | model | params | accuracy |", "|---|---|---|---|"]
        lines += [f"| `{n}` | {role} | {params:,} | {acc} |" for n, role, params, acc in rows]
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "import kanvision, timm",
        "model = kanvision.create_model('hf-hub:<owner>/<repo>')   # or timm.create_model('hf-hub:<owner>/<repo>', pretrained=True)",
        "```",
        "",
        "## License",
        "",
        "Apache-2.0 (weights and code).",
        "",
    ]
    return "\n".join(lines)
