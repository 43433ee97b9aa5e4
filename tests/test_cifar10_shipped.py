"""Shipped CIFAR-10 weights reproduce their stated accuracy on the offline CIFAR-10 copy (slow; needs the data).

The copy (``cifar-10-offline`` under the shared datasets folder, see its README) is a re-built
CIFAR-10 whose test set is 1,000 exact images plus 9,000 JPEG-decoded ones, so torchvision's md5
check rejects it and ``test_pretrained_accuracy.py`` (which needs torchvision's own layout) skips
these entries. Here each entry is re-evaluated with the library's own evaluation path
(:func:`kanvision.training.evaluate.evaluate` on an :class:`~kanvision.data.ImageDataModule` with the
copy's test mask), and both numbers its metadata states are checked: the whole test set's top-1
and the exact subset's.
"""

from __future__ import annotations

import pytest
import torch
from helpers import SHARED_DATASETS, shipped_weights

import kanvision
from kanvision.data import ImageDataModule
from kanvision.training.evaluate import evaluate

SHARED = SHARED_DATASETS
OFFLINE = SHARED / "cifar-10-offline"
TOLERANCE = 0.05  # test-accuracy points (the zoo's reproduction tolerance, as for fp16 storage)

CIFAR10_ENTRIES = kanvision.list_pretrained(dataset="cifar10")


def test_the_cifar10_entries_are_shipped():
    assert {"resnet20_cifar.cifar10", "resnet20_cifar.cifar10-matched"} <= set(CIFAR10_ENTRIES)


@pytest.mark.slow
@pytest.mark.parametrize("name", CIFAR10_ENTRIES)
def test_shipped_cifar10_weights_reproduce_stated_accuracy(name):
    if not (OFFLINE / "test_batch.xz").is_file():
        pytest.skip(f"the offline CIFAR-10 copy is not at {OFFLINE} (set KANVISION_DATA to the shared datasets folder)")
    cfg = kanvision.get_pretrained_cfg(name)
    (stated,) = cfg["metrics"].values()
    shipped_weights(name)
    model = kanvision.create_model(name, pretrained=True)
    data = ImageDataModule(name="cifar10", root=str(OFFLINE), batch_size=500, download=False,
                           verify_integrity=False, test_mask=str(OFFLINE / "test_is_exact.npy"))
    report = evaluate(model, data, torch.device("cpu"))
    assert report["images"] == 10_000
    assert report["top1"] == pytest.approx(stated["acc@1"], abs=TOLERANCE), report
    if exact := stated.get("exact_subset"):
        assert report["exact_images"] == exact["images"], report
        assert report["top1_exact"] == pytest.approx(exact["acc@1"], abs=TOLERANCE), report
