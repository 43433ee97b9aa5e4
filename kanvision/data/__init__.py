"""Datasets: a registry of torchvision datasets and one LightningDataModule for them."""

from kanvision.data.datamodule import ImageDataModule
from kanvision.data.datasets import DatasetInfo, get_dataset_info, list_datasets, register_dataset

__all__ = ["DatasetInfo", "ImageDataModule", "get_dataset_info", "list_datasets", "register_dataset"]
