"""Schema: created by the Alembic migrations only, identical to the models, guarded by
append-only triggers; settings and engine behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from doseladder.conduct import Database, ValidationError, current_revision, downgrade, upgrade
from doseladder.conduct.db import alembic_config, make_engine
from doseladder.conduct.models import (
    IMMUTABLE_TABLES,
    UNDELETABLE_TABLES,
    AdverseEvent,
    AuditHead,
    Base,
    Site,
    UTCDateTime,
)
from doseladder.conduct.services import outcomes
from doseladder.conduct.settings import DEFAULT_DATABASE_URL, ENV_VAR, database_url, redact_url

from .conftest import PgDatabases, World, pg_url, require_pg


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases
) -> Iterator[str]:
    """An empty, never-migrated database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    require_pg()
    name = pg_databases.create()
    yield pg_url(name)
    pg_databases.drop(name)


def test_migrated_database_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        engine.dispose()


def _guarded(db_url: str) -> dict[str, set[str]]:
    """table -> the statements (UPDATE, DELETE) a trigger of the migrated database guards."""
    engine = make_engine(db_url)
    found: dict[str, set[str]] = {}
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                rows = conn.execute(
                    text(
                        "SELECT event_object_table, event_manipulation "
                        "FROM information_schema.triggers"
                    )
                ).all()
                for table, what in rows:
                    found.setdefault(table, set()).add(what.upper())
            else:
                rows = conn.execute(
                    text("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
                ).all()
                for table, sql in rows:
                    head = sql.upper().split(" ON ")[0]
                    found.setdefault(table, set()).update(
                        w for w in ("UPDATE", "DELETE") if w in head
                    )
    finally:
        engine.dispose()
    return found


def test_every_table_the_models_call_append_only_is_guarded(db_url: str) -> None:
    """``IMMUTABLE_TABLES``/``UNDELETABLE_TABLES`` say what the triggers enforce: check that the
    migrations guard exactly those statements on every table listed."""
    guarded = _guarded(db_url)
    for table in IMMUTABLE_TABLES:
        assert {"UPDATE", "DELETE"} <= guarded.get(table, set()), table
    for table in UNDELETABLE_TABLES:
        assert "DELETE" in guarded.get(table, set()), table


def _heads() -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_the_migrations_have_one_head() -> None:
    assert len(_heads()) == 1


def test_migrations_create_upgrade_and_downgrade(empty_url: str) -> None:
    (rev,) = _heads()
    assert current_revision(empty_url) is None
    upgrade(empty_url)
    assert current_revision(empty_url) == rev
    upgrade(empty_url)  # idempotent
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert {t.name for t in Base.metadata.sorted_tables} <= tables
            # no chain has a head before its first event
            assert conn.execute(select(AuditHead.chain)).all() == []
        downgrade(empty_url, "base")
        with engine.connect() as conn:
            assert not set(inspect(conn).get_table_names()) & {"trials", "audit_events"}
        upgrade(empty_url)
        assert current_revision(empty_url) == rev
    finally:
        engine.dispose()


def test_no_alembic_ini_at_repo_root() -> None:
    root = Path(__file__).resolve().parents[2]
    assert not (root / "alembic.ini").exists()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE adverse_events SET grade = 1",
        "DELETE FROM adverse_events",
        "DELETE FROM patients",
        "UPDATE audit_events SET reason = 'x'",
        "DELETE FROM audit_events",
        "DELETE FROM sites",
    ],
)
def test_database_triggers_refuse_in_place_changes(world: World, statement: str) -> None:
    trial = world.trial()
    pid = world.patient(trial)
    world.run(
        lambda s: outcomes.record_adverse_event(
            s,
            world.inv_a,
            pid,
            term="Platelet count decreased",
            lab={"value": 60, "unit": "10^9/L"},
            onset_date=world.clock.today(),
        )
    )
    before = world.snapshot_counts()
    with pytest.raises((DatabaseError, IntegrityError)) as info:
        world.sql(statement)
    assert "append-only" in str(info.value)
    assert world.snapshot_counts() == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE dlt_proposals SET status = 'no'",
        "DELETE FROM dlt_proposals",
        "UPDATE dlt_adjudications SET is_dlt = false",
        "DELETE FROM dlt_adjudications",
    ],
)
def test_clinical_grading_tables_are_append_only(world: World, statement: str) -> None:
    trial = world.trial()
    world.decide(trial)
    pid = world.patient(trial)
    world.enrol(pid, 1)
    world.run(
        lambda s: outcomes.adjudicate_dlt(s, world.stat, pid, is_dlt=False, rationale="no DLT")
    )
    before = world.snapshot_counts()
    assert before["dlt_proposals"] >= 1 and before["dlt_adjudications"] == 1
    with pytest.raises((DatabaseError, IntegrityError)) as info:
        world.sql(statement)
    assert "append-only" in str(info.value)
    assert world.snapshot_counts() == before


def test_orm_delete_is_refused(world: World) -> None:
    before = world.snapshot_counts()
    with pytest.raises(RuntimeError, match="never deleted"), world.db.transaction() as s:
        s.info["actor"] = world.admin
        site = s.get(Site, world.site_a)
        s.delete(site)
        s.flush()
    assert world.snapshot_counts() == before


def test_naive_timestamps_are_refused(db: Database) -> None:
    col = UTCDateTime()
    with pytest.raises(ValueError, match="naive"):
        col.process_bind_param(datetime(2025, 1, 1), db.engine.dialect)


def test_timestamps_come_back_as_utc(world: World) -> None:
    trial = world.trial()
    pid = world.patient(trial)
    world.run(
        lambda s: outcomes.record_adverse_event(
            s, world.inv_a, pid, term="Rash", grade=1, onset_date=world.clock.today()
        )
    )
    with world.db.session() as s:
        ae = s.scalars(select(AdverseEvent)).one()
        assert ae.entered_at.utcoffset() is not None
        assert ae.entered_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_sqlite_pragmas(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- settings
def test_database_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert database_url() == DEFAULT_DATABASE_URL == "sqlite:///./doseladder.db"
    monkeypatch.setenv(ENV_VAR, "postgresql://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert database_url("postgres://u:pw@h:5433/d") == "postgresql+psycopg://u:pw@h:5433/d"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://u@h/db", "unsupported database"),
        ("sqlite://", "file path"),
        ("sqlite:///:memory:", "file path"),
        ("not a url", "not a database URL"),
        ("postgresql+psycopg2://u@h/db", "psycopg 3"),
    ],
)
def test_database_url_errors(url: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as info:
        database_url(url)
    assert info.value.field == "database"


def test_redact_url_hides_password() -> None:
    assert "secret" not in redact_url("postgresql+psycopg://u:secret@h/db")


def test_constraint_violations_become_conflicts(world: World) -> None:
    from doseladder.conduct.errors import Conflict

    before = world.snapshot_counts()
    with pytest.raises(Conflict, match="constraint"), world.db.transaction() as s:
        s.info["actor"] = world.admin
        stamp = world.clock()
        s.add(Site(code="DUP", name="one", active=True, created_at=stamp))
        s.add(Site(code="DUP", name="two", active=True, created_at=stamp))
    assert world.snapshot_counts() == before
