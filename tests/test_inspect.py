"""kanvision.inspect: edge functions, importance, pruning, symbolic fits, plots, callback, CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from test_train import ROOT, tiny_args

import kanvision
from kanvision.inspect import (
    collect_inputs,
    edge_functions,
    edge_importance,
    input_range,
    kan_layers,
    plot_functions,
    plot_importance,
    prune,
)
from kanvision.inspect.__main__ import run as inspect_cli
from kanvision.inspect.edges import basis_values, full_edge_weights
from kanvision.inspect.formulas import fit_layer, layer_formulas
from kanvision.layers import KANConv2d, KANLinear
from kanvision.training.cli import run as train


def set_edge(layer: KANLinear, out: int, inp: int, fn, lo: float = -1.0, hi: float = 1.0) -> None:
    """Set the coefficients of edge ``inp -> out`` so it computes ``fn`` on [lo, hi] (least
    squares on the basis functions; base branch off)."""
    x = torch.linspace(lo, hi, 400)
    values = basis_values(layer, x[:, None].expand(-1, layer.in_features))[:, 1:, inp]
    coef = torch.linalg.lstsq(values, fn(x)[:, None]).solution[:, 0]
    with torch.no_grad():
        w = layer.edge_weights()
        w[out, inp, 0] = 0
        w[out, inp, 1:] = coef


def test_edge_set_to_sin_is_fitted_as_sin():
    torch.manual_seed(0)
    layer = KANLinear(3, 2, grid_size=10, grid_range=(-3, 3))
    set_edge(layer, 1, 2, torch.sin, -3.0, 3.0)
    data_range = (torch.full((3,), -3.0), torch.full((3,), 3.0))
    fits = fit_layer(layer, data_range)
    assert fits[(1, 2)].name == "sin" and fits[(1, 2)].r2 > 0.99
    x = torch.linspace(-3, 3, 50)
    torch.testing.assert_close(fits[(1, 2)](x.double()).float(), torch.sin(x), atol=0.02, rtol=0)
    formulas = layer_formulas(layer, data_range)
    assert len(formulas) == 2 and "sin(" in formulas[1] and "x_2" in formulas[1]


def test_edge_functions_add_up_to_the_layer_output():
    torch.manual_seed(0)
    layer = KANLinear(4, 3)
    x = torch.randn(20, 4)
    phi = edge_functions(layer, x)  # per-channel points: (out, in, P)
    torch.testing.assert_close(phi.sum(1).t() + layer.mix.bias, layer(x).detach(), atol=1e-5, rtol=0)


def test_importance_is_mean_absolute_edge_output_for_convs():
    torch.manual_seed(0)
    conv = KANConv2d(3, 2, 3, padding=1)
    x = torch.randn(4, 3, 6, 6)
    scores = edge_importance(conv, x)
    z = basis_values(conv, x.movedim(1, -1).reshape(-1, 3)).view(4, 6, 6, -1, 3)
    w = full_edge_weights(conv).detach()
    for o in range(2):
        for i in range(3):
            edge_out = F.conv2d(z[..., i].permute(0, 3, 1, 2), w[o, i][None], padding=1)
            assert scores[o, i] == pytest.approx(edge_out.abs().mean().item(), rel=1e-4)


def test_pruning_zero_edges_keeps_outputs_and_removes_their_parameters():
    torch.manual_seed(0)
    model = torch.nn.Sequential(KANLinear(6, 4), KANLinear(4, 3))
    with torch.no_grad():
        model[0].edge_weights()[:, [1, 4]] = 0  # inputs 1 and 4: every edge zero
        model[0].edge_weights()[2, 3] = 0  # one more zero edge on a kept input
    x = torch.randn(32, 6)
    before = model(x).detach()
    scores = {n: edge_importance(m, t) for (n, m), t in
              zip(kan_layers(model).items(), collect_inputs(model, x).values(), strict=True)}
    assert scores["0"][:, [1, 4]].max() == 0 and scores["0"][2, 3] == 0
    params = kanvision.count_params(model).total
    report = prune(model, {"0": scores["0"]}, threshold=1e-9, relative=False, zero_edges=True)
    torch.testing.assert_close(model(x), before, atol=1e-6, rtol=0)
    assert model[0].in_features == 4 and model[0].input_index.tolist() == [0, 2, 3, 5]
    per_input = model[0].expanded_per_input * 4  # (K + 1) coefficients per output
    assert report.params_after == params - 2 * per_input == kanvision.count_params(model).total
    assert report.layers[0].edges_zeroed == 1


def test_pruned_model_saves_and_loads_at_its_pruned_size(tmp_path):
    torch.manual_seed(0)
    model = kanvision.create_model("kkan_small", width_mult=0.5).eval()
    x = torch.randn(8, 1, 28, 28)
    inputs = collect_inputs(model, x)
    scores = {n: edge_importance(kan_layers(model)[n], t) for n, t in inputs.items()}
    report = prune(model, scores, threshold=0.5)
    assert report.kan_params_after < report.kan_params_before
    path = kanvision.save_pretrained(model, tmp_path / "pruned.safetensors")
    loaded = kanvision.create_model("kkan_small", pretrained=str(path)).eval()
    assert kanvision.count_params(loaded).total == report.params_after
    torch.testing.assert_close(loaded(x), model(x))


def test_plots_are_png_images_of_the_expected_size(tmp_path):
    torch.manual_seed(0)
    layer = KANLinear(5, 4)
    x = torch.randn(64, 5)
    scores = edge_importance(layer, x)
    grid = plot_functions(layer, input_range(layer, x), tmp_path / "f.png", scores, max_inputs=3, max_outputs=2)
    heat = plot_importance(scores, tmp_path / "i.png")
    with Image.open(grid) as image:
        assert image.format == "PNG" and image.size == (480, 280)  # (1.4*3+0.6, 1.1*2+0.6) in at 100 dpi
        assert len(set(image.convert("L").getdata())) > 10, "the plot is not blank"
    with Image.open(heat) as image:
        assert image.format == "PNG" and image.size[0] > 100 and image.size[1] > 100


def test_cli_on_the_shipped_checkpoint_writes_report_and_prunes(tiny_data, tmp_path):
    out = tmp_path / "inspect"
    summary = inspect_cli(["--model", "kan_convnet", "--pretrained", "mnist", "--data.name", "mnist",
                           "--data.root", str(tiny_data), "--data.val_size", "64", "--out", str(out), "--images", "64",
                           "--prune", "0.2", "--symbolic", "[features.0]"])
    report = Path(summary["report"]).read_text()
    for layer in ("features.0", "features.4", "head"):
        assert f"functions-{layer}.png" in report and (out / f"functions-{layer}.png").is_file()
        assert f"## `{layer}`" in report and "Most important edges" in report
    assert "network.png" in report and "Symbolic fit of `features.0`" in report
    with (out / "before" / "importance.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 16 * 1 + 32 * 16 + 10 * 1568  # before pruning: every edge
    with (out / "importance.csv").open() as f:
        head = [r for r in csv.DictReader(f) if r["layer"] == "head"]
    kept = {int(r["in"]) for r in head}
    assert 0 < len(kept) < 1568 and max(kept) < 1568  # original input ids of the kept inputs
    pruned = kanvision.create_model("kan_convnet", pretrained=str(out / "pruned.safetensors"))
    assert kanvision.count_params(pruned).total == summary["prune"].params_after < 183_994
    assert "accuracy" in report and "pruned at 0.2" in report


def test_callback_logs_images_to_wandb_and_run_dir(tiny_data, tmp_path):
    summary = train(tiny_args(ROOT / "configs/mnist/kan_convnet.yaml", tiny_data, tmp_path,
                              "--trainer.max_epochs", "2", "--inspect.enabled", "true",
                              "--inspect.every_n_epochs", "1", "--inspect.layers", "[head]",
                              "--inspect.images", "32", "--logging.tensorboard", "true"))
    run_dir = Path(summary["run_dir"])
    assert sorted(p.name for p in (run_dir / "inspect").iterdir()) == ["epoch_00", "epoch_01-end"]
    assert (run_dir / "inspect" / "epoch_01-end" / "functions-head.png").is_file()
    media = list(Path(summary["wandb_dir"]).rglob("media/images/inspect/*.png"))
    assert {p.name.split("_")[0] for p in media} >= {"functions-head", "importance-head"}, media
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))


def test_prune_plan_cuts_relative_to_the_strongest_edge_and_skips_missing_edges():
    from kanvision.inspect.prune import prune_plan

    nan = float("nan")
    scores = torch.tensor([[0.1, 0.9, nan], [0.05, 0.2, nan]])
    plan = prune_plan(scores, 0.25)  # cut at 0.225
    assert plan.weak.tolist() == [[True, False, False], [True, True, False]]  # a missing edge is never weak
    assert plan.keep.tolist() == [False, True, False]
    assert prune_plan(scores, 0.3, relative=False).keep.tolist() == [False, True, False]
    everything_weak = prune_plan(torch.tensor([[0.1, 0.3], [0.2, 0.1]]), 2.0)
    assert everything_weak.keep.tolist() == [False, True]  # the most important input stays


def test_prune_zeroes_the_edges_of_grouped_layers_it_cannot_shrink():
    """A SepNet's depthwise KAN convs are grouped: pruning cannot remove their inputs, so it zeroes
    their weak edges and every edge of an input it would drop; ungrouped layers still shrink."""
    from kanvision.inspect.prune import prune_plan

    torch.manual_seed(0)
    model = kanvision.create_model("sepnet_tiny").eval()
    x = torch.randn(16, 1, 28, 28)
    inputs = collect_inputs(model, x)
    layers = kan_layers(model)
    importance = {n: edge_importance(layer, inputs[n]) for n, layer in layers.items()}
    grouped = [n for n, layer in layers.items() if not layer.can_select_inputs]
    assert grouped, "sepnet_tiny should have depthwise (grouped) KAN convs"
    shapes = {n: layers[n].mix.weight.shape for n in grouped}
    report = prune(model, importance, 0.5)
    assert report.params_after < report.params_before
    after = collect_inputs(model, x)
    for name in grouped:
        layer = layers[name]
        assert layer.mix.weight.shape == shapes[name]  # not shrunk
        plan = prune_plan(importance[name], 0.5)
        live = edge_importance(layer, after[name]) > 0
        assert not live[:, ~plan.keep].any() and not (live & plan.weak).any()
        assert next(r for r in report.layers if r.name == name).inputs_after == int(plan.keep.sum())
    assert model(x).isfinite().all()


def test_full_edge_weights_lay_each_group_on_its_own_input_block():
    torch.manual_seed(0)
    conv = KANConv2d(4, 6, 3, padding=1, groups=2)
    w, full = conv.edge_weights().detach(), full_edge_weights(conv).detach()
    assert full.shape == (6, 4, *w.shape[2:])
    for o in range(6):
        block = slice(0, 2) if o < 3 else slice(2, 4)
        other = slice(2, 4) if o < 3 else slice(0, 2)
        torch.testing.assert_close(full[o, block], w[o])
        assert full[o, other].abs().max() == 0
