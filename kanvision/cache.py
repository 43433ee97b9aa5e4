"""kanvision's writable cache: extracted datasets (``data.offline``) and downloaded weights
(``models.hub``) live under ``$KANVISION_CACHE``, default ``~/.cache/kanvision``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$KANVISION_CACHE`` if set, else ``~/.cache/kanvision``."""
    env = os.environ.get("KANVISION_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "kanvision"
