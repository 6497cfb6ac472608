"""Engines, sessions, transactions and migrations.

* SQLite (default, a file): WAL journal, foreign keys on, a 30 s busy timeout, and every
  transaction starts with ``BEGIN IMMEDIATE`` so write transactions are serialised by the
  database (no lost updates, no "upgrade" deadlocks).
* PostgreSQL (psycopg 3): ``READ COMMITTED`` with explicit row locks taken by the services
  (``SELECT … FOR NO KEY UPDATE`` on the trial row; the trial's audit chain head last).  Transient
  failures (deadlock, serialisation failure, lock timeout) are retried by :meth:`Database.run`,
  and so is a transaction whose pooled connection turns out to be lost (once; pooled
  connections are not pinged before use).

The schema is created and upgraded only by the Alembic migrations in ``migrations/``
(:func:`upgrade`), never by ``create_all``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    InvalidatePoolError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict
from doseladder.conduct.models import AuditKey
from doseladder.conduct.sealing import Sealer, configured_sealer
from doseladder.conduct.security import SYSTEM
from doseladder.conduct.settings import database_url

if TYPE_CHECKING:
    from doseladder.conduct.services.recommendation_cache import RecommendationCache

__all__ = [
    "MIGRATIONS_DIR",
    "READ_ONLY",
    "AuditedSession",
    "Database",
    "alembic_config",
    "current_revision",
    "downgrade",
    "failed_at_commit",
    "is_transient",
    "is_unavailable",
    "make_engine",
    "upgrade",
    "utcnow",
]

T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: PostgreSQL SQLSTATEs worth retrying: serialization failure, deadlock, lock not available
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
#: SQLSTATEs of a lost or refused connection (admin/crash shutdown, cannot connect now)
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
_AT_COMMIT = "_doseladder_at_commit"
#: ``session.info`` key: the session is a read-only transaction (:meth:`Database.transaction`)
READ_ONLY = "doseladder_read_only"
#: execution option of a read-only transaction: SQLite begins it deferred (no write lock)
_DEFERRED = "doseladder_deferred"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class AuditedSession(Session):
    """A session whose changes are captured and chained into the audit trail on commit."""


audit.install(AuditedSession)
#: ``session.info`` key: the session runs in autocommit (:meth:`Database.transaction`)
_AUTOCOMMIT = audit.AUTOCOMMIT


@event.listens_for(AuditedSession, "before_flush")
def _no_flush_in_autocommit(session: Session, flush_context: Any, instances: Any) -> None:
    # a flush in autocommit would commit each row at once, outside the audit trail
    if session.info.get(_AUTOCOMMIT) and (session.new or session.dirty or session.deleted):
        raise RuntimeError("an autocommit transaction may not change audited records")


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # let SQLAlchemy (below) emit BEGIN itself instead of the sqlite3 module
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    # a read-only transaction (``Database.run(..., read_only=True)``) takes no write lock: in
    # WAL mode it reads its snapshot while a writer holds the lock
    deferred = conn.get_execution_options().get(_DEFERRED, False)
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def make_engine(
    url: str | None = None,
    *,
    pool_size: int | None = None,
    null_pool: bool = False,
    echo: bool = False,
) -> Engine:
    """An engine for ``url`` (see :func:`~doseladder.conduct.settings.database_url`)."""
    url = database_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if null_pool:
        kwargs["poolclass"] = NullPool
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if pool_size is not None and not null_pool:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if not null_pool:
        size = pool_size if pool_size is not None else 5
        kwargs.update(pool_size=size, max_overflow=max(10, size))
    engine = create_engine(url, **kwargs)
    # no pre-ping of every checkout (a round trip each, two per API write): only a connection
    # idle in the pool for IDLE_PING_SECONDS or more is pinged (:func:`_ping_if_idle`); one
    # lost while in brisk use fails its first statement, which invalidates the whole pool, and
    # :meth:`Database.run` retries the transaction once on a fresh connection
    event.listen(engine, "checkin", _note_checkin)
    dialect = engine.dialect

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        _ping_if_idle(dialect, dbapi_connection, record)

    event.listen(engine, "checkout", on_checkout)
    return engine


#: a pooled PostgreSQL connection idle at least this long is pinged before use (seconds)
IDLE_PING_SECONDS = 1.0
_IDLE_SINCE = "doseladder_idle_since"


def _note_checkin(dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dialect: Any, dbapi_connection: Any, record: Any) -> None:
    """On checkout from the pool: ping a connection that sat idle (it may have been lost meanwhile,
    e.g. the server restarted); a lost one makes the pool replace every connection pooled
    before now (``InvalidatePoolError``) and hand out a fresh one."""
    since = record.info.pop(_IDLE_SINCE, None)
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as exc:
        if dialect.is_disconnect(exc, dbapi_connection, None):
            raise InvalidatePoolError("pooled connection lost while idle") from exc
        raise


def is_transient(exc: BaseException) -> bool:
    """Whether a database error is worth retrying (deadlock, serialisation, busy)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    state = getattr(orig, "sqlstate", None)
    if state in TRANSIENT_SQLSTATES:
        return True
    return "database is locked" in str(orig).lower()


