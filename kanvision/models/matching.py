"""Parameter-matched twins: widen (or narrow) a model until its parameter count meets a target.

Fair comparisons need the standard twin at the KAN model's budget, not at its own, usually far
smaller, size. ``create_model(name, kan="none", match_params=True)`` finds the ``width_mult`` of
the twin whose parameter count is closest to the KAN model's (within 5% for every registered
model). Counting builds models on the meta device, so no memory is allocated and a search over
a 100M-parameter model takes well under a second. :func:`twin_arguments` turns a KAN model's
arguments into its standard or parameter-matched twin's, which ``train.py --twin`` uses.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch

from kanvision.errors import TwinError
from kanvision.models.factory import PLAIN
from kanvision.models.registry import build_model, model_entrypoint

TOLERANCE = 0.05
TWINS = ("standard", "matched")
_MULT_RANGE = (1 / 64, 64.0)


def param_count(name: str, **kwargs: Any) -> int:
    """Parameters of ``build_model(name, **kwargs)``, counted without allocating weights."""
    try:
        with torch.device("meta"):
            model = build_model(name, **kwargs)
    except (NotImplementedError, RuntimeError):  # some op cannot run on meta: build for real
        model = build_model(name, **kwargs)
    return sum(p.numel() for p in model.parameters())


def reference_params(name: str, match: bool | str | int | Mapping[str, Any], kwargs: dict) -> int:
    """The parameter budget that ``match_params=match`` asks for.

    ``True``: the same model and arguments with its default KAN basis; a basis name: with that
    basis; a mapping: with these arguments replacing the twin's (e.g. ``{"kan": "rbf",
    "grid_size": 8}``); an int: that many parameters.
    """
    if isinstance(match, bool):
        return param_count(name, **{k: v for k, v in kwargs.items() if k != "kan"})
    if isinstance(match, int):
        return match
    if isinstance(match, str):
        return param_count(name, **{**kwargs, "kan": match})
    if isinstance(match, Mapping):
        return param_count(name, **{**{k: v for k, v in kwargs.items() if k != "kan"}, **match})
    raise TypeError(
        f"match_params must be True, a basis name, a dict of model arguments or a parameter "
        f"count, got {match!r}"
    )


def match_width(name: str, target: int, **kwargs: Any) -> float:
    """The ``width_mult`` whose model (``name`` with ``kwargs``) has the parameter count closest
    to ``target``: bisection on the monotone count, then the better of the two neighbours."""
    kwargs = {k: v for k, v in kwargs.items() if k != "width_mult"}

    def count(mult: float) -> int:
        return param_count(name, width_mult=mult, **kwargs)

    lo, hi = _MULT_RANGE
    if count(hi) < target or count(lo) > target:
        raise ValueError(
            f"no width of {name} reaches {target:,} parameters (range {count(lo):,} to "
            f"{count(hi):,}): compare against another model or change the target"
        )
    for _ in range(40):  # count(lo) <= target <= count(hi) throughout
        mid = (lo * hi) ** 0.5
        if count(mid) <= target:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-3:  # finer than one channel of any registered model
            break
    return min((lo, hi), key=lambda m: abs(count(m) - target))


def relative_gap(params: int, target: int) -> float:
    """``|params - target| / target``: how far a matched twin is from its budget."""
    return abs(params - target) / target


def architecture_options(name: str) -> frozenset[str]:
    """The named arguments of model ``name``'s builder (``width_mult``, ``kan_where``, ...); every
    other keyword it takes is a basis option handed to its KAN layers (``grid_size``, ...)."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = inspect.signature(model_entrypoint(name)).parameters.values()
    return frozenset(p.name for p in params if p.kind in named)


def twin_arguments(name: str, kan: str, kwargs: Mapping[str, Any], twin: str) -> tuple[str, dict[str, Any]]:
    """``(kan, kwargs)`` of a KAN model's twin, for a fair comparison.

    ``"standard"``: the same architecture with plain layers (basis options dropped);
    ``"matched"``: that twin widened to the KAN model's parameter count, through
    ``match_params`` naming the KAN basis and its options. Architecture options are kept, so
    the twin of a head-only KAN model (``kan_where="head"``) is matched to that model.
    """
    if twin not in TWINS:
        raise TwinError(f"unknown twin '{twin}': choose one of {list(TWINS)}")
    if kan == PLAIN:
        raise TwinError(
            f"{name} with kan='none' is already a standard model, so it has no {twin} twin: set "
            "model.kan to a basis family (e.g. bspline) and ask for its twin"
        )
    if "match_params" in kwargs:
        raise TwinError(
            f"{name} already has match_params={kwargs['match_params']!r}: drop model_kwargs."
            "match_params, or drop --twin"
        )
    arch = architecture_options(name)
    twin_kwargs = {k: v for k, v in kwargs.items() if k in arch}
    if twin == "matched":
        twin_kwargs["match_params"] = {"kan": kan, **{k: v for k, v in kwargs.items() if k not in arch}}
    return PLAIN, twin_kwargs
