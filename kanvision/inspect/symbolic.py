"""Fit learned 1-D KAN edge functions to simple formulas (a vectorised ``auto_symbolic``).

Every edge of a KAN layer is a learned function of one variable. To read a trained layer as a
formula, each edge sampled at points ``x`` is fitted to ``c * f(a * x + b) + d`` for every
candidate ``f`` of :data:`SYMBOLIC_LIBRARY`, and the simplest candidate that fits about as well
as the best is kept. The fit grid-searches ``(a, b)`` on a lattice (all lattice points at once),
solves ``c, d`` in closed form by linear least squares for every lattice point and edge, and then
refines ``(a, b)`` per edge on a few shrinking local lattices around the best points. Everything
runs in float64 and is chunked over edges so memory stays bounded however many edges are fitted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from kanvision.errors import unknown_name

__all__ = [
    "SYMBOLIC_LIBRARY",
    "Candidate",
    "SymbolicFit",
    "fit_symbolic",
    "formula_for_layer",
]

EXP_CLAMP = 40.0
"""``exp`` evaluates ``exp(min(u, EXP_CLAMP))``: finite (and squarable in float64) anywhere."""

LOG_EPS = 1e-6
"""``log`` evaluates ``log(|u| + LOG_EPS)``: finite at and below zero."""

R2_TOLERANCE = 1e-3
"""Candidates whose R^2 is within this of the best count as equally good; the simplest wins."""

_CHUNK_ELEMENTS = 8_000_000  # float64 values per (edges x lattice x points) block: 64 MB
_REFINE_POINTS = 5  # per axis of each local refinement lattice
_REFINE_STARTS = 4  # best coarse lattice points refined per edge and candidate


class Candidate(NamedTuple):
    """One formula of the library.

    ``fn`` is evaluated elementwise on ``u = a * x + b``; ``template`` renders it with ``{}``
    standing for the inner expression (``None``: the constant function, rendered as ``d`` only);
    ``complexity`` breaks ties between equally good fits (1 for x and 0, 2 for x^2 and abs, 3 for
    the rest, as in pykan); ``inner=False`` fixes ``a = 1, b = 0`` (no lattice search).
    """

    fn: Callable[[Tensor], Tensor]
    template: str | None
    complexity: int
    inner: bool = True

    @property
    def n_params(self) -> int:
        """Free parameters of ``c * f(a * x + b) + d``: the second tie-break after complexity."""
        if self.template is None:
            return 1
        return 4 if self.inner else 2


SYMBOLIC_LIBRARY: dict[str, Candidate] = {
    "0": Candidate(torch.zeros_like, None, 1, inner=False),
    "x": Candidate(lambda u: u, "{}", 1, inner=False),
    "x^2": Candidate(torch.square, "({})^2", 2),
    "abs": Candidate(torch.abs, "|{}|", 2),
    "x^3": Candidate(lambda u: u * u * u, "({})^3", 3),
    "sin": Candidate(torch.sin, "sin({})", 3),
    "tanh": Candidate(torch.tanh, "tanh({})", 3),
    # safe versions: exp saturates above EXP_CLAMP, sqrt is the even extension sqrt(|u|),
    # log is log(|u| + LOG_EPS); on their natural domain they equal the usual functions
    "exp": Candidate(lambda u: torch.exp(u.clamp(max=EXP_CLAMP)), "exp({})", 3),
    "sqrt": Candidate(lambda u: torch.sqrt(u.abs()), "sqrt(|{}|)", 3),
    "log": Candidate(lambda u: torch.log(u.abs() + LOG_EPS), "log(|{}|)", 3),
}
"""Candidate formulas by name; add an entry to make :func:`fit_symbolic` consider it."""


def _candidate(name: str) -> Candidate:
    try:
        return SYMBOLIC_LIBRARY[name]
    except KeyError:
        raise unknown_name(
            "symbolic candidate",
            name,
            SYMBOLIC_LIBRARY,
            "see kanvision.inspect.symbolic.SYMBOLIC_LIBRARY",
        ) from None


def _num(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, never rendered as ``-0.000``."""
    text = f"{value:.{digits}f}"
    return f"{0.0:.{digits}f}" if float(text) == 0.0 else text


