"""The Hub folder format: save_pretrained(model, folder), create_model("local-dir:"/"hf-hub:")
strictly, offline through a Hub cache the test fills, push_to_hub with a mocked HfApi, and
``python -m kanvision.ship --hub-folder``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import kanvision
from kanvision.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def folder(tmp_path) -> tuple[torch.nn.Module, Path]:
    torch.manual_seed(0)
    model = kanvision.create_model("kan_convnet", kan="rbf", grid_size=6, num_classes=7).eval()
    return model, kanvision.save_pretrained(model, tmp_path / "kan_convnet-rbf")


def test_folder_has_timm_config_weights_and_card(folder):
    _, path = folder
    assert sorted(p.name for p in path.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((path / "config.json").read_text())
    assert config["architecture"] == "kanvision_kan_convnet" and config["num_classes"] == 7
    assert config["model_args"]["kan"] == "rbf" and config["model_args"]["grid_size"] == 6
    card = (path / "README.md").read_text()
    assert "license: apache-2.0" in card and "parameters:" in card and "FLOPs" in card


def test_local_dir_loads_the_same_model(folder):
    model, path = folder
    x = torch.randn(2, 1, 28, 28)
    for loaded in (kanvision.create_model(f"local-dir:{path}"),
                   kanvision.create_model("kan_convnet", pretrained=f"local-dir:{path}")):
        assert torch.equal(loaded.eval()(x), model(x))


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_folder_loads_strictly_naming_the_keys(folder, change):
    _, path = folder
    state = load_file(str(path / "model.safetensors"))
    from safetensors import safe_open

    with safe_open(str(path / "model.safetensors"), framework="pt") as f:
        metadata = f.metadata()
    if change == "extra":
        state["stray.weight"] = torch.zeros(1)
    else:
        state.pop("head.mix.bias")
    save_file(state, str(path / "model.safetensors"), metadata=metadata)
    with pytest.raises(CheckpointError, match="stray.weight" if change == "extra" else "head.mix.bias"):
        kanvision.create_model(f"local-dir:{path}")


def test_folder_of_another_model_is_one_line(folder, tmp_path):
    _, path = folder
    with pytest.raises(CheckpointError, match="holds model 'kan_convnet'") as e:
        kanvision.create_model("kkan_small", pretrained=f"local-dir:{path}")
    assert "\n" not in str(e.value)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "architecture": "resnet18"}))
    with pytest.raises(CheckpointError, match="not a kanvision model"):
        kanvision.create_model(f"local-dir:{path}")
    with pytest.raises(CheckpointError, match="lacks"):
        kanvision.create_model(f"local-dir:{tmp_path / 'nothing'}")


def fill_hub_cache(cache: Path, repo: str, files: Path, revision: str = "0" * 40) -> None:
    """The layout hf_hub_download reads offline: snapshots/<rev>/<file> and refs/main."""
    repo_dir = cache / f"models--{repo.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for f in files.iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(revision)


OFFLINE_CHECK = """
import sys, torch, kanvision, timm
from kanvision.errors import CheckpointError
x = torch.load(sys.argv[1])
a = kanvision.create_model("hf-hub:someone/kan-convnet-rbf").eval()
b = timm.create_model("hf-hub:someone/kan-convnet-rbf", pretrained=True).eval()
assert torch.equal(a(x), torch.load(sys.argv[2])) and torch.equal(b(x), a(x))
try:
    kanvision.create_model("hf-hub:someone/not-cached")
except CheckpointError as e:
    print("ERROR", e)
"""


def test_hub_repo_loads_offline_from_the_cache_and_a_missing_one_is_one_line(folder, tmp_path):
    model, path = folder
    cache = tmp_path / "hub"
    fill_hub_cache(cache, "someone/kan-convnet-rbf", path)
    x = torch.randn(2, 1, 28, 28)
    torch.save(x, tmp_path / "x.pt")
    torch.save(model(x).detach(), tmp_path / "y.pt")
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", OFFLINE_CHECK, str(tmp_path / "x.pt"), str(tmp_path / "y.pt")],
                          env=env, check=False, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("ERROR")]
    assert "someone/not-cached" in line and "HF_HUB_OFFLINE" in line


def test_push_to_hub_creates_the_repo_and_uploads_the_folder(monkeypatch):
    calls = {}

    class FakeApi:
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, repo_id, private=False, exist_ok=False):
            calls["create"] = (repo_id, private, exist_ok)

        def upload_folder(self, repo_id, folder_path, commit_message):
            calls["files"] = sorted(p.name for p in Path(folder_path).iterdir())
            calls["config"] = json.loads((Path(folder_path) / "config.json").read_text())
            calls["card"] = (Path(folder_path) / "README.md").read_text()
            return type("Info", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/1"})()

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    url = kanvision.push_to_hub("kan_convnet.mnist", "someone/kan-convnet-mnist")
    assert url.endswith("/commit/1") and calls["create"] == ("someone/kan-convnet-mnist", False, True)
    assert calls["files"] == ["README.md", "config.json", "model.safetensors"]
    assert calls["config"]["pretrained_cfg"]["metrics"] == {"MNIST": {"acc@1": 99.14}}
    assert "kan_convnet.mnist-none" in calls["card"]  # the twins, from the shipped metadata


def test_ship_writes_the_hub_folder_of_an_entry(tmp_path):
    from kanvision.ship import main

    main(["--hub-folder", str(tmp_path / "out"), "--entry", "kan_convnet.mnist"])
    loaded = kanvision.create_model(f"local-dir:{tmp_path / 'out'}")
    shipped = kanvision.create_model("kan_convnet.mnist", pretrained=True)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), shipped.state_dict().values()))


def test_evaluate_and_inspect_take_a_hub_folder_name(tiny_data, tmp_path, monkeypatch):
    """A Hub folder carries its weights: evaluate.py and python -m kanvision.inspect take its
    name as --model, name the weights by it, and write files whose names hold no ':' or '/'."""
    from kanvision.inspect.__main__ import run as inspect_run
    from kanvision.training.evaluate import run as evaluate_run

    torch.manual_seed(0)
    model = kanvision.create_model("kan_convnet", kan="rbf", grid_size=6).eval()
    path = kanvision.save_pretrained(model, tmp_path / "kan_convnet-rbf")
    monkeypatch.setenv("KANVISION_DATA", str(tiny_data))
    monkeypatch.chdir(tmp_path)
    name = f"local-dir:{path}"
    data = ["--data.name", "mnist", "--data.val_size", "32"]
    report = evaluate_run(["--model", name, *data])
    out = Path(report["out"])
    assert report["weights"] == name and out.parent == Path(".") and out.is_file()
    assert out.name.startswith("eval-local-dir-") and ":" not in out.name
    assert report["params"] == sum(p.numel() for p in model.parameters())
    summary = inspect_run(["--model", name, *data, "--images", "32", "--out", str(tmp_path / "inside")])
    assert name in Path(summary["report"]).read_text()
