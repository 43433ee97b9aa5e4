"""The explorer without a browser: every registered edit kind on every basis family (apply,
replay from its JSON, undo), export and reload, the API routes, the server, the static report,
and one-line answers to bad input. The browser test is tests/test_explore_browser.py."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser

import pytest
import torch

import kanvision
from kanvision.errors import KanvisionError
from kanvision.explore import EDITS, ExploreSession, apply_edits
from kanvision.explore.__main__ import main as explore_main
from kanvision.explore.api import ExploreApi
from kanvision.explore.channels import edge_coefficients
from kanvision.explore.edits import edge_points, edge_taps
from kanvision.explore.report import write_report
from kanvision.explore.server import bind
from kanvision.inspect.symbolic import SymbolicFit
from kanvision.layers import list_bases


def _session(kan: str = "bspline", seed: int = 0) -> ExploreSession:
    torch.manual_seed(seed)
    model = kanvision.create_model("kan_convnet", kan=kan).eval()
    images = torch.randn(24, 1, 28, 28)
    x, y = torch.randn(40, 1, 28, 28), torch.randint(0, 10, (40,))
    return ExploreSession(model, images, (x, y), title=f"kan_convnet-{kan}")


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(
        (sa[k] is None and sb[k] is None) or (sa[k].shape == sb[k].shape and torch.equal(sa[k], sb[k])) for k in sa
    )


@pytest.mark.parametrize("op", sorted(EDITS))
@pytest.mark.parametrize("kan", list_bases())
def test_every_edit_kind_applies_replays_and_undoes(kan, op):
    session = _session(kan)
    before = session.state()
    edit = EDITS[op].example(session.layers, session)
    after = session.apply(edit)
    assert not _same_weights(session.model, session.pristine), f"{op} changed no weight"
    assert len(after["edits"]) == 1 and after["edits"][0]["text"]
    resolved = json.loads(json.dumps(session.edits))  # the exported JSON list
    fresh = _session(kan).model
    apply_edits(fresh, resolved)
    assert _same_weights(fresh, session.model), "re-applying the JSON edits gave other weights"
    restored = session.undo()
    assert _same_weights(session.model, session.pristine)
    for key in ("params", "kan_params", "kan_nonzero", "edges", "accuracy", "confusion_change"):
        assert restored[key] == before[key], key


def test_prune_removes_inputs_and_params_and_a_zero_threshold_removes_nothing():
    session = _session()
    start = session.state()
    assert session.apply({"op": "prune", "threshold": 0.0})["params"] == start["params"]
    pruned = session.apply({"op": "prune", "threshold": 0.5})
    assert pruned["params"] < start["params"] and pruned["edges"] < start["edges"]
    for name, layer in session.layers.items():  # every layer keeps at least one input
        assert layer.basis.in_features >= 1, name


def test_symbolic_replacement_makes_the_edge_follow_the_formula():
    session = _session()
    name = "head"
    out, channel, _ = session.top_edges(name, 1)[0]
    state = session.apply({"op": "symbolic", "layer": name, "out": out, "in": channel, "fn": "sin"})
    edit, effect = session.edits[-1], state["edits"][-1]["effect"]
    fit = SymbolicFit(edit["fn"], edit["a"], edit["b"], edit["c"], edit["d"], edit["r2"])
    x = edge_points(edit["low"], edit["high"])
    now = edge_taps(session.layers[name], out, channel, x).sum(0)
    error = (now - fit(x)).abs().max().item()
    assert error == pytest.approx(effect["residual_max"], abs=1e-5)  # the weights are float32
    assert effect["residual_relative"] < 0.5


def test_symbolic_on_a_conv_edge_gives_each_tap_its_own_scale():
    session = _session()
    out, channel, _ = session.top_edges("features.4", 1)[0]
    session.apply({"op": "symbolic", "layer": "features.4", "out": out, "in": channel, "fn": "tanh"})
    w = edge_coefficients(session.layers["features.4"], out, channel)
    assert w.shape[1:] == (3, 3) and w.flatten(1).std(1).sum() > 0


def test_export_loads_with_create_model_and_edits_json_reapplies(tmp_path):
    session = _session()
    session.apply({"op": "prune", "threshold": 0.3})
    session.apply({"op": "zero_channel", "layer": "features.4", "channel": 3})
    files = session.export(tmp_path / "edited")
    loaded = kanvision.create_model("kan_convnet", pretrained=files["weights"]).eval()
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), session.model(x))
    record = json.loads((tmp_path / "edited" / "edits.json").read_text())
    fresh = _session().model
    apply_edits(fresh, record["edits"])
    assert _same_weights(fresh, session.model)


def test_unresolved_or_unknown_edits_are_refused_with_the_fix():
    session = _session()
    with pytest.raises(KanvisionError, match="choose one of"):
        session.apply({"op": "transplant"})
    with pytest.raises(KanvisionError, match="threshold must be a fraction"):
        session.apply({"op": "prune", "threshold": 3})
    with pytest.raises(KanvisionError, match="KAN layer 'nope'"):
        session.apply({"op": "zero_channel", "layer": "nope", "channel": 0})
    with pytest.raises(KanvisionError, match="not resolved"):
        apply_edits(session.model, [{"op": "prune", "threshold": 0.1}])
    assert session.edits == []


def test_api_routes_answer_figures_and_edges():
    api = ExploreApi(_session())
    summary = api.call("GET", "summary", {})
    assert {"state", "network", "confusion", "layers", "top_edges"} <= set(summary)
    assert [row["name"] for row in summary["layers"]] == ["features.0", "features.4", "head"]
    heatmap = api.call("GET", "layer", {"name": "head", "sort": "importance"})
    assert heatmap["data"][0]["type"] == "heatmap" and len(heatmap["data"][0]["z"]) == 10
    out, channel, _ = summary["top_edges"]["features.4"][0]
    edge = api.call("GET", "edge", {"layer": "features.4", "out": str(out), "in": str(channel)})
    assert edge["detail"]["rank"] == 1 and len(edge["detail"]["fits"]) == 5
    assert sum(t.get("legendgroup") == "taps" for t in edge["figure"]["data"]) == 9  # one curve per tap
    image = api.call("GET", "image", {"index": "3"})
    assert set(image) == {"detail", "image", "channels"}
    with pytest.raises(KanvisionError, match="no GET route"):
        api.call("GET", "nothing", {})


def _get(url: str, body: dict | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_server_serves_the_page_its_packaged_assets_and_the_api(tmp_path):
    server = bind(0)
    server.api = ExploreApi(_session(), tmp_path / "out")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        status, page = _get(base + "/")
        assert status == 200 and b'src="/static/plotly.min.js"' in page and b"https://" not in page
        status, plotly_js = _get(base + "/static/plotly.min.js")
        assert status == 200 and len(plotly_js) > 1_000_000
        status, body = _get(base + "/api/edit", {"op": "prune", "threshold": 0.4})
        assert status == 200 and json.loads(body)["state"]["edits"]
        status, body = _get(base + "/api/edit", {"op": "graft"})
        assert status == 400 and "unknown edit 'graft'" in json.loads(body)["error"]
        status, weights = _get(base + "/download/weights")
        assert status == 200 and (tmp_path / "out" / "model.safetensors").read_bytes() == weights
    finally:
        server.shutdown()
        server.server_close()


class _ExternalReferences(HTMLParser):
    """src/href attributes of the page's tags (a <script>'s own code is not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.references += [v for k, v in attrs if k in ("src", "href") and v and not v.startswith(("#", "data:"))]


