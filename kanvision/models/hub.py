"""Hosted weights: registry entries whose file lives at a URL, downloaded once into a cache.

An entry in ``checkpoints/`` is its metadata ``<model>.<tag>.json`` plus, usually, the weights
next to it. Weights too large for the repository (the B-spline ViT-tiny is 67 MB in fp16) are
hosted elsewhere: the entry then records a ``url`` with the file's ``sha256``, and
``pretrained_file`` downloads it into ``<$KANVISION_CACHE or ~/.cache/kanvision>/weights/``
with torch hub's downloader, checks the hash, and reuses the cached copy while its hash still
matches, as torchvision and timm do. ``python -m kanvision.ship RUN --tag T --url URL`` writes
such an entry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from kanvision.cache import cache_root
from kanvision.errors import CheckpointError


def sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, recorded with every shipped checkpoint and checked on download."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where hosted weights are downloaded: ``weights/`` in kanvision's cache
    (``$KANVISION_CACHE``, default ``~/.cache/kanvision``), next to extracted datasets."""
    return cache_root() / "weights"


def pretrained_file(cfg: dict[str, Any]) -> Path:
    """The local weights file of a registry entry: the file in the checkpoint folder when it is
    there, else the cached download of its ``url`` (fetched and sha256-checked on first use)."""
    local = Path(cfg["file"])
    if local.is_file():
        return local
    url = cfg.get("url")
    if not url:
        raise CheckpointError(
            f"weights file '{local}' is missing and its entry has no url: restore it "
            "(git checkout checkpoints/) or ship the run again"
        )
    cached = cache_dir() / local.name
    expected = cfg.get("sha256")
    if not cached.is_file() or (expected and sha256(cached) != expected):  # absent or stale
        _download(url, cached, expected)
    return cached


def _download(url: str, dest: Path, expected_sha256: str | None) -> None:
    """Fetch ``url`` to ``dest`` through a temporary file, so an interrupted or corrupt download
    never leaves a file that looks complete."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        partial = Path(tmp) / dest.name
        try:
            torch.hub.download_url_to_file(url, str(partial), progress=False)
        except (OSError, ValueError) as e:  # URLError is an OSError
            reason = str(getattr(e, "reason", e)).splitlines()[0]
            raise CheckpointError(
                f"could not download '{dest.name}' from {url} ({reason}): connect to the "
                f"internet, or put the file at {dest} (KANVISION_CACHE sets the folder)"
            ) from None
        if expected_sha256 and (got := sha256(partial)) != expected_sha256:
            raise CheckpointError(
                f"'{dest.name}' downloaded from {url} has sha256 {got[:12]}..., not the "
                f"registry's {expected_sha256[:12]}...: the hosted file changed; re-ship the entry "
                "or fix its url"
            )
        partial.replace(dest)
