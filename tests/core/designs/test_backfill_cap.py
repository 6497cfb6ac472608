"""The backfill cap (C3, spec ``backfill.md`` §4) in both readings: bfboin's "≤ n_cap before
enrolling" (a dose can reach n_cap + 1) and ``at_most`` (never more than n_cap); checked by
enrolling one patient at a time, as a simulation or a site does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.designs.backfill_cap import (
    CAP_RULES,
    backfill_room,
    cap_allows,
    cap_limit,
    cap_reason,
    describe_cap,
)
from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.core.errors import InputError


def fill(start: int, n_cap: int, rule: str) -> int:
    """Enrol backfill patients one at a time while the cap allows; the final count."""
    at = start
    while cap_allows(at, n_cap, rule):
        at += 1
    return at


@given(st.integers(0, 30), st.integers(1, 20))
def test_one_at_a_time_a_dose_ends_at_the_limit(start: int, n_cap: int) -> None:
    # bfboin: test "<= n_cap" before each enrolment -> n_cap + 1 (spec §4 C3)
    assert fill(start, n_cap, "bfboin") == max(start, n_cap + 1)
    # at_most: never more than n_cap
    assert fill(start, n_cap, "at_most") == max(start, n_cap)
    for rule in CAP_RULES:
        # the room is what one-at-a-time enrolment would add
        assert backfill_room(start, n_cap, rule) == fill(start, n_cap, rule) - start


def test_the_limits() -> None:
    assert cap_limit(12, "bfboin") == 13 and cap_limit(12, "at_most") == 12
    assert backfill_room(12, 12, "bfboin") == 1 and backfill_room(12, 12, "at_most") == 0
    assert backfill_room(13, 12, "bfboin") == 0


def test_an_unknown_reading_names_the_field() -> None:
    with pytest.raises(InputError) as info:
        cap_limit(12, "less_than")
    assert info.value.field == "cap_rule"
    with pytest.raises(InputError) as info:
        BFBOIN(num_doses=4, cap_rule="strict")
    assert info.value.field == "cap_rule" and "bfboin, at_most" in info.value.reason


def test_texts_say_what_the_reading_allows() -> None:
    assert "reach 13 patients" in describe_cap(12, "bfboin")
    assert "no dose ever has more than 12 patients" in describe_cap(12, "at_most")
    assert "the backfill cap is reached" in cap_reason("DL2", 12, 12, "at_most")
    assert "1 more backfill patient(s)" in cap_reason("DL2", 12, 12, "bfboin")


def test_the_design_default_is_bfboin_and_n_max_follows_the_reading() -> None:
    d = BFBOIN(num_doses=4, max_n=30, n_cap=12)
    assert d.cap_rule == "bfboin"
    assert d.n_max == 30 + 13 * 3
    assert BFBOIN(num_doses=4, max_n=30, n_cap=12, cap_rule="at_most").n_max == 30 + 12 * 3
