"""Lymphodepletion administrations: record, list, correct and void (the service,
:mod:`doseladder.conduct.services.lymphodepletion`, checks and audits)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from doseladder.conduct.services import lymphodepletion
from doseladder.web.api.common import ERRORS, PathId
from doseladder.web.api.schemas import (
    LymphodepletionCorrectionIn,
    LymphodepletionIn,
    LymphodepletionOut,
    ReasonIn,
)
from doseladder.web.deps import ApiCaller
from doseladder.web.routing import PrefixRouter

__all__ = ["router"]

router = PrefixRouter(tags=["lymphodepletion"], responses=ERRORS)
History = Annotated[bool, Query(description="Include superseded versions.")]


@router.get(
    "/patients/{patient_id}/lymphodepletion",
    response_model=list[LymphodepletionOut],
    summary="A patient's recorded lymphodepletion administrations",
)
def list_doses(
    patient_id: PathId, caller: ApiCaller, history: History = False
) -> list[LymphodepletionOut]:
    return caller.run(
        lambda s, a: [
            LymphodepletionOut.model_validate(x)
            for x in lymphodepletion.list_lymphodepletion(s, a, patient_id, history=history)
        ]
    )


@router.post(
    "/patients/{patient_id}/lymphodepletion",
    response_model=LymphodepletionOut,
    status_code=201,
    summary="Record one administration of a regimen agent (what was given)",
)
def record_dose(
    patient_id: PathId, body: LymphodepletionIn, caller: ApiCaller
) -> LymphodepletionOut:
    return caller.run(
        lambda s, a: LymphodepletionOut.model_validate(
            lymphodepletion.record_lymphodepletion(s, a, patient_id, **body.model_dump())
        )
    )


@router.post(
    "/lymphodepletion/{record_id}/correct",
    response_model=LymphodepletionOut,
    status_code=201,
    summary="Correct a lymphodepletion administration (a new version, checked again)",
)
def correct_dose(
    record_id: PathId, body: LymphodepletionCorrectionIn, caller: ApiCaller
) -> LymphodepletionOut:
    return caller.run(
        lambda s, a: LymphodepletionOut.model_validate(
            lymphodepletion.correct_lymphodepletion(
                s,
                a,
                record_id,
                changes=body.changes.model_dump(exclude_unset=True),
                reason=body.reason,
            )
        )
    )


@router.post(
    "/lymphodepletion/{record_id}/void",
    response_model=LymphodepletionOut,
    status_code=201,
    summary="Withdraw a lymphodepletion administration entered in error",
)
def void_dose(record_id: PathId, body: ReasonIn, caller: ApiCaller) -> LymphodepletionOut:
    return caller.run(
        lambda s, a: LymphodepletionOut.model_validate(
            lymphodepletion.void_lymphodepletion(s, a, record_id, reason=body.reason)
        )
    )
