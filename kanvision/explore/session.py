"""An exploration session: a trained KAN, the data that shows its edges at work, and the edits.

The page is a view of one :class:`ExploreSession`; everything it shows or changes is a method
here, so a researcher gets the same numbers from Python::

    session = ExploreSession(model, images, (x_eval, y_eval))
    session.apply({"op": "prune", "threshold": 0.05})
    session.state()["accuracy"], session.undo()

Importance and each layer's input range come from ``images`` (validation images, held out of
training); accuracy and the confusion matrix from the held-out batch ``(x_eval, y_eval)``.
Undo replays the remaining (resolved) edits on a copy of the original weights, so it is exact.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from kanvision.errors import KanvisionError
from kanvision.explore.channels import edge_coefficients, edge_mask, kept_channels, nonzero_edges
from kanvision.explore.edits import Edit, edge_points, edge_taps, edit_op, fit_edge
from kanvision.inspect.edges import (
    basis_values,
    capturing_inputs,
    channel_dim,
    edge_importance,
    full_edge_weights,
    kan_layers,
)
from kanvision.layers import KANLayer
from kanvision.models.counting import count_params

SAMPLES_KEPT = 20_000  # per-layer input samples kept for ranges and histograms
IMPORTANCE_SAMPLES = 128  # at most this many images (conv) or 4x as many tokens (linear) measure importance
EVAL_CHUNK = 256


def _layer_kind(layer: KANLayer) -> str:
    return "linear" if layer.mix.weight.dim() == 2 else f"conv{layer.mix.weight.dim() - 2}d"


class ExploreSession:
    """A model under exploration (see the module docstring)."""

    def __init__(self, model: nn.Module, images: Tensor, held_out: tuple[Tensor, Tensor], *,
                 class_names: list[str] | None = None, title: str = "model",
                 mean: tuple[float, ...] = (), std: tuple[float, ...] = ()) -> None:
        if not kan_layers(model):
            raise KanvisionError(f"{title} has no KAN layers to explore: pick a model built from kanvision's KAN layers")
        self.pristine = copy.deepcopy(model).cpu().float().eval()
        self.model = copy.deepcopy(self.pristine)
        self.images = images.float()
        self.x_eval, self.y_eval = held_out[0].float(), held_out[1].long()
        self.title = title
        self.mean, self.std = tuple(mean), tuple(std)
        self.edits: list[Edit] = []
        self.effects: list[dict[str, Any]] = []
        self._probe: dict[str, dict[str, Tensor]] | None = None
        self.inputs = self._original_inputs()
        logits = self._logits()
        self.num_classes = logits.shape[1]
        self.class_names = class_names or [str(i) for i in range(self.num_classes)]
        self.baseline = self._scores(logits)

    # --- the model's data -----------------------------------------------------------------

    @torch.no_grad()
    def _original_inputs(self) -> dict[str, int]:
        """Each layer's original input channel count: the width of the tensor it is given."""
        with capturing_inputs(self.model, select=False) as captured:
            self.model(self.images[:1])
        return {name: x.shape[channel_dim(self.layers[name])] for name, x in captured.items()}

    @property
    def layers(self) -> dict[str, KANLayer]:
        return kan_layers(self.model)

    @torch.no_grad()
    def probe(self) -> dict[str, dict[str, Tensor]]:
        """Per layer, from one pass over ``images``: ``importance`` ``(out, original in)``
        (NaN where no edge is left) and ``samples`` ``(N, original in)`` of its input
        (cached until the next edit)."""
        if self._probe is not None:
            return self._probe
        with capturing_inputs(self.model, select=False) as captured:
            self.model(self.images)
        result: dict[str, dict[str, Tensor]] = {}
        for name, layer in self.layers.items():
            x, dim = captured[name], channel_dim(layer)
            full = x.movedim(dim, -1).reshape(-1, x.shape[dim]).float()
            if full.shape[0] > SAMPLES_KEPT:
                full = full[torch.randperm(full.shape[0], generator=torch.Generator().manual_seed(0))[:SAMPLES_KEPT]]
            scores = edge_importance(layer, layer.select_input_channels(x, dim), IMPORTANCE_SAMPLES)  # (out, kept)
            full_scores = torch.full((scores.shape[0], self.inputs[name]), float("nan"))
            full_scores[:, kept_channels(layer, self.inputs[name])] = scores
            full_scores[~edge_mask(layer, self.inputs[name])] = float("nan")
            result[name] = {"importance": full_scores, "samples": full}
        self._probe = result
        return result

    def importance(self, layer: str) -> Tensor:
        return self.probe()[layer]["importance"]

    def data_range(self, layer: str, channel: int) -> tuple[float, float]:
        s = self.probe()[layer]["samples"][:, channel].double()
        low, high = float(s.quantile(0.01)), float(s.quantile(0.99))
        return (low, high) if high > low else (low - 1e-3, high + 1e-3)

    # --- scores -----------------------------------------------------------------------------

    @torch.no_grad()
    def _logits(self) -> Tensor:
        return torch.cat([self.model(x) for x in self.x_eval.split(EVAL_CHUNK)]).float()

    def _scores(self, logits: Tensor) -> dict[str, Any]:
        pred = logits.argmax(1)
        n = self.num_classes
        confusion = torch.bincount(self.y_eval * n + pred, minlength=n * n).view(n, n)
        return {"accuracy": 100.0 * float((pred == self.y_eval).float().mean()), "confusion": confusion,
                "pred": pred}

    def counts(self) -> dict[str, int]:
        params = count_params(self.model)
        kan_nonzero = sum(int(p.ne(0).sum()) for layer in self.layers.values() for p in layer.parameters())
        edges = sum(nonzero_edges(layer) for layer in self.layers.values())
        return {"params": params.total, "kan_params": params.kan, "kan_nonzero": kan_nonzero, "edges": edges}

    def state(self) -> dict[str, Any]:
        """Params, accuracy on the held-out batch, the confusion change and the edits so far."""
        now = self._scores(self._logits())
        base = self.baseline
        per_class = now["confusion"].diag().float() / now["confusion"].sum(1).clamp(min=1)
        per_class0 = base["confusion"].diag().float() / base["confusion"].sum(1).clamp(min=1)
        return {
            **self.counts(),
            "params_original": count_params(self.pristine).total,
            "accuracy": round(now["accuracy"], 4),
            "accuracy_original": round(base["accuracy"], 4),
            "held_out": len(self.y_eval),
            "confusion_change": (now["confusion"] - base["confusion"]).tolist(),
            "class_accuracy_change": [round(100 * float(v), 2) for v in per_class - per_class0],
            "changed_predictions": int((now["pred"] != base["pred"]).sum()),
            "classes": self.class_names,
            "edits": [{**self._summary(e), "effect": f} for e, f in zip(self.edits, self.effects, strict=True)],
        }

    @staticmethod
    def _summary(edit: Edit) -> dict[str, Any]:
        return {"op": edit["op"], "text": edit_op(edit).describe(edit)}

    # --- surgery ----------------------------------------------------------------------------

    def apply(self, edit: Edit) -> dict[str, Any]:
        """Resolve ``edit`` on the current model, apply it, and return the new :meth:`state`."""
        op = edit_op(edit)
        resolved = op.resolve(edit, self.layers, self)
        effect = op.apply(resolved, self.layers)
        self.edits.append(resolved)
        self.effects.append(effect)
        self._probe = None
        return self.state()

    def undo(self) -> dict[str, Any]:
        """Remove the last edit (replaying the others on the original weights)."""
        return self._replay(self.edits[:-1])

    def reset(self) -> dict[str, Any]:
        return self._replay([])

    def _replay(self, edits: list[Edit]) -> dict[str, Any]:
        self.model = copy.deepcopy(self.pristine)
        self.edits, self.effects, self._probe = [], [], None
        for edit in edits:
            self.effects.append(edit_op(edit).apply(edit, self.layers))
            self.edits.append(edit)
        return self.state()

    def export(self, folder: str | Path) -> dict[str, str]:
        """Write ``model.safetensors`` (``create_model(name, pretrained=path)`` loads it) and
        ``edits.json`` (``apply_edits`` re-applies it to the original weights) into ``folder``."""
        from kanvision.models import save_pretrained

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        weights = save_pretrained(self.model, folder / "model.safetensors")
        edits = folder / "edits.json"
        edits.write_text(json.dumps({"model": self.title, "edits": self.edits}, indent=1) + "\n")
        return {"weights": str(weights), "edits": str(edits)}

    # --- what the page shows ------------------------------------------------------------------

    def layer_table(self) -> list[dict[str, Any]]:
        """One row per KAN layer: kind, shape, basis, edges left and parameters."""
        rows = []
        for name, layer in self.layers.items():
            scores = self.importance(name)
            w = layer.mix.weight
            rows.append({
                "name": name, "kind": _layer_kind(layer), "in": self.inputs[name], "out": w.shape[0],
                "kernel": list(w.shape[2:]), "basis": type(layer.basis).__name__,
                "functions": layer.expanded_per_input, "edges": int((~scores.isnan()).sum()),
                "edges_nonzero": nonzero_edges(layer), "params": sum(p.numel() for p in layer.parameters()),
            })
        return rows

    def edge(self, layer: str, out: int, channel: int, fits: int = 5) -> dict[str, Any]:
        """One edge: its function (and each kernel tap's) over the data's range, the data's
        histogram, importance and rank, and its best symbolic fits."""
        if layer not in self.layers:
            raise KanvisionError(f"unknown KAN layer {layer!r}: choose one of {list(self.layers)}")
        kan = self.layers[layer]
        if edge_coefficients(kan, out, channel) is None:
            raise KanvisionError(f"the edge {out} <- {channel} of {layer} was pruned or does not exist")
        probe = self.probe()[layer]
        scores = probe["importance"]
        samples = probe["samples"][:, channel].double()
        lo, hi = float(samples.min()), float(samples.max())
        if hi <= lo:
            lo, hi = lo - 1.0, hi + 1.0
        x = edge_points(lo, hi)
        taps = edge_taps(kan, out, channel, x)
        low, high = self.data_range(layer, channel)
        score = float(scores[out, channel])
        valid = scores[~scores.isnan()]
        counts, edges = torch.histogram(samples.float(), bins=40, range=(lo, hi))
        return {
            "layer": layer, "out": out, "in": channel, "kind": _layer_kind(kan),
            "kernel": list(kan.mix.weight.shape[2:]),
            "x": x.tolist(), "function": taps.sum(0).tolist(), "taps": taps.tolist() if len(taps) > 1 else [],
            "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
            "fit_range": [low, high],
            "importance": score, "rank": int((valid > score).sum()) + 1, "edges": int(valid.numel()),
            "fits": [{"fn": f.name, "formula": f.formula(), "r2": f.r2, "a": f.a, "b": f.b, "c": f.c, "d": f.d}
                     for f in fit_edge(kan, out, channel, low, high)[:fits]],
        }

    def top_edges(self, layer: str, k: int = 10) -> list[tuple[int, int, float]]:
        """The ``k`` most important edges ``(out, in, importance)`` of a layer."""
        scores = self.importance(layer).nan_to_num(nan=-1.0)
        order = scores.flatten().argsort(descending=True)[:k]
        cols = scores.shape[1]
        return [(int(i) // cols, int(i) % cols, float(scores.flatten()[i])) for i in order if scores.flatten()[i] >= 0]

    @torch.no_grad()
    def image(self, index: int, top: int = 12) -> dict[str, Any]:
        """One held-out image through the model: its prediction, and per KAN layer the input
        channels and edges that carry it (mean |edge output| on this image; for linear layers
        the signed contribution of each input to the predicted class)."""
        if not 0 <= index < len(self.y_eval):
            raise KanvisionError(f"image index must be in 0..{len(self.y_eval) - 1}, got {index}")
        x = self.x_eval[index : index + 1]
        layers: dict[str, dict[str, Any]] = {}
        with capturing_inputs(self.model, select=False) as captured:
            probs = self.model(x).softmax(1)[0]
        pred = int(probs.argmax())
        for name, layer in self.layers.items():
            dim = channel_dim(layer)
            kept = kept_channels(layer, self.inputs[name])
            inputs = layer.select_input_channels(captured[name], dim)
            per_edge = edge_importance(layer, inputs)  # (out, kept)
            signed = None
            if _layer_kind(layer) == "linear" and per_edge.shape[0] == self.num_classes:
                values = basis_values(layer, inputs.reshape(-1, inputs.shape[-1]).float())[0]  # (F, C)
                signed = torch.einsum("ocf,fc->oc", full_edge_weights(layer).float(), values)[pred]  # (kept,)
            score = signed.abs() if signed is not None else per_edge.sum(0)
            order = score.argsort(descending=True)[:top]
            flat = per_edge.flatten().argsort(descending=True)[:top]
            layers[name] = {
                "channels": [kept[int(i)] for i in order],
                "values": [float(signed[i] if signed is not None else score[i]) for i in order],
                "signed": signed is not None,
                "edges": [[int(i) // per_edge.shape[1], kept[int(i) % per_edge.shape[1]], float(per_edge.flatten()[i])]
                          for i in flat],
            }
        return {
            "index": index, "label": int(self.y_eval[index]), "pred": pred,
            "probs": probs.tolist(), "classes": self.class_names, "image": self._display(x[0]),
            "layers": layers,
        }

    def _display(self, x: Tensor) -> list:
        """The image un-normalised to [0, 1], as ``(H, W)`` or ``(H, W, 3)`` lists."""
        if self.mean and len(self.mean) == x.shape[0]:
            x = x * torch.tensor(self.std)[:, None, None] + torch.tensor(self.mean)[:, None, None]
        x = x.clamp(0, 1)
        return x[0].tolist() if x.shape[0] == 1 else (x[:3].permute(1, 2, 0) * 255).round().int().tolist()

