"""Backfill slots in the conduct service (BF-BOIN, spec ``backfill.md`` §4): enrolment into a
backfill slot at a dose open for backfill, refusals naming the reason, the cohort on the
enrolment and in the core state, the audit trail, and escalation slots untouched."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import AuditEvent, Enrolment, Trial
from doseladder.conduct.services import decisions, outcomes, patients
from doseladder.conduct.services.recommendation import compute, recommend
from doseladder.conduct.services.trials import current_protocol, engine_for
from doseladder.core.designs.backfill_cap import cap_summary
from doseladder.core.rules.plan import recommend as core_recommend

from .conftest import BOIN, World

BF = {
    "design": "bf-boin",
    "num_doses": 4,
    "target": 0.25,
    "cohort_size": 3,
    "max_n": 12,
    "n_cap": 5,
    "cap_rule": "at_most",  # never more than 5 at a dose (the design's default is bfboin)
    "tox_window": 28,
}


def respond(w: World, pid: int) -> None:
    w.run(
        lambda s: outcomes.record_efficacy(
            s,
            w.dm,  # not bound to a site
            pid,
            assessed_on=w.clock.today(),
            instrument="ORR",
            responder=True,
        )
    )


def backfill(w: World, pid: int, dose: int | None = None, inv: Any = None) -> Enrolment:
    e: Enrolment = w.run(
        lambda s: patients.enrol(
            s,
            inv or w.inv_a,
            pid,
            dose_level=dose,
            cohort="backfill",
            infusion_date=w.clock.today(),
        )
    )
    return e


def view(w: World, tid: int) -> Any:
    return w.run(lambda s: recommend(s, w.stat, tid)).indications[0]


def pending_at_two(w: World, design: dict[str, Any] = BF) -> int:
    """Cohort 1 at DL1 (0/3, one response), then cohort 2 at DL2 infused today (pending)."""
    tid = w.trial(design)
    first = w.cohort(tid, 1)
    w.clock.advance(days=10)
    respond(w, first[0])
    w.clock.advance(days=19)  # DL1 window complete, response visible
    w.cohort(tid, 2)
    return tid


@pytest.mark.parametrize(("cap_rule", "limit"), [("at_most", 5), ("bfboin", 6)])
def test_backfill_slots_are_shown_and_enforced_to_the_cap(
    world: World, cap_rule: str, limit: int
) -> None:
    """DL1 has 3 escalation patients, n_cap 5: the slots follow the trial's ``cap_rule``
    (``at_most``: 5 − 3 = 2; ``bfboin``, the design's reading "≤ 5 before enrolling":
    6 − 3 = 3), the same reading as the design's C3 in simulation."""
    w = world
    tid = pending_at_two(w, {**BF, "cap_rule": cap_rule})
    room = limit - 3
    v = view(w, tid)
    assert v.status == "wait" and v.rule == "bf_boin.backfill"
    assert v.backfill is not None
    assert v.backfill["open"] == [
        {"dose": 1, "dose_label": "DL1", "patients": 3, "slots_left": room}
    ]
    assert v.backfill["dose"] == 1 and v.backfill["n_cap"] == 5
    assert v.backfill["cap_rule"] == cap_rule
    assert v.backfill["cap_text"] == cap_summary(5, cap_rule)
    assert v.to_dict()["backfill"]["open"][0]["slots_left"] == room
    # an escalation enrolment is refused (the cohort is full)
    p = w.patient(tid)
    with pytest.raises(Conflict):
        w.enrol(p, 2)
    # a backfill dose that is not open: 409 naming it
    with pytest.raises(Conflict, match="not open for backfill") as info:
        backfill(w, p, 2)
    assert info.value.field == "dose_level"
    e1 = backfill(w, p)  # the rule's dose
    assert (e1.dose_level, e1.cohort) == (1, "backfill")
    for _ in range(room - 1):
        e2 = backfill(w, w.patient(tid, w.inv_b), 1, inv=w.inv_b)
        assert e2.cohort == "backfill"
    # the cap closes DL1 (the design's C3, the same reading): no longer open, shown as full
    after = view(w, tid).backfill
    assert after["open"] == []
    assert after["full"] == [{"dose": 1, "dose_label": "DL1", "patients": limit}]
    with pytest.raises(Conflict, match="the backfill cap is reached") as refused:
        backfill(w, w.patient(tid), 1)
    assert f"DL1 has {limit} patient(s)" in str(refused.value)
    assert refused.value.field == "dose_level"
    with pytest.raises(Conflict, match=f"closed by the backfill cap .*DL1 \\({limit} patients"):
        backfill(w, w.patient(tid))
    with w.db.session() as s:
        d = decisions.latest_decision(s, tid, None)
        assert d is not None and decisions.used_slots(s, d.id) == 3  # backfill takes none
        # the core state carries the cohort: the conduct recommendation equals the core's
        rec = compute(s, s.get(Trial, tid))
        built = decisions.state_from_inputs(rec.inputs)
        assert [p.backfill for p in built.patients] == [False] * 6 + [True] * room
        engine = engine_for(current_protocol(s, tid))
        core = core_recommend(engine.plan, built, rec.decision_day).driving
        assert core.backfill_open == ()  # the core's C3 closed DL1, as the conduct view says
        assert rec.indications[0].status == core.status.value
        assert audit.verify(s).ok


