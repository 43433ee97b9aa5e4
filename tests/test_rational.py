"""The group-rational basis (KAT's GR-KAN) against its formula, and training stability of every
basis family in bfloat16 autocast."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kanvision.layers import KANConv2d, KANLinear, KANMlp, create_basis, list_bases


def rational_reference(x: torch.Tensor, numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """P(x) / (1 + |b_1 x + ... + b_n x^n|), channel c using group c // (C / groups)."""
    channels, groups = x.shape[-1], numerator.shape[0]
    out = torch.empty_like(x)
    for c in range(channels):
        g = c // (channels // groups)
        xc = x[..., c]
        p = sum(numerator[g, i] * xc**i for i in range(numerator.shape[1]))
        q = sum(denominator[g, j - 1] * xc**j for j in range(1, denominator.shape[1] + 1))
        out[..., c] = p / (1 + q.abs())
    return out


def test_rational_equals_formula_with_groups():
    torch.manual_seed(0)
    basis = create_basis("rational", 8, num_groups=4).double()
    with torch.no_grad():
        basis.numerator.normal_()
        basis.denominator.normal_()
    x = torch.randn(5, 8, dtype=torch.float64) * 2
    y = basis(x)
    assert y.shape == (5, 8, 1)
    expected = rational_reference(x, basis.numerator, basis.denominator)
    torch.testing.assert_close(y[..., 0], expected, atol=1e-10, rtol=0)


def test_rational_init_fits_silu_and_identity():
    x = torch.linspace(-4, 4, 201)[:, None].expand(-1, 4)
    silu = create_basis("rational", 4, num_groups=2)(x)[..., 0]
    assert (silu - F.silu(x)).abs().max() < 0.01
    identity = create_basis("rational", 4, init="identity")(x)[..., 0]
    torch.testing.assert_close(identity, x)


def test_rational_layer_is_activation_then_linear():
    layer = KANLinear(6, 3, basis="rational", num_groups=3)
    assert layer.base_weight is None and layer.mix.in_features == 6
    x = torch.randn(4, 6)
    expected = F.linear(layer.basis(x)[..., 0], layer.mix.weight, layer.mix.bias)
    torch.testing.assert_close(layer(x), expected)
    layer(x).sum().backward()
    assert layer.basis.numerator.grad is not None and layer.basis.denominator.grad is not None


class TinyKAN(torch.nn.Module):
    """KAN conv (stride 2) + KAN linear head, for the bf16 stability loop."""

    def __init__(self, basis: str) -> None:
        super().__init__()
        self.conv = KANConv2d(1, 4, 3, stride=2, padding=1, basis=basis)
        self.norm = torch.nn.BatchNorm2d(4)
        self.head = KANLinear(4 * 4 * 4, 10, basis=basis)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.conv(x)).flatten(1))


@pytest.mark.parametrize("basis", list_bases())
def test_200_step_bf16_training_stays_finite(basis, monkeypatch):
    monkeypatch.setenv("KANVISION_COMPILE", "0")
    torch.manual_seed(0)
    model = TinyKAN(basis)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    x = torch.randn(32, 1, 8, 8) * 3
    x[0, 0, 0, :3] = torch.tensor([0.0, 1e4, -1e4])
    y = torch.randint(0, 10, (32,))
    first = None
    for _ in range(200):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert torch.isfinite(loss), f"{basis}: loss became {loss}"
        first = first if first is not None else loss.item()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert loss.item() < first


def test_kan_mlp_accepts_rational_options():
    mlp = KANMlp(16, 32, basis="rational", num_groups=4)
    assert mlp.fc1.basis.groups == 4 and mlp(torch.randn(2, 16)).shape == (2, 16)
