"""The backfill cap's array form equals the scalar rule (random caps, both ``cap_rule``
readings, random patient counts per dose and trial)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from doseladder.core.designs.arrays.backfill_cap import backfill_room_arrays, cap_allows_arrays
from doseladder.core.designs.backfill_cap import CAP_RULES, backfill_room, cap_allows


@given(
    enrolled=arrays(
        np.int64,
        st.tuples(st.integers(1, 6), st.integers(1, 20)),
        elements=st.integers(0, 30),
    ),
    n_cap=st.integers(1, 20),
    rule=st.sampled_from(CAP_RULES),
)
def test_room_and_allows_agree_with_the_scalar_rule(
    enrolled: np.ndarray, n_cap: int, rule: str
) -> None:
    room = backfill_room_arrays(enrolled, n_cap, rule)
    allows = cap_allows_arrays(enrolled, n_cap, rule)
    assert room.dtype == np.int64 and allows.dtype == np.bool_
    for (j, r), e in np.ndenumerate(enrolled):
        assert room[j, r] == backfill_room(int(e), n_cap, rule)
        assert allows[j, r] == cap_allows(int(e), n_cap, rule)
