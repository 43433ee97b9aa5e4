"""Every registered dataset loads from tiny files in its real on-disk format (see data_writers)."""

from __future__ import annotations

import gzip
import lzma
import os
import pickle
import stat

import numpy as np
import pytest
import torch
from data_writers import (
    write_cifar100,
    write_cifar_batches,
    write_idx_dataset,
    write_image_folder,
    write_svhn,
)
from helpers import SHARED_DATASETS
from PIL import Image
from torchvision import transforms as T
from torchvision.datasets import CIFAR10

from kanvision.data import ImageDataModule, list_datasets
from kanvision.data.datasets import get_dataset_info
from kanvision.data.sources import FakeDataOptions
from kanvision.errors import DataIntegrityError, DatasetNotFoundError, KanvisionError

UNVERIFIED = "ignore:data.verify_integrity is false"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KANVISION_CACHE", str(tmp_path / "cache"))


def check_loaders(dm: ImageDataModule, chans: int, size: int, classes: int) -> None:
    """setup, then one batch from each loader has the announced shape and label range."""
    assert (dm.in_chans, dm.img_size, dm.num_classes) == (chans, size, classes)
    dm.prepare_data()
    dm.setup()
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        x, y = next(iter(loader))
        assert x.shape == (min(4, len(loader.dataset)), chans, size, size)
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert 0 <= int(y.min()) and int(y.max()) < classes


def one_line(e: pytest.ExceptionInfo) -> str:
    message = str(e.value)
    assert "\n" not in message
    return message


@pytest.mark.filterwarnings(UNVERIFIED)
def test_kmnist_gz_archives(tmp_path):
    write_idx_dataset(tmp_path, "KMNIST")
    dm = ImageDataModule("kmnist", str(tmp_path), batch_size=4, val_size=8, verify_integrity=False)
    check_loaders(dm, 1, 28, 10)
    assert len(dm._splits["train"]) == 56 and len(dm._splits["test"]) == 32


def test_skipping_md5_warns(tmp_path):
    write_idx_dataset(tmp_path, "KMNIST")
    dm = ImageDataModule("kmnist", str(tmp_path), val_size=8, verify_integrity=False)
    with pytest.warns(UserWarning, match="verify_integrity is false"):
        dm.setup()


@pytest.mark.filterwarnings(UNVERIFIED)
def test_cifar10_batches(tmp_path):
    write_cifar_batches(tmp_path, n_train=50, n_test=20)
    dm = ImageDataModule("cifar10", str(tmp_path), batch_size=4, val_size=10,
                         verify_integrity=False)
    check_loaders(dm, 3, 32, 10)
    assert (len(dm._splits["train"]), len(dm._splits["val"]), len(dm._splits["test"])) == (40, 10, 20)
    assert type(pickle.loads(pickle.dumps(dm._splits["train"])).base) is CIFAR10  # for workers


@pytest.mark.filterwarnings(UNVERIFIED)
def test_cifar100_fine_labels(tmp_path):
    write_cifar100(tmp_path, n_train=40, n_test=20)
    dm = ImageDataModule("cifar100", str(tmp_path), batch_size=4, val_size=8,
                         verify_integrity=False)
    check_loaders(dm, 3, 32, 100)
    assert max(dm.raw_split(True).targets) >= 20  # fine labels, not the 20 coarse ones


@pytest.mark.filterwarnings(UNVERIFIED)
def test_svhn_mat_files(tmp_path):
    write_svhn(tmp_path)
    dm = ImageDataModule("svhn", str(tmp_path), batch_size=4, val_size=8, verify_integrity=False)
    check_loaders(dm, 3, 32, 10)
    labels = dm.raw_split(False).labels
    assert labels[0] == 0 and labels.max() <= 9  # '10' in the .mat file is the digit 0


