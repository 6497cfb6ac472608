"""BE-BOIN kernel: at every arrival of simulated trials the kernel's decision (the array form)
is the core's (``BEBOIN.decide`` on the trial rebuilt at that time) -- a replay of simulated
histories --, which carries the invariants: never skip an untried dose, never an eliminated
dose, a backfill patient only at a dose open for backfill (``BEBOIN.open_for_backfill``).
``no_slot: wait`` holds a waiting arrival until the trial's next event (no arrival turned
away), ``leave`` turns it away."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from doseladder.core.designs.arrays import ACTION_NAMES, DoseArrays
from doseladder.core.designs.arrays import be_boin as arrays_be_boin
from doseladder.core.designs.be_boin import BEBOIN
from doseladder.core.state import Patient, TrialState
from doseladder.simulate.engine import simulate
from doseladder.simulate.scenario import Accrual, Scenario

SCENARIO = Scenario(
    p_tox=(0.04, 0.12, 0.25, 0.43, 0.63),
    p_eff=(0.10, 0.20, 0.30, 0.45, 0.58),
    accrual=Accrual("poisson", 2.0),
)


def _state(data: DoseArrays, r: int) -> tuple[TrialState, float]:
    pts = data.patients
    assert pts is not None
    num = data.num_doses
    now = float(pts.now[r])
    patients = []
    for i in range(pts.dose.shape[1]):
        if pts.dose[r, i] >= num:
            continue
        known = pts.tox_at[r, i] <= now
        seen = bool(pts.eff[r, i]) and pts.eff_at[r, i] <= now
        patients.append(
            Patient(
                dose=int(pts.dose[r, i]) + 1,
                entry_time=float(pts.entry[r, i]),
                tox=bool(pts.tox[r, i]) if known else None,
                eff=True if seen else None,
                backfill=bool(pts.backfill[r, i]) if pts.backfill is not None else False,
            )
        )
    elim = frozenset(int(j) + 1 for j in np.flatnonzero(data.eliminated[:, r]))
    return (
        TrialState(num, tuple(patients), current_dose=int(data.current[r]) + 1, eliminated=elim),
        now,
    )


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"conflict_dose": "highest", "backfill_assign": "lowest", "min_completed": 2},
        {"max_pending_ratio": 1.0, "min_follow_up": 0.5, "extrasafe": True, "n_cap": 4},
        {"n_cap": 5, "cap_rule": "at_most", "backfill_assign": "lowest"},
        {"no_slot": "wait"},
        {"no_slot": "wait", "min_follow_up": 0.5, "n_cap": 3, "backfill_assign": "random"},
    ],
)
def test_replay_equals_the_core(monkeypatch: pytest.MonkeyPatch, kw: dict[str, Any]) -> None:
    kw = {"no_slot": "leave", **kw}
    design = BEBOIN(num_doses=5, tox_window=3.0, max_n=24, n_earlystop=9, **kw)
    original = arrays_be_boin.decide_be_boin
    seen = {"decisions": 0, "suspend": 0, "backfill_open": 0}

    def checked(d: BEBOIN, data: DoseArrays) -> Any:
        got = original(d, data)
        opened = arrays_be_boin.be_boin_open_arrays(d, data)
        for r in range(data.rows):
            state, now = _state(data, r)
            dec = d.decide(state, now)
            where = (state, now, dec)
            assert ACTION_NAMES[int(got.action[r])] == dec.action.value, where
            nd = int(got.next_dose[r])
            assert (nd + 1 if nd >= 0 else None) == dec.next_dose, where
            elim = frozenset(int(j) + 1 for j in np.flatnonzero(got.eliminated[:, r]))
            assert elim == dec.eliminated, where
            tried = max(p.dose for p in state.patients)
            if dec.next_dose is not None:
                assert dec.next_dose <= tried + 1 and dec.next_dose not in dec.eliminated
            seen["decisions"] += 1
            if dec.action.value == "suspend":
                seen["suspend"] += 1
                want = d.open_for_backfill(state, int(data.current[r]) + 1, now)
                assert [int(j) + 1 for j in np.flatnonzero(opened[:, r])] == want, where
                assert dec.reason.values["backfill_open"] == want
                seen["backfill_open"] += bool(want)
        return got

    monkeypatch.setattr(arrays_be_boin, "decide_be_boin", checked)
    res = simulate(design, SCENARIO, 60, seed=5, keep_trials=True)
    assert seen["decisions"] > 500 and seen["suspend"] > 50 and seen["backfill_open"] > 10, seen
    a = res.trials
    assert a is not None
    assert a.n_backfill.sum() > 0
    # backfill patients are never at the top dose (only below the escalation dose)
    assert (a.n_backfill[:, -1] == 0).all()


def test_wait_holds_arrivals_leave_turns_them_away() -> None:
    """Same draws: under ``leave`` arrivals with no open dose are turned away; under ``wait``
    none is, the waiting time is suspended time, and entries stay in time order."""
    got = {}
    for mode in ("leave", "wait"):
        design = BEBOIN(num_doses=5, tox_window=3.0, max_n=24, no_slot=mode)
        res = simulate(design, SCENARIO, 300, seed=3, keep_trials=True)
        assert res.trials is not None
        got[mode] = res.trials
    leave, wait = got["leave"], got["wait"]
    assert leave.turned_away is not None and wait.turned_away is not None
    assert leave.turned_away.sum() > 0
    assert wait.turned_away.sum() == 0
    assert wait.suspended is not None and (wait.suspended > 0).mean() > 0.5
    entry = np.where(np.isnan(wait.entry), 1e300, wait.entry)  # no patient: last
    assert (np.diff(entry, axis=1) >= 0).all()


def test_without_responses_there_is_no_backfill() -> None:
    design = BEBOIN(num_doses=5, tox_window=3.0, max_n=24, no_slot="leave")
    sc = Scenario(p_tox=SCENARIO.p_tox, p_eff=(0.0,) * 5, accrual=Accrual("poisson", 2.0))
    res = simulate(design, sc, 200, seed=2, keep_trials=True)
    assert res.trials is not None and res.trials.n_backfill.sum() == 0