def test_the_audit_trail_records_the_cohort_and_the_open_doses(world: World) -> None:
    w = world
    tid = pending_at_two(w)
    e = backfill(w, w.patient(tid))
    with w.db.session() as s:
        events = list(
            s.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity_type == "enrolments", AuditEvent.entity_id == str(e.id)
                )
            )
        )
        create = next(x for x in events if x.action == "create")
        body = json.loads(create.payload)
        assert body["new"]["cohort"] == "backfill"
        assert "open for backfill: DL1 2 left" in (create.reason or "")
        assert "at most 5 patients per dose" in (create.reason or "")
        logged = next(x for x in events if x.action == "backfill_enrolment")
        data = json.loads(logged.payload)["new"]
        assert data["cohort"] == "backfill" and data["dose_level"] == 1
        assert data["backfill_open"] == [
            {"dose": 1, "dose_label": "DL1", "patients": 3, "slots_left": 2}
        ]
        assert (data["n_cap"], data["cap_rule"]) == (5, "at_most")
        assert data["random_draw"] is None
        escal = s.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "enrolments", AuditEvent.action == "create"
            )
        ).first()
        assert escal is not None and json.loads(escal.payload)["new"]["cohort"] == "escalation"


def test_random_assignment_is_drawn_by_the_service_and_audited(world: World) -> None:
    w = world
    design = {**BF, "backfill_assign": "random", "n_cap": 9}
    tid = w.trial(design)
    first = w.cohort(tid, 1)
    respond(w, first[0])
    w.clock.advance(days=29)
    second = w.cohort(tid, 2)
    respond(w, second[1])
    w.clock.advance(days=29)
    w.cohort(tid, 3)
    v = view(w, tid)
    assert [x["dose"] for x in v.backfill["open"]] == [1, 2] and v.backfill["dose"] is None
    p = w.patient(tid)
    with pytest.raises(ValidationError, match="drawn at random"):
        backfill(w, p, 1)
    seen = set()
    for _ in range(8):
        e = backfill(w, w.patient(tid))
        seen.add(e.dose_level)
        with w.db.session() as s:
            logged = s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "backfill_enrolment", AuditEvent.entity_id == str(e.id)
                )
            ).one()
            draw = json.loads(logged.payload)["new"]["random_draw"]
            assert draw["drawn"] == e.dose_level and set(draw["candidates"]) <= {1, 2}
    assert seen <= {1, 2}


def test_a_design_without_backfill_refuses_backfill(world: World) -> None:
    w = world
    tid = w.trial(BOIN)
    w.decide(tid)
    with pytest.raises(Conflict, match="has no backfill") as info:
        backfill(w, w.patient(tid), 1)
    assert info.value.field == "cohort"
    assert view(w, tid).backfill is None
    assert "backfill" not in view(w, tid).to_dict()
    with pytest.raises(ValidationError, match="cohort"):
        w.run(lambda s: patients.enrol(s, w.inv_a, w.patient(tid), dose_level=1, cohort="extra"))


def test_no_backfill_while_the_cohort_fills_or_before_a_response(world: World) -> None:
    w = world
    tid = w.trial(BF)
    w.cohort(tid, 1)  # no response recorded at DL1
    w.clock.advance(days=29)
    w.cohort(tid, 2)
    v = view(w, tid)
    assert v.backfill == {
        "n_cap": 5,
        "cap_rule": "at_most",
        "cap_text": "at most 5 patients per dose, escalation and backfill",
        "assign": "highest",
        "open": [],
        "full": [],
        "dose": None,
        "dose_label": None,
    }
    with pytest.raises(Conflict, match="no dose is open for backfill"):
        backfill(w, w.patient(tid), 1)


