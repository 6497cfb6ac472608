"""Shared checks: a design's array functions agree with its scalar ``decide`` / ``select``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from hypothesis import strategies as st

from doseladder.core.designs import Design
from doseladder.core.designs.arrays import ACTION_NAMES, DoseArrays, PatientArrays
from doseladder.core.errors import InputError
from doseladder.core.rules.driving_indication import TOXICITY_DEESCALATION_RULES
from doseladder.core.state import Patient, TrialState

#: a DLT outcome: observed DLT, no DLT, pending
OUTCOMES = st.sampled_from([True, False, False, None])


@st.composite
def histories(
    draw: st.DrawFn,
    num_doses: int,
    max_patients: int,
    *,
    pending: bool = True,
    efficacy: bool = False,
) -> TrialState:
    """A random trial state: patients at any doses (biased towards runs at one dose, as in a
    trial), any outcomes (pending ones too), carried eliminations and sometimes an explicit
    current dose."""
    size = draw(st.integers(0, max_patients))
    dose = draw(st.integers(1, num_doses))
    patients = []
    for i in range(size):
        if draw(st.integers(0, 3)) == 0:
            dose = draw(st.integers(1, num_doses))
        tox = draw(OUTCOMES if pending else st.booleans())
        eff: bool | None = False
        if efficacy:
            eff = draw(st.sampled_from([True, False, None] if pending else [True, False]))
        patients.append(Patient(dose=dose, entry_time=float(i), tox=tox, eff=eff))
    elim = draw(st.frozensets(st.integers(1, num_doses), max_size=2))
    current = None
    if patients and draw(st.integers(0, 9)) == 0:
        current = draw(st.integers(1, num_doses))
    return TrialState(num_doses, tuple(patients), current_dose=current, eliminated=elim)


@st.composite
def timed_histories(
    draw: st.DrawFn, num_doses: int, max_patients: int, *, efficacy: bool = False
) -> tuple[TrialState, float]:
    """A random trial state with entry times and a decision time ``now`` (for time-to-event
    designs): :func:`histories` with random inter-arrival gaps (zero gaps too, several
    patients entering at once) and ``now`` at or after the last entry."""
    state = draw(histories(num_doses, max_patients, pending=True, efficacy=efficacy))
    gaps = st.sampled_from([0.0, 0.5, 1.0, 3.0]) | st.floats(0.0, 40.0)
    t = 0.0
    patients = []
    for p in state.patients:
        t += draw(gaps)
        patients.append(replace(p, entry_time=t))
    now = t + draw(st.sampled_from([0.0, 1.0, 15.0, 30.0, 100.0]) | st.floats(0.0, 60.0))
    return replace(state, patients=tuple(patients)), now


def assert_decisions_agree(
    design: Design, states: Sequence[TrialState], now: Sequence[float] | None = None
) -> int:
    """``design.decide_arrays`` = ``design.decide`` on every state ``decide`` accepts (next
    dose, action -- hence suspension and stop --, eliminations, toxicity de-escalation);
    ``now``: the decision times (time-to-event designs; the arrays then carry the patients).
    Returns the number of states compared."""
    data = DoseArrays.from_states(states)
    if now is not None:
        data = replace(data, patients=PatientArrays.from_states(states, now))
    got = design.decide_arrays(data)
    compared = 0
    for r, state in enumerate(states):
        try:
            dec = design.decide(state, None if now is None else now[r])
        except InputError:
            continue  # not a history of this design (e.g. > 6 patients at a 3+3 dose)
        compared += 1
        where = (r, state, dec)
        assert ACTION_NAMES[int(got.action[r])] == dec.action.value, where
        nd = int(got.next_dose[r])
        assert (nd + 1 if nd >= 0 else None) == dec.next_dose, where
        elim = frozenset(int(d) + 1 for d in np.flatnonzero(got.eliminated[:, r]))
        assert elim == dec.eliminated, where
        deesc = dec.reason.rule.rsplit(".", 1)[-1] in TOXICITY_DEESCALATION_RULES
        assert bool(got.tox_deesc[r]) == deesc, (*where, dec.reason.rule)
    return compared


def assert_selections_agree(design: Design, states: Sequence[TrialState]) -> int:
    """``design.select_arrays`` = ``design.select(...).dose`` on every state ``select``
    accepts.  Returns the number of states compared."""
    got = design.select_arrays(DoseArrays.from_states(states))
    compared = 0
    for r, state in enumerate(states):
        try:
            sel = design.select(state)
        except InputError:
            continue
        compared += 1
        assert int(got[r]) == (sel.dose or 0), (r, state, sel)
    return compared
