"""TITE-BOIN's array decision agrees with ``TITEBOIN.decide`` at random decision times (random
parameters, both forms and every option, random histories with pending DLT outcomes); its
selection agrees with ``TITEBOIN.select``."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from doseladder.core.designs import TITEBOIN
from doseladder.core.errors import InputError

from .conformance import (
    assert_decisions_agree,
    assert_selections_agree,
    histories,
    timed_histories,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tite_boin_designs(draw: st.DrawFn) -> TITEBOIN:
    num = draw(st.integers(1, 6))
    target = draw(st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.33, 0.4, 0.5]))
    p_saf = draw(st.one_of(st.none(), st.floats(0.01, 0.9).map(lambda f: f * target)))
    p_tox = draw(st.one_of(st.none(), st.floats(1.1, 3.0).map(lambda f: min(f * target, 0.99))))
    try:
        return TITEBOIN(
            num_doses=num,
            target=target,
            tox_window=draw(st.sampled_from([1.0, 10.0, 28.0, 30.0])),
            cohort_size=draw(st.integers(1, 4)),
            max_n=draw(st.integers(1, 36)),
            start_dose=draw(st.integers(1, num)),
            p_saf=p_saf,
            p_tox=p_tox,
            cutoff_eli=draw(st.sampled_from([0.51, 0.7, 0.9, 0.95, 0.99])),
            extrasafe=draw(st.booleans()),
            offset=draw(st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.45])),
            n_earlystop=draw(st.integers(1, 40)),
            bound_mtd=draw(st.booleans()),
            form=draw(st.sampled_from(["imputation", "ess"])),
            max_pending=draw(st.sampled_from([0.0, 0.25, 0.5, 0.75, 0.9])),
            block_escalation_few_complete=draw(st.booleans()),
        )
    except InputError:
        assume(False)
        raise


@SETTINGS
@given(data=st.data())
def test_decide_arrays_equals_decide(data: st.DataObject) -> None:
    design = data.draw(tite_boin_designs())
    drawn = data.draw(
        st.lists(timed_histories(design.num_doses, design.max_n + 3), min_size=1, max_size=12)
    )
    assert_decisions_agree(design, [s for s, _ in drawn], [t for _, t in drawn])


@SETTINGS
@given(data=st.data())
def test_select_arrays_equals_select(data: st.DataObject) -> None:
    design = data.draw(tite_boin_designs())
    states = data.draw(
        st.lists(
            histories(design.num_doses, design.max_n + 3, pending=False), min_size=1, max_size=12
        )
    )
    assert assert_selections_agree(design, states) == len(states)
