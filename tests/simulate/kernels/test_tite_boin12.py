"""TITE-BOIN12 kernel: the core's decision at every decision time, and BOIN12 when complete."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from doseladder.core.decision import Action
from doseladder.core.designs.boin12 import BOIN12
from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.core.state import Patient, TrialState
from doseladder.simulate.engine import simulate
from doseladder.simulate.kernels.boin12 import simulate_boin12
from doseladder.simulate.kernels.tite_boin12 import (
    CONTINUE,
    STOP_N,
    STOP_NO_ADMISSIBLE,
    TiteDecision,
    allowed_pending,
    simulate_tite_boin12,
)
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays
from doseladder.simulate.scenario import Accrual, EventTimeModel, Scenario

TOXIC = Scenario(
    p_tox=(0.15, 0.35, 0.5, 0.6, 0.7),
    p_eff=(0.2, 0.4, 0.5, 0.5, 0.5),
    accrual=Accrual("poisson", 0.15),
)
MILD = Scenario(
    p_tox=(0.02, 0.05, 0.1, 0.2, 0.3),
    p_eff=(0.1, 0.3, 0.5, 0.6, 0.6),
    tox_eff_odds_ratio=2.0,
    accrual=Accrual("poisson", 0.1),
    tox_time=EventTimeModel("weibull"),
)
FUTILE = Scenario(
    p_tox=(0.05, 0.1, 0.2, 0.3, 0.4),
    p_eff=(0.02, 0.05, 0.08, 0.1, 0.1),
    accrual=Accrual("fixed", 0.1),  # fixed gaps of 10: nice numbers, exact ties possible
)


class _History:
    """One simulated trial's patients, rebuilt as core ``Patient`` records at any time."""

    def __init__(
        self, design: TITEBOIN12, arrays: TrialArrays, draws: PatientDraws, t: int
    ) -> None:
        self.design = design
        self.doses = [int(v) for v in arrays.dose_seq[t] if v > 0]
        self.entry = [float(v) for v in arrays.entry[t, : len(self.doses)]]
        rows = np.array([t])
        self.tox_frac = []
        self.eff_frac = []
        for i, dose in enumerate(self.doses):
            dd = np.array([dose - 1])
            self.tox_frac.append(float(draws.tox_time(rows, i, dd)[0]))
            self.eff_frac.append(float(draws.eff_time(rows, i, dd)[0]))

    def state(self, m: int, now: float, eliminated: frozenset[int]) -> TrialState:
        """The first ``m`` patients as known at ``now`` (pending outcomes ``None``)."""
        des = self.design
        patients = []
        for i in range(m):
            e = self.entry[i]
            tox: bool | None
            eff: bool | None
            tt = et = None
            if math.isfinite(self.tox_frac[i]):
                tt = self.tox_frac[i] * des.tox_window
                tox = True if e + tt <= now else None
                tt = tt if tox else None
            else:
                tox = False if e + des.tox_window <= now else None
            if math.isfinite(self.eff_frac[i]):
                et = self.eff_frac[i] * des.eff_window
                eff = True if e + et <= now else None
                et = et if eff else None
            else:
                eff = False if e + des.eff_window <= now else None
            patients.append(
                Patient(
                    dose=self.doses[i],
                    entry_time=e,
                    tox=tox,
                    tox_time=tt,
                    eff=eff,
                    eff_time=et,
                    cohort=i // des.cohort_size,
                )
            )
        return TrialState(des.num_doses, tuple(patients), eliminated=eliminated)


def check_against_core(design: TITEBOIN12, scenario: Scenario, n: int, seed: int) -> None:
    """Rebuild every decision time of every trial and ask the core."""
    draws = PatientDraws(scenario, seed, 0, 0, n, design.max_n)
    trace: list[TiteDecision] = []
    arrays = simulate_tite_boin12(design, draws, trace)
    steps: dict[int, list[tuple[TiteDecision, int]]] = {}
    for step in trace:
        for k, t in enumerate(step.rows):
            steps.setdefault(int(t), []).append((step, k))
    for t in range(n):
        hist = _History(design, arrays, draws, t)
        elim: frozenset[int] = frozenset()
        for step, k in steps.get(t, []):
            m = step.enrolled
            arrival, now = float(step.arrival[k]), float(step.time[k])
            first = design.decide(hist.state(m, arrival, elim), arrival)
            if step.suspended[k]:
                assert first.action is Action.SUSPEND, (t, m, first)
                assert now > arrival
                before = float(np.nextafter(now, -np.inf))
                assert design.decide(hist.state(m, before, elim), before).suspended, (t, m)
            else:
                assert now == arrival
            dec = design.decide(hist.state(m, now, elim), now)
            assert not dec.suspended, (t, m, dec)
            action = int(step.action[k])
            if action == CONTINUE:
                assert not dec.stopped, (t, m, dec)
                assert dec.next_dose == step.next_dose[k] == hist.doses[m], (t, m, dec)
                assert hist.entry[m] == now
            elif action == STOP_NO_ADMISSIBLE:
                assert dec.stopped and dec.next_dose is None, (t, m, dec)
                assert len(hist.doses) == m
            else:
                assert action == STOP_N
                assert dec.stopped and dec.reason.rule == "n_stop_reached", (t, m, dec)
                assert dec.next_dose == step.next_dose[k]
                assert len(hist.doses) == m
            elim = elim | dec.eliminated
        total = len(hist.doses)
        if not steps.get(t) or steps[t][-1][0].action[steps[t][-1][1]] == CONTINUE:
            assert total == design.max_n  # no stop: every cohort was decided and enrolled
        assert arrays.stopped_early[t] == (
            bool(steps.get(t)) and steps[t][-1][0].action[steps[t][-1][1]] == STOP_NO_ADMISSIBLE
        )
        final = hist.state(total, math.inf, elim)
        assert not final.any_pending(efficacy=True)
        sel = design.select(final)
        expected = 0 if arrays.stopped_early[t] else (sel.dose or 0)
        assert arrays.selected[t] == expected, (t, sel)
        counts = final.counts()
        assert tuple(arrays.n[t]) == counts.n
        assert tuple(arrays.tox[t]) == counts.tox
        assert tuple(arrays.eff[t]) == counts.eff
        last = max(
            max(
                e + min(ft, 1.0) * design.tox_window,
                e + min(fe, 1.0) * design.eff_window,
            )
            for e, ft, fe in zip(hist.entry, hist.tox_frac, hist.eff_frac, strict=True)
        )
        assert arrays.duration[t] == last - hist.entry[0]


