"""Where the per-variant configs went: each is now a recipe config plus flags.

``configs/<dataset>/`` holds one config per (dataset, model) recipe; the basis, twin and schedule
variants that used to be files of their own (``*_rbf``, ``*_gram``, ``*_twin``, ``*_matched``,
``*_gram_matched``) are flags on it. Run records keep the command they were trained with, so
:func:`current_command` rewrites an old config into its recipe and flags, which resolve to the
same config (checked for every record by ``tests/test_recipes.py``).
"""

from __future__ import annotations

import shlex

MOVED: dict[str, str] = {
    "configs/fashion_mnist/kan_convnet_gram.yaml": "configs/fashion_mnist/kan_convnet.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/fashion_mnist/kan_convnet_gram_matched.yaml": "configs/fashion_mnist/kan_convnet.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/fashion_mnist/kan_convnet_matched.yaml": "configs/fashion_mnist/kan_convnet.yaml --twin matched",
    "configs/fashion_mnist/kan_convnet_rbf.yaml": "configs/fashion_mnist/kan_convnet.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/fashion_mnist/kanc_mlp_medium_gram.yaml": "configs/fashion_mnist/kanc_mlp_medium.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/fashion_mnist/kanc_mlp_medium_gram_matched.yaml": "configs/fashion_mnist/kanc_mlp_medium.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/fashion_mnist/kanc_mlp_medium_matched.yaml": "configs/fashion_mnist/kanc_mlp_medium.yaml --twin matched",
    "configs/fashion_mnist/kanc_mlp_medium_rbf.yaml": "configs/fashion_mnist/kanc_mlp_medium.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/fashion_mnist/kanc_mlp_medium_twin.yaml": "configs/fashion_mnist/kanc_mlp_medium.yaml --twin standard",
    "configs/fashion_mnist/kanc_mlp_small_gram.yaml": "configs/fashion_mnist/kanc_mlp_small.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/fashion_mnist/kanc_mlp_small_gram_matched.yaml": "configs/fashion_mnist/kanc_mlp_small.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/fashion_mnist/kanc_mlp_small_matched.yaml": "configs/fashion_mnist/kanc_mlp_small.yaml --twin matched",
    "configs/fashion_mnist/kanc_mlp_small_rbf.yaml": "configs/fashion_mnist/kanc_mlp_small.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/fashion_mnist/kanc_mlp_small_twin.yaml": "configs/fashion_mnist/kanc_mlp_small.yaml --twin standard",
    "configs/fashion_mnist/kkan_medium_gram.yaml": "configs/fashion_mnist/kkan_medium.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/fashion_mnist/kkan_medium_gram_matched.yaml": "configs/fashion_mnist/kkan_medium.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/fashion_mnist/kkan_medium_matched.yaml": "configs/fashion_mnist/kkan_medium.yaml --twin matched",
    "configs/fashion_mnist/kkan_medium_rbf.yaml": "configs/fashion_mnist/kkan_medium.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/fashion_mnist/kkan_medium_twin.yaml": "configs/fashion_mnist/kkan_medium.yaml --twin standard",
    "configs/fashion_mnist/kkan_small_gram.yaml": "configs/fashion_mnist/kkan_small.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/fashion_mnist/kkan_small_gram_matched.yaml": "configs/fashion_mnist/kkan_small.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/fashion_mnist/kkan_small_matched.yaml": "configs/fashion_mnist/kkan_small.yaml --twin matched",
    "configs/fashion_mnist/kkan_small_rbf.yaml": "configs/fashion_mnist/kkan_small.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/fashion_mnist/kkan_small_twin.yaml": "configs/fashion_mnist/kkan_small.yaml --twin standard",
    "configs/fashion_mnist/resnet8.yaml": "configs/fashion_mnist/resnet8_kan.yaml --twin standard",
    "configs/fashion_mnist/resnet8_gram.yaml": "configs/fashion_mnist/resnet8_kan.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/fashion_mnist/resnet8_gram_matched.yaml": "configs/fashion_mnist/resnet8_kan.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/fashion_mnist/resnet8_matched.yaml": "configs/fashion_mnist/resnet8_kan.yaml --twin matched",
    "configs/fashion_mnist/resnet8_rbf.yaml": "configs/fashion_mnist/resnet8_kan.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/fashion_mnist/sepnet_small_gram.yaml": "configs/fashion_mnist/sepnet_small.yaml --model.kan gram --model.model_kwargs '{degree: 4}' --trainer.max_epochs 30",
    "configs/fashion_mnist/sepnet_small_matched.yaml": "configs/fashion_mnist/sepnet_small.yaml --twin matched",
    "configs/fashion_mnist/sepnet_small_twin.yaml": "configs/fashion_mnist/sepnet_small.yaml --twin standard",
    "configs/fashion_mnist/sepnet_tiny_matched.yaml": "configs/fashion_mnist/sepnet_tiny.yaml --twin matched",
    "configs/fashion_mnist/sepnet_tiny_twin.yaml": "configs/fashion_mnist/sepnet_tiny.yaml --twin standard",
    "configs/fashion_mnist/vit_nano_rbf.yaml": "configs/fashion_mnist/vit_nano.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/mnist/kan_convnet_gram.yaml": "configs/mnist/kan_convnet.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/mnist/kan_convnet_gram_matched.yaml": "configs/mnist/kan_convnet.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/mnist/kan_convnet_matched.yaml": "configs/mnist/kan_convnet.yaml --twin matched",
    "configs/mnist/kan_convnet_rbf.yaml": "configs/mnist/kan_convnet.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/mnist/kanc_mlp_medium_gram.yaml": "configs/mnist/kanc_mlp_medium.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/mnist/kanc_mlp_medium_gram_matched.yaml": "configs/mnist/kanc_mlp_medium.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/mnist/kanc_mlp_medium_matched.yaml": "configs/mnist/kanc_mlp_medium.yaml --twin matched",
    "configs/mnist/kanc_mlp_medium_rbf.yaml": "configs/mnist/kanc_mlp_medium.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/mnist/kanc_mlp_medium_twin.yaml": "configs/mnist/kanc_mlp_medium.yaml --twin standard",
    "configs/mnist/kanc_mlp_small_gram.yaml": "configs/mnist/kanc_mlp_small.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/mnist/kanc_mlp_small_gram_matched.yaml": "configs/mnist/kanc_mlp_small.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/mnist/kanc_mlp_small_matched.yaml": "configs/mnist/kanc_mlp_small.yaml --twin matched",
    "configs/mnist/kanc_mlp_small_rbf.yaml": "configs/mnist/kanc_mlp_small.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/mnist/kanc_mlp_small_twin.yaml": "configs/mnist/kanc_mlp_small.yaml --twin standard",
    "configs/mnist/kkan_medium_gram.yaml": "configs/mnist/kkan_medium.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/mnist/kkan_medium_gram_matched.yaml": "configs/mnist/kkan_medium.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/mnist/kkan_medium_matched.yaml": "configs/mnist/kkan_medium.yaml --twin matched",
    "configs/mnist/kkan_medium_rbf.yaml": "configs/mnist/kkan_medium.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/mnist/kkan_medium_twin.yaml": "configs/mnist/kkan_medium.yaml --twin standard",
    "configs/mnist/kkan_small_gram.yaml": "configs/mnist/kkan_small.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/mnist/kkan_small_gram_matched.yaml": "configs/mnist/kkan_small.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/mnist/kkan_small_matched.yaml": "configs/mnist/kkan_small.yaml --twin matched",
    "configs/mnist/kkan_small_rbf.yaml": "configs/mnist/kkan_small.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/mnist/kkan_small_twin.yaml": "configs/mnist/kkan_small.yaml --twin standard",
    "configs/mnist/resnet8.yaml": "configs/mnist/resnet8_kan.yaml --twin standard",
    "configs/mnist/resnet8_gram.yaml": "configs/mnist/resnet8_kan.yaml --model.kan gram --model.model_kwargs '{degree: 3}'",
    "configs/mnist/resnet8_gram_matched.yaml": "configs/mnist/resnet8_kan.yaml --model.kan gram --model.model_kwargs '{degree: 3}' --twin matched",
    "configs/mnist/resnet8_matched.yaml": "configs/mnist/resnet8_kan.yaml --twin matched",
    "configs/mnist/resnet8_rbf.yaml": "configs/mnist/resnet8_kan.yaml --model.kan rbf --model.model_kwargs '{grid_size: 8}'",
    "configs/mnist/sepnet_small_matched.yaml": "configs/mnist/sepnet_small.yaml --twin matched",
    "configs/mnist/sepnet_small_twin.yaml": "configs/mnist/sepnet_small.yaml --twin standard",
    "configs/mnist/sepnet_tiny_matched.yaml": "configs/mnist/sepnet_tiny.yaml --twin matched",
    "configs/mnist/sepnet_tiny_twin.yaml": "configs/mnist/sepnet_tiny.yaml --twin standard",
}


