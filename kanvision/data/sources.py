"""Where a dataset's images come from: one small loader class per on-disk format.

A source turns a :class:`DataRequest` into a raw (untransformed, PIL-image) train or test
dataset, and may complete the registry entry from the data (:meth:`DatasetSource.configure`,
e.g. the number of classes of an image folder). Sources handle the offline cases: missing files
are a one-line :class:`DatasetNotFoundError` naming the files, the folder and how to get them;
a file failing its md5 is a one-line :class:`DataIntegrityError`, unless
``verify_integrity=False``, which skips the check with a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.error import URLError

from torch.utils.data import Dataset
from torchvision import datasets
from torchvision.datasets.folder import find_classes

from kanvision.data.offline import (
    cached_root_for,
    decompress_xz,
    file_md5,
    resolve_root,
    writable,
)
from kanvision.errors import DataIntegrityError, DatasetNotFoundError

if TYPE_CHECKING:
    from kanvision.data.datasets import DatasetInfo

DOWNLOAD_ERRORS = (URLError, RuntimeError, OSError)


@dataclass(frozen=True)
class FakeDataOptions:
    """Synthetic data for smoke runs (torchvision ``FakeData``: random images, random labels,
    deterministic per index). The image side is ``data.img_size`` (default 32)."""

    num_images: int = 512
    num_test_images: int = 128
    num_classes: int = 10
    in_chans: int = 3


@dataclass(frozen=True)
class DataRequest:
    """What the datamodule asks a source for."""

    root: Path
    download: bool = True
    verify_integrity: bool = True
    img_size: int | None = None
    fake: FakeDataOptions = field(default_factory=FakeDataOptions)


def not_found(title: str, root: Path, folder: Path, names: list[str], why: str) -> DatasetNotFoundError:
    """The one-line missing-data error: which files, where, and how to get them."""
    return DatasetNotFoundError(
        f"{title} is not under '{root}' and {why}: expected {', '.join(names)} in '{folder}'; "
        "download them with internet access (data.download: true) or copy them there, "
        "or set data.root / KANVISION_DATA to a folder that has them"
    )


def download_failed(e: BaseException) -> str:
    return f"could not be downloaded ({type(e).__name__})"


def check_md5(files: list[tuple[Path, str | None]], verify: bool, title: str) -> None:
    """Raise :class:`DataIntegrityError` for the first file whose md5 differs; with
    ``verify=False`` only warn that the check is skipped."""
    checked = [(p, md5) for p, md5 in files if md5]
    if not verify:
        if checked:
            warnings.warn(
                f"data.verify_integrity is false: the md5 check of {title}'s files in "
                f"'{checked[0][0].parent}' is skipped; they may differ from the official ones",
                stacklevel=2,
            )
        return
    for path, md5 in checked:
        got = file_md5(path)
        if got != md5:
            raise DataIntegrityError(
                f"data file '{path}' fails its md5 check (got {got}, torchvision expects {md5}): "
                "replace it with the official file (delete it and run with internet to download "
                "it) or, for a deliberately re-built copy, set data.verify_integrity: false"
            )


class DatasetSource:
    """Base: the registry entry needs no completion, the image size may be overridden."""

    def configure(self, info: DatasetInfo, request: DataRequest) -> DatasetInfo:
        if request.img_size is None:
            return info
        return replace(info, input_size=(info.in_chans, request.img_size, request.img_size))

    def load(self, info: DatasetInfo, request: DataRequest, train: bool) -> Dataset:
        raise NotImplementedError


class IdxFiles(DatasetSource):
    """MNIST family (MNIST, Fashion-MNIST, KMNIST): IDX files in ``<root>/<folder>/raw``,
    either extracted or as the ``.gz`` archives (which carry the md5s)."""

    def load(self, info: DatasetInfo, request: DataRequest, train: bool) -> Dataset:
        tv_class = info.tv_class
        root = resolve_root(request.root, tv_class, info.folder)
        raw = root / info.folder / "raw"
        archives = [(raw / Path(url).name, md5) for url, md5 in tv_class.resources]
        extracted = [raw / p.name.removesuffix(".gz") for p, _ in archives]
        if all(p.is_file() for p in extracted):
            return tv_class(str(root), train=train, download=False)
        if all(p.is_file() for p, _ in archives):  # extract, no network needed
            check_md5(archives, request.verify_integrity, info.folder)
            if request.verify_integrity:
                return tv_class(str(root), train=train, download=True)
            return _trusting(tv_class, _unchecked_idx(tv_class), str(root), train=train,
                             download=True)
        names = [f"{p.name} (or {p.name.removesuffix('.gz')})" for p, _ in archives]
        folder = Path(request.root).expanduser().resolve() / info.folder / "raw"
        if not request.download:
            raise not_found(info.folder, request.root, folder, names, "download=false")
        try:
            return tv_class(str(root), train=train, download=True)
        except DOWNLOAD_ERRORS as e:
            raise not_found(info.folder, request.root, folder, names, download_failed(e)) from None


class PickledBatches(DatasetSource):
    """CIFAR-10 / CIFAR-100: python pickle batches in ``<root>/<base_folder>``; also reads
    ``<name>.xz`` copies (decompressed into the cache) and a read-only folder holding the
    official ``.tar.gz``."""

    def files(self, tv_class: type) -> list[tuple[str, str | None]]:
        return [*map(tuple, tv_class.train_list + tv_class.test_list),
                (tv_class.meta["filename"], tv_class.meta["md5"])]

    def unchecked(self, tv_class: type) -> type:
        return type(tv_class.__name__, (tv_class,), {
            "train_list": [[name, None] for name, _ in tv_class.train_list],
            "test_list": [[name, None] for name, _ in tv_class.test_list],
            "meta": {**tv_class.meta, "md5": None},
        })

    def load(self, info: DatasetInfo, request: DataRequest, train: bool) -> Dataset:
        tv_class, given = info.tv_class, Path(request.root).expanduser().resolve()
        folder, files = tv_class.base_folder, self.files(tv_class)
        names = [name for name, _ in files]
        root = decompress_xz(given, folder, names) or given
        paths = [(root / folder / name, md5) for name, md5 in files]
        if all(p.is_file() for p, _ in paths):
            check_md5(paths, request.verify_integrity, info.folder)
            return _trusting(tv_class, self.unchecked(tv_class), str(root), train=train)
        archive = tv_class.filename  # the official .tar.gz
        if (given / archive).is_file() and not writable(given):
            root = cached_root_for(given)  # extract the official archive outside a read-only root
            root.mkdir(parents=True, exist_ok=True)
            if not (root / archive).exists():
                (root / archive).symlink_to(given / archive)
        elif not request.download:
            raise not_found(info.folder, given, given / folder, names, "download=false")
        try:
            return tv_class(str(root), train=train, download=True)
        except DOWNLOAD_ERRORS as e:
            raise not_found(info.folder, given, given / folder, names, download_failed(e)) from None


class MatFiles(DatasetSource):
    """SVHN: ``train_32x32.mat`` / ``test_32x32.mat`` directly in ``<root>`` (needs scipy);
    each split needs only its own file."""

    def unchecked(self, tv_class: type) -> type:
        split_list = {k: [url, name, None] for k, (url, name, _) in tv_class.split_list.items()}
        return type(tv_class.__name__, (tv_class,), {"split_list": split_list})

    def load(self, info: DatasetInfo, request: DataRequest, train: bool) -> Dataset:
        split = "train" if train else "test"
        _url, name, md5 = info.tv_class.split_list[split]
        given = Path(request.root).expanduser().resolve()
        root = decompress_xz(given, "", [name]) or given
        if (root / name).is_file():
            check_md5([(root / name, md5)], request.verify_integrity, info.folder)
            return _trusting(info.tv_class, self.unchecked(info.tv_class), str(root), split=split)
        if not request.download:
            raise not_found(info.folder, given, given, [name], "download=false")
        try:
            return info.tv_class(str(root), split=split, download=True)
        except DOWNLOAD_ERRORS as e:
            raise not_found(info.folder, given, given, [name], download_failed(e)) from None


def _trusting(tv_class: type, unchecked: type, *args, download: bool = False, **kwargs) -> Dataset:
    """Build the dataset with ``unchecked`` (a subclass whose md5s are blanked, so torchvision
    checks only that the files exist), then make it a plain ``tv_class`` again so it pickles
    (DataLoader workers) like any torchvision dataset."""
    dataset = unchecked(*args, download=download, **kwargs)
    dataset.__class__ = tv_class
    return dataset


def _unchecked_idx(tv_class: type) -> type:
    """An MNIST-family class that extracts its archives without checking their md5 (same
    class name: torchvision derives the raw folder from it)."""
    resources = [(url, None) for url, _ in tv_class.resources]
    return type(tv_class.__name__, (tv_class,), {"resources": resources})


class _FolderWithClasses(datasets.ImageFolder):
    """ImageFolder whose class list is given (the training set's), so labels agree across splits."""

    def __init__(self, root: str, classes: list[str], **kwargs) -> None:
        self._given_classes = classes
        super().__init__(root, allow_empty=True, **kwargs)

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        return self._given_classes, {c: i for i, c in enumerate(self._given_classes)}


class ClassFolders(DatasetSource):
    """``<root>/train/<class>/*`` and ``<root>/val/<class>/*`` (Tiny-ImageNet, ImageNet, ...):
    classes are the sub-folders of ``train/``; ``val/`` serves as the test split."""

    default_size = 224
    layout = "<root>/train/<class>/<image> and <root>/val/<class>/<image>"

    def classes(self, root: Path) -> list[str]:
        try:
            classes, _ = find_classes(str(root / "train"))
        except (FileNotFoundError, NotADirectoryError):
            classes = []
        if not classes:
            raise DatasetNotFoundError(
                f"imagefolder: no class folders in '{root / 'train'}': expected {self.layout} "
                "(e.g. Tiny-ImageNet with val/ sorted into class folders); copy the images there "
                "or set data.root to such a folder"
            )
        return classes

    def configure(self, info: DatasetInfo, request: DataRequest) -> DatasetInfo:
        size = request.img_size or self.default_size
        n = len(self.classes(Path(request.root).expanduser().resolve()))
        return replace(info, num_classes=n, input_size=(3, size, size))

    def load(self, info: DatasetInfo, request: DataRequest, train: bool) -> Dataset:
        root = Path(request.root).expanduser().resolve()
        split = root / ("train" if train else "val")
        if not split.is_dir():
            raise DatasetNotFoundError(
                f"imagefolder: '{split}' is missing: expected {self.layout}; copy the images "
                "there or set data.root to such a folder"
            )
        return _FolderWithClasses(str(split), self.classes(root))


class Synthetic(DatasetSource):
    """torchvision ``FakeData``: nothing on disk; test images differ from training images."""

    default_size = 32

    def configure(self, info: DatasetInfo, request: DataRequest) -> DatasetInfo:
        size, fake = request.img_size or self.default_size, request.fake
        c = fake.in_chans
        return replace(info, num_classes=fake.num_classes, in_chans=c, input_size=(c, size, size),
                       mean=(0.5,) * c, std=(0.5,) * c)

    def load(self, info: DatasetInfo, request: DataRequest, train: bool) -> Dataset:
        fake = request.fake
        n = fake.num_images if train else fake.num_test_images
        offset = 0 if train else fake.num_images  # FakeData seeds each image by index + offset
        return datasets.FakeData(size=n, image_size=info.input_size, num_classes=fake.num_classes,
                                 random_offset=offset)


IDX_FILES = IdxFiles()
PICKLED_BATCHES = PickledBatches()
MAT_FILES = MatFiles()
CLASS_FOLDERS = ClassFolders()
SYNTHETIC = Synthetic()
