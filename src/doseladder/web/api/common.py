"""Shared pieces of the API routers: documented error responses, path parameters, the JSON
answer of a route that serialises its model itself."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Response
from pydantic import BaseModel, TypeAdapter

from doseladder.web.api.schemas import MAX_ID, ErrorOut

__all__ = ["ERRORS", "PathId", "model_response"]

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

_ADAPTERS: dict[type[BaseModel], TypeAdapter[Any]] = {}


def model_response(value: BaseModel, status_code: int) -> Response:
    """The answer of a synchronous route declared with ``response_model=type(value)``,
    serialised in the route's worker thread as FastAPI serialises a returned
    ``response_model`` (validated from attributes, then Pydantic's ``dump_json`` by alias;
    ``application/json``): the same bytes and headers -- without FastAPI's own pass, which
    validates a synchronous route's answer in another worker thread (a thread hop per
    request) before serialising it on the event loop.  The route keeps its
    ``response_model`` (the OpenAPI document is unchanged)."""
    model = type(value)
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    body = adapter.dump_json(adapter.validate_python(value, from_attributes=True), by_alias=True)
    return Response(content=body, status_code=status_code, media_type="application/json")
