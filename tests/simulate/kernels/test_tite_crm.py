"""TITE-CRM kernel: the doses it gives are those of ``TITECRM.decide`` on the trial rebuilt at
every decision time; selection probabilities agree with an exact enumeration of a tiny trial
(built from the scalar core); doses are never skipped; ``simulate``/``compare`` run it."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseladder.core.designs import BOIN, TITEBOIN, TITECRM
from doseladder.core.state import Patient, TrialState
from doseladder.simulate.engine import compare, simulate
from doseladder.simulate.kernels.tite_crm import simulate_tite_crm
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Accrual, Scenario


def _state_at(
    draws: PatientDraws,
    dose_seq: np.ndarray,
    entry: np.ndarray,
    trial: int,
    upto: int,
    now: float,
    window: float,
    num: int,
) -> TrialState:
    pts = []
    rows = np.array([trial])
    for i in range(upto):
        d = int(dose_seq[i])
        frac = float(draws.tox_time(rows, i, np.array([d - 1]))[0])
        e = float(entry[i])
        if math.isfinite(frac) and e + frac * window <= now:
            pts.append(Patient(dose=d, entry_time=e, tox=True, tox_time=frac * window))
        elif not math.isfinite(frac) and e + window <= now:
            pts.append(Patient(dose=d, entry_time=e, tox=False))
        else:
            pts.append(Patient(dose=d, entry_time=e, tox=None))
    return TrialState(num, tuple(pts))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    scheme=st.sampled_from(["linear", "adaptive"]),
    csize=st.integers(1, 2),
    rate=st.sampled_from([0.5, 2.0, 6.0]),
    cutoff=st.sampled_from([None, 0.5, 0.7]),
)
def test_kernel_doses_are_the_core_decisions(
    seed: int, scheme: str, csize: int, rate: float, cutoff: float | None
) -> None:
    design = TITECRM(
        num_doses=4,
        target=0.25,
        tox_window=1.0,
        skeleton=(0.1, 0.2, 0.3, 0.45),
        scheme=scheme,
        cohort_size=csize,
        max_n=8,
        stop_tox_cutoff=cutoff,
    )
    p1 = 0.1 if cutoff is None else 0.45  # a toxic lowest dose exercises the safety stop
    sc = Scenario(p_tox=(p1, 0.5, 0.6, 0.7), accrual=Accrual("poisson", rate))
    draws = PatientDraws(sc, seed, 0, 0, 12, design.max_n)
    out = simulate_tite_crm(design, draws)
    for tr in range(12):
        seq, entry = out.dose_seq[tr], out.entry[tr]
        assert seq[0] == design.start_dose
        for i in range(csize, design.max_n, csize):
            # a trial stopped at the arrival of patient i has no entry i; the kernel's
            # duration then runs from the first entry to that decision time
            now = float(entry[i]) if seq[i] else float(entry[0] + out.duration[tr])
            state = _state_at(draws, seq, entry, tr, i, now, 1.0, 4)
            dec = design.decide(state, now)
            fit_gap = sorted(
                abs(p - 0.25)
                for p in design.fit(
                    [p.dose for p in state.patients],
                    [1 if p.tox else 0 for p in state.patients],
                    dec.reason.values["weights"],
                ).ptox
            )
            if fit_gap[1] - fit_gap[0] < 1e-3:
                break  # near-tie: the exact and dfcrm-tolerance fits may differ
            prob = dec.reason.values.get("prob_dose1_above_target")
            if prob is not None and abs(prob - dec.reason.values["cutoff"]) < 1e-6:
                break  # near the cutoff: the same
            if dec.action.value == "stop" and dec.next_dose is None:
                assert seq[i] == 0 and out.stopped_early[tr] and out.selected[tr] == 0
                break
            assert dec.next_dose == seq[i], (tr, i, state, dec)
            # no skipping: at most one level above the current dose
            assert seq[i] <= seq[i - 1] + 1
        if not out.stopped_early[tr]:
            assert np.all(seq[csize:] == np.repeat(seq[::csize], csize)[csize : design.max_n])


def test_selection_matches_exact_enumeration() -> None:
    """Two doses, two patients one at a time, fixed gaps g < W: patient 1's DLT is seen at the
    second arrival with probability p1·g/W (uniform DLT times); enumerate every path with the
    scalar core."""
    w, g = 1.0, 0.4
    p = (0.2, 0.45)
    design = TITECRM(num_doses=2, target=0.3, tox_window=w, skeleton=(0.2, 0.35), max_n=2)
    sc = Scenario(p_tox=p, accrual=Accrual("fixed", 1 / g))
    exact = np.zeros(3)
    first = [("seen", p[0] * g / w), ("pending", 1 - p[0] * g / w)]
    for kind, pr in first:
        p1 = Patient(1, g, tox=True, tox_time=g / 2) if kind == "seen" else Patient(1, g, tox=None)
        d2 = design.decide(TrialState(2, (p1,)), 2 * g).next_dose
        assert d2 is not None
        # patient 1's final outcome given what was seen
        tox1 = (
            [(True, 1.0)]
            if kind == "seen"
            else [(True, p[0] * (1 - g / w) / pr), (False, (1 - p[0]) / pr)]
        )
        for t1, q1 in tox1:
            for t2, q2 in ((True, p[d2 - 1]), (False, 1 - p[d2 - 1])):
                st_ = TrialState(2, (Patient(1, g, tox=t1), Patient(d2, 2 * g, tox=t2)))
                sel = design.select(st_).dose or 0
                exact[sel] += pr * q1 * q2
    res = simulate(design, sc, 20_000, seed=7)
    sel = np.array([res.metric("no_selection_pct"), *res.per_dose["selection_pct"]]) / 100
    se = np.sqrt(exact * (1 - exact) / 20_000)
    assert np.all(np.abs(sel - exact) <= 4 * se + 1e-9), (sel, exact)
    # from the first entry (g) to the end of the second window (2g + W) at the latest
    assert g / 2 < res.metric("duration") <= g + w + 1e-12


def test_compare_with_boin_and_tite_boin_uses_common_patients() -> None:
    sc = Scenario(p_tox=(0.05, 0.1, 0.2, 0.3, 0.5), accrual=Accrual("poisson", 2.0), name="A")
    designs = {
        "tite-crm": TITECRM(
            num_doses=5,
            target=0.3,
            tox_window=1.0,
            halfwidth=0.05,
            prior_mtd=3,
            cohort_size=3,
            max_n=18,
        ),
        "boin": BOIN(num_doses=5, target=0.3, cohort_size=3, max_n=18),
        "tite-boin": TITEBOIN(num_doses=5, target=0.3, tox_window=1.0, cohort_size=3, max_n=18),
    }
    cmp_ = compare(designs, [sc], 300, seed=3)
    res = cmp_.results[("tite-crm", "A")]
    assert res.metric("total_n") == 18
    assert res.metric("duration") > 0
    # common random numbers: the first cohort arrives at the same times for both TITE designs
    kept = [
        simulate(designs[name], sc, 50, seed=3, keep_trials=True, max_n=18).trials
        for name in ("tite-crm", "tite-boin")
    ]
    assert kept[0] is not None and kept[1] is not None
    np.testing.assert_array_equal(kept[0].entry[:, :3], kept[1].entry[:, :3])
    assert np.all(kept[0].dose_seq[:, :3] == 1)
