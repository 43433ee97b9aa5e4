"""Weights-only checkpoints: round trip, shipped metadata is true, bad files fail clearly."""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import pytest
import torch
from helpers import shipped_weights

import kanvision
from kanvision.errors import CheckpointError
from kanvision.models import count_flops
from kanvision.recipes import MOVED
from kanvision.ship import sha256

ROOT = Path(__file__).resolve().parents[1]


def test_round_trip_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = kanvision.create_model("kan_convnet", grid_size=4, num_classes=7).eval()
    path = kanvision.save_pretrained(model, tmp_path / "m.safetensors")
    loaded = kanvision.create_model("kan_convnet", pretrained=str(path)).eval()
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(model(x), loaded(x))
    assert loaded.kanvision_cfg["args"]["grid_size"] == 4


def test_checkpoint_for_other_model_or_shape_fails_clearly(tmp_path):
    path = kanvision.save_pretrained(kanvision.create_model("kan_convnet"), tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match="does not fit this model"):
        kanvision.create_model("kan_convnet", pretrained=str(path), grid_size=8)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        kanvision.create_model("kan_convnet", pretrained=str(bad))
    with pytest.raises(CheckpointError, match="does not exist"):
        kanvision.create_model("kan_convnet", pretrained=str(tmp_path / "missing.safetensors"))


@pytest.mark.parametrize("name", kanvision.list_pretrained())
def test_shipped_metadata_is_true(name):
    cfg = kanvision.get_pretrained_cfg(name)
    shipped_weights(name)
    for key in ("file", "num_params", "num_classes", "input_size", "mean", "std", "metrics"):
        assert key in cfg, key
    model = kanvision.create_model(name, pretrained=True)
    assert kanvision.count_params(model).total == cfg["num_params"]
    out = model.eval()(torch.zeros(1, *cfg["input_size"]))
    assert out.shape == (1, cfg["num_classes"])


@pytest.mark.parametrize("name", kanvision.list_pretrained())
def test_shipped_entry_is_backed_by_its_file_and_a_committed_run(name):
    """File present with the recorded sha256, params and FLOPs recomputed from the model, and the
    stated accuracy is the test/acc of a committed run (config and metrics.csv in results/)."""
    cfg = kanvision.get_pretrained_cfg(name)
    assert sha256(shipped_weights(name)) == cfg["sha256"]
    model = kanvision.create_model(name, pretrained=True)
    assert count_flops(model, tuple(cfg["input_size"])) == cfg["flops"]
    for config in cfg["config_files"]:  # a per-variant config is now a recipe plus flags
        assert (ROOT / shlex.split(MOVED.get(config, config))[0]).is_file(), config
    run = ROOT / cfg["results"]
    assert (run / "config.yaml").is_file()
    with (run / "metrics.csv").open() as f:
        test_accs = [round(100 * float(r["test/acc"]), 2) for r in csv.DictReader(f) if r.get("test/acc")]
    (stated,) = [m["acc@1"] for m in cfg["metrics"].values()]
    assert stated in test_accs, (stated, test_accs)
    assert isinstance(cfg["seed"], int) and cfg["epochs"] > 0 and cfg["wall_time_s"] > 0 and cfg["machine"]


def test_model_name_without_tag_loads_default_weights():
    names = kanvision.list_pretrained()
    if not names:
        pytest.skip("no shipped weights")
    model_name = names[0].split(".")[0]
    a = kanvision.create_model(model_name, pretrained=True)
    default = kanvision.models.default_tag_name(model_name)
    b = kanvision.create_model(default, pretrained=True)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_checkpoints_folder_from_env(tmp_path, monkeypatch):
    model = kanvision.create_model("kan_convnet")
    kanvision.save_pretrained(model, tmp_path / "kan_convnet.demo.safetensors")
    meta = {"file": "kan_convnet.demo.safetensors", "num_params": 1, "num_classes": 10,
            "input_size": [1, 28, 28], "mean": [0.0], "std": [1.0], "metrics": {}}
    (tmp_path / "kan_convnet.demo.json").write_text(json.dumps(meta))
    monkeypatch.setenv("KANVISION_CHECKPOINTS", str(tmp_path))
    assert kanvision.list_pretrained() == ["kan_convnet.demo"]
    assert kanvision.get_pretrained_cfg("kan_convnet")["file"].endswith("kan_convnet.demo.safetensors")
    with pytest.raises(kanvision.KanvisionError, match="unknown pretrained weights"):
        kanvision.create_model("kan_convnet.nope", pretrained=True)


