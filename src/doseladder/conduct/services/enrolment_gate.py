"""The enrolment gate: whether a recorded decision lets a patient be enrolled now."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import DLTAdjudication, DoseDecision, Enrolment, Trial
from doseladder.conduct.services import _common as c
from doseladder.conduct.services.decision_queries import (
    enrolments_on,
    latest_decision,
    signoff_of,
    used_slots,
)
from doseladder.conduct.services.recommendation import compute
from doseladder.conduct.services.trials import TrialStatus, current_protocol
from doseladder.core.rules.plan import EnrolStatus

__all__ = ["check_enrolment_gate"]


def check_enrolment_gate(
    session: Session, trial: Trial, decision: DoseDecision, indication: str | None, dose_level: int
) -> None:
    """Refuse an enrolment that the decision does not allow now (see
    :func:`doseladder.conduct.services.patients.enrol`).  The trial row must be locked."""
    if trial.status == TrialStatus.SUSPENDED:
        raise Conflict(f"accrual is suspended: {trial.status_reason or 'no reason given'}")
    if trial.status != TrialStatus.OPEN:
        raise Conflict(f"the trial is {trial.status}; enrolment needs an open trial")
    latest = latest_decision(session, trial.id, indication)
    if latest is None or latest.id != decision.id:
        newer = f" (the latest is #{latest.id})" if latest is not None else ""
        raise Conflict(f"decision #{decision.id} is stale{newer}: enrol from the latest decision")
    if decision.status != EnrolStatus.ENROL.value or decision.next_dose is None:
        raise Conflict(
            f"decision #{decision.id} does not allow enrolment ({decision.status}: "
            f"{decision.message})"
        )
    if current_protocol(session, trial.id).id != decision.protocol_version_id:
        raise Conflict(
            f"decision #{decision.id} was taken under an earlier protocol version: record a "
            "new decision"
        )
    if decision.requires_signoff:
        so = signoff_of(session, decision.id)
        if so is None:
            raise Conflict(
                f"decision #{decision.id} escalates to dose {decision.next_dose} and needs "
                "committee sign-off first"
            )
        if not so.approved:
            raise Conflict(f"the committee rejected decision #{decision.id}")
    if dose_level != decision.next_dose:
        raise ValidationError(
            "dose_level",
            f"dose level {dose_level} is not allowed: decision #{decision.id} assigns dose "
            f"level {decision.next_dose} ({decision.rule}); a different dose needs an override "
            "by an authorised user",
        )
    if used_slots(session, decision.id) >= decision.slots:
        raise Conflict(
            f"the cohort of decision #{decision.id} is full ({decision.slots} slot(s) taken): "
            "record a new decision"
        )
    # freshness: the data now must still lead to this dose
    rec = compute(session, trial)
    view = rec.for_indication(indication)
    if decision.source == "design":
        if view.status != EnrolStatus.ENROL.value or view.next_dose != decision.next_dose:
            raise Conflict(
                f"decision #{decision.id} is stale: with the data now the recommendation is "
                f"{view.status}"
                + (f" at dose level {view.next_dose}" if view.next_dose is not None else "")
                + f" ({view.rule}: {view.message}); record a new decision"
            )
    else:
        if view.status == EnrolStatus.CLOSED.value and view.next_dose is None:
            raise Conflict(
                f"override decision #{decision.id} is stale: the trial's rules now close "
                f"enrolment ({view.rule}: {view.message})"
            )
        if decision.next_dose in rec.eliminated:
            raise Conflict(
                f"override decision #{decision.id} is stale: dose level {decision.next_dose} "
                "has since been eliminated"
            )
        cohort = enrolments_on(session, decision.id)
        dlts = [e for e in cohort if _has_dlt(session, e)]
        if dlts:
            raise Conflict(
                f"override decision #{decision.id} is stale: a DLT occurred in its cohort; "
                "record a new decision"
            )


def _has_dlt(session: Session, enrolment: Enrolment) -> bool:
    rows = list(
        session.scalars(
            select(DLTAdjudication).where(DLTAdjudication.patient_id == enrolment.patient_id)
        )
    )
    return any(a.is_dlt for a in c.current(rows))
