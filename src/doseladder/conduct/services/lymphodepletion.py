"""Lymphodepletion administrations: what each enrolled patient was actually given.

The protocol's regimen (``protocol.lymphodepletion``: agents, daily dose range, unit, days
relative to the infusion on day 0) is the plan; a
:class:`~doseladder.conduct.models.LymphodepletionDose` is one administration as given.  Records
are versioned like adverse events and efficacy assessments: a correction or a void is a new
version with a reason (shared helpers of :mod:`._common` and :mod:`.outcomes`), and every
version is in the audit trail.  The EX export writes these records, never the plan.

Plausibility (each refusal names the field):

* ``agent`` must be one of the regimen's agents (matched case-insensitively, stored with the
  protocol's spelling); a protocol without a regimen refuses every record.
* ``given_on`` is not before the patient's consent (first screening), not in the future on the
  trial's clock (:func:`~._common.latest_date`), and -- once the infusion date is recorded --
  within the agent's days around the infusion ± :data:`WINDOW_TOLERANCE_DAYS` (postponed
  infusions and shifted chemotherapy days happen; more than a week off is a typing error); if
  every planned day of the agent is before the infusion, the administration is before the
  infusion day too.  Before the infusion date is known, the date is not before the enrolment.
* ``dose`` is the dose given per day in the agent's unit (``unit``, if sent, must be that unit):
  above 0, at most 4 decimals, and between :data:`MIN_DOSE_FACTOR` × the regimen's low dose
  (reductions, e.g. fludarabine for renal impairment, are common) and :data:`MAX_DOSE_FACTOR` ×
  its high dose (a larger number is almost always the total in mg or the sum of several days).

The patient must be enrolled (409 otherwise).  Entry needs the ``enter_outcomes`` permission
(investigators and data managers, at their own site when bound to one); lists need
``view_patients``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import Enrolment, LymphodepletionDose, Patient, Trial
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import outcomes
from doseladder.conduct.services.trials import current_protocol, engine_for
from doseladder.core.dosing import LymphodepletionAgent

__all__ = [
    "MAX_DOSE_FACTOR",
    "MIN_DOSE_FACTOR",
    "WINDOW_TOLERANCE_DAYS",
    "correct_lymphodepletion",
    "list_lymphodepletion",
    "plausible_dose",
    "record_lymphodepletion",
    "regimen_agents",
    "void_lymphodepletion",
]

#: days an administration may lie before the agent's first or after its last planned day
WINDOW_TOLERANCE_DAYS = 7
#: the dose given may be as low as this multiple of the regimen's low dose
MIN_DOSE_FACTOR = Decimal("0.25")
#: the dose given may be as high as this multiple of the regimen's high dose
MAX_DOSE_FACTOR = Decimal("1.5")
_QUANTUM = Decimal("0.0001")
_FIELDS = ("agent", "given_on", "dose", "note")


def regimen_agents(session: Session, trial_id: int) -> tuple[LymphodepletionAgent, ...]:
    """The agents of the trial's current protocol regimen (empty without a regimen)."""
    protocol = engine_for(current_protocol(session, trial_id)).protocol  # None: a design file
    regimen = None if protocol is None else protocol.lymphodepletion
    return () if regimen is None else tuple(regimen.agents)


def _agent(session: Session, trial_id: int, value: object) -> LymphodepletionAgent:
    agents = regimen_agents(session, trial_id)
    if not agents:
        raise ValidationError("agent", "the trial's protocol has no lymphodepletion regimen")
    names = ", ".join(a.name for a in agents)
    if isinstance(value, str):
        for a in agents:
            if a.name.lower() == value.strip().lower():
                return a
    raise ValidationError("agent", f"must be one of the regimen's agents ({names}), got {value!r}")