def _fake_run(folder: Path, acc: float) -> Path:
    """A run directory as train.py leaves it: weights, metadata, config and metrics."""
    folder.mkdir(parents=True)
    kanvision.save_pretrained(kanvision.create_model("kkan_small", kan="none"), folder / "kkan_small.safetensors")
    meta = {"model": "kkan_small", "kan": "none", "file": "kkan_small.safetensors", "metrics": {"MNIST": {"acc@1": acc}}}
    (folder / "kkan_small.json").write_text(json.dumps(meta))
    (folder / "config.yaml").write_text("seed_everything: 0\n")
    (folder / "metrics.csv").write_text("epoch,test/acc\n0,0.9\n")
    return folder


def test_ship_copies_records_and_keeps_one_default_per_model(tmp_path, monkeypatch):
    from kanvision.ship import ship

    monkeypatch.setenv("KANVISION_CHECKPOINTS", str(tmp_path / "checkpoints"))
    first = json.loads(ship(_fake_run(tmp_path / "a", 98.0), "mnist").read_text())
    assert first["default"] and first["results"] == "results/mnist/kkan_small-none"
    assert (tmp_path / "results/mnist/kkan_small-none/metrics.csv").is_file()
    assert first["sha256"] == sha256(tmp_path / "checkpoints/kkan_small.mnist.safetensors")
    second = json.loads(ship(_fake_run(tmp_path / "b", 99.0), "mnist-long").read_text())
    assert not second["default"]  # the first entry stays the default unless asked
    ship(_fake_run(tmp_path / "c", 99.0), "mnist-long", default=True)
    assert kanvision.list_pretrained("kkan_small.*") == ["kkan_small.mnist", "kkan_small.mnist-long"]
    assert kanvision.models.pretrained.default_tag_name("kkan_small") == "kkan_small.mnist-long"


def test_ship_keeps_each_progress_bar_line_in_its_final_state(tmp_path, monkeypatch):
    from kanvision.ship import ship

    monkeypatch.setenv("KANVISION_CHECKPOINTS", str(tmp_path / "checkpoints"))
    log = tmp_path / "console.log"
    log.write_bytes(b"Seed set to 0\nEpoch 0:  10%|#\rEpoch 0: 100%|##########| val/acc=0.9\ndone\n")
    ship(_fake_run(tmp_path / "a", 98.0), "mnist", log=log)
    shipped = (tmp_path / "results/mnist/kkan_small-none/train.log").read_bytes()
    assert shipped == b"Seed set to 0\nEpoch 0: 100%|##########| val/acc=0.9\ndone\n"


def test_half_precision_copy_halves_the_file_and_loads_as_float32(tmp_path):
    from safetensors.torch import load_file

    from kanvision.models.pretrained import save_half_precision

    model = kanvision.create_model("kkan_small")
    buffers = {key for key, _ in model.named_buffers()}
    assert any("running_var" in key for key in buffers)  # BatchNorm statistics: kept in fp32
    full = kanvision.save_pretrained(model, tmp_path / "full.safetensors")
    half = save_half_precision(full, tmp_path / "half.safetensors")
    assert half.stat().st_size < 0.6 * full.stat().st_size
    stored = load_file(str(half))
    loaded = kanvision.create_model("kkan_small", pretrained=str(half))
    for (key, value), back in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert back.dtype == value.dtype, key
        rounded = value.is_floating_point() and key not in buffers
        assert stored[key].dtype == (torch.float16 if rounded else value.dtype), key
        expected = value.half().to(value.dtype) if rounded else value
        assert torch.equal(back, expected), key


def _fake_run_on(tiny_data: Path, folder: Path) -> Path:
    run = _fake_run(folder, 10.0)
    (run / "config.yaml").write_text(
        f"seed_everything: 0\ndata:\n  name: mnist\n  root: {tiny_data}\n  val_size: 32\n"
    )
    return run


