"""Patients: registration, screening, enrolment (with every safeguard), infusion, corrections.

Enrolment (:func:`enrol`) is the critical section of the system.  Under the trial's row lock it
checks, in order: the trial is open (accrual not suspended); the patient is screened eligible
and not already enrolled; the site takes part; the decision is the latest for the patient's
indication, allows enrolment, was taken under the current protocol version, is signed off if
it escalates and the trial requires it; the dose asked for is the decision's dose (anything
else needs an override decision by an authorised user); the decision's cohort has a free slot;
and the data *now* still lead to that dose (a decision made stale by newer outcomes is refused).
Two sites enrolling at the same moment are serialised by the lock, so they can never both take
the last slot; the ``(decision_id, slot, version)`` unique constraint backs this up.

A *backfill* enrolment (``cohort="backfill"``, designs with backfill such as BF-BOIN) takes no
slot of the decision: under the same locks it needs a dose open for backfill *now* with a
backfill slot left (the cap's room at that dose, read with the trial's ``cap_rule``:
``core.designs.backfill_cap``), at the dose the design's assignment
rule picks (drawn with a CSPRNG for ``random``); it is recorded under the latest decision of
the indication and its audit event records the cohort and the doses open at that moment
(:func:`~doseladder.conduct.services.enrolment_gate.check_backfill_gate`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import (
    AdverseEvent,
    DLTAdjudication,
    DoseDecision,
    EfficacyAssessment,
    Enrolment,
    Patient,
    ScreeningResult,
    Site,
    Trial,
    TrialSite,
)
from doseladder.conduct.security import Actor, Permission, check_site
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import decisions as dec
from doseladder.conduct.services.enrolment_gate import (
    COHORTS,
    BackfillGrant,
    check_backfill_gate,
)
from doseladder.conduct.services.protocol_engine import Engine
from doseladder.conduct.services.trials import TrialStatus, current_protocol, engine_for

__all__ = [
    "applicable_criteria",
    "correct_enrolment",
    "correct_screening",
    "current_enrolment",
    "enrol",
    "get_patient",
    "list_patients",
    "patient_record",
    "record_infusion",
    "record_screening",
    "register_patient",
    "void_enrolment",
]

#: pseudonymous study IDs: upper-case letters, digits, '.', '_' or '-', with at least one digit
_STUDY_ID = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,31}$")
SEXES = ("F", "M", "U")


def _study_id(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("study_id", "must be text")
    sid = value.strip().upper()
    if not _STUDY_ID.match(sid) or not any(ch.isdigit() for ch in sid):
        raise ValidationError(
            "study_id",
            "must be a pseudonymous code of 2-32 letters/digits/'.'/'_'/'-' containing a digit "
            "(e.g. SITE01-003); never a name",
        )
    return sid


def _site_in_trial(session: Session, trial_id: int, site_id: int) -> None:
    member = session.scalars(
        select(TrialSite.id).where(TrialSite.trial_id == trial_id, TrialSite.site_id == site_id)
    ).first()
    if member is None:
        raise Conflict("the site does not take part in this trial", field="site_id")


def register_patient(
    session: Session,
    actor: Actor,
    trial_id: int,
    *,
    site_id: int | None = None,
    indication: str | None = None,
    study_id: str | None = None,
    sex: str | None = None,
    age: int | None = None,
) -> Patient:
    """Register a patient under a pseudonymous study ID (generated as ``<SITE>-<nnn>`` if not
    given).  Site-bound users register for their own site only."""
    c.begin(session, actor, Permission.REGISTER_PATIENT)
    if site_id is None:
        if actor.site_id is None:
            raise ValidationError("site_id", "required (you are not bound to a site)")
        site_id = actor.site_id
    site_id = c.integer("site_id", site_id, 1)
    check_site(actor, site_id, "site")
    trial = c.lock_trial(session, trial_id)
    if trial.status not in (TrialStatus.OPEN, TrialStatus.SUSPENDED):
        raise Conflict(f"the trial is {trial.status}; patients can be registered once it opens")
    site = c.ref(session, Site, site_id, "site_id")
    if not site.active:
        raise Conflict(f"site {site.code} is inactive", field="site_id")
    _site_in_trial(session, trial.id, site.id)
    engine = engine_for(current_protocol(session, trial.id))
    ind = engine.check_indication(indication)
    sex_value = c.one_of("sex", sex, SEXES, required=False)
    age_value = c.integer("age", age, 0, 120) if age is not None else None
    if study_id is None:
        n = session.scalar(
            select(func.count()).where(Patient.trial_id == trial.id, Patient.site_id == site.id)
        )
        sid = _study_id(f"{site.code}-{int(n or 0) + 1:03d}")
    else:
        sid = _study_id(study_id)
    taken = session.scalars(
        select(Patient.id).where(Patient.trial_id == trial.id, Patient.study_id == sid)
    ).first()
    if taken is not None:
        raise Conflict(f"study ID {sid} is already registered in this trial", field="study_id")
    patient = Patient(
        trial_id=trial.id,
        site_id=site.id,
        study_id=sid,
        indication=ind,
        sex=sex_value,
        age=age_value,
        registered_at=c.now(session),
        registered_by_id=actor.user_id,
    )
    session.add(patient)
    session.flush()
    return patient


# --------------------------------------------------------------------- screening
def applicable_criteria(engine: Engine, indication: str | None) -> frozenset[str]:
    """The ids of the protocol's criteria that apply to a patient of ``indication``."""
    protocol = engine.protocol
    if protocol is None:
        return frozenset()
    return frozenset(
        x.id
        for x in protocol.criteria
        if not x.indications or indication is None or indication in x.indications
    )


