"""Sentinel staggering (issue #4): the first patient of a new dose observed N days first."""

from __future__ import annotations

import pytest

from doseladder.core.designs import BOIN
from doseladder.core.errors import InputError
from doseladder.core.rules import EnrolStatus, EscalationPlan, SentinelStaggering, recommend
from tests.core.rules.helpers import P, S


def test_sentinel_rule() -> None:
    st = SentinelStaggering(days=7)
    assert not st.check(2, [], now=0.0).wait  # the sentinel itself is enrolled now
    chk = st.check(2, [P(2, 10, None)], now=12.0)
    assert chk.wait and chk.available_at == 17.0
    assert not st.check(2, [P(2, 10, None)], now=17.0).wait
    assert not st.check(2, [P(2, 10, None), P(2, 17, None)], now=18.0).wait
    three = SentinelStaggering(days=7, sentinels=3)
    assert three.check(2, [P(2, 10, None), P(2, 17, None)], now=18.0).available_at == 24.0
    assert three.check(2, [P(2, t, None) for t in (0, 7, 14)], now=15.0).available_at == 21.0
    assert not three.check(2, [P(2, t, None) for t in (0, 7, 14, 21)], now=22.0).wait
    with pytest.raises(InputError, match="now"):
        st.check(2, [P(2, 10, None)], now=None)
    with pytest.raises(InputError):
        SentinelStaggering(days=0)


def test_plan_waits_n_days_after_the_first_patient_of_a_new_dose() -> None:
    plan = EscalationPlan(
        BOIN(num_doses=3, target=0.3),
        ("A", "B", "C"),
        staggering=SentinelStaggering(days=14),
    )
    rec = recommend(plan, S(P(1, 0, None)), now=3.0)
    r = rec.driving
    assert (r.status, r.dose, r.available_at) == (EnrolStatus.WAIT, 1, 14.0)
    assert r.reason.rule == "staggering.wait"
    assert r.steps[-1].rule == "plan.complete_cohort"  # what happens once the wait is over
    later = recommend(plan, S(P(1, 0, None)), now=14.0).driving
    assert (later.status, later.dose) == (EnrolStatus.ENROL, 1)
    assert "observed for 14 days before the next patient" in plan.describe()
