"""Response definitions and the proposed responder call.

ITP categories are the seed 000 definitions (CR: platelets ≥100×10⁹/L; PR: 30–100×10⁹/L,
≥2× baseline, no bleeding); SRI-4 follows Furie 2009 (SLEDAI ↓≥4, no new BILAG A, ≤1 new B,
PGA worsening < 0.3).  The windows are protocol parameters chosen for the tests.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.bilag import BILAG_2004_SYSTEMS
from doseladder.core.clinical.response import (
    DatedAssessment,
    ResponseDefinition,
    ResponseStatus,
    propose_response,
    score_response,
)
from doseladder.core.errors import InputError

BILAG_E = dict.fromkeys(BILAG_2004_SYSTEMS, "E")
ITP = ResponseDefinition("SLE-ITP", "itp_response", "by_day", 90)
SRI = ResponseDefinition("SLE", "sri4", "at_visit", 180, window_before=14, window_after=14)


def itp(day: float, plt: float, base: float = 20, bleeding: bool | None = False) -> DatedAssessment:
    a = score_response(ITP, {"platelets": plt, "baseline_platelets": base, "bleeding": bleeding})
    return DatedAssessment(day, a, f"a{day:g}")


def sri(day: float, sledai_fu: int, pga_fu: float = 1.0) -> DatedAssessment:
    a = score_response(
        SRI,
        {
            "sledai_baseline": 12,
            "sledai_follow_up": sledai_fu,
            "bilag_baseline": {**BILAG_E, "renal": "B"},
            "bilag_follow_up": {**BILAG_E, "renal": "C"},
            "pga_baseline": 1.0,
            "pga_follow_up": pga_fu,
        },
    )
    return DatedAssessment(day, a)


def test_itp_cr_by_day_is_known_early() -> None:
    # 120 ×10⁹/L ≥ 100 → CR (seed 000)
    p = propose_response(ITP, [itp(30, 120)], infusion_day=0, today=31)
    assert p.status is ResponseStatus.RESPONDER and p.eff is True
    assert p.response_day == 30.0
    assert p.deciding is not None and p.deciding["value"] == "CR"


def test_itp_pr_needs_twice_baseline() -> None:
    # 45 with baseline 20: 30 ≤ 45 < 100 and 45 ≥ 2×20 → PR; baseline 25: 45 < 50 → NR
    assert propose_response(ITP, [itp(60, 45, 20)], infusion_day=0, today=90).status is (
        ResponseStatus.RESPONDER
    )
    p = propose_response(ITP, [itp(60, 45, 25)], infusion_day=0, today=90)
    assert p.status is ResponseStatus.NON_RESPONDER and p.eff is False


def test_by_day_open_window_then_closed() -> None:
    assert propose_response(ITP, [itp(30, 20)], infusion_day=0, today=89).status is (
        ResponseStatus.NOT_YET_KNOWN
    )
    assert propose_response(ITP, [], infusion_day=0, today=90).status is (
        ResponseStatus.NOT_EVALUABLE
    )
    # a CR after day 90 does not count
    p = propose_response(ITP, [itp(30, 20), itp(91, 150)], infusion_day=0, today=95)
    assert p.status is ResponseStatus.NON_RESPONDER


def test_infusion_offset() -> None:
    p = propose_response(ITP, [itp(110, 150)], infusion_day=100, today=111)
    assert p.status is ResponseStatus.RESPONDER and p.response_day == 10.0


def test_sri4_at_visit_window() -> None:
    # SLEDAI 12 → 6 (↓6 ≥ 4), BILAG no worsening, PGA unchanged → SRI-4 response
    p = propose_response(SRI, [sri(170, 6)], infusion_day=0, today=200)
    assert p.status is ResponseStatus.RESPONDER
    # 12 → 10 (↓2 < 4) → not a response
    p = propose_response(SRI, [sri(185, 10)], infusion_day=0, today=200)
    assert p.status is ResponseStatus.NON_RESPONDER
    # outside the ±14-day window: not evaluable once the window has passed
    p = propose_response(SRI, [sri(150, 6)], infusion_day=0, today=200)
    assert p.status is ResponseStatus.NOT_EVALUABLE and p.eff is None
    # window still open
    p = propose_response(SRI, [], infusion_day=0, today=190)
    assert p.status is ResponseStatus.NOT_YET_KNOWN


def test_at_visit_nearest_assessment_decides() -> None:
    p = propose_response(SRI, [sri(170, 6), sri(181, 10)], infusion_day=0, today=200)
    assert p.status is ResponseStatus.NON_RESPONDER
    assert p.deciding is not None and p.deciding["day_after_infusion"] == 181.0


def test_errors_name_the_field() -> None:
    with pytest.raises(InputError) as e:
        propose_response(ITP, [sri(30, 6)], infusion_day=0, today=40)
    assert e.value.field == "assessments[0]"
    with pytest.raises(InputError) as e:
        propose_response(ITP, [itp(50, 120)], infusion_day=0, today=40)
    assert e.value.field == "assessments[0].day"
    with pytest.raises(InputError) as e:
        score_response(ITP, {"platelet": 120})
    assert e.value.field == "components.platelet"
    with pytest.raises(InputError) as e:
        ResponseDefinition("SLE", "sri4", "at_visit", 90, responder_values=frozenset({"CR"}))
    assert e.value.field == "responder_values"
    with pytest.raises(InputError) as e:
        ResponseDefinition("SLE", "sledai", "at_visit", 90)
    assert e.value.field == "criterion"
    fixed = ResponseDefinition(
        "SLE-ITP", "itp_response", "by_day", 90, params={"no_bleeding_required_for_cr": True}
    )
    with pytest.raises(InputError) as e:
        score_response(fixed, {"platelets": 120, "no_bleeding_required_for_cr": False})
    assert e.value.field == "components.no_bleeding_required_for_cr"


def test_describe() -> None:
    assert "CR or PR" in ITP.describe() and "day 90" in ITP.describe()
    assert "days 166–194" in SRI.describe()
    assert ITP.to_dict()["responder_values"] == ["CR", "PR"]


@given(
    plts=st.lists(st.tuples(st.integers(0, 120), st.integers(0, 300)), min_size=0, max_size=6),
    today=st.integers(0, 130),
)
def test_by_day_property(plts: list[tuple[int, int]], today: int) -> None:
    """Responder iff some assessment on or before day 90 (and today) has platelets ≥ 40 with
    baseline 20 (≥ 2× baseline and ≥ 30 → PR, or ≥ 100 → CR), no bleeding."""
    obs = [itp(d, p) for d, p in plts if d <= today]
    p = propose_response(ITP, obs, infusion_day=0, today=today)
    expected = any(p_ >= 40 for d, p_ in plts if d <= min(today, 90))
    assert (p.status is ResponseStatus.RESPONDER) == expected
    if not expected:
        if today < 90:
            assert p.status is ResponseStatus.NOT_YET_KNOWN
        else:
            assert p.status in (ResponseStatus.NON_RESPONDER, ResponseStatus.NOT_EVALUABLE)
