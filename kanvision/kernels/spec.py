"""What a fused kernel needs to know of a basis: its closed form, as plain numbers.

A basis family that a kernel can evaluate in registers describes itself with
:meth:`~kanvision.layers.basis.Basis.kernel_spec`, which returns a :class:`KernelBasis` (or None
where no kernel covers it, e.g. a learnable rational function). The kernels dispatch on
``kind``; adding a closed-form family to the kernels means one new kind there and one
``kernel_spec`` in the family's file.

Every kind evaluates the same two-step form per input channel ``c``:

    u = clamp((x - lo[c]) / step[c] + shift, u_min, u_max)     (the grid position)
    B_j(x) = profile(u - j)                                          (``bspline3``, ``gaussian``)

or, for ``tanh_recurrence``, ``t = tanh(x)``, ``p_0 = 1``, ``p_1 = t`` and
``p_{n+1} = a_n t p_n - b_n p_{n-1}`` with ``recurrence = (a_1, b_1, a_2, b_2, ...)``,
functions ``p_first .. p_{first + num_functions - 1}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor

KINDS = ("bspline3", "gaussian", "tanh_recurrence")


@dataclass(frozen=True)
class KernelBasis:
    """A closed-form basis as the kernels evaluate it (see the module docstring).

    ``lo`` and ``step`` are per-channel tensors (``(C,)``) or one float for every channel
    for the grid kinds, and unused for ``tanh_recurrence``; ``u_min``/``u_max`` are where the grid
    position is clamped (infinite: not clamped).
    """

    kind: str
    num_functions: int
    lo: Tensor | float = 0.0
    step: Tensor | float = 1.0
    shift: float = 0.0
    u_min: float = -math.inf
    u_max: float = math.inf
    recurrence: tuple[float, ...] = ()
    first: int = 0  # tanh_recurrence: the first polynomial's index (1: p_0 = 1 left out)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kernel basis kind {self.kind!r}; known: {', '.join(KINDS)}")
