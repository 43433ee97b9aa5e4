"""A mask over a test set: the images whose accuracy is reported a second time, on its own.

Our offline CIFAR-10 copy's test set holds 1,000 exact images and 9,000 decoded from JPEG copies
of the official ones; ``test_is_exact.npy`` (bool, one entry per test image, in file order) next
to its batch files marks the exact ones. With a mask, the test split yields ``(image, label,
exact)`` triples, and training and evaluation report the accuracy on the whole test set and on the
marked images alone (with its Wilson 95% interval). The official files have no mask: one number.

``data.test_mask``: ``auto`` (default) uses ``test_is_exact.npy`` when it lies in the data folder
(``<root>`` or ``<root>/<dataset folder>``), a path names a mask file, ``null`` turns it off.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from kanvision.errors import KanvisionError

MASK_FILE = "test_is_exact.npy"
AUTO = "auto"


def find_test_mask(root: str | Path, folders: tuple[str, ...]) -> Path | None:
    """``test_is_exact.npy`` in ``root/<folder>`` (for each of ``folders``) or ``root``."""
    root = Path(root).expanduser()
    for where in dict.fromkeys([*(root / f for f in folders if f), root]):
        if (where / MASK_FILE).is_file():
            return where / MASK_FILE
    return None


def load_test_mask(path: str | Path, num_images: int, dataset: str) -> np.ndarray:
    """The boolean mask in ``path``, checked to have one entry per test image and some marked."""
    fix = "give a .npy file of booleans, one per test image in file order, or set data.test_mask: null"
    path = Path(path).expanduser()
    if not path.is_file():
        raise KanvisionError(f"data.test_mask '{path}' does not exist: {fix}")
    try:
        mask = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise KanvisionError(f"data.test_mask '{path}' is not a .npy array ({type(e).__name__}): {fix}") from None
    if mask.dtype != np.bool_:
        raise KanvisionError(f"data.test_mask '{path}' holds {mask.dtype} values, not booleans: {fix}")
    if mask.shape != (num_images,):
        raise KanvisionError(
            f"data.test_mask '{path}' has shape {mask.shape} but the {dataset} test set has "
            f"{num_images:,} images: use the mask that came with these test files, or set "
            "data.test_mask: null"
        )
    if not mask.any():
        raise KanvisionError(f"data.test_mask '{path}' marks no test image: {fix}")
    return mask


def describe(mask: np.ndarray) -> str:
    """``10,000 images (1,000 exact + 9,000 not exact)``: how a masked test set is labelled."""
    exact = int(mask.sum())
    return f"{mask.size:,} images ({exact:,} exact + {mask.size - exact:,} not exact)"


class MarkedDataset(Dataset):
    """``(image, label, marked)`` for each item of ``base``: ``marked`` from a boolean mask."""

    def __init__(self, base: Dataset, mask: np.ndarray) -> None:
        self.base = base
        self.mask = mask

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        image, label = self.base[i]
        return image, label, bool(self.mask[i])
