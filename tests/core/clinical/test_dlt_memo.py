"""The adjudication's kept evaluations (``dlt._Memo``) change no result.

:func:`adjudicate` keeps, per definition object, each event's label and -- when that
evaluation did not read ``today`` -- its evaluation, and reuses them at later cut-offs.  Here,
over random definitions (rules with and without durations, ``persists_beyond_day``,
exclusions, attributions), random events (ongoing or resolved, any grade and onset, days as
int, Fraction, float, Decimal or str) and random cut-offs, adjudications made one after
another in random order (so the memo is warm with other ``today``s, other infusion days,
other event lists and an equal but distinct definition object) give field for field what the
computation that keeps nothing gives (``_adjudicate(..., memo=False)``), every reason and
contribution text, ``to_dict()`` and each event's own call included; and the proposal built
on it equals the one built the old way (the deciding rule looked up and described anew).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core.clinical import dlt
from doseladder.core.clinical.dlt import (
    Attribution,
    DLTDefinition,
    DLTProposal,
    DLTRule,
    DLTStatus,
    EventCall,
    GradedEvent,
    adjudicate,
    dlt_time,
    propose_dlt,
    propose_dlt_with_calls,
)
from doseladder.core.clinical.result import Assessment

from .test_dlt_event_calls import TERMS, definitions


def uncached_proposal(
    definition: DLTDefinition,
    events: list[GradedEvent],
    *,
    infusion_day: Any,
    today: Any,
) -> tuple[DLTProposal, tuple[EventCall, ...]]:
    """:func:`propose_dlt_with_calls` computed anew, keeping nothing, with the proposal built
    as before the memo (the deciding rule found among the rules and described)."""
    a, calls, _ = dlt._adjudicate(definition, events, infusion_day, today, memo=False)
    status = a.value if isinstance(a.value, DLTStatus) else DLTStatus.NOT_YET_KNOWN
    rule_id = a.inputs.get("deciding_rule")
    rule = next((r for r in definition.rules if r.id == rule_id), None)
    proposal = DLTProposal(
        status=status,
        rule_id=rule_id,
        rule_text=None if rule is None else rule.describe(),
        event=a.inputs.get("deciding_event"),
        dlt_day=dlt_time(a),
        reasons=a.reasons,
        assessment=a,
    )
    return proposal, calls


def assert_same_assessment(got: Assessment[DLTStatus], want: Assessment[DLTStatus]) -> None:
    assert got.value == want.value
    assert got.instrument == want.instrument
    assert dict(got.inputs) == dict(want.inputs)
    assert got.reasons == want.reasons
    assert got.contributions == want.contributions  # every item and detail text
    assert got == want
    assert got.to_dict() == want.to_dict()


_day_types = st.sampled_from([int, Fraction, float, Decimal, str])


@st.composite
def pools(draw: st.DrawFn) -> list[GradedEvent]:
    """Events to adjudicate in several calls (some ongoing, some resolved; the same day
    written as different types)."""
    events = []
    for i in range(draw(st.integers(1, 8))):
        onset = draw(st.integers(-10, 45))
        resolved = draw(st.none() | st.integers(onset, 60))
        kind = draw(_day_types)
        events.append(
            GradedEvent(
                draw(st.sampled_from([*TERMS, "fatigue", "Hypogammaglobulinemia"])),
                draw(st.integers(1, 5)),
                kind(onset),
                None if resolved is None else kind(resolved),
                draw(st.none() | st.sampled_from(list(Attribution))),
                event_id=draw(st.sampled_from([None, str(i), "7"])),
            )
        )
    for _ in range(draw(st.integers(0, 4))):  # the same event again, but for one field
        ev = draw(st.sampled_from(events))
        field = draw(st.sampled_from(["event_id", "day type", "term", "attribution"]))
        onset, resolved = ev.onset_day, ev.resolution_day
        if field == "day type":
            kind = draw(_day_types)
            onset = kind(int(ev._onset))
            resolved = None if ev._resolution is None else kind(int(ev._resolution))
        events.append(
            GradedEvent(
                ev.term.upper() if field == "term" else ev.term,
                ev.grade,
                onset,
                resolved,
                draw(st.none() | st.sampled_from(list(Attribution)))
                if field == "attribution"
                else ev.attribution,
                event_id=draw(st.sampled_from([None, "1", "8"]))
                if field == "event_id"
                else ev.event_id,
            )
        )
    return events


@st.composite
def calls(
    draw: st.DrawFn, pool: list[GradedEvent], infusions: list[int]
) -> tuple[list[GradedEvent], int, Fraction]:
    """One adjudication: some events of the pool in any order, one of the infusion days and
    a cut-off on or after every day (any fraction of a day)."""
    events = draw(st.lists(st.sampled_from(pool), max_size=8))
    infusion = draw(st.sampled_from(infusions))
    days = [Fraction(str(e.onset_day)) for e in events]
    days += [Fraction(str(e.resolution_day)) for e in events if e.resolution_day is not None]
    last = max([Fraction(infusion), *days])
    today = last + draw(st.fractions(Fraction(0), Fraction(40), max_denominator=8))
    return events, infusion, today


@settings(max_examples=300, deadline=None)
@given(data=st.data(), definition=definitions(), pool=pools())
def test_kept_evaluations_give_what_is_computed_anew(
    data: st.DataObject, definition: DLTDefinition, pool: list[GradedEvent]
) -> None:
    twin = copy.deepcopy(definition)  # equal, another object: its own memo
    infusions = data.draw(st.lists(st.integers(-5, 5), min_size=1, max_size=2, unique=True))
    for _ in range(data.draw(st.integers(1, 8))):
        d = data.draw(st.sampled_from([definition, definition, twin]))
        events, infusion, today = data.draw(calls(pool, infusions))
        want, want_calls = uncached_proposal(d, events, infusion_day=infusion, today=today)
        got, got_calls = propose_dlt_with_calls(d, events, infusion_day=infusion, today=today)
        assert_same_assessment(got.assessment, want.assessment)
        assert got_calls == want_calls
        assert got == want
        assert got.to_dict() == want.to_dict()
        assert propose_dlt(d, events, infusion_day=infusion, today=today) == want
        assert_same_assessment(adjudicate(d, events, infusion, today), want.assessment)


@given(definition=definitions(), pool=pools(), data=st.data())
def test_an_evaluation_that_did_not_read_today_holds_at_every_today(
    definition: DLTDefinition, pool: list[GradedEvent], data: st.DataObject
) -> None:
    """What the memo rests on: whether an evaluation reads ``today`` does not depend on
    ``today``, and one that did not read it is the same at any other cut-off."""
    infusion = Fraction(data.draw(st.integers(-5, 5)))
    for ev in pool:
        start = max(infusion, ev._onset, ev._resolution or ev._onset)
        t1, t2 = (
            start + data.draw(st.fractions(Fraction(0), Fraction(60), max_denominator=8))
            for _ in range(2)
        )
        c1, c2 = dlt._Cutoff(t1), dlt._Cutoff(t2)
        e1 = dlt._evaluate_event(definition, ev, infusion, c1)
        e2 = dlt._evaluate_event(definition, ev, infusion, c2)
        assert c1.read == c2.read
        if c1.read:
            assert ev._resolution is None  # only an ongoing event's evaluation reads it
        else:
            assert e1 == e2


def test_equal_days_of_different_exact_values_are_kept_apart() -> None:
    """``0.1`` (read as 1/10) and the exact binary value of that float (a Decimal) compare
    equal in Python, so the events compare equal, but their onsets differ: the memo keys on
    the exact onset, not on the event's equality."""
    d = DLTDefinition((DLTRule("r", 1),), window_days=Fraction(1, 10))
    inexact = Decimal(0.1)  # noqa: RUF032 -- the exact binary value, on purpose
    assert inexact == 0.1 and inexact != Decimal("0.1")
    a = GradedEvent("Fatigue", 2, 0.1, attribution="possible")
    b = GradedEvent("Fatigue", 2, inexact, attribution="possible")
    assert a == b and a._onset != b._onset
    first = adjudicate(d, [a], 0, 1)
    second = adjudicate(d, [b], 0, 1)
    assert first.value == DLTStatus.YES  # onset day 1/10: within the window
    assert second.value == DLTStatus.NO  # just after day 1/10: outside it
    assert second == dlt._adjudicate(d, [b], 0, 1, memo=False)[0]