def is_unavailable(exc: BaseException) -> bool:
    """Whether a database error means the database is (momentarily) unreachable: a lost or
    refused connection, a server shutting down, an exhausted pool.  Answered 503."""
    if isinstance(exc, SATimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):
        return is_transient(exc) or "unable to open" in str(exc.orig).lower()
    if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
        state = str(getattr(exc.orig, "sqlstate", "") or "")
        return (
            exc.connection_invalidated
            or state in UNAVAILABLE_SQLSTATES
            or state.startswith("08")
            or isinstance(exc, InterfaceError)
            or not state  # psycopg: connection failures carry no SQLSTATE
            or is_transient(exc)
        )
    return False


def failed_at_commit(exc: BaseException) -> bool:
    """Whether the error came from the COMMIT itself (the outcome is then unknown)."""
    return bool(getattr(exc, _AT_COMMIT, False))


class Database:
    """A database handle: engine, session factory, clock, and transaction helpers.

    Args:
        url: database URL (default: ``$DOSELADDER_DATABASE_URL`` or ``sqlite:///./doseladder.db``).
        clock: source of "now" (timezone-aware UTC) for every timestamp the services write;
            tests inject a controllable clock.
        pool_size: connection pool size (PostgreSQL; raise it for many concurrent clients).
        sealer: signs every committed transaction's audit events and anchors the head outside
            the database (:class:`~doseladder.conduct.sealing.Sealer`); ``"auto"`` (default):
            the configured key and anchor file if a key is configured
            (:func:`~doseladder.conduct.sealing.configured_sealer`), else unsigned; ``None``:
            unsigned.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        pool_size: int | None = None,
        echo: bool = False,
        sealer: Sealer | Literal["auto"] | None = "auto",
    ) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size, echo=echo)
        self.clock: Callable[[], datetime] = clock or utcnow
        self.sealer = configured_sealer(self.url) if sealer == "auto" else sealer
        self._factory = sessionmaker(self.engine, class_=AuditedSession, expire_on_commit=False)
        self._key_lock = threading.Lock()
        from doseladder.conduct.services.recommendation_cache import RecommendationCache

        #: per-trial records of the live recommendation, keyed by the trial's audit head
        self.recommendation_cache: RecommendationCache = RecommendationCache()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """A new session (the caller commits or rolls back and closes it)."""
        if self.sealer is not None and self.sealer.signer.key_id not in self.sealer.registered:
            self._register_key(self.sealer)
        session = self._factory()
        session.info["clock"] = self.clock
        session.info["sealer"] = self.sealer
        session.info["recommendation_cache"] = self.recommendation_cache
        return session

    def _register_key(self, sealer: Sealer) -> None:
        """Record the signing key's public half (once, through the audit trail)."""
        signer = sealer.signer
        with self._key_lock:
            if signer.key_id in sealer.registered:
                return
            session = self._factory()
            session.info.update(clock=self.clock, sealer=sealer, actor=SYSTEM)
            try:
                if session.get(AuditKey, signer.key_id) is None:
                    session.add(
                        AuditKey(
                            key_id=signer.key_id,
                            algorithm="ed25519",
                            public_key=signer.public_key,
                            created_at=self.clock(),
                        )
                    )
                session.commit()
            except IntegrityError:  # another process registered it first
                session.rollback()
            finally:
                session.close()
            sealer.registered.add(signer.key_id)

    @contextmanager
    def transaction(
        self, *, read_only: bool = False, autocommit: bool = False
    ) -> Iterator[Session]:
        """A session in one transaction: committed (with its audit records) at the end of the
        block, rolled back entirely if the block raises.  A database constraint violation (the
        backstop behind the services' checks) becomes :class:`Conflict`.

        ``read_only``: a transaction meant to read (it may still write, e.g. a session's
        last-seen time): on SQLite it begins deferred, so it never waits for the write lock
        until it writes; PostgreSQL reads never wait for row locks anyway (no ``FOR UPDATE``
        on the read path).

        ``autocommit`` (PostgreSQL; implies ``read_only``): every statement commits on its own
        -- no ``BEGIN`` and ``COMMIT`` round trips.  Only for a single read, or reads and
        writes outside the audit trail (authentication: one look-up, now and then the
        session's last-seen time); a change that the audit trail would record is refused
        (nothing in it could be chained atomically), on SQLite too, where it runs as a
        read-only transaction."""
        session = self.session()
        read_only = read_only or autocommit
        session.info[READ_ONLY] = read_only
        session.info[_AUTOCOMMIT] = autocommit
        try:
            if read_only and self.dialect == "sqlite":
                session.connection(execution_options={_DEFERRED: True})
            elif autocommit:
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
            try:
                session.commit()
            except DBAPIError as exc:
                setattr(exc, _AT_COMMIT, True)
                raise
        except IntegrityError as exc:
            session.rollback()
            raise Conflict(
                "the change conflicts with a concurrent or existing record (a database "
                "constraint refused it); reload and try again"
            ) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def run(
        self,
        fn: Callable[[Session], T],
        *,
        retries: int = 5,
        read_only: bool = False,
        autocommit: bool = False,
    ) -> T:
        """``fn(session)`` in a transaction, retried on transient database errors.

        Deadlocks, serialisation failures and SQLite busy errors are retried up to ``retries``
        times (the database rolled everything back).  A lost connection is retried once,
        unless it was lost during COMMIT (the transaction may have committed: retrying could
        write twice; the error propagates and the API answers 503).  ``read_only`` and
        ``autocommit``: see :meth:`transaction`."""
        return self._retrying(
            lambda: self._in_transaction(fn, read_only=read_only, autocommit=autocommit),
            retries,
        )

    def _in_transaction(
        self, fn: Callable[[Session], T], *, read_only: bool, autocommit: bool
    ) -> T:
        with self.transaction(read_only=read_only, autocommit=autocommit) as session:
            return fn(session)

    def run_connection(self, fn: Callable[[Connection], T], *, retries: int = 5) -> T:
        """``fn(connection)`` on a pooled connection, without an ORM session: PostgreSQL in
        autocommit (every statement commits on its own, no ``BEGIN``/``COMMIT`` round trips),
        SQLite in a deferred transaction committed at the end.  Retried as :meth:`run`.

        For a single read, or reads and writes outside the audit trail (authentication: one
        look-up, now and then the session's last-seen time): nothing here is audited, so it
        must not change an audited record (as :meth:`transaction`'s ``autocommit``)."""
        return self._retrying(lambda: self._on_connection(fn), retries)

    def _on_connection(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(**{_DEFERRED: True})
            else:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            result = fn(conn)
            try:
                conn.commit()
            except DBAPIError as exc:
                setattr(exc, _AT_COMMIT, True)
                raise
            return result

    def _retrying(self, attempt: Callable[[], T], retries: int) -> T:
        """``attempt()``, again after a transient error or a lost connection (see :meth:`run`)."""
        delay = 0.02
        reconnected = False
        for n in range(retries + 1):
            try:
                return attempt()
            except (DBAPIError, SATimeoutError) as exc:
                if n < retries and is_transient(exc):
                    pass
                elif not reconnected and is_unavailable(exc) and not failed_at_commit(exc):
                    reconnected = True
                else:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        raise AssertionError("unreachable")  # pragma: no cover

    def upgrade(self, revision: str = "head") -> None:
        """Apply the migrations up to ``revision``."""
        upgrade(self.url, revision)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


# ---------------------------------------------------------------- migrations
def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for the packaged migrations (no ``alembic.ini``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = database_url(url)
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Create or upgrade the schema of the database at ``url``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None, revision: str) -> None:
    """Downgrade the schema to ``revision`` (``"base"`` removes every table)."""
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str | None = None) -> str | None:
    """The schema revision of the database (``None`` if never migrated)."""
    engine = make_engine(url, null_pool=True)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
