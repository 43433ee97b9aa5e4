"""``--export report.html``: one self-contained page to share, with the plots but no surgery.

It stores the answers the page would ask the server for: the summary, every layer's heatmap
(both orders), the strongest edges of every layer, and the first few held-out images with the
edges of their strongest channel bars. Everything else says it is not in the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from kanvision.explore.api import ExploreApi
from kanvision.explore.page import render

REPORT_IMAGES = 3
REPORT_BARS = 4  # per layer and image, the strongest channel bars whose edges are stored


def report_answers(api: ExploreApi, images: int = REPORT_IMAGES) -> dict[str, Any]:
    answers: dict[str, Any] = {}

    def store(route: str, params: dict[str, Any] | None = None) -> Any:
        key = f"{route}?{urlencode(params)}" if params else route
        if key not in answers:
            answers[key] = api.call("GET", route, {k: str(v) for k, v in (params or {}).items()})
        return answers[key]

    summary = store("summary")
    edges = {(layer, o, i) for layer, top in summary["top_edges"].items() for o, i, _ in top}
    for layer in api.session.layers:
        for sort in ("importance", "index"):
            store("layer", {"name": layer, "sort": sort})
    for index in range(min(images, len(api.session.y_eval))):
        answer = store("image", {"index": index})
        for trace in answer["channels"]["data"]:
            edges.update(tuple(d) for d in (trace.get("customdata") or [])[:REPORT_BARS])
    for layer, out, channel in sorted(edges):
        store("edge", {"layer": layer, "out": out, "in": channel})
    return answers


def write_report(api: ExploreApi, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(api.session.title, report_answers(api)), encoding="utf-8")
    return path
