"""ONNX export: every basis family exports with a dynamic batch and matches PyTorch under
onnxruntime (fp32: max |diff| <= 1e-4, same top-1); the CLI's one-line answers; a slow test
exports every shipped entry."""

from __future__ import annotations

import re

import pytest
import torch

import kanvision
from kanvision.export import MAX_ABS_DIFF
from kanvision.export import main as export_main
from kanvision.layers import list_bases
from kanvision.onnx_export import export_onnx, onnx_session, parity, random_batches

pytest.importorskip("onnxruntime")


def _check(model: torch.nn.Module, input_size: tuple[int, ...], tmp_path, relative: bool = False) -> None:
    """Parity on random inputs: max |diff| <= 1e-4 (``relative``: times the largest logit, for
    trained models whose logits on random inputs reach the tens), same top-1."""
    path = export_onnx(model, tmp_path / "m.onnx", input_size)
    batches = random_batches(input_size, n=2, batch=16) + [torch.randn(3, *input_size)]  # other batch
    result = parity(model, onnx_session(path), batches)
    tolerance = MAX_ABS_DIFF
    if relative:
        with torch.no_grad():
            tolerance *= max(1.0, float(model(batches[0]).abs().max()))
    assert result.max_abs_diff <= tolerance and result.all_same_top1, result


@pytest.mark.parametrize("kan", list_bases())
def test_every_basis_family_exports_and_matches_pytorch(kan, tmp_path):
    torch.manual_seed(0)
    _check(kanvision.create_model("kan_convnet", kan=kan).eval(), (1, 28, 28), tmp_path)


@pytest.mark.parametrize("kan", ["gram", "chebyshev"])
def test_depthwise_separable_kan_exports_with_a_dynamic_batch(kan, tmp_path):
    """A pointwise KAN conv after a depthwise one: the traced ``ones_like`` of the polynomial
    bases once folded to a constant of the example's batch size. Its logits reach about 2 on
    random inputs, and float32 rounding grows with them (1.06e-4 on an Intel Xeon, under 1e-4 on
    an AMD EPYC), so the tolerance is relative."""
    torch.manual_seed(0)
    _check(kanvision.create_model("sepnet_small", kan=kan).eval(), (1, 28, 28), tmp_path, relative=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", kanvision.list_pretrained())
def test_every_shipped_entry_exports_and_matches_pytorch(name, tmp_path):
    cfg = kanvision.get_pretrained_cfg(name)
    _check(kanvision.create_model(name, pretrained=True), tuple(cfg["input_size"]), tmp_path, relative=True)


def test_cli_checks_on_test_images(tiny_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KANVISION_DATA", str(tiny_data))
    export_main(["--model", "kan_convnet", "--pretrained", "mnist", "--onnx", str(tmp_path / "k.onnx")])
    out = capsys.readouterr().out
    (n,) = re.findall(r"mnist: (\d+) images", out)
    assert int(n) > 0 and f"same top-1 on {n}/{n}" in out


def test_cli_without_data_is_one_line_unless_random_inputs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KANVISION_DATA", str(tmp_path / "empty"))
    args = ["--model", "kan_convnet", "--pretrained", "mnist", "--onnx", str(tmp_path / "k.onnx")]
    with pytest.raises(SystemExit) as e:
        export_main(args)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "--random-inputs" in err
    export_main([*args, "--random-inputs"])
    assert "checking on random inputs" in capsys.readouterr().out


def test_cli_exports_a_runs_weights(tmp_path, capsys):
    path = kanvision.save_pretrained(kanvision.create_model("kkan_small", kan="gram"), tmp_path / "w.safetensors")
    export_main(["--weights", str(path), "--onnx", str(tmp_path / "w.onnx"), "--dataset", "mnist",
                 "--random-inputs"])
    assert (tmp_path / "w.onnx").is_file()
