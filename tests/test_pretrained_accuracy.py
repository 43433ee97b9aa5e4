"""Shipped weights reproduce their stated accuracy on the real test set (slow; needs the data).

Evaluation uses only torchvision and the entry's metadata (mean, std, input size), not our
training code, the way a user without kanvision's trainer would check the numbers.
"""

from __future__ import annotations

import pytest
import torch
from helpers import SHARED_DATASETS, shipped_weights
from torchvision import transforms

import kanvision
from kanvision.data import get_dataset_info
from kanvision.data.offline import resolve_root

SHARED = SHARED_DATASETS


@pytest.mark.slow
@pytest.mark.parametrize("name", kanvision.list_pretrained())
def test_shipped_weights_reproduce_stated_accuracy(name):
    cfg = kanvision.get_pretrained_cfg(name)
    info = get_dataset_info(cfg["dataset"])
    if not (SHARED / info.folder / "raw").is_dir():
        pytest.skip(f"{info.folder} files not found under {SHARED}")
    root = resolve_root(SHARED, info.tv_class, info.folder)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(cfg["mean"], cfg["std"])])
    test_set = info.tv_class(str(root), train=False, transform=tf, download=True)
    shipped_weights(name)
    model = kanvision.create_model(name, pretrained=True).eval()
    correct = 0
    with torch.inference_mode():
        for x, y in torch.utils.data.DataLoader(test_set, batch_size=500):
            correct += (model(x).argmax(1) == y).sum().item()
    acc = 100 * correct / len(test_set)
    stated = cfg["metrics"][info.folder]["acc@1"]
    assert acc == pytest.approx(stated, abs=0.05)
