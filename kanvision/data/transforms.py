"""Per-dataset image preprocessing: sizing for evaluation and the default training augmentation.

A :class:`Preprocess` is a registry entry's recipe, so the datamodule builds every dataset's
transforms the same way: ``sizing`` brings a loaded PIL image to ``size`` x ``size``;
``augmentation`` is the training pipeline used when augmentation is on (it includes the sizing).
Both take the requested ``size`` and the dataset's ``native`` size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torchvision import transforms

from kanvision.errors import KanvisionError

Steps = Callable[[int, int], list]

# Evaluation resize for ImageNet-style data: resize to size / 0.875, then center crop.
CROP_PCT = 0.875


@dataclass(frozen=True)
class Preprocess:
    """How a dataset's images are sized and augmented."""

    sizing: Steps
    augmentation: Steps
    augment_by_default: bool


def resize_if_needed(size: int, native: int) -> list:
    """Nothing for images at their native size, else a resize to ``size`` x ``size``."""
    return [] if size == native else [transforms.Resize((size, size))]


def resize_center_crop(size: int, native: int) -> list:
    """ImageNet evaluation: shorter side to ``size / 0.875``, then the central ``size`` crop."""
    return [transforms.Resize(round(size / CROP_PCT)), transforms.CenterCrop(size)]


def light_affine(size: int, native: int) -> list:
    """Rotation up to 10 degrees and shifts up to 10%: mild enough for digits."""
    return [*resize_if_needed(size, native),
            transforms.RandomAffine(degrees=10, translate=(0.1, 0.1))]


def pad_crop(size: int, native: int) -> list:
    """Random crop after padding by 1/8 of the side (4 px at 32): the CIFAR standard."""
    return [*resize_if_needed(size, native), transforms.RandomCrop(size, padding=size // 8)]


def pad_crop_flip(size: int, native: int) -> list:
    """:func:`pad_crop` plus horizontal flips (objects, not digits)."""
    return [*pad_crop(size, native), transforms.RandomHorizontalFlip()]


def resized_crop_flip(size: int, native: int) -> list:
    """Inception-style random-resized crop plus horizontal flips (ImageNet training)."""
    return [transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip()]


DIGITS = Preprocess(resize_if_needed, light_affine, augment_by_default=False)
OBJECTS_32 = Preprocess(resize_if_needed, pad_crop_flip, augment_by_default=True)
DIGITS_32 = Preprocess(resize_if_needed, pad_crop, augment_by_default=True)  # no flips: digits
# clothes may flip; off by default so the shipped no-augmentation Fashion-MNIST runs keep their recipe
CLOTHES = Preprocess(resize_if_needed, pad_crop_flip, augment_by_default=False)
NATURAL = Preprocess(resize_center_crop, resized_crop_flip, augment_by_default=True)
SYNTHETIC = Preprocess(resize_if_needed, resize_if_needed, augment_by_default=False)


def rand_augment(config: str, size: int, mean: tuple[float, ...]) -> Callable:
    """timm's RandAugment from a config string such as ``rand-m9-mstd0.5``.

    Works on RGB and grayscale PIL images: the fill colour has one value per channel."""
    from timm.data.auto_augment import rand_augment_transform

    hparams = {
        "translate_const": int(size * 0.45),
        "img_mean": tuple(round(255 * m) for m in mean),
    }
    try:
        return rand_augment_transform(config, hparams)
    except (AssertionError, ValueError, KeyError, IndexError, TypeError) as e:  # malformed
        raise KanvisionError(
            f"data.rand_augment '{config}' is not a valid timm RandAugment string "
            f"({type(e).__name__}{': ' + str(e) if str(e) else ''}): use e.g. 'rand-m9-mstd0.5' "
            "(rand-m<magnitude>-n<ops>-mstd<std>) or leave it null"
        ) from None


def jpeg_compression(quality: tuple[int, int] | list[int]) -> Callable:
    """A JPEG round trip at a quality drawn uniformly from ``quality`` (low, high) for each image:
    training images then carry the block and ringing artefacts of compressed photos (torchvision's
    ``v2.JPEG``, which works on PIL images)."""
    from torchvision.transforms import v2

    pair = isinstance(quality, list | tuple) and len(quality) == 2 and all(isinstance(q, int) for q in quality)
    if not (pair and 1 <= quality[0] <= quality[1] <= 100):
        raise KanvisionError(
            f"data.jpeg_quality {quality!r} is not a JPEG quality range: use two integers "
            "1 <= low <= high <= 100, e.g. --data.jpeg_quality [50,100], or leave it null"
        )
    return v2.JPEG(tuple(quality))
