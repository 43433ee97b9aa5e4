"""The page's API: each route is a method of :class:`ExploreApi` returning JSON-able data.

The local server answers ``GET``/``POST /api/<route>`` from it, and the static report stores
the answers of a chosen set of ``GET`` routes in the page, so both show the same figures.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kanvision.errors import KanvisionError
from kanvision.explore import figures
from kanvision.explore.session import ExploreSession


def json_ready(value: Any) -> Any:
    """``value`` with every non-finite float as None, which JSON allows."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def _int(query: dict[str, str], key: str) -> int:
    try:
        return int(query[key])
    except (KeyError, ValueError):
        raise KanvisionError(f"the request needs an integer '{key}'") from None


class ExploreApi:
    """Routes over one session; a lock serialises them (the session is not thread-safe)."""

    def __init__(self, session: ExploreSession, out: str | Path = "explore-out",
                 source: dict[str, Any] | None = None) -> None:
        self.session = session
        self.out = Path(out)
        self.source = source or {}
        self.lock = threading.Lock()
        self.get_routes: dict[str, Callable[[dict[str, str]], Any]] = {
            "summary": self.summary, "layer": self.layer, "edge": self.edge, "image": self.image,
        }
        self.post_routes: dict[str, Callable[[dict[str, Any]], Any]] = {
            "edit": self.edit, "undo": self.undo, "reset": self.reset, "export": self.export,
        }

    def call(self, method: str, route: str, payload: dict[str, Any]) -> Any:
        """A route's answer, ready for JSON (NaN and inf, e.g. removed edges' importance, as null)."""
        routes = self.get_routes if method == "GET" else self.post_routes
        if route not in routes:
            raise KanvisionError(f"no {method} route '{route}': use one of {sorted(routes)}")
        with self.lock:
            return json_ready(routes[route](payload))

    # --- GET ----------------------------------------------------------------------------------

    def _model_view(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        state = self.session.state() if state is None else state
        return {"state": state, "confusion": figures.confusion_change(state),
                "layers": self.session.layer_table(), "network": figures.network(self.session)}

    def summary(self, query: dict[str, str]) -> dict[str, Any]:
        s = self.session
        return {"title": s.title, "source": self.source, "held_out": len(s.y_eval), "images": len(s.images),
                "top_edges": {name: s.top_edges(name, 8) for name in s.layers}, **self._model_view()}

    def layer(self, query: dict[str, str]) -> dict[str, Any]:
        name = query.get("name", "")
        if name not in self.session.layers:
            raise KanvisionError(f"unknown KAN layer '{name}': choose one of {list(self.session.layers)}")
        return figures.layer_heatmap(self.session, name, query.get("sort", "importance"))

    def edge(self, query: dict[str, str]) -> dict[str, Any]:
        detail = self.session.edge(query.get("layer", ""), _int(query, "out"), _int(query, "in"))
        info = {k: v for k, v in detail.items() if k not in ("x", "function", "taps", "histogram")}
        return {"detail": info, "figure": figures.edge_figure(detail)}

    def image(self, query: dict[str, str]) -> dict[str, Any]:
        detail = self.session.image(_int(query, "index"))
        summary = {k: detail[k] for k in ("index", "label", "pred", "classes")}
        return {"detail": summary, **figures.image_figures(detail)}

    # --- POST ---------------------------------------------------------------------------------

    def edit(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._model_view(self.session.apply(body))

    def undo(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._model_view(self.session.undo())

    def reset(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._model_view(self.session.reset())

    def export(self, body: dict[str, Any]) -> dict[str, str]:
        return self.session.export(self.out)
