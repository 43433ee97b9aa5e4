"""KAN layers against a direct per-edge reference, plus gradcheck, autocast and torch.compile."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from helpers import cox_de_boor

from kanvision.layers import KANConv1d, KANConv2d, KANConv3d, KANLinear, create_basis, list_bases
from kanvision.layers.bspline import BSplineBasis

torch.set_default_dtype(torch.float32)


def reference_basis(layer, x: torch.Tensor) -> torch.Tensor:
    """B_j(x_i) per channel from the Cox-de Boor recursion on the layer's knots: (..., C, K)."""
    knots = layer.basis.knots.to(x.dtype)
    flat = x.reshape(-1, x.shape[-1])
    cols = [cox_de_boor(flat[:, i], knots[i], layer.basis.spline_order) for i in range(x.shape[-1])]
    return torch.stack(cols, dim=1).reshape(*x.shape, -1)


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
def test_bspline_basis_equals_cox_de_boor(order):
    basis = BSplineBasis(3, grid_size=4, spline_order=order, grid_range=(-1.5, 2.0)).double()
    x = torch.linspace(-4, 4, 801, dtype=torch.float64)[:, None].expand(-1, 3)
    knots = basis.knots.double()
    # degree 0 jumps at knots (and the recursion leaves the last knot at 0): compare off-knot
    off_knot = ((x[:, :1] - knots[0]).abs() > 1e-9).all(dim=1)
    x = x[off_knot]
    expected = torch.stack([cox_de_boor(x[:, i], knots[i], order) for i in range(3)], dim=1)
    torch.testing.assert_close(basis(x), expected, atol=1e-10, rtol=0)


def test_bspline_partition_of_unity_inside_grid():
    basis = BSplineBasis(2, grid_size=5, spline_order=3)
    x = torch.rand(1000, 2) * 2 - 1
    torch.testing.assert_close(basis(x).sum(-1), torch.ones(1000, 2), atol=1e-5, rtol=0)


def test_kan_linear_equals_per_edge_reference():
    torch.manual_seed(0)
    layer = KANLinear(5, 3, grid_size=4, spline_order=3).double()
    x = torch.randn(2, 4, 5, dtype=torch.float64) * 1.5  # includes points outside the grid
    b = reference_basis(layer, x)
    w, c = layer.base_weight, layer.spline_weight
    expected = torch.zeros(2, 4, 3, dtype=torch.float64)
    for o in range(3):
        for i in range(5):
            expected[..., o] += w[o, i] * F.silu(x[..., i]) + (c[o, i] * b[..., i, :]).sum(-1)
        expected[..., o] += layer.mix.bias[o]
    torch.testing.assert_close(layer(x), expected, atol=1e-10, rtol=0)


@pytest.mark.parametrize(
    "stride,padding,dilation,groups", [(1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 2), (2, 1, 2, 2)]
)
def test_kan_conv2d_equals_per_edge_reference(stride, padding, dilation, groups):
    torch.manual_seed(0)
    cin, cout, k = 4, 6, 3
    layer = KANConv2d(
        cin, cout, k, stride=stride, padding=padding, dilation=dilation, groups=groups,
        grid_size=3, spline_order=2,
    ).double()
    x = torch.randn(2, cin, 7, 8, dtype=torch.float64)
    y = layer(x)
    b = reference_basis(layer, x.permute(0, 2, 3, 1))  # (N, H, W, C, K)
    w, c = layer.base_weight, layer.spline_weight  # (out, cin/g, k, k), (out, cin/g, K, k, k)
    per_group_in, per_group_out = cin // groups, cout // groups
    n, _, h, wd = x.shape
    expected = torch.zeros_like(y)
    for o in range(cout):
        g = o // per_group_out
        for oy in range(y.shape[2]):
            for ox in range(y.shape[3]):
                total = layer.mix.bias[o].expand(n).clone()
                for ii in range(per_group_in):
                    i = g * per_group_in + ii
                    for ky in range(k):
                        for kx in range(k):
                            py = oy * stride - padding + ky * dilation
                            px = ox * stride - padding + kx * dilation
                            if not (0 <= py < h and 0 <= px < wd):
                                continue  # a padded tap contributes nothing
                            xi = x[:, i, py, px]
                            total += w[o, ii, ky, kx] * F.silu(xi)
                            total += (c[o, ii, :, ky, kx] * b[:, py, px, i, :]).sum(-1)
                expected[:, o, oy, ox] = total
    torch.testing.assert_close(y, expected, atol=1e-10, rtol=0)