def test_an_ongoing_duration_is_evaluated_at_each_today() -> None:
    d = DLTDefinition((DLTRule("long", 3, duration_days=3),), window_days=28)
    ev = GradedEvent("Nausea", 3, 1, None, "possible")
    assert adjudicate(d, [ev], 0, 2).value == DLTStatus.NOT_YET_KNOWN
    assert adjudicate(d, [ev], 0, 5).value == DLTStatus.YES
    assert adjudicate(d, [ev], 0, 3).contributions[0].detail == (
        "pending: long: ongoing for 2 day(s); a DLT if it lasts > 3 days"
    )


def test_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dlt, "_MEMOS", {})
    monkeypatch.setattr(dlt, "_EVENTS_KEPT", 10)
    monkeypatch.setattr(dlt, "_DEFINITIONS_KEPT", 2)
    definitions_ = [
        DLTDefinition((DLTRule("r", g),), window_days=28, name=str(g)) for g in (1, 2, 3)
    ]
    for n in range(30):
        d = definitions_[n % 3]
        events = [GradedEvent("Fatigue", 1 + k % 5, k % 20, k % 20, "possible") for k in range(n)]
        got = adjudicate(d, events, 0, 30)
        assert got == dlt._adjudicate(d, events, 0, 30, memo=False)[0]
        assert len(dlt._MEMOS) <= 2
        assert sum(len(m.events or ()) for m in dlt._MEMOS.values()) <= 10
