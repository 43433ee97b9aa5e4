"""The basis-family registry: every family is one file with one ``@register_basis`` class.

A basis maps each input channel to ``num_functions`` values: ``(..., C) -> (..., C, K)``. The
KAN layers prepend the base activation to these values and mix them with one linear or conv layer.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

import torch
from torch import Tensor, nn

from kanvision.errors import KanvisionError, unknown_name
from kanvision.kernels.spec import KernelBasis


class BasisOptionError(KanvisionError, TypeError):
    """An option that the chosen basis family does not take."""

_BASES: dict[str, type[Basis]] = {}
B = TypeVar("B", bound=type)


class Basis(nn.Module):
    """A set of K 1-D functions applied to every input channel, channels last.

    Subclasses set ``num_functions`` (K) and implement ``functions``, which returns the K functions
    as a list of ``(..., C)`` tensors (unrolled, so the compiled expand writes and pulls back each
    one as a contiguous, vectorized block). ``include_base`` says whether
    the layer prepends its base activation (SiLU) as one more function per channel. Inputs come in
    float32 (or float64) even under autocast; outputs must be finite for any finite input.
    """

    num_functions: int
    include_base: bool = True

    def functions(self, x: Tensor) -> list[Tensor]:
        """The K basis functions of every channel: K tensors shaped like ``x`` (..., C)."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """``(..., C) -> (..., C, K)``."""
        return torch.stack(self.functions(x), dim=-1)

    def kernel_spec(self) -> KernelBasis | None:
        """The closed form a fused GPU kernel evaluates in registers, or None where no kernel
        covers this family (it then runs through the compiled expand)."""
        return None


def check_grid_range(grid_range: tuple[float, float]) -> tuple[float, float]:
    """``(low, high)`` as floats, or a clear error if it is not an increasing pair."""
    lo, hi = float(grid_range[0]), float(grid_range[1])
    if not hi > lo:
        raise ValueError(f"grid_range must be (low, high) with high > low, got {grid_range}")
    return lo, hi


def register_basis(name: str) -> Callable[[B], B]:
    """Class decorator that adds a basis family under ``name``."""

    def add(cls: B) -> B:
        if name in _BASES:
            raise ValueError(f"basis '{name}' is registered twice")
        _BASES[name] = cls
        return cls

    return add


def list_bases() -> list[str]:
    """Names of the registered basis families, sorted."""
    return sorted(_BASES)


def create_basis(name: str, in_features: int, **kwargs) -> Basis:
    """Instantiate the basis family ``name`` for ``in_features`` channels."""
    if name not in _BASES:
        raise unknown_name("basis", name, _BASES, "see kanvision.layers.list_bases()")
    cls = _BASES[name]
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "in_features")]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise BasisOptionError(
            f"basis '{name}' has no option {', '.join(repr(u) for u in unknown)}: its options are "
            f"{', '.join(accepted) or 'none'}"
        )
    return cls(in_features, **kwargs)


class UniformCentresBasis(Basis):
    """Shared base of families made of one profile ``f((x - c_j) / h)`` translated over
    ``grid_size`` uniform centres ``c_j`` on ``grid_range`` (spacing h). Subclasses set ``name``,
    ``margin`` (how many spacings beyond the outer centres the profile is exactly 0, where the
    input is clamped so squares cannot overflow) and ``profile``."""

    name: str
    margin: float

    def __init__(self, in_features: int, grid_size: int, grid_range: tuple[float, float]) -> None:
        super().__init__()
        if grid_size < 2:
            raise ValueError(
                f"{self.name} needs grid_size >= 2 (two centres define the spacing), got {grid_size}"
            )
        self.in_features = in_features
        self.grid_size = grid_size
        self.grid_range = lo, hi = check_grid_range(grid_range)
        self.num_functions = grid_size
        self.spacing = (hi - lo) / (grid_size - 1)

    @staticmethod
    def profile(t: Tensor) -> Tensor:
        raise NotImplementedError

    def functions(self, x: Tensor) -> list[Tensor]:
        u = ((x - self.grid_range[0]) / self.spacing).clamp(
            -self.margin, self.grid_size - 1 + self.margin
        )
        return [self.profile(u - j) for j in range(self.grid_size)]  # (x - c_j) / h

    def extra_repr(self) -> str:
        return f"{self.in_features}, grid_size={self.grid_size}, grid_range={self.grid_range}"


def _traceable_ones_like(t: Tensor) -> Tensor:
    """``ones_like(t)``. Under the TorchScript tracer (ONNX export) it is ``t * 0 + 1``: a traced
    ``ones_like`` can be folded into a constant of the example's shape, which bakes the example's
    batch size into the exported graph."""
    if not torch.compiler.is_compiling() and torch.jit.is_tracing():
        return t * 0 + 1
    return torch.ones_like(t)


class TanhPolynomialBasis(Basis):
    """Shared base of the orthogonal-polynomial families: ``p_0 .. p_degree`` of ``t = tanh(x)``
    by a three-term recurrence. tanh bounds the input to (-1, 1), where the polynomials are
    bounded, so outputs and gradients are finite for any finite input. Subclasses set ``name``
    and implement ``next_polynomial``.

    ``constant=False`` leaves out ``p_0 = 1`` (K = degree). In a layer its weights are redundant:
    every input channel's ``p_0`` is the same constant, so only their sum over input channels
    reaches the output, as a bias (in a padded conv, a bias that changes at the border). Leaving
    it out removes 1 / (degree + 2) of the layer's weights and work (with the SiLU base) for
    the same functions up to that bias; the mix's bias, or a following norm layer, takes its place."""

    name: str

    def __init__(self, in_features: int, degree: int, constant: bool = True) -> None:
        super().__init__()
        if degree < 0:
            raise ValueError(f"{self.name} needs degree >= 0, got {degree}")
        if not constant and degree < 1:
            raise ValueError(
                f"{self.name} with constant=False needs degree >= 1 (p_0 = 1 is left out), got {degree}"
            )
        self.in_features = in_features
        self.degree = degree
        self.constant = constant
        self.num_functions = degree + int(constant)

    def next_polynomial(self, n: int, t: Tensor, p_n: Tensor, p_prev: Tensor) -> Tensor:
        """``p_{n+1}`` from ``p_n`` and ``p_{n-1}``."""
        raise NotImplementedError

    def recurrence(self, n: int) -> tuple[float, float]:
        """``(a_n, b_n)`` of ``p_{n+1} = a_n t p_n - b_n p_{n-1}``, the same recurrence as
        :meth:`next_polynomial` in the form the fused kernels evaluate."""
        raise NotImplementedError

    def kernel_spec(self) -> KernelBasis:
        coefficients = [c for n in range(1, self.degree) for c in self.recurrence(n)]
        return KernelBasis(
            "tanh_recurrence", self.num_functions, recurrence=tuple(coefficients), first=int(not self.constant)
        )

    def functions(self, x: Tensor) -> list[Tensor]:
        t = torch.tanh(x)
        polys = [_traceable_ones_like(t), t]
        for n in range(1, self.degree):
            polys.append(self.next_polynomial(n, t, polys[-1], polys[-2]))
        return polys[int(not self.constant) : self.degree + 1]

    def extra_repr(self) -> str:
        return f"{self.in_features}, degree={self.degree}" + ("" if self.constant else ", constant=False")
