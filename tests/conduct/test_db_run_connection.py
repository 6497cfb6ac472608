"""``Database.run_connection``: a bare pooled connection (no ORM session) for the token
look-up -- PostgreSQL in autocommit, SQLite in a deferred transaction --, retried like
``Database.run``, and the look-up on it refuses what the session path refuses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from doseladder.conduct.db import Database
from doseladder.conduct.errors import AuthenticationError
from doseladder.conduct.models import SessionActivity, Site
from doseladder.conduct.services import sites_users

from .conftest import PASSWORD, World


def _actor(world: World, token: str) -> Any:
    return world.db.run_connection(
        lambda conn: sites_users.actor_from_token(conn, token, clock=world.db.clock)
    )


def test_reads_what_a_session_reads(world: World) -> None:
    n = world.db.run_connection(lambda c: c.scalar(select(func.count()).select_from(Site)))
    with world.db.session() as s:
        assert n == s.scalar(select(func.count()).select_from(Site))


def test_postgresql_statements_commit_on_their_own(world: World) -> None:
    if world.db.dialect != "postgresql":
        pytest.skip("autocommit: PostgreSQL")

    def in_autocommit(conn: Connection) -> str:
        return str(conn.exec_driver_sql("SHOW transaction_isolation").scalar_one()) + str(
            conn.connection.dbapi_connection.autocommit  # type: ignore[union-attr]
        )

    assert world.db.run_connection(in_autocommit).endswith("True")
    # and the pooled connection is back in transaction mode for the next session
    with world.db.session() as s:
        assert not s.connection().connection.dbapi_connection.autocommit  # type: ignore[union-attr]


def test_token_look_up_on_a_connection(world: World) -> None:
    issued = world.run(lambda s: sites_users.login(s, "inv_a", PASSWORD, ttl=timedelta(hours=1)))
    assert _actor(world, issued.token) == world.inv_a
    # its use is recorded (a minute later) on the connection's clock
    world.clock.advance(minutes=2)
    assert _actor(world, issued.token) == world.inv_a
    with world.db.session() as s:
        seen = s.scalar(
            select(SessionActivity.last_seen_at).where(SessionActivity.token_id == issued.token_id)
        )
    assert seen is not None and seen >= world.clock.t - timedelta(seconds=1)
    world.clock.advance(hours=2)  # expired: refused at once, on the service clock
    with pytest.raises(AuthenticationError):
        _actor(world, issued.token)
    t2 = world.run(lambda s: sites_users.login(s, "inv_a", PASSWORD, ttl=None))
    world.run(lambda s: sites_users.revoke_token(s, world.inv_a, t2.token_id))
    with pytest.raises(AuthenticationError):
        _actor(world, t2.token)
    t3 = world.run(lambda s: sites_users.login(s, "inv_a", PASSWORD, ttl=None))
    world.clock.advance(minutes=sites_users.IDLE_TIMEOUT.total_seconds() / 60 + 1)
    with pytest.raises(AuthenticationError):  # idle too long
        _actor(world, t3.token)


def test_a_lost_pooled_connection_is_replaced_by_the_retry(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("server processes: PostgreSQL")
    calls: list[int] = []

    def pid(conn: Connection) -> int:
        calls.append(1)
        value: int = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return value

    first = db.run_connection(pid)
    engine = create_engine(db.url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})
    finally:
        engine.dispose()
    calls.clear()
    replaced = db.run_connection(pid)
    assert replaced != first and len(calls) == 2
