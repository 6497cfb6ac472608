"""The JSON API routers (one module per concept), mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from doseladder.web.api import (
    audit,
    auth,
    decisions,
    exports,
    lymphodepletion,
    opening,
    outcomes,
    patients,
    sites,
    trials,
    users,
)
from doseladder.web.routing import PrefixRouter

__all__ = ["api_router"]


async def refuse_unknown_query(request: Request) -> None:
    """Refuse a query parameter the operation does not declare (422 naming it): a misspelt
    filter (``?histroy=true``) must not silently return the unfiltered answer, and the
    OpenAPI document's parameter list is then the whole truth (schemathesis ST201).

    ``async`` (it never blocks): FastAPI would run a plain ``def`` in a worker thread."""
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known: set[str] = set()
    todo = [dependant]
    while todo:  # the operation's and its dependencies' query parameters
        dep = todo.pop()
        known.update(p.alias for p in dep.query_params)
        todo.extend(dep.dependencies)
    for name in request.query_params:
        if name not in known:
            raise RequestValidationError(
                [
                    {
                        "type": "extra_forbidden",
                        "loc": ("query", name),
                        "msg": "unknown query parameter",
                        "input": request.query_params.get(name),
                    }
                ]
            )


api_router = PrefixRouter(dependencies=[Depends(refuse_unknown_query)])
for _module in (
    auth,
    sites,
    users,
    trials,
    opening,
    patients,
    outcomes,
    lymphodepletion,
    decisions,
    audit,
    exports,
):
    api_router.include_router(_module.router)
