"""Look-back windows and ages at exact day boundaries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.eligibility.dates import (
    Window,
    add_months,
    birth_date_bounds,
    completed_years,
    parse_date,
)
from doseladder.core.errors import InputError

S = date(2025, 6, 2)


def test_day_and_week_windows_are_closed_intervals() -> None:
    w = Window(28, "days")
    assert w.start(S) == date(2025, 5, 5)
    assert w.contains(date(2025, 5, 5), S)  # exactly 28 days before: inside
    assert not w.contains(date(2025, 5, 4), S)  # 29 days before: outside
    assert w.contains(S, S)
    assert not w.contains(S + timedelta(days=1), S)  # after screening: outside
    assert Window(4, "weeks").start(S) == w.start(S)


def test_calendar_months_clamp_to_month_end() -> None:
    assert Window(1, "months").start(date(2025, 3, 31)) == date(2025, 2, 28)
    assert Window(1, "months").start(date(2024, 3, 31)) == date(2024, 2, 29)
    assert Window(6, "months").start(date(2025, 8, 31)) == date(2025, 2, 28)
    assert Window(2, "years").start(date(2024, 2, 29)) == date(2022, 2, 28)
    assert Window(3, "months").start(S) == date(2025, 3, 2)
    assert add_months(date(2025, 1, 15), 13) == date(2026, 2, 15)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 120))
def test_month_window_start_is_never_after_the_same_day_earlier(d: date, n: int) -> None:
    start = Window(n, "months").start(d)
    assert start <= d
    assert (d.year * 12 + d.month) - (start.year * 12 + start.month) == n
    assert start.day == min(d.day, start.day) and start.day <= d.day


def test_completed_years_on_the_birthday() -> None:
    b = date(2007, 6, 2)
    assert completed_years(b, date(2025, 6, 1)) == 17
    assert completed_years(b, date(2025, 6, 2)) == 18
    leap = date(2004, 2, 29)
    assert completed_years(leap, date(2022, 2, 28)) == 17
    assert completed_years(leap, date(2022, 3, 1)) == 18  # common year: from 1 March
    assert completed_years(leap, date(2024, 2, 29)) == 20


def test_partial_birth_dates() -> None:
    assert birth_date_bounds("1980") == (date(1980, 1, 1), date(1980, 12, 31))
    assert birth_date_bounds("2000-02") == (date(2000, 2, 1), date(2000, 2, 29))
    assert birth_date_bounds("1980-05-17") == (date(1980, 5, 17), date(1980, 5, 17))
    with pytest.raises(InputError, match="birth_date"):
        birth_date_bounds("17/05/1980")


def test_parse_date() -> None:
    assert parse_date("2025-06-02T23:30:00+09:00", "d") == S
    with pytest.raises(InputError, match=r"^when: "):
        parse_date("2 June", "when")
    with pytest.raises(InputError):
        Window(-1, "days")
