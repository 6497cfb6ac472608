"""Fixtures of the web tests: the app over the conduct tests' databases (SQLite and PostgreSQL).

The database fixtures (``db_url`` parametrised over SQLite and PostgreSQL, ``db`` with a
controllable clock, ``world`` with one user per role) come from ``tests/conduct/conftest.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from doseladder.conduct.services import decisions, outcomes, patients
from doseladder.web import create_app

from ..conduct.conftest import (  # noqa: F401 - fixtures shared with the conduct tests
    BOIN,
    PASSWORD,
    TITE_BOIN,
    Clock,
    World,
    _cheap_scrypt,
    acknowledge_opening,
    clock,
    db,
    db_url,
    pg_databases,
    pg_session_url,
    sqlite_template,
    world,
)

with warnings.catch_warnings():
    # starlette asks for httpx2 on import; the test client works with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

API = "/api/v1"
USERS = ("admin", "stat", "inv_a", "inv_b", "datamgr", "dm_a", "monitor", "com1", "com2")
#: role name → the world's user of that role (site A for the investigator)
ROLE_USERS = {
    "admin": "admin",
    "statistician": "stat",
    "investigator": "inv_a",
    "data_manager": "datamgr",
    "monitor": "monitor",
}


@dataclass
class Api:
    """A test client with one logged-in token per demo user."""

    client: TestClient
    tokens: dict[str, str]

    def relogin(self) -> None:
        """New tokens (after the clock moved past their 12-hour lifetime)."""
        self.tokens = {u: login(self.client, u) for u in USERS}

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    def get(self, who: str | None, path: str, **kw: Any) -> Any:
        return self.client.get(API + path, headers=self.headers(who), **kw)

    def post(self, who: str | None, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(API + path, json=body, headers=self.headers(who), **kw)

    def call(self, who: str | None, method: str, path: str, body: Any = None) -> Any:
        if method == "GET":
            return self.get(who, path)
        return self.post(who, path, body)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    r = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:  # noqa: F811
    app = create_app(world.db, secret=b"test-secret")
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client, {u: login(client, u) for u in USERS})


@dataclass
class Scene:
    """A trial in progress, built through the services (ids of everything)."""

    trial_id: int
    decision_id: int
    enrolled: int  # patient at site A, enrolled at dose 1, infused today
    enrolment_id: int
    waiting: int  # patient at site A, screened eligible, not enrolled
    other_site: int  # patient at site B, screened eligible
    screening_id: int
    ae_id: int  # grade 3, flagged as a possible DLT (not adjudicated)
    efficacy_id: int
    adjudication_id: int  # window adjudication of the enrolled patient ("no DLT")


def make_scene(world: World, protocol: dict[str, Any] | None = None) -> Scene:  # noqa: F811
    trial_id = world.trial(protocol or TITE_BOIN)
    d = world.decide(trial_id)
    enrolled = world.patient(trial_id)
    enrolment = world.enrol(enrolled, d.next_dose)
    waiting = world.patient(trial_id)
    other = world.patient(trial_id, world.inv_b)
    today = world.clock.today()

    def outcomes_(s: Any) -> tuple[int, int, int, int]:
        ae = outcomes.record_adverse_event(
            s, world.inv_a, enrolled, term="rash", grade=3, onset_date=today, dlt_candidate=True
        )
        eff = outcomes.record_efficacy(
            s, world.inv_a, enrolled, assessed_on=today, instrument="SRI-4", responder=False
        )
        adj = outcomes.adjudicate_dlt(
            s, world.stat, enrolled, is_dlt=False, rationale="window completed without DLT"
        )
        scr = patients.current_enrolment(s, world.inv_a, enrolled)
        assert scr is not None
        return ae.id, eff.id, adj.id, scr.id

    ae_id, eff_id, adj_id, _ = world.run(outcomes_)
    screening_id = world.run(
        lambda s: patients.patient_record(s, world.inv_a, waiting)["screening"][0]["id"]
    )
    assert decisions  # imported for fixtures that extend the scene
    return Scene(
        trial_id=trial_id,
        decision_id=d.id,
        enrolled=enrolled,
        enrolment_id=enrolment.id,
        waiting=waiting,
        other_site=other,
        screening_id=screening_id,
        ae_id=ae_id,
        efficacy_id=eff_id,
        adjudication_id=adj_id,
    )


@pytest.fixture
def scene(world: World) -> Scene:  # noqa: F811
    return make_scene(world)
