"""Outcomes: graded adverse events, efficacy assessments, DLT adjudications.

Every record can be corrected (a new version with a reason) or voided (a new, void version
with a reason); nothing is overwritten.  Outcomes arrive late: they are recorded whenever they
become known and the next recommendation uses them (pending outcomes until then).  Each write
locks the trial row, so outcomes, enrolments and decisions of a trial are serialised and a
decision always sees a consistent set of data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import (
    AdverseEvent,
    DLTAdjudication,
    EfficacyAssessment,
    Enrolment,
    Patient,
    Trial,
    Versioned,
)
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c

__all__ = [
    "RELATEDNESS",
    "adjudicate_dlt",
    "correct_adjudication",
    "correct_adverse_event",
    "correct_efficacy",
    "list_adjudications",
    "list_adverse_events",
    "list_efficacy",
    "record_adverse_event",
    "record_efficacy",
    "void_adjudication",
    "void_adverse_event",
    "void_efficacy",
]

RELATEDNESS = ("related", "possibly_related", "unlikely_related", "unrelated")
_AE_FIELDS = (
    "term",
    "grade",
    "onset_date",
    "resolved_date",
    "serious",
    "relatedness",
    "dlt_candidate",
)
_EFF_FIELDS = ("assessed_on", "instrument", "responder", "final", "measures")
_ADJ_FIELDS = ("is_dlt", "onset_date", "rationale")


def _enrolment(session: Session, patient_id: int) -> Enrolment | None:
    rows = c.current(session.scalars(select(Enrolment).where(Enrolment.patient_id == patient_id)))
    return rows[0] if rows else None


# ------------------------------------------------------------------ adverse events
def _ae_values(session: Session, trial: Trial, values: Mapping[str, Any]) -> dict[str, Any]:
    today = c.latest_date(session, trial)
    onset = c.a_date("onset_date", values.get("onset_date"), not_after=today)
    resolved = values.get("resolved_date")
    return {
        "term": c.required_text("term", values.get("term"), max_len=200),
        "grade": c.integer("grade", values.get("grade"), 1, 5),
        "onset_date": onset,
        "resolved_date": None
        if resolved is None
        else c.a_date(
            "resolved_date", resolved, not_after=today, not_before=onset, before_what="the onset"
        ),
        "serious": c.boolean("serious", values.get("serious")),
        "relatedness": c.one_of(
            "relatedness", values.get("relatedness"), RELATEDNESS, required=False
        ),
        "dlt_candidate": c.boolean("dlt_candidate", values.get("dlt_candidate")),
    }


def _new(
    session: Session, actor: Actor, model: type[Versioned], patient: Patient, **values: Any
) -> Any:
    row = model(
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


def record_adverse_event(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    term: str,
    grade: int,
    onset_date: date | str,
    serious: bool = False,
    resolved_date: date | str | None = None,
    relatedness: str | None = None,
    dlt_candidate: bool = False,
) -> AdverseEvent:
    """Record a graded adverse event.  ``dlt_candidate`` flags a possible DLT: the patient's
    DLT outcome stays pending until it is adjudicated."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    patient = c.patient_for(session, actor, patient_id, lock=True)
    values = _ae_values(
        session,
        c.get(session, Trial, patient.trial_id),
        {
            "term": term,
            "grade": grade,
            "onset_date": onset_date,
            "resolved_date": resolved_date,
            "serious": serious,
            "relatedness": relatedness,
            "dlt_candidate": dlt_candidate,
        },
    )
    row: AdverseEvent = _new(session, actor, AdverseEvent, patient, **values)
    return row


def _old(session: Session, actor: Actor, model: type[Any], record_id: int, what: str) -> Any:
    old = c.get(session, model, record_id, what)
    c.patient_for(session, actor, old.patient_id, lock=True)
    return old


def correct_adverse_event(
    session: Session, actor: Actor, ae_id: int, *, changes: Mapping[str, Any], reason: str
) -> AdverseEvent:
    """Correct an adverse event (new version with ``changes`` applied)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old: AdverseEvent = _old(session, actor, AdverseEvent, ae_id, "adverse event")
    c.unknown_keys("changes", changes, _AE_FIELDS)
    if not changes:
        raise ValidationError("changes", "nothing to change")
    merged = {k: getattr(old, k) for k in _AE_FIELDS} | dict(changes)
    trial = c.get(session, Trial, old.trial_id)
    return c.supersede(session, actor, old, _ae_values(session, trial, merged), reason=why)


def void_adverse_event(session: Session, actor: Actor, ae_id: int, *, reason: str) -> AdverseEvent:
    """Withdraw an adverse event entered in error."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old: AdverseEvent = _old(session, actor, AdverseEvent, ae_id, "adverse event")
    return c.supersede(session, actor, old, {}, reason=why, voided=True)


