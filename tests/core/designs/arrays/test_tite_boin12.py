"""TITE-BOIN12's array decision agrees with ``TITEBOIN12.decide`` at random decision times
(random parameters, every option, random histories with pending toxicity and efficacy
outcomes); its selection is BOIN12's and agrees with ``TITEBOIN12.select``."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from doseladder.core.designs import TITEBOIN12
from doseladder.core.errors import InputError
from doseladder.core.state import Patient, TrialState

from .conformance import (
    assert_decisions_agree,
    assert_selections_agree,
    histories,
    timed_histories,
)
from .test_boin12 import boin12_fields

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tite_boin12_designs(draw: st.DrawFn) -> TITEBOIN12:
    fields = boin12_fields(draw, draw(st.integers(1, 6)))
    try:
        return TITEBOIN12(
            **fields,  # type: ignore[arg-type]
            tox_window=draw(st.sampled_from([10.0, 30.0, 28.0, 1.0])),
            eff_window=draw(st.sampled_from([10.0, 30.0, 56.0, 90.0])),
            max_pending=draw(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])),
            pending_admissibility=draw(st.sampled_from(["scaled", "ess"])),
            deescalate_on_observed=draw(st.booleans()),
        )
    except InputError:
        assume(False)
        raise


@SETTINGS
@given(data=st.data())
def test_decide_arrays_equals_decide(data: st.DataObject) -> None:
    design = data.draw(tite_boin12_designs())
    drawn = data.draw(
        st.lists(
            timed_histories(design.num_doses, design.max_n + 3, efficacy=True),
            min_size=1,
            max_size=12,
        )
    )
    assert_decisions_agree(design, [s for s, _ in drawn], [t for _, t in drawn])


@SETTINGS
@given(data=st.data())
def test_select_arrays_equals_select(data: st.DataObject) -> None:
    design = data.draw(tite_boin12_designs())
    states = data.draw(
        st.lists(
            histories(design.num_doses, design.max_n + 3, pending=False, efficacy=True),
            min_size=1,
            max_size=12,
        )
    )
    assert assert_selections_agree(design, states) == len(states)


def test_suspension_eliminations_and_observed_deescalation_agree() -> None:
    """The two cases of the scalar tests (``tests/core/designs/test_tite_boin12.py``): a
    suspension listing the doses eliminated on the current data, and the de-escalation at once
    on observed toxicities (``deescalate_on_observed``) -- the array decision equals
    ``decide``."""
    elim = TrialState(
        3,
        (
            *(Patient(2, 0.0, True, 1.0, False, None) for _ in range(5)),
            Patient(2, 0.0, False, None, False, None),
            *(Patient(1, 10.0, False, None, False, None) for _ in range(2)),
            *(Patient(1, 90.0, None, None, None, None) for _ in range(4)),
        ),
    )
    deesc = TrialState(
        3,
        (
            *(Patient(1, 0.0, False, None, False, None) for _ in range(3)),
            *(Patient(2, 50.0, True, 1.0, None, None) for _ in range(3)),
            *(Patient(2, 95.0, None, None, None, None) for _ in range(3)),
        ),
    )
    for flag in (False, True):
        for adm in ("permanent", "reevaluate"):
            design = TITEBOIN12(
                3,
                tox_window=30,
                eff_window=60,
                admissibility=adm,  # type: ignore[arg-type]
                deescalate_on_observed=flag,
            )
            assert assert_decisions_agree(design, [elim, deesc], [100.0, 100.0]) == 2
