"""Symbolic fitting of edge functions: each library formula is recovered from its own samples, many
edges are fitted at once, ties go to the simplest formula, formulas render cleanly, and no
candidate produces NaN or inf anywhere on the search lattice."""

from __future__ import annotations

import math

import pytest
import torch

from kanvision.errors import UnknownNameError
from kanvision.inspect import symbolic
from kanvision.inspect.symbolic import (
    SYMBOLIC_LIBRARY,
    SymbolicFit,
    fit_symbolic,
    formula_for_layer,
)

X = torch.linspace(-1, 1, 100, dtype=torch.float64)

# name -> (a, b, c, d) of y = c * f(a * x + b) + d on X; chosen so that no simpler or other
# candidate fits as well (inflection, kink or vertex inside the range, saturation, ...)
CASES = {
    "sin": (3.0, 0.5, 1.5, -0.3),
    "tanh": (3.0, -0.5, 0.8, 0.2),
    "x^2": (1.5, 0.3, 0.7, -0.2),
    "x^3": (1.2, -0.25, 0.9, 0.1),
    "exp": (2.5, -0.5, 0.6, -1.0),
    "abs": (2.0, -0.4, 1.3, 0.5),
    "log": (2.45, 2.55, 0.8, 0.3),  # u = a x + b in [0.1, 5]: log is defined
    "sqrt": (1.9, 2.0, 1.1, -0.4),  # u in [0.1, 3.9]: sqrt is defined
}


