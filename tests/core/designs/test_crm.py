"""CRM against dfcrm 0.2-2.1 (spec ``dose-finding.md`` §6.4) and invariants of its conduct."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from doseladder.core.decision import Action
from doseladder.core.designs.crm import CRM
from doseladder.core.designs.crm_model import (
    R_INTEGRATE_TOL,
    _kernel,
    crm_dosescaled,
    crm_fit,
    crm_fit_arrays,
    crm_recommend,
    getprior,
    prob_dose_above,
)
from doseladder.core.errors import InputError
from doseladder.core.state import Patient, TrialState

REF: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "dfcrm_reference.json").read_text(encoding="utf-8")
)


# ---------------------------------------------------------------- getprior
@pytest.mark.parametrize("case", REF["getprior"], ids=lambda c: f"{c['model']}-{c['nu']}")
def test_getprior_matches_dfcrm(case: dict[str, Any]) -> None:
    sk = getprior(case["halfwidth"], case["target"], case["nu"], case["nlevel"], case["model"])
    assert sk == pytest.approx(case["skeleton"], abs=5e-5)


def _closed_form(delta: float, t: float, nu: int, k: int, model: str, c: float) -> list[float]:
    """Independent closed form of the Lee & Cheung recursion (powers of one ratio)."""
    out = []
    if model == "empiric":
        r = math.log(t - delta) / math.log(t + delta)
        for j in range(1, k + 1):
            out.append(t ** (r ** (nu - j)))
        return out
    lo = math.log((t - delta) / (1 - t + delta)) - c
    hi = math.log((t + delta) / (1 - t - delta)) - c
    x0 = math.log(t / (1 - t)) - c
    for j in range(1, k + 1):
        x = x0 * (lo / hi) ** (nu - j)
        out.append(1 / (1 + math.exp(-c - x)))
    return out


@settings(max_examples=60, deadline=None)
@given(
    t=st.floats(0.1, 0.5),
    frac=st.floats(0.05, 0.6),
    k=st.integers(2, 8),
    data=st.data(),
    model=st.sampled_from(["empiric", "logistic"]),
)
def test_getprior_closed_form_and_indifference(
    t: float, frac: float, k: int, data: st.DataObject, model: str
) -> None:
    delta = frac * min(t, 1 - t)
    nu = data.draw(st.integers(1, k))
    try:
        sk = getprior(delta, t, nu, k, model, 3.0)
    except InputError:
        assume(False)
        raise
    assume(all(1e-9 < v < 1 - 1e-9 for v in sk))  # away from floating-point saturation
    assert sk == pytest.approx(_closed_form(delta, t, nu, k, model, 3.0), rel=1e-10)
    assert all(b > a for a, b in itertools.pairwise(sk))
    # indifference: the parameter putting dose j at t + δ puts dose j - 1 at t - δ
    for j in range(1, k):
        if model == "empiric":
            ea = math.log(t + delta) / math.log(sk[j])
            assert sk[j - 1] ** ea == pytest.approx(t - delta, rel=1e-9)
        else:
            xs = [math.log(s / (1 - s)) - 3.0 for s in sk]
            ea = (math.log((t + delta) / (1 - t - delta)) - 3.0) / xs[j]
            p = 1 / (1 + math.exp(-3.0 - ea * xs[j - 1]))
            assert p == pytest.approx(t - delta, rel=1e-9)


# ---------------------------------------------------------------- the fit
@pytest.mark.parametrize("case", REF["crm"], ids=lambda c: c["model"])
def test_crm_matches_dfcrm(case: dict[str, Any]) -> None:
    fit = crm_fit(case["prior"], case["target"], case["level"], case["tox"], model=case["model"])
    assert fit.estimate == pytest.approx(case["estimate"], abs=5e-6)
    if case["post_var"] is not None:
        assert fit.post_var == pytest.approx(case["post_var"], abs=5e-6)
    assert fit.mtd == case["mtd"]
    assert fit.ptox == pytest.approx(case["ptox"], abs=5e-5)


def _grid_posterior_mean(
    skeleton: list[float], levels: list[int], tox: list[int], model: str, sd: float
) -> float:
    """Independent posterior mean: dense trapezoid rule on [-12σ, 12σ] in log space."""
    a = np.linspace(-12 * sd, 12 * sd, 40_001)
    s = np.asarray(skeleton)
    x = s if model == "empiric" else np.log(s / (1 - s)) - 3.0
    loglik = np.zeros_like(a)
    for lv, y in zip(levels, tox, strict=True):
        if model == "empiric":
            logp = np.exp(a) * math.log(x[lv - 1])
            log1mp = np.log1p(-np.exp(logp))
        else:
            eta = 3.0 + np.exp(a) * x[lv - 1]
            logp = -np.logaddexp(0, -eta)
            log1mp = -np.logaddexp(0, eta)
        loglik += logp if y else log1mp
    logpost = loglik - a**2 / (2 * sd * sd)
    wts = np.exp(logpost - logpost.max())
    return float(np.trapezoid(a * wts, a) / np.trapezoid(wts, a))


def _r_integrate_error(
    skeleton: list[float], levels: list[int], tox: list[int], model: str
) -> float:
    """QUADPACK's own error estimate for the posterior mean dfcrm computes: R's ``integrate``
    stops at ``rel.tol = abs.tol = 1.22e-4`` of each integral, so the ratio N/D of the two
    integrals is exact only to (ΔN + |N/D|·ΔD)/D — which is large when the posterior is peaked
    far from 0 (small D)."""
    ds = crm_dosescaled(skeleton, model, 3.0)
    h, _ = _kernel(ds, levels, tox, None, model, 3.0, math.sqrt(1.34))
    tol = {"epsabs": R_INTEGRATE_TOL, "epsrel": R_INTEGRATE_TOL, "limit": 100}
    den, err_den = quad(h, -math.inf, math.inf, **tol)
    num, err_num = quad(lambda a: a * h(a), -math.inf, math.inf, **tol)
    return float((err_num + abs(num / den) * err_den) / den)


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(3, 6),
    n=st.integers(1, 25),
    data=st.data(),
    model=st.sampled_from(["empiric", "logistic"]),
)
def test_posterior_mean_agrees_with_independent_quadrature(
    k: int, n: int, data: st.DataObject, model: str
) -> None:
    sk = getprior(0.05, 0.25, data.draw(st.integers(1, k)), k)
    levels = data.draw(st.lists(st.integers(1, k), min_size=n, max_size=n))
    tox = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    fit = crm_fit(sk, 0.25, levels, tox, model=model)
    ref = _grid_posterior_mean(list(sk), levels, tox, model, math.sqrt(1.34))
    # dfcrm integrates with R's integrate() tolerances (rel = abs = 1.22e-4), which we
    # reproduce on purpose; the exact posterior mean differs by about QUADPACK's own error
    # estimate -- an estimate, not a bound: levels (1, 3, 5, 1, 5), DLTs (1, 0, 1, 1, 1) give
    # -1.21977 against the exact -1.21861, 2.7 times the estimate (4.3e-4), hence the factor 5
    bound = _r_integrate_error(list(sk), levels, tox, model)
    assert fit.estimate == pytest.approx(ref, abs=5 * bound + 1e-6)
    assert fit.mtd == crm_recommend(fit.ptox, 0.25)


def test_recommend_rule_edges() -> None:
    assert crm_recommend([0.1, 0.2, 0.25], 0.3) == 3  # all below -> top
    assert crm_recommend([0.35, 0.4], 0.3) == 1  # all above -> lowest
    assert crm_recommend([0.1, 0.25, 0.35], 0.3) == 2  # tie on |p - t| -> the lower dose


def test_prob_dose_above_is_posterior_mass() -> None:
    sk = [0.05, 0.10, 0.20, 0.35, 0.50, 0.70]
    lv, y = [1, 1, 1, 2, 2, 2], [1, 1, 0, 1, 0, 1]
    # brute force: Pr(s_1^exp(a) > 0.2) on a fine grid
    a = np.linspace(-15, 15, 100_001)
    loglik = sum(
        (np.exp(a) * math.log(sk[lvl - 1])) if yy else np.log1p(-(sk[lvl - 1] ** np.exp(a)))
        for lvl, yy in zip(lv, y, strict=True)
    )
    w = np.exp(loglik - a**2 / 2.68 - np.max(loglik - a**2 / 2.68))
    ref = float(np.trapezoid(w * (sk[0] ** np.exp(a) > 0.2), a) / np.trapezoid(w, a))
    assert prob_dose_above(sk, 1, 0.2, lv, y) == pytest.approx(ref, abs=1e-4)


# ---------------------------------------------------------------- the design
def _state(j: int, cohorts: list[tuple[int, str]]) -> TrialState:
    pts = [
        Patient(dose=d, tox=(ch == "T"), cohort=i) for i, (d, s) in enumerate(cohorts) for ch in s
    ]
    return TrialState(j, tuple(pts))


def test_design_decision_uses_dfcrm_recommendation() -> None:
    design = CRM(num_doses=6, target=0.2, skeleton=(0.05, 0.10, 0.20, 0.35, 0.50, 0.70))
    lv = [3, 4, 4, 3, 3, 4, 3, 2, 2, 2]
    y = [0, 0, 1, 0, 0, 1, 1, 0, 0, 0]
    pts = tuple(
        Patient(dose=d, tox=bool(t), cohort=i) for i, (d, t) in enumerate(zip(lv, y, strict=True))
    )
    dec = design.decide(TrialState(6, pts))
    assert dec.next_dose == 2 and dec.action is Action.STAY
    assert dec.reason.values["posterior_mean"] == pytest.approx(-0.21217, abs=5e-6)
    sel = design.select(TrialState(6, pts))
    assert sel.dose == 2
    out = sel.to_dict()
    assert out["mtd"] == 2 and out["posterior_mean"] == pytest.approx(-0.21217, abs=5e-6)
    assert out["ptox"] == pytest.approx([0.0887, 0.1553, 0.2721, 0.4278, 0.5708, 0.7494], abs=5e-5)


def test_restrictions_no_skip_and_coherence() -> None:
    design = CRM(num_doses=5, target=0.3, halfwidth=0.05, prior_mtd=3)
    # three clean cohorts at dose 1: model jumps high, restriction allows dose 2 only
    st_ = _state(5, [(1, "NNN")])
    assert design.fit([1, 1, 1], [0, 0, 0]).mtd > 2
    dec = design.decide(st_)
    assert dec.next_dose == 2 and dec.reason.rule == "crm.escalate"
    # a toxic last cohort never escalates, even if the model would
    st2 = _state(5, [(1, "NNN"), (2, "NNN"), (2, "NNN"), (2, "NNN"), (2, "TNN")])
    fit = design.fit([1] * 3 + [2] * 12, [0] * 12 + [1, 0, 0])
    assert fit.mtd > 2
    assert design.decide(st2).next_dose == 2
    unrestricted = CRM(num_doses=5, target=0.3, halfwidth=0.05, prior_mtd=3, restrict=False)
    assert unrestricted.decide(st_).next_dose == design.fit([1, 1, 1], [0, 0, 0]).mtd


@settings(max_examples=30, deadline=None)
@given(
    k=st.integers(2, 6),
    target=st.sampled_from([0.2, 0.25, 0.3, 0.33]),
    cohort=st.integers(1, 3),
    model=st.sampled_from(["empiric", "logistic"]),
    seed=st.integers(0, 2**31),
)
def test_invariants_never_skip_untried_and_coherent(
    k: int, target: float, cohort: int, model: str, seed: int
) -> None:
    design = CRM(
        num_doses=k,
        target=target,
        halfwidth=0.05,
        prior_mtd=max(1, k // 2),
        model=model,
        cohort_size=cohort,
        max_n=cohort * 8,
    )
    rng = np.random.default_rng(seed)
    probs = np.sort(rng.uniform(0.0, 0.8, k))
    state = TrialState(k)
    dose = design.start_dose
    for c in range(8):
        ys = rng.random(cohort) < probs[dose - 1]
        state = state.with_patients([Patient(dose=dose, tox=bool(t), cohort=c) for t in ys])
        dec = design.decide(state)
        if dec.next_dose is None:
            break
        assert dec.next_dose <= max(state.tried()) + 1  # never skip an untried dose
        if ys.mean() >= target:
            assert dec.next_dose <= dose  # coherence
        if dec.action is Action.STOP:
            break
        dose = dec.next_dose


def test_safety_stop_option() -> None:
    design = CRM(num_doses=4, target=0.25, skeleton=(0.1, 0.2, 0.3, 0.4), stop_tox_cutoff=0.9)
    state = _state(4, [(1, "TTT"), (1, "TTN")])
    dec = design.decide(state)
    assert dec.action is Action.STOP and dec.next_dose is None
    assert dec.reason.values["prob_dose1_above_target"] > 0.9
    assert design.select(state).dose is None


def test_stop_n_mtd_and_max_n() -> None:
    design = CRM(num_doses=3, target=0.3, skeleton=(0.2, 0.3, 0.4), stop_n_mtd=6, max_n=9)
    dec = design.decide(_state(3, [(1, "NNN"), (1, "TNN")]))
    assert dec.action is Action.STOP and dec.reason.rule == "crm.stop_n_mtd"
    design2 = CRM(num_doses=3, target=0.3, skeleton=(0.2, 0.3, 0.4), max_n=6)
    dec2 = design2.decide(_state(3, [(1, "NNN"), (2, "NNN")]))
    assert dec2.action is Action.STOP and dec2.reason.rule == "max_n_reached"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"skeleton": (0.2, 0.1, 0.3)}, "skeleton"),
        ({"skeleton": (0.1, 0.2)}, "skeleton"),
        ({}, "skeleton"),
        ({"skeleton": (0.1, 0.2, 0.3), "halfwidth": 0.05, "prior_mtd": 2}, "skeleton"),
        ({"halfwidth": 0.5, "prior_mtd": 2}, "halfwidth"),
        ({"halfwidth": 0.05, "prior_mtd": 4}, "prior_mtd"),
        ({"skeleton": (0.1, 0.2, 0.3), "model": "probit"}, "model"),
        ({"skeleton": (0.1, 0.2, 0.3), "prior_sd": 0}, "prior_sd"),
        ({"skeleton": (0.1, 0.5, 0.99), "model": "logistic", "intercept": 1}, "intercept"),
        ({"skeleton": (0.1, 0.2, 0.3), "stop_tox_cutoff": 1.2}, "stop_tox_cutoff"),
    ],
)
def test_validation_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        CRM(num_doses=3, target=0.3, **kwargs)
    assert err.value.field == field


def test_pending_outcomes_suspend() -> None:
    design = CRM(num_doses=3, target=0.3, skeleton=(0.2, 0.3, 0.4))
    state = TrialState(3, (Patient(dose=1, tox=False), Patient(dose=1, tox=None)))
    assert design.decide(state, 10.0).action is Action.SUSPEND
    with pytest.raises(InputError):
        design.select(state)


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(3, 6),
    n=st.integers(0, 30),
    data=st.data(),
    model=st.sampled_from(["empiric", "logistic"]),
)
def test_array_fit_agrees_with_dfcrm_fit(k: int, n: int, data: st.DataObject, model: str) -> None:
    sk = getprior(0.05, 0.25, data.draw(st.integers(1, k)), k)
    levels = data.draw(st.lists(st.integers(1, k), min_size=n, max_size=n))
    tox = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    nn = np.zeros((k, 1), dtype=int)
    yy = np.zeros((k, 1), dtype=int)
    for lv, t in zip(levels, tox, strict=True):
        nn[lv - 1, 0] += 1
        yy[lv - 1, 0] += t
    est, mtd = crm_fit_arrays(sk, 0.25, nn, yy, model=model)
    fit = crm_fit(sk, 0.25, levels, tox, model=model)
    exact = _grid_posterior_mean(list(sk), levels, tox, model, math.sqrt(1.34))
    # the array fit (fixed Gauss-Legendre rule) is within 1e-4 of the exact posterior mean;
    # dfcrm's integrate() within QUADPACK's error bound of it (R's tolerance)
    assert est[0] == pytest.approx(exact, abs=1e-4)
    bound = _r_integrate_error(list(sk), levels, tox, model)
    assert est[0] == pytest.approx(fit.estimate, abs=5 * bound + 1e-4)
    if mtd[0] != fit.mtd:  # only at a near-tie of |p - target|
        gaps = sorted(abs(p - 0.25) for p in fit.ptox)
        assert gaps[1] - gaps[0] < 1e-3
