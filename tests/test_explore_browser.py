"""The explorer end to end in a real headless browser: Playwright driving Debian's chromium
(both installed by .ci/run), on the shipped MNIST model. Open the page, click an edge (a link and
a heatmap cell) and see its plot, prune and see params and accuracy change, check them against
the Python API, undo and see them restored. Nothing outside 127.0.0.1 may be fetched."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from kanvision.explore.__main__ import build_api, build_parser
from kanvision.explore.server import bind
from kanvision.training.evaluate import parse

CHROMIUM = "/usr/bin/chromium"
REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
THRESHOLD = "0.3"


def _browser_or_skip():
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("playwright (pip install -e '.[dev]')")
        sync_playwright = None
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing.append("chromium (apt-get install chromium)")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI installs the browser test's tools; missing: {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)}")
    return sync_playwright


def _args(out: Path, data: str, extra: list[str]) -> list[str]:
    return ["--model", "kan_convnet", "--pretrained", "mnist", "--data.name", "mnist", "--images", "128",
            "--held_out", "500", "--out", str(out), "--data.root", data, *extra]


def _page_numbers(page) -> tuple[str, str]:
    return page.text_content("#stat-params"), page.text_content("#stat-accuracy")


def _explore_in_browser(tmp_path: Path, data: str, extra: list[str]) -> None:
    sync_playwright = _browser_or_skip()
    cfg, datamodule = parse(build_parser(), _args(tmp_path / "out", data, extra))
    server = bind(0)
    server.api = build_api(cfg, datamodule)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    errors: list[str] = []
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", only_local)

            def idle():
                page.wait_for_function("document.body.dataset.busy === '0'", timeout=120_000)

            page.goto(base + "/")
            idle()
            params0, acc0 = _page_numbers(page)
            assert params0 == "183,994" and acc0.endswith("%")

            page.click(".edge-link >> nth=0")  # the strongest edge of the first layer
            idle()
            assert page.locator("#edge-plot .main-svg").count() > 0
            assert "rank 1 of" in page.text_content("#edge-info")

            page.select_option("#layer-select", "head")
            idle()
            drag = page.locator("#heatmap .nsewdrag").first
            drag.scroll_into_view_if_needed()
            box = drag.bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            idle()
            assert "head (linear) edge" in page.text_content("#edge-info")

            page.fill("#prune-threshold", THRESHOLD)
            page.click("#prune-btn")
            idle()
            params1, acc1 = _page_numbers(page)
            assert params1 != params0 and acc1 != acc0, (params0, acc0, params1, acc1)

            session = build_api(cfg, datamodule).session  # the same edit through the Python API
            state = session.apply({"op": "prune", "threshold": float(THRESHOLD), "layer": None})
            assert (f"{state['params']:,}", f"{state['accuracy']:.2f}%") == (params1, acc1)

            page.click("#undo-btn")
            idle()
            assert _page_numbers(page) == (params0, acc0)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert errors == [], errors
    assert outside == [], f"the page fetched from outside 127.0.0.1: {outside}"


def test_explore_in_a_real_browser(tmp_path, tiny_data):
    _explore_in_browser(tmp_path, str(tiny_data), ["--data.val_size", "64"])


@pytest.mark.slow
@pytest.mark.skipif(not (REAL_DATA / "MNIST" / "raw").is_dir(), reason="the real MNIST files are not here")
def test_explore_in_a_real_browser_on_real_mnist(tmp_path):
    _explore_in_browser(tmp_path, str(REAL_DATA), [])
