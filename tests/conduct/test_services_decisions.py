"""Recommendations from stored data, recorded decisions with their inputs and reasoning,
replay, eliminated doses carried forward, TITE pending outcomes, protocol rules."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from doseladder.conduct.errors import Conflict, Forbidden, NotFound, ValidationError
from doseladder.conduct.models import DoseDecision
from doseladder.conduct.services import decisions, outcomes, trials
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import TITE_BOIN, World, crs_form


def dlt(world: World, pid: int) -> None:
    a = world.run(
        lambda s: outcomes.record_adverse_event(
            s,
            world.inv_a,
            pid,
            term="CRS",
            crs=crs_form(3),
            onset_date=world.clock.today(),
            dlt_candidate=True,
        )
    )
    world.run(
        lambda s: outcomes.adjudicate_dlt(
            s, world.stat, pid, is_dlt=True, adverse_event_id=a.id, rationale="grade 3 CRS"
        )
    )


def test_recommend_shows_reasoning_and_records_nothing(world: World) -> None:
    tid = world.trial()
    before = world.snapshot_counts()
    rec = world.run(lambda s: decisions.recommend(s, world.monitor, tid))
    assert world.snapshot_counts() == before
    [view] = rec.indications
    assert (view.status, view.next_dose, view.dose_label, view.rule) == ("enrol", 1, "DL1", "start")
    assert "start at dose 1" in view.message
    assert view.slots == 3 and view.indication is None and view.role == "pooled"
    d = rec.to_dict()
    assert d["inputs"]["state"]["patients"] == [] and d["protocol_version"] == 1
    assert rec.for_indication(None) is view
    with pytest.raises(ValidationError):
        rec.for_indication("SLE")


def test_recorded_decision_is_complete_and_replayable(world: World) -> None:
    tid = world.trial()
    world.cohort(tid, 1)
    world.clock.advance(29)
    d = world.decide(tid)
    assert (d.status, d.next_dose, d.current_dose, d.rule) == ("enrol", 2, 1, "boin.escalate")
    assert d.source == "design" and d.recommended_dose == 2 and d.engine_version
    assert hashlib.sha256(d.inputs.encode()).hexdigest() == d.inputs_sha256
    inputs = json.loads(d.inputs)
    assert inputs["now"] == pytest.approx(29.375, abs=0.01)
    assert [p["tox"] for p in inputs["state"]["patients"]] == [False] * 3
    result = json.loads(d.result)
    assert result["indication"]["rule"] == "boin.escalate"
    assert result["plan"]["driving_decision"]["action"] == "escalate"
    r = world.run(lambda s: decisions.replay_decision(s, world.monitor, d.id))
    assert r.ok and r.differences == () and r.to_dict()["ok"]
    with world.db.session() as s:
        view = decisions.decision_view(s, world.monitor, d)
        assert view["latest"] and view["slots_open"] == 3 and view["signoff"] is None
        assert [x.id for x in decisions.list_decisions(s, world.inv_a, tid)][-1] == d.id
        assert decisions.get_decision(s, world.dm, d.id).id == d.id


def test_replay_ignores_later_corrections_but_catches_tampering(world: World) -> None:
    tid = world.trial()
    pids = world.cohort(tid, 1)
    world.clock.advance(29)
    d = world.decide(tid)
    world.clock.advance(1)
    world.run(
        lambda s: outcomes.adjudicate_dlt(
            s,
            world.stat,
            pids[0],
            is_dlt=True,
            onset_date=world.clock.today() - timedelta(days=27),
            rationale="late report of a day-3 DLT",
        )
    )
    r = world.run(lambda s: decisions.replay_decision(s, world.stat, d.id))
    assert r.ok, r.differences  # the data as they stood at the decision are rebuilt
    now = world.run(lambda s: decisions.recommend(s, world.stat, tid)).indications[0]
    assert now.next_dose == 1  # but the new DLT changes today's recommendation
    world.tamper("UPDATE enrolments SET dose_level = 2 WHERE patient_id = :p", p=pids[1])
    r = world.run(lambda s: decisions.replay_decision(s, world.stat, d.id))
    assert r.matches and r.inputs_intact and not r.data_matches
    assert any("dose" in x for x in r.differences)
    world.tamper(
        "UPDATE dose_decisions SET inputs = replace(inputs, :a, :b) WHERE id = :i",
        a='"tox":false',
        b='"tox":true',
        i=d.id,
    )
    r = world.run(lambda s: decisions.replay_decision(s, world.stat, d.id))
    assert not r.inputs_intact and not r.matches


def test_eliminated_doses_are_carried_forward(world: World) -> None:
    tid = world.trial()
    world.cohort(tid, 1)
    world.clock.advance(29)
    pids = world.cohort(tid, 2)
    world.clock.advance(2)
    for pid in pids:
        dlt(world, pid)
    d = world.decide(tid)
    assert d.next_dose == 1 and set(d.eliminated) == {2, 3, 4}
    # the DLTs are withdrawn: the data alone would no longer eliminate dose 2 ...
    with world.db.session() as s:
        adjs = [a for pid in pids for a in outcomes.list_adjudications(s, world.stat, pid)]
    for a in adjs:
        world.run(
            lambda s, a=a: outcomes.void_adjudication(s, world.stat, a.id, reason="SRC re-review")
        )
    world.clock.advance(30)
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    assert {2, 3, 4} <= set(rec.eliminated)  # ... but eliminations are permanent
    assert rec.inputs["state"]["eliminated"] == [2, 3, 4]


def test_decisions_need_an_open_trial_and_the_right_role(world: World) -> None:
    draft = world.trial(open_=False)
    with pytest.raises(Conflict, match="not open"):
        world.decide(draft)
    tid = world.trial()
    for actor in (world.admin, world.dm, world.monitor):
        with pytest.raises(Forbidden):
            world.run(lambda s, a=actor: decisions.record_decision(s, a, tid))
    d = world.run(lambda s: decisions.record_decision(s, world.inv_b, tid))
    assert d.recorded_by_id == world.inv_b.user_id
    with pytest.raises(ValidationError) as info:
        world.run(lambda s: decisions.record_decision(s, world.stat, tid, indication="SLE"))
    assert info.value.field == "indication"
    world.run(lambda s: trials.close_trial(s, world.stat, tid, reason="done"))
    with pytest.raises(Conflict, match="closed"):
        world.decide(tid)


def test_site_bound_users_see_tallies_not_patients(world: World) -> None:
    tid = world.trial()
    world.cohort(tid, 1)
    rec = world.run(lambda s: decisions.recommend(s, world.inv_b, tid))
    assert "patients" not in rec.inputs["state"]
    assert rec.inputs["state"]["tallies"] == {
        "all:1": {"n": 3, "dlt": 0, "dlt_pending": 3, "response": 0}
    }
    with world.db.session() as s:
        d = s.scalars(select(DoseDecision)).first()
        assert d is not None
        assert "tallies" in decisions.decision_view(s, world.inv_b, d)["inputs"]["state"]
        assert "patients" in decisions.decision_view(s, world.stat, d)["inputs"]["state"]


def test_tite_design_decides_with_pending_outcomes(world: World) -> None:
    tid = world.trial(TITE_BOIN)
    world.cohort(tid, 1)
    world.clock.advance(14)
    d = world.decide(tid)
    inputs = json.loads(d.inputs)
    assert [p["tox"] for p in inputs["state"]["patients"]] == [None] * 3  # pending ...
    assert d.rule.startswith("tite_boin")  # ... and TITE-BOIN decides on partial follow-up
    r = world.run(lambda s: decisions.replay_decision(s, world.stat, d.id))
    assert r.ok


def test_driving_indication_protocol(world: World) -> None:
    tid = world.trial(load_mapping(shipped_path("str-p004-nct07143617")))
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    roles = {v.indication: (v.role, v.status) for v in rec.indications}
    assert roles["SLE-ITP"] == ("driving", "enrol")
    assert roles["IIM"] == ("other", "wait")
    d = world.decide(tid)  # defaults to the driving indication
    assert d.indication == "SLE-ITP" and d.dose_label == "DL1"
    assert d.rule == "backup_fallback.run_in"
    iim = world.patient(tid, indication="IIM")
    with pytest.raises(Conflict, match="no dose decision"):
        world.enrol(iim, 2)
    w = world.decide(tid, indication="IIM")
    assert (w.status, w.rule) == ("wait", "driving_indication.no_confirmed_dose")
    with pytest.raises(Conflict, match="does not allow enrolment"):
        world.enrol(iim, 2)
    world.enrol(world.patient(tid, indication="SLE-ITP"), 2)
    assert world.run(lambda s: decisions.replay_decision(s, world.stat, d.id)).ok


def test_pooled_indications_share_one_cohort(world: World) -> None:
    tid = world.trial(load_mapping(shipped_path("f01-car-nk-snc103")))
    d = world.decide(tid, indication="AAV")
    assert d.indication is None and d.slots == 3  # pooled: one decision for every indication
    for ind in ("SLE", "AAV", "IIM"):
        world.enrol(world.patient(tid, indication=ind), 1)
    with pytest.raises(Conflict, match="full"):
        world.enrol(world.patient(tid, indication="dcSSc"), 1)


def test_mid_cohort_decision_opens_the_rest_of_the_cohort(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    world.enrol(world.patient(tid), 1)
    d = world.decide(tid)
    assert (d.status, d.next_dose, d.slots, d.rule) == ("enrol", 1, 2, "plan.complete_cohort")
    world.enrol(world.patient(tid), 1)
    world.enrol(world.patient(tid), 1)
    with pytest.raises(Conflict, match="full"):
        world.enrol(world.patient(tid), 1)


def test_max_n_caps_the_slots(world: World) -> None:
    tid = world.trial(
        {"design": "boin", "num_doses": 3, "target": 0.3, "cohort_size": 3, "max_n": 4}
    )
    world.cohort(tid, 1)
    world.clock.advance(29)
    d = world.decide(tid)
    assert d.slots == 1
    world.enrol(world.patient(tid), d.next_dose or 0)
    world.clock.advance(29)
    assert world.decide(tid).status == "closed"


def test_unknown_decision(world: World) -> None:
    with world.db.session() as s, pytest.raises(NotFound, match="not found"):
        decisions.get_decision(s, world.stat, 12345)
