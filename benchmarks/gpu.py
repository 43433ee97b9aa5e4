"""The GPU benchmark: KAN layers per kernel path against K-matched and plain layers, and the zoo's
KAN models against their standard and parameter-matched twins.

    python benchmarks/gpu.py                        # both parts on the GPU, one after the other
    python benchmarks/gpu.py --part layers          # each part fits in 6 minutes on an H100
    python benchmarks/gpu.py --part models
    python benchmarks/gpu.py --device cpu --quick   # tiny sizes, 1-2 reps: checks the code paths

Every measurement is a training step (grads cleared, forward under bf16 autocast, backward; the
models also take an SGD step) timed after warm-up with CUDA events (``time.perf_counter`` on the
CPU) and reported as the median; ratios are between medians measured in the same run.

Layers (``--part layers``): KANLinear and KANConv2d of every zoo family (G=5, k=3 where the
family has them, as ``benchmarks/layers.py``) at the sizes in ``SIZES`` (ViT MLPs, CIFAR and ImageNet convs, plus
``cifar_pw64``, a 1x1 conv, the conv shape the Triton kernel covers), once per kernel path
(``triton``, ``compile``, ``eager``, forced with ``kanvision.kernels.use_kernel``; eager only at
the small sizes unless ``--eager-sizes all``). A row is measured only where the layer really
takes the requested path (``kanvision.kernels.kernel_path``); the others are listed as skipped.
Each is compared with the K-matched layer (the plain layer over the expanded width
``C * (K + 1)``: what the KAN layer's mix costs) and the plain layer. The ``vit_*_mlp`` sizes time
the KANMlp pair fc1 + fc2 as one step over 256 x 197 tokens; its K-matched step runs both K-matched
linears (each on its own expanded input), its plain step is timm's Mlp (fc1, GELU, fc2). Inputs
are bf16, as a layer sees them inside a network under autocast; conv inputs are channels_last
for the KAN layer, the plain and K-matched convs take the faster of NCHW and channels_last. The
``small`` sizes are also captured whole in a CUDA graph (``graphs`` rows: launch overhead gone).
Peak memory: the allocator's peak over one step above what was allocated before it, plus the
inputs (CPU: as ``benchmarks/layers.py`` measures it).

Models (``--part models``): images/s of a training step at batch 256 on synthetic inputs, for the
``kan`` variant (``create_model(name)``, the registry's default basis), the ``standard`` twin
(``kan="none"``) and the ``matched`` twin (``kan="none", match_params=True``), in eager mode
(KAN layers on their default kernel path) and, for ``kan`` and ``matched``, after
``model.compile()`` as ``training.compile`` does (first-call seconds reported separately). Peak
memory is the allocator's peak during a step (weights, grads, optimizer state, activations).

``--quick`` keeps compilation (seconds per graph on a small CPU) to the least that still runs every
code path: compile-path layer rows for one family (gram), the models' KAN layers on the eager
path, one compiled model (on the CPU with the ``aot_eager`` backend, no code generation).

Writes ``<out>/gpu-<device>.md`` and ``.json`` after every row (``--part`` keeps the other part's
rows of an earlier run on the same machine and torch). A row that fails (out of memory, a kernel
that does not compile) records its ``error`` and the run goes on; each part starts no new row
after ``--time-limit`` seconds (keeping time for a compile it expects) and lists the rest as
skipped, so that each part fits in 6 minutes; the whole suite takes up to twice that.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import re
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from _timing import clear_grads, family_options, make_step, peak_memory_mb, time_step
from torch import nn

from kanvision.layers import KANConv2d, KANLinear, KANMlp
from kanvision.runtime import tune_cpu_allocator
from kanvision.training.export import machine_description

OUT = Path(__file__).parent / "results"
FAMILIES = ("bspline", "rbf", "gram", "chebyshev", "rational")  # the families the zoo uses
PATHS = ("triton", "compile", "eager")
VARIANTS = ("kan", "standard", "matched")
DTYPE = torch.bfloat16
CUDA_BROKEN = r"CUDA error|illegal memory access|device-side assert|unspecified launch"
TARGETS = {"bspline_linear": 1.2, "bspline_conv2d": 1.3, "other": 1.5, "memory": 1.0, "model": 1.5}


# --- kernel paths ---------------------------------------------------------------------------------

try:  # kernel_path(layer, x): the path a layer takes; use_kernel(path): force one in a block
    from kanvision.kernels import kernel_path as KERNEL_PATH
    from kanvision.kernels import use_kernel as USE_KERNEL

    KERNEL_API = "kanvision.kernels.use_kernel"
except ImportError:  # a checkout without the kernels package: no layer rows, models on auto
    KERNEL_PATH = USE_KERNEL = None
    KERNEL_API = "none (kanvision.kernels.use_kernel is missing: layer rows skipped)"


def _on_path(path: str) -> contextlib.AbstractContextManager:
    return USE_KERNEL(path) if USE_KERNEL else contextlib.nullcontext()


# --- sizes ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Size:
    """One layer size. ``kind``: ``linear`` (one layer over ``lead + (c_in,)``), ``mlp`` (the
    KANMlp pair ``c_in -> hidden -> c_in`` over ``lead`` tokens) or ``conv2d`` (``lead`` is the
    batch; ``hw`` the square input; ``kernel`` square, padding ``kernel // 2``)."""

    label: str
    kind: str
    lead: tuple[int, ...]
    c_in: int
    c_out: int
    hw: int = 0
    kernel: int = 3

    @property
    def layer(self) -> str:
        return "conv2d" if self.kind == "conv2d" else "linear"

    @property
    def shape(self) -> str:
        lead = "x".join(map(str, self.lead))
        if self.kind == "linear":
            return f"{lead} x {self.c_in}->{self.c_out}"
        if self.kind == "mlp":
            return f"{lead} tokens, {self.c_in}->{self.c_out}->{self.c_in} (fc1+fc2)"
        k = self.kernel
        return f"{lead}x{self.c_in}x{self.hw}x{self.hw}, {self.c_in}->{self.c_out} {k}x{k}"

    def flops(self, width: int) -> float:
        """Multiply-adds x2 of the forward and both backward products of the mix over
        ``width`` functions per input channel (width 1: the plain layer)."""
        m = math.prod(self.lead)
        if self.kind == "linear":
            return 6.0 * m * self.c_in * width * self.c_out
        if self.kind == "mlp":
            return 6.0 * m * width * 2 * self.c_in * self.c_out
        pixels = m * self.hw * self.hw  # stride 1, same padding
        return 6.0 * pixels * self.c_out * self.c_in * width * self.kernel**2

    def _x(self, channels: int, device: str, channels_last: bool) -> torch.Tensor:
        if self.kind == "conv2d":
            x = torch.randn(*self.lead, channels, self.hw, self.hw, device=device, dtype=DTYPE)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
        else:
            x = torch.randn(*self.lead, channels, device=device, dtype=DTYPE)
        return x.requires_grad_()

    def kan(self, basis: str, device: str) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
        opts = family_options(basis)
        if self.kind == "linear":
            module = KANLinear(self.c_in, self.c_out, basis=basis, **opts)
        elif self.kind == "mlp":
            module = KANMlp(self.c_in, self.c_out, basis=basis, **opts)
        else:
            module = KANConv2d(self.c_in, self.c_out, self.kernel, padding=self.kernel // 2,
                               basis=basis, **opts)
        module = module.to(device)
        if self.kind == "conv2d":
            module = module.to(memory_format=torch.channels_last)
        return module, (self._x(self.c_in, device, True),)

    def probes(self, module: nn.Module, inputs: tuple[torch.Tensor, ...]):
        """The (KAN layer, its input) pairs whose kernel path a row reports."""
        if self.kind == "conv2d":
            return [(module, inputs[0].movedim(1, -1))]  # the channels-last view the layer uses
        if self.kind == "linear":
            return [(module, inputs[0])]
        hidden = torch.empty(*self.lead, self.c_out, device=inputs[0].device, dtype=DTYPE)
        return [(module.fc1, inputs[0]), (module.fc2, hidden)]

    def plain_layers(self, width: int, device: str) -> list[tuple[str, nn.Module, tuple]]:
        """``(name, module, inputs)`` candidates for the layer over ``width`` functions per input
        channel (1: the plain layer); the fastest is the reference."""
        c = self.c_in * width
        if self.kind == "linear":
            return [(f"nn.Linear({c},{self.c_out})", nn.Linear(c, self.c_out).to(device),
                     (self._x(c, device, False),))]
        if self.kind == "mlp":
            if width == 1:
                mlp = nn.Sequential(nn.Linear(self.c_in, self.c_out), nn.GELU(),
                                    nn.Linear(self.c_out, self.c_in)).to(device)
                x = self._x(self.c_in, device, False)
                return [(f"Mlp({self.c_in},{self.c_out},GELU)", mlp, (x,))]
            pair = _LinearPair(c, self.c_out, self.c_out * width, self.c_in).to(device)
            return [(f"nn.Linear({c},{self.c_out}) + nn.Linear({self.c_out * width},{self.c_in})",
                     pair, (self._x(c, device, False), self._x(self.c_out * width, device, False)))]
        out = []
        for cl in (False, True):
            conv = nn.Conv2d(c, self.c_out, self.kernel, padding=self.kernel // 2).to(device)
            if cl:
                conv = conv.to(memory_format=torch.channels_last)
            out.append((f"nn.Conv2d({c},{self.c_out},{self.kernel}){' cl' if cl else ''}", conv,
                        (self._x(c, device, cl),)))
        return out


class _LinearPair(nn.Module):
    """The two K-matched linears of a KAN MLP, each on its own expanded input."""

    def __init__(self, in1: int, out1: int, in2: int, out2: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in1, out1)
        self.fc2 = nn.Linear(in2, out2)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.fc1(x1).float().sum() + self.fc2(x2).float().sum()


SIZES = {
    "small": [Size("small", "linear", (1024,), 256, 256),
              Size("small", "conv2d", (64,), 32, 32, 32)],
    "vit_tiny_mlp": [Size("vit_tiny_mlp", "mlp", (256, 197), 192, 768)],
    "vit_small_mlp": [Size("vit_small_mlp", "mlp", (256, 197), 384, 1536)],
    "cifar_conv64": [Size("cifar_conv64", "conv2d", (256,), 64, 64, 32)],
    "cifar_conv128": [Size("cifar_conv128", "conv2d", (256,), 128, 128, 16)],
    "imagenet_conv64": [Size("imagenet_conv64", "conv2d", (64,), 64, 64, 56)],
    # not in the original list: a pointwise conv (SepNet's), the conv shape the Triton kernel covers
    "cifar_pw64": [Size("cifar_pw64", "conv2d", (256,), 64, 64, 32, kernel=1)],
}
QUICK_SIZES = {
    "quick_linear": [Size("quick_linear", "linear", (64,), 32, 32)],
    "quick_mlp": [Size("quick_mlp", "mlp", (34,), 16, 64)],  # 2-D: shares the linear's compile
    "quick_conv": [Size("quick_conv", "conv2d", (4,), 8, 8, 12)],
    "quick_pw": [Size("quick_pw", "conv2d", (4,), 8, 8, 12, kernel=1)],
}
SMALL = ("small",)  # launch-bound sizes: CUDA-graph rows, not judged against the targets
EAGER_SMALL = ("small", "quick_linear", "quick_conv")  # where eager rows run by default

MODELS = ["kan_convnet", "sepnet_small", "resnet20_cifar", "kat_tiny_patch4_32",
          "vit_tiny_patch4_32", "resnet18"]
QUICK_MODELS = ["kan_convnet", "sepnet_small"]


# --- running rows -------------------------------------------------------------------------------

def device_slug(device: str) -> str:
    """``cpu``, or ``cuda-`` + the GPU's model: the device name's words, vendor words dropped, up
    to the first word with a digit (``NVIDIA H100 80GB HBM3`` -> ``cuda-h100``, ``NVIDIA GeForce
    RTX 4090`` -> ``cuda-rtx-4090``, ``A100-SXM4-40GB`` -> ``cuda-a100``)."""
    if device != "cuda":
        return device
    if not torch.cuda.is_available():
        return "cuda"
    return "cuda-" + gpu_model(torch.cuda.get_device_name(0))


def gpu_model(name: str) -> str:
    words = [w for w in re.split(r"[\s_-]+", name.lower()) if w]
    words = [w for w in words if w not in ("nvidia", "geforce", "tesla", "amd", "radeon", "quadro")]
    for i, w in enumerate(words):
        if any(ch.isdigit() for ch in w):
            return "-".join(re.sub(r"[^a-z0-9]", "", v) for v in words[: i + 1])
    return "-".join(re.sub(r"[^a-z0-9]", "", v) for v in words) or "gpu"


def _free(device: str) -> None:
    """Return a finished row's memory (CUDA: collect cycles, empty the cache; CPU: reference
    counting already freed it)."""
    if device == "cuda":
        gc.collect()
        with contextlib.suppress(Exception):
            torch.cuda.synchronize()
        torch.cuda.empty_cache()


def _error_text(e: BaseException) -> str:
    first = (str(e).strip().splitlines() or [""])[0]
    return f"{type(e).__name__}: {first}"[:400]


def _bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _cpu_peak(step, live: int, clear) -> float | None:
    try:
        return peak_memory_mb(step, "cpu", live, clear)
    except (OSError, AttributeError, ValueError):  # no /proc/self/clear_refs or glibc
        return None


def measure(module: nn.Module, inputs: tuple, device: str, reps: int, warmup: int,
            graphs: bool = False) -> dict:
    """``{"first_s", "ms", "peak_mb"}`` of a training step of ``module`` on ``inputs``."""
    if graphs:
        return measure_graphed(module, inputs, reps, warmup)
    step = make_step(module, inputs, DTYPE, device)
    first, ms = time_step(step, device, reps, warmup, events=True)
    clear = lambda: clear_grads(module, inputs)
    if device == "cuda":
        peak = peak_memory_mb(step, device, _bytes(inputs), clear)
    else:
        peak = _cpu_peak(step, _bytes(inputs), clear)
    clear()
    return {"first_s": first, "ms": ms, "peak_mb": peak}


def _measure_on_path(path: str, *args) -> dict:
    with _on_path(path):
        return measure(*args)


def measure_graphed(module: nn.Module, inputs: tuple, reps: int, warmup: int) -> dict:
    """The step captured whole in one CUDA graph (warm-up on a side stream, grads set to None
    before capture so the backward allocates them in the graph's pool, autocast without its
    cast cache) and timed as graph replays. Peak memory: the allocator's peak over the capture,
    which allocates everything a replay uses."""
    t0 = time.perf_counter()
    warm = make_step(module, inputs, DTYPE, "cuda", cache_enabled=False)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            warm()
    torch.cuda.current_stream().wait_stream(side)
    clear_grads(module, inputs)
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        make_step(module, inputs, DTYPE, "cuda", clear=False, cache_enabled=False)()
    torch.cuda.synchronize()
    peak = (torch.cuda.max_memory_allocated() - base + _bytes(inputs)) / 2**20
    capture_s = time.perf_counter() - t0
    _, ms = time_step(graph.replay, "cuda", reps, warmup, events=True)
    clear_grads(module, inputs)
    del graph
    return {"first_s": capture_s, "ms": ms, "peak_mb": peak}


@dataclass
class Run:
    """State of one benchmark run: settings, rows, skipped rows, output files."""

    device: str
    quick: bool
    out: Path
    command: str
    machine: str
    reps: int
    warmup: int
    model_reps: int
    model_warmup: int
    batch: int
    time_limit: float
    settings: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    parts: dict = field(default_factory=dict)
    kept: dict = field(default_factory=dict)  # part -> rows/skipped/info of an earlier run
    broken: str | None = None  # a CUDA error that poisoned the context

    @property
    def stem(self) -> Path:
        return self.out / f"gpu-{device_slug(self.device)}"

    def skip(self, key: dict, reason: str) -> None:
        self.skipped.append({**key, "reason": reason})
        print(f"  skipped {_describe(key)}: {reason}", flush=True)

    def attempt(self, fn: Callable[..., dict], *args) -> tuple[dict | None, str | None]:
        """``fn(*args)``, or its error as text (the CUDA context marked broken on a CUDA error)."""
        try:
            return fn(*args), None
        except Exception as e:  # noqa: BLE001  (one bad row must not end the suite)
            text = _error_text(e)
        _free(self.device)  # out of the except block, so the traceback's tensors are gone
        if self.device == "cuda" and re.search(CUDA_BROKEN, text):
            self.broken = text
        return None, text

    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        kept = {part: old for part, old in self.kept.items() if part not in self.parts}
        rows = [r for old in kept.values() for r in old["rows"]] + self.rows
        skipped = [s for old in kept.values() for s in old["skipped"]] + self.skipped
        add_model_ratios(rows)
        parts = {part: old["info"] for part, old in kept.items()}
        parts.update(self.parts)
        commands = list(dict.fromkeys(p["command"] for p in parts.values())) or [self.command]
        doc = {
            "machine": self.machine, "command": " && ".join(commands), "torch": torch.__version__,
            "python": platform.python_version(), "device": device_slug(self.device),
            "quick": self.quick, "dtype": "bfloat16", "kernel_api": KERNEL_API,
            "kernel_env": os.environ.get("KANVISION_KERNEL"),
            "cudnn_benchmark": torch.backends.cudnn.benchmark if self.device == "cuda" else None,
            "parts": parts, "targets": judge(rows), "rows": rows,
            "skipped": skipped,
        }
        tmp = self.stem.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(self.stem.with_suffix(".json"))
        self.stem.with_suffix(".md").write_text(to_markdown(doc))

    def load_kept(self, running: list[str]) -> None:
        """Keep an earlier run's rows of the parts not run now (same machine and torch)."""
        path = self.stem.with_suffix(".json")
        if not path.exists() or set(running) == {"layers", "models"}:
            return
        try:
            old = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return
        if old.get("machine") != self.machine or old.get("torch") != torch.__version__ \
                or old.get("quick") != self.quick:
            print(f"not keeping {path.name}: another machine, torch or --quick setting", flush=True)
            return
        kind = {"layers": "layer", "models": "model"}
        for part in ("layers", "models"):
            if part not in running and part in old.get("parts", {}):
                self.kept[part] = {
                    "rows": [r for r in old["rows"] if r.get("kind") == kind[part]],
                    "skipped": [s for s in old.get("skipped", []) if s.get("kind") == kind[part]],
                    "info": old["parts"][part],
                }


def _describe(key: dict) -> str:
    if key.get("kind") == "model":
        return f"{key['model']} {key['variant']}{' compiled' if key['compiled'] else ''}"
    return (f"{key['layer']} {key['basis']} {key['size']} {key['path']}"
            f"{' graphs' if key['graphs'] else ''}")


def _round(v, digits=3):
    return None if v is None else round(v, digits)


# --- layers ---------------------------------------------------------------------------------------

def layer_tasks(sizes: list[Size], families: list[str], paths: list[str],
                graphs: bool) -> list[tuple[Size, str, str, bool]]:
    """(size, basis, path, graphs) in priority order: the realistic sizes on the fast paths first
    (they judge the targets), then the small sizes, their CUDA-graph rows, and the rest."""
    small = [s for s in sizes if s.label in SMALL]
    large = [s for s in sizes if s.label not in SMALL]
    fast = [p for p in paths if p != "eager"]
    tasks = [(s, b, p, False) for s in large for b in families for p in fast]
    tasks += [(s, b, p, False) for s in small for b in families for p in paths]
    if graphs:
        tasks += [(s, b, p, True) for s in small for b in families for p in paths]
    if "eager" in paths:
        tasks += [(s, b, "eager", False) for s in large for b in families]
    return tasks


def run_layers(run: Run, sizes: list[Size], families: list[str], paths: list[str], graphs: bool,
               eager_sizes: str, compile_families: list[str]) -> None:
    if USE_KERNEL is None:
        print(f"layers skipped: {KERNEL_API}", flush=True)
        run.parts["layers"]["skipped"] = KERNEL_API
        return
    tasks = layer_tasks(sizes, families, paths, graphs)
    labels = {s.label for s in sizes}
    references: dict[tuple, dict] = {}
    compiled: set[tuple] = set()  # (basis, path, size kind) that ran once
    first_call: dict[str, float] = {}  # path -> the longest first step so far
    start = time.perf_counter()
    for i, (size, basis, path, graphed) in enumerate(tasks, 1):
        key = {"kind": "layer", "layer": size.layer, "basis": basis, "size": size.label,
               "path": path, "graphs": graphed}
        elapsed = time.perf_counter() - start
        print(f"[{elapsed:6.1f}s] layers {i}/{len(tasks)}: {_describe(key)}", flush=True)
        if path == "eager" and size.label not in EAGER_SMALL and eager_sizes == "small":
            where = " and ".join(s for s in EAGER_SMALL if s in labels)
            run.skip(key, f"eager rows only at {where} (--eager-sizes all runs them)")
            continue
        if path == "triton" and run.device != "cuda":
            run.skip(key, "triton not available: the Triton kernels run on CUDA (on the CPU only "
                          "under Triton's interpreter, which is for tests, not timing)")
            continue
        if path == "compile" and basis not in compile_families:
            run.skip(key, f"compile rows only for {', '.join(compile_families)} "
                          "(--compile-families; each family's first compile costs seconds)")
            continue
        if run.broken:
            run.skip(key, f"CUDA context broken by an earlier error ({run.broken[:80]})")
            continue
        # a path's first row per family and input rank compiles: keep time for the slowest so far
        combo = (basis, path, size.kind)
        reserve = 0.0 if combo in compiled else first_call.get(path, 0.0)
        if run.time_limit and elapsed > run.time_limit - reserve:
            run.skip(key, f"time limit ({run.time_limit:.0f} s for the part"
                          + (f", {reserve:.0f} s kept for a first call)" if reserve else ")"))
            continue
        row, error = run.attempt(layer_row, run, references, size, basis, path, graphed, key)
        if error:  # e.g. out of memory building the layer
            row = {**key, "shape": size.shape, "ms": None, "vs_k_matched": None, "vs_plain": None,
                   "peak_mb": None, "k_matched_peak_mb": None, "error": error}
        if row is None:
            continue
        if row.get("first_s") and not graphed:
            compiled.add(combo)
            first_call[path] = max(first_call.get(path, 0.0), row["first_s"])
        run.rows.append(row)
        run.write()
        print("  " + ", ".join(f"{k}={v}" for k, v in row.items() if k not in key), flush=True)


def _reference(run: Run, references: dict, size: Size, width: int, graphed: bool) -> dict:
    """The fastest of the plain-layer candidates over ``width`` functions per channel (cached)."""
    cache_key = (size, width, graphed)
    if cache_key not in references:
        best, errors = None, []
        for name, module, inputs in size.plain_layers(width, run.device):
            result, error = run.attempt(measure, module, inputs, run.device, run.reps,
                                        run.warmup, graphed)
            if error:
                errors.append(f"{name}: {error}")
            elif best is None or result["ms"] < best["ms"]:
                best = {**result, "name": name}
            del module, inputs
            _free(run.device)
        references[cache_key] = best or {"error": "; ".join(errors)}
    return references[cache_key]


def layer_row(run: Run, references: dict, size: Size, basis: str, path: str, graphed: bool,
              key: dict) -> dict | None:
    device = run.device
    module, inputs = size.kan(basis, device)
    width = (module.fc1 if size.kind == "mlp" else module).expanded_per_input
    try:
        with torch.autocast(device, dtype=DTYPE):
            with USE_KERNEL("auto"):
                default = {KERNEL_PATH(m, x) for m, x in size.probes(module, inputs)}
            with USE_KERNEL(path):
                taken = {KERNEL_PATH(m, x) for m, x in size.probes(module, inputs)}
    except Exception as e:  # noqa: BLE001  (e.g. a path this machine has not got)
        run.skip(key, f"{path} not available: {_error_text(e)}")
        return None
    if taken != {path}:
        layer = type(module.fc1 if size.kind == "mlp" else module).__name__
        run.skip(key, f"{path} not available: {layer} takes {'/'.join(sorted(taken))} here")
        return None
    row = {**key, "shape": size.shape, "k_plus_1": width, "dtype": "bfloat16",
           "default": default == {path}}
    matched = _reference(run, references, size, width, graphed)
    plain = _reference(run, references, size, 1, graphed)

    result, error = run.attempt(_measure_on_path, path, module, inputs, device, run.reps,
                                run.warmup, graphed)
    del module, inputs
    _free(device)
    errors = [error] if error else []
    errors += [f"{label} layer: {ref['error']}" for label, ref in (("K-matched", matched),
               ("plain", plain)) if "error" in ref]
    ms = result["ms"] if result else None
    row.update({
        "ms": _round(ms),
        "vs_k_matched": _round(ms / matched["ms"]) if ms and "ms" in matched else None,
        "vs_plain": _round(ms / plain["ms"]) if ms and "ms" in plain else None,
        "peak_mb": _round(result["peak_mb"], 1) if result else None,
        "k_matched_peak_mb": _round(matched.get("peak_mb"), 1),
        "tflops": _round(size.flops(width) / ms / 1e9, 1) if ms else None,
        "k_matched": matched.get("name"), "k_matched_ms": _round(matched.get("ms")),
        "k_matched_tflops": _round(size.flops(width) / matched["ms"] / 1e9, 1)
        if "ms" in matched else None,
        "plain": plain.get("name"), "plain_ms": _round(plain.get("ms")),
        "first_s": _round(result["first_s"], 2) if result else None,
    })
    if errors:
        row["error"] = "; ".join(errors)
    return row


# --- models ---------------------------------------------------------------------------------------

def model_tasks(models: list[str], compiled_models: list[str],
                compiled_variants: list[str]) -> list[tuple[str, str, bool]]:
    """Eager rows of every model first (cheap), then the compiled ones in the order given."""
    tasks = [(m, v, False) for m in models for v in VARIANTS]
    return tasks + [(m, v, True) for m in compiled_models for v in compiled_variants]


def run_models(run: Run, models: list[str], compiled_models: list[str],
               compiled_variants: list[str], compile_reserve: float, kernel: str,
               backend: str) -> None:
    tasks = model_tasks(models, compiled_models, compiled_variants)
    longest_compile = 0.0
    start = time.perf_counter()
    for i, (name, variant, compiled) in enumerate(tasks, 1):
        key = {"kind": "model", "model": name, "variant": variant, "compiled": compiled}
        elapsed = time.perf_counter() - start
        print(f"[{elapsed:6.1f}s] models {i}/{len(tasks)}: {_describe(key)}", flush=True)
        if run.broken:
            run.skip(key, f"CUDA context broken by an earlier error ({run.broken[:80]})")
            continue
        reserve = max(compile_reserve, longest_compile) if compiled else 0.0
        if run.time_limit and elapsed > run.time_limit - reserve:
            run.skip(key, f"time limit ({run.time_limit:.0f} s for the part"
                          + (f", {reserve:.0f} s kept for a compile)" if reserve else ")"))
            continue
        row = {**key}
        result, error = run.attempt(model_step, run, name, variant, compiled, kernel, backend)
        _free(run.device)
        if result:
            row.update(result)
        else:
            row.update({"images_per_s": None, "peak_mb": None, "error": error})
        if compiled and row.get("first_s"):
            longest_compile = max(longest_compile, row["first_s"])
        run.rows.append(row)
        run.write()
        print("  " + ", ".join(f"{k}={v}" for k, v in row.items() if k not in key), flush=True)


def model_step(run: Run, name: str, variant: str, compiled: bool, kernel: str,
               backend: str) -> dict:
    """One model row; the KAN layers on kernel path ``kernel`` (``auto``: the default dispatch),
    compiled with ``backend`` if ``compiled``."""
    with _on_path(kernel):
        row = _model_step(run, name, variant, compiled, backend)
    return {"kernel": kernel if USE_KERNEL else "auto (no kanvision.kernels)", **row}


def _model_step(run: Run, name: str, variant: str, compiled: bool, backend: str) -> dict:
    from kanvision.models import create_model, get_model_info

    device = run.device
    kwargs = {"kan": {}, "standard": {"kan": "none"},
              "matched": {"kan": "none", "match_params": True}}[variant]
    torch.manual_seed(0)
    model = create_model(name, **kwargs).to(device)
    channels, height, width = get_model_info(name).input_size
    with torch.no_grad(), _on_path("eager"):  # the class count, without compiling anything
        model.eval()
        classes = model(torch.zeros(2, channels, height, width, device=device)).shape[-1]
    model.train()
    params = sum(p.numel() for p in model.parameters())
    if compiled:
        model.compile(**({} if backend == "inductor" else {"backend": backend}))
    x = torch.randn(run.batch, channels, height, width, device=device)
    y = torch.randint(0, classes, (run.batch,), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=DTYPE):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    first, ms = time_step(step, device, run.model_reps, run.model_warmup, events=True)
    clear = lambda: opt.zero_grad(set_to_none=True)
    if device == "cuda":
        clear()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        state = [t for s in opt.state.values() for t in s.values() if torch.is_tensor(t)]
        peak = _cpu_peak(step, _bytes([*model.parameters(), *state, x, y]), clear)
    clear()
    return {"params": params, "batch": run.batch, "input": f"{channels}x{height}x{width}",
            "compile_backend": backend if compiled else None,
            "images_per_s": round(run.batch / (ms / 1000), 1), "ms": round(ms, 2),
            "peak_mb": _round(peak, 1), "first_s": round(first, 2)}


def add_model_ratios(rows: list[dict]) -> None:
    """``vs_matched`` / ``vs_standard`` on each KAN model row: the twin's images/s over the KAN
    model's (the KAN step's time in twin steps), compiled compared with compiled."""
    ips = {(r["model"], r["variant"], r["compiled"]): r.get("images_per_s")
           for r in rows if r.get("kind") == "model"}
    for r in rows:
        if r.get("kind") == "model" and r["variant"] == "kan":
            for twin in ("matched", "standard"):
                other = ips.get((r["model"], twin, r["compiled"]))
                ok = other and r.get("images_per_s")
                r[f"vs_{twin}"] = round(other / r["images_per_s"], 3) if ok else None


# --- targets and the report -----------------------------------------------------------------------

def judged_layer_rows(rows: list[dict]) -> list[dict]:
    """Per (layer, basis, size) at the realistic sizes, without CUDA graphs: the row of the path
    the default dispatch takes, or the fastest measured path where that one is missing."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if r.get("kind") == "layer" and not r["graphs"] and r["size"] not in SMALL \
                and r.get("vs_k_matched"):
            groups.setdefault((r["layer"], r["basis"], r["size"]), []).append(r)
    chosen = []
    for group in groups.values():
        default = [r for r in group if r.get("default")]
        chosen.append(default[0] if default else min(group, key=lambda r: r["ms"]))
    return chosen


def judge(rows: list[dict]) -> list[dict]:
    layers = judged_layer_rows(rows)
    others = [b for b in FAMILIES if b != "bspline"]
    specs = [
        ("B-spline KANLinear <= 1.2x K-matched", TARGETS["bspline_linear"], "vs_k_matched",
         [r for r in layers if r["basis"] == "bspline" and r["layer"] == "linear"]),
        ("B-spline KANConv2d <= 1.3x K-matched", TARGETS["bspline_conv2d"], "vs_k_matched",
         [r for r in layers if r["basis"] == "bspline" and r["layer"] == "conv2d"]),
        (f"every other zoo family ({', '.join(others)}) <= 1.5x K-matched", TARGETS["other"],
         "vs_k_matched", [r for r in layers if r["basis"] in others]),
        ("peak memory <= K-matched", TARGETS["memory"], "peak_vs_k_matched",
         [{**r, "peak_vs_k_matched": round(r["peak_mb"] / r["k_matched_peak_mb"], 3)}
          for r in layers if r.get("peak_mb") and r.get("k_matched_peak_mb")]),
        ("each KAN model step <= 1.5x its matched twin's", TARGETS["model"], "vs_matched",
         [r for r in rows if r.get("kind") == "model" and r.get("vs_matched")]),
    ]
    out = []
    for name, limit, metric, candidates in specs:
        if not candidates:
            out.append({"target": name, "limit": limit, "met": None, "worst": None, "where": None,
                        "rows": 0})
            continue
        worst = max(candidates, key=lambda r: r[metric])
        failing = sum(r[metric] > limit for r in candidates)
        out.append({"target": name, "limit": limit, "met": failing == 0,
                    "worst": worst[metric], "where": _where(worst), "rows": len(candidates),
                    "failing": failing})
    return out


def _where(r: dict) -> str:
    if r["kind"] == "model":
        return f"{r['model']}{' compiled' if r['compiled'] else ' eager'}"
    return f"{r['layer']} {r['basis']} {r['size']} {r['path']}"


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


LAYER_NOTE = (
    "ms: median training step (forward under bf16 autocast, backward, grads cleared). x K-matched "
    "/ x plain: ratio to the plain layer over the expanded width C*(K+1) / over C, measured in the "
    "same run (convs: the faster of NCHW and channels_last). default: the path the default "
    "dispatch (`auto`) takes. graphs: the whole step replayed from one CUDA graph. peak MB: peak "
    "memory of the step including its inputs. TFLOP/s: the K-matched mix's FLOPs (forward and "
    "both backward products) over the step time. first s: the first step (compilation, "
    "autotuning; for graphs: warm-up and capture). The `vit_*_mlp` rows time the KAN MLP pair "
    "fc1+fc2 as one step against both K-matched linears and timm's Mlp (fc1, GELU, fc2)."
)
MODEL_NOTE = (
    "Training step at batch {batch} on synthetic inputs: bf16 autocast, cross-entropy, backward, "
    "SGD (momentum 0.9) step. kan: the registry's default basis (KAT: rational); standard: "
    "`kan=\"none\"`; matched: `kan=\"none\", match_params=True`. Eager rows: no "
    "model.compile(), KAN layers on the kernel path in Settings (`auto`: the default dispatch). "
    "x matched / x standard: the twin's images/s over the KAN model's, compiled against compiled "
    "(the KAN step's time in twin steps). compiled: `model.compile()`; first s includes the "
    "compilation. peak MB: allocator peak during a step (weights, grads, optimizer state, "
    "activations; CPU: the rise during the step plus those)."
)


def _settings_text(st: dict, cpu: bool, doc: dict) -> str:
    return (
        f"layers {st['reps']} reps after {st['warmup']} warm-up, models {st['model_reps']} after "
        f"{st['model_warmup']} at batch {st['batch']}; compile-path layer rows for "
        f"{', '.join(st['compile_families'])}; eager-path rows at {st['eager_sizes']} sizes; the "
        f"models' KAN layers on kernel path `{st['model_kernel']}`, compiled models with backend "
        f"`{st['compile_backend']}`"
        + ("" if cpu else f"; cudnn.benchmark {'on' if doc['cudnn_benchmark'] else 'off'}")
        + (f"; each part starts no row after {st['time_limit']:.0f} s" if st["time_limit"] else "")
        + "."
    )


def to_markdown(doc: dict) -> str:
    cpu = doc["device"] == "cpu"
    lines = [f"# kanvision GPU benchmark: {doc['device']}", "",
             f"Machine: {doc['machine']}. Command: `{doc['command']}`. torch {doc['torch']}. "
             f"Kernel paths through {doc['kernel_api']}"
             + (f"; KANVISION_KERNEL={doc['kernel_env']}" if doc.get("kernel_env") else "") + "."]
    texts = {}
    for part, info in doc["parts"].items():
        if info.get("settings"):
            texts.setdefault(_settings_text(info["settings"], cpu, doc), []).append(part)
    for text, parts in texts.items():
        label = "" if len(texts) == 1 else f" ({' and '.join(parts)} rows)"
        lines += ["", f"Settings{label}: {text}"]
    if cpu or doc["quick"]:
        what = ("a quick CPU run (`--device cpu --quick`): tiny sizes, 1-2 repetitions, "
                "little compilation" if cpu and doc["quick"] else
                "a quick run: tiny sizes, 1-2 repetitions" if doc["quick"] else "a CPU run")
        lines += ["", (f"**This is {what}. Its numbers only check that every code path runs; "
                       "they are not performance figures, and the target lines below do not "
                       "judge the GPU targets.**")]
    lines += ["", "## Targets", "",
              ("Judged at the realistic sizes (not `small`, no CUDA graphs), on the path the "
               "default dispatch takes (the fastest measured path where that row is missing); "
               "worst case shown."), ""]
    for t in doc["targets"]:
        if t["met"] is None:
            lines.append(f"- {t['target']}: not judged (no rows)")
        else:
            verdict = "met" if t["met"] else f"not met ({t['failing']} of {t['rows']} over)"
            lines.append(f"- {t['target']}: **{verdict}**; worst {t['worst']}x ({t['where']}), "
                         f"{t['rows']} row{'s' * (t['rows'] != 1)}")
    rows = doc["rows"]
    layer_rows = [r for r in rows if r["kind"] == "layer"]
    if layer_rows or "layers" in doc["parts"]:
        size_order = {s: i for i, s in enumerate([*SIZES, *QUICK_SIZES])}
        layer_rows.sort(key=lambda r: (size_order.get(r["size"], 99), r["layer"],
                                       FAMILIES.index(r["basis"]) if r["basis"] in FAMILIES else 99,
                                       r["graphs"], PATHS.index(r["path"])))
        head = ["size", "layer", "basis", "path", "graphs", "default", "K+1", "ms", "x K-matched",
                "x plain", "peak MB", "K-matched peak MB", "TFLOP/s", "K-matched TFLOP/s",
                "first s"]
        lines += ["", "## Layers", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in layer_rows:
            ms = r["ms"] if not r.get("error") or r["ms"] is None else f"{r['ms']} (!)"
            lines.append("| " + " | ".join(_cell(v) for v in (
                r["size"], r["layer"], r["basis"], r["path"], r["graphs"], r.get("default"),
                r.get("k_plus_1"), ms, r["vs_k_matched"], r["vs_plain"], r["peak_mb"],
                r["k_matched_peak_mb"], r.get("tflops"), r.get("k_matched_tflops"),
                r.get("first_s"))) + " |")
        shapes = {}
        for r in layer_rows:
            if r.get("shape"):
                shapes.setdefault(r["size"], []).append(r["shape"])
        if shapes:
            lines += ["", "Sizes: " + "; ".join(f"`{s}` " + " and ".join(dict.fromkeys(v))
                                                for s, v in shapes.items()) + "."]
        lines += ["", LAYER_NOTE]
    model_rows = [r for r in rows if r["kind"] == "model"]
    if model_rows or "models" in doc["parts"]:
        order = {m: i for i, m in enumerate(MODELS)}
        model_rows.sort(key=lambda r: (order.get(r["model"], 99), r["compiled"],
                                       VARIANTS.index(r["variant"])))
        head = ["model", "variant", "compiled", "params", "images/s", "step ms", "x matched",
                "x standard", "peak MB", "first s"]
        lines += ["", "## Models", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in model_rows:
            ips = r["images_per_s"] if not r.get("error") else f"error: {r['error'][:80]}"
            lines.append("| " + " | ".join(_cell(v) for v in (
                r["model"], r["variant"], r["compiled"], r.get("params"), ips, r.get("ms"),
                r.get("vs_matched"), r.get("vs_standard"), r["peak_mb"], r.get("first_s"))) + " |")
        batch = next((r["batch"] for r in model_rows if r.get("batch")), "?")
        lines += ["", MODEL_NOTE.format(batch=batch)]
    errors = [r for r in rows if r.get("error")]
    if errors:
        lines += ["", "## Errors", ""] + [f"- {_where(r)}: {r['error']}" for r in errors]
    if doc["skipped"]:
        reasons: dict[str, list[str]] = {}
        for s in doc["skipped"]:
            reasons.setdefault(s["reason"], []).append(_describe(s))
        lines += ["", "## Skipped", ""]
        for reason, keys in reasons.items():
            shown = ", ".join(keys[:6]) + (f", ... ({len(keys)} in all)" if len(keys) > 6 else "")
            lines.append(f"- {reason}: {shown}")
    return "\n".join(lines) + "\n"


# --- command line ---------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--part", choices=("all", "layers", "models"), default="all")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, 1-2 repetitions, two models (a code-path check)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (%(default)s)")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=None)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=None)
    parser.add_argument("--sizes", nargs="+", default=None, help="size labels (default: all)")
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--compiled-variants", nargs="*", choices=("kan", "matched"), default=None,
                        help="variants also timed after model.compile() (default: kan matched)")
    parser.add_argument("--compile-families", nargs="+", choices=FAMILIES, default=None,
                        help="families with compile-path layer rows (default: all; quick: gram)")
    parser.add_argument("--model-kernel", choices=("auto", *PATHS), default=None,
                        help="kernel path of the models' KAN layers (default: auto; quick: eager)")
    parser.add_argument("--compile-backend", default=None,
                        help="torch.compile backend of the compiled models (default: inductor; "
                             "quick on CPU: aot_eager, which skips code generation)")
    parser.add_argument("--eager-sizes", choices=("small", "all"), default=None,
                        help="where eager-path rows run (default: the small sizes)")
    parser.add_argument("--no-graphs", action="store_true", help="no CUDA-graph rows")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None, help="model batch (256; quick: 8)")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds per part after which no row starts (default 300; 0: none)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device here: use --device cpu (with --quick for a code-path check)")

    sizes_by_label = QUICK_SIZES if args.quick else SIZES
    unknown = set(args.sizes or ()) - set(sizes_by_label)
    if unknown:
        parser.error(f"unknown sizes {sorted(unknown)}; known: {', '.join(sizes_by_label)}")
    sizes = [s for label in (args.sizes or sizes_by_label) for s in sizes_by_label[label]]
    families = args.families or list(FAMILIES)
    paths = args.paths or list(PATHS)
    models = args.models or (QUICK_MODELS if args.quick else MODELS)
    compiled_variants = args.compiled_variants
    if compiled_variants is None:
        # quick: the cheapest compile that still runs the compiled-model code
        compiled_variants = ["matched"] if args.quick else ["kan", "matched"]
    # --quick keeps compilation (seconds per graph on a small CPU) to the least that still runs
    # every code path: one family's compiled expand, one compiled model
    quick_cpu = args.quick and args.device == "cpu"
    compile_families = args.compile_families or (["gram"] if args.quick else list(FAMILIES))
    model_kernel = args.model_kernel or ("eager" if args.quick else "auto")
    backend = args.compile_backend or ("aot_eager" if quick_cpu else "inductor")
    eager_sizes = args.eager_sizes or "small"
    graphs = args.device == "cuda" and not args.no_graphs
    quick_reps = (2, 1)
    reps, warmup = quick_reps if args.quick else (20, 5)
    model_reps, model_warmup = quick_reps if args.quick else (10, 3)
    if args.reps is not None:
        reps = model_reps = args.reps
    if args.warmup is not None:
        warmup = model_warmup = args.warmup

    if args.device == "cpu":
        tune_cpu_allocator()
    else:
        torch.backends.cudnn.benchmark = True
    run = Run(
        device=args.device, quick=args.quick, out=args.out,
        command="python " + shlex.join(sys.argv if argv is None else ["benchmarks/gpu.py", *argv]),
        machine=machine_description(args.device), reps=reps, warmup=warmup,
        model_reps=model_reps, model_warmup=model_warmup,
        batch=args.batch or (8 if args.quick else 256),
        time_limit=300.0 if args.time_limit is None else args.time_limit,
    )
    run.settings = {
        "reps": reps, "warmup": warmup, "model_reps": model_reps, "model_warmup": model_warmup,
        "batch": run.batch, "compile_families": compile_families, "eager_sizes": eager_sizes,
        "model_kernel": model_kernel, "compile_backend": backend, "time_limit": run.time_limit,
        "graphs": graphs,
    }
    gc.freeze()  # the imported modules' objects: later collections (per row) skip them
    running = ["layers", "models"] if args.part == "all" else [args.part]
    run.load_kept(running)
    print(f"{run.machine}; torch {torch.__version__}; kernels: {KERNEL_API}", flush=True)
    for part in running:
        t0 = time.perf_counter()
        run.parts[part] = {"command": run.command, "finished": False, "settings": run.settings}
        run.write()
        if part == "layers":
            run_layers(run, sizes, families, paths, graphs, eager_sizes, compile_families)
        else:
            run_models(run, models, models[:1] if args.quick else models, compiled_variants,
                       0.0 if args.quick else 60.0, model_kernel, backend)
        run.parts[part].update({"finished": True, "seconds": round(time.perf_counter() - t0, 1)})
        run.write()
        print(f"{part}: {run.parts[part]['seconds']} s", flush=True)
    print(f"wrote {run.stem}.md and .json", flush=True)
    print(run.stem.with_suffix(".md").read_text(), flush=True)


if __name__ == "__main__":
    main()
