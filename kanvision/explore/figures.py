"""Plotly figures of an :class:`~kanvision.explore.session.ExploreSession`, as JSON for the page.

Every figure is built with plotly's Python API and sent as its JSON; the page only hands it to
plotly.js. A figure's clickable points carry ``customdata`` ``[layer, out, in]`` naming an edge.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import torch
from plotly.subplots import make_subplots

from kanvision.explore.session import ExploreSession
from kanvision.inspect.symbolic import SymbolicFit

NETWORK_EDGES = 120  # edges drawn per layer in the network view (the strongest); the rest are counted
NETWORK_NODES = 48  # channels shown per side of a layer; the weaker ones are merged into "others"
OPACITY_BINS = 5


def to_json(fig: go.Figure) -> dict[str, Any]:
    """The figure as a plain dict (data, layout) for the page."""
    return json.loads(pio.to_json(fig, validate=False))


def _top_nodes(scores: torch.Tensor, dim: int, k: int) -> list[int]:
    """The ``k`` channels along ``dim`` with the largest total importance."""
    total = scores.nan_to_num(nan=0.0).sum(dim)
    return total.argsort(descending=True)[:k].tolist()


def network(session: ExploreSession) -> dict[str, Any]:
    """Every KAN layer as a block of edges between its inputs (left) and outputs (right).

    Channels are sorted by importance (strongest on top); each block draws its
    ``NETWORK_EDGES`` strongest edges, darker and wider for stronger ones, and names how many
    more it has; weak channels beyond ``NETWORK_NODES`` merge into one "others" node. A marker
    at the middle of every drawn edge opens it on click."""
    fig = go.Figure()
    names = list(session.layers)
    for col, name in enumerate(names):
        scores = session.importance(name)
        x_in, x_out = 3.0 * col, 3.0 * col + 2.0
        ins = _top_nodes(scores, 0, NETWORK_NODES)
        outs = _top_nodes(scores, 1, NETWORK_NODES)
        y_in = {c: 1 - i / max(len(ins) - 1, 1) for i, c in enumerate(ins)}
        y_out = {c: 1 - i / max(len(outs) - 1, 1) for i, c in enumerate(outs)}
        filled = scores.nan_to_num(nan=-1.0)
        sub = filled[outs][:, ins]
        order = sub.flatten().argsort(descending=True)[:NETWORK_EDGES]
        strongest = float(sub.max()) if sub.numel() else 1.0
        bins: list[dict[str, list]] = [{"x": [], "y": []} for _ in range(OPACITY_BINS)]
        mids: dict[str, list] = {"x": [], "y": [], "data": [], "text": []}
        for flat in order.tolist():
            o, i = outs[flat // len(ins)], ins[flat % len(ins)]
            value = float(filled[o, i])
            if value < 0:
                continue
            level = min(OPACITY_BINS - 1, int(OPACITY_BINS * value / max(strongest, 1e-12)))
            bins[level]["x"] += [x_in, x_out, None]
            bins[level]["y"] += [y_in[i], y_out[o], None]
            mids["x"].append((x_in + x_out) / 2)
            mids["y"].append((y_in[i] + y_out[o]) / 2)
            mids["data"].append([name, o, i])
            mids["text"].append(f"{name}: out {o} <- in {i}<br>importance {value:.4g}")
        for level, segment in enumerate(bins):
            if segment["x"]:
                fig.add_trace(go.Scatter(
                    x=segment["x"], y=segment["y"], mode="lines", hoverinfo="skip", showlegend=False,
                    line={"width": 0.5 + 1.5 * level, "color": f"rgba(31,119,180,{0.15 + 0.8 * level / (OPACITY_BINS - 1):.2f})"},
                ))
        fig.add_trace(go.Scatter(x=mids["x"], y=mids["y"], mode="markers", customdata=mids["data"],
                                 text=mids["text"], hoverinfo="text", showlegend=False,
                                 marker={"size": 7, "color": "rgba(0,0,0,0.01)"}))
        for side, nodes, ys, x in (("in", ins, y_in, x_in), ("out", outs, y_out, x_out)):
            fig.add_trace(go.Scatter(
                x=[x] * len(nodes), y=[ys[c] for c in nodes], mode="markers", showlegend=False,
                marker={"size": 6, "color": "#444"}, hoverinfo="text",
                text=[f"{name} {side} channel {c}" for c in nodes],
            ))
        edges = int((filled >= 0).sum())
        hidden = edges - len(order)
        more_nodes = max(0, scores.shape[1] - len(ins)) + max(0, scores.shape[0] - len(outs))
        note = f"<b>{name}</b><br>{scores.shape[1]} -> {scores.shape[0]}, {edges:,} edges"
        if hidden > 0:
            note += f"<br>strongest {len(order)} drawn"
        if more_nodes:
            note += f"<br>{more_nodes} weaker channels not shown"
        fig.add_annotation(x=x_in + 1, y=1.12, text=note, showarrow=False, font={"size": 11})
    fig.update_layout(
        height=520, margin={"l": 10, "r": 10, "t": 80, "b": 10}, plot_bgcolor="white",
        xaxis={"visible": False}, yaxis={"visible": False, "range": [-0.05, 1.2]}, hovermode="closest",
        title={"text": "KAN layers: strongest edges (click an edge)", "font": {"size": 14}},
    )
    return to_json(fig)


def layer_heatmap(session: ExploreSession, layer: str, sort: str = "importance") -> dict[str, Any]:
    """Every edge of one layer as a cell of an ``out x in`` importance heatmap; ``sort``:
    ``importance`` (rows and columns by total importance) or ``index``. Zoom with the mouse."""
    scores = session.importance(layer)
    outs = list(range(scores.shape[0]))
    ins = list(range(scores.shape[1]))
    if sort == "importance":
        outs, ins = _top_nodes(scores, 1, len(outs)), _top_nodes(scores, 0, len(ins))
    z = scores[outs][:, ins]
    data = [[[layer, o, i] for i in ins] for o in outs]
    fig = go.Figure(go.Heatmap(
        z=z.tolist(), x=[str(i) for i in ins], y=[str(o) for o in outs], customdata=data,
        colorscale="Blues", colorbar={"title": "importance"},
        hovertemplate="out %{y} <- in %{x}<br>importance %{z:.4g}<extra></extra>",
    ))
    order = "by importance (strongest top-left)" if sort == "importance" else "by channel index"
    fig.update_layout(
        height=max(260, min(700, 22 * len(outs) + 120)), margin={"l": 50, "r": 10, "t": 40, "b": 40},
        title={"text": f"{layer}: {len(outs)} x {len(ins)} edges, sorted {order}; drag to zoom, click a cell",
               "font": {"size": 13}},
        xaxis={"title": "input channel", "type": "category"}, yaxis={"title": "output", "type": "category",
                                                                   "autorange": "reversed"},
    )
    return to_json(fig)


def edge_figure(detail: dict[str, Any]) -> dict[str, Any]:
    """The edge's function over its data's range (per kernel tap for convs), with the data's
    histogram under it and the best symbolic fit dashed."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.04)
    x = detail["x"]
    for t, tap in enumerate(detail["taps"]):
        kernel = detail["kernel"]
        where = f"tap {divmod(t, kernel[-1]) if len(kernel) == 2 else t}"
        fig.add_trace(go.Scatter(x=x, y=tap, mode="lines", name=where, line={"width": 1}, opacity=0.55,
                                 legendgroup="taps"), row=1, col=1)
    label = "summed over taps" if detail["taps"] else "edge function"
    fig.add_trace(go.Scatter(x=x, y=detail["function"], mode="lines", name=label,
                             line={"width": 3, "color": "#1f77b4"}), row=1, col=1)
    if detail["fits"]:
        best = detail["fits"][0]
        xs = torch.tensor(x, dtype=torch.float64)
        fit = SymbolicFit(best["fn"], best["a"], best["b"], best["c"], best["d"], best["r2"])
        fig.add_trace(go.Scatter(x=x, y=fit(xs).tolist(), mode="lines", name=f"best fit ({best['fn']})",
                                 line={"dash": "dash", "color": "#d62728"}), row=1, col=1)
    edges = detail["histogram"]["edges"]
    centers = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    fig.add_trace(go.Bar(x=centers, y=detail["histogram"]["counts"], name="data", marker={"color": "#999"},
                         width=(edges[1] - edges[0]) if len(edges) > 1 else None, showlegend=False), row=2, col=1)
    low, high = detail["fit_range"]
    for row in (1, 2):
        fig.add_vrect(x0=low, x1=high, fillcolor="rgba(255,200,0,0.08)", line_width=0, row=row, col=1)
    fig.update_layout(
        height=430, margin={"l": 50, "r": 10, "t": 40, "b": 40}, legend={"font": {"size": 10}},
        title={"text": f"{detail['layer']}: out {detail['out']} <- in {detail['in']}", "font": {"size": 14}},
    )
    fig.update_xaxes(title_text="input value (shaded: 1%..99% of the data, the fit range)", row=2, col=1)
    fig.update_yaxes(title_text="phi(x)", row=1, col=1)
    fig.update_yaxes(title_text="count", row=2, col=1)
    return to_json(fig)


