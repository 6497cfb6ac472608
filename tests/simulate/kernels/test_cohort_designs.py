"""Keyboard / mTPI-2 / i3+3 kernel: it takes the core's decisions, and Keyboard's S1 operating
characteristics agree with ``Keyboard::get.oc.kb`` (reference-results.md)."""

from __future__ import annotations

import numpy as np
import pytest

from doseladder.core.designs import I3P3, MTPI2, Design, Keyboard
from doseladder.core.replay import replay
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Scenario

from .histories import complete_cohorts

S1 = Scenario(p_tox=(0.05, 0.10, 0.20, 0.30, 0.50, 0.70), name="S1")


@pytest.mark.parametrize(
    "design",
    [
        Keyboard(num_doses=5, target=0.3),
        Keyboard(num_doses=5, target=0.25, n_earlystop=9, extrasafe=True),
        MTPI2(num_doses=5, target=0.3, cohort_size=2, max_n=24),
        I3P3(num_doses=5, target=0.3, n_earlystop=12),
    ],
    ids=["keyboard", "keyboard-options", "mtpi2", "i3+3"],
)
def test_kernel_takes_the_core_decisions(design: Design) -> None:
    for seed, scen in ((11, Scenario(p_tox=(0.25, 0.35, 0.5, 0.6, 0.7))),
                       (12, Scenario(p_tox=(0.05, 0.1, 0.2, 0.3, 0.45)))):  # fmt: skip
        n_tr = 100
        arrays = run_block(BlockTask(design, scen, seed, 0, 0, n_tr, design.max_n))
        draws = PatientDraws(scen, seed, 0, 0, n_tr, design.max_n)
        for t in range(n_tr):
            cohorts = complete_cohorts(arrays, draws, t, design.cohort_size)
            rep = replay(design, cohorts, design.num_doses)
            for k, decision in enumerate(rep.decisions[:-1]):
                assert not decision.stopped, (t, k, decision)
                assert decision.next_dose == cohorts[k + 1][0].dose, (t, k, decision)
            if arrays.n[t].sum() < design.max_n:
                assert rep.decisions[-1].stopped
            sel = design.select(rep.state)
            expected = 0 if arrays.stopped_early[t] else (sel.dose or 0)
            assert arrays.selected[t] == expected, (t, sel)


def test_keyboard_oc_agree_with_get_oc_kb_s1() -> None:
    """reference-results.md S1: Keyboard get.oc.kb (margins 0.05), 10,000 trials."""
    ref_sel = np.array([0.26, 4.49, 29.91, 50.49, 14.27, 0.56])
    ref_n = np.array([3.714, 5.561, 8.821, 8.306, 3.241, 0.351])
    res = simulate(Keyboard(num_doses=6, target=0.3, max_n=30), S1, 20_000, seed=2024)
    sel = res.per_dose["selection_pct"].to_numpy()
    se = np.sqrt(ref_sel * (100 - ref_sel) / 10_000 + sel * (100 - sel) / 20_000)
    assert np.all(np.abs(sel - ref_sel) <= 4 * se + 0.05)
    assert np.all(np.abs(res.per_dose["mean_patients"].to_numpy() - ref_n) < 0.15)
    assert res.metric("no_selection_pct") < 0.2