def test_static_report_is_self_contained(tmp_path):
    api = ExploreApi(_session(), tmp_path)
    path = write_report(api, tmp_path / "report.html")
    text = path.read_text()
    parser = _ExternalReferences()
    parser.feed(text)
    assert parser.references == [], "the report must not load anything"
    assert '"mode":"static"' in text and "layer?name=head&sort=importance" in text


def test_cli_bad_input_is_one_line(tmp_path, capsys, tiny_data, monkeypatch):
    monkeypatch.setenv("KANVISION_DATA", str(tiny_data))
    corrupt = tmp_path / "broken.safetensors"
    corrupt.write_bytes(b"not a safetensors file")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    cases = {
        "unknown model": (["--model", "kan_convnett", "--pretrained", "mnist", "--port", "0"], "did you mean"),
        "port in use": (["--model", "kan_convnet", "--pretrained", "mnist", "--port", str(port)], "--port"),
        "corrupt weights": (["--model", "kan_convnet", "--checkpoint", str(corrupt), "--port", "0",
                             "--export", str(tmp_path / "r.html")], "broken.safetensors"),
    }
    try:
        for name, (args, fix) in cases.items():
            with pytest.raises(SystemExit) as e:
                explore_main([*args, "--data.name", "mnist"])
            err = capsys.readouterr().err
            assert e.value.code == 2 and err.count("\n") == 1 and err.startswith("error: "), (name, err)
            assert fix in err, (name, err)
    finally:
        taken.close()


