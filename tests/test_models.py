"""Every registered model, generated from the registry: a new model needs no new test.

Models run at their native input with ``width_mult=0.25`` (the real code paths, small widths);
parameter matching runs at full width on the meta device.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import kanvision
from kanvision.layers import KANLayer, KANLinear, list_bases
from kanvision.models import get_model_info, param_count
from kanvision.models.__main__ import _kan_options, pretrained_rows
from kanvision.models.__main__ import main as list_main
from kanvision.models.flops import count_flops
from kanvision.models.matching import relative_gap
from kanvision.models.registry import build_model
from kanvision.tables import model_options

MODELS = kanvision.list_models()
SMALL = {"width_mult": 0.25}
_OTHERS = [b for b in list_bases() if b != "bspline"]


def kan_types(index: int, name: str) -> list[str]:
    """bspline, the standard twin, the model's default basis, and one more family (rotating over
    the families so every family runs in some model)."""
    kinds = ["bspline", "none", get_model_info(name).default_kan, _OTHERS[index % len(_OTHERS)]]
    return list(dict.fromkeys(kinds))


CASES = [(name, kan) for i, name in enumerate(MODELS) for kan in kan_types(i, name)]


def native_input(name: str, in_chans: int | None = None, batch: int = 2) -> torch.Tensor:
    chans, height, width = get_model_info(name).input_size
    return torch.randn(batch, in_chans or chans, height, width)


def test_zoo_has_every_family_asked_for():
    assert len(MODELS) >= 12
    families = {get_model_info(n).family for n in MODELS}
    assert {"convnet", "convkan", "vgg", "resnet", "vit", "kat"} <= families
    for pattern in ("kkan_*", "kanc_mlp_*", "conv_kan_*", "convstack*", "vgg*_small",
                    "resnet*_cifar", "resnet18", "vit_tiny_*", "vit_small_*", "kat_*"):
        assert kanvision.list_models(pattern), pattern


@pytest.mark.parametrize(("name", "kan"), CASES)
def test_forward_backward_every_parameter_gets_grad(name, kan):
    torch.manual_seed(0)
    model = kanvision.create_model(name, kan=kan, **SMALL)
    out = model(native_input(name))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"
    has_kan = any(isinstance(m, KANLayer) for m in model.modules())
    assert has_kan == (kan != "none")


@pytest.mark.parametrize("name", MODELS)
def test_num_classes_and_in_chans_change(name):
    chans = get_model_info(name).input_size[0]
    other = 1 if chans == 3 else 3
    model = kanvision.create_model(name, num_classes=7, in_chans=other, **SMALL)
    assert model(native_input(name, in_chans=other)).shape == (2, 7)


SMALL_IMAGE_MODELS = [n for n in MODELS if get_model_info(n).input_size[-1] <= 32]


@pytest.mark.parametrize("name", SMALL_IMAGE_MODELS)
@pytest.mark.parametrize(("chans", "size"), [(1, 28), (3, 32)])
def test_small_image_models_take_mnist_and_cifar_shapes(name, chans, size):
    model = kanvision.create_model(name, in_chans=chans, img_size=size, **SMALL)
    assert model(torch.randn(2, chans, size, size)).shape == (2, 10)


def test_patch16_vit_on_28_pixels_is_one_line_error():
    with pytest.raises(kanvision.KanvisionError, match="multiple of 16, got 28") as e:
        kanvision.create_model("vit_tiny_patch16_224", img_size=28)
    assert "\n" not in str(e.value)


def test_imagenet_resnet_adapts_to_small_images():
    model = kanvision.create_model("resnet18", in_chans=1, img_size=28, **SMALL)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("name", MODELS)
def test_match_params_lands_within_5_percent(name):
    target = param_count(name)
    with torch.device("meta"):
        twin = kanvision.create_model(name, kan="none", match_params=True)
    got = kanvision.count_params(twin).total
    assert relative_gap(got, target) <= 0.05, (got, target)
    assert twin.kanvision_cfg["args"]["width_mult"] != 1.0
    assert kanvision.count_params(twin).kan == 0


def test_match_params_other_references():
    rbf = param_count("kan_convnet", kan="rbf", grid_size=4)
    twin = kanvision.create_model("kan_convnet", kan="none", match_params={"kan": "rbf", "grid_size": 4})
    assert relative_gap(kanvision.count_params(twin).total, rbf) <= 0.05
    twin = kanvision.create_model("kan_convnet", kan="none", match_params=50_000)
    assert relative_gap(kanvision.count_params(twin).total, 50_000) <= 0.05
    with pytest.raises(ValueError, match="no width of kan_convnet reaches"):
        kanvision.create_model("kan_convnet", kan="none", match_params=10**12)


def test_matched_twin_round_trips_through_export(tmp_path):
    twin = kanvision.create_model("kkan_small", kan="none", match_params=True).eval()
    path = kanvision.save_pretrained(twin, tmp_path / "twin.safetensors")
    loaded = kanvision.create_model("kkan_small", pretrained=str(path)).eval()
    x = native_input("kkan_small")
    torch.testing.assert_close(loaded(x), twin(x))


@pytest.mark.parametrize("name", MODELS)
def test_param_counts_split_kan_and_plain(name):
    with torch.device("meta"):
        kan_counts = kanvision.count_params(kanvision.create_model(name))
        twin_counts = kanvision.count_params(kanvision.create_model(name, kan="none"))
    assert 0 < kan_counts.kan <= kan_counts.trainable == kan_counts.total
    assert twin_counts.kan == 0 and twin_counts.total > 0


@pytest.mark.parametrize("name", [n for n in MODELS if get_model_info(n).family.startswith("conv")])
def test_kan_where_places_kan_layers(name):
    head_only = kanvision.create_model(name, kan_where="head", **SMALL)
    convs_only = kanvision.create_model(name, kan_where="convs", **SMALL)
    assert all(isinstance(m, KANLinear) for m in head_only.modules() if isinstance(m, KANLayer))
    assert not any(isinstance(m, KANLinear) for m in convs_only.modules())
    assert any(isinstance(m, KANLayer) for m in convs_only.modules())


def test_vit_kan_where():
    mlp = kanvision.create_model("vit_nano_patch4_32", kan_where="mlp", **SMALL)
    head = kanvision.create_model("vit_nano_patch4_32", kan_where="head", **SMALL)
    assert isinstance(mlp.blocks[0].mlp.fc1, KANLinear) and not isinstance(mlp.head, KANLayer)
    assert isinstance(head.head, KANLinear) and not isinstance(head.blocks[0].mlp.fc1, KANLayer)


@pytest.mark.parametrize(("chans", "size"), [(3, 32), (1, 28)])
def test_vit_nano_narrow_keeps_the_plain_vit_nanos_parameter_count(chans, size):
    """Its narrow B-spline KAN MLPs cost what the plain ViT-nano's GELU MLPs cost."""
    kan = param_count("vit_nano_narrow_patch4_32", in_chans=chans, img_size=size)
    plain = param_count("vit_nano_patch4_32", kan="none", in_chans=chans, img_size=size)
    assert relative_gap(kan, plain) <= 0.05, (kan, plain)
    model = kanvision.create_model("vit_nano_narrow_patch4_32", in_chans=chans, img_size=size)
    fc1 = model.blocks[0].mlp.fc1
    assert isinstance(fc1, KANLinear) and fc1.out_features == 21 and fc1.in_features == 96
    assert model(torch.randn(2, chans, size, size)).shape == (2, 10)


