"""The 3+3's array decision and selection agree with ``ThreePlusThree.decide`` / ``.select``
(both variants, random start dose and maximum sample size, random histories with pending
outcomes)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseladder.core.designs import ThreePlusThree

from .conformance import assert_decisions_agree, assert_selections_agree, histories

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def designs(draw: st.DrawFn) -> ThreePlusThree:
    num = draw(st.integers(1, 6))
    return ThreePlusThree(
        num_doses=num,
        allow_deescalate=draw(st.booleans()),
        start_dose=draw(st.integers(1, num)),
        max_n=draw(st.one_of(st.none(), st.integers(1, 12).map(lambda k: 3 * k))),
    )


@SETTINGS
@given(data=st.data())
def test_decide_arrays_equals_decide(data: st.DataObject) -> None:
    design = data.draw(designs())
    states = data.draw(st.lists(histories(design.num_doses, 14), min_size=1, max_size=12))
    assert_decisions_agree(design, states)


@SETTINGS
@given(data=st.data())
def test_select_arrays_equals_select(data: st.DataObject) -> None:
    design = data.draw(designs())
    states = data.draw(st.lists(histories(design.num_doses, 14), min_size=1, max_size=12))
    assert_selections_agree(design, states)
