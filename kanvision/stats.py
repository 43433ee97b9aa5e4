"""Confidence intervals for accuracies measured on a finite test set."""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: a two-sided 95% interval


def wilson_interval(correct: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval (Wilson 1927) of a proportion ``correct / total``, as fractions.

    Unlike the normal approximation it stays inside [0, 1] and keeps its coverage near 0 and 1
    (e.g. 0 of 20 gives [0, 0.161]); with ``z`` = 1.96 it is the 95% interval."""
    if total <= 0 or not 0 <= correct <= total:
        raise ValueError(f"need 0 <= correct <= total and total > 0, got {correct} of {total}")
    p = correct / total
    z2n = z * z / total
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / total + z2n / (4 * total)) / (1 + z2n)
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_margin(p: float, q: float, total: int, z: float = Z95) -> float:
    """Half-width of the 95% interval of ``p - q``, two accuracies (fractions) each measured on
    ``total`` test images, treated as independent samples.

    Two models scored on the same images disagree on fewer images than independent samples
    would, so this margin is on the wide side; without the per-image predictions it is the
    honest bound for calling a single run of each model ahead of the other."""
    if total <= 0 or not (0 <= p <= 1 and 0 <= q <= 1):
        raise ValueError(f"need accuracies in [0, 1] and total > 0, got {p}, {q} on {total}")
    return z * math.sqrt((p * (1 - p) + q * (1 - q)) / total)
