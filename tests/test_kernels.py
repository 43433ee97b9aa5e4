"""The fused Triton kernels against the reference path, on the CPU through Triton's interpreter.

Every case runs the layer twice, through the Triton kernels (``use_kernel("triton")``) and
through the unfused eager reference (autograd through the expand and the mix), and compares the
output and the input, weight and bias gradients. Families are taken from the basis registry: every
family whose ``kernel_spec`` is not None is tested, so a new closed-form family needs no new test.

Without a GPU, ``conftest.py`` sets ``TRITON_INTERPRET=1`` before anything imports Triton.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kanvision.kernels import KernelSettingError, kernel_path, triton_covers, use_kernel
from kanvision.layers import KANConv2d, KANLinear, create_basis, list_bases

triton = pytest.importorskip("triton")

ROOT = Path(__file__).resolve().parents[1]
KERNEL_FAMILIES = [b for b in list_bases() if create_basis(b, 4).kernel_spec() is not None]
ZOO_FAMILIES = {"bspline", "rbf", "gram", "legendre", "chebyshev"}
# every kernel family with its defaults, and each polynomial family without its constant p_0
KERNEL_CASES = [pytest.param(b, {}, id=b) for b in KERNEL_FAMILIES] + [
    pytest.param(b, {"constant": False}, id=f"{b}-constant=False")
    for b in KERNEL_FAMILIES
    if create_basis(b, 4).kernel_spec().kind == "tanh_recurrence"
]

LAYERS = {
    # more rows, channels and outputs than one interpreter tile (64 x 32 x 32): every loop and
    # mask runs
    "linear": (lambda basis, **kw: KANLinear(40, 36, basis=basis, **kw), (3, 23, 40)),
    "conv1x1_groups2": (lambda basis, **kw: KANConv2d(8, 6, 1, groups=2, basis=basis, **kw), (2, 8, 5, 3)),
}
# (dtype of the layer and input, autocast dtype or None, atol as a fraction of each tensor's max)
PRECISIONS = {
    "float64": (torch.float64, None, 1e-10),
    "float32": (torch.float32, None, 2e-5),
    "bfloat16_autocast": (torch.float32, torch.bfloat16, 4e-2),
}


def test_kernel_families_cover_the_zoo():
    assert ZOO_FAMILIES <= set(KERNEL_FAMILIES)
    assert create_basis("bspline", 4, spline_order=2).kernel_spec() is None  # cubic only
    assert create_basis("rational", 4).kernel_spec() is None  # learnable: compiled expand


def run_step(layer, x, path: str, autocast):
    layer.zero_grad()
    x = x.clone().requires_grad_()
    with use_kernel(path), torch.autocast("cpu", dtype=autocast or torch.bfloat16, enabled=autocast is not None):
        y = layer(x)
    weights = torch.linspace(-1, 1, y.numel(), dtype=torch.float64).view_as(y)
    (y.double() * weights).sum().backward()
    return [y.detach().double(), x.grad, layer.mix.weight.grad.clone(), layer.mix.bias.grad.clone()]


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("basis,options", KERNEL_CASES)
def test_triton_step_matches_reference(basis, options, kind, precision):
    make, shape = LAYERS[kind]
    dtype, autocast, tol = PRECISIONS[precision]
    torch.manual_seed(0)
    fused = make(basis, **options).to(dtype)
    reference = make(basis, fused=False, **options).to(dtype)
    x = torch.randn(*shape, dtype=dtype) * 1.5  # reaches beyond every grid
    if hasattr(fused.basis, "with_range"):  # a per-channel grid, fitted to data as in training
        channels_last = x.movedim(1, -1) if kind != "linear" else x
        fused.update_grid(channels_last * torch.linspace(0.5, 1.0, shape[-1 if kind == "linear" else 1]))
        fused.to(dtype)
    reference.load_state_dict(fused.state_dict())
    channels_last = x if kind == "linear" else x.movedim(1, -1)
    with use_kernel("triton"):
        assert kernel_path(fused, channels_last) == "triton"
    got = run_step(fused, x, "triton", autocast)
    expected = run_step(reference, x, "eager", autocast)
    for name, a, b in zip(("output", "input grad", "weight grad", "bias grad"), got, expected):
        scale = b.abs().max().item()
        torch.testing.assert_close(a.double(), b.double(), atol=tol * scale, rtol=0, msg=name)


def test_triton_inference_without_grad_matches():
    torch.manual_seed(0)
    layer = KANLinear(24, 40, basis="gram")
    x = torch.randn(33, 24)
    with torch.no_grad():
        with use_kernel("triton"):
            got = layer(x)
        with use_kernel("eager"):
            expected = layer(x)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: KANConv2d(4, 4, 3, padding=1),  # spatial conv: cuDNN / MKL over z
        lambda: KANLinear(4, 4, basis="rational"),  # learnable basis
        lambda: KANLinear(4, 4, spline_order=2),  # no closed form in the kernel
        lambda: KANLinear(4, 4, fused=False),  # the unfused reference stays unfused
        lambda: KANLinear(4, 4, base_activation=torch.nn.GELU),  # the kernel's base is SiLU
    ],
)
def test_uncovered_layers_keep_the_expand_path(make):
    layer = make()
    assert not triton_covers(layer)
    x = torch.randn(2, 4, 5, 5).movedim(1, -1) if isinstance(layer, KANConv2d) else torch.randn(3, 4)
    with use_kernel("triton"):
        assert kernel_path(layer, x) in ("compile", "eager")


def test_auto_never_takes_triton_on_the_cpu():
    layer = KANLinear(4, 4)
    with use_kernel("auto"):
        assert kernel_path(layer, torch.randn(2, 4)) != "triton"
    with use_kernel("eager"):
        assert kernel_path(layer, torch.randn(2, 4)) == "eager"


def test_bad_kernel_settings_are_one_line_errors(monkeypatch):
    layer = KANLinear(4, 4)
    monkeypatch.setenv("KANVISION_KERNEL", "cuda")
    with pytest.raises(KernelSettingError, match="KANVISION_KERNEL='cuda' is not a kernel path: use one of auto"):
        layer(torch.randn(2, 4))
    monkeypatch.setenv("KANVISION_KERNEL", "triton")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(KernelSettingError, match="needs Triton's interpreter: set TRITON_INTERPRET=1"):
        layer(torch.randn(2, 4))


def run_ahead(*args: str) -> subprocess.CompletedProcess:
    """``python -m kanvision.kernels.ahead`` with Triton's real compiler (not the interpreter)."""
    env = {**os.environ, "TRITON_INTERPRET": "0"}
    return subprocess.run(
        [sys.executable, "-m", "kanvision.kernels.ahead", *args],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )


