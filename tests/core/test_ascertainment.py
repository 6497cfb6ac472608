"""Ascertainment: known or pending, stated from the rule text (module docstring), with
hypothesis properties over random records."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.ascertainment import (
    OutcomeStatus,
    ascertain_efficacy,
    ascertain_toxicity,
    describe_ascertainment,
)

days = st.floats(min_value=0, max_value=400, allow_nan=False)


def test_dlt_is_known_at_the_earliest_onset_even_before_the_window_ends() -> None:
    out = ascertain_toxicity(infused=True, followup=10, window=28, dlt_onsets=[7, 4])
    assert (out.value, out.time, out.status) == (True, 4.0, OutcomeStatus.KNOWN)


def test_dlt_time_never_exceeds_followup_nor_goes_negative() -> None:
    assert ascertain_toxicity(infused=True, followup=3, window=28, dlt_onsets=[9]).time == 3.0
    assert ascertain_toxicity(infused=True, followup=3, window=28, dlt_onsets=[-2]).time == 0.0


def test_a_possible_dlt_keeps_the_outcome_pending_after_the_window() -> None:
    out = ascertain_toxicity(infused=True, followup=60, window=28, awaiting_adjudication=1)
    assert out.pending and out.status is OutcomeStatus.AWAITING_ADJUDICATION


def test_not_infused_is_pending_whatever_the_window() -> None:
    out = ascertain_toxicity(infused=False, followup=0, window=0)
    assert out.pending and out.status is OutcomeStatus.NOT_INFUSED


def test_window_boundary_is_inclusive() -> None:
    assert ascertain_toxicity(infused=True, followup=28, window=28).value is False
    assert ascertain_toxicity(infused=True, followup=27.99, window=28).status == "in_window"


def test_window_completion_adjudication_closes_the_window_early() -> None:
    out = ascertain_toxicity(infused=True, followup=5, window=28, window_completed=True)
    assert out.value is False and out.status is OutcomeStatus.KNOWN


@given(
    infused=st.booleans(),
    followup=days,
    window=st.floats(min_value=1, max_value=200),
    onsets=st.lists(days, max_size=3),
    awaiting=st.integers(0, 3),
    completed=st.booleans(),
)
def test_toxicity_properties(
    infused: bool,
    followup: float,
    window: float,
    onsets: list[float],
    awaiting: int,
    completed: bool,
) -> None:
    out = ascertain_toxicity(
        infused=infused,
        followup=followup,
        window=window,
        dlt_onsets=onsets,
        awaiting_adjudication=awaiting,
        window_completed=completed,
    )
    # a DLT always wins; known iff status is KNOWN; time only with a DLT, within follow-up
    assert (out.value is True) == bool(onsets)
    assert (out.value is not None) == (out.status is OutcomeStatus.KNOWN)
    if out.value is True:
        assert out.time is not None and 0 <= out.time <= followup
    else:
        assert out.time is None
    if not onsets and infused and awaiting == 0:
        assert out.value is (False if (completed or followup >= window) else None)


def test_response_outside_the_window_does_not_count() -> None:
    out = ascertain_efficacy(infused=True, followup=200, window=84, response_days=[90])
    assert out.value is False and out.status is OutcomeStatus.KNOWN
    out = ascertain_efficacy(infused=True, followup=50, window=84, response_days=[30, 20])
    assert (out.value, out.time) == (True, 20.0)


def test_final_non_response_is_known_early_and_pending_otherwise() -> None:
    assert (
        ascertain_efficacy(infused=True, followup=10, window=84, final_non_response=True).value
        is False
    )
    assert ascertain_efficacy(infused=True, followup=10, window=84).pending
    assert ascertain_efficacy(infused=False, followup=0, window=84).status == "not_infused"


@given(
    infused=st.booleans(),
    followup=days,
    window=st.floats(min_value=1, max_value=200),
    responses=st.lists(st.floats(min_value=-10, max_value=400), max_size=3),
    final=st.booleans(),
)
def test_efficacy_properties(
    infused: bool, followup: float, window: float, responses: list[float], final: bool
) -> None:
    out = ascertain_efficacy(
        infused=infused,
        followup=followup,
        window=window,
        response_days=responses,
        final_non_response=final,
    )
    in_window = [d for d in responses if 0 <= d <= window]
    assert (out.value is True) == (infused and bool(in_window))
    if not infused:
        assert out.status is OutcomeStatus.NOT_INFUSED
    elif not in_window:
        assert out.value is (False if (final or followup >= window) else None)


def test_the_rule_describes_itself() -> None:
    text = describe_ascertainment(28, 84)
    assert "28-day DLT window" in text and "84 days" in text and "spec" in text
