"""Benchmark every basis family's KANLinear and KANConv2d against plain layers.

    python benchmarks/layers.py            # CPU float32 rows (+ CUDA bfloat16 rows on a GPU)
    python benchmarks/layers.py --quick    # fewer repetitions

For each family: forward+backward of KANLinear(256->256, batch 1024) and KANConv2d(32->32, 3x3,
padding 1, input 64x32x32x32), with G=5, k=3 where the family has them. Reported per row: median
ms of a training step (forward, backward, grads zeroed), the ratio to the K-matched plain layer
(``nn.Linear(256*(K+1), 256)`` / ``nn.Conv2d(32*(K+1), 32, 3)``, measured in the same run, in its
faster memory format, with an input that requires grad as it would inside a network), the ratio
to the plain ``nn.Linear(256, 256)`` / ``nn.Conv2d(32, 32, 3)``, and the peak memory of the step
(inputs included). The default configuration compiles the expand step (one-time cost reported
separately); an ``eager`` row shows the fallback without a compiler.
Writes ``benchmarks/results/layers-<device>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch
from _timing import clear_grads, family_options, fastest, make_step, peak_memory_mb, time_step
from torch import nn

from kanvision.layers import KANConv2d, KANLinear, list_bases
from kanvision.layers.fused import compile_enabled, set_compile
from kanvision.runtime import tune_cpu_allocator
from kanvision.training.export import machine_description

OUT = Path(__file__).parent / "results"


def measure(name: str, module: nn.Module, shape: tuple[int, ...], dtype, device, reps, warmup,
            channels_last: bool = False) -> dict:
    module = module.to(device)
    x = torch.randn(*shape, device=device, requires_grad=True)
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
        x = x.detach().to(memory_format=torch.channels_last).requires_grad_()
    step = make_step(module, x, dtype, device)
    first, median = time_step(step, device, reps, warmup)
    mem = peak_memory_mb(step, device, x.numel() * x.element_size(), lambda: clear_grads(module, x))
    return {"name": name, "first_s": first, "ms": median, "peak_mb": mem}


def run(device: str, dtype: torch.dtype, reps: int, warmup: int, families: list[str]) -> list[dict]:
    torch.manual_seed(0)
    rows = []
    for kind in ("linear", "conv2d"):
        plain = (
            measure("nn.Linear(256,256)", nn.Linear(256, 256), (1024, 256), dtype, device, reps, warmup)
            if kind == "linear"
            else fastest(*(measure(f"nn.Conv2d(32,32,3){' cl' if cl else ''}", nn.Conv2d(32, 32, 3, padding=1),
                                   (64, 32, 32, 32), dtype, device, reps, warmup, cl) for cl in (False, True)))
        )
        matched_cache: dict[int, dict] = {}
        for basis in families:
            opts = family_options(basis)
            variants = [("compiled", True), ("eager", False)] if basis == "bspline" else [("default", None)]
            for label, compiled in variants:
                set_compile(compiled)
                if kind == "linear":
                    layer = KANLinear(256, 256, basis=basis, **opts)
                    shape = (1024, 256)
                else:
                    layer = KANConv2d(32, 32, 3, padding=1, basis=basis, **opts)
                    shape = (64, 32, 32, 32)
                width = layer.expanded_per_input
                if width not in matched_cache:
                    if kind == "linear":
                        matched_cache[width] = measure(f"nn.Linear({256 * width},256)", nn.Linear(256 * width, 256),
                                                       (1024, 256 * width), dtype, device, reps, warmup)
                    else:
                        matched_cache[width] = fastest(*(
                            measure(f"nn.Conv2d({32 * width},32,3){' cl' if cl else ''}",
                                    nn.Conv2d(32 * width, 32, 3, padding=1), (64, 32 * width, 32, 32),
                                    dtype, device, reps, warmup, cl) for cl in (False, True)))
                matched = matched_cache[width]
                row = measure(f"{kind}:{basis}", layer, shape, dtype, device, reps, warmup)
                steady_first = row["first_s"] - row["ms"] / 1000
                rows.append({
                    "device": device, "dtype": str(dtype).removeprefix("torch."), "layer": kind,
                    "basis": basis, "mode": label if label != "default" else
                    ("compiled" if compile_enabled(device) else "eager"),
                    "K+1": width, "ms": round(row["ms"], 2),
                    "vs_k_matched": round(row["ms"] / matched["ms"], 2),
                    "vs_plain": round(row["ms"] / plain["ms"], 2),
                    "peak_mb": round(row["peak_mb"], 1),
                    "k_matched_peak_mb": round(matched["peak_mb"], 1),
                    "k_matched": matched["name"], "k_matched_ms": round(matched["ms"], 2),
                    "plain": plain["name"], "plain_ms": round(plain["ms"], 2),
                    "first_call_extra_s": round(max(steady_first, 0.0), 2),
                })
                print(" | ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
            set_compile(None)
    return rows


def to_markdown(rows: list[dict], machine: str, command: str) -> str:
    head = ["layer", "basis", "mode", "dtype", "K+1", "ms", "x K-matched", "x plain", "peak MB",
            "K-matched peak MB", "first-call extra s"]
    lines = [f"Machine: {machine}. Command: `{command}`. torch {torch.__version__}.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(str(v) for v in (
            r["layer"], r["basis"], r["mode"], r["dtype"], r["K+1"], r["ms"], r["vs_k_matched"],
            r["vs_plain"], r["peak_mb"], r["k_matched_peak_mb"], r["first_call_extra_s"])) + " |")
    lines += ["", ("ms: median forward+backward step. x K-matched / x plain: ratio of medians measured in "
                   "the same run. peak MB: peak memory of the step including its input. first-call extra "
                   "s: one-time cost of the first step (compilation) over a steady step.")]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 10")
    parser.add_argument("--families", nargs="*", default=None, help="basis families (default: all)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc malloc's thresholds alone (see kanvision/runtime.py)")
    args = parser.parse_args()
    tuned = False if args.default_malloc else tune_cpu_allocator()
    reps, warmup = (3, 1) if args.quick else (10, 2)
    families = args.families or list_bases()
    command = "python benchmarks/layers.py" + (" --quick" if args.quick else "") + (
        f" --families {' '.join(args.families)}" if args.families else "") + (
        " --default-malloc" if args.default_malloc else "")
    targets = [("cpu", torch.float32)]
    if torch.cuda.is_available():
        targets.append(("cuda", torch.bfloat16))
    OUT.mkdir(parents=True, exist_ok=True)
    suffix = "-default-malloc" if args.default_malloc else ""
    for device, dtype in targets:
        rows = run(device, dtype, reps, warmup, families)
        machine = machine_description(device) + (
            ", glibc malloc thresholds raised (kanvision.runtime)" if tuned and device == "cpu" else "")
        (OUT / f"layers-{device}{suffix}.json").write_text(json.dumps(
            {"machine": machine, "command": command, "torch": torch.__version__,
             "python": platform.python_version(), "rows": rows}, indent=2) + "\n")
        (OUT / f"layers-{device}{suffix}.md").write_text(to_markdown(rows, machine, command))
        print(to_markdown(rows, machine, command))


if __name__ == "__main__":
    main()
