"""``crm_fit_arrays`` integrates once per distinct (n, y) pattern: the batch result equals the
fit of every trial alone, whatever the mix of repeated and distinct histories (random batches,
small and large dose counts so that both the packed-key and the row-wise grouping are used)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core.designs.crm_model import crm_fit_arrays, getprior


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(2, 14),
    max_count=st.sampled_from([3, 30, 200]),
    rows=st.integers(1, 40),
    repeats=st.integers(1, 4),
    model=st.sampled_from(["empiric", "logistic"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_batch_fit_equals_each_trial_alone(
    k: int, max_count: int, rows: int, repeats: int, model: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    sk = getprior(0.05, 0.25, int(rng.integers(1, k + 1)), k)
    n = rng.integers(0, max_count + 1, size=(k, rows))
    y = rng.binomial(n, 0.3)
    # repeat some trials, shuffled, so that patterns recur at random places
    order = rng.permutation(rows * repeats) % rows
    n, y = n[:, order], y[:, order]
    est, mtd = crm_fit_arrays(sk, 0.25, n, y, model=model)
    for r in range(n.shape[1]):
        e1, m1 = crm_fit_arrays(sk, 0.25, n[:, r : r + 1], y[:, r : r + 1], model=model)
        assert est[r] == pytest.approx(e1[0], rel=1e-12, abs=1e-12)
        assert mtd[r] == m1[0]


def test_empty_batch() -> None:
    sk = getprior(0.05, 0.25, 2, 4)
    empty = np.zeros((4, 0), dtype=np.int64)
    est, mtd = crm_fit_arrays(sk, 0.25, empty, empty)
    assert est.shape == (0,) and mtd.shape == (0,)


def _adaptive_posterior_mean(
    skeleton: list[float], n: list[int], y: list[int], model: str, c: float = 3.0
) -> float:
    """E[a | data] by adaptive quadrature (scipy ``quad``, relative tolerance 1e-12)."""
    import math

    from scipy.integrate import quad

    s2 = 1.34
    sk = np.asarray(skeleton)

    def log_post(a: float) -> float:
        if model == "empiric":
            logp = math.exp(a) * np.log(sk)
            log1mp = np.log1p(-np.exp(logp))
        else:
            eta = c + math.exp(a) * (np.log(sk / (1 - sk)) - c)
            logp, log1mp = -np.logaddexp(0, -eta), -np.logaddexp(0, eta)
        ni, yi = np.asarray(n), np.asarray(y)
        return float(yi @ logp + (ni - yi) @ log1mp) - a * a / (2 * s2)

    grid = np.linspace(-12, 12, 4801)
    vals = np.array([log_post(a) for a in grid])
    top, mode = vals.max(), float(grid[vals.argmax()])

    def f(a: float) -> float:
        return math.exp(log_post(a) - top)

    kw = {"points": [mode], "limit": 500, "epsabs": 0.0, "epsrel": 1e-12}
    num = quad(lambda a: a * f(a), -15, 15, **kw)[0]
    den = quad(f, -15, 15, **kw)[0]
    return float(num / den)


@pytest.mark.parametrize(
    ("n", "y", "model"),
    [
        ([27, 0, 0], [5, 0, 0], "logistic"),  # 256 nodes missed this by 1.5e-5
        ([30, 0, 0], [6, 0, 0], "empiric"),
        ([3, 24, 3], [0, 6, 2], "logistic"),
        ([6, 6, 24], [0, 1, 9], "empiric"),
    ],
)
def test_concentrated_posteriors_against_adaptive_quadrature(
    n: list[int], y: list[int], model: str
) -> None:
    sk = [0.25, 0.3545004276151119, 0.4603431110853069]
    est, _ = crm_fit_arrays(sk, 0.25, np.array(n)[:, None], np.array(y)[:, None], model=model)
    assert est[0] == pytest.approx(_adaptive_posterior_mean(sk, n, y, model), abs=1e-9)
