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
    bench.main(["--config", str(ROOT / "configs/mnist/kan_convnet.yaml"), "--variants", "kan", "kan_keep_z", "matched",
                "--reps", "1", "--warmup", "1", "--threads", "1", "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "train-step-cpu-mnist-kan_convnet.json").read_text())
    assert doc["torch"] and "CPU" in doc["machine"] and doc["batch"] > 0
    rows = doc["rows"]
    assert [(r["variant"], r["precision"], r["channels_last"]) for r in rows] == [
        (v, p, cl) for v in ("kan", "kan_keep_z", "matched") for p, cl in bench.SETTINGS]
    kan = kanvision.count_params(kanvision.create_model("kan_convnet")).total
    assert {r["params"] for r in rows if r["variant"].startswith("kan")} == {kan}
    assert all(r["s_per_step"] > 0 and r["images_per_s"] > 0 for r in rows)
    assert rows[0]["vs_fp32_nchw"] == rows[4]["vs_fp32_nchw"] == rows[8]["vs_fp32_nchw"] == 1.0
    markdown = (tmp_path / "train-step-cpu-mnist-kan_convnet.md").read_text()
    assert markdown.count("\n| kan | `") == markdown.count("\n| kan_keep_z | `") == 4 and "bf16-mixed" in markdown and "channels_last" in markdown


def test_a_missing_config_is_one_clear_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_benchmark().main(["--config", str(tmp_path / "nope.yaml")])
    assert "no such file" in capsys.readouterr().err
