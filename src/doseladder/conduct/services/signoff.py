"""Committee sign-off of a recorded decision: four eyes and electronic signatures.

A decision that needs sign-off (an escalation while the trial requires it, and every override)
is signed by electronic signature (:mod:`.esignatures`: re-entered password, printed name,
meaning, bound to the SHA-256 of the decision's content).  The person who recorded the
decision -- who proposed the escalation or made the override -- can never sign it.  An
override into a dose that was never tried or is not confirmed safe needs two approving
signatures of committee members (``DoseDecision.signatures_required``); others need one
signature of a user with the sign-off permission.  One rejecting signature rejects the
decision.  When the decision is approved or rejected, the committee's sign-off
(:class:`~doseladder.conduct.models.CommitteeSignoff`) is recorded and the enrolment gate
reads it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict
from doseladder.conduct.models import CommitteeSignoff, DoseDecision
from doseladder.conduct.security import Actor, Permission, Role
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import esignatures as es
from doseladder.conduct.services.decision_queries import latest_decision, signoff_of

__all__ = ["DECISION_SUBJECT", "SignoffResult", "decision_content", "sign_off", "signatures_needed"]

#: ``subject_type`` of a decision's electronic signatures
DECISION_SUBJECT = "dose_decision"


def signatures_needed(decision: DoseDecision) -> int:
    """Approving signatures the decision needs (decisions recorded before governance: 1)."""
    return int(decision.signatures_required or 1)


def decision_content(decision: DoseDecision) -> dict[str, Any]:
    """What a signature of a decision is bound to (hashed as canonical JSON)."""
    return {
        "subject": DECISION_SUBJECT,
        "trial_id": decision.trial_id,
        "decision_id": decision.id,
        "seq": decision.seq,
        "indication": decision.indication,
        "source": decision.source,
        "status": decision.status,
        "next_dose": decision.next_dose,
        "dose_label": decision.dose_label,
        "slots": decision.slots,
        "rule": decision.rule,
        "message": decision.message,
        "override_reason": decision.override_reason,
        "justification": decision.justification,
        "inputs_sha256": decision.inputs_sha256,
        "result_sha256": hashlib.sha256(decision.result.encode()).hexdigest(),
        "recorded_by_id": decision.recorded_by_id,
        "recorded_at": audit.jsonable(decision.recorded_at),
    }


@dataclass(frozen=True, slots=True)
class SignoffResult:
    """The state of a decision's sign-off after one signature.

    ``approved`` is ``None`` while more approving signatures are needed (``complete`` false).
    """

    id: int
    trial_id: int
    decision_id: int
    approved: bool | None
    comment: str
    signed_at: datetime
    signed_by_id: int | None
    complete: bool
    signatures_required: int
    signatures: list[dict[str, Any]] = field(default_factory=list)


def sign_off(
    session: Session,
    actor: Actor,
    decision_id: int,
    *,
    approve: bool,
    comment: str,
    password: object = None,
    printed_name: object = None,
) -> SignoffResult:
    """Sign a decision (approve or reject) by electronic signature.

    Only the latest decision of its indication can be signed, until its sign-off is complete.
    Refused, with nothing stored: the recorder of the decision signing it (four eyes); a
    second signature by the same person; a high-risk override signed by someone who is not a
    committee member; a wrong password, a missing printed name.  A rejected decision cannot be
    used for enrolment (record a new decision or an override).
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
    needed = signatures_needed(decision)
    content = decision_content(decision)
    sig = es.sign(
        session,
        actor,
        trial_id=decision.trial_id,
        subject_type=DECISION_SUBJECT,
        subject_id=decision.id,
        content=content,
        password=password,
        printed_name=printed_name,
        meaning="approved" if ok else "rejected",
        comment=note,
        forbidden_signers=(decision.recorded_by_id,),
        roles=(Role.COMMITTEE,) if needed >= 2 else None,
        why=f"decision #{decision.id}"
        + (" (an override)" if decision.source == "override" else ""),
    )
    sigs = es.signatures_of(session, DECISION_SUBJECT, decision.id)
    approvals = sum(1 for s in sigs if s.meaning == "approved")
    complete = (not ok) or approvals >= needed
    views = [es.signature_view(s, content) for s in sigs]
    if not complete:
        return SignoffResult(
            id=sig.id,
            trial_id=decision.trial_id,
            decision_id=decision.id,
            approved=None,
            comment=note,
            signed_at=sig.signed_at,
            signed_by_id=actor.user_id,
            complete=False,
            signatures_required=needed,
            signatures=views,
        )
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
        session.flush()
    return SignoffResult(
        id=so.id,
        trial_id=so.trial_id,
        decision_id=so.decision_id,
        approved=so.approved,
        comment=so.comment,
        signed_at=so.signed_at,
        signed_by_id=so.signed_by_id,
        complete=True,
        signatures_required=needed,
        signatures=views,
    )
