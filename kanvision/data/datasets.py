"""Dataset registry: what a datamodule needs to know about each torchvision dataset."""

from __future__ import annotations

from dataclasses import dataclass

from torchvision import datasets

from kanvision.errors import unknown_name


@dataclass(frozen=True)
class DatasetInfo:
    """A torchvision classification dataset and its standard preprocessing."""

    name: str
    tv_class: type[datasets.VisionDataset]
    folder: str  # sub-folder of root that torchvision uses (holds raw/)
    num_classes: int
    in_chans: int
    input_size: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]


_DATASETS: dict[str, DatasetInfo] = {}


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    _DATASETS[info.name] = info
    return info


def list_datasets() -> list[str]:
    """Names accepted by ``data.dataset``."""
    return sorted(_DATASETS)


def get_dataset_info(name: str) -> DatasetInfo:
    """The registered dataset ``name`` (case-insensitive), or a one-line error with choices."""
    key = name.lower().replace("-", "_")
    if key not in _DATASETS:
        raise unknown_name("dataset", name, _DATASETS, "set data.dataset to one of them")
    return _DATASETS[key]


register_dataset(
    DatasetInfo("mnist", datasets.MNIST, "MNIST", 10, 1, (1, 28, 28), (0.1307,), (0.3081,))
)
register_dataset(
    DatasetInfo(
        "fashion_mnist",
        datasets.FashionMNIST,
        "FashionMNIST",
        10,
        1,
        (1, 28, 28),
        (0.2860,),
        (0.3530,),
    )
)
