"""LightningDataModule for every registered dataset (see :mod:`kanvision.data.datasets`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, random_split
from torchvision import transforms

from kanvision.data.datasets import DatasetInfo, get_dataset_info
from kanvision.data.offline import default_root
from kanvision.data.sources import DataRequest, FakeDataOptions
from kanvision.data.test_mask import AUTO, MarkedDataset, describe, find_test_mask, load_test_mask
from kanvision.data.transforms import jpeg_compression, rand_augment
from kanvision.errors import SettingError

try:  # a resumable loader: Lightning keeps its position in each checkpoint
    from torchdata.stateful_dataloader import StatefulDataLoader as TrainLoader
except ImportError:  # e.g. a bare GPU machine: training works, mid-epoch resume reshuffles
    TrainLoader = DataLoader


class TransformedSubset(Dataset):
    """``indices`` of a raw (PIL-image) dataset with a transform applied: one loaded copy of
    the data serves the training and validation splits with their different transforms."""

    def __init__(self, base: Dataset, indices: Sequence[int] | None, transform: Callable) -> None:
        self.base = base
        self.indices = list(indices) if indices is not None else None
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices) if self.indices is not None else len(self.base)

    def __getitem__(self, i: int):
        image, label = self.base[self.indices[i] if self.indices is not None else i]
        return self.transform(image), label


class ImageDataModule(L.LightningDataModule):
    """Train / validation / test loaders for a registered dataset.

    Args:
        name: a registered dataset: ``mnist``, ``fashion_mnist``, ``kmnist``, ``cifar10``,
            ``cifar100``, ``svhn``, ``imagefolder`` (``<root>/train/<class>/*`` and
            ``<root>/val/<class>/*``; val is the test split) or ``fake`` (synthetic).
        root: data folder; default ``$KANVISION_DATA``, else ``./data``. Files are downloaded
            there when missing and the internet is reachable; a read-only folder (or one with
            ``.xz``-compressed files) is used through a writable cache.
        batch_size: per-step batch size for every split.
        val_size: images held out of the official training set for validation, chosen with a
            fixed ``split_seed``; default: the dataset's (5000; 64 for ``fake``). The test split
            is the official test set.
        augment: training augmentation. None: the dataset's default (random crops and flips for
            CIFAR, crops for SVHN, random-resized crops and flips for imagefolder, none for the
            MNIST family and fake); True: that augmentation (a light random affine for the MNIST
            family); False: none.
        rand_augment: a timm RandAugment string (e.g. ``rand-m9-mstd0.5``) applied to training
            images after ``augment``.
        jpeg_quality: ``[low, high]``: a JPEG round trip at a random quality in that range for
            every training image, last of the augmentations, so that a model learns to read
            compressed photos (such as the JPEG-decoded part of the offline CIFAR-10 test set).
        img_size: side of the square images the loaders yield; default the dataset's (224 for
            imagefolder, 32 for fake). Other datasets are resized when it differs.
        num_workers: data-loading worker processes.
        download: fetch missing files from the internet (torchvision's mirrors). With False,
            missing files are an error at once.
        verify_integrity: check data files against torchvision's md5 sums; False skips the check
            with a warning (for re-built copies such as an offline CIFAR-10).
        fake: size, classes and channels of ``fake`` data.
        test_mask: a boolean mask over the test set (``.npy``, one entry per image in file
            order) whose marked images get their own accuracy (``test/acc_exact`` with its
            Wilson 95% interval) next to the whole set's; the test split then yields
            ``(image, label, marked)``. ``auto``: ``test_is_exact.npy`` when it lies in the data
            folder (the offline CIFAR-10 copy's exact test images), else none; ``null``: none.
    """

    def __init__(
        self,
        name: str = "mnist",
        root: str | None = None,
        batch_size: int = 128,
        val_size: int | None = None,
        split_seed: int = 0,
        augment: bool | None = None,
        rand_augment: str | None = None,
        jpeg_quality: tuple[int, int] | None = None,
        img_size: int | None = None,
        num_workers: int = 0,
        download: bool = True,
        verify_integrity: bool = True,
        fake: FakeDataOptions | None = None,
        test_mask: str | None = AUTO,
    ) -> None:
        super().__init__()
        registered = get_dataset_info(name)
        self.root = root or default_root()
        self.request = DataRequest(Path(self.root), download, verify_integrity, img_size,
                                   fake or FakeDataOptions())
        self.info: DatasetInfo = registered.source.configure(registered, self.request)
        self.native_size = registered.input_size[-1]
        self.batch_size = batch_size
        self.val_size = registered.default_val_size if val_size is None else val_size
        self.split_seed = split_seed
        self.augment = registered.preprocess.augment_by_default if augment is None else augment
        self.rand_augment = rand_augment
        self.jpeg_quality = jpeg_quality
        self.num_workers = num_workers
        self.download = download
        self.verify_integrity = verify_integrity
        self.test_mask = test_mask
        self.exact_mask: np.ndarray | None = None  # set up with the test split
        if rand_augment or jpeg_quality is not None:
            self.transform(train=True)  # a bad setting fails now, with a one-line error
        self._raw: dict[bool, Dataset] = {}
        self._splits: dict[str, Dataset] = {}

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    @property
    def in_chans(self) -> int:
        return self.info.in_chans

    @property
    def img_size(self) -> int:
        """Side of the (square) images the loaders yield; models adapt to it."""
        return self.info.input_size[-1]

    def transform(self, train: bool) -> transforms.Compose:
        """The dataset's sizing, then (training) augmentation, RandAugment and JPEG compression,
        then tensor + normalization."""
        preprocess, size = self.info.preprocess, self.img_size
        if train and self.augment:
            steps = preprocess.augmentation(size, self.native_size)
        else:
            steps = preprocess.sizing(size, self.native_size)
        if train and self.rand_augment:
            steps.append(rand_augment(self.rand_augment, size, self.info.mean))
        if train and self.jpeg_quality is not None:
            steps.append(jpeg_compression(self.jpeg_quality))
        steps += [transforms.ToTensor(), transforms.Normalize(self.info.mean, self.info.std)]
        return transforms.Compose(steps)

    def raw_split(self, train: bool) -> Dataset:
        """The official train or test split as its source yields it (untransformed: PIL images and
        labels), loaded once; the training, validation and test splits are views of these."""
        if train not in self._raw:
            self._raw[train] = self.info.source.load(self.info, self.request, train)
        return self._raw[train]

    def prepare_data(self) -> None:
        self.raw_split(True)
        self.raw_split(False)

    def setup(self, stage: str | None = None) -> None:
        if stage in ("fit", "validate", None) and "train" not in self._splits:
            full = self.raw_split(True)
            n_val = self.val_size
            if not 0 < n_val < len(full):
                raise SettingError(
                    f"data.val_size={n_val} must be between 1 and {len(full) - 1} (the training split has "
                    f"{len(full)} images): pass --data.val_size N"
                )
            generator = torch.Generator().manual_seed(self.split_seed)
            train_idx, val_idx = random_split(
                range(len(full)), [len(full) - n_val, n_val], generator=generator
            )
            self._splits["train"] = TransformedSubset(full, train_idx, self.transform(train=True))
            self._splits["val"] = TransformedSubset(full, val_idx, self.transform(train=False))
        if stage in ("test", None) and "test" not in self._splits:
            test: Dataset = TransformedSubset(self.raw_split(False), None, self.transform(False))
            path = self.test_mask_path()
            if path is not None:
                self.exact_mask = load_test_mask(path, len(test), self.info.name)
                test = MarkedDataset(test, self.exact_mask)
            self._splits["test"] = test

    def test_mask_path(self) -> Path | None:
        """The mask file ``test_mask`` names (``auto``: found in the data folder, or None)."""
        if self.test_mask is None or self.test_mask.lower() in ("none", "null", ""):
            return None
        if self.test_mask != AUTO:
            return Path(self.test_mask)
        folders = (getattr(self.info.tv_class, "base_folder", ""), self.info.folder)
        return find_test_mask(self.root, folders)

    def test_set_description(self, tested: int | None = None) -> str:
        """How the test split is labelled in reports: its size, and the marked images' share.

        ``tested``: how many images the test pass saw; fewer than the split holds (a
        ``limit_test_batches`` run) reads ``256 of 10,000 images (...)``, so a cut-short test is
        never reported as the whole set."""
        if self.exact_mask is not None:
            whole, size = describe(self.exact_mask), self.exact_mask.size
        elif "test" in self._splits:
            size = len(self._splits["test"])
            whole = f"{size:,} images"
        else:
            return "test split"
        return f"{tested:,} of {whole}" if tested is not None and tested < size else whole

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        """The training loader is resumable (:class:`~torchdata.stateful_dataloader.
        StatefulDataLoader`): a run killed mid-epoch and resumed from its checkpoint sees the rest
        of that epoch's shuffled order, not a fresh shuffle."""
        loader_class = TrainLoader if split == "train" else DataLoader
        return loader_class(
            self._splits[split],
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