SETTINGS: list[dict[str, Any]] = [
    {},
    {"n_stop": None, "max_pending": 0.34},
    {"admissibility": "reevaluate", "c_e": 0.7, "n_stop_dose": "any", "n_stop": 9},
    {"pending_admissibility": "ess", "obd_statistic": "desirability", "nstar_tie": "higher"},
    {"cohort_size": 2, "max_n": 21, "utilities": (100.0, 37.5, 62.5, 10.0), "start_dose": 2},
    {"max_pending": 1.0, "n_stop": 9, "n_stop_dose": "current", "exploration_n": None},
    {"deescalate_on_observed": True},
    {"deescalate_on_observed": True, "cohort_size": 1, "max_pending": 0.34, "n_stop": None},
]


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_kernel_takes_the_core_decisions(kwargs: dict[str, Any]) -> None:
    design = TITEBOIN12(num_doses=5, tox_window=30.0, eff_window=60.0, **kwargs)
    check_against_core(design, TOXIC, 100, seed=31)
    check_against_core(design, MILD, 100, seed=32)
    check_against_core(design, FUTILE, 100, seed=33)


def test_suspensions_are_exercised() -> None:
    design = TITEBOIN12(num_doses=5, tox_window=30.0, eff_window=60.0)
    draws = PatientDraws(MILD, 32, 0, 0, 200, design.max_n)
    trace: list[TiteDecision] = []
    arrays = simulate_tite_boin12(design, draws, trace)
    assert sum(int(s.suspended.sum()) for s in trace) > 100
    assert (arrays.suspended > 0).mean() > 0.5
    assert np.all(arrays.duration > 0)


def test_observed_deescalation_replaces_some_suspensions() -> None:
    """``deescalate_on_observed``: on a toxic scenario fewer decisions wait, and some of the
    decisions that waited by default are taken at once or earlier (checked against the core
    by ``test_kernel_takes_the_core_decisions``)."""
    waits = []
    for flag in (False, True):
        design = TITEBOIN12(
            num_doses=5, tox_window=30.0, eff_window=60.0, deescalate_on_observed=flag
        )
        draws = PatientDraws(TOXIC, 31, 0, 0, 300, design.max_n)
        waits.append(simulate_tite_boin12(design, draws).suspended.sum())
    assert waits[1] < waits[0]


def test_allowed_pending_is_the_core_rule() -> None:
    table = allowed_pending(0.5, 12)
    assert list(table[1:7]) == [0, 1, 1, 2, 2, 3]  # exactly one half is allowed
    assert list(allowed_pending(1.0, 4)[1:]) == [1, 2, 3, 4]
    assert list(allowed_pending(0.0, 4)[1:]) == [0, 0, 0, 0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"n_stop": None},
        {"admissibility": "reevaluate", "obd_statistic": "desirability", "c_e": 0.7},
        {"cohort_size": 2, "max_n": 25, "utilities": (100.0, 30.0, 50.0, 0.0)},
    ],
)
def test_slow_accrual_equals_boin12(kwargs: dict[str, Any]) -> None:
    """Every outcome complete at every decision (gaps of 100 > both windows): same trials."""
    tite = TITEBOIN12(num_doses=5, tox_window=30.0, eff_window=60.0, **kwargs)
    plain = BOIN12(**{f.name: getattr(tite, f.name) for f in dataclasses.fields(BOIN12) if f.init})
    for base in (TOXIC, MILD, FUTILE):
        sc = dataclasses.replace(base, accrual=Accrual("fixed", 0.01))
        a = simulate_tite_boin12(tite, PatientDraws(sc, 7, 0, 0, 3000, tite.max_n))
        b = simulate_boin12(plain, PatientDraws(sc, 7, 0, 0, 3000, plain.max_n))
        for name in ("n", "tox", "eff", "selected", "stopped_early", "dose_seq"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert np.all(a.suspended == 0)


def test_engine_runs_tite_boin12() -> None:
    design = TITEBOIN12(num_doses=5, tox_window=30.0, eff_window=60.0, max_n=30, n_stop=None)
    sc = dataclasses.replace(
        Scenario(p_tox=(0.02, 0.05, 0.10, 0.25, 0.50), p_eff=(0.05, 0.15, 0.40, 0.42, 0.44)),
        accrual=Accrual("poisson", 0.1),
    )
    res = simulate(design, sc, 20_000, seed=1)
    plain = simulate(BOIN12(num_doses=5, max_n=30, n_stop=None), sc, 20_000, seed=1)
    # TITE-BOIN12 finds the OBD about as often as BOIN12, in a much shorter trial
    assert abs(res.metric("correct_obd_pct") - plain.metric("correct_obd_pct")) < 3.0
    assert res.metric("duration") < 600.0
    assert res.metric("suspended_time") > 0