def _join(terms: Sequence[str]) -> str:
    """Sum rendered terms, writing ``a + -b`` as ``a - b``."""
    if not terms:
        return "0"
    out = terms[0]
    for term in terms[1:]:
        out += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
    return out


@dataclass(frozen=True)
class SymbolicFit:
    """The best fit ``c * f(a * x + b) + d`` of one edge, ``f = SYMBOLIC_LIBRARY[name]``."""

    name: str
    a: float
    b: float
    c: float
    d: float
    r2: float

    def __call__(self, x: Tensor) -> Tensor:
        """Evaluate the fitted formula at ``x`` (with the library's safe version of ``f``)."""
        fn = _candidate(self.name).fn
        return self.c * fn(self.a * x + self.b) + self.d

    def formula(self, var: str = "x", digits: int = 3) -> str:
        """Render the fit, e.g. ``0.998*sin(1.002*x + 0.000) - 0.001``.

        The constant candidate renders as ``d`` alone, candidates without an inner affine map
        (``x``) as ``c*x + d``.
        """
        cand = _candidate(self.name)
        if cand.template is None:
            return _num(self.d, digits)
        inner = _join([f"{_num(self.a, digits)}*{var}", _num(self.b, digits)])
        arg = inner if cand.inner else var
        return _join([f"{_num(self.c, digits)}*{cand.template.format(arg)}", _num(self.d, digits)])


