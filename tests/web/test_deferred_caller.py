"""The deferred token look-up of the outcome routes (``deps.DeferredApiCaller``): the token is
looked up in the route's worker thread instead of a thread of its own during FastAPI's
dependency solving.  Every answer -- status, body, headers -- must be the one the eager
look-up gives (``deps.api_caller``'s order: the token first, then the body and parameters),
for any mix of good and bad tokens, bodies, paths, queries and idempotency keys, and when
the look-up itself fails.  The eager reference is the same app with the deferred dependency
overridden by one that looks the token up at once, as ``api_caller`` does."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import pytest
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from doseladder.conduct.db import Database
from doseladder.conduct.errors import AuthenticationError
from doseladder.web import deps
from doseladder.web.deps import DeferredCaller, deferred_api_caller

from ..conduct.conftest import World
from .conftest import API, Api, Scene, login

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def eager_api_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(deps._bearer)],
) -> DeferredCaller:
    """The reference: ``api_caller``'s look-up, during the dependency solving."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("missing bearer token (Authorization: Bearer <token>)")
    caller = DeferredCaller(deps.get_db(request), credentials.credentials)
    caller.resolve()
    return caller


def answer(
    api: Api, eager: bool, method: str, path: str, headers: dict[str, str], body: Any
) -> Any:
    overrides = api.client.app.dependency_overrides  # type: ignore[attr-defined]
    if eager:
        overrides[deferred_api_caller] = eager_api_caller
    try:
        kw: dict[str, Any] = {"headers": headers}
        if isinstance(body, bytes):
            kw["content"] = body
            kw["headers"] = {**headers, "Content-Type": "application/json"}
        elif body is not None:
            kw["json"] = body
        return api.client.request(method, API + path, **kw)
    finally:
        overrides.pop(deferred_api_caller, None)


def same(a: Any, b: Any) -> None:
    assert a.status_code == b.status_code, (a.text, b.text)
    skip = {"date", "content-length"}
    assert {k: v for k, v in a.headers.items() if k not in skip} == {
        k: v for k, v in b.headers.items() if k not in skip
    }
    if a.status_code == 201:  # a new record each: the same fields
        assert sorted(a.json()) == sorted(b.json())
    else:
        assert a.json() == b.json()


# weighted towards what passes, so that every refusal also meets requests that get further
TOKENS = st.sampled_from(["none", "scheme", "garbage", "unknown", "revoked", "monitor"]) | st.just(
    "inv_a"
)
BODIES = st.sampled_from(["bad_grade", "unknown_field", "not_json", "missing"]) | st.sampled_from(
    ["good", "dlt"]
)
PATIENTS = st.sampled_from(["absent", "abc", "zero"]) | st.just("enrolled")
QUERIES = st.sampled_from(["?bogus=1", "?history=true", "?history=maybe"]) | st.just("")
METHODS = st.sampled_from(["POST", "GET"])


TODAY = [""]  # the world clock's date (set by the ``today`` fixture)


@pytest.fixture(autouse=True)
def today(world: World) -> None:
    TODAY[0] = world.clock.today().isoformat()