def confusion_change(state: dict[str, Any]) -> dict[str, Any]:
    """Change of the confusion matrix (rows: true class, columns: predicted) since the start."""
    change = state["confusion_change"]
    limit = max(1, max(abs(v) for row in change for v in row))
    classes = [str(c) for c in state["classes"]]
    fig = go.Figure(go.Heatmap(
        z=change, x=classes, y=classes, zmin=-limit, zmax=limit, colorscale="RdBu",
        text=[[str(v) if v else "" for v in row] for row in change], texttemplate="%{text}",
        hovertemplate="true %{y}, predicted %{x}: %{z:+d}<extra></extra>",
    ))
    fig.update_layout(
        height=360, margin={"l": 60, "r": 10, "t": 40, "b": 50},
        title={"text": f"Confusion change on {state['held_out']:,} held-out images", "font": {"size": 13}},
        xaxis={"title": "predicted", "type": "category"},
        yaxis={"title": "true", "type": "category", "autorange": "reversed"},
    )
    return to_json(fig)


def image_figures(detail: dict[str, Any]) -> dict[str, Any]:
    """A held-out image, its class probabilities, and per KAN layer the input channels that
    carry its prediction (bars; click one to open its strongest edge)."""
    image = detail["image"]
    if isinstance(image[0][0], list):
        picture = go.Image(z=image)
    else:
        picture = go.Heatmap(z=image, colorscale="gray", showscale=False, hoverinfo="skip")
    left = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], subplot_titles=(
        f"true {detail['classes'][detail['label']]}, predicted {detail['classes'][detail['pred']]}",
        "class probabilities"))
    left.add_trace(picture, row=1, col=1)
    left.add_trace(go.Bar(x=[str(c) for c in detail["classes"]], y=detail["probs"], showlegend=False,
                          marker={"color": ["#d62728" if i == detail["pred"] else "#1f77b4"
                                            for i in range(len(detail["probs"]))]}), row=1, col=2)
    left.update_yaxes(autorange="reversed", scaleanchor="x", visible=False, row=1, col=1)
    left.update_xaxes(visible=False, row=1, col=1)
    left.update_layout(height=300, margin={"l": 10, "r": 10, "t": 40, "b": 30})
    names = list(detail["layers"])
    bars = make_subplots(rows=1, cols=len(names), subplot_titles=[
        f"{n}: {'signed push to the predicted class' if detail['layers'][n]['signed'] else 'mean |edge output|'}"
        for n in names])
    for col, name in enumerate(names, start=1):
        info = detail["layers"][name]
        strongest = {}
        for o, i, _ in info["edges"]:
            strongest.setdefault(i, o)
        data = [[name, detail["pred"] if info["signed"] else strongest.get(c, 0), c] for c in info["channels"]]
        bars.add_trace(go.Bar(
            x=[f"in {c}" for c in info["channels"]], y=info["values"], customdata=data, showlegend=False,
            marker={"color": ["#2ca02c" if v >= 0 else "#d62728" for v in info["values"]]},
            hovertemplate="%{x}: %{y:.4g} (click: its edge)<extra></extra>",
        ), row=1, col=col)
    bars.update_layout(height=320, margin={"l": 40, "r": 10, "t": 50, "b": 60})
    bars.update_annotations(font_size=11)
    return {"image": to_json(left), "channels": to_json(bars)}

