"""Dose decisions: the recommendation now, recorded decisions, overrides, committee sign-off,
the decision history and replay.  Every dose comes from the core through the services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import StrictBool
from sqlalchemy.orm import Session

from doseladder.conduct.security import Actor
from doseladder.conduct.services import decisions, enrolment_gate, final_selection
from doseladder.web.api.common import ERRORS, PathId, model_response
from doseladder.web.api.schemas import (
    CLEAN,
    DecisionIn,
    DecisionOut,
    ESignatureIn,
    OverrideIn,
    RecommendationOut,
    ReplayOut,
    SignoffIn,
    SignoffOut,
    SlotsOut,
    Text,
)
from doseladder.web.deps import ApiCaller, DeferredApiCaller
from doseladder.web.routing import PrefixRouter

__all__ = ["router"]

router = PrefixRouter(tags=["decisions"], responses=ERRORS)
IndicationName = Annotated[str, Text(64), CLEAN]


@router.get(
    "/trials/{trial_id}/recommendation",
    response_model=RecommendationOut,
    summary="The next dose for every indication now, with the reasoning (not recorded)",
)
def recommendation(trial_id: PathId, caller: DeferredApiCaller) -> Response:
    # one worker-thread hop per read: the token is looked up in the route's thread
    # (``DeferredApiCaller``) and the answer serialised there (``model_response``)
    return model_response(
        caller.read(
            lambda s, a: RecommendationOut.model_validate(
                decisions.recommend(s, a, trial_id).to_dict()
            )
        ),
        200,
    )


@router.get(
    "/trials/{trial_id}/slots",
    response_model=list[SlotsOut],
    summary="Enrolment slots open now: the latest decision's escalation slots and the "
    "backfill slots per open dose",
)
def slots(trial_id: PathId, caller: ApiCaller) -> list[SlotsOut]:
    return caller.read(
        lambda s, a: [SlotsOut.model_validate(x) for x in enrolment_gate.open_slots(s, a, trial_id)]
    )


@router.get(
    "/trials/{trial_id}/decisions",
    response_model=list[DecisionOut],
    summary="The decision history, oldest first",
)
def history(
    trial_id: PathId,
    caller: ApiCaller,
    indication: Annotated[
        Annotated[str, Text(64), CLEAN] | None,
        Query(description="Only this indication's decisions."),
    ] = None,
) -> list[DecisionOut]:
    def run(s: Session, a: Actor) -> list[DecisionOut]:
        rows = decisions.list_decisions(s, a, trial_id, indication=indication)
        return [DecisionOut.model_validate(decisions.decision_view(s, a, d)) for d in rows]

    return caller.run(run)


@router.post(
    "/trials/{trial_id}/decisions",
    response_model=DecisionOut,
    status_code=201,
    summary="Compute and record the decision for one indication (opens a cohort)",
)
def record(trial_id: PathId, body: DecisionIn, caller: ApiCaller) -> DecisionOut:
    def run(s: Session, a: Actor) -> DecisionOut:
        d = decisions.record_decision(s, a, trial_id, indication=body.indication)
        return DecisionOut.model_validate(decisions.decision_view(s, a, d))

    return caller.run(run)


@router.post(
    "/trials/{trial_id}/decisions/override",
    response_model=DecisionOut,
    status_code=201,
    summary="Record a decision at another dose than the design's, with the reason",
)
def override(trial_id: PathId, body: OverrideIn, caller: ApiCaller) -> DecisionOut:
    def run(s: Session, a: Actor) -> DecisionOut:
        d = decisions.override_decision(
            s,
            a,
            trial_id,
            dose_level=body.dose_level,
            reason=body.reason,
            indication=body.indication,
            slots=body.slots,
            justification=body.justification,
        )
        return DecisionOut.model_validate(decisions.decision_view(s, a, d))

    return caller.run(run)


@router.get("/decisions/{decision_id}", response_model=DecisionOut, summary="One decision")
def get_decision(decision_id: PathId, caller: ApiCaller) -> DecisionOut:
    def run(s: Session, a: Actor) -> DecisionOut:
        d = decisions.get_decision(s, a, decision_id)
        return DecisionOut.model_validate(decisions.decision_view(s, a, d))

    return caller.run(run)


@router.post(
    "/decisions/{decision_id}/signoff",
    response_model=SignoffOut,
    status_code=201,
    summary="The safety review committee's approval or rejection",
)
def sign_off(decision_id: PathId, body: SignoffIn, caller: ApiCaller) -> SignoffOut:
    return caller.run(
        lambda s, a: SignoffOut.model_validate(
            decisions.sign_off(
                s,
                a,
                decision_id,
                approve=body.approve,
                comment=body.comment,
                password=body.password,
                printed_name=body.printed_name,
            )
        )
    )


@router.get(
    "/decisions/{decision_id}/replay",
    response_model=ReplayOut,
    summary="Recompute a decision from its stored inputs and the data as they stood",
)
def replay(decision_id: PathId, caller: ApiCaller) -> ReplayOut:
    return caller.run(
        lambda s, a: ReplayOut.model_validate(
            decisions.replay_decision(s, a, decision_id).to_dict()
        )
    )


# ------------------------------------------------------------------ end of trial
class FinalSignIn(ESignatureIn):
    approve: StrictBool = True
    comment: Annotated[str, Text(2000), CLEAN] | None = None


@router.get(
    "/trials/{trial_id}/end-of-trial",
    summary="The stop in force, outcomes still pending, the final selection and its signatures",
)
def end_of_trial(trial_id: PathId, caller: ApiCaller) -> dict[str, Any]:
    return caller.run(lambda s, a: final_selection.end_of_trial(s, a, trial_id))


@router.post(
    "/trials/{trial_id}/final-selection",
    status_code=201,
    summary="Compute and record the final MTD/OBD of the driving cohort (design stopped)",
)
def compute_final(trial_id: PathId, caller: ApiCaller) -> dict[str, Any]:
    def run(s: Session, a: Actor) -> dict[str, Any]:
        row = final_selection.compute_final_selection(s, a, trial_id)
        return final_selection.selection_view(s, row)

    return caller.run(run)


@router.post(
    "/final-selections/{selection_id}/sign",
    status_code=201,
    summary="One electronic signature of the final selection (two people; never its author)",
)
def sign_final(selection_id: PathId, body: FinalSignIn, caller: ApiCaller) -> dict[str, Any]:
    return caller.run(
        lambda s, a: final_selection.sign_final_selection(
            s,
            a,
            selection_id,
            password=body.password,
            printed_name=body.printed_name,
            approve=body.approve,
            comment=body.comment,
        )
    )