def test_exports_carry_the_cohort(world: World) -> None:
    from doseladder.conduct.services import exports

    w = world
    tid = pending_at_two(w)
    e = backfill(w, w.patient(tid))
    ex = w.run(lambda s: exports.dataset_json(s, w.stat, tid, "EX"))
    names = [col["name"] for col in ex["columns"]]
    assert names[names.index("EXCAT") + 1] == "EXSCAT"
    rows = [dict(zip(names, r, strict=True)) for r in ex["rows"]]
    assert [r["EXSCAT"] for r in rows] == ["ESCALATION"] * 6 + ["BACKFILL"]
    assert rows[-1]["EXDOSTXT"] == "DL1" and rows[-1]["EXSEQ"] == 1
    csv_text = w.run(lambda s: exports.domain_csv(s, w.stat, tid, "EX"))
    assert csv_text.splitlines()[0].split(",")[4:6] == ["EXCAT", "EXSCAT"]
    tables = w.run(lambda s: exports.tables_csv(s, w.stat, tid))
    header, *lines = tables["enrolments"].splitlines()
    col = header.split(",").index("cohort")
    cohorts = [line.split(",")[col] for line in lines]
    assert cohorts == ["escalation"] * 6 + ["backfill"]
    assert e.cohort == "backfill"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=[Phase.generate],  # no shrinking: each example runs a whole trial
)
@given(
    data=st.data(),
    n_cap=st.integers(3, 7),
    cap_rule=st.sampled_from(["at_most", "bfboin"]),
    assign=st.sampled_from(["highest", "lowest", "random"]),
)
def test_random_histories_never_backfill_outside_the_open_doses(
    world: World, data: st.DataObject, n_cap: int, cap_rule: str, assign: str
) -> None:
    """Random event sequences (escalation cohorts, responses, DLTs, time, backfill attempts at
    random doses): a backfill enrolment succeeds only at a dose the recommendation showed open
    with a slot left (the rule's dose, if it names one) and never takes a dose beyond the cap
    (n_cap with ``at_most``, n_cap + 1 with ``bfboin``);
    every refusal is a Conflict or ValidationError for one of the reasons named."""
    w = world
    # from DL2's cohort in follow-up with DL1 open, then at random
    tid = pending_at_two(w, {**BF, "n_cap": n_cap, "cap_rule": cap_rule, "backfill_assign": assign})
    limit = n_cap + (cap_rule == "bfboin")
    with w.db.session() as s:
        # patient -> infusion date
        enrolled: dict[int, Any] = {e.patient_id: e.infusion_date for e in c_current(s, tid)}
    for _ in range(data.draw(st.integers(8, 18))):
        action = data.draw(
            st.sampled_from(["cohort", "backfill", "backfill", "dlt", "resp", "wait"])
        )
        v = view(w, tid)
        if action == "cohort" and v.status == "enrol":
            d = w.decide(tid)
            if d.status == "enrol" and d.next_dose is not None:
                for _ in range(d.slots):
                    pid = w.patient(tid)
                    w.enrol(pid, d.next_dose)
                    enrolled[pid] = w.clock.today()
        elif action == "backfill":
            if w.run(lambda s: decisions.latest_decision(s, tid, None)) is None:
                continue
            dose = data.draw(st.one_of(st.none(), st.integers(1, 4)))
            before = v.backfill_slots
            inv = data.draw(st.sampled_from([w.inv_a, w.inv_b]))
            pid = w.patient(tid, inv)
            try:
                e = backfill(w, pid, dose, inv=inv)
            except (Conflict, ValidationError):
                free = [k for k, n in before.items() if n > 0]
                pick = v.backfill["dose"] if v.backfill else None
                assert (
                    v.status == "closed"
                    or not free
                    or (dose is not None and dose not in free)
                    or (dose is not None and (pick is None or dose != pick))
                )
                continue
            assert before.get(e.dose_level, 0) > 0, (before, e.dose_level)
            with w.db.session() as s:
                # a backfill patient never takes a dose beyond the cap (escalation cohorts may
                # later add patients there: the cap is on backfill enrolment)
                at_dose = [x for x in c_current(s, tid) if x.dose_level == e.dose_level]
                assert len(at_dose) <= limit
            if v.backfill["dose"] is not None:
                assert e.dose_level == v.backfill["dose"]
            enrolled[pid] = w.clock.today()
        elif action in ("dlt", "resp") and enrolled:
            pid = data.draw(st.sampled_from(sorted(enrolled)))
            if (w.clock.today() - enrolled[pid]).days > 28:
                continue  # outside the windows
            if action == "resp":
                respond(w, pid)
            else:
                w.run(
                    lambda s, pid=pid: (
                        outcomes.adjudicate_dlt(
                            s,
                            w.stat,
                            pid,
                            is_dlt=True,
                            rationale="grade 4",
                            onset_date=w.clock.today(),
                        )
                        if not outcomes.list_adjudications(s, w.stat, pid)
                        else None
                    )
                )
        else:
            w.clock.advance(days=data.draw(st.sampled_from([3, 10, 29])))


def c_current(s: Any, tid: int) -> list[Enrolment]:
    from doseladder.conduct.services import _common

    return list(_common.current(s.scalars(select(Enrolment).where(Enrolment.trial_id == tid))))
