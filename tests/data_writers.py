"""Tiny datasets written in each real on-disk format, so loaders can be tested without internet.

Every writer puts the files where torchvision (and ``ImageDataModule``) looks for them under
``root`` and returns ``root``. Images carry a label-dependent bright stripe, so a model can learn
them in an epoch. The files are not the official ones, so their md5 differs from torchvision's:
load CIFAR / SVHN / ``.gz`` IDX data with ``verify_integrity=False``
(``--data.verify_integrity false``).
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]


def _images(rng: np.random.Generator, labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """uint8 noise (N, H, W[, C]) with a bright row at a label-dependent height."""
    images = rng.integers(0, 60, (len(labels), *shape)).astype(np.uint8)
    h = shape[0]
    for img, label in zip(images, labels):
        img[(2 * int(label) + 3) % h, 2:-2] = 255
    return images


def _idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_dataset(root: Path, folder: str = "KMNIST", n_train: int = 64, n_test: int = 32,
                      seed: int = 0, gz: bool = True) -> Path:
    """MNIST-family IDX files (torchvision's names) in ``root/folder/raw``, as the ``.gz``
    archives (``gz=True``; their md5 is checked) or already extracted (no md5 check)."""
    rng = np.random.default_rng(seed)
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        for kind, array in (("images-idx3", _images(rng, labels, (28, 28))),
                            ("labels-idx1", labels)):
            name = f"{split}-{kind}-ubyte"
            data = _idx_bytes(array)
            if gz:
                (raw / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
            else:
                (raw / name).write_bytes(data)
    return Path(root)


def _cifar_entry(rng: np.random.Generator, labels: np.ndarray, label_keys: dict) -> dict:
    images = _images(rng, labels, (32, 32, 3))  # HWC; CIFAR stores CHW rows of 3072
    return {
        "batch_label": "synthetic batch",
        **label_keys,
        "data": images.transpose(0, 3, 1, 2).reshape(len(labels), 3072),
        "filenames": [f"img_{i}.png" for i in range(len(labels))],
    }


def _dump(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar_batches(root: Path, n_train: int = 500, n_test: int = 100, seed: int = 0) -> Path:
    """A complete CIFAR-10 ``root/cifar-10-batches-py`` folder: ``data_batch_1..5`` (the
    training images split over five batches), ``test_batch`` and ``batches.meta``, pickled
    dicts with ``data`` (uint8, N x 3072) and ``labels``. Use with ``--data.name cifar10
    --data.root <root> --data.verify_integrity false``."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(n_train), 5), start=1):
        labels = rng.integers(0, 10, len(part))
        _dump(folder / f"data_batch_{i}", _cifar_entry(rng, labels, {"labels": labels.tolist()}))
    labels = rng.integers(0, 10, n_test)
    _dump(folder / "test_batch", _cifar_entry(rng, labels, {"labels": labels.tolist()}))
    _dump(folder / "batches.meta", {"label_names": CIFAR10_CLASSES, "num_cases_per_batch": 10000,
                                    "num_vis": 3072})
    return Path(root)


def write_cifar100(root: Path, n_train: int = 300, n_test: int = 100, seed: int = 0) -> Path:
    """CIFAR-100's ``root/cifar-100-python`` folder: ``train``, ``test`` (``fine_labels``
    0..99 and ``coarse_labels`` 0..19) and ``meta``."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train", n_train), ("test", n_test)):
        fine = rng.integers(0, 100, n)
        keys = {"fine_labels": fine.tolist(), "coarse_labels": (fine // 5).tolist()}
        _dump(folder / name, _cifar_entry(rng, fine, keys))
    _dump(folder / "meta", {"fine_label_names": [f"class_{i}" for i in range(100)],
                            "coarse_label_names": [f"super_{i}" for i in range(20)]})
    return Path(root)


def write_svhn(root: Path, n_train: int = 64, n_test: int = 32, seed: int = 0) -> Path:
    """SVHN's ``train_32x32.mat`` / ``test_32x32.mat`` in ``root``: ``X`` (32, 32, 3, N) uint8
    and ``y`` (N, 1) with labels 1..10, where 10 is the digit 0."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    Path(root).mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        digits = rng.integers(0, 10, n)
        digits[0] = 0  # always include the '10 means 0' case
        images = _images(rng, digits, (32, 32, 3))
        y = np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]
        savemat(Path(root) / f"{split}_32x32.mat", {"X": images.transpose(1, 2, 3, 0), "y": y})
    return Path(root)


def write_image_folder(root: Path, num_classes: int = 3, n_train: int = 8, n_val: int = 3,
                       size: tuple[int, int] = (40, 30), seed: int = 0) -> Path:
    """``root/train/<class>/*.png`` and ``root/val/<class>/*.png`` (RGB, ``size`` = (W, H),
    not square, so resizing and cropping are exercised)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        for c in range(num_classes):
            folder = Path(root) / split / f"class_{c:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            labels = np.full(n, c)
            for i, img in enumerate(_images(rng, labels, (size[1], size[0], 3))):
                Image.fromarray(img).save(folder / f"{i}.png")
    return Path(root)


def write_every_dataset(root: Path) -> Path:
    """KMNIST, CIFAR-10, CIFAR-100 and SVHN under ``root`` and an image-folder tree at
    ``root/train`` + ``root/val``: one data root for every config (with
    ``verify_integrity=False``); each has 200+ training images, so ``val_size=64`` fits."""
    write_idx_dataset(root, "KMNIST", n_train=256, gz=False)
    write_cifar_batches(root)
    write_cifar100(root)
    write_svhn(root, n_train=256)
    write_image_folder(root, n_train=80)
    return Path(root)
