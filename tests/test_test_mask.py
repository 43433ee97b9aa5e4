"""A test mask (``data.test_mask``, the offline CIFAR-10 copy's ``test_is_exact.npy``): the accuracy
on the marked test images, with its Wilson 95% interval, next to the whole test set's; on files
without a mask (the official ones) there is one number."""

from __future__ import annotations

import csv
import json
import lzma
from pathlib import Path

import numpy as np
import pytest
import torch
from data_writers import write_cifar_batches

import kanvision
from kanvision.data import ImageDataModule
from kanvision.data.offline import file_md5
from kanvision.data.test_mask import MASK_FILE
from kanvision.errors import KanvisionError
from kanvision.stats import difference_margin, wilson_interval
from kanvision.training.cli import run
from kanvision.training.evaluate import evaluate
from kanvision.training.evaluate import run as evaluate_cli

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore:data.verify_integrity is false")
N_TEST = 40


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KANVISION_CACHE", str(tmp_path / "cache"))


def exact_mask(n: int = N_TEST, exact: int = 12) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[:exact] = True  # as in the offline copy: the first images are the exact ones
    return mask


def cifar(root: Path, mask: np.ndarray | None = None, where: str = "cifar-10-batches-py") -> Path:
    write_cifar_batches(root, n_train=100, n_test=N_TEST)
    if mask is not None:
        np.save(root / where / MASK_FILE, mask)
    return root


def datamodule(root: Path, **kwargs) -> ImageDataModule:
    return ImageDataModule("cifar10", str(root), batch_size=16, val_size=20, verify_integrity=False, **kwargs)


@pytest.mark.parametrize(("correct", "total", "low", "high"), [
    # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (Wilson score)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (29, 29, 0.8830, 1.0),
])
def test_wilson_interval_matches_published_values(correct, total, low, high):
    got = wilson_interval(correct, total)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_is_about_three_points_wide_at_1000_images():
    low, high = wilson_interval(900, 1000)
    assert low < 0.9 < high and high - low == pytest.approx(0.0372, abs=5e-4)
    with pytest.raises(ValueError):
        wilson_interval(3, 0)


def test_difference_margin_is_the_normal_interval_of_two_independent_accuracies():
    # 1.96 * sqrt((0.9 * 0.1 + 0.8 * 0.2) / 10,000) = 0.0098
    assert difference_margin(0.9, 0.8, 10_000) == pytest.approx(0.0098, abs=1e-4)
    assert difference_margin(0.9, 0.8, 1_000) == pytest.approx(0.0098 * 10 ** 0.5, abs=1e-4)
    assert difference_margin(1.0, 1.0, 100) == 0.0
    with pytest.raises(ValueError, match="total > 0"):
        difference_margin(0.9, 0.8, 0)


def test_without_a_mask_the_test_split_yields_pairs(tmp_path):
    dm = datamodule(cifar(tmp_path))
    dm.setup("test")
    assert dm.test_mask_path() is None and dm.exact_mask is None
    assert len(next(iter(dm.test_dataloader()))) == 2
    assert dm.test_set_description() == f"{N_TEST} images"
    assert dm.test_set_description(tested=N_TEST) == f"{N_TEST} images"
    assert dm.test_set_description(tested=16) == f"16 of {N_TEST} images"


@pytest.mark.parametrize("where", ["cifar-10-batches-py", ""])  # torchvision's layout, the flat copy
def test_mask_next_to_the_data_is_found_and_marks_test_images(tmp_path, where):
    mask = exact_mask()
    dm = datamodule(cifar(tmp_path, mask, where))
    dm.setup("test")
    assert dm.test_mask_path() == tmp_path / where / MASK_FILE
    np.testing.assert_array_equal(dm.exact_mask, mask)
    x, _labels, marked = next(iter(dm.test_dataloader()))
    assert x.shape == (16, 3, 32, 32) and marked.dtype == torch.bool
    assert marked.tolist() == mask[:16].tolist()
    assert dm.test_set_description() == f"{N_TEST} images (12 exact + {N_TEST - 12} not exact)"
    assert dm.test_set_description(16) == f"16 of {N_TEST} images (12 exact + {N_TEST - 12} not exact)"


