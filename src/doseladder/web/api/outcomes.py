"""Outcomes: adverse events, efficacy assessments, DLT adjudications (record, correct, void)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from doseladder.conduct.services import outcomes
from doseladder.web.api.common import ERRORS, PathId
from doseladder.web.api.schemas import (
    AdjudicationCorrectionIn,
    AdjudicationIn,
    AdjudicationOut,
    AdverseEventCorrectionIn,
    AdverseEventIn,
    AdverseEventOut,
    EfficacyCorrectionIn,
    EfficacyIn,
    EfficacyOut,
    ReasonIn,
)
from doseladder.web.deps import ApiCaller

__all__ = ["router"]

router = APIRouter(tags=["outcomes"], responses=ERRORS)
History = Annotated[bool, Query(description="Include superseded versions.")]


# ------------------------------------------------------------------ adverse events
@router.get(
    "/patients/{patient_id}/adverse-events",
    response_model=list[AdverseEventOut],
    summary="A patient's adverse events",
)
def list_aes(
    patient_id: PathId, caller: ApiCaller, history: History = False
) -> list[AdverseEventOut]:
    return caller.run(
        lambda s, a: [
            AdverseEventOut.model_validate(x)
            for x in outcomes.list_adverse_events(s, a, patient_id, history=history)
        ]
    )


@router.post(
    "/patients/{patient_id}/adverse-events",
    response_model=AdverseEventOut,
    status_code=201,
    summary="Record a graded adverse event (dlt_candidate: a possible DLT)",
)
def record_ae(patient_id: PathId, body: AdverseEventIn, caller: ApiCaller) -> AdverseEventOut:
    return caller.run(
        lambda s, a: AdverseEventOut.model_validate(
            outcomes.record_adverse_event(s, a, patient_id, **body.model_dump())
        )
    )


@router.post(
    "/adverse-events/{ae_id}/correct",
    response_model=AdverseEventOut,
    status_code=201,
    summary="Correct an adverse event (a new version)",
)
def correct_ae(ae_id: PathId, body: AdverseEventCorrectionIn, caller: ApiCaller) -> AdverseEventOut:
    return caller.run(
        lambda s, a: AdverseEventOut.model_validate(
            outcomes.correct_adverse_event(
                s, a, ae_id, changes=body.changes.model_dump(exclude_unset=True), reason=body.reason
            )
        )
    )


@router.post(
    "/adverse-events/{ae_id}/void",
    response_model=AdverseEventOut,
    status_code=201,
    summary="Withdraw an adverse event entered in error",
)
def void_ae(ae_id: PathId, body: ReasonIn, caller: ApiCaller) -> AdverseEventOut:
    return caller.run(
        lambda s, a: AdverseEventOut.model_validate(
            outcomes.void_adverse_event(s, a, ae_id, reason=body.reason)
        )
    )


# ------------------------------------------------------------------------ efficacy
@router.get(
    "/patients/{patient_id}/efficacy",
    response_model=list[EfficacyOut],
    summary="A patient's efficacy assessments",
)
def list_efficacy(
    patient_id: PathId, caller: ApiCaller, history: History = False
) -> list[EfficacyOut]:
    return caller.run(
        lambda s, a: [
            EfficacyOut.model_validate(x)
            for x in outcomes.list_efficacy(s, a, patient_id, history=history)
        ]
    )


@router.post(
    "/patients/{patient_id}/efficacy",
    response_model=EfficacyOut,
    status_code=201,
    summary="Record an efficacy assessment",
)
def record_efficacy(patient_id: PathId, body: EfficacyIn, caller: ApiCaller) -> EfficacyOut:
    return caller.run(
        lambda s, a: EfficacyOut.model_validate(
            outcomes.record_efficacy(s, a, patient_id, **body.model_dump())
        )
    )


@router.post(
    "/efficacy/{assessment_id}/correct",
    response_model=EfficacyOut,
    status_code=201,
    summary="Correct an efficacy assessment (a new version)",
)
def correct_efficacy(
    assessment_id: PathId, body: EfficacyCorrectionIn, caller: ApiCaller
) -> EfficacyOut:
    return caller.run(
        lambda s, a: EfficacyOut.model_validate(
            outcomes.correct_efficacy(
                s,
                a,
                assessment_id,
                changes=body.changes.model_dump(exclude_unset=True),
                reason=body.reason,
            )
        )
    )


@router.post(
    "/efficacy/{assessment_id}/void",
    response_model=EfficacyOut,
    status_code=201,
    summary="Withdraw an efficacy assessment entered in error",
)
def void_efficacy(assessment_id: PathId, body: ReasonIn, caller: ApiCaller) -> EfficacyOut:
    return caller.run(
        lambda s, a: EfficacyOut.model_validate(
            outcomes.void_efficacy(s, a, assessment_id, reason=body.reason)
        )
    )


# ---------------------------------------------------------------- DLT adjudication
@router.get(
    "/patients/{patient_id}/dlt-adjudications",
    response_model=list[AdjudicationOut],
    summary="A patient's DLT adjudications",
)
def list_adjudications(
    patient_id: PathId, caller: ApiCaller, history: History = False
) -> list[AdjudicationOut]:
    return caller.run(
        lambda s, a: [
            AdjudicationOut.model_validate(x)
            for x in outcomes.list_adjudications(s, a, patient_id, history=history)
        ]
    )


@router.post(
    "/patients/{patient_id}/dlt-adjudications",
    response_model=AdjudicationOut,
    status_code=201,
    summary="Adjudicate a DLT (an adverse event, or the window without an event)",
)
def adjudicate(patient_id: PathId, body: AdjudicationIn, caller: ApiCaller) -> AdjudicationOut:
    return caller.run(
        lambda s, a: AdjudicationOut.model_validate(
            outcomes.adjudicate_dlt(s, a, patient_id, **body.model_dump())
        )
    )


@router.post(
    "/dlt-adjudications/{adjudication_id}/correct",
    response_model=AdjudicationOut,
    status_code=201,
    summary="Correct a DLT adjudication (a new version)",
)
def correct_adjudication(
    adjudication_id: PathId, body: AdjudicationCorrectionIn, caller: ApiCaller
) -> AdjudicationOut:
    return caller.run(
        lambda s, a: AdjudicationOut.model_validate(
            outcomes.correct_adjudication(
                s,
                a,
                adjudication_id,
                changes=body.changes.model_dump(exclude_unset=True),
                reason=body.reason,
            )
        )
    )


@router.post(
    "/dlt-adjudications/{adjudication_id}/void",
    response_model=AdjudicationOut,
    status_code=201,
    summary="Withdraw a DLT adjudication entered in error",
)
def void_adjudication(
    adjudication_id: PathId, body: ReasonIn, caller: ApiCaller
) -> AdjudicationOut:
    return caller.run(
        lambda s, a: AdjudicationOut.model_validate(
            outcomes.void_adjudication(s, a, adjudication_id, reason=body.reason)
        )
    )
