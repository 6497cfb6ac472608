"""PrefixRouter: a request outside a router's first path segments is refused without trying
its patterns, and the answer is the one FastAPI's own matching gives."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

from doseladder.web.routing import PrefixRouter


def _app(router_class: type[APIRouter]) -> tuple[FastAPI, APIRouter, APIRouter]:
    outer = router_class()
    inner = router_class()

    @inner.get("/patients/{pid}/events")
    def events(pid: int) -> dict[str, Any]:
        return {"pid": pid}

    @inner.post("/patients/{pid}/events")
    def add_event(pid: int) -> dict[str, Any]:
        return {"added": pid}

    other = router_class(prefix="/audit")

    @other.get("/log")
    def log() -> dict[str, Any]:
        return {"log": True}

    outer.include_router(inner)
    outer.include_router(other)
    app = FastAPI()
    app.include_router(outer, prefix="/api/v1")

    @app.get("/api/v1x/patients/{pid}/events")
    def lookalike(pid: int) -> dict[str, Any]:
        return {"lookalike": pid}

    return app, outer, inner


REQUESTS = [
    ("GET", "/api/v1/patients/3/events"),
    ("POST", "/api/v1/patients/3/events"),
    ("DELETE", "/api/v1/patients/3/events"),  # 405
    ("GET", "/api/v1/audit/log"),
    ("GET", "/api/v1/audit/nothing"),
    ("GET", "/api/v1/trials/3"),
    ("GET", "/api/v1"),
    ("GET", "/api/v1/"),
    ("GET", "/api/v1x/patients/4/events"),
    ("GET", "/api/v1patients/3/events"),
    ("GET", "/elsewhere"),
]


def test_same_answers_as_fastapi_routing() -> None:
    plain = TestClient(_app(APIRouter)[0])
    prefixed = TestClient(_app(PrefixRouter)[0])
    for method, path in REQUESTS:
        a, b = plain.request(method, path), prefixed.request(method, path)
        assert (b.status_code, b.json(), b.headers.get("allow")) == (
            a.status_code,
            a.json(),
            a.headers.get("allow"),
        ), (method, path)
    assert prefixed.get("/api/v1/patients/3/events").json() == {"pid": 3}
    assert prefixed.get("/api/v1/audit/log").json() == {"log": True}
    assert prefixed.delete("/api/v1/patients/3/events").status_code == 405


def test_without_fastapis_private_lookup_it_matches_as_a_plain_router(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another FastAPI release without ``_get_scope_included_router``: same answers, no
    shortcut (never an error on every request)."""
    from doseladder.web import routing

    monkeypatch.setattr(routing, "_included_router_of", None)
    plain = TestClient(_app(APIRouter)[0])
    prefixed = TestClient(_app(PrefixRouter)[0])
    for method, path in REQUESTS:
        a, b = plain.request(method, path), prefixed.request(method, path)
        assert (b.status_code, b.json()) == (a.status_code, a.json()), (method, path)


def test_refuses_outside_its_first_segments_without_matching() -> None:
    app, outer, inner = _app(PrefixRouter)
    assert isinstance(outer, PrefixRouter)
    assert outer._heads_for("/api/v1") == frozenset({"patients", "audit"})
    tried: list[str] = []
    original = inner.routes[0].matches

    def spy(scope: Any) -> Any:
        tried.append(scope["path"])
        return original(scope)

    inner.routes[0].matches = spy  # type: ignore[method-assign]
    client = TestClient(app)
    assert client.get("/api/v1/audit/log").status_code == 200
    assert client.get("/api/v1/trials/1").status_code == 404
    assert tried == []  # the patients routes were never tried
    scope = {"type": "http", "method": "GET", "path": "/elsewhere", "root_path": ""}
    assert outer.matches(scope) == (Match.NONE, {})


def test_a_route_added_later_is_found() -> None:
    app, outer, _ = _app(PrefixRouter)
    client = TestClient(app)
    assert client.get("/api/v1/sites").status_code == 404

    @outer.get("/sites")
    def sites() -> list[str]:
        return ["S1"]

    assert client.get("/api/v1/sites").json() == ["S1"]


def test_a_parameter_first_segment_is_never_filtered() -> None:
    router = PrefixRouter()

    @router.get("/{anything}/x")
    def anything(anything: str) -> str:
        return anything

    app = FastAPI()
    app.include_router(router, prefix="/p")
    assert router._heads_for("/p") is None
    assert TestClient(app).get("/p/abc/x").json() == "abc"


def _tries(router_class: type[APIRouter], method: str, path: str) -> tuple[int, list[str]]:
    """(status, the paths each pattern of the patients routes was tried with)."""
    app, _, inner = _app(router_class)
    tried: list[str] = []
    for route in inner.routes:
        original = route.matches

        def spy(scope: Any, original: Any = original) -> Any:
            tried.append(scope["path"])
            return original(scope)

        route.matches = spy  # type: ignore[method-assign]
    return TestClient(app).request(method, path).status_code, tried


def test_the_chosen_branch_is_matched_once() -> None:
    # FastAPI alone tries each pattern of the chosen branch again and again: choosing the outer
    # branch, running it, then running the inner one
    status, tried = _tries(APIRouter, "POST", "/api/v1/patients/3/events")
    assert status == 200 and len(tried) == 6
    # a PrefixRouter branch remembers its answer for the request: each pattern tried once
    status, tried = _tries(PrefixRouter, "POST", "/api/v1/patients/3/events")
    assert status == 200 and tried == ["/api/v1/patients/3/events"] * 2
    status, tried = _tries(PrefixRouter, "DELETE", "/api/v1/patients/3/events")
    assert status == 405 and len(tried) == 2


def test_a_remembered_match_is_per_request() -> None:
    app, _, _ = _app(PrefixRouter)
    client = TestClient(app)
    for pid in (1, 2, 3):
        assert client.get(f"/api/v1/patients/{pid}/events").json() == {"pid": pid}
        assert client.post(f"/api/v1/patients/{pid}/events").json() == {"added": pid}
    assert client.get("/api/v1/audit/log").json() == {"log": True}
