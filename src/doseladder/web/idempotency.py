"""``Idempotency-Key`` for every API POST: a retried request returns the first result without
writing again.

The middleware looks the key up per user (the bearer token's user).  A new key is *claimed*
inside the request's own write transaction (:meth:`~doseladder.web.deps.Caller.run` inserts
the ``idempotency_keys`` row with the request's SHA-256), so the write and the claim commit
together or not at all; the response is stored after.  A retry with the same key and the same
request gets the stored response (header ``Idempotent-Replayed: true``); with another request
422; while the first is in flight -- or if its response was lost after the write committed --
409, and nothing is written twice.  Requests that wrote nothing (errors) are not remembered.
If the database fails while the key is looked up, the app answers 503 (see ``create_app``); if
it fails while the response is stored, after the write committed, the response is still sent.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from anyio.to_thread import run_sync
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm import Session

from doseladder.conduct.db import Database
from doseladder.conduct.models import ApiToken, IdempotencyRecord
from doseladder.conduct.security import token_digest

__all__ = ["HEADER", "Claim", "claim_in", "idempotency_middleware"]

HEADER = "Idempotency-Key"
log = logging.getLogger("doseladder.web.idempotency")
_CLAIM: ContextVar[Claim | None] = ContextVar("doseladder_idempotency", default=None)


@dataclass
class Claim:
    """The idempotency key of the current request, claimed by its first write transaction."""

    user_id: int
    key: str
    request_sha256: str
    claimed: bool = False


def claim_in(session: Session, user_id: int | None) -> Claim | None:
    """Insert the current request's key (if any, for this user) into ``session``'s
    transaction; the caller marks it claimed once the transaction committed."""
    claim = _CLAIM.get()
    if claim is None or claim.claimed or claim.user_id != user_id:
        return None
    clock = session.info.get("clock")
    session.execute(
        insert(IdempotencyRecord).values(
            user_id=claim.user_id,
            key=claim.key,
            request_sha256=claim.request_sha256,
            created_at=clock() if clock is not None else None,
        )
    )
    return claim


def _error(status: int, field: str, reason: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": "conflict" if status == 409 else "invalid",
            "message": f"{field}: {reason}",
            "field": field,
            "reason": reason,
        },
        status_code=status,
    )


def _lookup(db: Database, token: str, key: str) -> tuple[int | None, IdempotencyRecord | None]:
    with db.session() as s:
        user_id = s.scalar(
            select(ApiToken.user_id).where(ApiToken.token_digest == token_digest(token))
        )
        if user_id is None:
            return None, None
        row = s.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
            )
        ).first()
        if row is not None:
            s.expunge(row)
        return int(user_id), row


def _store(db: Database, claim: Claim, status: int, body: bytes) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.user_id == claim.user_id, IdempotencyRecord.key == claim.key)
            .values(status_code=status, response=body.decode("utf-8", "replace"))
        )


async def idempotency_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]], api_prefix: str
) -> Response:
    """The HTTP middleware (see the module docs)."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or not request.url.path.startswith(api_prefix):
        return await call_next(request)
    if not 1 <= len(key) <= 200 or not key.isprintable():
        return _error(422, "header.Idempotency-Key", "must be 1-200 printable characters")
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return await call_next(request)  # unauthenticated (login): nothing to remember
    body = await request.body()
    digest = hashlib.sha256(
        b"\n".join(
            [request.method.encode(), request.url.path.encode(), request.url.query.encode(), body]
        )
    ).hexdigest()
    db: Database = request.app.state.db
    user_id, row = await run_sync(_lookup, db, auth[7:].strip(), key)
    if user_id is None:
        return await call_next(request)
    if row is not None:
        if row.request_sha256 != digest:
            return _error(
                422, "header.Idempotency-Key", "already used for a different request; use a new key"
            )
        if row.status_code is None or row.response is None:
            return _error(
                409,
                "header.Idempotency-Key",
                "a request with this key was already applied (in progress, or its "
                "response was lost); nothing was written again -- reload to see it",
            )
        return Response(
            row.response,
            status_code=row.status_code,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    claim = Claim(user_id=user_id, key=key, request_sha256=digest)
    token = _CLAIM.set(claim)
    try:
        response = await call_next(request)
    finally:
        _CLAIM.reset(token)
    if not claim.claimed:
        return response
    chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
    content = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
    try:
        await run_sync(_store, db, claim, response.status_code, content)
    except (DBAPIError, SATimeoutError) as exc:
        # the write committed: answer it; a retry with the key gets 409 (never a second write)
        log.warning("could not store the response of idempotency key %r: %s", claim.key, exc)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(content, status_code=response.status_code, headers=headers)