# ------------------------------------------------------------------------ efficacy
def _eff_values(session: Session, trial: Trial, values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "assessed_on": c.a_date(
            "assessed_on", values.get("assessed_on"), not_after=c.latest_date(session, trial)
        ),
        "instrument": c.required_text("instrument", values.get("instrument"), max_len=64),
        "responder": c.boolean("responder", values.get("responder")),
        "final": c.boolean("final", values.get("final")),
        "measures": c.json_mapping("measures", values.get("measures")),
    }


def record_efficacy(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    assessed_on: date | str,
    instrument: str,
    responder: bool,
    final: bool = False,
    measures: Mapping[str, Any] | None = None,
) -> EfficacyAssessment:
    """Record an efficacy assessment (``responder`` per the protocol's criterion, e.g. SRI-4;
    ``final`` marks the end-of-window assessment; ``measures`` keeps the scores)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    patient = c.patient_for(session, actor, patient_id, lock=True)
    values = _eff_values(
        session,
        c.get(session, Trial, patient.trial_id),
        {
            "assessed_on": assessed_on,
            "instrument": instrument,
            "responder": responder,
            "final": final,
            "measures": measures,
        },
    )
    row: EfficacyAssessment = _new(session, actor, EfficacyAssessment, patient, **values)
    return row


def correct_efficacy(
    session: Session, actor: Actor, assessment_id: int, *, changes: Mapping[str, Any], reason: str
) -> EfficacyAssessment:
    """Correct an efficacy assessment (new version)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old: EfficacyAssessment = _old(
        session, actor, EfficacyAssessment, assessment_id, "efficacy assessment"
    )
    c.unknown_keys("changes", changes, _EFF_FIELDS)
    if not changes:
        raise ValidationError("changes", "nothing to change")
    merged = {k: getattr(old, k) for k in _EFF_FIELDS} | dict(changes)
    trial = c.get(session, Trial, old.trial_id)
    return c.supersede(session, actor, old, _eff_values(session, trial, merged), reason=why)


