"""timm: every kanvision model is registered as kanvision_<model> after ``import kanvision``."""

from __future__ import annotations

import json
import subprocess
import sys

import timm
import torch

import kanvision

FRESH = """
import json, kanvision, timm
m = timm.create_model('kanvision_kan_convnet')
print(json.dumps({"models": timm.list_models('kanvision_*'), "type": type(m).__name__,
                  "timm_resnet18": timm.list_models('resnet18')}))
"""


def test_fresh_process_sees_every_model_in_timm():
    proc = subprocess.run([sys.executable, "-c", FRESH], check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(out["models"]) == {f"kanvision_{n}" for n in kanvision.list_models()}
    assert out["type"] == "ConvNet" and out["timm_resnet18"] == ["resnet18"]  # timm's own kept


def test_timm_pretrained_and_arguments_reach_kanvision():
    model = timm.create_model("kanvision_kan_convnet", pretrained=True)
    shipped = kanvision.create_model("kan_convnet", pretrained=True)
    assert torch.equal(model.head.mix.weight, shipped.head.mix.weight)
    tuned = timm.create_model("kanvision_kan_convnet", pretrained=True, num_classes=3, in_chans=3)
    assert tuned(torch.rand(1, 3, 28, 28)).shape == (1, 3)
    assert timm.create_model("kanvision_kkan_small", kan="none").kanvision_cfg["args"]["kan"] == "none"


def test_timm_reads_a_kanvision_local_dir(tmp_path):
    model = kanvision.create_model("kkan_small", num_classes=4).eval()
    kanvision.save_pretrained(model, tmp_path / "f")
    loaded = timm.create_model(f"local-dir:{tmp_path / 'f'}", pretrained=True).eval()
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(loaded(x), model(x))
