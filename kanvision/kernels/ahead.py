"""Compile the fused KAN kernels for a GPU architecture without a GPU, and report what they use.

    python -m kanvision.kernels.ahead                 # every zoo family, largest tile, sm_90
    python -m kanvision.kernels.ahead --all-tiles --dtype bf16 fp16 fp32 --grid-size 10

Triton's compiler runs on any machine (it ships ``ptxas``), so this checks that every kernel
builds for an H100/H200 (``--arch 90``) and fits its shared memory, before a GPU is at hand.
It needs the real compiler, not the interpreter: it refuses to run with ``TRITON_INTERPRET=1``.
Prints one line per kernel build and exits 1 if any fails or overflows.
"""

from __future__ import annotations

import argparse
import sys

import torch

from kanvision.kernels.dispatch import interpreting
from kanvision.kernels.spec import KINDS, KernelBasis

SHARED_LIMIT = {90: 228 * 1024, 80: 164 * 1024, 89: 100 * 1024, 100: 228 * 1024}
ZOO_FAMILIES = ("bspline", "rbf", "gram", "legendre", "chebyshev")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
_POINTERS = {  # per kernel: which pointers hold the dot dtype (the rest are float32)
    "forward": ("w_ptr", "y_ptr"),
    "weight_grad": ("dy_ptr",),
    "input_grad": ("dy_ptr", "w_ptr"),
}
_TYPE_NAMES = {torch.float16: "fp16", torch.bfloat16: "bf16", torch.float32: "fp32"}


def compile_ahead(kernel: str, spec: KernelBasis, has_base: bool, dot_dtype: torch.dtype, config, arch: int = 90):
    """Compile one kernel (``forward``, ``weight_grad`` or ``input_grad``) with one tile
    config for ``cuda:<arch>``; returns Triton's compiled kernel (``.metadata.shared`` bytes,
    ``.asm["ptx"]``)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from kanvision.kernels import triton_linear as tk

    fn = {"forward": tk._forward_kernel, "weight_grad": tk._weight_grad_kernel, "input_grad": tk._input_grad_kernel}[kernel]
    constexprs = dict(
        KIND=KINDS.index(spec.kind), HAS_BASE=int(has_base), NUM_BASIS=spec.num_functions, FIRST=spec.first,
        HAS_BIAS=True, COMPUTE=tk._TL_DTYPES[torch.float32], DOT=tk._TL_DTYPES[dot_dtype],
        EMULATE=False, IEEE=dot_dtype == torch.float32, **config.kwargs,
    )
    signature = {}
    for name in fn.arg_names:
        if name in constexprs:
            signature[name] = "constexpr"
        elif name.endswith("_ptr"):
            signature[name] = "*" + (_TYPE_NAMES[dot_dtype] if name in _POINTERS[kernel] else "fp32")
        elif name in ("shift", "u_min", "u_max"):
            signature[name] = "fp32"
        else:
            signature[name] = "i32"
    constants = {(fn.arg_names.index(k),): v for k, v in constexprs.items() if k in fn.arg_names}
    source = ASTSource(fn=fn, signature=signature, constexprs=constants)
    options = {"num_warps": config.num_warps, "num_stages": config.num_stages}
    return triton.compile(source, target=GPUTarget("cuda", arch, 32), options=options)


def main(argv: list[str] | None = None) -> int:
    from kanvision.errors import KanvisionError
    from kanvision.layers import create_basis

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", type=int, default=90, help="compute capability x10 (90: H100/H200)")
    parser.add_argument("--families", nargs="+", default=list(ZOO_FAMILIES))
    parser.add_argument("--dtype", nargs="+", default=["bf16"], choices=sorted(DTYPES))
    parser.add_argument("--grid-size", type=int, default=None, help="basis grid size (functions a channel)")
    parser.add_argument("--all-tiles", action="store_true", help="every autotuned tile, not only the largest")
    args = parser.parse_args(argv)
    if interpreting():
        raise KanvisionError("kanvision.kernels.ahead needs Triton's compiler: unset TRITON_INTERPRET")
    from kanvision.kernels.triton_linear import tile_configs

    configs = tile_configs(interpreter=False)
    if not args.all_tiles:
        configs = [max(configs, key=lambda c: c.num_stages * c.num_warps * sum(c.kwargs.values()))]
    limit = SHARED_LIMIT.get(args.arch, 100 * 1024)
    failures = 0
    for family in args.families:
        options = {} if args.grid_size is None or family in ("gram", "legendre", "chebyshev") else {"grid_size": args.grid_size}
        spec = create_basis(family, 8, **options).kernel_spec()
        for dtype in args.dtype:
            for config in configs:
                for kernel in _POINTERS:
                    tile = "x".join(str(v) for v in config.kwargs.values())
                    label = f"{family:10s} {dtype} {kernel:12s} tile {tile} w{config.num_warps} s{config.num_stages}"
                    try:
                        shared = compile_ahead(kernel, spec, True, DTYPES[dtype], config, args.arch).metadata.shared
                    except Exception as e:  # noqa: BLE001  (report every build, then fail)
                        failures += 1
                        print(f"{label}: FAILED {type(e).__name__}: {str(e).splitlines()[0][:200]}", flush=True)
                        continue
                    ok = shared <= limit
                    failures += not ok
                    print(f"{label}: shared {shared / 1024:.0f} KB{'' if ok else f' > {limit // 1024} KB'}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    from kanvision.runtime import run_cli

    run_cli(lambda argv: sys.exit(main(argv)))
