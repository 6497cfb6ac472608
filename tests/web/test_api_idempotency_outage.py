"""Faults never surface as 500 or duplicates: a retried POST with the same Idempotency-Key
writes once and returns the first result; a database outage answers 503 with Retry-After;
a lost connection is retried once where safe, never after an uncertain COMMIT."""

from __future__ import annotations

from typing import Any

import psycopg.errors
import pytest
from sqlalchemy.exc import OperationalError

from doseladder.conduct import Database
from doseladder.conduct.db import is_unavailable
from doseladder.conduct.models import AdverseEvent
from doseladder.conduct.services import outcomes
from doseladder.web import idempotency

from .conftest import Api, Scene, World


def _ae(api: Api, scene: Scene, world: World, key: str | None, term: str = "rash") -> Any:
    headers = api.headers("inv_a")
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.client.post(
        f"/api/v1/patients/{scene.enrolled}/adverse-events",
        json={"term": term, "grade": 1, "onset_date": world.clock.today().isoformat()},
        headers=headers,
    )


def test_retried_post_with_the_same_key_writes_once(api: Api, scene: Scene, world: World) -> None:
    before = world.count(AdverseEvent)
    first = _ae(api, scene, world, "key-0001")
    assert first.status_code == 201, first.text
    again = _ae(api, scene, world, "key-0001")
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert world.count(AdverseEvent) == before + 1
    # the same key for another request is refused; a new key writes again
    other = _ae(api, scene, world, "key-0001", term="fever")
    assert other.status_code == 422 and "different request" in other.json()["reason"]
    assert _ae(api, scene, world, "key-0002").status_code == 201
    assert _ae(api, scene, world, None).status_code == 201  # no key: no protection
    assert world.count(AdverseEvent) == before + 3
    # keys are per user: another user's identical key is another request
    assert api.get("monitor", "/audit/verify").json()["ok"]


def test_a_failed_request_is_not_remembered(
    api: Api, scene: Scene, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = outcomes.record_adverse_event

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT", {}, psycopg.errors.AdminShutdown("terminating"))

    monkeypatch.setattr(outcomes, "record_adverse_event", fails)
    before = world.count(AdverseEvent)
    r = _ae(api, scene, world, "key-0003")
    assert r.status_code == 503, r.text
    monkeypatch.setattr(outcomes, "record_adverse_event", real)
    assert _ae(api, scene, world, "key-0003").status_code == 201
    assert world.count(AdverseEvent) == before + 1


def test_a_lost_response_is_never_written_twice(
    api: Api, scene: Scene, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write commits, then the server fails before storing the response (the client sees
    an error); the retry must not write again."""

    def crash(*args: Any) -> None:
        raise RuntimeError("process killed after the commit")

    monkeypatch.setattr(idempotency, "_store", crash)
    before = world.count(AdverseEvent)
    assert _ae(api, scene, world, "key-0004").status_code == 500
    monkeypatch.undo()
    retry = _ae(api, scene, world, "key-0004")
    assert retry.status_code == 409 and "already applied" in retry.json()["reason"]
    assert world.count(AdverseEvent) == before + 1


def test_bad_idempotency_keys_are_refused(api: Api, scene: Scene, world: World) -> None:
    r = _ae(api, scene, world, "x" * 201)
    assert r.status_code == 422 and r.json()["field"] == "header.Idempotency-Key"


def _outage(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("terminating connection"))


def test_database_outage_answers_503_not_500(
    api: Api, scene: Scene, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Database, "run", _outage)
    rec = api.get("stat", f"/trials/{scene.trial_id}/recommendation")
    post = _ae(api, scene, world, "key-0005")
    api.client.cookies.set("doseladder_session", api.tokens["stat"])
    page = api.client.get("/")  # the web interface (logged in)
    for r in (rec, post, page):
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0


def test_lost_connection_is_retried_once_but_not_after_commit(world: World) -> None:
    calls: list[int] = []

    def flaky(s: Any) -> int:
        calls.append(1)
        if len(calls) == 1:
            _outage()
        return 7

    assert world.db.run(flaky) == 7 and len(calls) == 2
    calls.clear()

    def always(s: Any) -> int:
        calls.append(1)
        _outage()
        return 0

    with pytest.raises(OperationalError) as err:
        world.db.run(always)
    assert len(calls) == 2 and is_unavailable(err.value)

    # a failure of COMMIT itself (the outcome is unknown) is not retried
    calls.clear()
    session_class = type(world.db.session())
    real_commit = session_class.commit

    def commit_fails(self: Any) -> None:
        calls.append(1)
        _outage()

    session_class.commit = commit_fails  # type: ignore[method-assign]
    try:
        with pytest.raises(OperationalError):
            world.db.run(lambda s: 1)
    finally:
        session_class.commit = real_commit  # type: ignore[method-assign]
    assert len(calls) == 1
