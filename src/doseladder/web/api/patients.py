"""Patients: registration (with screening), screening results, enrolment, infusion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from sqlalchemy.orm import Session

from doseladder.conduct.security import Actor
from doseladder.conduct.services import patients
from doseladder.conduct.services import screening as screening_service
from doseladder.web.api.common import ERRORS, PathId
from doseladder.web.api.schemas import (
    EnrolIn,
    EnrolmentCorrectionIn,
    EnrolmentOut,
    InfusionIn,
    PatientIn,
    PatientOut,
    PatientRecordOut,
    ReasonIn,
    RegisteredOut,
    ScreeningCorrectionIn,
    ScreeningIn,
    ScreeningOut,
    ScreeningReportIn,
)
from doseladder.web.deps import ApiCaller
from doseladder.web.routing import PrefixRouter

__all__ = ["router"]

router = PrefixRouter(tags=["patients"], responses=ERRORS)


@router.get(
    "/trials/{trial_id}/patients",
    response_model=list[PatientOut],
    summary="A trial's patients (site-bound users: their site's)",
)
def list_patients(trial_id: PathId, caller: ApiCaller) -> list[PatientOut]:
    return caller.run(
        lambda s, a: [PatientOut.model_validate(p) for p in patients.list_patients(s, a, trial_id)]
    )


@router.post(
    "/trials/{trial_id}/patients",
    response_model=RegisteredOut,
    status_code=201,
    summary="Register a patient (optionally with the screening result, in one transaction)",
)
def register(trial_id: PathId, body: PatientIn, caller: ApiCaller) -> RegisteredOut:
    def run(s: Session, a: Actor) -> RegisteredOut:
        p = patients.register_patient(
            s,
            a,
            trial_id,
            site_id=body.site_id,
            indication=body.indication,
            study_id=body.study_id,
            sex=body.sex,
            age=body.age,
        )
        screening = None
        if body.screening is not None:
            sc = body.screening
            row = patients.record_screening(
                s,
                a,
                p.id,
                screened_on=sc.screened_on,
                eligible=sc.eligible,
                criteria=sc.criteria,
                notes=sc.notes,
                require_criteria=True,
            )
            screening = ScreeningOut.model_validate(row)
        return RegisteredOut(patient=PatientOut.model_validate(p), screening=screening)

    return caller.run(run)


@router.post(
    "/trials/{trial_id}/screening-report",
    response_model=dict[str, Any],
    summary="Screen a patient record against the protocol's criteria (nothing is recorded)",
)
def screening_preview(trial_id: PathId, body: ScreeningReportIn, caller: ApiCaller) -> Any:
    """The core's screening report: every criterion met / not met / not evaluable / needs
    review with its reasons, and the verdict.  Record the result with the registration or
    ``POST /patients/{id}/screening`` (``criteria`` = the report's *satisfied* values)."""
    return caller.run(
        lambda s, a: screening_service.screening_report(
            s,
            a,
            trial_id,
            body.record,
            screening_date=body.screening_date,
            indication=body.indication,
        ).to_dict()
    )


@router.get(
    "/patients/{patient_id}",
    response_model=PatientRecordOut,
    summary="Everything recorded for a patient (every version with history=true)",
)
def patient_record(
    patient_id: PathId,
    caller: ApiCaller,
    history: Annotated[bool, Query(description="Include superseded versions.")] = False,
) -> PatientRecordOut:
    return caller.run(
        lambda s, a: PatientRecordOut.model_validate(
            patients.patient_record(s, a, patient_id, history=history)
        )
    )


@router.post(
    "/patients/{patient_id}/screening",
    response_model=ScreeningOut,
    status_code=201,
    summary="Record a screening result",
)
def screening(patient_id: PathId, body: ScreeningIn, caller: ApiCaller) -> ScreeningOut:
    return caller.run(
        lambda s, a: ScreeningOut.model_validate(
            patients.record_screening(
                s,
                a,
                patient_id,
                screened_on=body.screened_on,
                eligible=body.eligible,
                criteria=body.criteria,
                notes=body.notes,
                require_criteria=True,
            )
        )
    )


@router.post(
    "/screening/{screening_id}/correct",
    response_model=ScreeningOut,
    status_code=201,
    summary="Correct a screening result (a new version)",
)
def correct_screening(
    screening_id: PathId, body: ScreeningCorrectionIn, caller: ApiCaller
) -> ScreeningOut:
    return caller.run(
        lambda s, a: ScreeningOut.model_validate(
            patients.correct_screening(
                s,
                a,
                screening_id,
                changes=body.changes.model_dump(exclude_unset=True),
                reason=body.reason,
                require_criteria=True,
            )
        )
    )


@router.post(
    "/patients/{patient_id}/enrol",
    response_model=EnrolmentOut,
    status_code=201,
    summary="Enrol at the decided dose in a slot of the latest decision, or in a backfill slot",
    description="``cohort: escalation`` (default) takes a slot of the latest decision at its "
    "dose. ``cohort: backfill`` (designs with backfill, e.g. BF-BOIN) takes a backfill slot at "
    "a dose open for backfill now, the dose the backfill rule assigns (omit ``dose_level`` to "
    "take it; a ``random`` rule is drawn by the service and the draw is audited). 409 names "
    "why a backfill slot is refused: the design has no backfill, no dose is open, the dose is "
    "not open, or its cap is reached.",
)
def enrol(patient_id: PathId, body: EnrolIn, caller: ApiCaller) -> EnrolmentOut:
    return caller.run(
        lambda s, a: EnrolmentOut.model_validate(
            patients.enrol(
                s,
                a,
                patient_id,
                dose_level=body.dose_level,
                decision_id=body.decision_id,
                infusion_date=body.infusion_date,
                cohort=body.cohort,
            )
        )
    )


@router.post(
    "/enrolments/{enrolment_id}/infusion",
    response_model=EnrolmentOut,
    status_code=201,
    summary="Record the infusion date",
)
def infusion(enrolment_id: PathId, body: InfusionIn, caller: ApiCaller) -> EnrolmentOut:
    return caller.run(
        lambda s, a: EnrolmentOut.model_validate(
            patients.record_infusion(s, a, enrolment_id, infusion_date=body.infusion_date)
        )
    )


@router.post(
    "/enrolments/{enrolment_id}/correct",
    response_model=EnrolmentOut,
    status_code=201,
    summary="Correct the infusion date or the dose given (a new version)",
)
def correct_enrolment(
    enrolment_id: PathId, body: EnrolmentCorrectionIn, caller: ApiCaller
) -> EnrolmentOut:
    return caller.run(
        lambda s, a: EnrolmentOut.model_validate(
            patients.correct_enrolment(
                s,
                a,
                enrolment_id,
                changes=body.changes.model_dump(exclude_unset=True),
                reason=body.reason,
            )
        )
    )


@router.post(
    "/enrolments/{enrolment_id}/void",
    response_model=EnrolmentOut,
    status_code=201,
    summary="Withdraw an enrolment entered in error",
)
def void_enrolment(enrolment_id: PathId, body: ReasonIn, caller: ApiCaller) -> EnrolmentOut:
    return caller.run(
        lambda s, a: EnrolmentOut.model_validate(
            patients.void_enrolment(s, a, enrolment_id, reason=body.reason)
        )
    )
