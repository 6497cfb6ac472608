"""3+3 kernel: agrees with exact enumeration and with the core's decisions."""

from __future__ import annotations

import numpy as np
import pytest

from doseladder.core.designs import ThreePlusThree
from doseladder.core.exact_three_plus_three import exact_oc
from doseladder.core.replay import replay
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Scenario

from .histories import complete_cohorts


@pytest.mark.parametrize("deesc", [False, True])
@pytest.mark.parametrize(
    "p", [(0.05, 0.10, 0.20, 0.30, 0.50, 0.70), (0.10, 0.30, 0.50), (0.30, 0.45, 0.60)]
)
def test_simulation_matches_exact_enumeration(deesc: bool, p: tuple[float, ...]) -> None:
    design = ThreePlusThree(num_doses=len(p), allow_deescalate=deesc)
    res = simulate(design, Scenario(p_tox=p), 40_000, seed=5)
    exact = exact_oc(design, p)
    sel = res.per_dose["selection_pct"].to_numpy() / 100
    ref = np.asarray(exact.p_mtd)
    se = np.sqrt(ref * (1 - ref) / 40_000)
    assert np.all(np.abs(sel - ref) <= 4.5 * se + 1e-9)
    assert (
        abs(res.metric("no_selection_pct") / 100 - exact.p_no_mtd)
        <= 4.5 * np.sqrt(exact.p_no_mtd * (1 - exact.p_no_mtd) / 40_000) + 1e-9
    )
    assert np.allclose(res.per_dose["mean_patients"], exact.expected_n, atol=0.05)


@pytest.mark.parametrize("deesc", [False, True])
def test_kernel_takes_the_core_decisions(deesc: bool) -> None:
    design = ThreePlusThree(num_doses=4, allow_deescalate=deesc)
    sc = Scenario(p_tox=(0.1, 0.25, 0.4, 0.55))
    arrays = run_block(BlockTask(design, sc, 3, 0, 0, 300, design.max_n))
    draws = PatientDraws(sc, 3, 0, 0, 300, design.max_n)
    for t in range(300):
        cohorts = complete_cohorts(arrays, draws, t, 3)
        rep = replay(design, cohorts, design.num_doses)
        for k, decision in enumerate(rep.decisions[:-1]):
            assert decision.next_dose == cohorts[k + 1][0].dose, (t, k, decision)
        assert rep.decisions[-1].stopped
        assert (rep.decisions[-1].next_dose or 0) == arrays.selected[t], (t, rep.decisions[-1])