def test_unknown_kan_where_is_one_line_error():
    with pytest.raises(kanvision.KanvisionError, match="unknown kan_where 'mlp'.*convs"):
        kanvision.create_model("kkan_small", kan_where="mlp")


def test_kat_starts_from_identity_then_silu():
    model = kanvision.create_model("kat_tiny_patch4_32", **SMALL)
    x = torch.linspace(-2, 2, 9)
    fc1, fc2 = model.blocks[0].mlp.fc1, model.blocks[0].mlp.fc2
    torch.testing.assert_close(fc1.basis.functions(x[:, None].expand(9, fc1.in_features))[0][:, 0], x)
    silu = fc2.basis.functions(x[:, None].expand(9, fc2.in_features))[0][:, 0]
    torch.testing.assert_close(silu, torch.nn.functional.silu(x), atol=0.02, rtol=0)


def test_vit_kan_layers_keep_their_own_init():
    """timm's ViT init must not overwrite the KAN layers' fan-in init with std=0.02."""
    fc1 = kanvision.create_model("vit_nano_patch4_32").blocks[0].mlp.fc1
    bound = 1 / fc1.in_features**0.5
    assert fc1.base_weight.abs().max() > 0.5 * bound


def test_count_flops_counts_mix_and_expand():
    def expand_flops(inputs: int) -> int:
        layer = torch.nn.Sequential(KANLinear(inputs, 4, grid_size=5, spline_order=3))
        mix = 2 * inputs * (5 + 3 + 1) * 4  # the linear over the expanded channels
        return count_flops(layer, (inputs,)) - mix

    plain = torch.nn.Sequential(torch.nn.Linear(6, 4))
    assert count_flops(plain, (6,)) == 2 * 6 * 4
    assert expand_flops(6) > 0  # the elementwise expand is counted ...
    assert expand_flops(12) == 2 * expand_flops(6)  # ... per input value ...
    assert expand_flops(6) < 6 * 9 * 20  # ... at tens of ops per basis value


