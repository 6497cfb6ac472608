"""Visit schedules and their expansion into dated visits (core.schedule).

Reference case: seed 002 (002_c854247f1f7c700a.txt) -- PK "per 3 days in month 1, per month in
month 2 - month 12"; efficacy at months 1, 3, 6, 9, 12; 1-year follow-up.  Seed 001:
lymphodepletion on D-5..D-3 (day 0 = infusion).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from doseladder.core.errors import InputError
from doseladder.core.schedule import (
    Assessment,
    AtDays,
    AtMonths,
    EveryDays,
    EveryMonths,
    VisitSchedule,
    add_months,
    expand,
)

D0 = date(2025, 1, 10)


def seed002(month_length: int | str = 30) -> VisitSchedule:
    return VisitSchedule(
        (
            Assessment("pk", (EveryDays(3, 3, 30), EveryMonths(2, 12)), "PK"),
            Assessment("efficacy", (AtMonths((1, 3, 6, 9, 12)),), window_before=7, window_after=7),
        ),
        month_length=month_length,  # type: ignore[arg-type]
        follow_up_months=12,
    )


def test_seed002_pk_every_3_days_in_month_1_then_monthly() -> None:
    visits = expand(seed002(), D0)
    pk = [v.day for v in visits if v.assessment == "pk"]
    assert pk == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30, *range(60, 361, 30)]
    eff = [v for v in visits if v.assessment == "efficacy"]
    assert [v.day for v in eff] == [30, 90, 180, 270, 360]
    assert [v.label for v in eff] == ["Month 1", "Month 3", "Month 6", "Month 9", "Month 12"]
    assert eff[0].date == D0 + timedelta(days=30)
    assert eff[0].window_start == D0 + timedelta(days=23)
    assert eff[0].window_end == D0 + timedelta(days=37)
    assert visits[-1].assessment == "end_of_follow_up"
    assert visits[-1].day == 360
    days = [v.day for v in visits]
    assert days == sorted(days)


def test_month_length_is_a_parameter() -> None:
    visits = expand(seed002(28), D0)
    assert [v.day for v in visits if v.assessment == "efficacy"] == [28, 84, 168, 252, 336]
    cal = expand(seed002("calendar"), date(2025, 1, 31))
    m1 = next(v for v in cal if v.assessment == "efficacy")
    assert m1.date == date(2025, 2, 28)  # clamped to the month's last day
    assert m1.day == 28
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 15), 3) == date(2025, 2, 15)


def test_negative_days_and_duplicate_time_points() -> None:
    sched = VisitSchedule(
        (
            Assessment("lymphodepletion", (AtDays((-3, -5, -4)),)),
            Assessment("safety", (AtMonths((1,)), EveryMonths(1, 2))),
        )
    )
    visits = expand(sched, D0)
    assert [(v.assessment, v.day) for v in visits] == [
        ("lymphodepletion", -5),
        ("lymphodepletion", -4),
        ("lymphodepletion", -3),
        ("safety", 30),
        ("safety", 60),
    ]
    assert visits[0].label == "Day −5"
    assert visits[0].date == date(2025, 1, 5)


def test_describe() -> None:
    text = seed002().describe()
    assert "day 0 = infusion; a month is 30 days" in text
    assert "pk: every 3 days from day 3 to day 30; monthly from month 2 to month 12 -- PK" in text
    assert "efficacy: at months 1, 3, 6, 9 and 12; window ±7 days" in text
    assert "follow-up ends 12 months after the infusion" in text
    assert VisitSchedule().describe() == "Visit schedule: not stated."
    assert "on day −5 and day −4" in AtDays((-5, -4)).describe()


@pytest.mark.parametrize(
    "build",
    [
        lambda: EveryDays(0, 1, 10),
        lambda: EveryDays(3, 10, 1),
        lambda: EveryMonths(5, 2),
        lambda: AtMonths(()),
        lambda: AtDays((1.5,)),  # type: ignore[arg-type]
        lambda: Assessment("x", ()),
        lambda: Assessment("x", (AtDays((1,)),), window_before=-1),
        lambda: VisitSchedule(month_length=45),
        lambda: VisitSchedule((Assessment("a", (AtDays((1,)),)), Assessment("a", (AtDays((2,)),)))),
    ],
)
def test_invalid_schedules(build: object) -> None:
    with pytest.raises(InputError):
        build()  # type: ignore[operator]


def test_expand_needs_a_date() -> None:
    with pytest.raises(InputError, match="infusion_date"):
        expand(seed002(), "2025-01-10")  # type: ignore[arg-type]
    assert expand(seed002(), D0)[0].to_dict()["date"] == "2025-01-13"