def test_cli_explores_a_hub_folder_and_a_runs_weights_into_a_report(tmp_path, tiny_data, monkeypatch, capsys):
    monkeypatch.setenv("KANVISION_DATA", str(tiny_data))
    model = kanvision.create_model("kan_convnet", pretrained="mnist")
    kanvision.save_pretrained(model, tmp_path / "hub")
    kanvision.save_pretrained(model, tmp_path / "run.safetensors")
    data = ["--data.name", "mnist", "--data.val_size", "32", "--images", "32", "--held_out", "32"]
    for source in (["--model", f"local-dir:{tmp_path / 'hub'}"],
                   ["--model", "kan_convnet", "--checkpoint", str(tmp_path / "run.safetensors")]):
        report = tmp_path / f"report-{len(source)}.html"
        explore_main([*source, *data, "--export", str(report)])
        assert "kanvision explore | report" in capsys.readouterr().out
        assert report.stat().st_size > 1_000_000 and '"mode":"static"' in report.read_text()


def _model_session(name: str) -> ExploreSession:
    torch.manual_seed(0)
    model = kanvision.create_model(name).eval()
    c, h, w = kanvision.get_model_info(name).input_size
    return ExploreSession(model, torch.randn(8, c, h, w), (torch.randn(8, c, h, w), torch.randint(0, 10, (8,))),
                          title=name)


@pytest.mark.parametrize("name", [
    "resnet8_cifar",
    pytest.param("sepnet_tiny", marks=pytest.mark.slow),  # grouped (depthwise) KAN convs
    pytest.param("kat_tiny_patch4_32", marks=pytest.mark.slow),  # KAN MLPs on tokens, about a minute
])
def test_every_edit_on_other_model_families(name):
    session = _model_session(name)
    for op in sorted(EDITS):
        session.apply(EDITS[op].example(session.layers, session))
    layer = next(iter(session.layers))
    out, channel, _ = session.top_edges(layer, 1)[0]
    assert session.edge(layer, out, channel)["fits"]
    assert session.image(0)["layers"].keys() == session.layers.keys()
    session.reset()
    assert _same_weights(session.model, session.pristine)


def test_an_impossible_validation_split_is_one_line(tmp_path, capsys, tiny_data, monkeypatch):
    monkeypatch.setenv("KANVISION_DATA", str(tiny_data))
    with pytest.raises(SystemExit) as e:
        explore_main(["--model", "kan_convnet", "--pretrained", "mnist", "--data.name", "mnist", "--port", "0"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "--data.val_size N" in err
