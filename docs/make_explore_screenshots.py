"""Screenshots of the explorer for docs/explore.md, taken in headless chromium.

    KANVISION_DATA=/path/to/datasets python docs/make_explore_screenshots.py

opens ``python -m kanvision.explore --model kan_convnet --pretrained mnist --data.name mnist``'s
page, clicks the strongest edge of the second conv layer, prunes at 0.1 x each layer's strongest
edge, and saves ``docs/assets/explore-{network,edge,surgery,image}.png``.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from kanvision.explore.__main__ import build_api, build_parser
from kanvision.explore.server import bind
from kanvision.training.evaluate import parse

ASSETS = Path(__file__).parent / "assets"


def main() -> None:
    args = ["--model", "kan_convnet", "--pretrained", "mnist", "--data.name", "mnist", "--out", "/tmp/explore-shots"]
    cfg, data = parse(build_parser(), args)
    server = bind(0)
    server.api = build_api(cfg, data)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)

        def idle() -> None:
            page.wait_for_function("document.body.dataset.busy === '0'", timeout=300_000)

        page.goto(base)
        idle()
        page.select_option("#layer-select", "features.4")
        idle()
        page.locator("#network-section").screenshot(path=str(ASSETS / "explore-network.png"))
        page.click('.edge-link[data-layer="features.4"] >> nth=0')
        idle()
        page.locator("#edge-section").screenshot(path=str(ASSETS / "explore-edge.png"))
        page.fill("#prune-threshold", "0.1")
        page.click("#prune-btn")
        idle()
        page.evaluate("window.scrollTo(0, 0)")
        page.locator("header").screenshot(path=str(ASSETS / "explore-header.png"))
        page.locator("#surgery").screenshot(path=str(ASSETS / "explore-surgery.png"))
        page.locator("#image-section").screenshot(path=str(ASSETS / "explore-image.png"))
        browser.close()
    server.shutdown()
    print(f"wrote {', '.join(sorted(str(p) for p in ASSETS.glob('explore-*.png')))}")


if __name__ == "__main__":
    main()