def plausible_dose(value: object, agent: LymphodepletionAgent) -> Decimal:
    """The daily dose given of ``agent`` (refused unless > 0, at most 4 decimals and within
    :data:`MIN_DOSE_FACTOR` × low .. :data:`MAX_DOSE_FACTOR` × high of the regimen)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValidationError("dose", f"must be a number, got {value!r}")
    try:
        dose = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError("dose", f"must be a number, got {value!r}") from None
    if not dose.is_finite() or dose <= 0:
        raise ValidationError("dose", f"must be a finite number > 0, got {value!r}")
    if dose != dose.quantize(_QUANTUM):
        raise ValidationError("dose", f"must have at most 4 decimals, got {value!r}")
    lo = Decimal(str(agent.low)) * MIN_DOSE_FACTOR
    hi = Decimal(str(agent.high)) * MAX_DOSE_FACTOR
    unit = agent.unit.value
    if not lo <= dose <= hi:
        raise ValidationError(
            "dose",
            f"{dose:f} {unit} is implausible for {agent.name} (regimen {agent.low:g}-"
            f"{agent.high:g} {unit} per day; accepted {lo.normalize():f}-{hi.normalize():f} "
            f"{unit}); enter the daily dose in {unit}",
        )
    return dose.quantize(_QUANTUM)


def _enrolment(session: Session, patient_id: int) -> Enrolment:
    rows = c.current(session.scalars(select(Enrolment).where(Enrolment.patient_id == patient_id)))
    if not rows:
        raise Conflict(
            f"patient #{patient_id} is not enrolled; lymphodepletion is recorded after enrolment"
        )
    return rows[0]


def _given_on(
    session: Session, patient: Patient, agent: LymphodepletionAgent, value: object
) -> date:
    trial = c.get(session, Trial, patient.trial_id)
    day = c.a_date(
        "given_on",
        value,
        not_after=c.latest_date(session, trial),
        not_before=outcomes.consent_date(session, patient),
        before_what="the patient's consent (first screening)",
    )
    enrolment = _enrolment(session, patient.id)
    infusion = enrolment.infusion_date
    if infusion is None:
        return c.a_date(
            "given_on",
            day,
            not_before=enrolment.enrolled_at.date(),
            before_what="the patient's enrolment",
        )
    first = infusion + timedelta(days=agent.days[0] - WINDOW_TOLERANCE_DAYS)
    last = infusion + timedelta(days=agent.days[-1] + WINDOW_TOLERANCE_DAYS)
    if agent.days[-1] < 0:
        last = min(last, infusion - timedelta(days=1))
    if not first <= day <= last:
        planned = ", ".join(f"{d:+d}" for d in agent.days)
        raise ValidationError(
            "given_on",
            f"{day.isoformat()} is outside {agent.name}'s window {first.isoformat()} to "
            f"{last.isoformat()} (planned days {planned} around the infusion on "
            f"{infusion.isoformat()}, ± {WINDOW_TOLERANCE_DAYS} days)",
        )
    return day


def _values(session: Session, patient: Patient, values: Mapping[str, Any]) -> dict[str, Any]:
    agent = _agent(session, patient.trial_id, values.get("agent"))
    unit = values.get("unit")
    if unit is not None and unit != agent.unit.value:
        raise ValidationError(
            "unit",
            f"{agent.name} is dosed in {agent.unit.value} (the regimen's unit), got {unit!r}",
        )
    return {
        "agent": agent.name,
        "given_on": _given_on(session, patient, agent, values.get("given_on")),
        "dose": plausible_dose(values.get("dose"), agent),
        "unit": agent.unit.value,
        "note": c.text("note", values.get("note"), max_len=2000, required=False),
    }


def record_lymphodepletion(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    agent: str,
    given_on: date | str,
    dose: Decimal | float | int | str,
    unit: str | None = None,
    note: str | None = None,
) -> LymphodepletionDose:
    """Record one administration of a regimen agent (see the module docstring for the checks)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    patient = c.patient_for(session, actor, patient_id, lock=True)
    values = _values(
        session,
        patient,
        {"agent": agent, "given_on": given_on, "dose": dose, "unit": unit, "note": note},
    )
    row: LymphodepletionDose = outcomes._new(session, actor, LymphodepletionDose, patient, **values)
    return row


def correct_lymphodepletion(
    session: Session, actor: Actor, record_id: int, *, changes: Mapping[str, Any], reason: str
) -> LymphodepletionDose:
    """Correct an administration (a new version with ``changes`` applied, checked again)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old: LymphodepletionDose = outcomes._old(
        session, actor, LymphodepletionDose, record_id, "lymphodepletion dose"
    )
    c.unknown_keys("changes", changes, (*_FIELDS, "unit"))
    if not changes:
        raise ValidationError("changes", "nothing to change")
    merged = {k: getattr(old, k) for k in _FIELDS} | dict(changes)
    values = _values(session, c.get(session, Patient, old.patient_id), merged)
    return c.supersede(session, actor, old, values, reason=why)


def void_lymphodepletion(
    session: Session, actor: Actor, record_id: int, *, reason: str
) -> LymphodepletionDose:
    """Withdraw an administration entered in error (a new, void version)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old: LymphodepletionDose = outcomes._old(
        session, actor, LymphodepletionDose, record_id, "lymphodepletion dose"
    )
    return c.supersede(session, actor, old, {}, reason=why, voided=True)


def list_lymphodepletion(
    session: Session, actor: Actor, patient_id: int, *, history: bool = False
) -> list[LymphodepletionDose]:
    """A patient's administrations (current versions by date, or every version with
    ``history``)."""
    rows: list[LymphodepletionDose] = outcomes._list(
        session, actor, LymphodepletionDose, patient_id, history
    )
    return sorted(rows, key=lambda r: (r.given_on, r.id)) if not history else rows
