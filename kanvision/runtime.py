"""Process-level CPU tuning: keep large freed blocks in the heap instead of returning them.

glibc's malloc serves big tensors with ``mmap`` and unmaps them when freed, so every training step
page-faults its activations in again; on a small CPU machine that can cost more than the math
(a fresh 72 MB tensor costs ~25 ms here, a reused one ~3 ms). Raising glibc's mmap and trim
thresholds keeps freed memory for reuse, as PyTorch's CPU tuning guides get by preloading
jemalloc or tcmalloc. It affects the whole process, so kanvision's CLI and benchmarks call it;
the library does not on import. ``KANVISION_MALLOC=default`` leaves malloc untouched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_cpu_allocator(mmap_threshold: int = 2**30, trim_threshold: int = 2**31 - 1) -> bool:
    """Raise glibc's mmap/trim thresholds; True if applied (Linux with glibc only)."""
    if os.environ.get("KANVISION_MALLOC", "").lower() == "default" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
        )
    except (OSError, AttributeError):
        return False


def show_library_notes() -> None:
    """Print kanvision's INFO log lines (e.g. which pretrained weights were not loaded) on
    stderr, once per process; the library itself only logs, as libraries should."""
    import logging

    logger = logging.getLogger("kanvision")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def run_cli(run: Callable[[list[str] | None], object], args: list[str] | None = None) -> None:
    """Entry point of every kanvision command: tune the allocator, then ``run(args)``; bad input
    (a :class:`~kanvision.errors.KanvisionError`) ends with one ``error:`` line and exit 2."""
    from kanvision.errors import KanvisionError

    tune_cpu_allocator()
    show_library_notes()
    try:
        run(args)
    except KanvisionError as e:
        sys.stderr.write(f"error: {e}\n")
        sys.exit(2)
