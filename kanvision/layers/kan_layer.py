"""What every KAN layer shares: expand each input channel into basis values, then mix linearly.

    expand:  x (..., C)  ->  z (..., C * (K + 1)),  z = [act(x_i), B_1(x_i), ..., B_K(x_i)] per i
    mix:     y = Linear / ConvNd over z

The mix layer's weight, viewed as ``(out, C, K + 1, ...)``, holds the base weight in slot 0 and
the basis coefficients in slots 1..K of every edge.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from kanvision.layers.basis import Basis, create_basis

_LOW_PRECISION = (torch.float16, torch.bfloat16)


class KANLayer(nn.Module):
    """Base class of KAN layers: owns the basis and the channels-last expand step.

    Subclasses set ``self.mix`` (an ``nn.Linear`` or ``nn._ConvNd`` over the expanded channels).
    ``count_params`` counts every parameter inside a ``KANLayer`` as a KAN parameter.
    """

    mix: nn.Module

    def __init__(
        self,
        in_features: int,
        *,
        basis: str,
        base_activation: type[nn.Module] = nn.SiLU,
        **basis_kwargs,
    ) -> None:
        super().__init__()
        self.basis: Basis = create_basis(basis, in_features, **basis_kwargs)
        self.base_activation = base_activation()
        self.expanded_per_input = self.basis.num_functions + 1

    def expand(self, x: Tensor) -> Tensor:
        """``(..., C) -> (..., C * (K + 1))``, computed in float32 for half-precision inputs.

        Under autocast the result is cast to the autocast dtype so the mix runs in it.
        """
        device = x.device.type
        with torch.autocast(device_type=device, enabled=False):
            xf = x.float() if x.dtype in _LOW_PRECISION else x
            z = torch.cat([self.base_activation(xf).unsqueeze(-1), self.basis(xf)], dim=-1)
            z = z.flatten(-2)
        if torch.is_autocast_enabled(device):
            return z.to(torch.get_autocast_dtype(device))
        return z.to(x.dtype)

    def _edge_weights(self) -> Tensor:
        """The mix weight viewed per edge: ``(out, in_per_group, K + 1, *kernel)``."""
        w = self.mix.weight
        return w.view(w.shape[0], -1, self.expanded_per_input, *w.shape[2:])

    @property
    def base_weight(self) -> Tensor:
        """Weight of the base-activation branch of every edge, ``(out, in_per_group, *kernel)``."""
        return self._edge_weights()[:, :, 0]

    @property
    def spline_weight(self) -> Tensor:
        """Basis coefficients of every edge, ``(out, in_per_group, K, *kernel)``."""
        return self._edge_weights()[:, :, 1:]

    @torch.no_grad()
    def reset_parameters(self, scale_base: float = 1.0, scale_basis: float = 1.0) -> None:
        """Initialise like the plain layer with the original fan-in (not the K-fold one)."""
        w = self._edge_weights()
        fan_in = w.shape[1] * math.prod(w.shape[3:])
        bound = 1.0 / math.sqrt(fan_in)
        w[:, :, 0].uniform_(-scale_base * bound, scale_base * bound)
        w[:, :, 1:].uniform_(-scale_basis * bound, scale_basis * bound)
        if self.mix.bias is not None:
            self.mix.bias.uniform_(-bound, bound)
