"""BOIN's array decision and selection agree with ``BOIN.decide`` / ``BOIN.select``
(random parameters, every option, random histories)."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from doseladder.core.designs import BOIN
from doseladder.core.errors import InputError

from .conformance import assert_decisions_agree, assert_selections_agree, histories

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def boin_designs(draw: st.DrawFn) -> BOIN:
    num = draw(st.integers(1, 6))
    target = draw(st.sampled_from([0.05, 0.1, 0.2, 0.25, 0.3, 0.33, 0.4, 0.5, 0.6]))
    p_saf = draw(st.one_of(st.none(), st.floats(0.01, 0.9).map(lambda f: f * target)))
    p_tox = draw(st.one_of(st.none(), st.floats(1.1, 3.0).map(lambda f: min(f * target, 0.99))))
    extrasafe = draw(st.booleans())
    try:
        return BOIN(
            num_doses=num,
            target=target,
            cohort_size=draw(st.integers(1, 4)),
            max_n=draw(st.integers(1, 36)),
            start_dose=draw(st.integers(1, num)),
            p_saf=p_saf,
            p_tox=p_tox,
            cutoff_eli=draw(st.sampled_from([0.51, 0.7, 0.8, 0.9, 0.95, 0.99])),
            extrasafe=extrasafe,
            offset=draw(st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.45])),
            n_earlystop=draw(st.integers(1, 40)),
            bound_mtd=draw(st.booleans()),
        )
    except InputError:
        assume(False)
        raise


@SETTINGS
@given(data=st.data())
def test_decide_arrays_equals_decide(data: st.DataObject) -> None:
    design = data.draw(boin_designs())
    states = data.draw(
        st.lists(histories(design.num_doses, design.max_n + 3), min_size=1, max_size=12)
    )
    assert_decisions_agree(design, states)


@SETTINGS
@given(data=st.data())
def test_select_arrays_equals_select(data: st.DataObject) -> None:
    design = data.draw(boin_designs())
    states = data.draw(
        st.lists(
            histories(design.num_doses, design.max_n + 3, pending=False), min_size=1, max_size=12
        )
    )
    assert assert_selections_agree(design, states) == len(states)
