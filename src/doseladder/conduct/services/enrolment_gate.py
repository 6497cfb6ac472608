"""The enrolment gate: whether a recorded decision lets a patient be enrolled now
(:func:`check_enrolment_gate`: an escalation slot), or whether a backfill slot is open now
(:func:`check_backfill_gate`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import DLTAdjudication, DoseDecision, Enrolment, Trial
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services.decision_queries import (
    enrolments_on,
    ensure_visible,
    latest_decision,
    signoff_of,
    used_slots,
)
from doseladder.conduct.services.recommendation import compute
from doseladder.conduct.services.trials import TrialStatus, current_protocol, engine_for
from doseladder.core.designs.backfill_cap import cap_reason, cap_summary
from doseladder.core.rules.cohort_slots import backfill_design
from doseladder.core.rules.plan import EnrolStatus

__all__ = [
    "COHORTS",
    "BackfillGrant",
    "check_backfill_gate",
    "check_enrolment_gate",
    "open_slots",
]

#: the cohorts an enrolment belongs to
COHORTS = ("escalation", "backfill")


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


@dataclass(frozen=True, slots=True)
class BackfillGrant:
    """A backfill slot granted now: the dose, and what the audit trail records about it.

    ``open``: the doses open for backfill at that moment with their slots left (before this
    patient); ``drawn``: for ``backfill_assign: random``, the dose drawn (CSPRNG) among the doses
    with a slot left (``candidates``).
    """

    dose: int
    dose_label: str | None
    n_cap: int
    cap_rule: str
    assign: str | None
    open: tuple[dict[str, Any], ...]
    drawn: bool = False
    candidates: tuple[int, ...] = field(default_factory=tuple)

    def audit_data(self) -> dict[str, Any]:
        return {
            "cohort": "backfill",
            "dose_level": self.dose,
            "dose_label": self.dose_label,
            "n_cap": self.n_cap,
            "cap_rule": self.cap_rule,
            "assign": self.assign,
            "backfill_open": [dict(x) for x in self.open],
            "random_draw": (
                {"candidates": list(self.candidates), "drawn": self.dose, "source": "secrets"}
                if self.drawn
                else None
            ),
        }

    def reason_text(self) -> str:
        shown = ", ".join(f"{x['dose_label']} {x['slots_left']} left" for x in self.open)
        how = (
            f"drawn at random among levels {', '.join(map(str, self.candidates))}"
            if self.drawn
            else f"assignment rule {self.assign or 'design'}"
        )
        return (
            f"backfill at {self.dose_label} ({how}); open for backfill: {shown} "
            f"({cap_summary(self.n_cap, self.cap_rule)})"
        )


def check_backfill_gate(
    session: Session,
    trial: Trial,
    decision: DoseDecision,
    indication: str | None,
    dose_level: int | None,
) -> BackfillGrant:
    """A backfill slot for a patient now, or a :class:`Conflict` naming why not: the design has
    no backfill, no dose is open for backfill, the dose asked for is not open, or its cap is
    reached.  ``decision`` is the latest decision of the indication (the one in force; the
    backfill patient is recorded under it but takes none of its slots).  ``dose_level``:
    ``None`` = the dose the assignment rule picks (drawn with a CSPRNG for ``random``).  The
    trial row must be locked (the same lock as escalation slots)."""
    if trial.status == TrialStatus.SUSPENDED:
        raise Conflict(f"accrual is suspended: {trial.status_reason or 'no reason given'}")
    if trial.status != TrialStatus.OPEN:
        raise Conflict(f"the trial is {trial.status}; enrolment needs an open trial")
    engine = engine_for(current_protocol(session, trial.id))
    design = backfill_design(engine.plan)
    if design is None:
        raise Conflict(
            f"the design ({engine.plan.design_title}) has no backfill: enrol into an "
            "escalation slot",
            field="cohort",
        )
    latest = latest_decision(session, trial.id, indication)
    if latest is None or latest.id != decision.id:
        newer = f" (the latest is #{latest.id})" if latest is not None else ""
        raise Conflict(f"decision #{decision.id} is stale{newer}: enrol from the latest decision")
    rec = compute(session, trial)
    view = rec.for_indication(indication)
    bf = view.backfill or {}
    slots = view.backfill_slots
    opened = tuple(dict(x) for x in bf.get("open", ()))
    if view.status == EnrolStatus.CLOSED.value:
        raise Conflict(f"enrolment is closed ({view.rule}: {view.message})")
    cap, cap_rule = design.n_cap, design.cap_rule
    full = {int(x["dose"]): int(x["patients"]) for x in bf.get("full", ())}
    if dose_level is not None and dose_level in full:  # closed by the cap (C3)
        raise Conflict(
            cap_reason(str(engine.label(dose_level)), full[dose_level], cap, cap_rule),
            field="dose_level",
        )
    capped = (
        "; closed by the backfill cap ("
        + cap_summary(cap, cap_rule)
        + "): "
        + ", ".join(f"{engine.label(d)} ({n} patients)" for d, n in full.items())
        if full
        else ""
    )
    if not slots:
        raise Conflict(
            f"no dose is open for backfill now ({view.rule}: {view.message}){capped}",
            field="dose_level",
        )
    free = tuple(d for d, n in slots.items() if n > 0)
    labels = ", ".join(f"{engine.label(d)} (level {d})" for d in slots)
    if dose_level is not None and dose_level not in slots:
        raise Conflict(
            f"dose level {dose_level} is not open for backfill now; open: {labels}",
            field="dose_level",
        )
    # an open dose passed the cap (C3), so only the trial-wide cap can leave it no slot
    total = engine.plan.max_total
    why = (
        f"the trial-wide cap of {total} patients is reached"
        if total is not None
        else cap_summary(cap, cap_rule)
    )
    if dose_level is not None and slots[dose_level] <= 0:
        raise Conflict(
            f"no backfill slot is left at {engine.label(dose_level)}: {why}", field="dose_level"
        )
    if not free:
        raise Conflict(
            f"no backfill slot is left at the open doses ({labels}): {why}", field="dose_level"
        )
    assign = bf.get("assign")
    picked = bf.get("dose")
    if picked is None:  # random: the service draws, the draw is audited
        if dose_level is not None:
            raise ValidationError(
                "dose_level",
                "backfill doses are drawn at random by the service (backfill_assign: random): "
                "omit dose_level",
            )
        dose = free[secrets.randbelow(len(free))]
        return BackfillGrant(dose, engine.label(dose), cap, cap_rule, assign, opened, True, free)
    if dose_level is not None and dose_level != picked:
        raise ValidationError(
            "dose_level",
            f"dose level {dose_level} is not allowed: the backfill rule ({assign}) assigns "
            f"{engine.label(picked)} (level {picked}) among the open doses {labels}",
        )
    return BackfillGrant(int(picked), engine.label(picked), cap, cap_rule, assign, opened)


def open_slots(session: Session, actor: Actor, trial_id: int) -> list[dict[str, Any]]:
    """The enrolment slots open now, per indication: the latest decision's escalation slots
    (its dose, slots, used, open) and the backfill slots per dose open for backfill (``None``
    for a design without backfill).  Counts only: no patient-level data (sites see them)."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    trial = ensure_visible(session, actor, trial_id)
    rec = compute(session, trial)
    out = []
    for view in rec.indications:
        key = view.indication if view.role != "pooled" else None
        latest = latest_decision(session, trial.id, key)
        used = used_slots(session, latest.id) if latest is not None else 0
        total = latest.slots if latest is not None else 0
        out.append(
            {
                "indication": view.indication,
                "escalation": {
                    "decision_id": latest.id if latest is not None else None,
                    "status": latest.status if latest is not None else None,
                    "dose": latest.next_dose if latest is not None else None,
                    "dose_label": latest.dose_label if latest is not None else None,
                    "slots": total,
                    "slots_used": used,
                    "slots_open": max(0, total - used),
                },
                "backfill": view.backfill,
            }
        )
    return out
