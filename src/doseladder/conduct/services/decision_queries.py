"""Reading recorded decisions: the latest one per indication, slots taken, sign-offs, views."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import NotFound
from doseladder.conduct.models import (
    CommitteeSignoff,
    DoseDecision,
    Enrolment,
    Trial,
    TrialSite,
)
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import esignatures as es
from doseladder.conduct.services.recommendation_cache import HEAD_SEQ, head_params

__all__ = [
    "ALL_KEY",
    "decision_view",
    "enrolments_on",
    "ensure_visible",
    "get_decision",
    "latest_decision",
    "list_decisions",
    "redact_inputs",
    "signoff_of",
    "used_slots",
    "visible_with_head",
]


def ensure_visible(session: Session, actor: Actor, trial_id: int) -> Trial:
    """The trial if ``actor`` may see it (:class:`NotFound` otherwise)."""
    trial = c.get(session, Trial, trial_id)
    _check_member(session, actor, trial)
    return trial


#: a trial and the head of its audit chain (built once: only the parameters change)
_TRIAL_AND_HEAD = select(Trial, HEAD_SEQ.scalar_subquery()).where(Trial.id == bindparam("trial_id"))


def visible_with_head(session: Session, actor: Actor, trial_id: int) -> tuple[Trial, int]:
    """:func:`ensure_visible` and the trial's audit head (as ``recommendation_cache.trial_head``)
    read in the same statement: one round trip for the two reads of a cached recommendation."""
    if isinstance(trial_id, bool) or not isinstance(trial_id, int):
        c.get(session, Trial, trial_id)  # raises its ValidationError
    row = session.execute(_TRIAL_AND_HEAD, {"trial_id": trial_id, **head_params(trial_id)}).first()
    if row is None:
        raise NotFound(f"trial #{trial_id} not found")
    trial: Trial = row[0]
    _check_member(session, actor, trial)
    return trial, int(row[1] or 0)


def _check_member(session: Session, actor: Actor, trial: Trial) -> None:
    """:class:`NotFound` unless ``actor`` is bound to no site or to one of the trial's."""
    trial_id = trial.id
    if actor.site_id is not None:
        member = session.scalars(
            select(TrialSite.id).where(
                TrialSite.trial_id == trial.id, TrialSite.site_id == actor.site_id
            )
        ).first()
        if member is None:
            raise NotFound(f"trial #{trial_id} not found")


#: tally key prefix of patients without a named indication
ALL_KEY = "all"


def redact_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs for site-bound users: per-dose tallies instead of patient-level rows."""
    out = {k: v for k, v in inputs.items() if k != "state"}
    st = inputs["state"]
    tallies: dict[str, dict[str, int]] = {}
    for p in st["patients"]:
        key = f"{p['indication'] or ALL_KEY}:{p['dose']}"
        t = tallies.setdefault(key, {"n": 0, "dlt": 0, "dlt_pending": 0, "response": 0})
        t["n"] += 1
        t["dlt"] += p["tox"] is True
        t["dlt_pending"] += p["tox"] is None
        t["response"] += p["eff"] is True
    out["state"] = {
        "num_doses": st["num_doses"],
        "eliminated": st["eliminated"],
        "tallies": tallies,
    }
    return out


def latest_decision(session: Session, trial_id: int, indication: str | None) -> DoseDecision | None:
    """The most recent decision of a trial for one indication."""
    cond = (
        DoseDecision.indication.is_(None)
        if indication is None
        else DoseDecision.indication == indication
    )
    return session.scalars(
        select(DoseDecision)
        .where(DoseDecision.trial_id == trial_id, cond)
        .order_by(DoseDecision.seq.desc())
        .limit(1)
    ).first()


def enrolments_on(session: Session, decision_id: int) -> list[Enrolment]:
    """Current, non-void enrolments that took a slot of a decision (escalation enrolments:
    backfill patients recorded under the decision take backfill slots, not its slots)."""
    rows = list(session.scalars(select(Enrolment).where(Enrolment.decision_id == decision_id)))
    lineages = {r.lineage_id for r in rows}
    if not rows:
        return []
    all_versions = list(
        session.scalars(
            select(Enrolment).where(
                (Enrolment.id.in_(lineages)) | (Enrolment.root_id.in_(lineages))
            )
        )
    )
    return [
        e
        for e in c.current(all_versions)
        if e.decision_id == decision_id and e.cohort != "backfill"
    ]


def used_slots(session: Session, decision_id: int) -> int:
    """Slots of a decision taken by enrolments (void enrolments free their slot)."""
    return len(enrolments_on(session, decision_id))


def signoff_of(session: Session, decision_id: int) -> CommitteeSignoff | None:
    """The committee sign-off of a decision, if any."""
    return session.scalars(
        select(CommitteeSignoff).where(CommitteeSignoff.decision_id == decision_id)
    ).first()


def get_decision(session: Session, actor: Actor, decision_id: int) -> DoseDecision:
    """One decision (visible trials only)."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    decision = c.get(session, DoseDecision, decision_id, "decision")
    ensure_visible(session, actor, decision.trial_id)
    return decision


