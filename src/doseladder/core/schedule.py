"""Visit and assessment schedules, and their expansion into dated visits.

A schedule is a set of named assessments, each with timing rules relative to the infusion and a
visit window.  Seed 002 (``002_c854247f1f7c700a.txt``, CD19/BCMA TCR-T) is the reference case:
pharmacokinetics "per 3 days in month 1, per month in month 2 - month 12", efficacy (SRI-4,
SELENA-SLEDAI, BILAG-2004, PGA) at "month 1, month 3, month 6, month 9, month 12", safety
"within 1 years after TCR-T cell infusion".  Seed 001 adds lymphodepletion on days −5 to −3.

Rules (:data:`TimingRule`):

* :class:`AtDays` -- given study days (``days: [-5, -4, -3]``);
* :class:`EveryDays` -- every k days from a first to a last day ("every 3 days from day 3 to
  day 30");
* :class:`AtMonths` -- given months ("at months 1, 3, 6, 9, 12");
* :class:`EveryMonths` -- every k months from a first to a last month ("monthly from month 2 to
  month 12").

Conventions (decisions; none of the seeds defines them -- ``docs/protocols.md``):

* The infusion is **day 0**; day n is n days after it (seed 001 counts lymphodepletion as
  "D-5~D-3" before the infusion, which implies a day-0 infusion).
* **Month length** is a parameter of the schedule, ``month_length``: a number of days (default
  **30**, so month 12 = day 360 and "1-year follow-up" ends near day 365; use 28 for 4-week
  months) or ``"calendar"`` (month m = the same day-of-month m calendar months after the infusion,
  clamped to the month's last day).  Seed 002 does not say which.
* "Month 1" of a rule "every 3 days in month 1" runs from day 1 to day ``month_length``; the
  protocol file states the exact first and last day, so nothing here guesses.
* A visit's window is ``[day − before, day + after]``; windows are reported, not enforced.
* When two rules of one assessment fall on the same day, the visit is listed once.

Everything is pure: :func:`expand` takes the infusion date (a :class:`datetime.date`) as an
argument.
"""

from __future__ import annotations

import calendar
import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from doseladder.core.errors import InputError

__all__ = [
    "Assessment",
    "AtDays",
    "AtMonths",
    "EveryDays",
    "EveryMonths",
    "MonthLength",
    "ScheduledVisit",
    "Timepoint",
    "TimingRule",
    "VisitSchedule",
    "add_months",
    "expand",
]

MonthLength = int | Literal["calendar"]


