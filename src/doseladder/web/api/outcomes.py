"""Outcomes: adverse events (graded by CTCAE/ASTCT), efficacy assessments (scored from
components), DLT proposals with their confirmation or override, adjudications."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel

from doseladder.conduct.services import grading, outcomes
from doseladder.web.api.common import ERRORS, PathId, model_response
from doseladder.web.api.schemas import (
    AdjudicationCorrectionIn,
    AdjudicationIn,
    AdjudicationOut,
    AdverseEventCorrectionIn,
    AdverseEventIn,
    AdverseEventOut,
    ConfirmIn,
    DLTOverrideIn,
    DLTProposalOut,
    EfficacyComponentsIn,
    EfficacyCorrectionIn,
    EfficacyIn,
    EfficacyOut,
    ReasonIn,
    ResponseOverrideIn,
    TermOut,
)
from doseladder.web.deps import ApiCaller, DeferredApiCaller
from doseladder.web.routing import PrefixRouter

__all__ = ["router"]

router = PrefixRouter(tags=["outcomes"], responses=ERRORS)
# Every route but ``terms`` only calls ``caller.run`` / ``caller.read``: its token is looked up
# in the route's worker thread (``DeferredApiCaller``: one thread hop per request, not two).
History = Annotated[bool, Query(description="Include superseded versions.")]


def _created(value: BaseModel) -> Response:
    """The 201 answer of a write route, serialised in the route's worker thread
    (:func:`~doseladder.web.api.common.model_response`)."""
    return model_response(value, 201)


# ------------------------------------------------------------------ adverse events
@router.get(
    "/ctcae-terms",
    response_model=list[TermOut],
    summary="The adverse-event terms and how each is graded (lab, ASTCT form, chosen grade)",
)
def terms(caller: ApiCaller) -> list[TermOut]:
    _ = caller
    return [
        TermOut(
            term=t["term"],
            kind=t["kind"],
            scale=t["scale"],
            grades={str(k): v for k, v in t["grades"].items()},
        )
        for t in grading.term_catalogue()
    ]


@router.get(
    "/patients/{patient_id}/adverse-events",
    response_model=list[AdverseEventOut],
    summary="A patient's adverse events",
)
def list_aes(
    patient_id: PathId, caller: DeferredApiCaller, history: History = False
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
    summary="Record an adverse event: a CTCAE term graded from the lab value, the ASTCT form or "
    "the chosen grade (a DLT proposal follows)",
)
def record_ae(patient_id: PathId, body: AdverseEventIn, caller: DeferredApiCaller) -> Response:
    return _created(
        caller.run(
            lambda s, a: AdverseEventOut.model_validate(
                outcomes.record_adverse_event(s, a, patient_id, **body.model_dump())
            )
        )
    )


@router.post(
    "/adverse-events/{ae_id}/correct",
    response_model=AdverseEventOut,
    status_code=201,
    summary="Correct an adverse event (a new version)",
)
def correct_ae(
    ae_id: PathId, body: AdverseEventCorrectionIn, caller: DeferredApiCaller
) -> Response:
    return _created(
        caller.run(
            lambda s, a: AdverseEventOut.model_validate(
                outcomes.correct_adverse_event(
                    s,
                    a,
                    ae_id,
                    changes=body.changes.model_dump(exclude_unset=True),
                    reason=body.reason,
                )
            )
        )
    )


@router.post(
    "/adverse-events/{ae_id}/void",
    response_model=AdverseEventOut,
    status_code=201,
    summary="Withdraw an adverse event entered in error",
)
def void_ae(ae_id: PathId, body: ReasonIn, caller: DeferredApiCaller) -> Response:
    return _created(
        caller.run(
            lambda s, a: AdverseEventOut.model_validate(
                outcomes.void_adverse_event(s, a, ae_id, reason=body.reason)
            )
        )
    )


# ------------------------------------------------------------------------ efficacy
@router.get(
    "/patients/{patient_id}/efficacy",
    response_model=list[EfficacyOut],
    summary="A patient's efficacy assessments",
)
def list_efficacy(
    patient_id: PathId, caller: DeferredApiCaller, history: History = False
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
def record_efficacy(patient_id: PathId, body: EfficacyIn, caller: DeferredApiCaller) -> Response:
    return _created(
        caller.run(
            lambda s, a: EfficacyOut.model_validate(
                outcomes.record_efficacy(s, a, patient_id, **body.model_dump())
            )
        )
    )


@router.post(
    "/patients/{patient_id}/efficacy-assessments",
    response_model=EfficacyOut,
    status_code=201,
    summary="Record an efficacy assessment as components: score and response computed, the "
    "response proposed",
)
def assess_efficacy(
    patient_id: PathId, body: EfficacyComponentsIn, caller: DeferredApiCaller
) -> Response:
    return _created(
        caller.run(
            lambda s, a: EfficacyOut.model_validate(
                outcomes.assess_efficacy(s, a, patient_id, **body.model_dump())
            )
        )
    )


@router.post(
    "/efficacy/{assessment_id}/confirm",
    response_model=EfficacyOut,
    status_code=201,
    summary="Confirm the proposed response (a new version)",
)
def confirm_response(assessment_id: PathId, body: ConfirmIn, caller: DeferredApiCaller) -> Response:
    return _created(
        caller.run(
            lambda s, a: EfficacyOut.model_validate(
                outcomes.confirm_response(s, a, assessment_id, reason=body.reason)
            )
        )
    )


@router.post(
    "/efficacy/{assessment_id}/override",
    response_model=EfficacyOut,
    status_code=201,
    summary="Override the proposed response with a reason (a new version)",
)
def override_response(
    assessment_id: PathId, body: ResponseOverrideIn, caller: DeferredApiCaller
) -> Response:
    return _created(
        caller.run(
            lambda s, a: EfficacyOut.model_validate(
                outcomes.override_response(
                    s, a, assessment_id, responder=body.responder, reason=body.reason
                )
            )
        )
    )


@router.post(
    "/efficacy/{assessment_id}/correct",
    response_model=EfficacyOut,
    status_code=201,
    summary="Correct an efficacy assessment (a new version)",
)
def correct_efficacy(
    assessment_id: PathId, body: EfficacyCorrectionIn, caller: DeferredApiCaller
) -> Response:
    return _created(
        caller.run(
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
    )


@router.post(
    "/efficacy/{assessment_id}/void",
    response_model=EfficacyOut,
    status_code=201,
    summary="Withdraw an efficacy assessment entered in error",
)
def void_efficacy(assessment_id: PathId, body: ReasonIn, caller: DeferredApiCaller) -> Response:
    return _created(
        caller.run(
            lambda s, a: EfficacyOut.model_validate(
                outcomes.void_efficacy(s, a, assessment_id, reason=body.reason)
            )
        )
    )


# ------------------------------------------------------------------ DLT proposals
@router.get(
    "/patients/{patient_id}/dlt-proposals",
    response_model=list[DLTProposalOut],
    summary="A patient's DLT proposals (the last one is current)",
)
def list_proposals(patient_id: PathId, caller: DeferredApiCaller) -> list[DLTProposalOut]:
    return caller.run(
        lambda s, a: [
            DLTProposalOut.model_validate(x) for x in outcomes.list_proposals(s, a, patient_id)
        ]
    )


@router.post(
    "/patients/{patient_id}/dlt-proposals",
    response_model=DLTProposalOut,
    status_code=201,
    summary="Propose the patient's DLT call now (e.g. once the DLT window has closed)",
)
def propose(patient_id: PathId, caller: DeferredApiCaller) -> Response:
    return _created(
        caller.run(
            lambda s, a: DLTProposalOut.model_validate(outcomes.propose_dlt(s, a, patient_id))
        )
    )


@router.post(
    "/dlt-proposals/{proposal_id}/confirm",
    response_model=list[AdjudicationOut],
    status_code=201,
    summary="Confirm the proposed DLT call (it then feeds the dose decisions)",
)
def confirm_dlt(
    proposal_id: PathId, body: ConfirmIn, caller: DeferredApiCaller
) -> list[AdjudicationOut]:
    return caller.run(
        lambda s, a: [
            AdjudicationOut.model_validate(x)
            for x in outcomes.confirm_dlt(s, a, proposal_id, reason=body.reason)
        ]
    )


@router.post(
    "/dlt-proposals/{proposal_id}/override",
    response_model=AdjudicationOut,
    status_code=201,
    summary="Override the proposed DLT call with a reason",
)
def override_dlt(proposal_id: PathId, body: DLTOverrideIn, caller: DeferredApiCaller) -> Response:
    return _created(
        caller.run(
            lambda s, a: AdjudicationOut.model_validate(
                outcomes.override_dlt(s, a, proposal_id, **body.model_dump())
            )
        )
    )


# ---------------------------------------------------------------- DLT adjudication
@router.get(
    "/patients/{patient_id}/dlt-adjudications",
    response_model=list[AdjudicationOut],
    summary="A patient's DLT adjudications",
)
def list_adjudications(
    patient_id: PathId, caller: DeferredApiCaller, history: History = False
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
def adjudicate(patient_id: PathId, body: AdjudicationIn, caller: DeferredApiCaller) -> Response:
    return _created(
        caller.run(
            lambda s, a: AdjudicationOut.model_validate(
                outcomes.adjudicate_dlt(s, a, patient_id, **body.model_dump())
            )
        )
    )


@router.post(
    "/dlt-adjudications/{adjudication_id}/correct",
    response_model=AdjudicationOut,
    status_code=201,
    summary="Correct a DLT adjudication (a new version)",
)
def correct_adjudication(
    adjudication_id: PathId, body: AdjudicationCorrectionIn, caller: DeferredApiCaller
) -> Response:
    return _created(
        caller.run(
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
    )


@router.post(
    "/dlt-adjudications/{adjudication_id}/void",
    response_model=AdjudicationOut,
    status_code=201,
    summary="Withdraw a DLT adjudication entered in error",
)
def void_adjudication(
    adjudication_id: PathId, body: ReasonIn, caller: DeferredApiCaller
) -> Response:
    return _created(
        caller.run(
            lambda s, a: AdjudicationOut.model_validate(
                outcomes.void_adjudication(s, a, adjudication_id, reason=body.reason)
            )
        )
    )