def test_outside_grid_only_base_branch_acts():
    layer = KANLinear(3, 2, bias=False).double()
    x = torch.tensor([[1e4, -1e4, 50.0]], dtype=torch.float64)
    expected = F.silu(x) @ layer.base_weight.T
    torch.testing.assert_close(layer(x), expected, atol=1e-9, rtol=1e-12)
    x.requires_grad_(True)
    layer(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_gradcheck_linear_and_conv():
    torch.manual_seed(0)
    lin = KANLinear(3, 2, grid_size=3).double()
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lin, (x,))
    conv = KANConv2d(2, 2, 3, padding=1, grid_size=3).double()
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (x,))


@pytest.mark.parametrize("make", [lambda: KANLinear(8, 4), lambda: KANConv2d(4, 4, 3, padding=1)])
def test_bfloat16_autocast_forward_is_finite(make):
    layer = make()
    shape = (16, 8) if isinstance(layer, KANLinear) else (2, 4, 8, 8)
    x = torch.randn(*shape) * 3
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
    assert y.dtype == torch.bfloat16
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y.float(), layer(x), atol=0.1, rtol=0.05)


@pytest.mark.parametrize("basis", ["gram", "bspline"])
@pytest.mark.parametrize("x_dtype", [torch.float32, torch.bfloat16])
def test_the_expand_under_autocast_is_the_float32_expand_rounded_once(basis, x_dtype):
    """z comes out in the autocast dtype, equal to the float32 expand rounded to it (the casts
    are part of the compiled kernel), and grad_x comes back in x's dtype from a bf16 grad_z."""
    from kanvision.layers.fused import expand_values, run_expand, run_expand_vjp

    torch.manual_seed(0)
    layer = KANConv2d(4, 4, 3, padding=1, basis=basis)
    x = (torch.randn(2, 8, 8, 4) * 2).to(x_dtype)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = run_expand(x, layer)
    reference = expand_values(x.float(), layer.basis, layer.base_activation, layer.groups)
    assert z.dtype == torch.bfloat16
    torch.testing.assert_close(z, reference.to(torch.bfloat16), atol=0, rtol=0)
    assert run_expand(x, layer).dtype == x_dtype  # no autocast: x's own dtype
    grad_x = run_expand_vjp(x, torch.ones_like(z), layer)
    assert grad_x.dtype == x_dtype and torch.isfinite(grad_x.float()).all()


def test_torch_compile_matches_eager():
    torch.manual_seed(0)
    layer = KANLinear(6, 4)
    x = torch.randn(8, 6)
    compiled = torch.compile(layer)
    torch.testing.assert_close(compiled(x), layer(x), atol=1e-5, rtol=1e-5)


def test_kan_linear_is_drop_in_for_linear():
    layer = KANLinear(7, 5)
    assert layer(torch.randn(2, 3, 4, 7)).shape == (2, 3, 4, 5)
    assert layer.mix.in_features == 7 * (5 + 3 + 1)  # one matmul over in * (G + k + 1)


def test_conv_output_shape_matches_nn_conv():
    kwargs = {"stride": 2, "padding": 1, "dilation": 1, "groups": 2}
    x = torch.randn(2, 4, 15, 13)
    assert KANConv2d(4, 6, 3, **kwargs)(x).shape == torch.nn.Conv2d(4, 6, 3, **kwargs)(x).shape


def test_unknown_basis_is_one_line_error():
    with pytest.raises(KeyError, match="unknown basis 'bsplin'.*did you mean 'bspline'"):
        create_basis("bsplin", 3)
    assert "bspline" in list_bases()


