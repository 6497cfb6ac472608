"""Patients: registration, screening, enrolment safeguards, infusion, corrections, site
isolation, bad input and crashes that change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, Forbidden, NotFound, ValidationError
from doseladder.conduct.models import AuditEvent, Enrolment, ScreeningResult
from doseladder.conduct.services import decisions, outcomes, patients, trials
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import World, crs_form, icans_form


# ------------------------------------------------------------------ registration
def test_register_generates_pseudonymous_ids(world: World) -> None:
    tid = world.trial()
    a1 = world.run(lambda s: patients.register_patient(s, world.inv_a, tid))
    a2 = world.run(lambda s: patients.register_patient(s, world.inv_a, tid, sex="F", age=34))
    b1 = world.run(lambda s: patients.register_patient(s, world.inv_b, tid))
    c1 = world.run(
        lambda s: patients.register_patient(
            s, world.dm, tid, site_id=world.site_b, study_id="sb-x9"
        )
    )
    assert [p.study_id for p in (a1, a2, b1, c1)] == ["SA-001", "SA-002", "SB-001", "SB-X9"]
    assert (a2.sex, a2.age, a2.site_id) == ("F", 34, world.site_a)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"study_id": "JohnSmith"}, "study_id"),
        ({"study_id": "Jane Doe 1"}, "study_id"),
        ({"study_id": ""}, "study_id"),
        ({"sex": "female"}, "sex"),
        ({"age": 130}, "age"),
        ({"age": "30"}, "age"),
        ({"indication": "SLE"}, "indication"),
        ({"site_id": "A"}, "site_id"),
    ],
)
def test_register_bad_input(world: World, kw: dict[str, Any], field: str) -> None:
    tid = world.trial()
    before = world.snapshot_counts()
    with pytest.raises(ValidationError) as info:
        world.run(
            lambda s: patients.register_patient(
                s, world.dm, tid, **({"site_id": world.site_a} | kw)
            )
        )
    assert info.value.field == field
    assert world.snapshot_counts() == before


def test_register_refusals(world: World) -> None:
    tid = world.trial()
    draft = world.trial(open_=False)
    world.run(lambda s: patients.register_patient(s, world.inv_a, tid, study_id="SA-100"))
    cases: list[tuple[Any, type[Exception], str]] = [
        (
            lambda s: patients.register_patient(s, world.inv_a, tid, study_id="sa-100"),
            Conflict,
            "already",
        ),
        (
            lambda s: patients.register_patient(s, world.inv_a, tid, site_id=world.site_b),
            Forbidden,
            "another site",
        ),
        (lambda s: patients.register_patient(s, world.dm, tid), ValidationError, "site_id"),
        (lambda s: patients.register_patient(s, world.inv_a, draft), Conflict, "draft"),
        (lambda s: patients.register_patient(s, world.inv_a, 999), NotFound, "trial"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            world.run(fn)
    other = world.run(
        lambda s: trials.create_trial(
            s, world.stat, code="SOLO", title="x", protocol={"design": "3+3", "num_doses": 3}
        )
    ).id
    world.run(lambda s: trials.open_trial(s, world.stat, other))
    with pytest.raises(Conflict, match="does not take part"):
        world.run(lambda s: patients.register_patient(s, world.inv_a, other))


def test_protocol_indications_are_required(world: World) -> None:
    tid = world.trial(load_mapping(shipped_path("str-p004-nct07143617")))
    with pytest.raises(ValidationError, match="required: one of SLE-ITP") as info:
        world.run(lambda s: patients.register_patient(s, world.inv_a, tid))
    assert info.value.field == "indication"
    p = world.run(lambda s: patients.register_patient(s, world.inv_a, tid, indication="IIM"))
    assert p.indication == "IIM"
    with pytest.raises(ValidationError, match="not one of the protocol's eligibility criteria"):
        world.run(
            lambda s: patients.record_screening(
                s,
                world.inv_a,
                p.id,
                screened_on=world.clock.today(),
                eligible=False,
                criteria={"made_up": False},
            )
        )


# --------------------------------------------------------------------- screening
def test_screening_and_its_corrections(world: World) -> None:
    tid = world.trial()
    p = world.run(lambda s: patients.register_patient(s, world.inv_a, tid))
    today = world.clock.today()
    with pytest.raises(ValidationError, match="criterion 'age' is not satisfied") as info:
        world.run(
            lambda s: patients.record_screening(
                s, world.inv_a, p.id, screened_on=today, eligible=True, criteria={"age": False}
            )
        )
    assert info.value.field == "eligible"
    for kw, field in [
        ({"screened_on": today + timedelta(days=2)}, "screened_on"),
        ({"screened_on": "yesterday"}, "screened_on"),
        ({"eligible": "yes"}, "eligible"),
        ({"criteria": {"age": "yes"}}, "criteria.age"),
        ({"criteria": ["age"]}, "criteria"),
    ]:
        args: dict[str, Any] = {"screened_on": today, "eligible": True} | kw
        with pytest.raises(ValidationError) as info:
            world.run(lambda s, a=args: patients.record_screening(s, world.inv_a, p.id, **a))
        assert info.value.field == field
    sr = world.run(
        lambda s: patients.record_screening(
            s,
            world.inv_a,
            p.id,
            screened_on=today.isoformat(),
            eligible=False,
            criteria={"age": True, "renal": False},
            notes="eGFR too low",
        )
    )
    fixed = world.run(
        lambda s: patients.correct_screening(
            s,
            world.dm,
            sr.id,
            changes={"eligible": True, "criteria": {"age": True, "renal": True}},
            reason="lab value mis-keyed",
        )
    )
    assert (fixed.version, fixed.root_id, fixed.supersedes_id, fixed.eligible) == (
        2,
        sr.id,
        sr.id,
        True,
    )
    with world.db.session() as s:
        old = s.get(ScreeningResult, sr.id)
        assert old is not None and old.eligible is False  # never changed in place
    with pytest.raises(Conflict, match="already corrected"):
        world.run(
            lambda s: patients.correct_screening(
                s, world.dm, sr.id, changes={"notes": "x"}, reason="again"
            )
        )
    with pytest.raises(ValidationError, match=r"changes\.patient_id"):
        world.run(
            lambda s: patients.correct_screening(
                s, world.dm, fixed.id, changes={"patient_id": 3}, reason="move"
            )
        )
    d = world.decide(tid)
    world.enrol(p.id, d.next_dose or 0)
    with pytest.raises(Conflict, match="already enrolled"):
        world.run(
            lambda s: patients.record_screening(
                s, world.inv_a, p.id, screened_on=today, eligible=True
            )
        )


# --------------------------------------------------------------------- enrolment
def test_enrolment_happy_path(world: World) -> None:
    tid = world.trial()
    d = world.decide(tid)
    assert (d.status, d.next_dose, d.slots, d.rule) == ("enrol", 1, 3, "start")
    pids = [world.patient(tid, inv) for inv in (world.inv_a, world.inv_b, world.inv_a)]
    rows = [
        world.enrol(pid, 1, inv=inv)
        for pid, inv in zip(pids, (world.inv_a, world.inv_b, world.inv_a), strict=True)
    ]
    assert [e.slot for e in rows] == [1, 2, 3]
    assert {e.decision_id for e in rows} == {d.id}
    assert all(e.infusion_date == world.clock.today() for e in rows)
    with world.db.session() as s:
        assert decisions.used_slots(s, d.id) == 3
        ev = s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "enrolments")).all()
        assert len(ev) == 3 and {e.actor_username for e in ev} == {"inv_a", "inv_b"}


def test_enrolment_refusals(world: World) -> None:
    tid = world.trial()
    pid = world.patient(tid)
    with pytest.raises(Conflict, match="no dose decision"):
        world.enrol(pid, 1)
    d = world.decide(tid)
    with pytest.raises(ValidationError, match=r"dose level 2 is not allowed.*override") as info:
        world.enrol(pid, 2)
    assert info.value.field == "dose_level"
    with pytest.raises(ValidationError, match="dose_level"):
        world.enrol(pid, 0)
    world.run(lambda s: trials.suspend_accrual(s, world.stat, tid, reason="SRC meeting"))
    with pytest.raises(Conflict, match="accrual is suspended: SRC meeting"):
        world.enrol(pid, 1)
    world.run(lambda s: trials.resume_accrual(s, world.stat, tid, reason="cleared"))
    ineligible = world.patient(tid, eligible=False)
    with pytest.raises(Conflict, match="not eligible"):
        world.enrol(ineligible, 1)
    unscreened = world.run(lambda s: patients.register_patient(s, world.inv_a, tid)).id
    with pytest.raises(Conflict, match="no screening"):
        world.enrol(unscreened, 1)
    with pytest.raises(Forbidden, match="another site"):
        world.enrol(pid, 1, inv=world.inv_b)
    future = world.clock.today() + timedelta(days=2)
    with pytest.raises(ValidationError, match="future") as info:
        world.run(lambda s: patients.enrol(s, world.inv_a, pid, dose_level=1, infusion_date=future))
    assert info.value.field == "infusion_date"
    with pytest.raises(ValidationError, match="epoch"):
        world.run(
            lambda s: patients.enrol(s, world.inv_a, pid, dose_level=1, infusion_date="2020-01-01")
        )
    with pytest.raises(ValidationError, match="decision_id"):
        world.enrol(pid, 1, decision_id=9999)
    world.enrol(pid, 1, decision_id=d.id)
    with pytest.raises(Conflict, match="already enrolled"):
        world.enrol(pid, 1)
    world.run(lambda s: trials.close_trial(s, world.stat, tid, reason="stopped"))
    with pytest.raises(Conflict, match="closed"):
        world.enrol(unscreened, 1)


def test_stale_and_full_decisions(world: World) -> None:
    tid = world.trial()
    d1 = world.decide(tid)
    d2 = world.decide(tid)
    pid = world.patient(tid)
    with pytest.raises(Conflict, match=f"decision #{d1.id} is stale .*latest is #{d2.id}"):
        world.enrol(pid, 1, decision_id=d1.id)
    for _ in range(3):
        world.enrol(world.patient(tid), 1)
    with pytest.raises(Conflict, match="full"):
        world.enrol(pid, 1)
    d3 = world.decide(tid)  # BOIN waits for the cohort's outcomes
    assert (d3.status, d3.rule, d3.slots) == ("wait", "boin.pending", 0)
    with pytest.raises(Conflict, match="does not allow enrolment"):
        world.enrol(pid, 1)


def test_new_outcomes_make_a_decision_stale(world: World) -> None:
    tid = world.trial()
    first = world.cohort(tid, 1)
    world.clock.advance(29)
    d = world.decide(tid)
    assert (d.next_dose, d.rule) == (2, "boin.escalate")
    world.run(
        lambda s: outcomes.record_adverse_event(
            s,
            world.inv_a,
            first[0],
            term="CRS",
            crs=crs_form(3),
            onset_date=world.clock.today() - timedelta(days=20),
            dlt_candidate=True,
        )
    )
    pid = world.patient(tid)
    with pytest.raises(Conflict, match="stale: with the data now the recommendation is wait"):
        world.enrol(pid, 2)


def test_signoff_gate_before_escalation(world: World) -> None:
    tid = world.trial(require_signoff_for_escalation=True)
    d0 = world.decide(tid)
    assert d0.requires_signoff is False  # the start dose is not an escalation
    for _ in range(3):
        world.enrol(world.patient(tid), 1)
    world.clock.advance(29)
    d1 = world.decide(tid)
    assert (d1.next_dose, d1.requires_signoff) == (2, True)
    pid = world.patient(tid)
    with pytest.raises(Conflict, match="needs committee sign-off"):
        world.enrol(pid, 2)
    with pytest.raises(Forbidden):
        world.run(lambda s: decisions.sign_off(s, world.inv_a, d1.id, approve=True, comment="ok"))
    # four eyes: the statistician who recorded the escalation cannot sign it
    with pytest.raises(Forbidden, match="second person"):
        world.sign(d1.id, world.stat)
    world.sign(d1.id, world.admin, approve=False)
    with pytest.raises(Conflict, match="already signed off"):
        world.sign(d1.id, world.com1)
    with pytest.raises(Conflict, match="rejected"):
        world.enrol(pid, 2)
    d2 = world.decide(tid)
    with pytest.raises(Conflict, match="superseded"):
        world.sign(d1.id, world.com1)
    so = world.sign(d2.id, world.admin)
    assert so.approved and so.signed_by_id == world.admin.user_id
    world.enrol(pid, 2)


def test_override_decision_allows_another_dose_with_a_reason(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    pid = world.patient(tid)
    with pytest.raises(Forbidden):
        world.run(
            lambda s: decisions.override_decision(
                s, world.inv_a, tid, dose_level=2, reason="want 2"
            )
        )
    with pytest.raises(ValidationError) as info:
        world.run(
            lambda s: decisions.override_decision(s, world.stat, tid, dose_level=2, reason="")
        )
    assert info.value.field == "reason"
    with pytest.raises(ValidationError) as info:
        world.run(
            lambda s: decisions.override_decision(s, world.stat, tid, dose_level=9, reason="typo")
        )
    assert info.value.field == "dose_level"
    o = world.run(
        lambda s: decisions.override_decision(
            s,
            world.stat,
            tid,
            dose_level=2,
            reason="prior phase I data support DL2",
            slots=2,
            justification="DL2 was well tolerated in the prior phase I study (n = 12)",
        )
    )
    assert (o.source, o.next_dose, o.recommended_dose, o.slots) == ("override", 2, 1, 2)
    assert o.override_reason == "prior phase I data support DL2"
    assert o.requires_signoff and o.signatures_required == 2
    world.sign(o.id, world.com1)
    world.sign(o.id, world.com2)
    e = world.enrol(pid, 2)
    with world.db.session() as s:
        ev = s.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "enrolments", AuditEvent.entity_id == str(e.id)
            )
        ).one()
        assert "override decision" in (ev.reason or "")
    with pytest.raises(ValidationError, match="dose level 1 is not allowed"):
        world.enrol(world.patient(tid), 1)


def test_override_refuses_eliminated_doses_and_goes_stale_after_a_dlt(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    pids = [world.patient(tid) for _ in range(3)]
    for pid in pids:
        world.enrol(pid, 1)
    world.clock.advance(5)
    for pid in pids:
        ae = world.run(
            lambda s, pid=pid: outcomes.record_adverse_event(
                s,
                world.inv_a,
                pid,
                term="ICANS",
                icans=icans_form(4),
                onset_date=world.clock.today(),
                dlt_candidate=True,
            )
        )
        world.run(
            lambda s, pid=pid, ae=ae: outcomes.adjudicate_dlt(
                s, world.stat, pid, is_dlt=True, adverse_event_id=ae.id, rationale="grade 4 ICANS"
            )
        )
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    assert 1 in rec.eliminated
    with pytest.raises(ValidationError, match="eliminated"):
        world.run(
            lambda s: decisions.override_decision(s, world.stat, tid, dose_level=1, reason="insist")
        )


def test_infusion_corrections_and_void(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    pid = world.patient(tid)
    e = world.enrol(pid, 1, infused=False)
    assert e.infusion_date is None
    world.clock.advance(3)
    e2 = world.run(
        lambda s: patients.record_infusion(s, world.inv_a, e.id, infusion_date=world.clock.today())
    )
    assert (e2.version, e2.infusion_date, e2.change_reason) == (
        2,
        world.clock.today(),
        "infusion recorded",
    )
    with pytest.raises(Conflict, match="already corrected"):
        world.run(
            lambda s: patients.record_infusion(
                s, world.inv_a, e.id, infusion_date=world.clock.today()
            )
        )
    with pytest.raises(Conflict, match="already has an infusion date"):
        world.run(
            lambda s: patients.record_infusion(
                s, world.inv_a, e2.id, infusion_date=world.clock.today()
            )
        )
    with pytest.raises(ValidationError, match="reason"):
        world.run(
            lambda s: patients.correct_enrolment(
                s, world.dm, e2.id, changes={"dose_level": 2}, reason=""
            )
        )
    with pytest.raises(ValidationError, match=r"changes\.slot"):
        world.run(
            lambda s: patients.correct_enrolment(
                s, world.dm, e2.id, changes={"slot": 2}, reason="move it"
            )
        )
    with pytest.raises(ValidationError, match="nothing to change"):
        world.run(
            lambda s: patients.correct_enrolment(s, world.dm, e2.id, changes={}, reason="move it")
        )
    e3 = world.run(
        lambda s: patients.correct_enrolment(
            s,
            world.dm,
            e2.id,
            changes={"infusion_date": world.clock.today() - timedelta(days=1)},
            reason="date from pharmacy log",
        )
    )
    assert e3.version == 3 and e3.root_id == e.id
    with world.db.session() as s:
        assert decisions.used_slots(s, e.decision_id) == 1
        cur = patients.current_enrolment(s, world.monitor, pid)
        assert cur is not None and cur.id == e3.id
    void = world.run(
        lambda s: patients.void_enrolment(
            s, world.dm, e3.id, reason="consent withdrawn before infusion"
        )
    )
    assert void.voided
    with world.db.session() as s:
        assert decisions.used_slots(s, e.decision_id) == 0
        assert patients.current_enrolment(s, world.monitor, pid) is None
        assert len(s.scalars(select(Enrolment)).all()) == 4  # nothing was lost
    with pytest.raises(Conflict, match="void"):
        world.run(
            lambda s: patients.correct_enrolment(
                s, world.dm, void.id, changes={"dose_level": 1}, reason="undo it"
            )
        )


# -------------------------------------------------------------- site isolation
def test_site_isolation(world: World) -> None:
    tid = world.trial()
    pa = world.patient(tid, world.inv_a)
    pb = world.patient(tid, world.inv_b)
    with world.db.session() as s:
        assert [p.id for p in patients.list_patients(s, world.inv_a, tid)] == [pa]
        assert [p.id for p in patients.list_patients(s, world.dm_a, tid)] == [pa]
        assert {p.id for p in patients.list_patients(s, world.monitor, tid)} == {pa, pb}
        for actor in (world.inv_a, world.dm_a):
            with pytest.raises(Forbidden, match="another site"):
                patients.get_patient(s, actor, pb)
            with pytest.raises(Forbidden):
                patients.patient_record(s, actor, pb)
        assert patients.get_patient(s, world.inv_b, pb).study_id == "SB-001"
    before = world.snapshot_counts()
    for fn in (
        lambda s: outcomes.record_adverse_event(
            s, world.inv_a, pb, term="Fatigue", grade=1, onset_date=world.clock.today()
        ),
        lambda s: outcomes.record_efficacy(
            s, world.dm_a, pb, assessed_on=world.clock.today(), instrument="SRI-4", responder=False
        ),
        lambda s: patients.record_screening(
            s, world.inv_a, pb, screened_on=world.clock.today(), eligible=True
        ),
    ):
        with pytest.raises(Forbidden):
            world.run(fn)
    assert world.snapshot_counts() == before


def test_patient_record(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    pid = world.patient(tid)
    world.enrol(pid, 1)
    ae = world.run(
        lambda s: outcomes.record_adverse_event(
            s, world.inv_a, pid, term="Rash", grade=1, onset_date=world.clock.today()
        )
    )
    world.run(
        lambda s: outcomes.correct_adverse_event(
            s, world.dm, ae.id, changes={"grade": 2}, reason="re-graded"
        )
    )
    with world.db.session() as s:
        rec = patients.patient_record(s, world.monitor, pid)
        full = patients.patient_record(s, world.monitor, pid, history=True)
    assert rec["patient"]["study_id"] == "SA-001"
    assert [a["grade"] for a in rec["adverse_events"]] == [2]
    assert [a["grade"] for a in full["adverse_events"]] == [1, 2]
    assert len(rec["enrolment"]) == 1 and len(rec["screening"]) == 1


# ------------------------------------------------------- crashes change nothing
def test_crash_after_the_service_leaves_no_partial_record(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    pid = world.patient(tid)
    before = world.snapshot_counts()
    with pytest.raises(RuntimeError, match="power cut"), world.db.transaction() as s:
        patients.enrol(s, world.inv_a, pid, dose_level=1, infusion_date=world.clock.today())
        outcomes.record_adverse_event(
            s, world.inv_a, pid, term="Fever", grade=1, onset_date=world.clock.today()
        )
        s.flush()
        raise RuntimeError("power cut")
    assert world.snapshot_counts() == before
    with world.db.session() as s:
        assert audit.verify(s).ok


def test_crash_inside_the_service_leaves_no_partial_record(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    tid = world.trial()
    world.decide(tid)
    pid = world.patient(tid)
    before = world.snapshot_counts()
    real = patients.audit.reason

    def exploding(session: Any, text: Any) -> Any:
        session.flush()  # the enrolment row has been written when the crash happens
        raise OSError("disk full")

    monkeypatch.setattr(patients.audit, "reason", exploding)
    with pytest.raises(OSError, match="disk full"):
        world.enrol(pid, 1)
    monkeypatch.setattr(patients.audit, "reason", real)
    assert world.snapshot_counts() == before
    world.enrol(pid, 1)
