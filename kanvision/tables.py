"""Text tables for the CLIs and the README: one formatter, so every printed table looks alike."""

from __future__ import annotations

from collections.abc import Collection, Sequence


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
