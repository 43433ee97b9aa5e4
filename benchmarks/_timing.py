"""Helpers shared by the benchmark scripts: a training step of a module, its median time after
warm-up, and its peak memory.

Imported as ``_timing`` by ``benchmarks/layers.py`` and ``benchmarks/gpu.py`` (Python puts the
script's folder on ``sys.path``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import inspect
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from kanvision.runtime import tune_cpu_allocator

GRID = {"grid_size": 5, "spline_order": 3}

Inputs = torch.Tensor | Sequence[torch.Tensor]


def family_options(basis: str) -> dict:
    """G=5, k=3 where the family takes them."""
    from kanvision.layers.basis import _BASES

    accepted = inspect.signature(_BASES[basis].__init__).parameters
    return {k: v for k, v in GRID.items() if k in accepted}


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _as_tuple(x: Inputs) -> tuple[torch.Tensor, ...]:
    return (x,) if isinstance(x, torch.Tensor) else tuple(x)


def clear_grads(module: nn.Module, x: Inputs) -> None:
    for t in _as_tuple(x):
        t.grad = None
    for p in module.parameters():
        p.grad = None


def make_step(module: nn.Module, x: Inputs, dtype: torch.dtype, device: str, *,
              clear: bool = True, cache_enabled: bool | None = None) -> Callable[[], None]:
    """One training step: grads cleared (``clear``), forward under autocast for half dtypes,
    backward of the output's sum. ``x`` may be a tuple of inputs (passed as ``module(*x)``).
    ``cache_enabled=False`` turns off autocast's weight-cast cache, as CUDA-graph capture needs."""
    autocast = dtype in (torch.bfloat16, torch.float16)
    inputs = _as_tuple(x)

    def step() -> None:
        if clear:
            clear_grads(module, inputs)
        with torch.autocast(device, dtype=dtype, enabled=autocast, cache_enabled=cache_enabled):
            y = module(*inputs)
        y.float().sum().backward()

    return step


def time_step(step: Callable[[], None], device: str, reps: int, warmup: int,
              events: bool = False) -> tuple[float, float]:
    """(first call seconds, median ms over reps after warm-up).

    Each rep is timed with ``time.perf_counter`` between device synchronisations, or, with
    ``events`` on CUDA, between CUDA events recorded around it (no host synchronisation between
    reps)."""
    sync(device)
    t0 = time.perf_counter()
    step()
    sync(device)
    first = time.perf_counter() - t0
    for _ in range(warmup):
        step()
    if events and device == "cuda":
        marks = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                 for _ in range(reps)]
        sync(device)
        for start, end in marks:
            start.record()
            step()
            end.record()
        sync(device)
        return first, statistics.median(start.elapsed_time(end) for start, end in marks)
    times = []
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        step()
        sync(device)
        times.append(time.perf_counter() - t0)
    return first, 1000 * statistics.median(times)


def _proc_status_bytes(key: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"{key}:\s+(\d+) kB", text).group(1)) * 1024


def peak_memory_mb(step: Callable[[], None], device: str, live_inputs: int,
                   clear: Callable[[], None]) -> float:
    """Peak memory of one step plus the bytes of its input, in MB.

    CUDA: the caching allocator's peak. CPU: the rise of the process's peak resident memory
    (VmHWM, reset through /proc/self/clear_refs) during the step, measured with glibc malloc's
    default thresholds so freed tensors go back to the OS and the peak is the tensors' peak.
    """
    if device == "cuda":
        clear()
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base + live_inputs) / 2**20
    tuned = tune_cpu_allocator(128 * 1024, 128 * 1024)  # glibc defaults
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    try:
        step()  # one step at these settings first, so only the step's own peak is measured
        clear()
        gc.collect()
        libc.malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
        base = _proc_status_bytes("VmRSS")
        step()
        peak = _proc_status_bytes("VmHWM")
    finally:
        if tuned:
            tune_cpu_allocator()
    return (peak - base + live_inputs) / 2**20


def fastest(*rows: dict) -> dict:
    return min(rows, key=lambda r: r["ms"])
