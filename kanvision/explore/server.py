"""The local server behind the page: 127.0.0.1 only, standard library ``http.server``.

``GET /`` is the page, ``/static/<file>`` its packaged assets, ``GET|POST /api/<route>`` the
:class:`~kanvision.explore.api.ExploreApi` routes (JSON; a bad request gets ``{"error": ...}``
with status 400), ``/download/weights`` and ``/download/edits`` the exported files.
"""

from __future__ import annotations

import errno
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from kanvision.errors import KanvisionError
from kanvision.explore.api import ExploreApi
from kanvision.explore.page import STATIC_FILES, asset, render

HOST = "127.0.0.1"


class ExploreServer(ThreadingHTTPServer):
    """A threading HTTP server that answers from ``api`` (set once the model is loaded)."""

    daemon_threads = True
    api: ExploreApi


class Handler(BaseHTTPRequestHandler):
    """Serves the page, its assets and the API of ``self.server.api``."""

    server: ExploreServer

    def log_message(self, format: str, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value) -> None:
        self._send(status, json.dumps(value, allow_nan=False, default=str).encode(), "application/json")

    def _api(self, method: str, route: str, payload: dict) -> None:
        api = self.server.api
        try:
            self._json(200, api.call(method, route, payload))
        except KanvisionError as e:
            self._json(400, {"error": str(e)})
        except Exception as e:  # noqa: BLE001  (the page shows it; the server keeps running)
            self._json(500, {"error": f"{type(e).__name__}: {e}"})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        api = self.server.api
        if path in ("/", "/index.html"):
            self._send(200, render(api.session.title).encode(), "text/html; charset=utf-8")
        elif path.startswith("/static/") and path[len("/static/"):] in STATIC_FILES:
            name = path[len("/static/"):]
            self._send(200, asset(name), STATIC_FILES[name])
        elif path.startswith("/api/"):
            self._api("GET", path[len("/api/"):], dict(parse_qsl(url.query)))
        elif path in ("/download/weights", "/download/edits"):
            with api.lock:
                files = api.session.export(api.out)
            file = Path(files["weights" if path.endswith("weights") else "edits"])
            kind = "application/octet-stream" if file.suffix == ".safetensors" else "application/json"
            self._send(200, file.read_bytes(), kind, {"Content-Disposition": f'attachment; filename="{file.name}"'})
        else:
            self._json(404, {"error": f"no page at {path}"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as e:
            self._json(400, {"error": f"the request body is not JSON ({e})"})
            return
        if not path.startswith("/api/") or not isinstance(body, dict):
            self._json(400, {"error": "POST a JSON object to /api/<route>"})
            return
        self._api("POST", path[len("/api/"):], body)


def bind(port: int) -> ExploreServer:
    """A server bound to 127.0.0.1:``port`` (0: any free port), before any model is loaded so a
    taken port is one line at once; set its ``api`` before serving."""
    try:
        server = ExploreServer((HOST, port), Handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise KanvisionError(
                f"port {port} on {HOST} is in use: choose another with --port N (or --port 0 for any free port)"
            ) from None
        raise KanvisionError(f"cannot listen on {HOST}:{port} ({e.strerror}): choose another --port") from None
    return server