@pytest.mark.parametrize("backend", [SDPBackend.MATH, SDPBackend.FLASH_ATTENTION])
def test_count_flops_of_attention_does_not_depend_on_the_cpu_kernel(backend):
    # SDPA picks the fused CPU kernel on AVX-512 machines and the math path elsewhere; the meta
    # device (how runs record their FLOPs) counts the generic kernel
    model = kanvision.create_model("vit_nano_patch4_32", kan="none", **SMALL)
    with torch.device("meta"):
        recorded = count_flops(build_model("vit_nano_patch4_32", kan="none", **SMALL))
    try:
        with sdpa_kernel(backend):
            assert count_flops(model) == recorded
    except RuntimeError as error:  # a CPU without the fused kernel
        pytest.skip(str(error))


@pytest.mark.parametrize("name", ["kan_convnet", "resnet8_cifar", "vit_nano_patch4_32"])
def test_count_flops_kan_costs_more_than_twin(name):
    kan = count_flops(kanvision.create_model(name, **SMALL))
    plain = count_flops(kanvision.create_model(name, kan="none", **SMALL))
    assert kan > plain > 0


def test_model_info():
    info = get_model_info("vit_tiny_patch4_32")
    assert info.input_size == (3, 32, 32) and info.family == "vit"
    assert info.kan_where == ("all", "mlp", "head") and info.default_kan_where == "mlp"
    assert get_model_info("kat_tiny_patch4_32").default_kan == "rational"
    assert all(get_model_info(n).description for n in MODELS)


def test_listing_cli(capsys):
    assert list_main(["kkan_*"]) == 0
    out = capsys.readouterr().out
    assert "kkan_small" in out and "1x28x28" in out and "47,074" in out
    assert list_main(["kan_convnet", "--markdown"]) == 0
    assert "| kan_convnet | 1x28x28 |" in capsys.readouterr().out
    assert list_main(["nothing_*"]) == 2


def test_pretrained_listing_cli(capsys):
    """Every shipped entry is listed from its metadata; an empty match is an error."""
    assert list_main(["--pretrained", "--markdown"]) == 0
    out = capsys.readouterr().out
    for name in kanvision.list_pretrained():
        cfg = kanvision.get_pretrained_cfg(name)
        (acc,) = (m["acc@1"] for m in cfg["metrics"].values())
        assert f"| `{name}`" in out and f"| {cfg['num_params']:,} |" in out and f"| {acc:.2f} |" in out
        row = next(line for line in out.splitlines() if f"| `{name}`" in line)
        assert ("fp16)" in row) == (cfg.get("storage_dtype") == "float16"), row
    assert list_main(["no_such.*", "--pretrained"]) == 2


def test_pretrained_listing_tells_apart_entries_built_differently():
    """Two shipped entries of one model built differently (another basis, width or basis option
    such as ``constant=False``) show different ``kan`` columns."""
    label: dict[tuple[str, str], str] = {}
    for row in pretrained_rows():
        name = row[0].split("`")[1]
        cfg = kanvision.get_pretrained_cfg(name)
        key = (cfg["model"], json.dumps([cfg["kan"], model_options(cfg["args"])], sort_keys=True))
        label[key] = row[2]
    for model in {model for model, _ in label}:
        built = [(args, kan) for (m, args), kan in label.items() if m == model]
        assert len({kan for _, kan in built}) == len(built), (model, built)
    lean = {"kan": "gram", "args": {"num_classes": 10, "kan": "gram", "degree": 3, "width_mult": 0.89, "constant": False}}
    assert _kan_options(lean) == "gram (constant=False, degree=3, width_mult=0.89)"
    assert _kan_options({"kan": "none", "args": {"num_classes": 10, "kan": "none"}}) == "none"


def test_list_models_pattern():
    assert "kan_convnet" in kanvision.list_models("kan_*")
    assert kanvision.list_models("no_such_*") == []


def test_unknown_model_is_one_line_error():
    with pytest.raises(kanvision.KanvisionError) as e:
        kanvision.create_model("kan_convnt")
    assert "unknown model 'kan_convnt'" in str(e.value) and "kan_convnet" in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_kan_type_is_one_line_error():
    with pytest.raises(kanvision.KanvisionError, match="unknown kan type 'bsplines'"):
        kanvision.create_model("kan_convnet", kan="bsplines")