def current_command(command: str) -> str:
    """``command`` with a moved ``--config`` replaced by its recipe config and flags; a flag the
    command sets itself later (e.g. ``--trainer.max_epochs``) is not repeated."""
    words = shlex.split(command)
    if "--config" not in words:
        return command
    at = words.index("--config") + 1
    if at >= len(words) or words[at] not in MOVED:
        return command
    rest = words[at + 1:]
    recipe, *flags = shlex.split(MOVED[words[at]])
    kept = []
    for i in range(0, len(flags), 2):
        if flags[i] not in rest:
            kept += flags[i:i + 2]
    return shlex.join([*words[:at], recipe, *kept, *rest])


def record_command(folder: str) -> str:
    """The command that repeats the run recorded in ``folder`` (its ``<model>.json``), with a
    moved config written as its recipe and flags."""
    import json
    from pathlib import Path

    for meta in sorted(Path(folder).glob("*.json")):
        command = json.loads(meta.read_text()).get("command")
        if command:
            return current_command(command)
    raise SystemExit(f"error: no run record with a command in {folder}")


def main(argv: list[str] | None = None) -> int:
    """``python -m kanvision.recipes RECORD ...``: print the command that repeats each record."""
    import sys

    folders = sys.argv[1:] if argv is None else argv
    if not folders:
        raise SystemExit("usage: python -m kanvision.recipes results/<data>/<record> ...")
    for folder in folders:
        print(record_command(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
