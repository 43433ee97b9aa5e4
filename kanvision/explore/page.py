"""The explorer's page: packaged HTML, CSS and JavaScript plus plotly.js from the plotly package,
so it works offline (no CDN). The live page links them from the local server; the static report
inlines them with the stored answers into one self-contained file."""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from typing import Any

STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css", "plotly.min.js": "text/javascript"}


def asset(name: str) -> bytes:
    """A packaged asset by file name (plotly.js comes from the installed plotly package)."""
    if name == "plotly.min.js":
        import plotly

        return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    if name not in STATIC_FILES:
        raise FileNotFoundError(name)
    return resources.files("kanvision.explore").joinpath("static", name).read_bytes()


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def render(title: str, answers: dict[str, Any] | None = None) -> str:
    """The page: live (assets from the server) or, with ``answers``, the static report."""
    template = resources.files("kanvision.explore").joinpath("static", "index.html").read_text()
    if answers is None:
        parts = {
            "STYLE": '<link rel="stylesheet" href="/static/style.css">',
            "PLOTLY": '<script src="/static/plotly.min.js"></script>',
            "APP": '<script src="/static/app.js"></script>',
            "BOOT": _script_json({"mode": "live"}),
            "DOWNLOADS": '<a id="download-weights" href="/download/weights" download>model.safetensors</a>\n'
                         '    <a id="download-edits" href="/download/edits" download>edits.json</a>',
        }
    else:
        parts = {
            "STYLE": f"<style>{asset('style.css').decode()}</style>",
            "PLOTLY": f"<script>{asset('plotly.min.js').decode()}</script>",
            "APP": f"<script>{asset('app.js').decode()}</script>",
            "BOOT": _script_json({"mode": "static", "answers": answers}),
            "DOWNLOADS": "",
        }
    parts["TITLE"] = html.escape(title)
    for key, value in parts.items():
        template = template.replace("{{" + key + "}}", value)
    return template
