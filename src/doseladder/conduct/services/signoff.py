"""Committee sign-off of a recorded decision."""

from __future__ import annotations

from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict
from doseladder.conduct.models import CommitteeSignoff, DoseDecision
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services.decision_queries import latest_decision, signoff_of

__all__ = ["sign_off"]


def sign_off(
    session: Session, actor: Actor, decision_id: int, *, approve: bool, comment: str
) -> CommitteeSignoff:
    """Record the safety review committee's approval or rejection of a decision.

    Only the latest decision of its indication can be signed off, once.  A rejected decision
    cannot be used for enrolment (record a new decision or an override).
    """
    c.begin(session, actor, Permission.SIGN_OFF)
    ok = c.boolean("approve", approve)
    note = c.reason_text(comment, "comment")
    decision = c.get(session, DoseDecision, decision_id, "decision")
    c.lock_trial(session, decision.trial_id)
    latest = latest_decision(session, decision.trial_id, decision.indication)
    if latest is not None and latest.id != decision.id:
        raise Conflict(f"decision #{decision.id} is superseded by decision #{latest.id}")
    if signoff_of(session, decision.id) is not None:
        raise Conflict(f"decision #{decision.id} is already signed off")
    so = CommitteeSignoff(
        trial_id=decision.trial_id,
        decision_id=decision.id,
        approved=ok,
        comment=note,
        signed_at=c.now(session),
        signed_by_id=actor.user_id,
    )
    with audit.reason(session, note):
        session.add(so)
    return so
