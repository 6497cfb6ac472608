"""Clinically implausible input is refused with the field and the allowed range: trial epochs
far from today, absurd assessment windows, clinical dates before their reference or in the
future."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.conduct import plausibility
from doseladder.conduct.errors import ValidationError
from doseladder.conduct.services import trials

from .conftest import BOIN, TITE_BOIN, World

TODAY = date(2025, 3, 3)


@given(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
    | st.sampled_from([date(2015, 3, 2), date(2015, 3, 3), date(2026, 3, 4), date(2026, 3, 5)])
)
def test_trial_epoch_bounds(day: date) -> None:
    inside = date(2015, 3, 3) <= day <= date(2026, 3, 4)  # 10 years back, 366 days ahead
    if inside:
        assert plausibility.trial_epoch(day, today=TODAY) == day
    else:
        with pytest.raises(ValidationError, match="outside the allowed range") as err:
            plausibility.trial_epoch(day, today=TODAY)
        assert err.value.field == "epoch"


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e308, max_value=1e308))
def test_window_bounds(days: float) -> None:
    lo, hi = plausibility.DLT_WINDOW_DAYS
    if lo <= days <= hi:
        assert plausibility.window_days("dlt_window_days", days, (lo, hi)) == days
    else:
        with pytest.raises(ValidationError, match=r"allowed range 1\.\.365"):
            plausibility.window_days("dlt_window_days", days, (lo, hi))


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_event_dates_not_before_the_reference_nor_in_the_future(day: date) -> None:
    consent = TODAY - timedelta(days=40)
    ok = consent <= day <= TODAY + timedelta(days=1)
    if ok:
        assert plausibility.event_date("onset_date", day, today=TODAY, not_before=consent) == day
    else:
        with pytest.raises(ValidationError, match="not before the patient's consent") as err:
            plausibility.event_date(
                "onset_date", day, today=TODAY, not_before=consent, what="the patient's consent"
            )
        assert err.value.field == "onset_date"


@pytest.mark.parametrize(
    ("protocol", "kw", "field", "allowed"),
    [
        (BOIN, {"epoch": date(9999, 1, 1)}, "epoch", "allowed range 2015-03-03..2026-03-04"),
        (BOIN, {"epoch": date(1, 1, 1)}, "epoch", "allowed range"),
        (BOIN, {"epoch": "1900-01-01"}, "epoch", "allowed range"),
        (BOIN, {"dlt_window_days": 1e308}, "dlt_window_days", "allowed range 1..365"),
        (BOIN, {"dlt_window_days": 0.5}, "dlt_window_days", "allowed range 1..365"),
        ({**TITE_BOIN, "tox_window": 1e308}, {}, None, None),
    ],
)
def test_trials_refuse_implausible_values(
    world: World, protocol: dict[str, Any], kw: dict[str, Any], field: str | None, allowed: str
) -> None:
    before = world.snapshot_counts()
    with pytest.raises((ValidationError, ValueError)) as err:
        world.run(
            lambda s: trials.create_trial(
                s, world.stat, code="TX1", title="t", protocol=protocol, **kw
            )
        )
    if field is not None:
        assert isinstance(err.value, ValidationError)
        assert err.value.field == field and allowed in err.value.message
    else:  # the design's own window: refused by the design validation or by the bound
        assert "tox_window" in str(err.value) or "dlt_window_days" in str(err.value)
    assert world.snapshot_counts() == before