def _affine_fit(
    f_vals: Tensor, y_c: Tensor, ss_tot: Tensor, y_mean: Tensor, flat: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Least-squares ``y ~ c * f + d`` for every edge and lattice point: (r2, c, d), each (E, L).

    ``f_vals`` is (L, P) (one lattice shared by all edges) or (E, L, P) (a lattice per edge);
    ``y_c`` is the centred targets (E, P); ``flat`` marks edges whose ``ss_tot`` is ~0, which
    every candidate fits exactly (R^2 = 1). An ``f`` that is constant over the samples (up to
    rounding) gets ``c = 0``.
    """
    f_mean = f_vals.mean(-1)
    f_c = f_vals - f_mean.unsqueeze(-1)
    s_ff = f_c.square().sum(-1)
    varies = s_ff > 1e-16 * f_vals.square().sum(-1)
    if f_vals.dim() == 2:
        s_fy = y_c @ f_c.T
    else:
        s_fy = torch.einsum("elp,ep->el", f_c, y_c)
    c = torch.where(varies, s_fy / torch.where(varies, s_ff, 1.0), 0.0)
    ss_res = (ss_tot.unsqueeze(-1) - c * s_fy).clamp(min=0.0)
    ratio = ss_res / torch.where(flat, 1.0, ss_tot).unsqueeze(-1)
    r2 = torch.where(flat.unsqueeze(-1), 1.0, (1.0 - ratio).clamp(min=0.0, max=1.0))
    d = y_mean.unsqueeze(-1) - c * f_mean
    return r2, c, d


def _fit_candidate(
    cand: Candidate,
    x: Tensor,
    y: Tensor,
    a_range: tuple[float, float],
    b_range: tuple[float, float],
    grid: int,
    refine: int,
) -> Tensor:
    """Best (a, b, c, d, r2) of one candidate for every edge: (E, 5)."""
    n_points = x.numel()
    y_mean = y.mean(-1)
    y_c = y - y_mean.unsqueeze(-1)
    ss_tot = y_c.square().sum(-1)
    scale = y.abs().amax(-1)
    flat = ss_tot <= n_points * (1e-10 * scale).square()

    if cand.inner:
        a_vals = torch.linspace(a_range[0], a_range[1], grid, dtype=x.dtype)
        b_vals = torch.linspace(b_range[0], b_range[1], grid, dtype=x.dtype)
        a_lat, b_lat = (t.reshape(-1) for t in torch.meshgrid(a_vals, b_vals, indexing="ij"))
    else:
        a_lat, b_lat = x.new_ones(1), x.new_zeros(1)
    f_vals = cand.fn(a_lat.unsqueeze(-1) * x + b_lat.unsqueeze(-1))  # (L, P)
    r2, c, d = _affine_fit(f_vals, y_c, ss_tot, y_mean, flat)
    # keep the few best lattice points per edge: refining only the best one can get stuck in
    # a worse basin (e.g. at the edge of the range) next to a better one
    starts = min(_REFINE_STARTS if cand.inner and refine > 0 else 1, r2.shape[-1])
    r2, top = r2.topk(starts, dim=-1)  # (E, S)
    a, b = a_lat[top], b_lat[top]
    c, d = c.gather(-1, top), d.gather(-1, top)

    if cand.inner and refine > 0 and grid > 1:
        n_edges = y.shape[0]
        rows = (t.repeat_interleave(starts, dim=0) for t in (y_c, ss_tot, y_mean, flat))
        y_c, ss_tot, y_mean, flat = rows  # one row per (edge, start)
        a, b, c, d, r2 = (t.reshape(-1) for t in (a, b, c, d, r2))
        steps = torch.linspace(-1.0, 1.0, _REFINE_POINTS, dtype=x.dtype)
        offsets = torch.cartesian_prod(steps, steps)  # (R*R, 2)
        span_a = (a_range[1] - a_range[0]) / (grid - 1)
        span_b = (b_range[1] - b_range[0]) / (grid - 1)
        for _ in range(refine):
            a_loc = (a.unsqueeze(-1) + span_a * offsets[:, 0]).clamp(*a_range)  # (E*S, R*R)
            b_loc = (b.unsqueeze(-1) + span_b * offsets[:, 1]).clamp(*b_range)
            f_loc = cand.fn(a_loc.unsqueeze(-1) * x + b_loc.unsqueeze(-1))  # (E*S, R*R, P)
            r2_l, c_l, d_l = _affine_fit(f_loc, y_c, ss_tot, y_mean, flat)
            idx = r2_l.argmax(-1, keepdim=True)
            better = r2_l.gather(-1, idx).squeeze(-1) > r2
            a, b, c, d, r2 = (
                torch.where(better, new.gather(-1, idx).squeeze(-1), old)
                for new, old in ((a_loc, a), (b_loc, b), (c_l, c), (d_l, d), (r2_l, r2))
            )
            span_a, span_b = span_a / 2, span_b / 2
        a, b, c, d, r2 = (t.reshape(n_edges, starts) for t in (a, b, c, d, r2))
    best = r2.argmax(-1, keepdim=True)
    a, b, c, d, r2 = (t.gather(-1, best).squeeze(-1) for t in (a, b, c, d, r2))
    return torch.stack([a, b, c, d, r2], dim=-1)


def fit_symbolic(
    x: Tensor,
    y: Tensor,
    candidates: Sequence[str] | None = None,
    a_range: tuple[float, float] = (-10.0, 10.0),
    b_range: tuple[float, float] = (-10.0, 10.0),
    grid: int = 21,
    refine: int = 8,
) -> list[SymbolicFit]:
    """Fit each of E edge functions to ``c * f(a * x + b) + d`` over the candidate library.

    ``x`` is (P,) sample points and ``y`` is (E, P) (or (P,) for one edge): the edge values at
    them. For each candidate, ``(a, b)`` is searched on a ``grid x grid`` lattice over
    ``a_range x b_range``; around each of the 4 best lattice points it is then refined ``refine``
    times on a 5 x 5 local lattice of half the previous spacing (0 disables refinement), staying
    inside the ranges; ``c, d`` are exact least squares. Candidates without an inner map (``x``,
    ``0``) are fitted directly. Per edge the result is the candidate of lowest
    complexity (then fewest parameters, then highest R^2) among those whose R^2 is within
    :data:`R2_TOLERANCE` of the best; R^2 = 1 - SS_res / SS_tot, and 1 for a constant edge.
    Returns one :class:`SymbolicFit` per edge.
    """
    names = list(SYMBOLIC_LIBRARY) if candidates is None else list(candidates)
    if not names:
        raise ValueError("fit_symbolic needs at least one candidate; pass candidates=None for all")
    cands = [_candidate(name) for name in names]
    if x.dim() != 1 or x.numel() < 2:
        raise ValueError(f"x must be 1-D with at least 2 points, got shape {tuple(x.shape)}")
    y2 = y.unsqueeze(0) if y.dim() == 1 else y
    if y2.dim() != 2 or y2.shape[-1] != x.numel():
        raise ValueError(
            f"y must be (E, P) with P = len(x) = {x.numel()}, got shape {tuple(y.shape)}"
        )
    if grid < 1:
        raise ValueError(f"grid must be >= 1, got {grid}")
    x64 = x.detach().to("cpu", torch.float64)
    y64 = y2.detach().to("cpu", torch.float64)
    if not (torch.isfinite(x64).all() and torch.isfinite(y64).all()):
        raise ValueError("x and y must be finite (no NaN or inf) to fit formulas")
    a_rng = (float(min(a_range)), float(max(a_range)))
    b_rng = (float(min(b_range)), float(max(b_range)))

    n_edges, n_points = y64.shape
    lattice = max(grid * grid, _REFINE_STARTS * _REFINE_POINTS**2)
    chunk = max(1, _CHUNK_ELEMENTS // (lattice * n_points))
    simplicity = torch.tensor(  # order by complexity, then by parameter count
        [8.0 * cand.complexity + cand.n_params for cand in cands], dtype=torch.float64
    )
    fits: list[SymbolicFit] = []
    for start in range(0, n_edges, chunk):
        y_chunk = y64[start : start + chunk]
        params = torch.stack(
            [_fit_candidate(cand, x64, y_chunk, a_rng, b_rng, grid, refine) for cand in cands],
            dim=1,
        )  # (E, K, 5)
        r2 = params[..., 4]
        good = r2 >= r2.amax(-1, keepdim=True) - R2_TOLERANCE
        key = torch.where(good, simplicity, math.inf)
        simplest = good & (key == key.amin(-1, keepdim=True))
        pick = torch.where(simplest, r2, -math.inf).argmax(-1)  # then the best R^2
        chosen = params[torch.arange(len(pick)), pick]
        for k, row in zip(pick.tolist(), chosen.tolist()):
            a, b, c, d, r = row
            fits.append(SymbolicFit(names[k], a, b, c, d, r))
    return fits


def formula_for_layer(
    fits: Sequence[Sequence[SymbolicFit]],
    bias: Sequence[float] | None,
    inputs: Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
    min_r2: float = 0.0,
    digits: int = 3,
) -> list[str]:
    """One line ``y_o = <sum_i fits[o][i] at inputs[i]> + bias_o`` per output of a linear KAN layer.

    Edges fitted as the constant ``0`` with ``|d|`` below the printed precision are left out; an
    edge whose R^2 is below ``min_r2`` is not trusted as a formula and appears as the opaque
    ``f_o_i(x_i)``. Names default to ``x_0, x_1, ...`` and ``y_0, y_1, ...``.
    """
    n_out = len(fits)
    n_in = len(fits[0]) if n_out else 0
    if any(len(row) != n_in for row in fits):
        raise ValueError("fits must be a rectangular [outputs][inputs] table of SymbolicFit")
    inputs = [f"x_{i}" for i in range(n_in)] if inputs is None else list(inputs)
    outputs = [f"y_{o}" for o in range(n_out)] if outputs is None else list(outputs)
    if len(inputs) != n_in or len(outputs) != n_out:
        raise ValueError(
            f"got {len(inputs)} input and {len(outputs)} output names for a layer with "
            f"{n_in} inputs and {n_out} outputs"
        )
    if bias is not None and len(bias) != n_out:
        raise ValueError(f"bias has {len(bias)} entries, the layer has {n_out} outputs")
    tiny = 0.5 * 10.0**-digits
    lines = []
    for o, row in enumerate(fits):
        terms = []
        for i, fit in enumerate(row):
            if fit.r2 < min_r2:
                terms.append(f"f_{o}_{i}({inputs[i]})")
            elif _candidate(fit.name).template is not None or abs(fit.d) >= tiny:
                terms.append(fit.formula(var=inputs[i], digits=digits))
        if bias is not None and abs(float(bias[o])) >= tiny:
            terms.append(_num(float(bias[o]), digits))
        lines.append(f"{outputs[o]} = {_join(terms)}")
    return lines
