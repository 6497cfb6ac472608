"""Unimodal least-squares fit (:func:`doseladder.core.isotonic.unimodal_fit`) against a
numerical optimiser and the defining properties, on random data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from doseladder.core.isotonic import pava, unimodal_fit


def _sse(f: list[float] | np.ndarray, y: list[float], w: list[float]) -> float:
    return float(sum(wi * (fi - yi) ** 2 for fi, yi, wi in zip(f, y, w, strict=True)))


def _optimiser_fit(y: list[float], w: list[float], mode: int) -> np.ndarray:
    """The constrained least-squares problem solved by SLSQP (an independent reference)."""
    n = len(y)
    cons = [{"type": "ineq", "fun": (lambda f, j=j: f[j + 1] - f[j])} for j in range(mode)] + [
        {"type": "ineq", "fun": (lambda f, j=j: f[j] - f[j + 1])} for j in range(mode, n - 1)
    ]
    res = minimize(
        lambda f: _sse(f, y, w),
        np.full(n, float(np.average(y, weights=w))),
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    return np.asarray(res.x)


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.1, 20.0)), min_size=1, max_size=7),
    mode_frac=st.floats(0.0, 0.999),
)
def test_unimodal_fit_is_the_least_squares_unimodal_fit(
    data: list[tuple[float, float]], mode_frac: float
) -> None:
    y = [v for v, _ in data]
    w = [wt for _, wt in data]
    mode = int(mode_frac * len(y))
    f = unimodal_fit(y, w, mode)
    # unimodal with its mode at `mode`
    assert all(f[j] <= f[j + 1] + 1e-12 for j in range(mode))
    assert all(f[j] >= f[j + 1] - 1e-12 for j in range(mode, len(y) - 1))
    # no worse than the numerical optimiser (which finds the unique optimum up to tolerance)
    ref = _optimiser_fit(y, w, mode)
    # SLSQP meets its constraints only up to a tolerance, and a slightly infeasible point can
    # have a slightly smaller SSE: allow what its violation v can buy (|dSSE| <= 2 Σw · v, as
    # |f - y| <= 1 here), on top of 1e-9
    up = [ref[j] - ref[j + 1] for j in range(mode)]
    down = [ref[j + 1] - ref[j] for j in range(mode, len(y) - 1)]
    violation = max([0.0, *up, *down])
    assert _sse(f, y, w) <= _sse(ref, y, w) + 1e-9 + 2 * sum(w) * violation
    assert np.allclose(f, ref, atol=1e-4)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=7))
def test_mode_at_the_end_is_pava(y: list[float]) -> None:
    w = [1.0] * len(y)
    assert unimodal_fit(y, w, len(y) - 1) == pytest.approx(pava(y, w))
    assert unimodal_fit(y, w, 0) == pytest.approx(pava(y[::-1], w)[::-1])


def test_unimodal_fit_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="mode"):
        unimodal_fit([0.1, 0.2], [1.0, 1.0], 2)
    with pytest.raises(ValueError, match="same length"):
        unimodal_fit([0.1, 0.2], [1.0], 0)


@settings(max_examples=200, deadline=None)
@given(
    columns=st.lists(
        st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.01, 50.0), st.booleans()),
                 min_size=1, max_size=7).filter(lambda c: len(c) > 0),
        min_size=1, max_size=6,
    ).filter(lambda cs: len({len(c) for c in cs}) == 1)
)  # fmt: skip
def test_pava_arrays_is_pava_bit_for_bit(columns: list[list[tuple[float, float, bool]]]) -> None:
    """The compiled array form (every column, masked positions skipped) returns exactly the
    scalar reference's numbers (same pooling order, same arithmetic)."""
    from doseladder.core.isotonic import pava_arrays

    values = np.array([[v for v, _, _ in c] for c in columns]).T
    weights = np.array([[w for _, w, _ in c] for c in columns]).T
    mask = np.array([[m for _, _, m in c] for c in columns]).T
    out = pava_arrays(values, weights, mask)
    for r in range(values.shape[1]):
        keep = mask[:, r]
        expected = pava(list(values[keep, r]), list(weights[keep, r]))
        assert list(out[keep, r]) == expected
        assert np.isnan(out[~keep, r]).all()