@pytest.fixture(autouse=True)
def _one_thread():
    """The tensors here are tiny, so on a shared CPU thread hand-offs cost more than the maths."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _curve(name: str, a: float, b: float, c: float, d: float, x: torch.Tensor) -> torch.Tensor:
    return c * SYMBOLIC_LIBRARY[name].fn(a * x + b) + d


def _same(fit: SymbolicFit, other: SymbolicFit) -> bool:
    """Equal fits up to float rounding (batched and single-edge maths round differently)."""
    values = (fit.a, fit.b, fit.c, fit.d, fit.r2)
    others = (other.a, other.b, other.c, other.d, other.r2)
    return fit.name == other.name and values == pytest.approx(others, rel=1e-9, abs=1e-12)


def test_library_has_the_required_candidates() -> None:
    required = {"x", "x^2", "x^3", "sin", "tanh", "exp", "abs", "sqrt", "log", "0"}
    assert required <= set(SYMBOLIC_LIBRARY)
    complexity = {name: cand.complexity for name, cand in SYMBOLIC_LIBRARY.items()}
    assert complexity["x"] == complexity["0"] == 1
    assert complexity["x^2"] == complexity["abs"] == 2
    assert all(complexity[n] == 3 for n in ("x^3", "sin", "tanh", "exp", "sqrt", "log"))


@pytest.mark.parametrize("name", list(CASES))
def test_recovers_each_formula(name: str) -> None:
    a, b, c, d = CASES[name]
    y = _curve(name, a, b, c, d, X)
    (fit,) = fit_symbolic(X, y.unsqueeze(0))
    assert fit.name == name
    assert fit.r2 > 0.99
    # the fitted curve reproduces the samples (parameters may differ by a symmetry, e.g. sin)
    assert (fit(X) - y).abs().max().item() < 0.01 * (y.max() - y.min()).item()


def test_log_and_sqrt_match_the_usual_functions_on_their_domain() -> None:
    u = torch.linspace(0.1, 5.0, 50, dtype=torch.float64)
    assert torch.allclose(SYMBOLIC_LIBRARY["log"].fn(u), torch.log(u), atol=1e-4)
    assert torch.allclose(SYMBOLIC_LIBRARY["sqrt"].fn(u), torch.sqrt(u))
    assert torch.allclose(SYMBOLIC_LIBRARY["exp"].fn(u), torch.exp(u))


def test_many_edges_at_once() -> None:
    names = ["sin", "x^2", "abs"]
    y = torch.stack([_curve(n, *CASES[n], X) for n in names])
    fits = fit_symbolic(X, y)
    assert [f.name for f in fits] == names
    for fit, row in zip(fits, y):
        assert fit.r2 > 0.99
        assert (fit(X) - row).abs().max().item() < 0.01 * (row.max() - row.min()).item()
    # the same answers as one edge at a time
    alone = fit_symbolic(X, y[1])
    assert _same(alone[0], fits[1])


def test_chunking_over_edges_gives_the_same_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    y = torch.stack([_curve(n, *CASES[n], X) for n in ("tanh", "x^3", "exp")])
    whole = fit_symbolic(X, y, candidates=["tanh", "x^3", "exp", "x"])
    monkeypatch.setattr(symbolic, "_CHUNK_ELEMENTS", 1)  # one edge per chunk
    chunked = fit_symbolic(X, y, candidates=["tanh", "x^3", "exp", "x"])
    assert all(_same(f, g) for f, g in zip(chunked, whole, strict=True))


def test_constant_is_zero_and_linear_is_x() -> None:
    y = torch.stack([torch.full_like(X, 0.7), 2.0 * X + 1.0])
    const, line = fit_symbolic(X, y)
    assert const.name == "0"
    assert const.c == 0.0
    assert const.d == pytest.approx(0.7)
    assert const.r2 == 1.0
    assert line.name == "x"
    assert (line.c, line.d) == (pytest.approx(2.0), pytest.approx(1.0))
    assert line.r2 == pytest.approx(1.0)


def test_float32_and_one_edge_input() -> None:
    y = torch.sin(2.0 * X + 0.3).float()
    (fit,) = fit_symbolic(X.float(), y)
    assert fit.name == "sin"
    assert fit.r2 > 0.999


def test_formula_renders_signs() -> None:
    fit = SymbolicFit("sin", a=1.002, b=-0.5, c=0.998, d=-0.001, r2=1.0)
    assert fit.formula() == "0.998*sin(1.002*x - 0.500) - 0.001"
    assert fit.formula(var="t", digits=1) == "1.0*sin(1.0*t - 0.5) + 0.0"  # d rounds to 0
    fit = SymbolicFit("x^2", a=-2.0, b=0.00001, c=-1.5, d=-0.00002, r2=1.0)
    assert fit.formula() == "-1.500*(-2.000*x + 0.000)^2 + 0.000"  # no "-0.000", no "+ -"
    assert SymbolicFit("0", 1.0, 0.0, 0.0, -0.25, 1.0).formula() == "-0.250"
    assert SymbolicFit("x", 1.0, 0.0, 2.0, -1.0, 1.0).formula(var="x_3") == "2.000*x_3 - 1.000"
    assert (
        SymbolicFit("log", 1.0, 2.0, 1.0, 0.0, 1.0).formula()
        == "1.000*log(|1.000*x + 2.000|) + 0.000"
    )


def test_formula_for_layer() -> None:
    sin_fit = SymbolicFit("sin", 2.0, 0.0, 1.0, 0.0, 0.999)
    zero_fit = SymbolicFit("0", 1.0, 0.0, 0.0, 1e-6, 1.0)
    line_fit = SymbolicFit("x", 1.0, 0.0, -3.0, 0.5, 1.0)
    poor_fit = SymbolicFit("tanh", 1.0, 0.0, 1.0, 0.0, 0.4)
    fits = [[sin_fit, zero_fit], [line_fit, SymbolicFit("x^2", 1.0, 0.0, 1.0, 0.0, 1.0)]]
    lines = formula_for_layer(fits, bias=[0.1, -0.2])
    assert lines == [
        "y_0 = 1.000*sin(2.000*x_0 + 0.000) + 0.000 + 0.100",
        "y_1 = -3.000*x_0 + 0.500 + 1.000*(1.000*x_1 + 0.000)^2 + 0.000 - 0.200",
    ]
    lines = formula_for_layer(
        [[zero_fit, poor_fit]], None, inputs=["p", "q"], outputs=["out"], min_r2=0.5
    )
    assert lines == ["out = f_0_1(q)"]
    assert formula_for_layer([[zero_fit]], None) == ["y_0 = 0"]


def test_formula_for_layer_from_fitted_edges() -> None:
    names = [["sin", "x^2"], ["abs", "tanh"]]
    y = torch.stack([_curve(n, *CASES[n], X) for row in names for n in row])
    flat = fit_symbolic(X, y)
    fits = [flat[0:2], flat[2:4]]
    lines = formula_for_layer(fits, bias=[0.0, 1.0])
    assert len(lines) == 2
    assert lines[0].startswith("y_0 = ") and "sin(" in lines[0] and ")^2" in lines[0]
    assert "x_0" in lines[0] and "x_1" in lines[0]
    assert "|" in lines[1] and "tanh(" in lines[1] and lines[1].endswith("+ 1.000")


@pytest.mark.parametrize("name", list(SYMBOLIC_LIBRARY))
def test_no_nan_or_inf_on_the_whole_lattice(name: str) -> None:
    x = torch.linspace(-10, 10, 200, dtype=torch.float64)
    a = torch.linspace(-10, 10, 21, dtype=torch.float64)
    u = (a[:, None, None] * x + a[None, :, None]).reshape(-1)  # every lattice point and sample
    assert torch.isfinite(SYMBOLIC_LIBRARY[name].fn(u)).all()
    y = torch.stack(
        [
            torch.sin(x),
            x.abs().sqrt(),
            torch.full_like(x, 3.0),
            torch.randn(200, dtype=torch.float64, generator=torch.Generator().manual_seed(0)),
        ]
    )
    for fit in fit_symbolic(x, y, candidates=[name]):
        values = (fit.a, fit.b, fit.c, fit.d, fit.r2)
        assert all(math.isfinite(v) for v in values), (name, fit)
        assert 0.0 <= fit.r2 <= 1.0
        assert torch.isfinite(fit(x)).all()


def test_bad_input() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'sin'"):
        fit_symbolic(X, X, candidates=["sinn"])
    with pytest.raises(ValueError, match="y must be"):
        fit_symbolic(X, torch.zeros(2, 7))
    with pytest.raises(ValueError, match="finite"):
        fit_symbolic(X, torch.full_like(X, math.nan))
    with pytest.raises(ValueError, match="rectangular"):
        formula_for_layer([[SymbolicFit("0", 1, 0, 0, 0, 1)], []], None)
