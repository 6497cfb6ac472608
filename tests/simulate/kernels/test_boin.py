"""BOIN kernel: same decisions as the core, and OCs as BOIN::get.oc (reference-results S1)."""

from __future__ import annotations

import numpy as np
import pytest

from doseladder.core.designs import BOIN
from doseladder.core.replay import replay
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Scenario

from .histories import complete_cohorts

S1 = Scenario(p_tox=(0.05, 0.10, 0.20, 0.30, 0.50, 0.70), name="S1")


def _check_against_core(design: BOIN, scenario: Scenario, n: int, seed: int) -> None:
    task = BlockTask(design, scenario, seed, 0, 0, n, design.max_n)
    arrays = run_block(task)
    draws = PatientDraws(scenario, seed, 0, 0, n, design.max_n)
    for t in range(n):
        cohorts = complete_cohorts(arrays, draws, t, design.cohort_size)
        rep = replay(design, cohorts, design.num_doses)
        # every intermediate decision sends the next cohort where the simulator sent it
        for k, decision in enumerate(rep.decisions[:-1]):
            assert not decision.stopped, (t, k, decision)
            assert decision.next_dose == cohorts[k + 1][0].dose, (t, k, decision)
        last = rep.decisions[-1]
        if arrays.n[t].sum() < design.max_n:
            assert last.stopped, (t, last)
        sel = design.select(rep.state)
        expected = 0 if arrays.stopped_early[t] else (sel.dose or 0)
        assert arrays.selected[t] == expected, (t, sel)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"n_earlystop": 9},
        {"extrasafe": True},
        {"bound_mtd": True, "start_dose": 2},
        {"cohort_size": 2, "max_n": 25},
    ],
)
def test_kernel_takes_the_core_decisions(kwargs: dict[str, object]) -> None:
    design = BOIN(num_doses=5, target=0.3, max_n=kwargs.pop("max_n", 30), **kwargs)  # type: ignore[arg-type]
    toxic = Scenario(p_tox=(0.25, 0.35, 0.5, 0.6, 0.7))
    mild = Scenario(p_tox=(0.05, 0.1, 0.2, 0.3, 0.45))
    _check_against_core(design, toxic, 150, seed=11)
    _check_against_core(design, mild, 150, seed=12)


def test_oc_agree_with_boin_get_oc_s1() -> None:
    """reference-results.md S1: BOIN::get.oc seed 6, 10,000 trials (R's own MC error too)."""
    ref_sel = np.array([0.26, 4.61, 30.18, 50.10, 14.27, 0.56])
    ref_n = np.array([3.717, 5.566, 8.828, 8.291, 3.241, 0.351])
    res = simulate(BOIN(num_doses=6, target=0.3, max_n=30), S1, 20_000, seed=2024)
    sel = res.per_dose["selection_pct"].to_numpy()
    # difference of two independent estimates: SE of each ~ sqrt(p(100-p)/n)
    se = np.sqrt(ref_sel * (100 - ref_sel) / 10_000 + sel * (100 - sel) / 20_000)
    assert np.all(np.abs(sel - ref_sel) <= 4 * se + 0.05)
    assert np.all(np.abs(res.per_dose["mean_patients"].to_numpy() - ref_n) < 0.15)
    assert res.metric("no_selection_pct") < 0.2


def test_extrasafe_corner_where_zero_dlts_stop_the_trial() -> None:
    """Pr(p > 0.05 | 0 of 3) = 0.95⁴ = 0.81 > 0.95 − 0.2: get.oc and the core stop at 0 DLTs."""
    design = BOIN(num_doses=3, target=0.05, extrasafe=True, offset=0.2, max_n=12)
    _check_against_core(design, Scenario(p_tox=(0.02, 0.05, 0.1)), 50, seed=3)
    res = simulate(design, Scenario(p_tox=(0.02, 0.05, 0.1)), 200, seed=1)
    assert res.metric("early_stop_pct") == 100.0
