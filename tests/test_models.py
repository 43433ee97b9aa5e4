"""Every registered model, generated from the registry: a new model needs no new test."""

from __future__ import annotations

import pytest
import torch

import kanvision
from kanvision.models.registry import model_entrypoint

MODELS = kanvision.list_models()
KAN_TYPES = ["bspline", "none"]


def native_input(name: str, in_chans: int = 1) -> torch.Tensor:
    size = 28  # the small-image models; later families declare their own input size
    return torch.randn(2, in_chans, size, size)


@pytest.mark.parametrize("kan", KAN_TYPES)
@pytest.mark.parametrize("name", MODELS)
def test_forward_backward_every_parameter_gets_grad(name, kan):
    torch.manual_seed(0)
    model = kanvision.create_model(name, kan=kan)
    out = model(native_input(name))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"


@pytest.mark.parametrize("name", MODELS)
def test_num_classes_and_in_chans_change(name):
    model = kanvision.create_model(name, num_classes=7, in_chans=3)
    assert model(native_input(name, in_chans=3)).shape == (2, 7)


@pytest.mark.parametrize("name", MODELS)
def test_param_counts_split_kan_and_plain(name):
    kan_counts = kanvision.count_params(kanvision.create_model(name))
    twin_counts = kanvision.count_params(kanvision.create_model(name, kan="none"))
    assert 0 < kan_counts.kan <= kan_counts.trainable == kan_counts.total
    assert twin_counts.kan == 0 and twin_counts.total > 0


def test_list_models_pattern_and_docstrings():
    assert "kan_convnet" in kanvision.list_models("kan_*")
    assert kanvision.list_models("no_such_*") == []
    assert all(model_entrypoint(n).__doc__ for n in MODELS)


def test_unknown_model_is_one_line_error():
    with pytest.raises(kanvision.KanvisionError) as e:
        kanvision.create_model("kan_convnt")
    assert "unknown model 'kan_convnt'" in str(e.value) and "kan_convnet" in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_kan_type_is_one_line_error():
    with pytest.raises(kanvision.KanvisionError, match="unknown kan type 'bsplines'"):
        kanvision.create_model("kan_convnet", kan="bsplines")
