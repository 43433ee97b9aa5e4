"""``benchmarks/gpu.py --device cpu --quick`` runs every code path on the CPU and writes the
documented JSON (and its markdown)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {"bspline", "rbf", "gram", "chebyshev", "rational"}
NUMBER = (int, float)
OPTIONAL_NUMBER = (int, float, type(None))

LAYER_KEYS = {
    "kind": str, "layer": str, "basis": str, "size": str, "path": str, "graphs": bool,
    "ms": NUMBER, "vs_k_matched": NUMBER, "vs_plain": NUMBER,
    # CPU peak memory comes from /proc (None where it cannot be read)
    "peak_mb": OPTIONAL_NUMBER, "k_matched_peak_mb": OPTIONAL_NUMBER,
    "k_plus_1": int, "default": bool, "first_s": NUMBER,
}
MODEL_KEYS = {
    "kind": str, "model": str, "variant": str, "compiled": bool, "images_per_s": NUMBER,
    "peak_mb": OPTIONAL_NUMBER, "params": int, "ms": NUMBER, "first_s": NUMBER,
}


def check_types(row: dict, keys: dict) -> None:
    for key, kind in keys.items():
        assert key in row, f"{key} missing from {row}"
        assert isinstance(row[key], kind), f"{key}={row[key]!r} in {row}"
        if kind is NUMBER:
            assert row[key] > 0 or key == "first_s", f"{key}={row[key]!r} in {row}"


def test_quick_cpu_run_writes_the_documented_json(tmp_path: Path) -> None:
    env = dict(os.environ)
    # the suite's conftest turns compilation off and Triton's interpreter on; the benchmark
    # should see a plain machine
    for name in ("KANVISION_COMPILE", "KANVISION_KERNEL", "TRITON_INTERPRET"):
        env.pop(name, None)
    command = [sys.executable, "benchmarks/gpu.py", "--device", "cpu", "--quick",
               "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    doc = json.loads((tmp_path / "gpu-cpu.json").read_text())
    assert isinstance(doc["machine"], str) and doc["machine"]
    assert doc["command"] == "python " + " ".join(["benchmarks/gpu.py", *command[2:]])
    assert doc["torch"] == torch.__version__
    assert all(part["finished"] for part in doc["parts"].values())
    assert set(doc["parts"]) == {"layers", "models"}
    rows = doc["rows"]
    assert not [r for r in rows if r.get("error")]

    layers = [r for r in rows if r["kind"] == "layer"]
    for r in layers:
        check_types(r, LAYER_KEYS)
        assert r["layer"] in ("linear", "conv2d") and r["basis"] in FAMILIES
        assert r["path"] in ("compile", "eager")  # no triton on the CPU
        assert not r["graphs"]  # no CUDA graphs on the CPU
    for layer in ("linear", "conv2d"):
        eager = {r["basis"] for r in layers if r["layer"] == layer and r["path"] == "eager"}
        assert eager == FAMILIES
    if any(shutil.which(cc) for cc in ("g++", "c++", "clang++")):  # the compiled expand works
        compiled = {(r["layer"], r["size"]) for r in layers if r["path"] == "compile"}
        assert {layer for layer, _ in compiled} == {"linear", "conv2d"}
        assert any(r["default"] for r in layers if r["path"] == "compile")
    assert {s["reason"].split(":")[0] for s in doc["skipped"] if s["path"] == "triton"} == {
        "triton not available"}

    models = [r for r in rows if r["kind"] == "model"]
    for r in models:
        check_types(r, MODEL_KEYS)
        assert r["variant"] in ("kan", "standard", "matched")
    names = {r["model"] for r in models}
    assert len(names) >= 2
    for name in names:
        assert {r["variant"] for r in models if r["model"] == name and not r["compiled"]} == {
            "kan", "standard", "matched"}
    assert any(r["compiled"] for r in models)
    for r in models:
        if r["variant"] == "kan" and not r["compiled"]:
            assert r["vs_matched"] > 0 and r["vs_standard"] > 0

    assert len(doc["targets"]) == 5
    for t in doc["targets"]:
        assert t["met"] in (True, False) and t["worst"] > 0

    md = (tmp_path / "gpu-cpu.md").read_text()
    for text in ("## Targets", "## Layers", "## Models", "not performance figures", doc["command"]):
        assert text in md


def _gpu_module():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return gpu


def test_device_slug_names_the_gpu_model() -> None:
    gpu = _gpu_module()
    assert gpu.gpu_model("NVIDIA H100 80GB HBM3") == "h100"
    assert gpu.gpu_model("NVIDIA H200") == "h200"
    assert gpu.gpu_model("NVIDIA A100-SXM4-40GB") == "a100"
    assert gpu.gpu_model("NVIDIA GeForce RTX 4090") == "rtx-4090"
    assert gpu.device_slug("cpu") == "cpu"


def _layer(layer, basis, size, path, ratio, peak=1.0, default=True, graphs=False):
    return {"kind": "layer", "layer": layer, "basis": basis, "size": size, "path": path,
            "graphs": graphs, "ms": ratio, "vs_k_matched": ratio, "vs_plain": 2 * ratio,
            "peak_mb": peak, "k_matched_peak_mb": 2.0, "default": default}


def test_targets_are_judged_from_the_rows_at_realistic_sizes() -> None:
    gpu = _gpu_module()
    rows = [
        _layer("linear", "bspline", "vit_tiny_mlp", "triton", 1.1),
        _layer("linear", "bspline", "vit_tiny_mlp", "compile", 3.0, default=False),  # not default
        _layer("linear", "bspline", "small", "triton", 5.0),  # small sizes are not judged
        _layer("linear", "bspline", "vit_tiny_mlp", "triton", 9.0, graphs=True),
        _layer("conv2d", "bspline", "cifar_conv64", "compile", 1.4),
        _layer("conv2d", "gram", "cifar_conv64", "compile", 1.2, peak=3.0),
        {"kind": "model", "model": "resnet20_cifar", "variant": "kan", "compiled": False,
         "images_per_s": 100.0, "peak_mb": 1.0},
        {"kind": "model", "model": "resnet20_cifar", "variant": "matched", "compiled": False,
         "images_per_s": 120.0, "peak_mb": 1.0},
    ]
    gpu.add_model_ratios(rows)
    assert rows[-2]["vs_matched"] == 1.2 and rows[-2]["vs_standard"] is None
    verdicts = {t["target"].split(" <=")[0]: t for t in gpu.judge(rows)}
    assert verdicts["B-spline KANLinear"]["met"] and verdicts["B-spline KANLinear"]["worst"] == 1.1
    assert verdicts["B-spline KANConv2d"]["met"] is False
    other = verdicts["every other zoo family (rbf, gram, chebyshev, rational)"]
    assert other["met"] and other["rows"] == 1
    assert verdicts["peak memory"]["met"] is False and verdicts["peak memory"]["worst"] == 1.5
    assert verdicts["each KAN model step"]["met"]


def test_a_part_keeps_the_other_parts_rows(tmp_path: Path) -> None:
    gpu = _gpu_module()

    def run(part: str, row: dict):
        r = gpu.Run(device="cpu", quick=True, out=tmp_path, command=f"cmd {part}", machine="m",
                    reps=1, warmup=0, model_reps=1, model_warmup=0, batch=2, time_limit=0)
        r.load_kept([part])
        r.parts[part] = {"command": r.command, "finished": True}
        r.rows.append(row)
        r.write()

    run("layers", _layer("linear", "gram", "quick_linear", "eager", 2.0))
    run("models", {"kind": "model", "model": "kan_convnet", "variant": "kan", "compiled": False,
                   "images_per_s": 10.0, "peak_mb": None, "error": "OutOfMemoryError: test"})
    doc = json.loads((tmp_path / "gpu-cpu.json").read_text())
    assert [r["kind"] for r in doc["rows"]] == ["layer", "model"]
    assert doc["command"] == "cmd layers && cmd models"
    md = (tmp_path / "gpu-cpu.md").read_text()
    assert "## Errors" in md and "OutOfMemoryError: test" in md
