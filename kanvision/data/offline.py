"""Finding dataset files without internet, and never writing into a read-only data folder.

torchvision's MNIST-style datasets keep their files in ``<root>/<Folder>/raw``. When the
extracted files are there, nothing is downloaded. When only the verified ``.gz`` archives are
there, torchvision skips the download and extracts next to them, which fails in a read-only
folder (such as a shared copy); then we link the archives into a writable cache and extract there.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from torchvision import datasets

DEFAULT_ROOT = "./data"


def default_root() -> str:
    """``$KANVISION_DATA`` if set, else ``./data``."""
    return os.environ.get("KANVISION_DATA") or DEFAULT_ROOT


def cache_dir() -> Path:
    """Writable place for extracted copies: ``$KANVISION_CACHE`` or ``~/.cache/kanvision``."""
    env = os.environ.get("KANVISION_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "kanvision"


def _extracted_names(tv_class: type[datasets.VisionDataset]) -> list[str]:
    return [Path(url).name.removesuffix(".gz") for url, _md5 in tv_class.resources]


def _writable(path: Path) -> bool:
    """Whether we may create files in ``path`` (or its nearest existing parent).

    Permission bits are checked as well as ``os.access`` because root passes ``os.access`` even
    on folders marked read-only, and a read-only shared folder must stay untouched."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    return os.access(probe, os.W_OK) and bool(probe.stat().st_mode & stat.S_IWUSR)


def resolve_root(root: str | os.PathLike, tv_class: type[datasets.VisionDataset], folder: str) -> Path:
    """The root to hand torchvision: ``root`` itself, or a writable cache that links to the
    archives found under a read-only ``root``."""
    root = Path(root).expanduser().resolve()
    raw = root / folder / "raw"
    if all((raw / n).is_file() for n in _extracted_names(tv_class)) or _writable(raw):
        return root
    archives = [raw / Path(url).name for url, _md5 in tv_class.resources]
    if not all(a.is_file() for a in archives):
        return root  # nothing usable here; torchvision will try to download and report
    key = hashlib.sha1(str(root).encode()).hexdigest()[:12]
    cached_root = cache_dir() / "datasets" / key
    cached_raw = cached_root / folder / "raw"
    cached_raw.mkdir(parents=True, exist_ok=True)
    for archive in archives:
        link = cached_raw / archive.name
        if not link.exists():
            link.symlink_to(archive)
    return cached_root
