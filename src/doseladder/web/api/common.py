"""Shared pieces of the API routers: documented error responses, path parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from doseladder.web.api.schemas import MAX_ID, ErrorOut

__all__ = ["ERRORS", "PathId"]

#: error responses every authenticated operation may give (documented in the OpenAPI spec)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not authenticated (missing or invalid token)."},
    403: {"model": ErrorOut, "description": "The role or site may not do this."},
    404: {"model": ErrorOut, "description": "No such record (or not visible to the caller)."},
    409: {"model": ErrorOut, "description": "Conflicts with the trial's current state."},
    422: {"model": ErrorOut, "description": "Bad input: `field` and `reason` say what."},
    503: {
        "model": ErrorOut,
        "description": "The database is temporarily unavailable; retry after `Retry-After` "
        "seconds (POSTs with an `Idempotency-Key` are safe to retry).",
    },
}

#: a record id in a path
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="Record id.")]
