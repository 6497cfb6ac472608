"""TITE-BOIN kernel: the core's decisions at every decision time, TITEgBOIN's OCs (S1), and
BOIN's results when every outcome is complete at each decision."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from doseladder.core.decision import Action
from doseladder.core.designs import BOIN, TITEBOIN
from doseladder.core.state import Patient, TrialState
from doseladder.simulate.engine import simulate
from doseladder.simulate.kernels import kernel_for
from doseladder.simulate.kernels.boin import simulate_boin
from doseladder.simulate.kernels.tite_boin import (
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP,
    STOP_SAFETY,
    SUSPEND,
    Trace,
    TraceEntry,
    simulate_tite_boin,
)
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays
from doseladder.simulate.scenario import Accrual, EventTimeModel, Scenario

ACTIONS = {
    STAY: Action.STAY,
    ESCALATE: Action.ESCALATE,
    DEESCALATE: Action.DEESCALATE,
    SUSPEND: Action.SUSPEND,
    STOP: Action.STOP,
    STOP_SAFETY: Action.STOP,
}

WEIBULL = EventTimeModel("weibull", 0.5, 0.5)
S1 = Scenario(
    p_tox=(0.05, 0.10, 0.20, 0.30, 0.50, 0.70),
    accrual=Accrual("poisson", 2.0),
    tox_time=WEIBULL,
    name="S1",
)


def _patients(
    arrays: TrialArrays, draws: PatientDraws, design: TITEBOIN, trial: int, count: int, now: float
) -> tuple[Patient, ...]:
    """The first ``count`` patients of a simulated trial as known at time ``now``."""
    big_t = float(design.tox_window)
    rows = np.array([trial])
    out = []
    for i in range(count):
        dose = int(arrays.dose_seq[trial, i])
        entry = float(arrays.entry[trial, i])
        assert dose > 0 and entry <= now
        d0 = np.array([dose - 1])
        tox = bool(draws.tox(rows, i, d0)[0])
        tox_time = float(draws.tox_time(rows, i, d0)[0]) * big_t if tox else None
        status: bool | None
        if tox and tox_time is not None and entry + tox_time <= now:
            status = True
        elif not tox and entry + big_t <= now:
            status, tox_time = False, None
        else:
            status, tox_time = None, None
        out.append(Patient(dose=dose, entry_time=entry, tox=status, tox_time=tox_time))
    return tuple(out)


def _by_trial(trace: Trace) -> dict[int, list[tuple[float, int, int, int]]]:
    """Decision times per trial: (time, patients enrolled before, action, next dose)."""
    out: dict[int, list[tuple[float, int, int, int]]] = {}
    for e in trace:
        assert isinstance(e, TraceEntry)
        for r, t, a, nd in zip(e.rows, e.time, e.action, e.next_dose, strict=True):
            out.setdefault(int(r), []).append((float(t), e.enrolled, int(a), int(nd)))
    return out


def _check_against_core(
    design: TITEBOIN,
    scenario: Scenario,
    n: int,
    seed: int,
    trials: list[int] | None = None,
) -> dict[str, int]:
    """Rebuild every decision's state of the block's trials (or of ``trials``) and compare
    with ``design.decide``; returns tallies of what was checked."""
    draws = PatientDraws(scenario, seed, 0, 0, n, design.max_n)
    trace: Trace = []
    arrays = simulate_tite_boin(design, draws, trace=trace)
    per_trial = _by_trial(trace)
    counts = {"decisions": 0, "suspend": 0, "pending": 0, "stop": 0}
    for t in range(n) if trials is None else trials:
        eliminated: frozenset[int] = frozenset()
        total = int(arrays.n[t].sum())
        history = per_trial.get(t, [])
        last_time = -np.inf
        for now, enrolled, action, next_dose in history:
            assert now > last_time
            last_time = now
            pats = _patients(arrays, draws, design, t, enrolled, now)
            state = TrialState(design.num_doses, pats, eliminated=eliminated)
            dec = design.decide(state, now)
            assert dec.action is ACTIONS[action], (t, now, dec, action)
            assert (dec.next_dose or 0) == next_dose, (t, now, dec, next_dose)
            eliminated = dec.eliminated
            counts["decisions"] += 1
            counts["suspend"] += action == SUSPEND
            counts["stop"] += action in (STOP, STOP_SAFETY)
            counts["pending"] += any(p.tox is None for p in pats)
            if action in (STAY, ESCALATE, DEESCALATE):
                # the next cohort enters now, at the decided dose
                assert arrays.entry[t, enrolled] == now
                assert arrays.dose_seq[t, enrolled] == next_dose
            if action in (STOP, STOP_SAFETY):
                assert enrolled == total
                assert arrays.stopped_early[t] == (action == STOP_SAFETY)
                assert arrays.duration[t] == pytest.approx(now - arrays.entry[t, 0])
        # one accepted decision per cohort after the first
        accepted = sum(a != SUSPEND for _, _, a, _ in history)
        cohorts = -(-total // design.cohort_size)
        stopped = bool(history) and history[-1][2] in (STOP, STOP_SAFETY)
        assert accepted == cohorts - 1 + stopped
        if not stopped:
            assert total == design.max_n
        # suspended time: first suspended arrival -> the decision taken, summed over cohorts
        first_check: dict[int, float] = {}
        last_check: dict[int, float] = {}
        for now, enrolled, _, _ in history:
            first_check.setdefault(enrolled, now)
            last_check[enrolled] = now
        waited = sum(last_check[k] - first_check[k] for k in first_check)
        assert arrays.suspended[t] == pytest.approx(waited, abs=1e-12)
        # final selection: every outcome complete
        final = _patients(arrays, draws, design, t, total, np.inf)
        if not stopped:
            # TITEgBOIN's end: last entry + longest event time (DLT time or T) at the last dose
            last_dose = final[-1].dose
            longest = max(
                p.tox_time if p.tox_time is not None else design.tox_window
                for p in final
                if p.dose == last_dose
            )
            end = final[-1].entry_time + longest
            assert arrays.duration[t] == pytest.approx(end - final[0].entry_time)
        state = TrialState(design.num_doses, final, eliminated=eliminated)
        expected = 0 if arrays.stopped_early[t] else (design.select(state).dose or 0)
        assert arrays.selected[t] == expected, (t, expected)
        counts_y = state.counts()
        assert tuple(arrays.n[t]) == counts_y.n
        assert tuple(arrays.tox[t]) == counts_y.tox
    return counts


TOXIC = (0.25, 0.35, 0.5, 0.6, 0.7)
MILD = (0.05, 0.1, 0.2, 0.3, 0.45)

CASES: list[tuple[dict[str, Any], Accrual, EventTimeModel]] = [
    ({"form": "ess"}, Accrual("poisson", 2.0), WEIBULL),
    ({"form": "imputation"}, Accrual("poisson", 1.5), EventTimeModel()),
    ({"form": "ess", "cohort_size": 1, "max_n": 20}, Accrual("fixed", 3.0), WEIBULL),
    (
        {"form": "imputation", "cohort_size": 1, "max_n": 18, "extrasafe": True},
        Accrual("poisson", 0.8),
        WEIBULL,
    ),
    (
        {"form": "ess", "n_earlystop": 9, "max_pending": 0.3, "tox_window": 3.0},
        Accrual("poisson", 1.0),
        EventTimeModel(),
    ),
    (
        {
            "form": "imputation",
            "cohort_size": 2,
            "max_n": 25,
            "start_dose": 2,
            "bound_mtd": True,
            "block_escalation_few_complete": True,
            "tox_window": 0.5,
        },
        Accrual("poisson", 3.0),
        EventTimeModel("weibull", 0.7, 0.3),
    ),
    (
        {"form": "ess", "max_pending": 0.0, "extrasafe": True, "offset": 0.1},
        Accrual("fixed", 2.5),
        EventTimeModel(),
    ),
    # late DLTs at dose 1 observed after escalating: extra-safe stop at another dose
    (
        {"form": "ess", "extrasafe": True, "offset": 0.2, "max_pending": 0.65, "tox_window": 3.0},
        Accrual("poisson", 2.0),
        WEIBULL,
    ),
    # y >= b_d with more than max_pending pending: de-escalate, not suspend (imputation form)
    (
        {"form": "imputation", "max_pending": 0.2, "cohort_size": 1, "max_n": 15},
        Accrual("poisson", 2.0),
        EventTimeModel(),
    ),
]


@pytest.mark.parametrize(("kwargs", "accrual", "times"), CASES)
def test_kernel_takes_the_core_decisions(
    kwargs: dict[str, Any], accrual: Accrual, times: EventTimeModel
) -> None:
    kw = {"tox_window": 1.0, **kwargs}
    design = TITEBOIN(num_doses=5, target=0.3, **kw)
    tally: dict[str, int] = {}
    for k, p in enumerate((TOXIC, MILD)):
        sc = Scenario(p_tox=p, accrual=accrual, tox_time=times)
        got = _check_against_core(design, sc, 60, seed=31 + k)
        for key, v in got.items():
            tally[key] = tally.get(key, 0) + v
    # the histories exercise decisions with pending outcomes and suspensions
    assert tally["pending"] > tally["decisions"] // 4
    if design.max_pending < 0.5 or design.form == "ess":
        assert tally["suspend"] > 0
    assert tally["stop"] > 0


def test_late_dlts_eliminating_a_lower_dose() -> None:
    """Late DLTs at a lower dose eliminate it while the trial is higher up: the kernel goes to
    the highest non-eliminated dose, as the core does (a rare path, found and then checked)."""
    design = TITEBOIN(
        num_doses=5,
        target=0.3,
        tox_window=3.0,
        form="ess",
        max_pending=0.65,
        cohort_size=2,
        max_n=20,
    )
    sc = Scenario(
        p_tox=(0.2, 0.45, 0.6, 0.7, 0.8),
        accrual=Accrual("poisson", 2.0),
        tox_time=EventTimeModel("weibull", 0.8, 0.3),
    )
    draws = PatientDraws(sc, 3, 0, 0, 2000, design.max_n)
    trace: Trace = []
    arrays = simulate_tite_boin(design, draws, trace=trace)
    found: set[int] = set()
    for e in trace:
        before = arrays.dose_seq[e.rows, e.enrolled - 1]
        jump = (e.action == DEESCALATE) & (e.next_dose < before - 1)
        found |= set(e.rows[jump].tolist())
    assert len(found) >= 5
    _check_against_core(design, sc, 2000, 3, trials=sorted(found) + list(range(40)))


def test_extrasafe_with_no_dlt_at_dose_1() -> None:
    """φ = 0.05, cutoff 0.95 − 0.2: Pr(p1 > φ | 0 of 3) = 0.95⁴ > 0.75, so the core's extra-safe
    rule (a posterior comparison) fires without any DLT -- in the trial and in select.mtd."""
    design = TITEBOIN(
        num_doses=4,
        target=0.05,
        tox_window=1.0,
        extrasafe=True,
        offset=0.2,
        start_dose=3,
        cohort_size=1,
        max_n=8,
    )
    sc = Scenario(p_tox=(0.02, 0.1, 0.3, 0.5), accrual=Accrual("poisson", 1.0))
    got = _check_against_core(design, sc, 300, 5)
    assert got["stop"] > 0


def test_kernel_is_registered_and_reproducible() -> None:
    design = TITEBOIN(num_doses=6, target=0.3, tox_window=1.0, form="ess")
    assert kernel_for(design) is simulate_tite_boin
    a = simulate_tite_boin(design, PatientDraws(S1, 5, 0, 0, 300, 30))
    b = simulate_tite_boin(design, PatientDraws(S1, 5, 0, 0, 300, 30))
    for field in ("n", "tox", "selected", "dose_seq", "entry", "duration", "suspended"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert np.all(a.duration > 0) and np.all(a.suspended >= 0)
    assert np.all(a.eff == 0)
    # entries increase within a trial
    e = np.where(a.dose_seq > 0, a.entry, np.inf)
    assert np.all(np.diff(e, axis=1)[a.dose_seq[:, 1:] > 0] > 0)


def test_oc_agree_with_titegboin_s1() -> None:
    """reference-results.md S1, TITEgBOIN get_oc_TITE_QuasiBOIN (ESS form), 10,000 trials."""
    ref_sel = np.array([0.32, 5.75, 32.31, 48.36, 12.69, 0.52])
    ref_n = np.array([4.174, 6.341, 8.845, 7.478, 2.789, 0.358])
    design = TITEBOIN(num_doses=6, target=0.3, tox_window=1.0, form="ess", cohort_size=3, max_n=30)
    trials = 20_000
    res = simulate(design, S1, trials, seed=2024)
    ratio = trials / 10_000  # the reference's variance is `ratio` times ours
    sel = res.per_dose["selection_pct"].to_numpy()
    se = np.sqrt(ref_sel * (100 - ref_sel) / 10_000 + sel * (100 - sel) / trials)
    assert np.all(np.abs(sel - ref_sel) <= 4 * se + 0.05), (sel, ref_sel)
    mean_n = res.per_dose["mean_patients"].to_numpy()
    se_n = res.per_dose["mean_patients_se"].to_numpy() * np.sqrt(1 + ratio)
    assert np.all(np.abs(mean_n - ref_n) <= 4 * se_n + 0.005), (mean_n, ref_n)
    no_mtd = res.metric("no_selection_pct")
    assert abs(no_mtd - 0.05) <= 4 * np.sqrt(0.05 * 99.95 / 10_000 * (1 + 1 / ratio)) + 0.02
    dur, sd = res.metric("duration"), res.metric("duration_sd")
    se_dur = 2.62 * np.sqrt(1 / 10_000 + 1 / trials)
    assert abs(dur - 17.67) <= 4 * se_dur + 0.005, dur
    assert abs(sd - 2.62) < 0.1, sd


@pytest.mark.parametrize(
    "kwargs",
    [
        {"form": "ess"},
        {"form": "imputation", "cohort_size": 1, "max_n": 20},
        {"form": "ess", "extrasafe": True, "n_earlystop": 9},
        {"form": "imputation", "bound_mtd": True, "start_dose": 2, "cohort_size": 2, "max_n": 25},
    ],
)
def test_complete_data_at_every_decision_equals_boin(kwargs: dict[str, Any]) -> None:
    """Gaps of 2 > window 1: every outcome is known at each decision -> exactly BOIN."""
    design = TITEBOIN(num_doses=5, target=0.3, tox_window=1.0, **kwargs)
    boin = BOIN(
        num_doses=5,
        target=0.3,
        **{k: v for k, v in kwargs.items() if k != "form"},
    )
    for k, p in enumerate((TOXIC, MILD)):
        sc = Scenario(p_tox=p, accrual=Accrual("fixed", 0.5), tox_time=WEIBULL)
        draws = PatientDraws(sc, 77 + k, 0, 0, 2000, design.max_n)
        tite = simulate_tite_boin(design, draws)
        ref = simulate_boin(boin, draws)
        for field in ("n", "tox", "selected", "stopped_early", "dose_seq"):
            np.testing.assert_array_equal(getattr(tite, field), getattr(ref, field), field)
        assert np.all(tite.suspended == 0)
        # slow accrual: every patient arrives 2 time units after the previous one
        total = tite.n.sum(axis=1)
        assert np.allclose(
            tite.entry[np.arange(2000), total - 1] - tite.entry[:, 0], 2.0 * (total - 1)
        )


def test_suspension_waits_use_their_own_stream() -> None:
    """The enrolled patients' latent draws do not depend on the waits (common random numbers)."""
    design = TITEBOIN(num_doses=6, target=0.3, tox_window=1.0, form="ess")
    slow = replace(design, max_pending=0.0)
    draws = PatientDraws(S1, 9, 0, 0, 500, 30)
    a = simulate_tite_boin(design, draws)
    b = simulate_tite_boin(slow, draws)
    # first cohort identical (start dose, same latent patients), waits longer when stricter
    np.testing.assert_array_equal(a.entry[:, :3], b.entry[:, :3])
    assert b.suspended.mean() > a.suspended.mean()
    assert b.duration.mean() > a.duration.mean()


@pytest.mark.parametrize(("max_n", "doses"), [(29, 6), (30, 5)])
def test_draws_that_do_not_fit_the_design_are_refused(max_n: int, doses: int) -> None:
    """The compiled loops do not check their indices: draws for fewer patients or another
    number of doses are refused, naming both."""
    design = TITEBOIN(num_doses=6, target=0.3, tox_window=1.0, form="ess", max_n=30)
    scenario = replace(S1, p_tox=S1.p_tox[:doses])
    with pytest.raises(ValueError, match=rf"draws for {max_n} patients and {doses} doses"):
        simulate_tite_boin(design, PatientDraws(scenario, 1, 0, 0, 10, max_n))
