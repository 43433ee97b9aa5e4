"""LightningDataModule for the registered torchvision classification datasets."""

from __future__ import annotations

import os
from urllib.error import URLError

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, random_split
from torchvision import transforms

from kanvision.data.datasets import DatasetInfo, get_dataset_info
from kanvision.data.offline import default_root, resolve_root
from kanvision.errors import DatasetNotFoundError


class ImageDataModule(L.LightningDataModule):
    """Train / validation / test loaders for a torchvision dataset.

    Args:
        dataset: a registered name, e.g. ``mnist`` or ``fashion_mnist``.
        root: data folder; default ``$KANVISION_DATA``, else ``./data``. Files are downloaded
            there when missing and the internet is reachable; a read-only folder with the
            archives is used through a writable cache.
        batch_size: per-step batch size for every split.
        val_size: images held out of the official training set for validation, chosen with a
            fixed ``split_seed``. The test split is the official test set.
        augment: light random affine augmentation (rotation 10 deg, shift 10%) for training.
        num_workers: data-loading worker processes.
        download: fetch missing files from the internet (torchvision's mirrors). With False,
            missing files are an error at once.
    """

    def __init__(
        self,
        dataset: str = "mnist",
        root: str | None = None,
        batch_size: int = 128,
        val_size: int = 5000,
        split_seed: int = 0,
        augment: bool = False,
        num_workers: int = 0,
        download: bool = True,
    ) -> None:
        super().__init__()
        self.info: DatasetInfo = get_dataset_info(dataset)
        self.root = root or default_root()
        self.batch_size = batch_size
        self.val_size = val_size
        self.split_seed = split_seed
        self.augment = augment
        self.num_workers = num_workers
        self.download = download
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
        steps: list = []
        if train and self.augment:
            steps.append(transforms.RandomAffine(degrees=10, translate=(0.1, 0.1)))
        steps += [transforms.ToTensor(), transforms.Normalize(self.info.mean, self.info.std)]
        return transforms.Compose(steps)

    def _load(self, train: bool, transform) -> Dataset:
        root = resolve_root(self.root, self.info.tv_class, self.info.folder)
        try:
            return self.info.tv_class(
                str(root), train=train, transform=transform, download=self.download
            )
        except (URLError, RuntimeError, OSError) as e:
            why = f"could not be downloaded ({type(e).__name__})" if self.download else "download=false"
            raise DatasetNotFoundError(
                f"{self.info.folder} is not under '{self.root}' and {why}: put torchvision's raw files in "
                f"'{os.path.join(self.root, self.info.folder, 'raw')}' or set data.root / "
                "KANVISION_DATA to a folder that has them"
            ) from None

    def prepare_data(self) -> None:
        self._load(True, None)
        self._load(False, None)

    def setup(self, stage: str | None = None) -> None:
        if stage in ("fit", "validate", None) and "train" not in self._splits:
            full_train = self._load(True, self.transform(train=True))
            full_eval = self._load(True, self.transform(train=False))
            n_val = self.val_size
            if not 0 < n_val < len(full_train):
                raise ValueError(
                    f"data.val_size={n_val} must be between 1 and {len(full_train) - 1}"
                )
            generator = torch.Generator().manual_seed(self.split_seed)
            train_idx, val_idx = random_split(
                range(len(full_train)), [len(full_train) - n_val, n_val], generator=generator
            )
            self._splits["train"] = torch.utils.data.Subset(full_train, list(train_idx))
            self._splits["val"] = torch.utils.data.Subset(full_eval, list(val_idx))
        if stage in ("test", None) and "test" not in self._splits:
            self._splits["test"] = self._load(False, self.transform(train=False))

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(
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
