"""The CRM's array decision and selection agree with ``CRM.decide`` / ``CRM.select`` (random
parameters and histories), except where the recommended dose is a near-tie of |p̂ − target|:
the scalar fit reproduces dfcrm's ``integrate`` (tolerance 1e-4), the array fit is exact."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from doseladder.core.designs import CRM, TITECRM
from doseladder.core.designs.arrays import ACTION_NAMES, DoseArrays, PatientArrays
from doseladder.core.designs.crm_model import (
    _kernel,
    crm_dosescaled,
    crm_tail_arrays,
    prob_dose_above,
    threshold_parameter,
)
from doseladder.core.errors import InputError
from doseladder.core.state import TrialState

from .conformance import histories

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def crm_designs(draw: st.DrawFn) -> CRM:
    num = draw(st.integers(2, 6))
    try:
        return CRM(
            num_doses=num,
            target=draw(st.sampled_from([0.2, 0.25, 0.3])),
            halfwidth=draw(st.sampled_from([0.04, 0.05, 0.08])),
            prior_mtd=draw(st.integers(1, num)),
            model=draw(st.sampled_from(["empiric", "logistic"])),
            cohort_size=draw(st.integers(1, 3)),
            max_n=draw(st.integers(3, 30)),
            restrict=draw(st.booleans()),
            stop_n_mtd=draw(st.one_of(st.none(), st.integers(3, 12))),
            stop_tox_cutoff=draw(st.one_of(st.none(), st.sampled_from([0.5, 0.8, 0.9]))),
        )
    except InputError:
        assume(False)
        raise


def _with_patients(states: Sequence[TrialState]) -> DoseArrays:
    base = DoseArrays.from_states(states)
    j, width = states[0].num_doses, max(1, max(s.n_patients for s in states))
    dose = np.full((len(states), width), j, dtype=np.int64)
    tox = np.zeros((len(states), width), dtype=bool)
    for r, s in enumerate(states):
        for i, p in enumerate(s.patients):
            dose[r, i] = p.dose - 1
            tox[r, i] = p.tox is True
    z = np.zeros((len(states), width))
    pts = PatientArrays(dose, z, z, z, tox, np.zeros_like(tox), np.full(len(states), np.inf))
    return DoseArrays(base.n, base.tox, base.tox_pending, base.eff, base.eff_pending,
                      base.both, base.current, base.eliminated, pts)  # fmt: skip


def _near_tie(design: CRM, state: TrialState) -> bool:
    levels = [p.dose for p in state.patients if p.tox is not None]
    tox = [1 if p.tox else 0 for p in state.patients if p.tox is not None]
    fit = design.fit(levels, tox)
    gaps = sorted(abs(p - design.target) for p in fit.ptox)
    edge = min(abs(p - design.target) for p in fit.ptox)
    return gaps[1] - gaps[0] < 1e-3 or edge < 1e-3 or _near_cutoff(design, levels, tox)


def _near_cutoff(
    design: CRM | TITECRM,
    levels: list[int],
    tox: list[int],
    weights: list[float] | None = None,
) -> bool:
    """Pr(p_1 > target | data) within 1e-6 of ``stop_tox_cutoff`` (the two quadratures may
    then decide the stop differently)."""
    if design.stop_tox_cutoff is None or not levels:
        return False
    prob = prob_dose_above(
        design.skeleton_values, 1, design.target, levels, tox, weights,
        model=design.model, intercept=float(design.intercept), scale=float(design.prior_sd),
    )  # fmt: skip
    return abs(prob - design.stop_tox_cutoff) < 1e-6


@SETTINGS
@given(design=crm_designs(), data=st.data())
def test_decisions_agree(design: CRM, data: st.DataObject) -> None:
    states = data.draw(st.lists(histories(design.num_doses, 18), min_size=1, max_size=6))
    got = design.decide_arrays(_with_patients(states))
    for r, state in enumerate(states):
        dec = design.decide(state)
        if state.n_patients and not state.any_pending() and _near_tie(design, state):
            continue
        assert ACTION_NAMES[int(got.action[r])] == dec.action.value, (r, state, dec)
        nd = int(got.next_dose[r])
        assert (nd + 1 if nd >= 0 else None) == dec.next_dose, (r, state, dec)
        elim = frozenset(int(d) + 1 for d in np.flatnonzero(got.eliminated[:, r]))
        assert elim == dec.eliminated


@SETTINGS
@given(design=crm_designs(), data=st.data())
def test_selections_agree(design: CRM, data: st.DataObject) -> None:
    states = data.draw(
        st.lists(histories(design.num_doses, 18, pending=False), min_size=1, max_size=6)
    )
    got = design.select_arrays(DoseArrays.from_states(states))
    for r, state in enumerate(states):
        if state.n_patients and _near_tie(design, state):
            continue
        assert int(got[r]) == (design.select(state).dose or 0), (r, state)


@SETTINGS
@given(
    design=crm_designs(),
    threshold=st.sampled_from([0.1, 0.25, 0.4]),
    data=st.data(),
)
def test_tail_probability_is_the_scalar_integral(
    design: CRM, threshold: float, data: st.DataObject
) -> None:
    """The array Pr(p_dose > threshold | data) (Gauss-Legendre on [-10σ, a*]) equals the
    scalar one (adaptive QUADPACK, relative 1e-10, split at a*) and an independent
    whole-line quadrature (1e-7)."""
    dose = data.draw(st.integers(1, design.num_doses))
    states = data.draw(
        st.lists(histories(design.num_doses, 18, pending=False), min_size=1, max_size=6)
    )
    arrays = DoseArrays.from_states(states)
    _est, _mtd, prob = crm_tail_arrays(
        design.skeleton_values, design.target, arrays.n, arrays.tox, model=design.model,
        intercept=float(design.intercept), scale=float(design.prior_sd),
        above=(dose, threshold),
    )  # fmt: skip
    assert prob is not None
    for r, state in enumerate(states):
        levels = [p.dose for p in state.patients]
        tox = [1 if p.tox else 0 for p in state.patients]
        want = prob_dose_above(
            design.skeleton_values, dose, threshold, levels, tox, model=design.model,
            intercept=float(design.intercept), scale=float(design.prior_sd),
        )  # fmt: skip
        assert abs(float(prob[r]) - want) < 1e-7, (r, state, float(prob[r]), want)
        ds = crm_dosescaled(design.skeleton_values, design.model, float(design.intercept))
        h, _w = _kernel(ds, levels, tox, None, design.model, float(design.intercept),
                        float(design.prior_sd))  # fmt: skip
        a_star = threshold_parameter(ds, dose, threshold, design.model, float(design.intercept))
        tight = {"epsabs": 1e-300, "epsrel": 1e-11, "limit": 500}
        den = quad(h, -math.inf, math.inf, **tight)[0]
        num = quad(h, -math.inf, a_star, **tight)[0] if a_star > -math.inf else 0.0
        assert abs(float(prob[r]) - num / den) < 1e-7, (r, state, float(prob[r]), num / den)


def test_stop_tox_cutoff_stops_and_selects_nothing() -> None:
    """2 DLTs in 3 at dose 1 with skeleton (0.1, 0.2, 0.3): Pr(p_1 > 0.25) is about 0.88
    (scalar fit) -- the array rule stops with every dose eliminated at cutoff 0.8 and
    continues at 0.9; the selection is none / dose 1 accordingly."""
    from doseladder.core.state import Patient

    outcomes = (True, True, False)
    state = TrialState(3, tuple(Patient(1, float(i), t) for i, t in enumerate(outcomes)))
    prob = prob_dose_above((0.1, 0.2, 0.3), 1, 0.25, [1, 1, 1], [1, 1, 0])
    assert 0.8 < prob < 0.9
    for cutoff in (0.8, 0.9):
        design = CRM(num_doses=3, target=0.25, skeleton=(0.1, 0.2, 0.3), stop_tox_cutoff=cutoff,
                     cohort_size=3)  # fmt: skip
        stops = cutoff == 0.8
        got = design.decide_arrays(_with_patients([state]))
        dec = design.decide(state)
        assert (dec.action.value == "stop") == stops
        assert ACTION_NAMES[int(got.action[0])] == dec.action.value
        assert bool(got.eliminated[:, 0].all()) == stops
        assert int(got.next_dose[0]) == (-1 if stops else 0)
        sel = design.select_arrays(DoseArrays.from_states([state]))
        assert int(sel[0]) == (0 if stops else 1) == (design.select(state).dose or 0)


@st.composite
def toxic_starts(draw: st.DrawFn, num_doses: int) -> TrialState:
    """Complete histories at the lowest doses with many DLTs (where the safety stop fires)."""
    from doseladder.core.state import Patient

    size = draw(st.integers(1, 12))
    patients = []
    for i in range(size):
        dose = draw(st.sampled_from([1, 1, 1, min(2, num_doses)]))
        patients.append(Patient(dose, float(i), draw(st.sampled_from([True, False, False]))))
    return TrialState(num_doses, tuple(patients))


@SETTINGS
@given(design=crm_designs(), cutoff=st.sampled_from([0.5, 0.7, 0.9]), data=st.data())
def test_stop_rule_agrees_on_toxic_starts(design: CRM, cutoff: float, data: st.DataObject) -> None:
    """The array ``stop_tox_cutoff`` rule = the scalar one on histories where it often fires
    (decision: stop, no dose, every dose eliminated; selection: none)."""
    from dataclasses import replace

    design = replace(design, stop_tox_cutoff=cutoff)
    states = data.draw(st.lists(toxic_starts(design.num_doses), min_size=1, max_size=6))
    got = design.decide_arrays(_with_patients(states))
    sel = design.select_arrays(DoseArrays.from_states(states))
    for r, state in enumerate(states):
        if _near_tie(design, state):
            continue
        dec = design.decide(state)
        assert ACTION_NAMES[int(got.action[r])] == dec.action.value, (r, state, dec)
        nd = int(got.next_dose[r])
        assert (nd + 1 if nd >= 0 else None) == dec.next_dose, (r, state, dec)
        elim = frozenset(int(d) + 1 for d in np.flatnonzero(got.eliminated[:, r]))
        assert elim == dec.eliminated
        assert int(sel[r]) == (design.select(state).dose or 0)
