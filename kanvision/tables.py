"""Text tables for the CLIs and the README: one formatter, so every printed table looks alike."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

#: Model arguments every entry has; the others (basis options, width) tell runs and weights apart.
STANDARD_MODEL_ARGS = ("num_classes", "in_chans", "img_size", "kan")


def format_table(rows: Sequence[Sequence[str]], headers: Sequence[str], markdown: bool,
                 numeric: Collection[int] = ()) -> str:
    """``rows`` under ``headers`` as a markdown table, or as aligned plain text with the
    ``numeric`` columns right-justified."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *map(fmt, rows)])


def model_options(args: Mapping[str, Any]) -> dict[str, Any]:
    """The model arguments beyond :data:`STANDARD_MODEL_ARGS`: what sets one model apart."""
    return {k: v for k, v in args.items() if k not in STANDARD_MODEL_ARGS}


def listed_options(items: Iterable[tuple[str, Any]]) -> str:
    """``constant=False, degree=3, width_mult=0.89``: options sorted by name, floats to 3 places."""
    return ", ".join(f"{k}={round(v, 3) if isinstance(v, float) else v}" for k, v in sorted(items))


def kan_label(kan: str, *groups: Iterable[tuple[str, Any]]) -> str:
    """``gram (degree=3, width_mult=0.8; jpeg_quality=(50, 100))``: the basis, then each non-empty
    group of options (model options, then a recipe's), as the tables and listings write it."""
    parts = [listed_options(group) for group in map(list, groups) if group]
    return f"{kan} ({'; '.join(parts)})" if parts else kan
