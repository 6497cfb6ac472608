"""BF-BOIN's array functions agree with the scalar core on random histories with backfill
patients, pending outcomes and responses (random parameters and every option):
``decide_bf_boin`` = ``BFBOIN.decide``, ``backfill_open_arrays`` = ``backfill_open``,
``assign_backfill_arrays`` = ``assign_backfill``, ``select_bf_boin`` = ``BFBOIN.select``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from doseladder.core.designs.arrays import ACTION_NAMES, DoseArrays, PatientArrays
from doseladder.core.designs.arrays.bf_boin import assign_backfill_arrays, backfill_open_arrays
from doseladder.core.designs.bf_boin import (
    BFBOIN,
    _escalation_dose,
    assign_backfill,
    backfill_open,
)
from doseladder.core.errors import InputError
from doseladder.core.rules.driving_indication import TOXICITY_DEESCALATION_RULES
from doseladder.core.state import Patient, TrialState

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def bf_designs(draw: st.DrawFn) -> BFBOIN:
    num = draw(st.integers(2, 6))
    target = draw(st.sampled_from([0.2, 0.25, 0.3]))
    try:
        return BFBOIN(
            num_doses=num,
            target=target,
            cohort_size=draw(st.integers(3, 4)),
            max_n=draw(st.integers(3, 36)),
            start_dose=draw(st.integers(1, num)),
            extrasafe=draw(st.booleans()),
            n_earlystop=draw(st.sampled_from([6, 9, 12, 100])),
            bound_mtd=draw(st.booleans()),
            n_cap=draw(st.integers(1, 14)),
            cap_rule=draw(st.sampled_from(["bfboin", "at_most"])),
            backfill_assign=draw(st.sampled_from(["highest", "lowest", "random"])),
            three_plus_three=target == 0.25 and draw(st.booleans()),
            activity=draw(st.sampled_from(["dose", "dose_or_lower"])),
        )
    except InputError:
        assume(False)
        raise


@st.composite
def bf_histories(draw: st.DrawFn, num: int) -> TrialState:
    """Escalation runs at one dose with backfill patients below, any outcomes (pending too),
    responses, carried eliminations, sometimes an explicit escalation dose."""
    size = draw(st.integers(0, 24))
    dose = draw(st.integers(1, num))
    patients = []
    for i in range(size):
        backfill = draw(st.integers(0, 2)) == 0
        if backfill:
            d = draw(st.integers(1, num))
        else:
            if draw(st.integers(0, 3)) == 0:
                dose = draw(st.integers(1, num))
            d = dose
        tox = draw(st.sampled_from([True, False, False, False, None]))
        eff = draw(st.sampled_from([True, False, None]))
        patients.append(Patient(dose=d, entry_time=float(i), tox=tox, eff=eff, backfill=backfill))
    elim = draw(st.frozensets(st.integers(1, num), max_size=1))
    current = None
    if patients and draw(st.integers(0, 9)) == 0:
        current = draw(st.integers(1, num))
    return TrialState(num, tuple(patients), current_dose=current, eliminated=elim)


@st.composite
def bf_trials(draw: st.DrawFn, num: int, csize: int) -> TrialState:
    """Trial-like histories: complete escalation cohorts walking up and down, backfill
    patients below the escalation dose (DLT-rich, mostly complete), the last escalation cohort
    complete, pending or partly filled -- the states where conflicts and pooling happen."""
    cohorts = draw(st.integers(1, 6))
    dose = draw(st.integers(1, num))
    patients: list[Patient] = []
    t = 0.0
    for c in range(cohorts):
        last = c == cohorts - 1
        size = draw(st.integers(1, csize)) if last else csize
        for _ in range(size):
            tox = draw(st.sampled_from([True, False, False]))
            if last and draw(st.integers(0, 3)) == 0:
                tox = None
            eff = draw(st.sampled_from([True, False]))
            patients.append(Patient(dose=dose, entry_time=t, tox=tox, eff=eff))
            t += 1.0
            if dose > 1 and draw(st.integers(0, 2)) == 0:
                for _ in range(draw(st.integers(1, 4))):
                    bd = draw(st.integers(1, dose - 1))
                    btox = draw(st.sampled_from([True, True, False, False, False, None]))
                    patients.append(Patient(dose=bd, entry_time=t, tox=btox, backfill=True))
                    t += 1.0
        if not last:
            dose = min(num, max(1, dose + draw(st.sampled_from([-1, 0, 1, 1]))))
    return TrialState(num, tuple(patients), current_dose=dose)


def to_arrays(
    states: Sequence[TrialState], start: int, now: Sequence[float] | None = None
) -> DoseArrays:
    """Stack states; ``current`` = the escalation dose; ``tox_at``/``eff_at`` = entry when
    known, inf when pending; ``now`` per trial (default: after every entry)."""
    base = DoseArrays.from_states(states)
    num = states[0].num_doses
    width = max(1, max(s.n_patients for s in states))
    rows = len(states)
    dose = np.full((rows, width), num, dtype=np.int64)
    entry = np.zeros((rows, width))
    tox_at = np.full((rows, width), np.inf)
    eff_at = np.full((rows, width), np.inf)
    tox = np.zeros((rows, width), dtype=bool)
    eff = np.zeros((rows, width), dtype=bool)
    backfill = np.zeros((rows, width), dtype=bool)
    current = np.zeros(rows, dtype=np.int64)
    for r, s in enumerate(states):
        current[r] = (_escalation_dose(s) or start) - 1
        for i, p in enumerate(s.patients):
            dose[r, i] = p.dose - 1
            entry[r, i] = p.entry_time
            if p.tox is not None:
                tox_at[r, i] = p.entry_time
            tox[r, i] = p.tox is True
            eff[r, i] = p.eff is True
            if p.eff is True:
                eff_at[r, i] = p.entry_time
            backfill[r, i] = p.backfill
    at = np.full(rows, float(width)) if now is None else np.asarray(now, dtype=float)
    pts = PatientArrays(dose, entry, tox_at, eff_at, tox, eff, at, backfill)
    return DoseArrays(
        base.n,
        base.tox,
        base.tox_pending,
        base.eff,
        base.eff_pending,
        base.both,
        current,
        base.eliminated,
        pts,
    )


@SETTINGS
@given(design=bf_designs(), data=st.data())
def test_decisions_agree(design: BFBOIN, data: st.DataObject) -> None:
    histories = st.one_of(
        bf_histories(design.num_doses), bf_trials(design.num_doses, design.cohort_size)
    )
    states = data.draw(st.lists(histories, min_size=1, max_size=8))
    got = design.decide_arrays(to_arrays(states, design.start_dose))
    for r, state in enumerate(states):
        dec = design.decide(state)
        where = (r, state, dec)
        assert ACTION_NAMES[int(got.action[r])] == dec.action.value, where
        nd = int(got.next_dose[r])
        assert (nd + 1 if nd >= 0 else None) == dec.next_dose, where
        elim = frozenset(int(d) + 1 for d in np.flatnonzero(got.eliminated[:, r]))
        assert elim == dec.eliminated, where
        deesc = dec.reason.rule.rsplit(".", 1)[-1] in TOXICITY_DEESCALATION_RULES
        assert bool(got.tox_deesc[r]) == deesc, (*where, dec.reason.rule)


@SETTINGS
@given(design=bf_designs(), data=st.data())
def test_open_doses_and_assignment_agree(design: BFBOIN, data: st.DataObject) -> None:
    histories = st.one_of(
        bf_histories(design.num_doses), bf_trials(design.num_doses, design.cohort_size)
    )
    states = data.draw(st.lists(histories, min_size=1, max_size=8))
    arrays = to_arrays(states, design.start_dose)
    got = backfill_open_arrays(design, arrays)
    u = np.array(
        data.draw(st.lists(st.floats(0, 0.999999), min_size=len(states), max_size=len(states)))
    )
    chosen = assign_backfill_arrays(got, design.backfill_assign, u)
    for r, state in enumerate(states):
        cur = int(arrays.current[r]) + 1
        want = backfill_open(design, state, cur)
        assert [int(j) + 1 for j in np.flatnonzero(got[:, r])] == want, (r, state, cur)
        pick_ = assign_backfill(want, design.backfill_assign, float(u[r]))
        assert (int(chosen[r]) + 1 if chosen[r] >= 0 else None) == pick_


@SETTINGS
@given(design=bf_designs(), data=st.data())
def test_selections_agree(design: BFBOIN, data: st.DataObject) -> None:
    histories = st.one_of(
        bf_histories(design.num_doses), bf_trials(design.num_doses, design.cohort_size)
    )
    states = data.draw(st.lists(histories, min_size=1, max_size=8))
    got = design.select_arrays(to_arrays(states, design.start_dose))
    for r, state in enumerate(states):
        try:
            sel = design.select(state)
        except InputError:
            continue  # escalation outcomes pending
        assert int(got[r]) == (sel.dose or 0), (r, state, sel)


def _pts(dose: int, outcomes: str, *, backfill: bool = False, resp: int = 0) -> list[Patient]:
    return [
        Patient(dose=dose, tox=None if c == "P" else c == "T", eff=i < resp, backfill=backfill)
        for i, c in enumerate(outcomes)
    ]


def test_worked_examples_of_the_spec() -> None:
    """backfill.md §7 (target 0.25, 5 doses, cohorts of 3, n_cap 12), read off the array
    functions directly."""
    design = BFBOIN(num_doses=5, target=0.25, cohort_size=3, n_cap=12)
    h1 = _pts(1, "NNN") + _pts(2, "NNN", resp=1) + _pts(2, "TN", backfill=True) + _pts(3, "NNN")
    h1_pending = _pts(1, "NNN") + _pts(2, "NNN", resp=1) + _pts(3, "PPP")
    h2 = (
        _pts(1, "NNN", resp=1)
        + _pts(1, "NNN", backfill=True)
        + _pts(2, "TNN")
        + _pts(2, "TTTNNN", backfill=True)
        + _pts(3, "TNN")
    )
    h3_stop = _pts(1, "NNN") + _pts(1, "TTTTTN", backfill=True) + _pts(2, "NNN")
    h3_go = _pts(1, "NNN") + _pts(1, "TTTTNN", backfill=True) + _pts(2, "NNN")
    h4 = _pts(1, "NNN") + _pts(2, "NNN") + _pts(3, "NNN") + _pts(4, "TTT")
    histories = (h1, h1_pending, h2, h3_stop, h3_go, h4)
    states = [
        TrialState(5, tuple(p), current_dose=[q.dose for q in p if not q.backfill][-1])
        for p in histories
    ]
    arrays = to_arrays(states, 1)
    dec = design.decide_arrays(arrays)
    names = [ACTION_NAMES[int(a)] for a in dec.action]
    assert names == ["escalate", "suspend", "de-escalate", "stop", "de-escalate", "de-escalate"]
    assert list(dec.next_dose) == [3, 2, 0, -1, 0, 2]  # 0-based: 4, 3, 1, none, 1, 3
    assert np.flatnonzero(dec.eliminated[:, 5]).tolist() == [3, 4]  # H4: doses 4..5
    assert np.flatnonzero(backfill_open_arrays(design, arrays)[:, 1]).tolist() == [1]  # H1: {2}
