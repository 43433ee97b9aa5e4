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
