"""Fine-tuning: pretrained=..., num_classes=N gives a fresh classifier, in_chans adapts the first
layer (KAN layers per expanded channel, with their per-channel grids), train.py --model.pretrained."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

import kanvision
from kanvision.errors import CheckpointError
from kanvision.layers import list_bases
from kanvision.models import freeze_backbone
from kanvision.training.cli import run

ROOT = Path(__file__).resolve().parents[1]


def _saved(tmp_path: Path, name: str = "kan_convnet", **kwargs) -> tuple[torch.nn.Module, str]:
    torch.manual_seed(0)
    model = kanvision.create_model(name, **kwargs).eval()
    return model, str(kanvision.save_pretrained(model, tmp_path / f"{name}.safetensors"))


def test_new_num_classes_keeps_every_weight_but_the_classifier_and_says_so(tmp_path, caplog):
    model, path = _saved(tmp_path)
    with caplog.at_level(logging.INFO, logger="kanvision"):
        tuned = kanvision.create_model("kan_convnet", pretrained=path, num_classes=5)
    (line,) = [r.getMessage() for r in caplog.records if "pretrained" in r.getMessage()]
    assert "classifier" in line and "5 classes" in line
    assert tuned.kanvision_cfg["args"]["num_classes"] == 5
    before, after = model.state_dict(), tuned.state_dict()
    head = {k for k in after if k.startswith("head.")}
    assert head and all(after[k].shape[0] == 5 for k in ("head.mix.weight", "head.mix.bias"))
    assert all(torch.equal(before[k], after[k]) for k in after if k not in {"head.mix.weight", "head.mix.bias"})


@pytest.mark.parametrize("kan", [*list_bases(), "none"])
def test_in_chans_adapts_the_first_layer_exactly_for_a_repeated_grey_image(tmp_path, kan):
    """Repeat-and-scale to 3 channels, sum back to 1: the same logits for a grey image."""
    model, path = _saved(tmp_path, kan=kan)
    x = torch.rand(4, 1, 28, 28)
    rgb = kanvision.create_model("kan_convnet", pretrained=path, in_chans=3).eval()
    with torch.no_grad():
        assert torch.allclose(rgb(x.repeat(1, 3, 1, 1)), model(x), atol=1e-4)
    back_path = kanvision.save_pretrained(rgb, tmp_path / "rgb.safetensors")
    grey = kanvision.create_model("kan_convnet", pretrained=str(back_path), in_chans=1).eval()
    with torch.no_grad():
        assert torch.allclose(grey(x), model(x), atol=1e-4)


def test_kan_first_layer_grids_follow_the_channels(tmp_path):
    model, path = _saved(tmp_path, kan="bspline")
    with torch.no_grad():
        model.features[0].basis.grid_lo.fill_(-1.5)  # a grid no fresh model has
    path = kanvision.save_pretrained(model, tmp_path / "moved.safetensors")
    rgb = kanvision.create_model("kan_convnet", pretrained=str(path), in_chans=3)
    assert rgb.features[0].basis.grid_lo.shape == (3,)
    assert torch.all(rgb.features[0].basis.grid_lo == -1.5)


def test_shipped_tag_fine_tunes_to_a_new_task(caplog):
    tuned = kanvision.create_model("kan_convnet", pretrained="kan_convnet.mnist", num_classes=4, in_chans=3)
    assert tuned(torch.rand(2, 3, 28, 28)).shape == (2, 4)


def test_other_architecture_arguments_still_fail_clearly(tmp_path):
    _, path = _saved(tmp_path)
    with pytest.raises(CheckpointError, match="does not fit this model"):
        kanvision.create_model("kan_convnet", pretrained=path, grid_size=8, num_classes=3)


def test_num_classes_change_without_a_classifier_is_one_line(tmp_path):
    _, path = _saved(tmp_path, "vit_nano_patch4_32", num_classes=0, in_chans=1, img_size=28)
    with pytest.raises(CheckpointError, match="no classifier to reset") as e:
        kanvision.create_model("vit_nano_patch4_32", pretrained=path, num_classes=10)
    assert "\n" not in str(e.value)


def test_freeze_trains_only_the_classifier():
    model = kanvision.create_model("kan_convnet", num_classes=3)
    trainable = freeze_backbone(model)
    assert trainable == sum(p.numel() for p in model.head.parameters())
    assert all(not p.requires_grad for n, p in model.named_parameters() if not n.startswith("head."))


def test_train_fine_tunes_from_a_shipped_entry(tiny_data, tmp_path):
    """KMNIST (tiny, real format) from kan_convnet.mnist, head only."""
    config = ROOT / "configs/kmnist/kan_convnet.yaml"
    summary = run([
        "--config", str(config), "--data.root", str(tiny_data), "--data.val_size", "16",
        "--data.batch_size", "32", "--logging.save_dir", str(tmp_path), "--logging.wandb", "false",
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
        "--data.verify_integrity", "false", "--trainer.max_epochs", "1",
        "--model.pretrained", "kan_convnet.mnist", "--model.freeze", "true",
    ])
    tuned = kanvision.create_model("kan_convnet", pretrained=summary["weights"])
    shipped = kanvision.create_model("kan_convnet.mnist", pretrained=True)
    assert torch.equal(tuned.features[0].mix.weight, shipped.features[0].mix.weight)  # frozen
    assert not torch.equal(tuned.head.mix.weight, shipped.head.mix.weight)  # trained
