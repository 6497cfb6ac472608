"""Pooled connections are not pinged before use: a connection lost while pooled (its server
process gone) fails its first statement and :meth:`Database.run` retries the transaction once on
a fresh connection -- the caller never sees the lost connection."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from doseladder.conduct import db as db_module
from doseladder.conduct.db import Database


def _pid(calls: list[int]) -> Any:
    def fn(s: Any) -> int:
        calls.append(1)
        pid: int = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid

    return fn


def _terminate(url: str, pid: int) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        engine.dispose()


@pytest.mark.parametrize("autocommit", [False, True])
def test_a_lost_pooled_connection_is_replaced_by_the_retry(db: Database, autocommit: bool) -> None:
    if db.dialect != "postgresql":
        pytest.skip("server processes: PostgreSQL")
    assert not db.engine.pool._pre_ping  # the behaviour under test: no ping at every checkout
    calls: list[int] = []
    first = db.run(_pid(calls), autocommit=autocommit)
    again = db.run(_pid(calls), autocommit=autocommit)
    assert first == again and len(calls) == 2  # the pooled connection is reused
    _terminate(db.url, first)
    calls.clear()
    replaced = db.run(_pid(calls), autocommit=autocommit)
    assert replaced != first
    assert len(calls) == 2  # the first attempt met the lost connection, the retry a new one
    calls.clear()
    assert db.run(_pid(calls), autocommit=autocommit) == replaced and len(calls) == 1


def test_a_connection_idle_in_the_pool_is_pinged_first(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("server processes: PostgreSQL")
    calls: list[int] = []
    first = db.run(_pid(calls))
    _terminate(db.url, first)
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # every pooled connection is idle
    calls.clear()
    with db.session() as s:  # no retry around a bare session: the ping replaced the connection
        replaced = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert replaced != first
    assert db.run(_pid(calls)) == replaced and len(calls) == 1  # and it is in use, alive