def test_image_folder(tmp_path):
    write_image_folder(tmp_path, num_classes=3, n_train=8, n_val=3)
    dm = ImageDataModule("imagefolder", str(tmp_path), batch_size=4, val_size=6, img_size=24)
    check_loaders(dm, 3, 24, 3)
    test = dm.raw_split(False)
    assert len(test) == 9 and test.class_to_idx == dm.raw_split(True).class_to_idx
    assert ImageDataModule("imagefolder", str(tmp_path)).img_size == 224  # ImageNet default


def test_image_folder_without_train_is_one_line_error(tmp_path):
    with pytest.raises(DatasetNotFoundError) as e:
        ImageDataModule("imagefolder", str(tmp_path))
    assert str(tmp_path / "train") in one_line(e) and "val" in one_line(e)


def test_fake_data_is_deterministic_and_configurable():
    check_loaders(ImageDataModule("fake", batch_size=4), 3, 32, 10)
    options = FakeDataOptions(num_images=40, num_test_images=12, num_classes=5, in_chans=1)
    dms = [ImageDataModule("fake", batch_size=4, val_size=8, img_size=16, fake=options)
           for _ in range(2)]
    check_loaders(dms[0], 1, 16, 5)
    dms[1].setup()
    a, b = (next(iter(dm.test_dataloader())) for dm in dms)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    train_img = dms[0]._splits["train"][0][0]
    assert not any(torch.equal(train_img, dms[0]._splits["test"][i][0]) for i in range(12))


def test_wrong_md5_is_one_line_error_naming_file(tmp_path):
    write_cifar_batches(tmp_path, n_train=20, n_test=10)
    dm = ImageDataModule("cifar10", str(tmp_path), val_size=5)
    with pytest.raises(DataIntegrityError) as e:
        dm.setup()
    message = one_line(e)
    assert "cifar-10-batches-py" in message and "data_batch_1" in message
    assert "md5" in message and "data.verify_integrity: false" in message


