"""``/trials/{id}/opening-checklist`` and ``/trials/{id}/opening-acknowledgements``: the
opening guard (:mod:`doseladder.conduct.services.opening_guard`).

A trial opens only when every placeholder dose and unresolved review item of its current
protocol is resolved by an amendment or acknowledged by an administrator and a statistician
(two different people), each with a reason.  The checklist lists the items with the
acknowledgements that stand for them; an acknowledgement is posted by item id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel
from sqlalchemy.orm import Session

from doseladder.conduct.security import Actor
from doseladder.conduct.services import opening_guard
from doseladder.web.api.common import ERRORS, PathId
from doseladder.web.api.schemas import CLEAN, In, Reason, Text
from doseladder.web.deps import ApiCaller
from doseladder.web.routing import PrefixRouter

__all__ = ["AcknowledgementIn", "AcknowledgementOut", "OpeningItemOut", "router"]

router = PrefixRouter(tags=["trials"], responses=ERRORS)


class AcknowledgementIn(In):
    """Acknowledge one item of the opening checklist (its ``id``) with a reason."""

    item: Annotated[str, Text(200), CLEAN]
    reason: Reason


class AcknowledgementOut(BaseModel):
    """One acknowledgement: who, in which role, why, when, under which protocol version."""

    id: int
    item: str
    role: str
    user_id: int
    username: str
    display_name: str | None
    reason: str
    acknowledged_at: datetime
    protocol_version: int


class OpeningItemOut(BaseModel):
    """An item of the current protocol that must be resolved or acknowledged before opening."""

    id: str
    kind: str
    where: str
    text: str
    acknowledgements: list[AcknowledgementOut]
    missing: list[str]
    cleared: bool


@router.get(
    "/trials/{trial_id}/opening-checklist",
    response_model=list[OpeningItemOut],
    summary="The items that keep the trial from opening, with their acknowledgements",
)
def checklist(trial_id: PathId, caller: ApiCaller) -> list[OpeningItemOut]:
    return caller.run(
        lambda s, a: [
            OpeningItemOut.model_validate(x.to_dict())
            for x in opening_guard.checklist(s, a, trial_id)
        ]
    )


@router.post(
    "/trials/{trial_id}/opening-acknowledgements",
    response_model=AcknowledgementOut,
    status_code=201,
    summary="Acknowledge an item of the opening checklist (admin or statistician, with reason)",
)
def acknowledge(trial_id: PathId, body: AcknowledgementIn, caller: ApiCaller) -> AcknowledgementOut:
    def run(s: Session, a: Actor) -> AcknowledgementOut:
        row = opening_guard.acknowledge(s, a, trial_id, item=body.item, reason=body.reason)
        status = next(x for x in opening_guard.checklist(s, a, trial_id) if x.item.id == row.item)
        ack = next(x for x in status.acknowledgements if x.id == row.id)
        return AcknowledgementOut.model_validate(ack.to_dict())

    return caller.run(run)
