"""Mexican-hat (Ricker) wavelets on a uniform grid of centres, in the style of Wav-KAN.

Wav-KAN (Bozorgasl & Chen, 2024, "Wav-KAN: Wavelet Kolmogorov-Arnold Networks") builds each edge
function from wavelets; the Mexican hat is its most used mother wavelet. Here the translations
are a fixed uniform grid with one shared scale, so the basis is a fixed set of K functions that
the layer mixes linearly, like every other family.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanvision.layers.basis import UniformCentresBasis, register_basis


@register_basis("wavelet")
class WaveletBasis(UniformCentresBasis):
    """``grid_size`` Mexican hats ``psi((x - c_j) / s)``, ``psi(t) = (1 - t^2) exp(-t^2 / 2)``.

    The centres ``c_j`` are uniform over ``grid_range`` and the scale ``s`` is their spacing,
    ``(high - low) / (grid_size - 1)``. The input is clamped to ``margin`` scales outside the
    grid first, where every wavelet is exactly 0, so ``t^2`` stays finite and outputs and
    gradients are finite for any finite input.
    """

    name = "wavelet"
    # beyond this many scales from the outer centres exp(-t^2 / 2) underflows to exactly 0 (even
    # in float64: exp(-800) < the smallest subnormal), so clamping there changes no value
    margin = 40.0

    def __init__(
        self,
        in_features: int,
        grid_size: int = 5,
        grid_range: tuple[float, float] = (-2.0, 2.0),
    ) -> None:
        super().__init__(in_features, grid_size, grid_range)

    @staticmethod
    def profile(t: Tensor) -> Tensor:
        t2 = t * t
        return (1.0 - t2) * torch.exp(-0.5 * t2)