def _int(field: str, value: object, lo: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"must be an integer, got {value!r}")
    if lo is not None and value < lo:
        raise InputError(field, f"must be >= {lo}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Timepoint:
    """A nominal time: ``value`` days or months after the infusion."""

    unit: Literal["day", "month"]
    value: int

    def label(self) -> str:
        if self.unit == "month":
            return f"Month {self.value}"
        return f"Day {self.value}" if self.value >= 0 else f"Day −{-self.value}"

    def day(self, infusion: date, month_length: MonthLength) -> int:
        """Study day of this time point (day 0 = infusion)."""
        if self.unit == "day":
            return self.value
        if month_length == "calendar":
            return (add_months(infusion, self.value) - infusion).days
        return self.value * month_length


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, clamped to the last day of the month."""
    m0 = start.month - 1 + months
    year, month = start.year + m0 // 12, m0 % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


@dataclass(frozen=True, slots=True)
class AtDays:
    """Visits on the given study days (negative = before the infusion)."""

    days: tuple[int, ...]

    def __post_init__(self) -> None:
        days = tuple(_int("days", d) for d in self.days)
        if not days:
            raise InputError("days", "give at least one day")
        object.__setattr__(self, "days", tuple(sorted(set(days))))

    def timepoints(self) -> tuple[Timepoint, ...]:
        return tuple(Timepoint("day", d) for d in self.days)

    def describe(self) -> str:
        return "on " + _join([Timepoint("day", d).label().lower() for d in self.days])


@dataclass(frozen=True, slots=True)
class EveryDays:
    """Every ``every`` days from ``start_day`` to ``end_day`` (both included when on the grid)."""

    every: int
    start_day: int
    end_day: int

    def __post_init__(self) -> None:
        _int("every", self.every, 1)
        _int("start_day", self.start_day)
        _int("end_day", self.end_day)
        if self.end_day < self.start_day:
            raise InputError(
                "end_day", f"the last day {self.end_day} is before the first day {self.start_day}"
            )

    def timepoints(self) -> tuple[Timepoint, ...]:
        return tuple(
            Timepoint("day", d) for d in range(self.start_day, self.end_day + 1, self.every)
        )

    def describe(self) -> str:
        return f"every {self.every} days from day {self.start_day} to day {self.end_day}"


@dataclass(frozen=True, slots=True)
class AtMonths:
    """Visits at the given months after the infusion."""

    months: tuple[int, ...]

    def __post_init__(self) -> None:
        months = tuple(_int("months", m, 0) for m in self.months)
        if not months:
            raise InputError("months", "give at least one month")
        object.__setattr__(self, "months", tuple(sorted(set(months))))

    def timepoints(self) -> tuple[Timepoint, ...]:
        return tuple(Timepoint("month", m) for m in self.months)

    def describe(self) -> str:
        return (
            "at month"
            + ("s " if len(self.months) > 1 else " ")
            + _join([str(m) for m in self.months])
        )


@dataclass(frozen=True, slots=True)
class EveryMonths:
    """Every ``every`` months from ``start_month`` to ``end_month``."""

    start_month: int
    end_month: int
    every: int = 1

    def __post_init__(self) -> None:
        _int("every", self.every, 1)
        _int("start_month", self.start_month, 0)
        _int("end_month", self.end_month, 0)
        if self.end_month < self.start_month:
            raise InputError(
                "end_month",
                f"the last month {self.end_month} is before the first month {self.start_month}",
            )

    def timepoints(self) -> tuple[Timepoint, ...]:
        return tuple(
            Timepoint("month", m) for m in range(self.start_month, self.end_month + 1, self.every)
        )

    def describe(self) -> str:
        step = "monthly" if self.every == 1 else f"every {self.every} months"
        return f"{step} from month {self.start_month} to month {self.end_month}"


TimingRule = AtDays | EveryDays | AtMonths | EveryMonths


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True, slots=True)
class Assessment:
    """A named assessment and when it happens.

    Attributes:
        name: short identifier (``"pk"``, ``"efficacy"``), unique in a schedule.
        description: what is assessed (free text, e.g. the instruments).
        rules: the timing rules; the union of their time points is the visit list.
        window_before, window_after: the visit window in days around each nominal day.
        source_text: the registry wording (verbatim).
    """

    name: str
    rules: tuple[TimingRule, ...]
    description: str = ""
    window_before: int = 0
    window_after: int = 0
    source_text: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("name", "an assessment needs a name")
        object.__setattr__(self, "rules", tuple(self.rules))
        if not self.rules:
            raise InputError(f"{self.name}.rules", "give at least one timing rule")
        _int(f"{self.name}.window_before", self.window_before, 0)
        _int(f"{self.name}.window_after", self.window_after, 0)

    def timepoints(self) -> tuple[Timepoint, ...]:
        """Time points of every rule, in rule order (duplicates kept; :func:`expand` merges)."""
        return tuple(tp for r in self.rules for tp in r.timepoints())

    def describe(self) -> str:
        text = f"{self.name}: " + "; ".join(r.describe() for r in self.rules)
        if self.window_before or self.window_after:
            if self.window_before == self.window_after:
                text += f"; window ±{self.window_before} days"
            else:
                text += f"; window −{self.window_before}/+{self.window_after} days"
        if self.description:
            text += f" -- {self.description}"
        return text


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    """One dated assessment visit."""

    assessment: str
    label: str
    day: int
    date: datetime.date
    window_start: datetime.date
    window_end: datetime.date

    def to_dict(self) -> dict[str, Any]:
        return {
            "assessment": self.assessment,
            "label": self.label,
            "day": self.day,
            "date": self.date.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class VisitSchedule:
    """The assessments of a protocol and the month convention.

    Attributes:
        assessments: the assessments (names unique).
        month_length: days per month (default 30) or ``"calendar"``.
        follow_up_months: length of follow-up after the infusion, if stated (seed 002: 12);
            :func:`expand` adds an ``end_of_follow_up`` visit.
    """

    assessments: tuple[Assessment, ...] = ()
    month_length: MonthLength = 30
    follow_up_months: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "assessments", tuple(self.assessments))
        names = [a.name for a in self.assessments]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise InputError("schedule.assessments", f"repeated assessment name(s) {dup}")
        ml = self.month_length
        if ml != "calendar" and (
            isinstance(ml, bool) or not isinstance(ml, int) or not 28 <= ml <= 31
        ):
            raise InputError(
                "schedule.month_length", f"must be 28..31 days or 'calendar', got {ml!r}"
            )
        if self.follow_up_months is not None:
            _int("schedule.follow_up_months", self.follow_up_months, 1)

    def describe(self) -> str:
        if not self.assessments and self.follow_up_months is None:
            return "Visit schedule: not stated."
        ml = (
            "calendar months"
            if self.month_length == "calendar"
            else f"a month is {self.month_length} days"
        )
        lines = [f"Visit schedule (day 0 = infusion; {ml}):"]
        lines += [f"- {a.describe()}" for a in self.assessments]
        if self.follow_up_months is not None:
            lines.append(f"- follow-up ends {self.follow_up_months} months after the infusion")
        return "\n".join(lines)


def expand(schedule: VisitSchedule, infusion_date: date) -> tuple[ScheduledVisit, ...]:
    """Dated visits for a patient infused on ``infusion_date``, sorted by day then assessment.

    Example (seed 002, 30-day months): PK every 3 days from day 3 to day 30 and monthly from
    month 2 to month 12 gives days 3, 6, ..., 30, 60, 90, ..., 360.
    """
    if not isinstance(infusion_date, date):
        raise InputError("infusion_date", f"must be a date, got {infusion_date!r}")
    visits: dict[tuple[str, int], ScheduledVisit] = {}
    order: dict[str, float] = {a.name: float(i) for i, a in enumerate(schedule.assessments)}
    for a in schedule.assessments:
        for tp in a.timepoints():
            day = tp.day(infusion_date, schedule.month_length)
            key = (a.name, day)
            if key in visits:
                continue
            when = infusion_date + timedelta(days=day)
            visits[key] = ScheduledVisit(
                a.name,
                tp.label(),
                day,
                when,
                when - timedelta(days=a.window_before),
                when + timedelta(days=a.window_after),
            )
    if schedule.follow_up_months is not None:
        tp = Timepoint("month", schedule.follow_up_months)
        day = tp.day(infusion_date, schedule.month_length)
        when = infusion_date + timedelta(days=day)
        visits[("end_of_follow_up", day)] = ScheduledVisit(
            "end_of_follow_up", tp.label(), day, when, when, when
        )
        order["end_of_follow_up"] = math.inf
    return tuple(sorted(visits.values(), key=lambda v: (v.day, order[v.assessment])))