def test_kernels_compile_for_hopper_without_a_gpu():
    """Every kernel of every zoo family builds for an H100/H200 (sm_90) with the largest tile it
    autotunes over and fits the chip's shared memory, checked with Triton's compiler offline."""
    result = run_ahead("--arch", "90")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 3 * len(ZOO_FAMILIES) and all("shared" in line for line in lines), lines


@pytest.mark.slow
def test_every_tile_config_compiles_for_hopper():
    """Every tile the autotuner may pick fits, in bf16 products (the autocast training path), for
    the zoo's largest default basis (B-spline, 9 functions a channel) and a polynomial one (42
    builds, a few minutes on a 2-core CPU). With float32 products and many functions some tiles
    do not fit; the autotuner skips a tile that is out of resources at launch, and
    ``python -m kanvision.kernels.ahead --all-tiles --dtype fp32 --grid-size 10`` lists them."""
    result = run_ahead("--all-tiles", "--dtype", "bf16", "--families", "bspline", "gram")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_layer_tests_pass_through_the_triton_kernels():
    """The layer and KAN-MLP tests give the same results with the kernels forced on (about
    4 minutes on a 2-core CPU: 40 training steps of a KAN ViT through the interpreter)."""
    env = {**os.environ, "KANVISION_KERNEL": "triton", "TRITON_INTERPRET": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         "tests/test_layers.py", "tests/test_kan_mlp.py"],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_auto_falls_back_once_when_the_kernels_fail(monkeypatch):
    """Under ``auto`` a kernel that fails to build is reported once and the layer still runs
    (through the compiled expand); a forced ``triton`` raises the error instead."""
    from kanvision.kernels import dispatch

    layer = KANLinear(4, 3)
    x = torch.randn(5, 4)
    expected = layer(x)

    def broken(self, x):
        raise RuntimeError("out of resources: shared memory")

    monkeypatch.setattr(type(layer), "triton_forward", broken)
    monkeypatch.setattr(dispatch, "_triton_failure", None)
    monkeypatch.setattr(dispatch, "_triton_runs_on", lambda x: True)
    with use_kernel("triton"), pytest.raises(RuntimeError, match="out of resources"):
        layer(x)
    monkeypatch.setattr(dispatch, "_auto_prefers_triton", lambda x: True)  # as on CUDA
    with use_kernel("auto"):
        assert kernel_path(layer, x) == "triton"
        with pytest.warns(UserWarning, match="fused Triton kernels failed"):
            got = layer(x)
        assert kernel_path(layer, x) != "triton"  # once failed, not tried again
    torch.testing.assert_close(got, expected)
    assert dispatch._triton_failure.startswith("RuntimeError: out of resources")


@pytest.mark.parametrize("basis", KERNEL_FAMILIES)
def test_triton_outputs_and_grads_stay_finite_at_extreme_inputs(basis):
    """As the PyTorch bases: finite output and gradients for any finite input (far outside every
    grid, at 0, and where tanh and the sigmoid saturate)."""
    torch.manual_seed(0)
    layer = KANLinear(6, 5, basis=basis)
    x = torch.tensor([[0.0, 1e4, -1e4, 1e30, -1e30, 1e-30]] * 3).requires_grad_()
    with use_kernel("triton"), _quiet_overflow():
        y = layer(x)
        y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
    assert torch.isfinite(layer.mix.weight.grad).all()


def _quiet_overflow():
    """numpy (the interpreter) warns when exp overflows to inf, which the kernels rely on."""
    import numpy as np

    return np.errstate(over="ignore")
