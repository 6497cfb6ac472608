"""CRM kernel: scenario S1 operating characteristics agree with ``dfcrm::crmsim``
(reference-results.md: empiric, skeleton getprior(0.05, 0.3, 4, 6), Bayes, restrict, cohorts of
3, N = 30; 10,000 trials)."""

from __future__ import annotations

import numpy as np

from doseladder.core.designs import CRM
from doseladder.simulate.engine import simulate
from doseladder.simulate.scenario import Scenario

S1 = Scenario(p_tox=(0.05, 0.10, 0.20, 0.30, 0.50, 0.70), name="S1")


def test_crm_oc_agree_with_crmsim_s1() -> None:
    ref_sel = np.array([0.01, 1.56, 22.70, 55.94, 19.17, 0.62])
    ref_n = np.array([3.577, 4.639, 8.051, 9.325, 4.043, 0.366])
    design = CRM(num_doses=6, target=0.3, halfwidth=0.05, prior_mtd=4, cohort_size=3, max_n=30)
    res = simulate(design, S1, 10_000, seed=2024)
    sel = res.per_dose["selection_pct"].to_numpy()
    se = np.sqrt(ref_sel * (100 - ref_sel) / 10_000 + sel * (100 - sel) / 10_000)
    assert np.all(np.abs(sel - ref_sel) <= 4 * se + 0.05)
    assert np.all(np.abs(res.per_dose["mean_patients"].to_numpy() - ref_n) < 0.2)
    assert res.metric("no_selection_pct") == 0


def test_stop_tox_cutoff_exact_one_cohort() -> None:
    """One cohort of 3 at dose 1 (max_n 3), skeleton (0.1, 0.2, 0.3), cutoff 0.8: the trial
    selects the scalar ``CRM.select`` of its k DLTs in 3 (none when Pr(p_1 > 0.25 | data) >
    0.8, i.e. k >= 2), so the selection distribution is that of k ~ Bin(3, 0.3); simulated
    within 4 SE."""
    from math import comb

    from doseladder.core.state import Patient, TrialState

    design = CRM(num_doses=3, target=0.25, skeleton=(0.1, 0.2, 0.3), cohort_size=3, max_n=3,
                 stop_tox_cutoff=0.8)  # fmt: skip
    want = np.zeros(4)  # [none, dose 1, dose 2, dose 3]
    for k in range(4):
        pts = tuple(Patient(1, float(i), i < k) for i in range(3))
        dose = design.select(TrialState(3, pts)).dose or 0
        want[dose] += comb(3, k) * 0.3**k * 0.7 ** (3 - k)
    assert abs(want[0] - (3 * 0.3**2 * 0.7 + 0.3**3)) < 1e-12  # k >= 2 stop
    res = simulate(design, Scenario(p_tox=(0.3, 0.4, 0.5)), 20_000, seed=7)
    got = np.array([res.metric("no_selection_pct"), *res.per_dose["selection_pct"]]) / 100
    se = np.sqrt(want * (1 - want) / 20_000)
    assert np.all(np.abs(got - want) <= 4 * se + 1e-12), (got, want)
