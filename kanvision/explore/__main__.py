"""``python -m kanvision.explore``: explore a trained KAN in the browser.

    python -m kanvision.explore --model kan_convnet --pretrained mnist --data.name mnist

starts a local server on 127.0.0.1 (``--port``, 0 for any free port) and prints the page's
address. The model comes from a shipped tag (``--pretrained``), a run's weights
(``--checkpoint run.safetensors`` or a train.py ``.ckpt``) or a Hub folder
(``--model local-dir:PATH`` / ``--model hf-hub:ORG/NAME``). Importance and input ranges come from
``--images`` validation images (held out of training), accuracy from the first ``--held_out``
test images. Exports go to ``--out``. ``--export report.html`` writes a self-contained static
page instead of serving (the plots, without surgery).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from jsonargparse import ArgumentParser

from kanvision.runtime import run_cli
from kanvision.training.evaluate import (
    add_model_and_data_arguments,
    load_checked_model,
    parse,
    weights_name,
)

if TYPE_CHECKING:
    from kanvision.explore.api import ExploreApi


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m kanvision.explore", description=__doc__.splitlines()[0],
                            exit_on_error=False)
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--images", type=int, default=256, help="validation images for importance and ranges")
    parser.add_argument("--held_out", type=int, default=1000, help="test images the accuracy is measured on")
    parser.add_argument("--out", type=str, default="explore-out", help="folder for exported weights and edits")
    parser.add_argument("--export", type=str | None, default=None,
                        help="write this self-contained HTML report instead of serving")
    return add_model_and_data_arguments(parser)


def _batches(loader, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys, seen = [], [], 0
    for x, y, *_ in loader:
        xs.append(x)
        ys.append(y)
        seen += len(y)
        if seen >= count:
            break
    return torch.cat(xs)[:count], torch.cat(ys)[:count]


def _class_names(data) -> list[str] | None:
    """The dataset's class names where torchvision has them."""
    dataset = data.test_dataloader().dataset
    for _ in range(4):
        classes = getattr(dataset, "classes", None)
        if classes:
            return [str(c) for c in classes]
        dataset = getattr(dataset, "dataset", None) or getattr(dataset, "base", None)
        if dataset is None:
            break
    return None


def build_api(cfg: Any, data) -> ExploreApi:
    from kanvision.explore.api import ExploreApi
    from kanvision.explore.session import ExploreSession

    model = load_checked_model(cfg, data)
    data.setup("fit")
    images, _ = _batches(data.val_dataloader(), cfg.images)
    data.setup("test")
    held_out = _batches(data.test_dataloader(), cfg.held_out)
    weights = weights_name(cfg)
    session = ExploreSession(model, images, held_out, class_names=_class_names(data), title=weights,
                             mean=data.info.mean, std=data.info.std)
    source = {"model": cfg.model, "weights": weights, "data": data.info.name}
    return ExploreApi(session, Path(cfg.out), source)


def run(args: list[str] | None = None) -> dict[str, Any]:
    from kanvision.explore.report import write_report
    from kanvision.explore.server import bind

    cfg, data = parse(build_parser(), args)
    server = None if cfg.export else bind(cfg.port)  # a taken port is one line before any loading
    start = time.perf_counter()
    try:
        api = build_api(cfg, data)
    except BaseException:
        if server is not None:
            server.server_close()
        raise
    if server is None:
        path = write_report(api, cfg.export)
        print(f"kanvision explore | report {path} ({path.stat().st_size / 1e6:.1f} MB, "
              f"{time.perf_counter() - start:.0f} s)")
        return {"report": str(path)}
    server.api = api
    host, port = server.server_address[:2]
    print(f"kanvision explore | {api.session.title} on http://{host}:{port}/ (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return {"port": port}


def main(args: list[str] | None = None) -> None:
    """Entry point: bad input ends with a one-line ``error:`` message and exit status 2."""
    run_cli(run, args)


if __name__ == "__main__":
    main()