def _screening_values(
    session: Session,
    trial: Trial,
    values: Mapping[str, Any],
    known: frozenset[str],
    required: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    screened_on = c.a_date(
        "screened_on", values.get("screened_on"), not_after=c.latest_date(session, trial)
    )
    eligible = c.boolean("eligible", values.get("eligible"))
    criteria = c.json_mapping("criteria", values.get("criteria"))
    if criteria is not None:
        for key, met in criteria.items():
            if known and key not in known:
                raise ValidationError(
                    f"criteria.{key}", "is not one of the protocol's eligibility criteria"
                )
            if not isinstance(met, bool):
                raise ValidationError(
                    f"criteria.{key}", "must be true (satisfied) or false (not satisfied)"
                )
        unmet = sorted(k for k, met in criteria.items() if not met)
        if eligible and unmet:
            raise ValidationError(
                "eligible", f"cannot be true: criterion {unmet[0]!r} is not satisfied"
            )
    missing = sorted(required - set(criteria or {})) if eligible else []
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ValidationError(
            "criteria",
            "an eligible screening needs the result of every eligibility criterion that "
            f"applies to the patient; missing: {shown}",
        )
    notes = c.text("notes", values.get("notes"), max_len=2000, required=False)
    return {"screened_on": screened_on, "eligible": eligible, "criteria": criteria, "notes": notes}


def _current_enrolment(session: Session, patient_id: int) -> Enrolment | None:
    rows = list(session.scalars(select(Enrolment).where(Enrolment.patient_id == patient_id)))
    cur = c.current(rows)
    return cur[0] if cur else None


def record_screening(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    screened_on: date | str,
    eligible: bool,
    criteria: Mapping[str, bool] | None = None,
    notes: str | None = None,
    require_criteria: bool = False,
) -> ScreeningResult:
    """Record a screening result.

    ``require_criteria`` (the API and the web interface): an ``eligible`` result must give
    the result of every criterion of the protocol that applies to the patient's indication
    (:func:`applicable_criteria`), else a :class:`ValidationError` on ``criteria``.

    ``criteria`` maps criterion id → *satisfied*: an inclusion criterion that is met or an
    exclusion criterion that is absent is ``True`` (as
    :meth:`doseladder.core.eligibility.ScreeningReport.satisfied` reports them); a patient
    can only be ``eligible`` when every recorded criterion is satisfied.
    """
    c.begin(session, actor, Permission.REGISTER_PATIENT)
    patient = c.patient_for(session, actor, patient_id, lock=True)
    engine = engine_for(current_protocol(session, patient.trial_id))
    values = _screening_values(
        session,
        c.get(session, Trial, patient.trial_id),
        {"screened_on": screened_on, "eligible": eligible, "criteria": criteria, "notes": notes},
        engine.criteria,
        applicable_criteria(engine, patient.indication) if require_criteria else frozenset(),
    )
    if _current_enrolment(session, patient.id) is not None:
        raise Conflict(f"patient {patient.study_id} is already enrolled")
    row = ScreeningResult(
        trial_id=patient.trial_id,
        patient_id=patient.id,
        version=1,
        voided=False,
        change_reason=None,
        entered_at=c.now(session),
        entered_by_id=actor.user_id,
        **values,
    )
    session.add(row)
    session.flush()
    return row


def correct_screening(
    session: Session,
    actor: Actor,
    screening_id: int,
    *,
    changes: Mapping[str, Any],
    reason: str,
    require_criteria: bool = False,
) -> ScreeningResult:
    """Correct a screening result (a new version; the old one is kept); ``require_criteria``
    as in :func:`record_screening`."""
    c.begin(session, actor, Permission.REGISTER_PATIENT)
    why = c.reason_text(reason)
    old = c.get(session, ScreeningResult, screening_id, "screening result")
    c.patient_for(session, actor, old.patient_id, lock=True)
    c.unknown_keys("changes", changes, ("screened_on", "eligible", "criteria", "notes"))
    merged = {
        "screened_on": old.screened_on,
        "eligible": old.eligible,
        "criteria": old.criteria,
        "notes": old.notes,
        **changes,
    }
    engine = engine_for(current_protocol(session, old.trial_id))
    trial = c.get(session, Trial, old.trial_id)
    required = (
        applicable_criteria(engine, c.get(session, Patient, old.patient_id).indication)
        if require_criteria
        else frozenset()
    )
    return c.supersede(
        session,
        actor,
        old,
        _screening_values(session, trial, merged, engine.criteria, required),
        reason=why,
    )


def _latest_screening(session: Session, patient_id: int) -> ScreeningResult | None:
    rows = c.current(
        session.scalars(select(ScreeningResult).where(ScreeningResult.patient_id == patient_id))
    )
    if not rows:
        return None
    return max(rows, key=lambda r: (r.screened_on, r.entered_at, r.id))


# --------------------------------------------------------------------- enrolment
def _infusion(
    session: Session, trial: Trial, value: object, field: str = "infusion_date"
) -> date | None:
    if value is None:
        return None
    return c.a_date(
        field,
        value,
        not_after=c.latest_date(session, trial),
        not_before=trial.epoch,
        before_what=f"the trial epoch {trial.epoch.isoformat()}",
    )


def enrol(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    dose_level: int | None,
    decision_id: int | None = None,
    infusion_date: date | str | None = None,
    cohort: str = "escalation",
) -> Enrolment:
    """Enrol a screened, eligible patient at ``dose_level`` in a slot of a dose decision
    (``cohort="escalation"``) or in a backfill slot (``cohort="backfill"``; ``dose_level``
    ``None`` = the dose the backfill rule assigns).

    ``decision_id`` defaults to the latest decision for the patient's indication; giving it
    makes the call fail if a newer decision exists (the client saw a stale one).  See the module
    docstring for every check.  ``infusion_date`` may be given now or later
    (:func:`record_infusion`).
    """
    c.begin(session, actor, Permission.ENROL)
    kind = c.one_of("cohort", cohort, COHORTS)
    if dose_level is None and kind != "backfill":
        raise ValidationError("dose_level", "required for an escalation enrolment")
    dose = c.integer("dose_level", dose_level, 1) if dose_level is not None else None
    patient = c.patient_for(session, actor, patient_id, lock=True)
    trial = c.lock_trial(session, patient.trial_id)
    if trial.status == TrialStatus.SUSPENDED:
        raise Conflict(f"accrual is suspended: {trial.status_reason or 'no reason given'}")
    if trial.status != TrialStatus.OPEN:
        raise Conflict(f"the trial is {trial.status}; enrolment needs an open trial")
    infused = _infusion(session, trial, infusion_date)
    previous = list(session.scalars(select(Enrolment).where(Enrolment.patient_id == patient.id)))
    if previous:
        raise Conflict(f"patient {patient.study_id} is already enrolled (or was, then voided)")
    screening = _latest_screening(session, patient.id)
    if screening is None:
        raise Conflict(f"patient {patient.study_id} has no screening result")
    if not screening.eligible:
        raise Conflict(f"patient {patient.study_id} was screened not eligible")
    if infused is not None and infused < screening.screened_on:
        raise ValidationError("infusion_date", "is before the screening date")
    site = c.get(session, Site, patient.site_id)
    if not site.active:
        raise Conflict(f"site {site.code} is inactive")
    _site_in_trial(session, trial.id, site.id)
    key = engine_for(current_protocol(session, trial.id)).decision_key(patient.indication)
    if decision_id is not None:
        decision = c.ref(session, DoseDecision, decision_id, "decision_id")
        if decision.trial_id != trial.id:
            raise ValidationError("decision_id", "belongs to another trial")
        if decision.indication != key:
            raise ValidationError("decision_id", "is for another indication")
    else:
        found = dec.latest_decision(session, trial.id, key)
        if found is None:
            raise Conflict("no dose decision has been recorded yet: record one first")
        decision = found
    grant: BackfillGrant | None = None
    if kind == "backfill":
        grant = check_backfill_gate(session, trial, decision, key, dose)
        dose = grant.dose
    else:
        assert dose is not None
        dec.check_enrolment_gate(session, trial, decision, key, dose)
    top = session.scalar(
        select(func.max(Enrolment.slot)).where(Enrolment.decision_id == decision.id)
    )
    now = c.now(session)
    row = Enrolment(
        trial_id=trial.id,
        patient_id=patient.id,
        version=1,
        voided=False,
        change_reason=None,
        entered_at=now,
        entered_by_id=actor.user_id,
        decision_id=decision.id,
        slot=int(top or 0) + 1,
        indication=patient.indication,
        dose_level=dose,
        enrolled_at=now,
        infusion_date=infused,
        cohort=kind,
    )
    reason = (
        decision.override_reason and f"override decision #{decision.id}: {decision.override_reason}"
    )
    if grant is not None:
        reason = grant.reason_text()
    with audit.reason(session, reason):
        session.add(row)
    if grant is not None:
        audit.log_event(
            session,
            "backfill_enrolment",
            entity_type="enrolments",
            entity_id=str(row.id),
            trial_id=trial.id,
            reason=reason,
            data={**grant.audit_data(), "patient_id": patient.id, "decision_id": decision.id},
        )
    return row


def current_enrolment(session: Session, actor: Actor, patient_id: int) -> Enrolment | None:
    """The patient's current enrolment version (``None`` if not enrolled)."""
    c.begin(session, actor, Permission.VIEW_PATIENTS)
    c.patient_for(session, actor, patient_id, lock=False)
    return _current_enrolment(session, patient_id)


def record_infusion(
    session: Session, actor: Actor, enrolment_id: int, *, infusion_date: date | str
) -> Enrolment:
    """Record the infusion date of an enrolment that has none yet (a new version)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    old = c.get(session, Enrolment, enrolment_id, "enrolment")
    patient = c.patient_for(session, actor, old.patient_id, lock=True)
    trial = c.get(session, Trial, patient.trial_id)
    if old.infusion_date is not None:
        raise Conflict(
            f"enrolment #{old.id} already has an infusion date; correct it with a reason"
        )
    when = _infusion(session, trial, infusion_date)
    assert when is not None
    return c.supersede(session, actor, old, {"infusion_date": when}, reason="infusion recorded")


def correct_enrolment(
    session: Session,
    actor: Actor,
    enrolment_id: int,
    *,
    changes: Mapping[str, Any],
    reason: str,
) -> Enrolment:
    """Correct an enrolment's infusion date or the dose level actually given (new version)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old = c.get(session, Enrolment, enrolment_id, "enrolment")
    patient = c.patient_for(session, actor, old.patient_id, lock=True)
    trial = c.get(session, Trial, patient.trial_id)
    c.unknown_keys("changes", changes, ("infusion_date", "dose_level"))
    if not changes:
        raise ValidationError("changes", "nothing to change")
    clean: dict[str, Any] = {}
    if "infusion_date" in changes:
        clean["infusion_date"] = _infusion(session, trial, changes["infusion_date"])
    if "dose_level" in changes:
        engine = engine_for(current_protocol(session, trial.id))
        clean["dose_level"] = c.integer("dose_level", changes["dose_level"], 1, engine.num_doses)
    return c.supersede(session, actor, old, clean, reason=why)


def void_enrolment(session: Session, actor: Actor, enrolment_id: int, *, reason: str) -> Enrolment:
    """Withdraw an enrolment entered in error (its slot is freed; history is kept)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old = c.get(session, Enrolment, enrolment_id, "enrolment")
    c.patient_for(session, actor, old.patient_id, lock=True)
    return c.supersede(session, actor, old, {}, reason=why, voided=True)


# ----------------------------------------------------------------------- reading
def get_patient(session: Session, actor: Actor, patient_id: int) -> Patient:
    """A patient (site isolation applies)."""
    c.begin(session, actor, Permission.VIEW_PATIENTS)
    return c.patient_for(session, actor, patient_id, lock=False)


def list_patients(session: Session, actor: Actor, trial_id: int) -> list[Patient]:
    """A trial's patients (site-bound users: their site's only), by study ID."""
    c.begin(session, actor, Permission.VIEW_PATIENTS)
    dec.ensure_visible(session, actor, trial_id)
    stmt = select(Patient).where(Patient.trial_id == trial_id)
    if actor.site_id is not None:
        stmt = stmt.where(Patient.site_id == actor.site_id)
    return list(session.scalars(stmt.order_by(Patient.study_id)))


def _record_dicts(rows: list[Any], *, history: bool) -> list[dict[str, Any]]:
    chosen = rows if history else c.current(rows)
    return [audit.snapshot(r) for r in sorted(chosen, key=lambda r: r.id)]


def patient_record(
    session: Session, actor: Actor, patient_id: int, *, history: bool = False
) -> dict[str, Any]:
    """Everything recorded for a patient (current versions; every version with ``history``)."""
    patient = get_patient(session, actor, patient_id)

    def rows(model: Any) -> list[Any]:
        return list(session.scalars(select(model).where(model.patient_id == patient.id)))

    return {
        "patient": audit.snapshot(patient),
        "screening": _record_dicts(rows(ScreeningResult), history=history),
        "enrolment": _record_dicts(rows(Enrolment), history=history),
        "adverse_events": _record_dicts(rows(AdverseEvent), history=history),
        "efficacy": _record_dicts(rows(EfficacyAssessment), history=history),
        "dlt_adjudications": _record_dicts(rows(DLTAdjudication), history=history),
    }
