"""Two app instances (two server processes) on one database: the recommendation one serves
from its cache is never stale after a write through the other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from doseladder.conduct import Database
from doseladder.web import create_app

from .conftest import API, Api, Clock, Scene, TestClient, World


@pytest.fixture
def other(world: World, db_url: str, clock: Clock) -> Iterator[tuple[TestClient, Database]]:
    """A second app with its own ``Database`` (own pool, own cache) on the same database."""
    db = Database(db_url, clock=clock, pool_size=4)
    with TestClient(create_app(db, secret=b"test-secret"), raise_server_exceptions=False) as c:
        yield c, db
    db.dispose()


def _rec(client: TestClient, token: str, trial_id: int) -> dict[str, Any]:
    r = client.get(f"{API}/trials/{trial_id}/recommendation", headers=_auth(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _essence(rec: dict[str, Any]) -> Any:
    """What must agree between two reads a few clock ticks apart."""
    return (
        rec["inputs"]["state"]["patients"],
        [(v["status"], v["next_dose"], v["rule"], v["slots"]) for v in rec["indications"]],
    )


def test_a_write_through_one_app_is_seen_by_the_other(
    api: Api, scene: Scene, world: World, other: tuple[TestClient, Database]
) -> None:
    client_b, db_b = other
    token = api.tokens["stat"]
    tid = scene.trial_id
    first = _rec(client_b, token, tid)  # B reads (and caches) the trial
    hits = db_b.recommendation_cache.hits
    assert _essence(_rec(client_b, token, tid)) == _essence(first)
    assert db_b.recommendation_cache.hits == hits + 1  # served from B's cache
    assert len(first["inputs"]["state"]["patients"]) == 1

    dose = first["indications"][0]["next_dose"]
    today = world.clock.today().isoformat()
    enrolled = api.post(
        "inv_a", f"/patients/{scene.waiting}/enrol", {"dose_level": dose, "infusion_date": today}
    )
    assert enrolled.status_code in (200, 201), enrolled.text  # written through app A
    after = _rec(client_b, token, tid)
    assert len(after["inputs"]["state"]["patients"]) == 2
    assert _essence(after) == _essence(_rec(api.client, token, tid))

    voided = api.post("inv_a", f"/enrolments/{enrolled.json()['id']}/void", {"reason": "error"})
    assert voided.status_code == 201, voided.text
    again = _rec(client_b, token, tid)
    assert _essence(again)[0] == _essence(first)[0]
    assert _essence(again) == _essence(_rec(api.client, token, tid))
