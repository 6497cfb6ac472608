"""Keyboard, mTPI-2 and i3+3: the array decision and selection agree with ``decide`` /
``select`` (random parameters, every option, random histories)."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from doseladder.core.designs import I3P3, MTPI2, Design, Keyboard
from doseladder.core.errors import InputError

from .conformance import assert_decisions_agree, assert_selections_agree, histories

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def interval_designs(draw: st.DrawFn) -> Design:
    num = draw(st.integers(1, 6))
    target = draw(st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.33, 0.4, 0.5]))
    common = {
        "num_doses": num,
        "target": target,
        "cohort_size": draw(st.integers(1, 4)),
        "max_n": draw(st.integers(1, 30)),
        "start_dose": draw(st.integers(1, num)),
        "cutoff_eli": draw(st.sampled_from([0.7, 0.9, 0.95, 0.99])),
        "n_earlystop": draw(st.integers(1, 30)),
    }
    which = draw(st.sampled_from(["keyboard", "mtpi2", "i3+3"]))
    try:
        if which == "keyboard":
            return Keyboard(
                **common,
                margin_left=draw(st.sampled_from([0.03, 0.05, 0.08])),
                margin_right=draw(st.sampled_from([0.03, 0.05, 0.1])),
                extrasafe=draw(st.booleans()),
                offset=draw(st.sampled_from([0.0, 0.05, 0.1])),
            )
        if which == "mtpi2":
            return MTPI2(
                **common,
                epsilon1=draw(st.sampled_from([0.03, 0.05])),
                epsilon2=draw(st.sampled_from([0.05, 0.1])),
            )
        return I3P3(**common)
    except InputError:
        assume(False)
        raise


@SETTINGS
@given(design=interval_designs(), data=st.data())
def test_decisions_agree(design: Design, data: st.DataObject) -> None:
    states = data.draw(st.lists(histories(design.num_doses, 24), min_size=1, max_size=8))
    assert_decisions_agree(design, states)


@SETTINGS
@given(design=interval_designs(), data=st.data())
def test_selections_agree(design: Design, data: st.DataObject) -> None:
    states = data.draw(
        st.lists(histories(design.num_doses, 24, pending=False), min_size=1, max_size=8)
    )
    assert_selections_agree(design, states)