FUSED_CASES = {
    "linear": (lambda **kw: KANLinear(6, 5, **kw), (3, 4, 6)),
    "conv1d": (lambda **kw: KANConv1d(4, 6, 3, stride=2, padding=1, groups=2, **kw), (2, 4, 9)),
    "conv2d": (lambda **kw: KANConv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, **kw), (2, 4, 9, 8)),
    "conv3d": (lambda **kw: KANConv3d(2, 3, 2, stride=(1, 2, 1), padding=1, **kw), (1, 2, 5, 4, 3)),
}


@pytest.mark.parametrize("case", FUSED_CASES)
def test_fused_step_matches_plain_autograd(case):
    make, shape = FUSED_CASES[case]
    torch.manual_seed(0)
    fused = make(fused=True).double()
    plain = make(fused=False).double()
    plain.load_state_dict(fused.state_dict())
    grads = []
    for layer in (fused, plain):
        x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
        with torch.random.fork_rng():
            torch.manual_seed(1)
            x.data = torch.randn(*shape, dtype=torch.float64) * 2
        out = layer(x)
        out.backward(torch.ones_like(out) * torch.linspace(-1, 1, out.numel(), dtype=torch.float64).view_as(out))
        grads.append([out.detach(), x.grad, *(p.grad for p in layer.parameters())])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_fused_gradcheck_strided_grouped_conv():
    torch.manual_seed(0)
    conv = KANConv2d(4, 2, 3, stride=2, padding=1, dilation=2, groups=2, grid_size=3).double()
    x = torch.randn(1, 4, 6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (x,))


def test_compiled_expand_matches_eager():
    """The default training path compiles the expand (forward and the vjp in backward)."""
    from kanvision.layers import set_compile

    torch.manual_seed(0)
    results = []
    for compiled in (True, False):
        set_compile(compiled)
        try:
            torch.manual_seed(0)
            conv = KANConv2d(3, 4, 3, stride=2, padding=1)
            x = (torch.randn(2, 3, 9, 9) * 2).requires_grad_()
            y = conv(x)
            y.square().sum().backward()
            results.append([y.detach(), x.grad, conv.mix.weight.grad])
        finally:
            set_compile(None)
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("basis", list_bases())
@pytest.mark.parametrize("case", ["linear", "conv2d"])
def test_keeping_z_for_backward_gives_the_same_step_with_one_expand_fewer(case, basis, monkeypatch):
    """``set_recompute_expand(model, False)`` saves z in the forward instead of recomputing it in
    backward: outputs and every gradient are bit-identical, and backward runs no expand (bases
    with trainable parameters keep recomputing: their gradients need autograd through it)."""
    from kanvision.kernels.dispatch import kernel_path
    from kanvision.layers import fused as fused_module
    from kanvision.layers import set_recompute_expand

    make, shape = FUSED_CASES[case]
    calls = []
    real_run_expand = fused_module.run_expand
    monkeypatch.setattr(fused_module, "run_expand", lambda x, layer: calls.append(1) or real_run_expand(x, layer))
    torch.manual_seed(0)
    layer = make(basis=basis)
    x = torch.randn(*shape)
    results = []
    for recompute in (True, False):
        assert set_recompute_expand(layer, recompute) == 1
        layer.zero_grad(set_to_none=True)
        x_in = x.clone().requires_grad_(True)
        calls.clear()
        out = layer(x_in)
        out.backward(torch.linspace(-1, 1, out.numel()).view_as(out))
        results.append((len(calls), [out.detach(), x_in.grad, *(p.grad for p in layer.parameters())]))
    (recomputed_calls, recomputed), (kept_calls, kept) = results
    trainable_basis = any(p.requires_grad for p in layer.basis.parameters())
    if kernel_path(layer, x) == "triton":  # the fused Triton kernel never writes z
        assert (recomputed_calls, kept_calls) == (0, 0)
    else:
        assert (recomputed_calls, kept_calls) == ((2, 2) if trainable_basis else (2, 1))
    for a, b in zip(recomputed, kept):
        assert torch.equal(a, b)