@pytest.fixture
def revoked(api: Api) -> str:
    token = login(api.client, "inv_a")
    r = api.client.post(f"{API}/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code < 300, r.text
    return token


def _headers(api: Api, token: str, revoked: str, keyed: bool) -> dict[str, str]:
    special: dict[str, dict[str, str]] = {
        "none": {},
        "scheme": {"Authorization": f"Basic {api.tokens['inv_a']}"},
        "garbage": {"Authorization": "Bearer not-a-token"},
        "unknown": {"Authorization": "Bearer dl_" + "x" * 40},
        "revoked": {"Authorization": f"Bearer {revoked}"},
    }
    headers = special[token] if token in special else api.headers(token)
    if keyed:
        headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    return headers


def _body(kind: str, today: str) -> Any:
    good = {"term": "rash", "grade": 1, "onset_date": today}
    return {
        "good": good,
        "dlt": {**good, "grade": 3, "dlt_candidate": True},
        "bad_grade": {**good, "grade": 9},
        "unknown_field": {**good, "colour": "red"},
        "not_json": b"{not json",
        "missing": None,
    }[kind]


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    token=TOKENS,
    body=BODIES,
    patient=PATIENTS,
    query=QUERIES,
    method=METHODS,
    keyed=st.booleans(),
)
def test_the_deferred_look_up_answers_as_the_eager_one(
    api: Api,
    scene: Scene,
    revoked: str,
    token: str,
    body: str,
    patient: str,
    query: str,
    method: str,
    keyed: bool,
) -> None:
    pid = {"enrolled": str(scene.enrolled), "absent": "999999", "abc": "abc", "zero": "0"}
    path = f"/patients/{pid[patient]}/adverse-events{query}"
    payload = _body(body, TODAY[0]) if method == "POST" else None
    count = len(api.get("inv_a", f"/patients/{scene.enrolled}/adverse-events").json())
    deferred = answer(api, False, method, path, _headers(api, token, revoked, keyed), payload)
    eager = answer(api, True, method, path, _headers(api, token, revoked, keyed), payload)
    same(deferred, eager)
    written = len(api.get("inv_a", f"/patients/{scene.enrolled}/adverse-events").json()) - count
    expected = 2 if (deferred.status_code == 201 and patient == "enrolled") else 0
    assert written == expected  # a refused request wrote nothing, in either mode


@pytest.mark.parametrize("body", ["good", "bad_grade", "not_json"])
@pytest.mark.parametrize("token", ["inv_a", "unknown"])
def test_a_failed_look_up_answers_as_the_eager_one(
    api: Api, scene: Scene, monkeypatch: pytest.MonkeyPatch, body: str, token: str
) -> None:
    """The database lost during the token's look-up: 503 with Retry-After in both modes (or
    the 422 of a body refused before any dependency ran, as before)."""
    headers = api.headers(token) if token == "inv_a" else {"Authorization": "Bearer dl_nope"}

    def lost(self: Database, fn: Any, **kw: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Database, "run_connection", lost)
    path = f"/patients/{scene.enrolled}/adverse-events"
    deferred = answer(api, False, "POST", path, headers, _body(body, TODAY[0]))
    eager = answer(api, True, "POST", path, headers, _body(body, TODAY[0]))
    same(deferred, eager)
    assert deferred.status_code == (422 if body == "not_json" else 503)


