"""``/audit``: verify the hash chain, the certified copy, the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from doseladder.conduct.services import audit_log, exports
from doseladder.web.api.common import ERRORS
from doseladder.web.api.schemas import MAX_ID, AuditEventOut, VerifyOut
from doseladder.web.deps import ApiCaller
from doseladder.web.routing import PrefixRouter

__all__ = ["router"]

router = PrefixRouter(prefix="/audit", tags=["audit"], responses=ERRORS)


@router.get("/verify", response_model=VerifyOut, summary="Verify the chain and every table")
def verify(caller: ApiCaller) -> VerifyOut:
    return caller.run(lambda s, a: VerifyOut.model_validate(exports.verify_audit(s, a).to_dict()))


@router.get(
    "/certified-copy",
    response_model=dict[str, Any],
    summary="The whole trail with its head, verification and a SHA-256 certificate",
)
def certified_copy(caller: ApiCaller) -> dict[str, Any]:
    return caller.run(lambda s, a: exports.audit_copy(s, a))


@router.get(
    "/events",
    response_model=list[AuditEventOut],
    summary="The audit log, newest first (page with before_seq)",
)
def events(
    caller: ApiCaller,
    trial_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[AuditEventOut]:
    return caller.run(
        lambda s, a: [
            AuditEventOut.model_validate(e)
            for e in audit_log.list_audit_events(
                s, a, trial_id=trial_id, before_seq=before_seq, limit=limit
            )
        ]
    )