def void_efficacy(
    session: Session, actor: Actor, assessment_id: int, *, reason: str
) -> EfficacyAssessment:
    """Withdraw an efficacy assessment entered in error."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old: EfficacyAssessment = _old(
        session, actor, EfficacyAssessment, assessment_id, "efficacy assessment"
    )
    return c.supersede(session, actor, old, {}, reason=why, voided=True)


# -------------------------------------------------------------- DLT adjudication
def _adj_values(
    session: Session,
    trial: Trial,
    enrolment: Enrolment,
    ae: AdverseEvent | None,
    values: Mapping[str, Any],
) -> dict[str, Any]:
    is_dlt = c.boolean("is_dlt", values.get("is_dlt"))
    rationale = c.required_text("rationale", values.get("rationale"), max_len=4000, min_len=3)
    onset_raw = values.get("onset_date")
    onset: date | None = None
    if is_dlt:
        if onset_raw is None and ae is not None:
            onset = ae.onset_date
        elif onset_raw is None:
            raise ValidationError("onset_date", "required for a DLT without an adverse event")
        else:
            onset = c.a_date("onset_date", onset_raw, not_after=c.latest_date(session, trial))
        infused = enrolment.infusion_date
        if infused is None:
            raise ValidationError("is_dlt", "the patient has no infusion date yet")
        if onset < infused:
            raise ValidationError("onset_date", "is before the infusion")
        window = float(trial.dlt_window_days or 0.0)
        if (onset - infused).days > window:
            raise ValidationError(
                "onset_date",
                f"day {(onset - infused).days} after infusion is outside the {window:g}-day "
                "DLT window",
            )
    elif onset_raw is not None:
        raise ValidationError("onset_date", "only for a DLT")
    return {"is_dlt": is_dlt, "onset_date": onset, "rationale": rationale}


def adjudicate_dlt(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    is_dlt: bool,
    rationale: str,
    adverse_event_id: int | None = None,
    onset_date: date | str | None = None,
) -> DLTAdjudication:
    """Adjudicate whether an adverse event is a DLT, or (without an adverse event) that the
    patient completed the DLT window without one (``is_dlt=False``) or had a DLT not recorded as
    an adverse event (``is_dlt=True`` with ``onset_date``).  One adjudication per adverse event
    (correct it to change it)."""
    c.begin(session, actor, Permission.ADJUDICATE_DLT)
    patient = c.patient_for(session, actor, patient_id, lock=True)
    trial = c.get(session, Trial, patient.trial_id)
    enrolment = _enrolment(session, patient.id)
    if enrolment is None:
        raise Conflict(f"patient {patient.study_id} is not enrolled")
    ae: AdverseEvent | None = None
    lineage: int | None = None
    if adverse_event_id is not None:
        found = c.ref(session, AdverseEvent, adverse_event_id, "adverse_event_id")
        if found.patient_id != patient.id:
            raise ValidationError("adverse_event_id", "belongs to another patient")
        lineage = found.lineage_id
        versions = session.scalars(
            select(AdverseEvent).where(
                (AdverseEvent.id == lineage) | (AdverseEvent.root_id == lineage)
            )
        )
        cur = c.current(versions)
        if not cur:
            raise Conflict(f"adverse event #{adverse_event_id} is void")
        ae = cur[0]
    existing = c.current(
        session.scalars(select(DLTAdjudication).where(DLTAdjudication.patient_id == patient.id))
    )
    for adj in existing:
        same_event = lineage is not None and adj.adverse_event_id == lineage
        same_kind = lineage is None and adj.adverse_event_id is None and adj.is_dlt == is_dlt
        if same_event or same_kind:
            raise Conflict(
                f"already adjudicated (adjudication #{adj.id}); correct it with a reason"
            )
    values = _adj_values(
        session,
        trial,
        enrolment,
        ae,
        {"is_dlt": is_dlt, "onset_date": onset_date, "rationale": rationale},
    )
    row: DLTAdjudication = _new(
        session, actor, DLTAdjudication, patient, adverse_event_id=lineage, **values
    )
    return row


def correct_adjudication(
    session: Session,
    actor: Actor,
    adjudication_id: int,
    *,
    changes: Mapping[str, Any],
    reason: str,
) -> DLTAdjudication:
    """Correct a DLT adjudication (new version)."""
    c.begin(session, actor, Permission.ADJUDICATE_DLT)
    why = c.reason_text(reason)
    old: DLTAdjudication = _old(session, actor, DLTAdjudication, adjudication_id, "adjudication")
    c.unknown_keys("changes", changes, _ADJ_FIELDS)
    if not changes:
        raise ValidationError("changes", "nothing to change")
    trial = c.get(session, Trial, old.trial_id)
    enrolment = _enrolment(session, old.patient_id)
    if enrolment is None:
        raise Conflict("the patient is no longer enrolled")
    ae = None
    if old.adverse_event_id is not None:
        ae = c.current(
            session.scalars(
                select(AdverseEvent).where(
                    (AdverseEvent.id == old.adverse_event_id)
                    | (AdverseEvent.root_id == old.adverse_event_id)
                )
            ),
            include_void=True,
        )[0]
    merged: dict[str, Any] = {
        "is_dlt": old.is_dlt,
        "onset_date": old.onset_date if old.is_dlt else None,
        "rationale": old.rationale,
    } | dict(changes)
    if merged.get("is_dlt") is False and "onset_date" not in changes:
        merged["onset_date"] = None
    return c.supersede(
        session, actor, old, _adj_values(session, trial, enrolment, ae, merged), reason=why
    )


def void_adjudication(
    session: Session, actor: Actor, adjudication_id: int, *, reason: str
) -> DLTAdjudication:
    """Withdraw an adjudication entered in error."""
    c.begin(session, actor, Permission.ADJUDICATE_DLT)
    why = c.reason_text(reason)
    old: DLTAdjudication = _old(session, actor, DLTAdjudication, adjudication_id, "adjudication")
    return c.supersede(session, actor, old, {}, reason=why, voided=True)


# ------------------------------------------------------------------------ reading
def _list(session: Session, actor: Actor, model: Any, patient_id: int, history: bool) -> list[Any]:
    c.begin(session, actor, Permission.VIEW_PATIENTS)
    c.patient_for(session, actor, patient_id, lock=False)
    rows = list(session.scalars(select(model).where(model.patient_id == patient_id)))
    chosen = rows if history else c.current(rows)
    return sorted(chosen, key=lambda r: r.id)


def list_adverse_events(
    session: Session, actor: Actor, patient_id: int, *, history: bool = False
) -> list[AdverseEvent]:
    """A patient's adverse events (current versions, or every version with ``history``)."""
    return _list(session, actor, AdverseEvent, patient_id, history)


def list_efficacy(
    session: Session, actor: Actor, patient_id: int, *, history: bool = False
) -> list[EfficacyAssessment]:
    """A patient's efficacy assessments."""
    return _list(session, actor, EfficacyAssessment, patient_id, history)


def list_adjudications(
    session: Session, actor: Actor, patient_id: int, *, history: bool = False
) -> list[DLTAdjudication]:
    """A patient's DLT adjudications."""
    return _list(session, actor, DLTAdjudication, patient_id, history)