def test_ship_fp16_checks_the_test_accuracy_and_records_it(tmp_path, monkeypatch, tiny_data):
    from safetensors import safe_open

    from kanvision.ship import ship

    monkeypatch.setenv("KANVISION_CHECKPOINTS", str(tmp_path / "checkpoints"))
    meta = json.loads(ship(_fake_run_on(tiny_data, tmp_path / "a"), "mnist", fp16=True).read_text())
    check = meta["fp16_check"]
    assert meta["storage_dtype"] == "float16"
    assert abs(check["fp32_test_acc"] - check["fp16_test_acc"]) <= check["tolerance"]
    assert "fp32_exact_acc" not in check  # MNIST has no exact subset: one accuracy to check
    with safe_open(str(tmp_path / "checkpoints/kkan_small.mnist.safetensors"), framework="pt") as f:
        dtypes = {k: f.get_slice(k).get_dtype() for k in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
    params = dict(kanvision.create_model("kkan_small", kan="none").named_parameters())
    assert params and all(dtypes[k] == "F16" for k in params)  # buffers keep their dtype
    assert next(kanvision.create_model("kkan_small.mnist", pretrained=True).parameters()).dtype == torch.float32


def test_ship_fp16_refuses_a_changed_accuracy_and_leaves_no_entry(tmp_path, monkeypatch, tiny_data):
    import kanvision.ship

    monkeypatch.setenv("KANVISION_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setattr(kanvision.ship, "FP16_TOLERANCE", -1.0)  # any result counts as changed
    with pytest.raises(kanvision.KanvisionError, match="ship it in fp32"):
        kanvision.ship.ship(_fake_run_on(tiny_data, tmp_path / "a"), "mnist", fp16=True)
    assert kanvision.list_pretrained() == []
    assert not (tmp_path / "results").exists()


def test_ship_fp16_also_checks_the_exact_test_images(tmp_path, monkeypatch, tiny_data):
    """A test set with an exact subset (the offline CIFAR-10 copy) states two accuracies: fp16
    storage that keeps the whole set's but moves the subset's is refused too."""
    import kanvision.ship
    import kanvision.training.evaluate

    reports = iter([{"top1": 80.78, "top1_exact": 90.4}, {"top1": 80.78, "top1_exact": 90.3}])
    monkeypatch.setattr(kanvision.training.evaluate, "evaluate", lambda *args, **kwargs: next(reports))
    monkeypatch.setenv("KANVISION_CHECKPOINTS", str(tmp_path / "checkpoints"))
    with pytest.raises(kanvision.KanvisionError, match="exact test images from 90.40% to 90.30%"):
        kanvision.ship.ship(_fake_run_on(tiny_data, tmp_path / "a"), "mnist", fp16=True)
    assert kanvision.list_pretrained() == []


def test_record_only_copies_the_records_and_ships_no_weights(tmp_path, monkeypatch):
    from kanvision.ship import main

    monkeypatch.setenv("KANVISION_CHECKPOINTS", str(tmp_path / "checkpoints"))
    log = tmp_path / "console.log"
    log.write_bytes(b"Epoch 0:  10%|#\rEpoch 0: 100%|##########|\n")
    dest = tmp_path / "results/mnist-seeds/kkan_small-s1"
    main([str(_fake_run(tmp_path / "a", 98.0)), "--record-only", str(dest), "--log", str(log)])
    assert sorted(p.name for p in dest.iterdir()) == ["config.yaml", "kkan_small.json", "metrics.csv", "train.log"]
    assert (dest / "train.log").read_bytes() == b"Epoch 0: 100%|##########|\n"
    assert not (tmp_path / "checkpoints").exists() and kanvision.list_pretrained("kkan_small.*") == []


def test_ship_without_a_tag_says_how_to_record_instead(tmp_path, capsys):
    from kanvision.ship import main

    with pytest.raises(SystemExit) as exit_info:
        main([str(_fake_run(tmp_path / "a", 98.0))])
    assert exit_info.value.code == 2 and "--record-only" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--tag", "mnist"], ["--fp16"], ["--default"], ["--url", "https://example.org/w"]])
def test_record_only_refuses_options_for_shipped_weights(tmp_path, capsys, extra):
    from kanvision.ship import main

    dest = tmp_path / "results/mnist-seeds/kkan_small-s1"
    with pytest.raises(SystemExit) as exit_info:
        main([str(_fake_run(tmp_path / "a", 98.0)), "--record-only", str(dest), *extra])
    assert exit_info.value.code == 2 and extra[0] in capsys.readouterr().err
    assert not dest.exists()


def test_ship_names_a_folder_without_one_run(tmp_path):
    from kanvision.ship import main

    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--tag", "mnist"])
    assert exit_info.value.code == 2
