"""Dataset registry: everything a datamodule needs to know about each dataset.

An entry names the torchvision class, how its files are found and loaded (``source``, see
:mod:`kanvision.data.sources`), its normalization statistics, and how its images are sized and
augmented (``preprocess``, see :mod:`kanvision.data.transforms`). Adding a dataset whose format
is already known is one :func:`register_dataset` call.
"""

from __future__ import annotations

from dataclasses import dataclass

from torchvision import datasets

from kanvision.data import sources, transforms
from kanvision.errors import unknown_name

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class DatasetInfo:
    """A classification dataset and its standard preprocessing.

    ``folder`` is torchvision's name for the dataset: the sub-folder of root for the MNIST
    family, and the key of the test metrics in exported weights. For data-dependent entries
    (``imagefolder``, ``fake``) the datamodule's ``info`` holds the values completed from the
    data: number of classes, channels, image size."""

    name: str
    tv_class: type[datasets.VisionDataset]
    folder: str
    num_classes: int
    in_chans: int
    input_size: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: sources.DatasetSource = sources.IDX_FILES
    preprocess: transforms.Preprocess = transforms.DIGITS
    default_val_size: int = 5000
    test_images: int | None = None  # the official test split's size; None where the data decides


_DATASETS: dict[str, DatasetInfo] = {}


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    _DATASETS[info.name] = info
    return info


def list_datasets() -> list[str]:
    """Names accepted by ``data.name``."""
    return sorted(_DATASETS)


def get_dataset_info(name: str) -> DatasetInfo:
    """The registered dataset ``name`` (case-insensitive), or a one-line error with choices."""
    key = name.lower().replace("-", "_")
    if key not in _DATASETS:
        raise unknown_name("dataset", name, _DATASETS, "set data.name to one of them")
    return _DATASETS[key]


_GRAY_28 = {"num_classes": 10, "in_chans": 1, "input_size": (1, 28, 28), "test_images": 10_000}
register_dataset(DatasetInfo("mnist", datasets.MNIST, "MNIST", **_GRAY_28,
                             mean=(0.1307,), std=(0.3081,)))
register_dataset(DatasetInfo("fashion_mnist", datasets.FashionMNIST, "FashionMNIST", **_GRAY_28,
                             mean=(0.2860,), std=(0.3530,), preprocess=transforms.CLOTHES))
register_dataset(DatasetInfo("kmnist", datasets.KMNIST, "KMNIST", **_GRAY_28,
                             mean=(0.1918,), std=(0.3483,)))
register_dataset(DatasetInfo(
    "cifar10", datasets.CIFAR10, "CIFAR10", 10, 3, (3, 32, 32),
    mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616),
    source=sources.PICKLED_BATCHES, preprocess=transforms.OBJECTS_32, test_images=10_000,
))
register_dataset(DatasetInfo(
    "cifar100", datasets.CIFAR100, "CIFAR100", 100, 3, (3, 32, 32),
    mean=(0.5071, 0.4865, 0.4409), std=(0.2673, 0.2564, 0.2762),
    source=sources.PICKLED_BATCHES, preprocess=transforms.OBJECTS_32, test_images=10_000,
))
register_dataset(DatasetInfo(
    "svhn", datasets.SVHN, "SVHN", 10, 3, (3, 32, 32),
    mean=(0.4377, 0.4438, 0.4728), std=(0.1980, 0.2010, 0.1970),
    source=sources.MAT_FILES, preprocess=transforms.DIGITS_32, test_images=26_032,
))
# num_classes / input_size of the two below are completed from the data and options
register_dataset(DatasetInfo(
    "imagefolder", datasets.ImageFolder, "ImageFolder", 0, 3, (3, 224, 224),
    mean=IMAGENET_MEAN, std=IMAGENET_STD,
    source=sources.CLASS_FOLDERS, preprocess=transforms.NATURAL,
))
register_dataset(DatasetInfo(
    "fake", datasets.FakeData, "FakeData", 10, 3, (3, 32, 32), mean=(0.5,) * 3, std=(0.5,) * 3,
    source=sources.SYNTHETIC, preprocess=transforms.SYNTHETIC, default_val_size=64,
))
