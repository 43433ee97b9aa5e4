"""Every basis family: values against plain reference formulas, the KAN layers built on it against
a direct per-edge sum, finiteness under autocast and extreme inputs, and option errors.

Generic tests run over ``list_bases()``, so a new family is covered by adding its file (and, for
the value test, a reference formula in ``REFERENCES``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import kanvision
from kanvision.layers import KANConv2d, KANLinear, create_basis, list_bases

torch.set_default_dtype(torch.float32)

BASES = list_bases()  # rational's values are checked against its formula in test_rational.py
NEW_BASES = ["rbf", "chebyshev", "legendre", "gram", "fourier", "wavelet"]


@pytest.fixture(autouse=True)
def _eager_expand(monkeypatch):
    """Run the expand eagerly: compiling it once per family and dtype would take most of the time
    of this file, and these tests check the formulas, not the compiler."""
    monkeypatch.setenv("KANVISION_COMPILE", "0")


# ---- plain reference formulas, float64, one function at a time: (...,) -> (..., K) ----------


def ref_rbf(x, grid_size=8, grid_range=(-2.0, 2.0)):
    lo, hi = grid_range
    h = (hi - lo) / (grid_size - 1)
    return torch.stack([torch.exp(-(((x - (lo + j * h)) / h) ** 2)) for j in range(grid_size)], -1)


def ref_chebyshev(x, degree=4, constant=True):
    theta = torch.acos(torch.tanh(x))  # T_n(cos theta) = cos(n theta)
    return torch.stack([torch.cos(n * theta) for n in range(1 - constant, degree + 1)], -1)


def legendre_explicit(t, n):
    """P_n(t) = 2^-n sum_k C(n, k)^2 (t - 1)^(n - k) (t + 1)^k (no recurrence)."""
    return (
        sum(math.comb(n, k) ** 2 * (t - 1) ** (n - k) * (t + 1) ** k for k in range(n + 1)) / 2**n
    )


def ref_legendre(x, degree=3, constant=True):
    t = torch.tanh(x)
    return torch.stack(
        [legendre_explicit(t, n) * torch.ones_like(t) for n in range(1 - constant, degree + 1)], -1
    )


def ref_gram(x, degree=3, constant=True):
    # monic Legendre: P_n divided by its leading coefficient (2n)! / (2^n n!^2)
    t = torch.tanh(x)
    cols = []
    for n in range(1 - constant, degree + 1):
        lead = math.factorial(2 * n) / (2**n * math.factorial(n) ** 2)
        cols.append(legendre_explicit(t, n) / lead * torch.ones_like(t))
    return torch.stack(cols, -1)


def ref_fourier(x, grid_size=4):
    cos = [torch.cos(k * x) for k in range(1, grid_size + 1)]
    sin = [torch.sin(k * x) for k in range(1, grid_size + 1)]
    return torch.stack(cos + sin, -1)


def ref_wavelet(x, grid_size=5, grid_range=(-2.0, 2.0)):
    lo, hi = grid_range
    s = (hi - lo) / (grid_size - 1)
    cols = []
    for j in range(grid_size):
        t = (x - (lo + j * s)) / s
        cols.append((1 - t**2) * torch.exp(-(t**2) / 2))
    return torch.stack(cols, -1)


REFERENCES = {
    "rbf": ref_rbf,
    "chebyshev": ref_chebyshev,
    "legendre": ref_legendre,
    "gram": ref_gram,
    "fourier": ref_fourier,
    "wavelet": ref_wavelet,
}

# (family, options, K): defaults first, then non-default options
CASES = [
    ("rbf", {}, 8),
    ("rbf", {"grid_size": 5, "grid_range": (-1.0, 3.0)}, 5),
    ("chebyshev", {}, 5),
    ("chebyshev", {"degree": 1}, 2),
    ("chebyshev", {"degree": 7}, 8),
    ("chebyshev", {"constant": False}, 4),
    ("legendre", {}, 4),
    ("legendre", {"degree": 0}, 1),
    ("legendre", {"degree": 6}, 7),
    ("legendre", {"degree": 1, "constant": False}, 1),
    ("gram", {}, 4),
    ("gram", {"degree": 1}, 2),
    ("gram", {"degree": 6}, 7),
    ("gram", {"constant": False}, 3),
    ("fourier", {}, 8),
    ("fourier", {"grid_size": 2}, 4),
    ("wavelet", {}, 5),
    ("wavelet", {"grid_size": 9, "grid_range": (-0.5, 1.5)}, 9),
]


def special_inputs(c: int, dtype=torch.float64) -> list[torch.Tensor]:
    """Inputs (N, c) with 0, +-1e4, values around the grid and random ones, plus constants."""
    torch.manual_seed(0)
    values = torch.cat(
        [
            torch.tensor([0.0, 1e4, -1e4, 1.0, -1.0, 2.0, -2.0, 50.0, -50.0]),
            torch.linspace(-6, 6, 49),
            torch.randn(40) * 2,
        ]
    ).to(dtype)
    n = values.numel() // c * c
    return [
        values[:n].reshape(-1, c),
        torch.full((5, c), 0.7, dtype=dtype),
        torch.zeros(3, c, dtype=dtype),
    ]


def test_new_families_are_registered():
    assert set(NEW_BASES) <= set(list_bases())
    assert set(NEW_BASES) <= set(REFERENCES)


@pytest.mark.parametrize("name,options,k", CASES, ids=lambda v: str(v))
def test_basis_equals_reference_formula(name, options, k):
    basis = create_basis(name, 3, **options).double()
    assert basis.num_functions == k
    for x in special_inputs(3):
        y = basis(x)
        assert y.shape == (*x.shape, k) and y.dtype == torch.float64
        torch.testing.assert_close(y, REFERENCES[name](x, **options), atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", NEW_BASES)
def test_basis_keeps_dtype_and_has_no_saved_state(name):
    basis = create_basis(name, 4)
    assert basis(torch.randn(2, 3, 4)).dtype == torch.float32
    assert basis(torch.randn(2, 4, dtype=torch.float64)).dtype == torch.float64
    assert KANLinear(4, 2, basis=name).state_dict().keys() == {"mix.weight", "mix.bias"}


@pytest.mark.parametrize("name", ["legendre", "gram"])
def test_legendre_and_gram_are_orthogonal_on_unit_interval(name):
    t, w = (torch.from_numpy(a) for a in np.polynomial.legendre.leggauss(20))
    b = create_basis(name, 1, degree=6).double()(torch.atanh(t)[:, None])[:, 0]  # (20, 7)
    gram = (b * w[:, None]).T @ b
    off_diagonal = gram - torch.diag(torch.diagonal(gram))
    assert off_diagonal.abs().max() < 1e-12
    assert (torch.diagonal(gram) > 0).all()


def reference_values(layer, x: torch.Tensor, name: str) -> torch.Tensor:
    """B_j(x_i): the plain formula where the test has one, else the basis itself: (..., C, K)."""
    return REFERENCES[name](x) if name in REFERENCES else layer.basis(x)


def layer_inputs(shape: tuple[int, ...]) -> torch.Tensor:
    torch.manual_seed(1)
    x = torch.randn(*shape, dtype=torch.float64) * 2
    flat = x.view(-1)
    flat[:3] = torch.tensor([0.0, 1e4, -1e4])
    flat[-1] = 30.0
    return x


@pytest.mark.parametrize("name", BASES)
def test_kan_linear_equals_per_edge_reference(name):
    torch.manual_seed(0)
    layer = KANLinear(5, 3, basis=name).double()
    x = layer_inputs((2, 4, 5))
    b = reference_values(layer, x, name)
    c = layer.spline_weight
    expected = torch.zeros(2, 4, 3, dtype=torch.float64)
    for o in range(3):
        for i in range(5):
            if layer.basis.include_base:
                expected[..., o] += layer.base_weight[o, i] * F.silu(x[..., i])
            expected[..., o] += (c[o, i] * b[..., i, :]).sum(-1)
        expected[..., o] += layer.mix.bias[o]
    torch.testing.assert_close(layer(x), expected, atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", BASES)
def test_kan_conv2d_equals_per_edge_reference(name):
    torch.manual_seed(0)
    cin, cout, k, groups = 4, 6, 3, 2
    layer = KANConv2d(cin, cout, k, padding=1, groups=groups, basis=name).double()
    x = layer_inputs((2, cin, 5, 6))
    y = layer(x)
    n, _, h, wd = x.shape
    b = reference_values(layer, x.permute(0, 2, 3, 1), name)  # (N, H, W, C, K)
    c = layer.spline_weight  # (out, cin/g, K, k, k)
    per_group_in, per_group_out = cin // groups, cout // groups
    expected = layer.mix.bias[:, None, None].expand(n, cout, h, wd).clone()
    for o in range(cout):
        g = o // per_group_out
        for ii in range(per_group_in):
            i = g * per_group_in + ii
            for ky in range(k):
                for kx in range(k):
                    # the edge's contribution at every pixel; a padded tap contributes nothing
                    term = (c[o, ii, :, ky, kx] * b[:, :, :, i, :]).sum(-1)
                    if layer.basis.include_base:
                        term = term + layer.base_weight[o, ii, ky, kx] * F.silu(x[:, i])
                    padded = F.pad(term, (1, 1, 1, 1))  # stride 1, padding 1, dilation 1
                    expected[:, o] += padded[:, ky : ky + h, kx : kx + wd]
    torch.testing.assert_close(y, expected, atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", BASES)
def test_gradcheck(name):
    torch.manual_seed(0)
    layer = KANLinear(3, 2, basis=name).double()
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x,))


LAYERS = {
    "linear": (lambda name: KANLinear(8, 4, basis=name), (6, 8)),
    "conv": (lambda name: KANConv2d(4, 4, 3, padding=1, basis=name), (2, 4, 6, 6)),
}


@pytest.mark.parametrize("precision", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("name", BASES)
def test_outputs_and_gradients_are_finite(name, kind, precision):
    make, shape = LAYERS[kind]
    torch.manual_seed(0)
    layer = make(name)
    mixed = torch.randn(*shape) * 3
    mixed.view(-1)[:3] = torch.tensor([0.0, 1e4, -1e4])
    for x in (mixed, torch.full(shape, 0.5), torch.zeros(shape)):
        layer.zero_grad()
        x = x.clone().requires_grad_(True)
        if precision == "float32":
            y = layer(x)
        else:
            dtype = getattr(torch, precision)
            with torch.autocast("cpu", dtype=dtype):
                y = layer(x)
            assert y.dtype == dtype
        assert torch.isfinite(y).all()
        y.float().sum().backward()
        assert torch.isfinite(x.grad).all()
        for p in layer.parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all()


@pytest.mark.parametrize("name", NEW_BASES)
def test_unknown_option_is_one_line_error(name):
    with pytest.raises(kanvision.KanvisionError, match="spline_order") as err:
        KANLinear(3, 2, basis=name, spline_order=3)
    assert "\n" not in str(err.value) and name in str(err.value)
    if name in ("chebyshev", "legendre", "gram"):  # polynomial families have no grid
        with pytest.raises(kanvision.KanvisionError, match="grid_size"):
            KANConv2d(2, 2, 3, basis=name, grid_size=5)


@pytest.mark.parametrize("name,options,k", CASES, ids=lambda v: str(v))
def test_layer_passes_options_to_basis(name, options, k):
    layer = KANLinear(3, 2, basis=name, **options)
    assert layer.basis.num_functions == k
    assert layer.mix.in_features == 3 * (k + int(layer.basis.include_base))


@pytest.mark.parametrize("name", ["chebyshev", "legendre", "gram"])
def test_constant_term_adds_only_a_bias(name):
    """What ``constant=False`` leaves out: p_0 = 1 of every input channel reaches a linear
    layer's output only through its sum over channels, a bias, so the layer without it and with
    that sum in its bias is the same function."""
    torch.manual_seed(0)
    full = KANLinear(5, 3, basis=name).double()
    lean = KANLinear(5, 3, basis=name, constant=False).double()
    k = full.basis.num_functions
    weight = full.mix.weight.view(3, k + 1, 5)  # [output][SiLU, p_0 .. p_degree][input]
    with torch.no_grad():
        lean.mix.weight.copy_(torch.cat([weight[:, :1], weight[:, 2:]], dim=1).flatten(1))
        lean.mix.bias.copy_(full.mix.bias + weight[:, 1].sum(1))
    x = torch.randn(7, 5, dtype=torch.float64) * 2
    torch.testing.assert_close(lean(x), full(x), atol=1e-12, rtol=0)
    assert lean.mix.in_features == full.mix.in_features - 5


@pytest.mark.parametrize("name", ["chebyshev", "legendre", "gram"])
def test_constant_false_needs_a_polynomial_left(name):
    with pytest.raises(ValueError, match="constant=False needs degree >= 1"):
        create_basis(name, 3, degree=0, constant=False)
