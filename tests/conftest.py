import os
import sys
from pathlib import Path

import pytest
import torch

# Without a GPU the fused Triton kernels run on Triton's CPU interpreter (tests/test_kernels.py).
# Triton decides that when it is first imported, and lightning imports it, so it is set here.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("WANDB_MODE", "offline")
# The expand step runs eagerly in tests (compiling it per shape and dtype would dominate the
# suite's time); test_layers.py checks the compiled path against it explicitly.
os.environ.setdefault("KANVISION_COMPILE", "0")

from data_writers import write_every_dataset
from helpers import make_tiny_mnist


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A data root with tiny data of every dataset in its real on-disk format: MNIST and
    Fashion-MNIST (learnable), KMNIST, CIFAR-10/100, SVHN and an image-folder tree."""
    root = tmp_path_factory.mktemp("data")
    make_tiny_mnist(root, "MNIST")
    make_tiny_mnist(root, "FashionMNIST", seed=1)
    return write_every_dataset(root)