def test_mask_of_an_xz_copy_in_a_read_only_folder(tmp_path):
    """The offline copy's layout: ``<name>.xz`` batches, ``batches.meta`` and the mask in one folder."""
    gen = cifar(tmp_path / "gen")
    shared = tmp_path / "shared"
    shared.mkdir()
    for f in (gen / "cifar-10-batches-py").iterdir():
        xz = f.name != "batches.meta"
        (shared / (f.name + ".xz" * xz)).write_bytes(lzma.compress(f.read_bytes()) if xz else f.read_bytes())
    np.save(shared / MASK_FILE, exact_mask())
    shared.chmod(0o500)
    try:
        dm = datamodule(shared)
        dm.setup("test")
        assert int(dm.exact_mask.sum()) == 12
    finally:
        shared.chmod(0o700)


def test_explicit_mask_path_and_null(tmp_path):
    mask = exact_mask(exact=5)
    root = cifar(tmp_path / "data", exact_mask())  # an 'auto' mask that the options override
    np.save(tmp_path / "other.npy", mask)
    dm = datamodule(root, test_mask=str(tmp_path / "other.npy"))
    dm.setup("test")
    assert int(dm.exact_mask.sum()) == 5
    off = datamodule(root, test_mask=None)
    off.setup("test")
    assert off.exact_mask is None and len(off._splits["test"][0]) == 2


@pytest.mark.parametrize(("content", "expected"), [
    (None, "does not exist"),
    (np.ones(7, dtype=bool), "shape (7,) but the cifar10 test set has 40 images"),
    (np.ones(N_TEST, dtype=np.int64), "holds int64 values, not booleans"),
    (np.zeros(N_TEST, dtype=bool), "marks no test image"),
    (b"not numpy", "is not a .npy array"),
])
def test_bad_mask_is_one_line_error_naming_file_and_fix(tmp_path, content, expected):
    path = tmp_path / "mask.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        np.save(path, content)
    dm = datamodule(cifar(tmp_path / "data"), test_mask=str(path))
    with pytest.raises(KanvisionError) as e:
        dm.setup("test")
    message = str(e.value)
    assert "\n" not in message and expected in message and str(path) in message
    assert "data.test_mask: null" in message


def test_evaluate_reports_the_marked_images_alone_with_their_interval(tmp_path):
    mask = exact_mask()
    dm = datamodule(cifar(tmp_path, mask))
    torch.manual_seed(0)
    model = kanvision.create_model("sepnet_tiny", in_chans=3, img_size=32).eval()
    report = evaluate(model, dm, torch.device("cpu"))
    images = torch.stack([dm._splits["test"][i][0] for i in range(N_TEST)])
    labels = torch.tensor([dm._splits["test"][i][1] for i in range(N_TEST)])
    with torch.no_grad():
        hits = (model(images).argmax(1) == labels).numpy()
    assert report["top1"] == pytest.approx(100 * hits.mean(), abs=1e-3)
    low, high = (100 * v for v in wilson_interval(int(hits.sum()), N_TEST))
    assert report["top1_ci95_wilson"] == [round(low, 2), round(high, 2)] and report["images"] == N_TEST
    assert report["exact_images"] == 12
    assert report["top1_exact"] == pytest.approx(100 * hits[mask].mean(), abs=1e-3)
    low, high = (100 * v for v in wilson_interval(int(hits[mask].sum()), 12))
    assert report["top1_exact_ci95_wilson"] == [round(low, 2), round(high, 2)]
    assert "top1_exact" not in evaluate(model, datamodule(tmp_path, test_mask=None), torch.device("cpu"))


