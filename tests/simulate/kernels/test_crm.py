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
