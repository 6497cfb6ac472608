"""A ``limits`` storage in a local SQLite file, shared by every server process on one host.

``doseladder serve --workers N`` runs N processes; the login throttle's counters must be the
same in all of them, or an attacker would get N times the allowed attempts.  Unless
``$DOSELADDER_RATE_LIMIT_STORAGE`` names a shared storage (``redis://…``, ``memcached://…``:
needed when several *hosts* serve one database), ``serve`` points it at a file of this storage
(``doseladder-sqlite:///path/throttle.db``).  Each operation is one short ``BEGIN IMMEDIATE``
transaction, so the processes see one moving window per key.

Only what :class:`~limits.strategies.MovingWindowRateLimiter` needs is meaningful
(``acquire_entry``, ``get_moving_window``, ``clear``, ``reset``); the fixed-window methods are
implemented on the same events so that the storage is complete.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from limits.storage import MovingWindowSupport, Storage

__all__ = ["SCHEME", "SQLiteFileStorage", "storage_uri"]

#: the URI scheme of this storage (``doseladder-sqlite:///absolute/path.db``)
SCHEME = "doseladder-sqlite"


def storage_uri(path: Path) -> str:
    """The ``limits`` URI of a throttle file."""
    return f"{SCHEME}://{path.resolve()}"


class SQLiteFileStorage(Storage, MovingWindowSupport):
    """Moving-window events ``(key, time)`` in a SQLite file (WAL, one transaction per call)."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 - the base class declares a plain list

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: object) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        path = urllib.parse.urlparse(uri or "").path
        if not path:
            raise ValueError(f"{SCHEME}: the URI must name a file ({SCHEME}:///path/to/file.db)")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._tx() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS events (key TEXT NOT NULL, at REAL NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS events_key_at ON events (key, at)")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    # ---------------------------------------------------------------- moving window
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Record ``amount`` events if the window of ``expiry`` seconds keeps within ``limit``."""
        if amount > limit:
            return False
        now = time.time()
        with self._tx() as conn:
            conn.execute("DELETE FROM events WHERE key = ? AND at < ?", (key, now - expiry))
            (count,) = conn.execute("SELECT count(*) FROM events WHERE key = ?", (key,)).fetchone()
            if count + amount > limit:
                return False
            conn.executemany("INSERT INTO events VALUES (?, ?)", [(key, now)] * amount)
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """``(time of the oldest event in the window, number of events in it)``."""
        now = time.time()
        with self._tx() as conn:
            oldest, count = conn.execute(
                "SELECT min(at), count(*) FROM events WHERE key = ? AND at >= ?",
                (key, now - expiry),
            ).fetchone()
        return (float(oldest), int(count)) if count else (now, 0)

    # ---------------------------------------------------------------- fixed window
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._tx() as conn:
            conn.execute("DELETE FROM events WHERE key = ? AND at < ?", (key, now - expiry))
            conn.executemany("INSERT INTO events VALUES (?, ?)", [(key, now)] * amount)
            (count,) = conn.execute("SELECT count(*) FROM events WHERE key = ?", (key,)).fetchone()
        return int(count)

    def get(self, key: str) -> int:
        with self._tx() as conn:
            (count,) = conn.execute("SELECT count(*) FROM events WHERE key = ?", (key,)).fetchone()
        return int(count)

    def get_expiry(self, key: str) -> float:
        with self._tx() as conn:
            (latest,) = conn.execute("SELECT max(at) FROM events WHERE key = ?", (key,)).fetchone()
        return float(latest) if latest is not None else time.time()

    # ---------------------------------------------------------------- housekeeping
    def check(self) -> bool:
        try:
            with self._tx() as conn:
                conn.execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with self._tx() as conn:
            return conn.execute("DELETE FROM events").rowcount

    def clear(self, key: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM events WHERE key = ?", (key,))
