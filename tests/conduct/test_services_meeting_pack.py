"""The meeting pack service: its numbers are the services' and the core's, producing it is
audited with the audit head it states, and the roles that may not produce it change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from doseladder.conduct.errors import Forbidden, ValidationError
from doseladder.conduct.models import AuditEvent, AuditHead
from doseladder.conduct.services import decisions, meeting_pack, outcomes, trials
from doseladder.core.pathways import PathNode, plan_decision
from doseladder.core.state import _LETTERS, Patient, TrialState
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import BOIN, TITE_BOIN, World


def _boin_trial(world: World) -> tuple[int, list[int]]:
    """BOIN, one cohort of 3 at dose 1: one DLT (grade 3 neutropenia), two windows completed
    without DLT."""
    t = world.trial(BOIN)
    ids = world.cohort(t, 1)
    today = world.clock.today()

    def outcomes_(s: Any) -> None:
        ae = outcomes.record_adverse_event(
            s,
            world.inv_a,
            ids[0],
            term="Febrile neutropenia",
            grade=3,
            onset_date=today,
            dlt_candidate=True,
        )
        outcomes.adjudicate_dlt(
            s, world.stat, ids[0], is_dlt=True, adverse_event_id=ae.id, rationale="grade 3 FN"
        )
        for pid in ids[1:]:
            outcomes.adjudicate_dlt(s, world.stat, pid, is_dlt=False, rationale="window done")

    world.run(outcomes_)
    return t, ids


def _head(world: World, trial_id: int) -> tuple[int, str]:
    with world.db.session() as s:
        head = s.get(AuditHead, f"trial:{trial_id}")
        assert head is not None
        return head.seq, head.hash


def _walk_equals_core(
    pack: meeting_pack.MeetingPack, ind: meeting_pack.IndicationPack, plan: Any
) -> int:
    """Every node's decision equals the core plan's decision on the state its path reaches
    (rebuilt here from the recommendation's inputs and the path's outcome letters)."""
    assert ind.pathways is not None
    plan_state = decisions.state_from_inputs(pack.recommendation.inputs)
    now = pack.recommendation.decision_day
    checked = 0

    def visit(node: PathNode, state: TrialState, plan: Any) -> None:
        nonlocal checked
        for child in node.children:
            assert child.dose == node.decision.next_dose
            pts = [
                Patient(dose=child.dose, entry_time=now, tox=_LETTERS[c][0], eff=_LETTERS[c][1])
                for c in child.outcomes
            ]
            nxt = state.with_eliminated(node.decision.eliminated).with_patients(pts)
            assert plan_decision(plan, nxt, now) == child.decision, child.path
            checked += 1
            visit(child, nxt, plan)

    assert plan_decision(plan, plan_state, now) == ind.pathways.root.decision
    visit(ind.pathways.root, plan_state, plan)
    return checked


def test_pack_holds_the_services_numbers_and_is_audited(world: World) -> None:
    t, _ = _boin_trial(world)
    seq, digest = _head(world, t)
    pack = world.run(lambda s: meeting_pack.meeting_pack(s, world.stat, t, formats=["html", "pdf"]))
    rec = world.run(lambda s: decisions.recommend(s, world.stat, t))
    with world.db.session() as s:
        plan = trials.engine_for(trials.current_protocol(s, t)).plan

    # audit: the head the pack states is the one before its own event, which records it
    assert (pack.audit_head_seq, pack.audit_head_hash) == (seq, digest)
    with world.db.session() as s:
        ev = s.query(AuditEvent).order_by(AuditEvent.id.desc()).first()
        assert ev is not None and ev.action == meeting_pack.PACK_EVENT
        assert ev.seq == seq + 1 and ev.actor_username == "stat" and ev.trial_id == t
        assert f'"audit_head_hash":"{digest}"' in ev.payload
        assert '"formats":["html","pdf"]' in ev.payload

    (ind,) = pack.indications
    # current state: 3 treated at dose 1, one DLT, nothing pending
    assert [(d.dose, d.n, d.dlt, d.dlt_pending) for d in ind.doses] == [
        (1, 3, 1, 0),
        (2, 0, 0, 0),
        (3, 0, 0, 0),
        (4, 0, 0, 0),
    ]
    # the recommendation is the service's, with its reasons
    assert ind.recommendation == rec.for_indication(None)
    assert ind.recommendation.message and ind.recommendation.rule
    # listings: the one DLT, with its adverse event; no pending outcome
    (dlt,) = ind.dlts
    assert (dlt.term, dlt.grade, dlt.status, dlt.day) == ("Febrile neutropenia", 3, "DLT", 0)
    assert dlt.dose_label == "DL1" and dlt.rationale == "grade 3 FN"
    assert ind.pending == ()
    # decisions so far: the one recorded decision
    assert [(d.seq, d.status, d.dose_label) for d in ind.decisions] == [(1, "enrol", "DL1")]
    # pathways from today's data: 2 cohorts of 3 (4 outcome sets each), root = recommendation
    assert ind.pathways is not None and pack.cohorts == 2
    assert ind.pathways.root.decision.next_dose == rec.for_indication(None).next_dose
    assert ind.pathways.start.n_patients == 3
    checked = _walk_equals_core(pack, ind, plan)
    assert checked == len(ind.pathways.nodes()) - 1 and checked > 4  # past the first cohort
    assert pack.signatories == tuple(
        meeting_pack.Signatory(n, r) for n, r in meeting_pack.DEFAULT_SIGNATORIES
    )


def test_pending_outcomes_and_their_windows(world: World) -> None:
    t = world.trial(TITE_BOIN)
    ids = world.cohort(t, 1)
    world.clock.advance(days=5)
    pid = world.patient(t)  # screened, not enrolled: not in the listings
    today = world.clock.today()
    world.run(
        lambda s: outcomes.record_adverse_event(
            s,
            world.inv_a,
            ids[1],
            term="Rash maculo-papular",
            grade=3,
            onset_date=today,
            dlt_candidate=True,
        )
    )
    pack = world.run(lambda s: meeting_pack.meeting_pack(s, world.admin, t, cohorts=1))
    (ind,) = pack.indications
    assert len(ind.pending) == 3 and pid not in ids
    infused = (today - timedelta(days=5)).isoformat()
    ends = (today + timedelta(days=23)).isoformat()
    assert {r.dlt_window_ends for r in ind.pending} == {ends}
    assert all(r.infusion_date == infused for r in ind.pending)
    assert {r.dlt for r in ind.pending} == {"pending: day 5 of the 28-day DLT window"}
    assert any("awaiting" in r.status for r in ind.dlts)
    first = ind.doses[0]
    assert (first.n, first.dlt, first.dlt_pending) == (3, 0, 3)
    assert pack.cohorts == 1


@pytest.mark.parametrize("who", ["investigator", "data_manager", "monitor"])
def test_roles_without_sign_off_are_refused_and_nothing_is_recorded(world: World, who: str) -> None:
    t, _ = _boin_trial(world)
    before = world.audit_count()
    with pytest.raises(Forbidden):
        world.run(lambda s: meeting_pack.meeting_pack(s, world.actors[who], t))
    assert world.audit_count() == before


def test_committee_may_and_bad_arguments_name_the_field(world: World) -> None:
    t, _ = _boin_trial(world)
    pack = world.run(lambda s: meeting_pack.meeting_pack(s, world.com1, t))
    assert pack.produced_role == "committee"
    before = world.audit_count()
    for kwargs, field in [
        ({"cohorts": 3}, "cohorts"),
        ({"cohorts": "2"}, "cohorts"),
        ({"formats": ["docx"]}, "format"),
        ({"formats": []}, "format"),
        ({"signatories": [("Dr A", "")]}, "signatories[0].role"),
        ({"signatories": "Dr A"}, "signatories"),
    ]:
        with pytest.raises(ValidationError) as err:
            world.run(lambda s, kw=kwargs: meeting_pack.meeting_pack(s, world.stat, t, **kw))
        assert err.value.field == field, (kwargs, err.value)
    assert world.audit_count() == before
    named = world.run(
        lambda s: meeting_pack.meeting_pack(
            s, world.stat, t, signatories=[("Dr Ada Byron", "Chair"), ("", "Member")]
        )
    )
    assert [(x.name, x.role) for x in named.signatories] == [
        ("Dr Ada Byron", "Chair"),
        ("", "Member"),
    ]


def test_driving_indication_protocol_has_a_section_per_indication(world: World) -> None:
    t = world.trial(load_mapping(shipped_path("str-p004-nct07143617")))
    d = world.decide(t)
    world.enrol(world.patient(t, indication="SLE-ITP"), d.next_dose)
    world.patient(t, indication="IIM")
    pack = world.run(lambda s: meeting_pack.meeting_pack(s, world.stat, t))
    rec = world.run(lambda s: decisions.recommend(s, world.stat, t))
    assert [(i.name, i.role) for i in pack.indications] == [
        (v.indication, v.role) for v in rec.indications
    ]
    driving, *others = pack.indications
    assert driving.role == "driving" and driving.pathways is not None
    assert driving.recommendation == rec.for_indication(driving.name)
    assert pack.cohorts == 1  # TITE-BOIN12 uses efficacy: one cohort ahead by default
    assert [r.study_id for r in driving.pending] == ["SA-001"]
    assert sum(x.n for x in driving.doses) == 1
    for other in others:
        assert other.role == "other" and other.pathways is None
        assert "does not drive dose finding" in other.pathways_note
        assert sum(x.n for x in other.doses) == 0 and other.pending == ()


def test_pooled_indications_are_one_section(world: World) -> None:
    t = world.trial(load_mapping(shipped_path("f01-car-nk-snc103")))
    d = world.decide(t, indication="AAV")
    world.enrol(world.patient(t, indication="SLE"), d.next_dose)
    world.enrol(world.patient(t, indication="AAV"), d.next_dose)
    pack = world.run(lambda s: meeting_pack.meeting_pack(s, world.stat, t))
    (ind,) = pack.indications
    rec = world.run(lambda s: decisions.recommend(s, world.stat, t))
    assert ind.role == "pooled" and ind.members == tuple(v.indication for v in rec.indications)
    assert ind.title.startswith("All indications, pooled (")
    assert sum(x.n for x in ind.doses) == 2 and len(ind.pending) == 2
    assert [x.seq for x in ind.decisions] == [d.seq]