def train(root: Path, save_dir: Path, *more: str) -> dict:
    return run([
        "--config", str(ROOT / "configs/cifar10/resnet8_kan.yaml"), "--data.root", str(root),
        "--data.val_size", "20", "--data.batch_size", "16", "--data.verify_integrity", "false",
        "--logging.save_dir", str(save_dir), "--logging.wandb", "false", "--trainer.max_epochs", "1",
        "--trainer.limit_train_batches", "2", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false", "--model.model_kwargs", "{width_mult: 0.25}", *more,
    ])


def test_a_test_pass_cut_short_says_how_many_images_it_saw(tmp_path, capsys):
    summary = train(cifar(tmp_path / "data", exact_mask()), tmp_path / "runs", "--trainer.limit_test_batches", "0.4")
    out = capsys.readouterr().out
    assert f"on 16 of {N_TEST} images (12 exact + {N_TEST - 12} not exact)" in out
    meta = json.loads((Path(summary["run_dir"]) / "resnet8_cifar.json").read_text())
    (values,) = meta["metrics"].values()
    assert values["images"] == 16 and values["exact_subset"]["test_set"].startswith(f"16 of {N_TEST} images")


def test_training_logs_and_exports_both_numbers_and_evaluate_agrees(tmp_path, capsys):
    root = cifar(tmp_path / "data", exact_mask())
    summary = train(root, tmp_path / "runs")
    run_dir = Path(summary["run_dir"])
    with open(run_dir / "metrics.csv") as f:
        (row,) = [r for r in csv.DictReader(f) if r.get("test/acc")]
    acc, exact = float(row["test/acc"]), float(row["test/acc_exact"])
    low, high = float(row["test/acc_exact_ci95_low"]), float(row["test/acc_exact_ci95_high"])
    assert float(row["test/exact_images"]) == 12 and low <= exact <= high
    assert float(row["test/images"]) == 40  # the whole test set, the results' sampling margin's n
    assert (low, high) == pytest.approx(wilson_interval(round(12 * exact), 12))
    assert summary["test_acc_exact"] == pytest.approx(exact, abs=1e-4)
    out = capsys.readouterr().out
    assert f"test/acc_exact={100 * exact:.2f}%" in out and "40 images (12 exact + 28 not exact)" in out

    meta = json.loads((run_dir / "resnet8_cifar.json").read_text())
    (split, values), = meta["metrics"].items()
    assert split == "CIFAR10 (unverified copy)" and values["acc@1"] == round(100 * acc, 2)
    assert values["images"] == 40
    assert values["exact_subset"]["acc@1"] == round(100 * exact, 2)
    assert values["exact_subset"]["ci95_wilson"] == [round(100 * low, 2), round(100 * high, 2)]
    assert values["exact_subset"]["images"] == 12
    # the mask is named by file and checksum, so the record carries no machine's folders
    mask_file = next(root.rglob(MASK_FILE))
    assert values["exact_subset"]["mask"] == MASK_FILE and str(tmp_path) not in json.dumps(meta["metrics"])
    assert values["exact_subset"]["mask_md5"] == file_md5(mask_file)

    report = evaluate_cli(["--model", "resnet8_cifar", "--checkpoint", summary["weights"],
                           "--data.name", "cifar10", "--data.root", str(root),
                           "--data.verify_integrity", "false", "--out", str(tmp_path / "e.json")])
    assert report["top1"] == pytest.approx(100 * acc, abs=0.01)
    assert report["top1_exact"] == pytest.approx(100 * exact, abs=0.01)
    assert "top1_exact" in json.loads((tmp_path / "e.json").read_text())


def test_official_files_without_a_mask_give_one_number(tmp_path):
    summary = train(cifar(tmp_path / "data"), tmp_path / "runs")
    run_dir = Path(summary["run_dir"])
    with open(run_dir / "metrics.csv") as f:
        header = next(csv.reader(f))
    assert "test/acc" in header and not [h for h in header if "exact" in h]
    meta = json.loads((run_dir / "resnet8_cifar.json").read_text())
    (values,) = meta["metrics"].values()
    assert set(values) == {"acc@1", "images"} and summary["test_acc_exact"] is None
