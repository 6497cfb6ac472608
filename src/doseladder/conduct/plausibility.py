"""Clinical plausibility of dates and numbers entered into a trial (one place for the bounds).

Every refusal is a :class:`~doseladder.conduct.errors.ValidationError` naming the field and the
allowed range, e.g. ``epoch: 9999-01-01 is outside the allowed range 2016-12-05..2027-12-05``.

* :func:`trial_epoch`: day 0 of a trial, from :data:`EPOCH_YEARS_BACK` years before today to
  :data:`EPOCH_DAYS_AHEAD` days after (a trial being set up).
* :func:`window_days`: an assessment window in days (DLT: :data:`DLT_WINDOW_DAYS`, efficacy:
  :data:`EFFICACY_WINDOW_DAYS`).
* :func:`event_date`: a clinical date (adverse-event onset, assessment, infusion) not before a
  reference date of the patient or trial (e.g. consent or registration, the epoch) and not in
  the future (one day of tolerance for sites east of UTC).
"""

from __future__ import annotations

from datetime import date, timedelta

from doseladder.conduct.errors import ValidationError

__all__ = [
    "DLT_WINDOW_DAYS",
    "EFFICACY_WINDOW_DAYS",
    "EPOCH_DAYS_AHEAD",
    "EPOCH_YEARS_BACK",
    "event_date",
    "trial_epoch",
    "window_days",
]

EPOCH_YEARS_BACK = 10
EPOCH_DAYS_AHEAD = 366
#: DLT assessment windows: from 1 day to one year
DLT_WINDOW_DAYS = (1.0, 365.0)
#: efficacy assessment windows: from 1 day to two years
EFFICACY_WINDOW_DAYS = (1.0, 730.0)
#: dates may be this many days ahead of the server's UTC date (time zones east of UTC)
FUTURE_TOLERANCE_DAYS = 1


def _show(value: date | float) -> str:
    return value.isoformat() if isinstance(value, date) else f"{value:g}"


def _outside(
    field: str, value: date | float, lo: date | float, hi: date | float, why: str = ""
) -> ValidationError:
    extra = f" ({why})" if why else ""
    return ValidationError(
        field, f"{_show(value)} is outside the allowed range {_show(lo)}..{_show(hi)}{extra}"
    )


def trial_epoch(value: date, *, today: date, field: str = "epoch") -> date:
    """A trial epoch within ``EPOCH_YEARS_BACK`` years before and ``EPOCH_DAYS_AHEAD`` days
    after ``today``."""
    try:
        lo = today.replace(year=today.year - EPOCH_YEARS_BACK)
    except ValueError:  # 29 February
        lo = today.replace(year=today.year - EPOCH_YEARS_BACK, day=28)
    hi = today + timedelta(days=EPOCH_DAYS_AHEAD)
    if not lo <= value <= hi:
        raise _outside(field, value, lo, hi, "day 0 of the trial clock, near today")
    return value


def window_days(field: str, value: float, bounds: tuple[float, float]) -> float:
    """A window length in days within ``bounds`` (inclusive)."""
    lo, hi = bounds
    if not lo <= value <= hi:
        raise _outside(field, value, lo, hi, "days")
    return value


def event_date(
    field: str, value: date, *, today: date, not_before: date | None = None, what: str = ""
) -> date:
    """A clinical date not before ``not_before`` (``what`` names it, e.g. "the patient's
    consent") and not after today (plus the time-zone tolerance)."""
    hi = today + timedelta(days=FUTURE_TOLERANCE_DAYS)
    lo = not_before if not_before is not None else date(1900, 1, 1)
    if not lo <= value <= hi:
        why = f"not before {what}, not in the future" if what else "not in the future"
        raise _outside(field, value, lo, hi, why)
    return value
