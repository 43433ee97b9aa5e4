"""``train.py --twin``: a KAN config's standard and parameter-matched twins, for every KAN config
in ``configs/``, and any standard config there checked against the KAN config beside it
(generated from the config tree, so a new pair is tested without a new test)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import torch
import yaml

from kanvision.data.datasets import get_dataset_info
from kanvision.errors import TwinError
from kanvision.models import TWINS, architecture_options, create_model, twin_arguments
from kanvision.models.matching import TOLERANCE
from kanvision.training.cli import main, run

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))


def model_section(path: Path) -> dict:
    return yaml.safe_load(path.read_text())["model"]


def is_kan(path: Path) -> bool:
    return model_section(path).get("kan", "bspline") != "none"


def kan_siblings(path: Path) -> list[Path]:
    """The KAN configs of the same model in the same folder."""
    name = model_section(path)["model"]
    return [p for p in KAN_CONFIGS if p.parent == path.parent and model_section(p)["model"] == name]


KAN_CONFIGS = [p for p in CONFIGS if is_kan(p)]
# standard models with no KAN config of their model beside them (e.g. imagefolder/resnet18) are
# not twins of anything
TWIN_CONFIGS = [p for p in CONFIGS if not is_kan(p) and kan_siblings(p)]


@cache
def params_of(path: Path, twin: str | None = None) -> int:
    """Parameters of the model a config builds (its twin's with ``twin``), counted on meta."""
    cfg = yaml.safe_load(path.read_text())
    model = cfg["model"]
    kan, kwargs = model.get("kan", "bspline"), model.get("model_kwargs") or {}
    if twin:
        kan, kwargs = twin_arguments(model["model"], kan, kwargs, twin)
    info = get_dataset_info(cfg["data"]["name"])
    with torch.device("meta"):
        net = create_model(model["model"], kan=kan, num_classes=info.num_classes,
                           in_chans=info.in_chans, img_size=cfg["data"].get("img_size"), **kwargs)
    return sum(p.numel() for p in net.parameters())


def ids(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("config", TWIN_CONFIGS, ids=ids)
def test_every_twin_config_is_the_twin_of_a_kan_config_beside_it(config):
    """Each hand-written twin config is what ``--twin`` makes of some KAN config of the same
    model in its folder: the same parameter count, to the parameter."""
    twin = "matched" if "match_params" in (model_section(config).get("model_kwargs") or {}) else "standard"
    counts = {ids(p): params_of(p, twin) for p in kan_siblings(config)}
    assert params_of(config) in counts.values(), (params_of(config), counts)


@pytest.mark.parametrize("config", KAN_CONFIGS, ids=ids)
def test_twins_of_every_kan_config(config):
    model = model_section(config)
    kwargs = model.get("model_kwargs") or {}
    kan, standard = twin_arguments(model["model"], model.get("kan", "bspline"), kwargs, "standard")
    assert kan == "none"
    assert standard == {k: v for k, v in kwargs.items() if k in architecture_options(model["model"])}
    matched = params_of(config, "matched")
    assert abs(matched - params_of(config)) <= TOLERANCE * params_of(config)


def test_the_config_tree_has_twins_to_check():
    """One config per (dataset, model) recipe: the twins are ``--twin`` flags on the KAN configs
    (the old hand-written twin configs are checked against their records in test_recipes.py)."""
    assert len(KAN_CONFIGS) >= 15 and TWIN_CONFIGS


def test_twin_of_a_standard_model_or_an_unknown_twin_is_an_error():
    with pytest.raises(TwinError, match="already a standard model"):
        twin_arguments("kan_convnet", "none", {}, "matched")
    with pytest.raises(TwinError, match="already has match_params"):
        twin_arguments("kan_convnet", "bspline", {"match_params": True}, "matched")
    with pytest.raises(TwinError, match="unknown twin 'wide'"):
        twin_arguments("kan_convnet", "bspline", {}, "wide")
    assert set(TWINS) == {"standard", "matched"}


def test_twin_flag_trains_the_twin_and_saves_its_own_config(tiny_data, tmp_path):
    config = ROOT / "configs/fashion_mnist/sepnet_small.yaml"  # with Gram edges of degree 4
    summary = run(["--config", str(config), "--model.kan", "gram", "--model.model_kwargs", "{degree: 4}",
                   "--twin", "matched", "--data.root", str(tiny_data),
                   "--data.val_size", "64", "--data.batch_size", "64", "--data.verify_integrity", "false",
                   "--logging.save_dir", str(tmp_path), "--logging.wandb", "false",
                   "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
                   "--trainer.limit_val_batches", "1", "--trainer.limit_test_batches", "1",
                   "--trainer.enable_progress_bar", "false"])
    # degree-4 Gram edges have the B-spline model's parameter count, so both matched twins agree
    assert summary["params"] == params_of(config, "matched")
    saved = yaml.safe_load((Path(summary["run_dir"]) / "config.yaml").read_text())
    assert saved["twin"] is None and saved["model"]["kan"] == "none"
    assert saved["model"]["model_kwargs"] == {"match_params": {"kan": "gram", "degree": 4}}


def test_twin_flag_on_a_standard_config_is_a_one_line_error(capsys, tiny_data):
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(ROOT / "configs/mnist/convnet.yaml"), "--twin", "matched",
              "--data.root", str(tiny_data), "--logging.wandb", "false"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already a standard model" in err[0] and "model.kan" in err[0], err
