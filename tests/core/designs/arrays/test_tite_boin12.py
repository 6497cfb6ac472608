"""TITE-BOIN12's array decision agrees with ``TITEBOIN12.decide`` at random decision times
(random parameters, every option, random histories with pending toxicity and efficacy
outcomes); its selection is BOIN12's and agrees with ``TITEBOIN12.select``."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from doseladder.core.designs import TITEBOIN12
from doseladder.core.errors import InputError

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
