"""Screening a patient record against the trial's protocol (a preview: nothing is recorded).

The investigator uploads a patient record (doseladder patient JSON or a FHIR R4 bundle); the
core's :func:`doseladder.core.eligibility.screen` evaluates every criterion (met / not met /
not evaluable / needs review, with reasons).  The web form is then pre-filled with the
criteria the report found satisfied, for the investigator to confirm; the screening result is
recorded only when the form is submitted (``patients.record_screening``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from doseladder.conduct.errors import ValidationError
from doseladder.conduct.security import Actor, Permission, require
from doseladder.conduct.services import trials
from doseladder.core.eligibility import ScreeningReport, screen
from doseladder.core.errors import InputError
from doseladder.io.patient_record import patient_record_from_data

__all__ = ["ScreenedRecord", "screen_record", "screening_report"]

#: the record's sex as the registration form codes it
_SEX_CODES = {"female": "F", "male": "M"}


@dataclass(frozen=True, slots=True)
class ScreenedRecord:
    """A screening report with what the record says for the registration form: ``sex``
    (``F``/``M``, ``None`` when unknown) and ``age`` in completed years on the screening date
    (``None`` when the record does not pin it down to one year)."""

    report: ScreeningReport
    sex: str | None
    age: int | None


def screen_record(
    session: Session,
    actor: Actor,
    trial_id: int,
    record: Any,
    *,
    screening_date: date | None = None,
    indication: str | None = None,
) -> ScreenedRecord:
    """Screen ``record`` (parsed JSON) against the trial's current protocol."""
    require(actor, Permission.REGISTER_PATIENT)
    trials.get_trial(session, actor, trial_id)
    engine = trials.engine_for(trials.current_protocol(session, trial_id))
    if engine.protocol is None or not engine.protocol.criteria:
        raise ValidationError("record", "the trial's protocol has no eligibility criteria")
    if indication is not None:
        engine.check_indication(indication)
    try:
        patient = patient_record_from_data(record)
        when = screening_date or patient.screening_date
        if when is None:
            raise ValidationError("screening_date", "give the screening date (the record has none)")
        report = screen(engine.protocol, patient, screening_date=when, indication=indication)
    except InputError as exc:
        raise ValidationError(f"record.{exc.field}", exc.reason) from None
    bounds = patient.age_bounds(when)
    age = bounds[0] if bounds is not None and bounds[0] == bounds[1] else None
    sex = _SEX_CODES.get(patient.sex) if patient.sex is not None else None
    return ScreenedRecord(report, sex, age)


def screening_report(
    session: Session,
    actor: Actor,
    trial_id: int,
    record: Any,
    *,
    screening_date: date | None = None,
    indication: str | None = None,
) -> ScreeningReport:
    """Screen ``record`` (parsed JSON) against the trial's current protocol: the report."""
    return screen_record(
        session, actor, trial_id, record, screening_date=screening_date, indication=indication
    ).report
