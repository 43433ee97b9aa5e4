"""KANMlp plugs into timm's VisionTransformer and trains; regularization; grid updates."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from timm.models.vision_transformer import VisionTransformer

from kanvision.layers import KANConv2d, KANLinear, KANMlp, list_bases
from kanvision.layers.kan_layer import KANLayer


@pytest.mark.parametrize("basis", ["bspline", "rational"])
def test_timm_vit_with_kan_mlp_trains(basis):
    torch.manual_seed(0)
    vit = VisionTransformer(
        img_size=28, patch_size=7, in_chans=1, num_classes=10, embed_dim=32, depth=2,
        num_heads=2, mlp_ratio=2.0, mlp_layer=partial(KANMlp, basis=basis),
    )
    assert isinstance(vit.blocks[0].mlp, KANMlp)
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    opt = torch.optim.AdamW(vit.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(vit(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_kan_mlp_signature_matches_timm_mlp():
    mlp = KANMlp(16, hidden_features=24, out_features=8, act_layer=torch.nn.GELU,
                 norm_layer=torch.nn.LayerNorm, bias=(True, False), drop=(0.1, 0.0))
    assert mlp(torch.randn(2, 5, 16)).shape == (2, 5, 8)
    assert mlp.fc2.mix.bias is None and isinstance(mlp.norm, torch.nn.LayerNorm)


@pytest.mark.parametrize("basis", list_bases())
def test_regularization_loss_is_finite_and_differentiable(basis):
    for layer in (KANLinear(6, 4, basis=basis), KANConv2d(4, 4, 3, basis=basis)):
        reg = layer.regularization_loss(l1=1.0, entropy=0.5)
        assert reg.ndim == 0 and torch.isfinite(reg) and reg > 0
        reg.backward()
        assert layer.mix.weight.grad is not None


def test_regularization_is_l1_plus_entropy_of_edge_magnitudes():
    layer = KANLinear(2, 1, bias=False)
    with torch.no_grad():
        layer.spline_weight.zero_()
        layer.spline_weight[0, 0] = 2.0  # edge (0, 0): mean |c| = 2; edge (0, 1): 0
    assert layer.regularization_loss(l1=1.0, entropy=0.0).item() == pytest.approx(2.0)
    assert layer.regularization_loss(l1=0.0, entropy=1.0).item() == pytest.approx(0.0, abs=1e-6)


def set_identity_spline(layer: KANLayer) -> None:
    """Coefficients at the Greville abscissae: the spline branch of every edge computes x."""
    basis = layer.basis
    knots = basis.knots.to(layer.mix.weight.dtype)
    k = basis.spline_order
    greville = torch.stack([knots[:, j + 1 : j + k + 1].mean(-1) for j in range(basis.num_functions)], -1)
    with torch.no_grad():
        layer.base_weight.zero_()
        weight = layer.spline_weight
        weight.copy_(greville[None, : weight.shape[1]].expand_as(weight))


def test_update_grid_keeps_the_function_and_fits_the_data_range():
    torch.manual_seed(0)
    layer = KANLinear(3, 2, bias=False).double()
    set_identity_spline(layer)
    x = torch.rand(500, 3, dtype=torch.float64) * 1.2 - 0.3  # inside the initial grid
    before = layer(x)
    torch.testing.assert_close(before, x.sum(-1, keepdim=True).expand(-1, 2), atol=1e-9, rtol=0)
    layer.update_grid(x)
    lo, hi = layer.basis.grid_range()
    assert (lo <= x.min(0).values).all() and (hi >= x.max(0).values).all()
    assert (hi - lo).max() < 2.0  # narrowed from (-1, 1) extended
    torch.testing.assert_close(layer(x), before, atol=1e-8, rtol=0)


def test_refine_grid_extends_to_finer_grid_exactly_inside_the_range():
    torch.manual_seed(0)
    conv = KANConv2d(2, 4, 3, padding=1, groups=2).double()
    x = torch.rand(2, 2, 6, 6, dtype=torch.float64) * 1.8 - 0.9  # inside the grid range
    before = conv(x)
    conv.refine_grid(10)
    assert conv.basis.grid_size == 10 and conv.mix.weight.shape[1] == 1 * (10 + 3 + 1)
    torch.testing.assert_close(conv(x), before, atol=1e-8, rtol=0)
