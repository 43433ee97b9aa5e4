"""ONNX export of zoo models, its parity with PyTorch under onnxruntime, and its CPU speed.

The KAN expand is traced eagerly (``eager_expand``: no compiled or Triton kernel in the graph),
so every basis becomes plain ONNX ops; the batch axis is dynamic. Parity is checked on real test
images where the dataset is on disk: the largest absolute difference of the logits and whether
every image gets the same top-1 class. ``python -m kanvision.export`` is the command.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from kanvision.errors import KanvisionError
from kanvision.layers.fused import eager_expand

OPSET = 14  # the lowest every shipped model exports at: KAT's attention (SDPA) needs 14, the conv models 11
INPUT, OUTPUT = "images", "logits"


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise KanvisionError(
            "ONNX export needs onnx and onnxruntime: pip install 'kanvision[export]'"
        ) from None


def export_onnx(model: nn.Module, path: str | os.PathLike, input_size: tuple[int, ...],
                opset: int = OPSET) -> Path:
    """Write ``model`` (eval mode, fp32, CPU) as ONNX with a dynamic batch axis."""
    _require_onnx()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().float().cpu()
    example = torch.randn(2, *input_size)
    with eager_expand(), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            model, (example,), str(path), input_names=[INPUT], output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}, opset_version=opset,
            dynamo=False,  # the TorchScript exporter needs no onnxscript
        )
    import onnx

    onnx.checker.check_model(str(path))
    return path


def onnx_session(path: str | os.PathLike, threads: int | None = None):
    """An onnxruntime CPU session (``threads``: intra-op threads, default onnxruntime's)."""
    _require_onnx()
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@dataclass
class Parity:
    """How far onnxruntime's logits are from PyTorch's on some images."""

    images: int
    max_abs_diff: float
    same_top1: int  # images whose top-1 class agrees

    @property
    def all_same_top1(self) -> bool:
        return self.same_top1 == self.images


def parity(model: nn.Module, session, batches) -> Parity:
    """Compare PyTorch (eager expand, eval) with an onnxruntime session over ``batches`` of
    images (tensors, or ``(images, labels, ...)`` tuples)."""
    model = model.eval().float().cpu()
    images, worst, same = 0, 0.0, 0
    with eager_expand(), torch.no_grad():
        for batch in batches:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            ref = model(x.float())
            out = torch.from_numpy(session.run([OUTPUT], {INPUT: x.float().numpy()})[0])
            worst = max(worst, (out - ref).abs().max().item())
            same += int((out.argmax(1) == ref.argmax(1)).sum())
            images += x.shape[0]
    return Parity(images, worst, same)


def random_batches(input_size: tuple[int, ...], n: int = 4, batch: int = 16, seed: int = 0) -> list[Tensor]:
    """Random normalised-range images, for when no test data is at hand."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, *input_size, generator=g) for _ in range(n)]


def images_per_s(run, x: Tensor, seconds: float = 3.0) -> float:
    """Throughput of ``run(x)`` (warmed up, median of timed repeats)."""
    for _ in range(3):
        run(x)
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 5:
        start = time.perf_counter()
        run(x)
        rates.append(x.shape[0] / (time.perf_counter() - start))
    return float(np.median(rates))


def benchmark(model: nn.Module, session, input_size: tuple[int, ...], batch: int = 256,
              seconds: float = 3.0) -> dict[str, float]:
    """Images/s of PyTorch (eager expand, the inference path; no_grad) and onnxruntime on the CPU
    at one batch size, with torch's current thread count."""
    model = model.eval().float().cpu()
    x = torch.randn(batch, *input_size)
    with torch.no_grad():
        torch_rate = images_per_s(model, x, seconds)
    feed = x.numpy()
    ort_rate = images_per_s(lambda _: session.run([OUTPUT], {INPUT: feed}), x, seconds)
    return {"batch": batch, "torch_images_per_s": round(torch_rate, 1),
            "onnxruntime_images_per_s": round(ort_rate, 1), "speedup": round(ort_rate / torch_rate, 2)}