def list_decisions(
    session: Session, actor: Actor, trial_id: int, *, indication: str | None = None
) -> list[DoseDecision]:
    """A trial's decisions, oldest first (optionally for one indication)."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    ensure_visible(session, actor, trial_id)
    stmt = select(DoseDecision).where(DoseDecision.trial_id == trial_id)
    if indication is not None:
        stmt = stmt.where(DoseDecision.indication == indication)
    return list(session.scalars(stmt.order_by(DoseDecision.seq)))


def decision_view(session: Session, actor: Actor, decision: DoseDecision) -> dict[str, Any]:
    """A decision as a dict for display: reasoning, slots used, sign-off, staleness."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    ensure_visible(session, actor, decision.trial_id)
    latest = latest_decision(session, decision.trial_id, decision.indication)
    so = signoff_of(session, decision.id)
    inputs = json.loads(decision.inputs)
    if actor.site_id is not None:
        inputs = redact_inputs(inputs)
    used = used_slots(session, decision.id)
    return {
        "id": decision.id,
        "trial_id": decision.trial_id,
        "seq": decision.seq,
        "indication": decision.indication,
        "source": decision.source,
        "status": decision.status,
        "current_dose": decision.current_dose,
        "next_dose": decision.next_dose,
        "dose_label": decision.dose_label,
        "recommended_status": decision.recommended_status,
        "recommended_dose": decision.recommended_dose,
        "rule": decision.rule,
        "message": decision.message,
        "override_reason": decision.override_reason,
        "eliminated": list(decision.eliminated),
        "slots": decision.slots,
        "slots_used": used,
        "slots_open": max(0, decision.slots - used),
        "requires_signoff": decision.requires_signoff,
        "signatures_required": decision.signatures_required
        or (1 if decision.requires_signoff else 0),
        "justification": decision.justification,
        "signatures": [
            es.signature_view(sig)
            for sig in es.signatures_of(session, "dose_decision", decision.id)
        ],
        "signoff": None
        if so is None
        else {
            "approved": so.approved,
            "comment": so.comment,
            "signed_at": audit.jsonable(so.signed_at),
            "signed_by_id": so.signed_by_id,
        },
        "latest": latest is not None and latest.id == decision.id,
        "decision_time": audit.jsonable(decision.decision_time),
        "decision_day": decision.decision_day,
        "protocol_version_id": decision.protocol_version_id,
        "engine_version": decision.engine_version,
        "inputs_sha256": decision.inputs_sha256,
        "recorded_at": audit.jsonable(decision.recorded_at),
        "recorded_by_id": decision.recorded_by_id,
        "result": json.loads(decision.result),
        "inputs": inputs,
    }
