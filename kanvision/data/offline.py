"""Finding dataset files without internet, and never writing into a read-only data folder.

Three cases are handled here: MNIST-style archives in a read-only folder (linked into a writable
cache and extracted there), xz-compressed copies of a dataset's files (decompressed into the
cache, see :func:`decompress_xz`), and md5 checks of the files a loader is about to read.

torchvision's MNIST-style datasets keep their files in ``<root>/<Folder>/raw``. When the
extracted files are there, nothing is downloaded. When only the verified ``.gz`` archives are
there, torchvision skips the download and extracts next to them, which fails in a read-only
folder (such as a shared copy); then we link the archives into a writable cache and extract there.
"""

from __future__ import annotations

import contextlib
import hashlib
import lzma
import os
import shutil
import stat
from pathlib import Path

from torchvision import datasets

from kanvision.cache import cache_root

DEFAULT_ROOT = "./data"


def default_root() -> str:
    """``$KANVISION_DATA`` if set, else ``./data``."""
    return os.environ.get("KANVISION_DATA") or DEFAULT_ROOT


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


def cached_root_for(root: Path) -> Path:
    """The cache folder that stands in for a read-only ``root`` (one per absolute path)."""
    key = hashlib.sha1(str(root).encode()).hexdigest()[:12]
    return cache_root() / "datasets" / key  # $KANVISION_CACHE or ~/.cache/kanvision


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
    cached_root = cached_root_for(root)
    cached_raw = cached_root / folder / "raw"
    cached_raw.mkdir(parents=True, exist_ok=True)
    for archive in archives:
        link = cached_raw / archive.name
        if not link.exists():
            with contextlib.suppress(FileExistsError):  # another process linked it first
                link.symlink_to(archive)
    return cached_root


def decompress_xz(root: str | os.PathLike, folder: str, names: list[str]) -> Path | None:
    """Give a dataset stored as ``<name>.xz`` files a cached copy in torchvision's layout.

    Each of ``names`` is looked up as ``<name>`` or ``<name>.xz`` in ``root/folder`` and in
    ``root``. When all are found and at least one is compressed, the compressed ones are
    decompressed (and the others linked) into ``<cache>/datasets/<key>/<folder>/``, whose root
    is returned; ``root`` itself is never written to. None: nothing compressed to unpack."""
    root = Path(root).expanduser().resolve()
    found: dict[str, Path] = {}
    for name in names:
        for where in dict.fromkeys([root / folder, root]):  # folder may be "" (same dir)
            hit = next((p for p in (where / name, where / f"{name}.xz") if p.is_file()), None)
            if hit is not None:
                found[name] = hit
                break
    if len(found) < len(names) or not any(p.suffix == ".xz" for p in found.values()):
        return None
    cached_root = cached_root_for(root)
    target = cached_root / folder
    target.mkdir(parents=True, exist_ok=True)
    for name, source in found.items():
        dest = target / name
        if dest.exists():
            continue
        if source.suffix == ".xz":
            # each process unpacks into its own partial file, so runs started together (seeds
            # side by side) never write one file at once; the last rename wins with equal bytes
            partial = dest.with_name(f"{dest.name}.{os.getpid()}.partial")
            with lzma.open(source) as src, open(partial, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            os.replace(partial, dest)  # a complete file or none, even if interrupted
        else:
            with contextlib.suppress(FileExistsError):  # another process linked it first
                dest.symlink_to(source)
    return cached_root


def file_md5(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex md5 of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def writable(path: str | os.PathLike) -> bool:
    """Whether files may be created in ``path`` (see :func:`_writable`)."""
    return _writable(Path(path))
