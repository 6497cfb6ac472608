"""Every service operation refuses the roles that must be refused, and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from doseladder.conduct.errors import Forbidden
from doseladder.conduct.security import Actor
from doseladder.conduct.services import (
    decisions,
    exports,
    outcomes,
    patients,
    sites_users,
    trials,
)

from .conftest import BOIN, PASSWORD, World

ALL = frozenset({"admin", "statistician", "investigator", "data_manager", "monitor"})
MANAGE = frozenset({"admin", "statistician"})
DATA = frozenset({"investigator", "data_manager"})


@dataclass
class Ctx:
    trial: int
    draft: int
    patient: int
    screening: int
    enrolment: int
    ae: int
    efficacy: int
    adjudication: int
    decision: int
    user: int


Op = Callable[[Any, Actor, Ctx, World], Any]

OPS: dict[str, tuple[frozenset[str], Op]] = {
    # trials
    "create_trial": (
        MANAGE,
        lambda s, a, c, w: trials.create_trial(s, a, code="NEW", title="t", protocol=BOIN),
    ),
    "amend_protocol": (
        MANAGE,
        lambda s, a, c, w: trials.amend_protocol(s, a, c.trial, BOIN, reason="reason"),
    ),
    "open_trial": (MANAGE, lambda s, a, c, w: trials.open_trial(s, a, c.draft)),
    "suspend_accrual": (
        MANAGE,
        lambda s, a, c, w: trials.suspend_accrual(s, a, c.trial, reason="pause"),
    ),
    "close_trial": (MANAGE, lambda s, a, c, w: trials.close_trial(s, a, c.trial, reason="end")),
    "activate_site": (MANAGE, lambda s, a, c, w: trials.activate_site(s, a, c.draft, w.site_a)),
    # sites and users
    "create_site": (
        frozenset({"admin"}),
        lambda s, a, c, w: sites_users.create_site(s, a, code="SN", name="n"),
    ),
    "deactivate_site": (
        frozenset({"admin"}),
        lambda s, a, c, w: sites_users.deactivate_site(s, a, w.site_b, reason="closed"),
    ),
    "create_user": (
        frozenset({"admin"}),
        lambda s, a, c, w: sites_users.create_user(
            s, a, username="newbie", password=PASSWORD, role="monitor"
        ),
    ),
    "deactivate_user": (
        frozenset({"admin"}),
        lambda s, a, c, w: sites_users.deactivate_user(s, a, c.user, reason="left"),
    ),
    "list_users": (frozenset({"admin"}), lambda s, a, c, w: sites_users.list_users(s, a)),
    # patients
    "register_patient": (
        DATA,
        lambda s, a, c, w: patients.register_patient(s, a, c.trial, site_id=w.site_a),
    ),
    "record_screening": (
        DATA,
        lambda s, a, c, w: patients.record_screening(
            s, a, c.patient, screened_on=w.clock.today(), eligible=True
        ),
    ),
    "correct_screening": (
        DATA,
        lambda s, a, c, w: patients.correct_screening(
            s, a, c.screening, changes={"notes": "n"}, reason="typo"
        ),
    ),
    "enrol": (
        frozenset({"investigator"}),
        lambda s, a, c, w: patients.enrol(s, a, c.patient, dose_level=1),
    ),
    "record_infusion": (
        DATA,
        lambda s, a, c, w: patients.record_infusion(
            s, a, c.enrolment, infusion_date=w.clock.today()
        ),
    ),
    "correct_enrolment": (
        DATA,
        lambda s, a, c, w: patients.correct_enrolment(
            s, a, c.enrolment, changes={"dose_level": 1}, reason="typo"
        ),
    ),
    "void_enrolment": (
        DATA,
        lambda s, a, c, w: patients.void_enrolment(s, a, c.enrolment, reason="error"),
    ),
    # outcomes
    "record_adverse_event": (
        DATA,
        lambda s, a, c, w: outcomes.record_adverse_event(
            s, a, c.patient, term="Fatigue", grade=1, onset_date=w.clock.today()
        ),
    ),
    "correct_adverse_event": (
        DATA,
        lambda s, a, c, w: outcomes.correct_adverse_event(
            s, a, c.ae, changes={"grade": 2}, reason="typo"
        ),
    ),
    "void_adverse_event": (
        DATA,
        lambda s, a, c, w: outcomes.void_adverse_event(s, a, c.ae, reason="error"),
    ),
    "record_efficacy": (
        DATA,
        lambda s, a, c, w: outcomes.record_efficacy(
            s, a, c.patient, assessed_on=w.clock.today(), instrument="SRI-4", responder=True
        ),
    ),
    "correct_efficacy": (
        DATA,
        lambda s, a, c, w: outcomes.correct_efficacy(
            s, a, c.efficacy, changes={"responder": False}, reason="typo"
        ),
    ),
    "void_efficacy": (
        DATA,
        lambda s, a, c, w: outcomes.void_efficacy(s, a, c.efficacy, reason="error"),
    ),
    "adjudicate_dlt": (
        frozenset({"statistician"}),
        lambda s, a, c, w: outcomes.adjudicate_dlt(
            s, a, c.patient, is_dlt=False, rationale="window done"
        ),
    ),
    "correct_adjudication": (
        frozenset({"statistician"}),
        lambda s, a, c, w: outcomes.correct_adjudication(
            s, a, c.adjudication, changes={"rationale": "better"}, reason="typo"
        ),
    ),
    "void_adjudication": (
        frozenset({"statistician"}),
        lambda s, a, c, w: outcomes.void_adjudication(s, a, c.adjudication, reason="error"),
    ),
    # decisions
    "record_decision": (
        frozenset({"statistician", "investigator"}),
        lambda s, a, c, w: decisions.record_decision(s, a, c.trial),
    ),
    "override_decision": (
        frozenset({"statistician"}),
        lambda s, a, c, w: decisions.override_decision(
            s, a, c.trial, dose_level=1, reason="clinical"
        ),
    ),
    "sign_off": (
        MANAGE,
        lambda s, a, c, w: decisions.sign_off(s, a, c.decision, approve=True, comment="approved"),
    ),
    "recommend": (ALL, lambda s, a, c, w: decisions.recommend(s, a, c.trial)),
    "list_decisions": (ALL, lambda s, a, c, w: decisions.list_decisions(s, a, c.trial)),
    "replay_decision": (ALL, lambda s, a, c, w: decisions.replay_decision(s, a, c.decision)),
    # reading patients
    "list_patients": (ALL, lambda s, a, c, w: patients.list_patients(s, a, c.trial)),
    "patient_record": (ALL, lambda s, a, c, w: patients.patient_record(s, a, c.patient)),
    "list_adverse_events": (ALL, lambda s, a, c, w: outcomes.list_adverse_events(s, a, c.patient)),
    # exports
    "tables_csv": (
        frozenset({"admin", "statistician", "data_manager", "monitor"}),
        lambda s, a, c, w: exports.tables_csv(s, a, c.trial),
    ),
    "verify_audit": (
        frozenset({"admin", "statistician", "monitor"}),
        lambda s, a, c, w: exports.verify_audit(s, a),
    ),
    "audit_copy": (
        frozenset({"admin", "statistician", "monitor"}),
        lambda s, a, c, w: exports.audit_copy(s, a),
    ),
    "dataset_json": (
        frozenset({"admin", "statistician", "data_manager", "monitor"}),
        lambda s, a, c, w: exports.dataset_json(s, a, c.trial, "DM"),
    ),
}


def setup(world: World) -> Ctx:
    tid = world.trial()
    draft = world.trial(open_=False)
    d = world.decide(tid)
    enrolled = world.patient(tid)
    e = world.enrol(enrolled, 1, infused=False)
    pid = world.patient(tid)
    with world.db.session() as s:
        screening = patients.patient_record(s, world.stat, pid)["screening"][0]["id"]
    ae = world.run(
        lambda s: outcomes.record_adverse_event(
            s, world.inv_a, enrolled, term="Rash", grade=1, onset_date=world.clock.today()
        )
    )
    eff = world.run(
        lambda s: outcomes.record_efficacy(
            s,
            world.inv_a,
            enrolled,
            assessed_on=world.clock.today(),
            instrument="SRI-4",
            responder=False,
        )
    )
    world.run(
        lambda s: patients.record_infusion(s, world.inv_a, e.id, infusion_date=world.clock.today())
    )
    adj = world.run(
        lambda s: outcomes.adjudicate_dlt(s, world.stat, enrolled, is_dlt=False, rationale="no DLT")
    )
    user = world.run(
        lambda s: sites_users.create_user(
            s, world.admin, username="victim", password=PASSWORD, role="monitor"
        )
    )
    return Ctx(tid, draft, pid, screening, e.id, ae.id, eff.id, adj.id, d.id, user.id)


@pytest.mark.parametrize("op", sorted(OPS))
def test_refused_roles(world: World, op: str) -> None:
    allowed, fn = OPS[op]
    ctx = setup(world)
    before = world.snapshot_counts()
    audit_before = world.audit_count()
    refused = sorted(ALL - allowed)
    for role in refused:
        actor = world.actors[role]
        with pytest.raises(Forbidden):
            world.run(lambda s, a=actor: fn(s, a, ctx, world))
    assert world.snapshot_counts() == before
    assert world.audit_count() == audit_before
    # and at least one allowed role gets past the permission check
    actor = world.actors[sorted(allowed)[0]]
    try:
        world.run(lambda s: fn(s, actor, ctx, world))
    except Forbidden as exc:  # pragma: no cover - would be a bug in the matrix
        pytest.fail(f"{sorted(allowed)[0]} refused for {op}: {exc}")
    except Exception:
        pass


def test_site_bound_exports_are_refused(world: World) -> None:
    tid = world.trial()
    with pytest.raises(Forbidden, match="site-bound"):
        world.run(lambda s: exports.tables_csv(s, world.dm_a, tid))


def test_other_sites_patients_are_refused_for_every_patient_operation(world: World) -> None:
    ctx = setup(world)  # every patient-level record belongs to site A
    before = world.snapshot_counts()
    patient_ops = [
        "record_screening",
        "correct_screening",
        "enrol",
        "record_infusion",
        "correct_enrolment",
        "void_enrolment",
        "record_adverse_event",
        "correct_adverse_event",
        "void_adverse_event",
        "record_efficacy",
        "correct_efficacy",
        "void_efficacy",
        "patient_record",
        "list_adverse_events",
    ]
    for op in patient_ops:
        _, fn = OPS[op]
        with pytest.raises(Forbidden, match="another site"):
            world.run(lambda s, fn=fn: fn(s, world.inv_b, ctx, world))
    assert world.snapshot_counts() == before
