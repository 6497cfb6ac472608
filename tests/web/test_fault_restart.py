"""Faults under load (issue #10, item 4): the server is killed and restarted, then PostgreSQL is
restarted, while client threads keep writing adverse events with an ``Idempotency-Key`` and
retry on 503 and on connection errors.  Afterwards: no acknowledged write is missing, no write
is stored twice, no answer was a 500, every 503 carried ``Retry-After``, and the audit chain
verifies.

The test runs its own PostgreSQL (``initdb`` into a temporary directory, ``pg_ctl`` on a free
port) -- never the shared server that other tests use -- and ``doseladder serve --workers 2``
as a real process group.  It is skipped only when the PostgreSQL binaries are absent.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import doseladder
from doseladder.conduct import Database, upgrade
from doseladder.conduct.models import AdverseEvent, IdempotencyRecord
from doseladder.conduct.sealing import configured_sealer
from doseladder.conduct.services import exports, sites_users

from ..conduct.conftest import PASSWORD, Clock, make_world

PG_BIN = Path(os.environ.get("DOSELADDER_TEST_PG_BIN", "/usr/local/bin"))
CLIENTS = 6
#: seconds a server start may take: a few on a quiet machine, far more on a loaded one
STARTUP_LIMIT = 240

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all((PG_BIN / name).exists() for name in ("initdb", "pg_ctl", "postgres")),
        reason=f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in {PG_BIN}",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free port (run as ``postgres`` when we are root,
    since PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="doseladder-fault-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]

    def _pg(self, *args: str) -> None:
        subprocess.run(
            [*self.prefix, *args], check=True, capture_output=True, timeout=90, cwd=self.dir
        )

    @property
    def _options(self) -> str:
        return f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on"

    def init_and_start(self) -> None:
        self._pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self._pg(*self._ctl("start"), "-l", str(self.dir / "log"))

    def _ctl(self, action: str) -> list[str]:
        return [
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-t",
            "60",
            "-o",
            self._options,
            action,
        ]

    def restart(self) -> None:
        """A fast restart: every connection is terminated (``AdminShutdown``), like an
        operator's restart under load."""
        self._pg(*self._ctl("restart"), "-m", "fast", "-l", str(self.dir / "log"))

    def stop(self) -> None:
        try:
            self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        pg.init_and_start()
        yield pg
    finally:
        pg.stop()


class Server:
    """``doseladder serve --workers 2`` as its own process group (killed as a whole)."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log, self.port = url, log, _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        src = str(Path(doseladder.__file__).resolve().parents[1])
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
        }

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "doseladder.cli.main", "serve", "--database", self.url,
                 "--port", str(self.port), "--workers", "2"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + STARTUP_LIMIT
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/protocols", timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.2)
        raise AssertionError("the server did not start:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL to the server and its workers (no graceful shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)


@dataclass
class Outcomes:
    acked: dict[str, int] = field(default_factory=dict)  # key -> adverse event id (201)
    in_doubt: set[str] = field(default_factory=set)  # 409: applied, response lost
    unexpected: list[tuple[str, int, str]] = field(default_factory=list)  # incl. 500
    unavailable: int = 0
    no_retry_after: int = 0
    connection_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _writer(
    i: int, base: str, token: str, patients: list[int], stop: threading.Event, out: Outcomes
) -> None:
    today = datetime.now(UTC).date().isoformat()
    n = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        while not stop.is_set():
            n += 1
            key = f"fault-{i}-{n}"
            path = f"/api/v1/patients/{patients[(i + n) % len(patients)]}/adverse-events"
            body = {"term": "headache", "grade": 1, "onset_date": today}
            give_up = time.monotonic() + STARTUP_LIMIT + 60
            while time.monotonic() < give_up:  # retry this request until it is answered
                try:
                    r = client.post(path, json=body, headers={"Idempotency-Key": key}, timeout=10)
                except httpx.TransportError:
                    with out.lock:
                        out.connection_errors += 1
                    time.sleep(0.2)
                    continue
                with out.lock:
                    if r.status_code == 503:
                        out.unavailable += 1
                        out.no_retry_after += "retry-after" not in r.headers
                    elif r.status_code == 201:
                        out.acked[key] = int(r.json()["id"])
                    elif r.status_code == 409:
                        out.in_doubt.add(key)
                    else:
                        out.unexpected.append((key, r.status_code, r.text[:300]))
                if r.status_code != 503:
                    break
                time.sleep(0.2)
            else:
                with out.lock:
                    out.unexpected.append((key, 0, "never answered (server down too long)"))


def test_kill_server_and_restart_postgres_under_load(
    private_pg: PrivatePostgres, tmp_path: Path, _cheap_scrypt: None
) -> None:
    t0 = time.monotonic()
    phases: list[str] = []

    def mark(what: str) -> None:
        phases.append(f"{what} {time.monotonic() - t0:.1f}s")

    url = private_pg.url()
    upgrade(url)
    sealer = configured_sealer(url, create_key=True)  # the key `serve` will find and use
    db = Database(url, sealer=sealer, clock=Clock(datetime.now(UTC)))
    try:
        world = make_world(db, db.clock)  # type: ignore[arg-type]
        tid = world.trial()
        patients = world.cohort(tid, 1)
        token = world.run(lambda s: sites_users.login(s, "datamgr", PASSWORD).token)
        mark("seeded")
        server = Server(url, tmp_path / "server.log")
        server.start()
        out = Outcomes()
        stop = threading.Event()
        threads = [
            threading.Thread(target=_writer, args=(i, server.base, token, patients, stop, out))
            for i in range(CLIENTS)
        ]
        try:
            for t in threads:
                t.start()
            mark("server up")
            time.sleep(3)
            server.kill()  # 1. the server dies mid-request
            time.sleep(1)
            server.start()
            mark("server restarted")
            time.sleep(3)
            private_pg.restart()  # 2. PostgreSQL restarts under load
            mark("postgres restarted")
            time.sleep(3)
            stop.set()
            for t in threads:
                t.join(90)
            mark("clients done")
            assert not any(t.is_alive() for t in threads)
        finally:
            stop.set()
            server.kill()

        with db.session() as s:
            rows = {
                int(ae_id): int(pid)
                for ae_id, pid in s.execute(select(AdverseEvent.id, AdverseEvent.patient_id))
            }
            claims = int(
                s.scalar(
                    select(func.count())
                    .select_from(IdempotencyRecord)
                    .where(IdempotencyRecord.key.like("fault-%"))
                )
                or 0
            )
        summary = (
            f"{len(out.acked)} acknowledged, {len(out.in_doubt)} in doubt, {out.unavailable} "
            f"503s, {out.connection_errors} connection errors, {len(rows)} rows; {phases}"
        )
        assert not out.unexpected, (summary, out.unexpected[:5])  # no 500, nothing else odd
        assert out.connection_errors > 0, summary  # the kill did hit requests in flight
        assert out.no_retry_after == 0, summary
        assert len(out.acked) > 10, summary
        lost = [k for k, ae in out.acked.items() if ae not in rows]
        assert lost == [], summary
        # every committed write claimed its key in its own transaction (unique per key), so
        # one row per claimed key means no write was stored twice
        assert len(rows) == claims, summary
        assert len(out.acked) <= claims <= len(out.acked) + len(out.in_doubt), summary
        assert len(set(out.acked.values())) == len(out.acked), summary
        verified = db.run(lambda s: exports.verify_audit(s, world.admin))
        assert verified.ok, (verified.problem, summary)
        assert not verified.data_problems, summary
    finally:
        db.dispose()