@pytest.mark.parametrize("name, files, folder", [
    ("cifar10", ["data_batch_1", "test_batch", "batches.meta"], "cifar-10-batches-py"),
    ("cifar100", ["train", "test", "meta"], "cifar-100-python"),
    ("svhn", ["train_32x32.mat"], ""),
    ("kmnist", ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"], "KMNIST/raw"),
])
def test_missing_data_offline_names_files_folder_and_fix(tmp_path, name, files, folder):
    root = tmp_path / "empty"
    dm = ImageDataModule(name, str(root), download=False)
    with pytest.raises(DatasetNotFoundError) as e:
        dm.setup()
    message = one_line(e)
    assert all(f in message for f in files), message
    assert f"'{(root / folder).resolve()}'" in message
    assert "download" in message and "copy them there" in message


@pytest.mark.filterwarnings(UNVERIFIED)
def test_xz_copy_in_read_only_folder_is_decompressed_into_cache(tmp_path):
    write_cifar_batches(tmp_path / "gen", n_train=30, n_test=10)
    shared = tmp_path / "shared"
    shared.mkdir()
    for f in (tmp_path / "gen" / "cifar-10-batches-py").iterdir():
        target = shared / (f.name if f.name == "batches.meta" else f.name + ".xz")
        target.write_bytes(f.read_bytes() if f.name == "batches.meta" else lzma.compress(f.read_bytes()))
    shared.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        before = sorted(p.name for p in shared.iterdir())
        with pytest.raises(DataIntegrityError, match="data.verify_integrity: false"):
            ImageDataModule("cifar10", str(shared), val_size=5).setup()
        dm = ImageDataModule("cifar10", str(shared), batch_size=4, val_size=5,
                             verify_integrity=False)
        check_loaders(dm, 3, 32, 10)
        assert (len(dm._splits["train"]), len(dm._splits["test"])) == (25, 10)
        assert sorted(p.name for p in shared.iterdir()) == before
        assert list((tmp_path / "cache").rglob("cifar-10-batches-py/data_batch_5"))
    finally:
        shared.chmod(stat.S_IRWXU)


def _unpack_after(barrier, root: str) -> None:
    from kanvision.data.offline import decompress_xz

    barrier.wait()
    decompress_xz(root, "", ["big.bin", "small.bin"])


def test_runs_started_together_unpack_the_same_xz_copy_without_clashing(tmp_path, monkeypatch):
    """Two seeds launched side by side both unpack a fresh cache: neither may fail or leave a
    file mixed from both writers."""
    import multiprocessing

    from kanvision.data.offline import cached_root_for

    monkeypatch.setenv("KANVISION_CACHE", str(tmp_path / "cache"))
    payload = os.urandom(1 << 20) * 24  # 24 MB: long enough for the two writers to overlap
    (tmp_path / "big.bin.xz").write_bytes(lzma.compress(payload, preset=0))
    (tmp_path / "small.bin").write_bytes(b"plain")
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    workers = [context.Process(target=_unpack_after, args=(barrier, str(tmp_path))) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    unpacked = cached_root_for(tmp_path)
    assert (unpacked / "big.bin").read_bytes() == payload
    assert (unpacked / "small.bin").read_bytes() == b"plain"
    assert not list(unpacked.glob("*.partial"))


def step_types(dm: ImageDataModule, train: bool) -> list[type]:
    return [type(t) for t in dm.transform(train).transforms]


@pytest.mark.parametrize("name, augment, expected", [
    ("mnist", None, []),
    ("mnist", True, [T.RandomAffine]),
    ("kmnist", None, []),
    ("cifar10", None, [T.RandomCrop, T.RandomHorizontalFlip]),
    ("cifar100", None, [T.RandomCrop, T.RandomHorizontalFlip]),
    ("cifar10", False, []),
    ("svhn", None, [T.RandomCrop]),  # digits: no flips
    ("svhn", True, [T.RandomCrop]),
    ("fake", None, []),
])
def test_default_training_augmentation(name, augment, expected):
    dm = ImageDataModule(name, augment=augment)
    assert step_types(dm, True) == [*expected, T.ToTensor, T.Normalize]
    assert step_types(dm, False) == [T.ToTensor, T.Normalize]


def test_image_folder_augmentation_and_eval_resize(tmp_path):
    write_image_folder(tmp_path, n_train=2, n_val=1)
    dm = ImageDataModule("imagefolder", str(tmp_path), img_size=64)
    assert step_types(dm, True)[:2] == [T.RandomResizedCrop, T.RandomHorizontalFlip]
    resize, crop = dm.transform(False).transforms[:2]
    assert isinstance(resize, T.Resize) and resize.size == round(64 / 0.875)
    assert isinstance(crop, T.CenterCrop) and crop.size == (64, 64)


def test_cifar_crop_padding_follows_img_size():
    dm = ImageDataModule("cifar10", img_size=64)
    steps = dm.transform(True).transforms
    assert isinstance(steps[0], T.Resize) and steps[1].size == (64, 64) and steps[1].padding == 8


@pytest.mark.parametrize("name, mode, chans", [("cifar10", "RGB", 3), ("mnist", "L", 1)])
def test_rand_augment_builds_and_runs_on_rgb_and_grayscale(name, mode, chans):
    dm = ImageDataModule(name, rand_augment="rand-m9-mstd0.5")
    tf = dm.transform(True)
    assert any("RandAugment" in type(t).__name__ for t in tf.transforms)
    size = dm.img_size
    image = Image.new(mode, (size, size), 128 if mode == "L" else (128, 64, 32))
    torch.manual_seed(0)
    for _ in range(30):
        assert tf(image).shape == (chans, size, size)
    assert not any("RandAugment" in type(t).__name__ for t in dm.transform(False).transforms)


def test_bad_rand_augment_string_is_one_line_error():
    with pytest.raises(KanvisionError) as e:
        ImageDataModule("cifar10", rand_augment="augmix-m5")
    assert "data.rand_augment" in one_line(e) and "rand-m9-mstd0.5" in one_line(e)


@pytest.mark.parametrize("name, shape", [("cifar10", (8, 8, 3)), ("mnist", (7, 7))])
def test_jpeg_quality_compresses_training_images_only(name, shape):
    """4-pixel blocks of random colour lose more through JPEG at quality 10 than at 100;
    evaluation images are never compressed."""
    blocks = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    image = Image.fromarray(blocks)
    plain = ImageDataModule(name, augment=False).transform(True)(image)

    def change(quality: int) -> float:
        dm = ImageDataModule(name, augment=False, jpeg_quality=(quality, quality))
        torch.testing.assert_close(dm.transform(False)(image), plain)
        return float(dm.transform(True)(image).sub(plain).abs().mean())

    assert change(10) > 0.1 and change(10) > 2 * change(100)


@pytest.mark.parametrize("quality", [(0, 100), (90, 50), (50, 101), (50,), "75"])
def test_bad_jpeg_quality_is_one_line_error(quality):
    with pytest.raises(KanvisionError) as e:
        ImageDataModule("cifar10", jpeg_quality=quality)
    assert "data.jpeg_quality" in one_line(e) and "[50,100]" in one_line(e)


def test_every_dataset_is_registered():
    expected = {"mnist", "fashion_mnist", "kmnist", "cifar10", "cifar100", "svhn", "imagefolder",
                "fake"}
    assert expected <= set(list_datasets())


def test_cifar10_statistics():
    dm = ImageDataModule("cifar10")
    assert dm.info.mean == (0.4914, 0.4822, 0.4465) and dm.info.std == (0.2470, 0.2435, 0.2616)
    assert ImageDataModule("kmnist").info.mean == (0.1918,)


@pytest.mark.filterwarnings(UNVERIFIED)
def test_training_loader_resumes_mid_epoch_in_the_same_order(tmp_path):
    """The training loader's state (saved by Lightning in every checkpoint) restores its place in
    the epoch's shuffled order: a resumed run sees exactly the batches the killed one had left."""
    write_idx_dataset(tmp_path, "KMNIST")

    def labels(batches) -> list[list[int]]:
        return [y.tolist() for _, y in batches]

    dm = ImageDataModule("kmnist", str(tmp_path), batch_size=4, val_size=8, verify_integrity=False)
    dm.setup("fit")
    torch.manual_seed(0)
    loader = dm.train_dataloader()
    batches = iter(loader)
    seen = labels(next(batches) for _ in range(5))
    state = loader.state_dict()
    rest = labels(batches)
    assert len(seen) + len(rest) == 14  # 56 training images, batches of 4

    torch.manual_seed(1)  # the resumed process does not share the killed one's random state
    resumed = dm.train_dataloader()
    resumed.load_state_dict(state)
    assert labels(resumed) == rest
    torch.manual_seed(1)
    assert labels(dm.train_dataloader()) != seen + rest, "without the state the order differs"


SHARED = SHARED_DATASETS


def _real_test_size(name: str) -> int | None:
    """The number of test images in the real files under SHARED, read from their headers; None when absent."""
    if name in ("mnist", "fashion_mnist"):
        labels = SHARED / {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}[name] / "raw/t10k-labels-idx1-ubyte.gz"
        if labels.is_file():
            with gzip.open(labels) as f:
                return int.from_bytes(f.read(8)[4:], "big")  # IDX header: magic, then the item count
    mask = SHARED / "cifar-10-offline/test_is_exact.npy"
    if name == "cifar10" and mask.is_file():
        return len(np.load(mask))  # one flag per test image
    return None


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_registered_test_set_size_matches_the_real_files(name):
    """The results table's sampling margin uses ``test_images``: it must be the files' true count."""
    size = _real_test_size(name)
    if size is None:
        pytest.skip(f"the real {name} files are not under {SHARED} (set KANVISION_DATA)")
    assert get_dataset_info(name).test_images == size
