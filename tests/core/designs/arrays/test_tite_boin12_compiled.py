"""The compiled pieces of TITE-BOIN12's array rule: SciPy's Beta functions bound for compiled
code give SciPy's values, and the compiled D is the core's formula (the rule itself,
:func:`~doseladder.core.designs.arrays.tite_boin12.decide_one`, is checked against
``TITEBOIN12.decide`` in ``test_tite_boin12.py``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy import special
from scipy.stats import beta

from doseladder.core.designs.arrays.boin12 import boin12_constants, rule_table
from doseladder.core.designs.arrays.tite_boin12 import (
    allowed_pending,
    betainc_c,
    betaincc_c,
    desirability_one,
    tite_rule,
)
from doseladder.core.designs.boin12 import desirability_values
from doseladder.core.designs.tite_boin12 import TITEBOIN12


@njit(cache=False)
def _both(a, b, x, out_i, out_c):  # type: ignore[no-untyped-def]
    for k in range(a.size):
        out_i[k] = betainc_c(a[k], b[k], x[k])
        out_c[k] = betaincc_c(a[k], b[k], x[k])


@njit(cache=False)
def _desirability(x, n, tp, out):  # type: ignore[no-untyped-def]
    for k in range(x.size):
        out[k] = desirability_one(x[k], n[k], tp)


def test_bound_beta_functions_give_scipys_values() -> None:
    rng = np.random.default_rng(7)
    a = rng.uniform(0.5, 60.0, 5000)
    b = rng.uniform(0.5, 60.0, 5000)
    x = rng.uniform(0.0, 1.0, 5000)
    out_i, out_c = np.empty(5000), np.empty(5000)
    _both(a, b, x, out_i, out_c)
    assert np.array_equal(out_i, special.betainc(a, b, x))
    assert np.array_equal(out_i, beta.cdf(x, a, b))
    assert np.array_equal(out_c, special.betaincc(a, b, x))
    assert np.array_equal(out_c, beta.sf(x, a, b))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    frac=st.floats(0.0, 1.0),
    phi_e=st.sampled_from([0.25, 0.35, 0.5]),
    prior=st.sampled_from([(1.0, 1.0), (0.5, 2.0), (2.0, 3.0)]),
)
def test_desirability_one_is_the_core_formula(
    n: int, frac: float, phi_e: float, prior: tuple[float, float]
) -> None:
    design = TITEBOIN12(
        num_doses=3, tox_window=30.0, eff_window=60.0, phi_e=phi_e,
        prior_alpha=prior[0], prior_beta=prior[1],
    )  # fmt: skip
    tp = tite_rule(design, design.max_n, design.max_n).floats
    xs = np.array([frac * n, round(frac * n, 1), 0.0, float(n)])
    ns = np.full(xs.size, n, dtype=np.int64)
    out = np.empty(xs.size)
    _desirability(xs, ns, tp, out)
    expected = desirability_values(xs, ns, design.u_b, design.prior_alpha, design.prior_beta)
    assert np.array_equal(out, expected)


def test_rule_tables_come_from_the_core() -> None:
    design = TITEBOIN12(num_doses=4, tox_window=30.0, eff_window=60.0, max_pending=0.5)
    rule = tite_rule(design, design.max_n, design.max_n)
    assert np.array_equal(rule.allowed, allowed_pending(0.5, design.max_n))
    consts = boin12_constants(design, design.max_n)
    assert np.array_equal(rule.rules, rule_table(design, design.max_n))
    bounds = np.concatenate([consts.tox_bound, consts.eff_bound]).astype(np.float64)
    assert np.array_equal(rule.rules[-bounds.size :], bounds)
    assert rule.ints[2] == design.max_n
