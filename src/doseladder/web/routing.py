"""A router that refuses at once a request outside its paths (route matching per request).

FastAPI (0.16x) keeps an included router as a branch and matches a request by trying every
route of every branch in turn -- twice, once to choose the route and once to run it -- so a
write to ``/api/v1/patients/{id}/adverse-events`` tried some 85 path patterns before it ran.
A :class:`PrefixRouter` knows the first path segment (after its include prefix) of every
route under it and answers "no match" for a path whose first segment none of them has, without
trying a pattern; a request then matches within its own branch only.  The answer is the one the
patterns would give: every route's pattern starts with its literal first segment, and a router
with a route whose path starts with a parameter (``/{x}``) is never filtered.

The first segments are collected when the router first matches a request under a prefix and
again whenever a route is added to it; a router included in it must have its routes before
that (as the API's routers do: each module declares its routes when imported).

FastAPI also matches the chosen branch twice: once to choose it (``matches``) and again when
it runs it (``_handle_selected``).  A branch of a :class:`PrefixRouter` remembers, in the
request's scope, its answer for the request's path and method, so the second look is a
dictionary read (the same answer: the scope's path, method and the routes have not changed in
between; another path, e.g. a redirect's, is matched afresh).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi import routing as fastapi_routing
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

__all__ = ["PrefixRouter"]

_ANY = None  # the heads of a router that cannot be filtered

#: FastAPI's (private, 0.16x) look-up of the included-router branch a request is being matched
#: in; without it (another FastAPI release) a PrefixRouter matches as a plain APIRouter: the
#: same answers, only without the shortcut (tests/web/test_routing.py pins both)
_included_router_of: Callable[[Scope], Any] | None = getattr(
    fastapi_routing, "_get_scope_included_router", None
)

#: scope key: each branch's remembered match of this request (see the module docs)
_MATCHED = "doseladder.matched"

_MatchResult = tuple[Any, ...]


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def _leaf_paths(router: APIRouter, prefix: str = "") -> Iterator[str | None]:
    """The path of every route under ``router`` relative to it (``None``: a route without a
    path, which disables the filter)."""
    for route in router.routes:
        original = getattr(route, "original_router", None)
        if isinstance(original, APIRouter):  # an included branch
            context = getattr(route, "include_context", None)
            yield from _leaf_paths(original, prefix + str(getattr(context, "prefix", "")))
        else:
            path = getattr(route, "path", None)
            yield None if not isinstance(path, str) else prefix + path


def _match_key(scope: Scope) -> tuple[Any, ...]:
    return (scope.get("type"), scope.get("method"), scope.get("path"), scope.get("root_path"))


def _remembering_match(branch: Any) -> Callable[[Scope], _MatchResult]:
    """``branch._match`` (FastAPI's), its answer remembered in the request's scope."""
    match = type(branch)._match

    def remembered(scope: Scope) -> _MatchResult:
        memo: dict[int, tuple[Any, tuple[Any, ...], _MatchResult]] = scope.setdefault(_MATCHED, {})
        key = _match_key(scope)
        hit = memo.get(id(branch))
        if hit is not None and hit[0] is branch and hit[1] == key:
            return hit[2]
        result: _MatchResult = match(branch, scope)
        memo[id(branch)] = (branch, key, result)
        return result

    return remembered


class PrefixRouter(APIRouter):
    """An :class:`~fastapi.APIRouter` whose included branch answers "no match" at once for a
    path outside its routes' first segments (see the module docs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heads: dict[str, frozenset[str] | None] = {}

    def _mark_routes_changed(self) -> None:
        super()._mark_routes_changed()
        self._heads = {}

    def _heads_for(self, prefix: str) -> frozenset[str] | None:
        """The first segments of the paths under ``prefix`` (``None``: not filtered)."""
        if prefix not in self._heads:
            paths = list(_leaf_paths(self))
            if any(p is None or _first_segment(p).startswith("{") for p in paths):
                self._heads[prefix] = _ANY
            else:
                self._heads[prefix] = frozenset(_first_segment(str(p)) for p in paths)
        return self._heads[prefix]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        included = _included_router_of(scope) if _included_router_of is not None else None
        context = getattr(included, "include_context", None)
        if (
            included is not None
            and context is not None
            and getattr(included, "original_router", None) is self
        ):
            if "_match" not in vars(included) and hasattr(type(included), "_match"):
                included._match = _remembering_match(included)
            prefix = str(context.prefix)
            heads = self._heads_for(prefix)
            if heads is not _ANY:
                path = get_route_path(scope)
                if not path.startswith(prefix) or (
                    _first_segment(path[len(prefix) :]) not in heads
                ):
                    return Match.NONE, {}
        return super().matches(scope)
