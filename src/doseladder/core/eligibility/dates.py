"""Look-back windows and ages, relative to the screening date.

Conventions (documented in ``docs/eligibility.md``; the seed texts do not define them):

* A window "within N days / weeks / months / years before screening" is the closed interval
  ``[screening − N, screening]``.  Days and weeks are exact (1 week = 7 days); months and years
  are *calendar* units: the same day-of-month N months earlier, clamped to the end of a
  shorter month (2025-03-31 − 1 month = 2025-02-28).  A date exactly on the first day of the
  window is inside it.
* "At least N before screening" (a disease duration, a treatment course) holds when the start
  date is on or before ``screening − N``.
* Age is in completed years on the reference date: a person born on 2000-03-14 is 18 from
  2018-03-14.  Someone born on 29 February has a birthday on 1 March in common years (the
  formula ``year difference − (month, day) < (birth month, birth day)`` gives that).  A partial
  birth date (FHIR ``1980`` or ``1980-05``) gives an age *range*; a criterion is decided only
  when the whole range decides it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from doseladder.core.errors import InputError

__all__ = [
    "WINDOW_UNITS",
    "Window",
    "WindowUnit",
    "add_months",
    "birth_date_bounds",
    "completed_years",
    "parse_date",
]

WindowUnit = Literal["days", "weeks", "months", "years"]
WINDOW_UNITS: tuple[WindowUnit, ...] = ("days", "weeks", "months", "years")


def add_months(d: date, months: int) -> date:
    """``d`` shifted by a whole number of calendar months (day clamped to the month's end)."""
    total = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise InputError("date", f"{d.isoformat()} shifted by {months} months is out of range")
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


@dataclass(frozen=True, slots=True)
class Window:
    """A look-back of ``amount`` ``unit`` before the screening date (``amount ≥ 0``)."""

    amount: int
    unit: WindowUnit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise InputError("amount", f"must be a non-negative integer, got {self.amount!r}")
        if self.unit not in WINDOW_UNITS:
            raise InputError("unit", f"must be one of {', '.join(WINDOW_UNITS)}")

    def start(self, anchor: date) -> date:
        """First day of the window ending on ``anchor`` (inclusive)."""
        if self.unit == "days":
            return anchor - timedelta(days=self.amount)
        if self.unit == "weeks":
            return anchor - timedelta(weeks=self.amount)
        months = self.amount * (12 if self.unit == "years" else 1)
        return add_months(anchor, -months)

    def contains(self, d: date, anchor: date) -> bool:
        """``d`` lies in ``[start, anchor]``."""
        return self.start(anchor) <= d <= anchor

    def describe(self) -> str:
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {unit}"

    def to_dict(self) -> dict[str, Any]:
        return {self.unit: self.amount}


def completed_years(birth: date, on: date) -> int:
    """Age in completed years on ``on`` (29 February birthdays count from 1 March)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def birth_date_bounds(text: str, field: str = "birth_date") -> tuple[date, date]:
    """Earliest and latest possible birth date of ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.

    Raises:
        InputError: not one of those forms, or not a real date.
    """
    s = text.strip() if isinstance(text, str) else ""
    try:
        if len(s) == 4 and s.isdigit():
            y = int(s)
            return date(y, 1, 1), date(y, 12, 31)
        if len(s) == 7 and s[4] == "-":
            y, m = int(s[:4]), int(s[5:])
            return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])
        d = date.fromisoformat(s[:10]) if len(s) >= 10 else None
    except ValueError:
        d = None
    if d is None:
        raise InputError(field, f"{text!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    return d, d


def parse_date(value: object, field: str) -> date:
    """A ``date`` from a ``date`` or an ISO text (a date-time keeps its calendar date).

    Raises:
        InputError: naming ``field``.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        s = value.strip()
        try:
            return date.fromisoformat(s[:10])
        except ValueError:
            pass
    raise InputError(field, f"{value!r} is not a YYYY-MM-DD date")
