"""Authentication hardening (OWASP ASVS level 2): login throttling and lockout (audited),
password policy at the API, argon2id re-hash of legacy scrypt hashes, every session revoked
on password change, reset or deactivation, idle and absolute session timeouts."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from doseladder.conduct import security
from doseladder.conduct.models import AuditEvent, User

from .conftest import API, PASSWORD, Api, TestClient, World, login


def _login(client: TestClient, username: str, password: str) -> Any:
    return client.post(f"{API}/auth/login", json={"username": username, "password": password})


def test_brute_force_is_locked_out_then_the_right_password_still_refused(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = [_login(client, "stat", f"wrong password {i:04d}").status_code for i in range(300)]
    assert codes[:5] == [401] * 5
    assert set(codes[5:]) == {429}
    locked = _login(client, "stat", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 60
    assert locked.json()["error"] == "too_many_attempts"
    # the lockout is in the audit trail
    with world.db.session() as s:
        events = [
            json.loads(e.payload)
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "login_lockout"))
        ]
    assert events and events[0]["new"]["username"] == "stat"
    # other accounts are not locked by it
    assert _login(client, "monitor", PASSWORD).status_code == 200
    # once the window has passed, the right password works again
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 16 * 60)
    assert _login(client, "stat", PASSWORD).status_code == 200


def test_one_address_trying_many_accounts_is_locked_out(client: TestClient) -> None:
    codes = [_login(client, f"nobody{i}", "wrong password here").status_code for i in range(60)]
    assert codes[:50] == [401] * 50 and set(codes[50:]) == {429}
    assert _login(client, "stat", PASSWORD).status_code == 429


def test_password_policy_at_the_api(api: Api) -> None:
    for password, reason in [
        ("aaaaaaaaaa", "at least 12"),
        ("aaaaaaaaaaaa", "repetitive"),
        ("doseladder-demo", "demo password"),
        ("password123456", "common"),
        ("newuser-is-me-42", "username"),
    ]:
        r = api.post(
            "admin", "/users", {"username": "newuser", "password": password, "role": "monitor"}
        )
        assert r.status_code == 422, (password, r.text)
        assert "password" in r.json()["field"] and reason in r.json()["message"], r.text


def _user_id(world: World, name: str) -> int:
    with world.db.session() as s:
        uid = s.scalar(select(User.id).where(User.username == name))
        assert uid is not None
        return int(uid)


@pytest.mark.parametrize("how", ["own change", "admin reset", "deactivation"])
def test_every_session_is_revoked(api: Api, client: TestClient, world: World, how: str) -> None:
    other_session = login(client, "datamgr")
    uid = _user_id(world, "datamgr")
    new = "a brand new passphrase"
    if how == "own change":
        r = api.post(
            "datamgr", f"/users/{uid}/password", {"new_password": new, "old_password": PASSWORD}
        )
    elif how == "admin reset":
        r = api.post("admin", f"/users/{uid}/password", {"new_password": new})
    else:
        r = api.post("admin", f"/users/{uid}/deactivate", {"reason": "left the study"})
    assert r.status_code == 200, r.text
    for token in (other_session, api.tokens["datamgr"]):
        stale = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert stale.status_code == 401
    if how != "deactivation":
        assert _login(client, "datamgr", new).status_code == 200
        assert _login(client, "datamgr", PASSWORD).status_code == 401


def test_idle_and_absolute_session_timeouts(api: Api, world: World) -> None:
    assert api.get("monitor", "/auth/me").status_code == 200
    world.clock.advance(minutes=31)
    assert api.get("monitor", "/auth/me").status_code == 401  # idle for 31 minutes
    api.relogin()
    for _ in range(28):  # active every 25 minutes: alive until the 12-hour limit
        world.clock.advance(minutes=25)
        assert api.get("stat", "/auth/me").status_code == 200
    world.clock.advance(minutes=25)  # 12 h 5 min after login
    assert api.get("stat", "/auth/me").status_code == 401


def test_legacy_scrypt_hash_is_rehashed_with_argon2id_at_login(
    client: TestClient, world: World
) -> None:
    def downgrade(s: Any) -> None:
        s.info["actor"] = world.admin
        user = s.scalars(select(User).where(User.username == "monitor")).one()
        user.password_hash = security.scrypt_hash(PASSWORD)

    world.run(downgrade)
    with world.db.session() as s:
        assert (
            s.scalars(select(User.password_hash).where(User.username == "monitor")).one()[:7]
            == "scrypt$"
        )
    assert _login(client, "monitor", PASSWORD).status_code == 200
    with world.db.session() as s:
        stored = s.scalars(select(User.password_hash).where(User.username == "monitor")).one()
        reasons = [
            e.reason for e in s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "users"))
        ]
    assert stored.startswith("$argon2id$")
    assert "password re-hashed with argon2id at login" in reasons
    assert _login(client, "monitor", PASSWORD).status_code == 200
