"""``benchmarks/train_step.py`` times every precision and memory format of a config's models in
one run and writes its JSON and markdown."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import kanvision

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("train_step", ROOT / "benchmarks/train_step.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_setting_of_each_variant_is_timed_against_its_own_fp32_step(tmp_path):
    bench = load_benchmark()
    bench.main(["--config", str(ROOT / "configs/mnist/kan_convnet.yaml"), "--variants", "kan", "kan_keep_z", "kan_unfused", "matched",
                "--reps", "1", "--warmup", "1", "--threads", "1", "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "train-step-cpu-mnist-kan_convnet.json").read_text())
    assert doc["torch"] and "CPU" in doc["machine"] and doc["batch"] > 0
    rows = doc["rows"]
    assert [(r["variant"], r["precision"], r["channels_last"]) for r in rows] == [
        (v, p, cl) for v in ("kan", "kan_keep_z", "kan_unfused", "matched") for p, cl in bench.SETTINGS]
    kan = kanvision.count_params(kanvision.create_model("kan_convnet")).total
    assert {r["params"] for r in rows if r["variant"].startswith("kan")} == {kan}
    assert all(r["s_per_step"] > 0 and r["images_per_s"] > 0 for r in rows)
    assert {rows[i]["vs_fp32_nchw"] for i in (0, 4, 8, 12)} == {1.0}
    markdown = (tmp_path / "train-step-cpu-mnist-kan_convnet.md").read_text()
    assert markdown.count("\n| kan | `") == markdown.count("\n| kan_keep_z | `") == markdown.count("\n| kan_unfused | `") == 4 and "bf16-mixed" in markdown and "channels_last" in markdown


def test_a_missing_config_is_one_clear_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_benchmark().main(["--config", str(tmp_path / "nope.yaml")])
    assert "no such file" in capsys.readouterr().err


def test_each_kan_variant_changes_how_the_step_runs(monkeypatch):
    """``kan`` runs every KAN layer through the fused op, ``kan_unfused`` none of them, and
    ``kan_keep_z`` keeps z in every layer (the rows would otherwise time the same step)."""
    from kanvision.layers import KANLayer, fused

    bench = load_benchmark()
    calls = []
    apply = fused._FusedKAN.apply
    monkeypatch.setattr(fused._FusedKAN, "apply", lambda *a: calls.append(a[1]) or apply(*a))
    counts = {}
    for variant in bench.KAN_VARIANTS:
        calls.clear()
        step = bench.TrainStep("kan_convnet", "bspline", {}, "32-true", False, 4, (1, 28, 28), 10, "cpu", 1, variant)
        layers = [m for m in step.net.modules() if isinstance(m, KANLayer)]
        counts[variant] = (len(calls), sum(not m.recompute_expand for m in layers))
    assert counts == {"kan": (len(layers), 0), "kan_keep_z": (len(layers), len(layers)), "kan_unfused": (0, 0)}


def test_another_kan_model_is_timed_in_the_same_run(tmp_path):
    """``--other_kan NAME=JSON`` adds a row set for the config's model with changed model_kwargs."""
    bench = load_benchmark()
    bench.main(["--config", str(ROOT / "configs/mnist/kan_convnet.yaml"), "--variants", "kan", "wide",
                "--other_kan", 'wide={"width_mult": 2}', "--tag", "wide",
                "--reps", "1", "--warmup", "1", "--threads", "1", "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "train-step-cpu-mnist-kan_convnet-wide.json").read_text())
    params = {r["variant"]: r["params"] for r in doc["rows"]}
    assert params["wide"] == kanvision.count_params(kanvision.create_model("kan_convnet", width_mult=2)).total
    assert params["wide"] > params["kan"] and doc["other_kans"] == {"wide": {"width_mult": 2}}
    assert '`{"width_mult": 2}`' in (tmp_path / "train-step-cpu-mnist-kan_convnet-wide.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--other_kan", "lean"], "a new variant name and a JSON object"),
    (["--other_kan", "matched={}"], "a new variant name and a JSON object"),
    (["--variants", "lean"], "not a variant"),
])
def test_bad_variant_options_are_one_clear_line(argv, message, capsys):
    with pytest.raises(SystemExit):
        load_benchmark().main(["--config", str(ROOT / "configs/mnist/kan_convnet.yaml"), *argv])
    assert message in capsys.readouterr().err