def test_the_write_route_looks_the_token_up_once_in_its_own_thread(
    api: Api, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One look-up per request, and no worker thread of its own for it: the look-up runs
    in the thread that then runs the write."""
    import threading

    seen: list[int] = []
    real = deps.resolve

    def spy(db: Database, token: str) -> Any:
        seen.append(threading.get_ident())
        return real(db, token)

    writes: list[int] = []
    real_run = DeferredCaller.run

    def run_spy(self: DeferredCaller, fn: Any) -> Any:
        writes.append(threading.get_ident())
        return real_run(self, fn)

    monkeypatch.setattr(deps, "resolve", spy)
    monkeypatch.setattr(DeferredCaller, "run", run_spy)
    r = api.post("inv_a", f"/patients/{scene.enrolled}/adverse-events", _body("good", TODAY[0]))
    assert r.status_code == 201, r.text
    assert len(seen) == 1 and seen == writes


def _deferred_routes(app: Any) -> list[Any]:
    """Every API route whose caller is a :class:`DeferredCaller` (anywhere in its
    dependencies), found from the app itself, so that a new route is covered at once."""
    from fastapi.routing import APIRoute

    def uses_deferred(dependant: Any) -> bool:
        return any(
            d.call is deferred_api_caller or uses_deferred(d) for d in dependant.dependencies
        )

    found: list[Any] = []

    def walk(routes: Any) -> None:
        for r in routes:
            if isinstance(r, APIRoute):
                if uses_deferred(r.dependant):
                    found.append(r)
            else:  # FastAPI's included routers (``original_router``), mounts (``routes``)
                inner = getattr(r, "original_router", None) or r
                walk(getattr(inner, "routes", ()))

    walk(app.routes)
    return found


@pytest.mark.parametrize("token", ["unknown", "revoked"])
def test_every_deferred_route_refuses_a_bad_token(
    api: Api, scene: Scene, revoked: str, token: str
) -> None:
    """Fail-closed pin: every route with a deferred look-up answers 401 to an unknown or
    revoked token -- with a valid and with an invalid body -- and writes nothing."""
    routes = _deferred_routes(api.client.app)
    assert len(routes) >= 10  # the outcome routes (a refactoring must not lose them silently)
    headers = _headers(api, token, revoked, keyed=False)
    ids = {"patient_id": scene.enrolled, "trial_id": scene.trial_id}
    for route in routes:
        path = route.path_format.removeprefix(API)
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", str(ids.get(name, scene.ae_id)))
        for method in sorted(route.methods - {"HEAD"}):
            for body in ({}, _body("good", TODAY[0]), b"{not json"):
                kw: dict[str, Any] = {"headers": headers}
                if method != "GET":
                    kw |= {"content": body} if isinstance(body, bytes) else {"json": body}
                r = api.client.request(method, API + path, **kw)
                assert r.status_code == 401, (method, path, body, r.status_code, r.text)


TRIALS = st.sampled_from(["absent", "abc", "zero"]) | st.just("trial")
READ_TOKENS = TOKENS | st.sampled_from(["inv_b", "stat"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    token=READ_TOKENS,
    trial=TRIALS,
    query=st.sampled_from(["?bogus=1", "?history=true"]) | st.just(""),
    method=st.sampled_from(["POST", "PUT"]) | st.just("GET"),
    keyed=st.booleans(),
)
def test_the_recommendation_answers_as_with_the_eager_look_up(
    api: Api, world: World, scene: Scene, revoked: str, token: str, trial: str, query: str,
    method: str, keyed: bool,
) -> None:  # fmt: skip
    """The dose recommendation (the read under load) looks its token up in its worker thread
    too: every answer -- 200, 401, 404, 405, 422 -- as with the look-up during the
    dependency solving."""
    tid = {"trial": str(scene.trial_id), "absent": "999999", "abc": "abc", "zero": "0"}[trial]
    path = f"/trials/{tid}/recommendation{query}"
    start = world.clock.t  # both answered at the same instants (the recommendation says when)
    deferred = answer(api, False, method, path, _headers(api, token, revoked, keyed), None)
    world.clock.t = start
    eager = answer(api, True, method, path, _headers(api, token, revoked, keyed), None)
    same(deferred, eager)
    assert deferred.content == eager.content


def test_the_recommendation_reads_in_one_worker_thread(
    api: Api, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token's look-up, the read and the answer's serialisation run in one worker
    thread (not the event loop's, not one each), and the token is looked up once."""
    import threading

    from doseladder.web.api import common

    seen: dict[str, list[int]] = {"resolve": [], "read": [], "serialise": []}
    real_resolve, real_read, real_serialise = (
        deps.resolve,
        DeferredCaller.read,
        common.model_response,
    )

    def resolve(db: Database, token: str) -> Any:
        seen["resolve"].append(threading.get_ident())
        return real_resolve(db, token)

    def read(self: DeferredCaller, fn: Any) -> Any:
        seen["read"].append(threading.get_ident())
        return real_read(self, fn)

    def serialise(value: Any, status_code: int) -> Any:
        seen["serialise"].append(threading.get_ident())
        return real_serialise(value, status_code)

    from doseladder.web.api import decisions as decisions_api

    monkeypatch.setattr(deps, "resolve", resolve)
    monkeypatch.setattr(DeferredCaller, "read", read)
    monkeypatch.setattr(decisions_api, "model_response", serialise)
    r = api.get("inv_a", f"/trials/{scene.trial_id}/recommendation")
    assert r.status_code == 200, r.text
    assert len(seen["resolve"]) == 1
    assert seen["resolve"] == seen["read"] == seen["serialise"]
    assert seen["read"][0] != threading.get_ident()
