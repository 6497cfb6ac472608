"""Outcomes: adverse events, efficacy, DLT adjudication; corrections; how they become the
core's toxicity/efficacy outcomes (pending, observed, window completed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import AdverseEvent, Trial
from doseladder.conduct.services import decisions, outcomes, patients

from .conftest import World, crs_form

BOIN12 = {
    "design": "boin12",
    "num_doses": 3,
    "phi_t": 0.35,
    "phi_e": 0.25,
    "cohort_size": 3,
    "max_n": 12,
}


def enrolled(world: World, protocol: dict[str, Any] | None = None, **kw: Any) -> tuple[int, int]:
    tid = world.trial(protocol, **kw)
    d = world.decide(tid)
    pid = world.patient(tid)
    world.enrol(pid, d.next_dose or 1)
    return tid, pid


def state_of(world: World, tid: int) -> list[dict[str, Any]]:
    with world.db.session() as s:
        trial = s.get(Trial, tid)
        assert trial is not None
        rec = decisions.compute(s, trial, now=world.clock.t)
        patients: list[dict[str, Any]] = rec.inputs["state"]["patients"]
        return patients


def ae(world: World, pid: int, **kw: Any) -> AdverseEvent:
    if "grade" in kw and "term" not in kw:  # a CRS of that grade, through the ASTCT form
        kw = {k: v for k, v in kw.items() if k != "grade"} | {"crs": crs_form(kw["grade"])}
    args: dict[str, Any] = {
        "term": "Cytokine release syndrome",
        "onset_date": world.clock.today(),
        "dlt_candidate": True,
    } | kw
    if "crs" not in args and args["term"] == "Cytokine release syndrome":
        args["crs"] = crs_form(3)
    row: AdverseEvent = world.run(
        lambda s: outcomes.record_adverse_event(s, world.inv_a, pid, **args)
    )
    return row


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"term": "Vomiting", "grade": 0}, "grade"),
        ({"term": "Vomiting", "grade": 6}, "grade"),
        ({"term": "Vomiting", "grade": 2.5}, "grade"),
        ({"term": ""}, "term"),
        ({"term": "x" * 201}, "term"),
        ({"onset_date": "2999-01-01"}, "onset_date"),
        ({"resolved_date": "2000-01-01"}, "resolved_date"),
        ({"serious": "no"}, "serious"),
        ({"relatedness": "maybe"}, "relatedness"),
        ({"dlt_candidate": None}, "dlt_candidate"),
    ],
)
def test_adverse_event_bad_input(world: World, kw: dict[str, Any], field: str) -> None:
    _, pid = enrolled(world)
    before = world.snapshot_counts()
    with pytest.raises(ValidationError) as info:
        ae(world, pid, **kw)
    assert info.value.field == field and info.value.reason
    assert world.snapshot_counts() == before


def test_adverse_event_corrections_keep_every_version(world: World) -> None:
    _, pid = enrolled(world)
    a1 = ae(world, pid, grade=2, relatedness="possibly_related", serious=True)
    a2 = world.run(
        lambda s: outcomes.correct_adverse_event(
            s,
            world.dm,
            a1.id,
            changes={"crs": crs_form(3), "resolved_date": world.clock.today()},
            reason="ASTCT re-grade",
        )
    )
    assert (a2.version, a2.grade, a2.lineage_id, a2.serious) == (2, 3, a1.id, True)
    with pytest.raises(Conflict, match="already corrected by version"):
        world.run(
            lambda s: outcomes.correct_adverse_event(
                s, world.dm, a1.id, changes={"crs": crs_form(4)}, reason="again"
            )
        )
    with pytest.raises(ValidationError, match=r"changes\.patient_id"):
        world.run(
            lambda s: outcomes.correct_adverse_event(
                s, world.dm, a2.id, changes={"patient_id": 1}, reason="move"
            )
        )
    with pytest.raises(ValidationError, match="grade"):
        world.run(
            lambda s: outcomes.correct_adverse_event(
                s, world.dm, a2.id, changes={"grade": 9}, reason="typo typo"
            )
        )
    a3 = world.run(
        lambda s: outcomes.void_adverse_event(s, world.inv_a, a2.id, reason="duplicate entry")
    )
    assert a3.voided and a3.version == 3
    with world.db.session() as s:
        assert outcomes.list_adverse_events(s, world.monitor, pid) == []
        hist = outcomes.list_adverse_events(s, world.monitor, pid, history=True)
        assert [h.version for h in hist] == [1, 2, 3]
        assert s.get(AdverseEvent, a1.id).grade == 2  # type: ignore[union-attr]


def test_efficacy_records(world: World) -> None:
    _, pid = enrolled(world)
    e1 = world.run(
        lambda s: outcomes.record_efficacy(
            s,
            world.inv_a,
            pid,
            assessed_on=world.clock.today(),
            instrument="SRI-4",
            responder=False,
            measures={"sledai": 8, "bilag": {"renal": "B"}},
        )
    )
    assert e1.measures == {"sledai": 8, "bilag": {"renal": "B"}}
    with pytest.raises(ValidationError) as info:
        world.run(
            lambda s: outcomes.record_efficacy(
                s,
                world.inv_a,
                pid,
                assessed_on=world.clock.today(),
                instrument="SRI-4",
                responder=False,
                measures={"bad": object()},
            )
        )
    assert info.value.field == "measures"
    e2 = world.run(
        lambda s: outcomes.correct_efficacy(
            s, world.dm, e1.id, changes={"responder": True}, reason="SRI recomputed"
        )
    )
    assert e2.responder and e2.version == 2
    world.run(lambda s: outcomes.void_efficacy(s, world.dm, e2.id, reason="wrong patient"))
    with world.db.session() as s:
        assert outcomes.list_efficacy(s, world.inv_a, pid) == []


def test_adjudication_rules(world: World) -> None:
    tid, pid = enrolled(world)
    other = world.patient(tid)
    a = ae(world, pid)
    with pytest.raises(Conflict, match="not enrolled"):
        world.run(
            lambda s: outcomes.adjudicate_dlt(
                s, world.stat, other, is_dlt=False, rationale="no DLT"
            )
        )
    b = ae(world, pid, term="Fever", grade=1, dlt_candidate=False)
    with pytest.raises(ValidationError) as info:
        world.run(
            lambda s: outcomes.adjudicate_dlt(
                s, world.stat, pid, is_dlt=True, adverse_event_id=999, rationale="x x x"
            )
        )
    assert info.value.field == "adverse_event_id"
    with pytest.raises(ValidationError, match="required for a DLT without"):
        world.run(
            lambda s: outcomes.adjudicate_dlt(s, world.stat, pid, is_dlt=True, rationale="lab DLT")
        )
    with pytest.raises(ValidationError, match="only for a DLT"):
        world.run(
            lambda s: outcomes.adjudicate_dlt(
                s,
                world.stat,
                pid,
                is_dlt=False,
                adverse_event_id=b.id,
                onset_date=world.clock.today(),
                rationale="not a DLT",
            )
        )
    with pytest.raises(ValidationError, match="rationale"):
        world.run(
            lambda s: outcomes.adjudicate_dlt(
                s, world.stat, pid, is_dlt=True, adverse_event_id=a.id, rationale=""
            )
        )
    adj = world.run(
        lambda s: outcomes.adjudicate_dlt(
            s, world.stat, pid, is_dlt=True, adverse_event_id=a.id, rationale="grade 3 CRS > 72h"
        )
    )
    assert (adj.adverse_event_id, adj.onset_date) == (a.id, a.onset_date)
    with pytest.raises(Conflict, match="already adjudicated"):
        world.run(
            lambda s: outcomes.adjudicate_dlt(
                s, world.stat, pid, is_dlt=False, adverse_event_id=a.id, rationale="change"
            )
        )
    # a corrected AE keeps its lineage: adjudicating the new version is the same event
    a2 = world.run(
        lambda s: outcomes.correct_adverse_event(
            s, world.dm, a.id, changes={"crs": crs_form(4)}, reason="worse"
        )
    )
    with pytest.raises(Conflict, match="already adjudicated"):
        world.run(
            lambda s: outcomes.adjudicate_dlt(
                s, world.stat, pid, is_dlt=True, adverse_event_id=a2.id, rationale="again"
            )
        )
    fixed = world.run(
        lambda s: outcomes.correct_adjudication(
            s,
            world.stat,
            adj.id,
            changes={"is_dlt": False},
            reason="SRC: expected, not dose-limiting",
        )
    )
    assert fixed.is_dlt is False and fixed.onset_date is None
    world.run(
        lambda s: outcomes.void_adjudication(
            s, world.stat, fixed.id, reason="entered for the wrong event"
        )
    )
    with world.db.session() as s:
        assert outcomes.list_adjudications(s, world.monitor, pid) == []
        assert len(outcomes.list_adjudications(s, world.monitor, pid, history=True)) == 3


def test_dlt_must_fall_in_the_window_after_infusion(world: World) -> None:
    tid = world.trial()
    d = world.decide(tid)
    pid = world.patient(tid)
    world.clock.advance(10)  # screened (consent) 10 days before the infusion
    world.enrol(pid, d.next_dose or 1)
    early = ae(world, pid, onset_date=world.clock.today() - timedelta(days=5))
    world.clock.advance(40)
    late = ae(world, pid)
    with pytest.raises(ValidationError, match="outside the 28-day DLT window") as info:
        world.run(
            lambda s: outcomes.adjudicate_dlt(
                s, world.stat, pid, is_dlt=True, adverse_event_id=late.id, rationale="late CRS"
            )
        )
    assert info.value.field == "onset_date"
    with pytest.raises(ValidationError, match="before the infusion"):
        world.run(
            lambda s: outcomes.adjudicate_dlt(
                s, world.stat, pid, is_dlt=True, adverse_event_id=early.id, rationale="before"
            )
        )


# -------------------------------------------------- from records to the core
def test_toxicity_outcome_follows_the_records(world: World) -> None:
    tid, pid = enrolled(world)
    [p] = state_of(world, tid)
    assert (p["tox"], p["entry_time"]) == (None, 0.0)  # infused today: pending
    world.clock.advance(10)
    a = ae(world, pid, onset_date=world.clock.today() - timedelta(days=2))
    world.clock.advance(20)
    [p] = state_of(world, tid)
    assert p["tox"] is None  # window over, but a possible DLT awaits adjudication
    adj = world.run(
        lambda s: outcomes.adjudicate_dlt(
            s, world.stat, pid, is_dlt=True, adverse_event_id=a.id, rationale="CRS"
        )
    )
    [p] = state_of(world, tid)
    assert (p["tox"], p["tox_time"]) == (True, 8.0)
    world.run(
        lambda s: outcomes.correct_adjudication(
            s, world.stat, adj.id, changes={"is_dlt": False}, reason="SRC review"
        )
    )
    [p] = state_of(world, tid)
    assert p["tox"] is False  # adjudicated not a DLT and the window is over


def test_window_completion_and_uninfused_patients(world: World) -> None:
    tid, pid = enrolled(world)
    world.clock.advance(5)
    [p] = state_of(world, tid)
    assert p["tox"] is None
    world.run(
        lambda s: outcomes.adjudicate_dlt(
            s, world.stat, pid, is_dlt=False, rationale="SRC: DLT-free (early review)"
        )
    )
    [p] = state_of(world, tid)
    assert p["tox"] is False
    with pytest.raises(Conflict, match="already adjudicated"):
        world.run(
            lambda s: outcomes.adjudicate_dlt(s, world.stat, pid, is_dlt=False, rationale="again")
        )
    # a DLT without an adverse event record
    world.run(
        lambda s: outcomes.adjudicate_dlt(
            s,
            world.stat,
            pid,
            is_dlt=True,
            onset_date=world.clock.today(),
            rationale="lab-only DLT",
        )
    )
    [p] = state_of(world, tid)
    assert (p["tox"], p["tox_time"]) == (True, 5.0)
    tid2 = world.trial()
    world.decide(tid2)
    pid2 = world.patient(tid2)
    world.enrol(pid2, 1, infused=False)
    world.clock.advance(60)
    with world.db.session() as s:
        trial = s.get(Trial, tid2)
        assert trial is not None
        rec = decisions.compute(s, trial, now=world.clock.t)
    [q] = rec.inputs["state"]["patients"]
    assert q["tox"] is None and q["entry_time"] == rec.inputs["now"] > 60  # enters "now"


def test_efficacy_outcome_follows_the_records(world: World) -> None:
    tid, pid = enrolled(world, BOIN12, efficacy_window_days=60)
    [p] = state_of(world, tid)
    assert p["eff"] is None
    world.clock.advance(30)
    world.run(
        lambda s: outcomes.record_efficacy(
            s,
            world.inv_a,
            pid,
            assessed_on=world.clock.today(),
            instrument="SRI-4",
            responder=False,
        )
    )
    [p] = state_of(world, tid)
    assert p["eff"] is None  # an interim non-response is not final
    world.clock.advance(10)
    world.run(
        lambda s: outcomes.record_efficacy(
            s, world.inv_a, pid, assessed_on=world.clock.today(), instrument="SRI-4", responder=True
        )
    )
    [p] = state_of(world, tid)
    assert (p["eff"], p["eff_time"]) == (True, 40.0)
    tid2, pid2 = enrolled(world, BOIN12, efficacy_window_days=60)
    world.clock.advance(20)
    world.run(
        lambda s: outcomes.record_efficacy(
            s,
            world.inv_a,
            pid2,
            assessed_on=world.clock.today(),
            instrument="SRI-4",
            responder=False,
            final=True,
        )
    )
    [q] = state_of(world, tid2)
    assert q["eff"] is False
    tid3, _ = enrolled(world, BOIN12, efficacy_window_days=60)
    world.clock.advance(61)
    [r] = state_of(world, tid3)
    assert r["eff"] is False  # no response within the window: non-responder


def test_outcome_lists_need_visibility(world: World) -> None:
    _, pid = enrolled(world)
    ae(world, pid)
    with world.db.session() as s:
        assert len(outcomes.list_adverse_events(s, world.inv_a, pid)) == 1
        assert s.scalars(select(AdverseEvent)).first() is not None


def test_dates_a_day_ahead_of_utc_are_accepted(world: World) -> None:
    """At 09:00 UTC it is already tomorrow east of the date line (UTC+14)."""
    tid = world.trial()
    world.decide(tid)
    pid = world.patient(tid)
    tomorrow = world.clock.today() + timedelta(days=1)
    e = world.run(
        lambda s: patients.enrol(s, world.inv_a, pid, dose_level=1, infusion_date=tomorrow)
    )
    assert e.infusion_date == tomorrow
    a = ae(world, pid, onset_date=tomorrow)
    world.run(
        lambda s: outcomes.adjudicate_dlt(
            s, world.stat, pid, is_dlt=True, adverse_event_id=a.id, rationale="early CRS"
        )
    )
    [p] = state_of(world, tid)
    assert p["tox"] is True and p["tox_time"] == 0.0
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    assert rec.indications[0].status in ("enrol", "wait")
