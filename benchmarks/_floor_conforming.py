"""``floor-conforming`` of ``bench_write_floor.py``: the service's adverse-event write, all of
its stored work, through the leanest request and database path (issue #10, item 8).

Per ``POST /api/v1/patients/{id}/adverse-events`` a bare ASGI callable (no FastAPI, no
Starlette, no middleware) reads the body and makes ONE worker-thread hop (at most
``write_concurrency`` at once per process, as the service's write bulkhead), in which it:

1. authenticates the bearer token with the service's own function
   (``sites_users.actor_from_token``: the same one-statement look-up, the same revocation,
   deactivation, absolute and idle timeout checks, the same last-use update at most once a
   minute) in autocommit, as ``Database.run_connection`` does;
2. validates the body with the route's own model (``AdverseEventIn``, from the parsed JSON, as
   FastAPI does) and its path id with the route's bounds (``PathId``: 1..``MAX_ID``);
3. runs the service's own ``outcomes.record_adverse_event`` in one transaction -- permission
   and site checks, the patient/trial lock, the facts + history read, the grading, the
   validation, the DLT call and proposal, the two audited inserts -- and commits through the
   audit trail's own commit hooks (``audit._before_commit``: the chain-head lock, the chained
   events, the Ed25519 signature row and the moved heads in one statement; after the COMMIT,
   ``audit._after_commit``: the anchor line in the anchor file);
4. answers 201 with the routes' own serialisation (``web.api.common.model_response`` of
   ``AdverseEventOut``).

What replaces the service's layers is only the plumbing: raw psycopg connections (a per-process
LIFO pool, the service dialect's adapters, every statement prepared on first use) behind
:class:`_Session` / :class:`_Connection`, the few methods of an ORM session and of a SQLAlchemy
connection the shared functions call.  Each SQLAlchemy statement is compiled once, with the
service engine's dialect (the same SQL text, the same bind and result processing); the driver
SQL of the audit trail is sent as it is.  No rule of the service is copied: every check and
every stored value comes from the functions the service itself runs.

Not done (nothing stored depends on them): the service's middleware (security headers, the
idempotency gate -- the benchmark sends no ``Idempotency-Key``; a request
with one is refused here with 400), its error bodies (refusals here carry the service's
status and ``ConductError.to_dict()``), transient-error retries beyond the service's
(deadlock / serialisation / lock timeout: retried up to 5 times, as ``Database.run``).
"""

from __future__ import annotations

import json
import queue
from collections import namedtuple
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import psycopg
from pydantic import ValidationError as PydanticError

from doseladder.conduct import audit
from doseladder.conduct.db import TRANSIENT_SQLSTATES
from doseladder.conduct.errors import ConductError
from doseladder.conduct.services import outcomes, sites_users
from doseladder.web.api.common import model_response
from doseladder.web.api.schemas import MAX_ID, AdverseEventIn, AdverseEventOut

__all__ = ["ConformingWriter", "conforming_asgi"]

_PREFIX, _SUFFIX = "/api/v1/patients/", "/adverse-events"


# ------------------------------------------------------------ the database plumbing
class _Rows:
    """The rows of one statement, with the few ``Result`` methods the services call."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def all(self) -> list[Any]:
        return self.rows

    def one_or_none(self) -> Any:
        if len(self.rows) > 1:
            raise RuntimeError("more than one row")
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def scalar_one(self) -> Any:
        (row,) = self.rows
        return row[0]


class _Compiled:
    """A SQLAlchemy Core statement compiled once for psycopg."""

    __slots__ = ("binds", "columns", "defaults", "required", "results", "row", "sql")

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.positional or getattr(compiled, "escaped_bind_names", None):
            raise TypeError("only named, unescaped parameters")
        required: list[tuple[str, str]] = []
        defaults: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            if bind.expanding:
                raise TypeError("no expanding parameters")
            if bind.required:
                required.append((name, bind.key))
            else:
                defaults[name] = bind.effective_value
        self.sql: str = compiled.string
        #: (SQL parameter name, the caller's key) of every parameter the caller gives
        self.required = tuple(required)
        #: the statement's own values (e.g. ``LIMIT 1``)
        self.defaults = defaults
        #: the bind processors SQLAlchemy applies (e.g. ``UTCDateTime``'s UTC check)
        self.binds: tuple[tuple[str, Callable[[Any], Any]], ...] = tuple(
            (k, p) for k, p in compiled._bind_processors.items() if k in compiled.binds
        )
        self.columns = compiled._result_columns
        #: the row type (``None``: no result)
        self.row: Any = None
        if self.columns:
            keys = [c.keyname for c in self.columns]
            self.row = namedtuple("Row", keys)  # type: ignore[misc]
        #: the result processors by column index, as SQLAlchemy resolves them for the
        #: columns' database types (``None``: not resolved yet, at the first execution)
        self.results: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def resolve(self, dialect: Any, description: Any) -> None:
        results = []
        for i, (c, d) in enumerate(zip(self.columns, description, strict=True)):
            process = c.type._cached_result_processor(dialect, d.type_code)
            if process is not None:
                results.append((i, process))
        self.results = tuple(results)


_COMPILED: dict[int, tuple[Any, _Compiled]] = {}


class _Connection:
    """What the shared functions call on a SQLAlchemy connection, over a psycopg one."""

    __slots__ = ("dialect", "pg")

    def __init__(self, pg: Any, dialect: Any) -> None:
        self.pg = pg
        self.dialect = dialect

    def execute(self, statement: Any, params: dict[str, Any] | None = None) -> _Rows:
        entry = _COMPILED.get(id(statement))
        if entry is None or entry[0] is not statement:
            if len(_COMPILED) > 256:  # statements built per call (rare: the last-use update)
                _COMPILED.clear()
            entry = _COMPILED[id(statement)] = (statement, _Compiled(statement, self.dialect))
        c = entry[1]
        values = dict(c.defaults)
        given = params or {}
        for name, key in c.required:
            values[name] = given[key]
        for name, process in c.binds:
            values[name] = process(values[name])
        cur = self.pg.execute(c.sql, values, prepare=True)
        if c.row is None or cur.description is None:
            return _Rows([])
        raw = cur.fetchall()
        make = c.row._make
        if c.results is None:
            c.resolve(self.dialect, cur.description)
            assert c.results is not None
        if not c.results:
            return _Rows([make(r) for r in raw])
        out = []
        for r in raw:
            vals = list(r)
            for i, process in c.results:
                vals[i] = process(vals[i])
            out.append(make(vals))
        return _Rows(out)

    def exec_driver_sql(self, sql: str, params: dict[str, Any]) -> _Rows:
        cur = self.pg.execute(sql, params, prepare=True)
        return _Rows(cur.fetchall() if cur.description is not None else [])


class _Session:
    """What the shared service and audit functions call on an ORM session: ``info`` (clock,
    sealer, actor, the pending audit events), the connection, and no unit of work (the
    adverse-event write inserts through ``audit.insert_row`` only, so nothing is ever pending
    in a flush)."""

    __slots__ = ("conn", "info")
    new: tuple[()] = ()
    dirty: tuple[()] = ()

    def __init__(self, conn: _Connection, info: dict[str, Any]) -> None:
        self.conn = conn
        self.info = info

    def connection(self) -> _Connection:
        return self.conn

    def get_bind(self) -> _Connection:
        return self.conn

    def flush(self) -> None:
        pass

    def add(self, obj: object) -> None:
        pass  # ``insert_row``'s object: nothing to flush later

    def scalar(self, statement: Any, params: dict[str, Any] | None = None) -> Any:
        return self.conn.execute(statement, params).scalar()  # a protocol not parsed yet

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        # only a chain head never seen before (a trial's first event) takes this path in the
        # services the floor runs: the seeded trials all have theirs
        raise NotImplementedError("floor-conforming: ORM session execute")


# ------------------------------------------------------------------------ the write
class ConformingWriter:
    """The per-process state: the dialect, the sealer, the clock and the connection pool."""

    def __init__(self, url: str, *, clock: Callable[[], datetime] | None = None) -> None:
        from sqlalchemy.engine import make_url

        from doseladder.conduct.db import Database, make_engine, utcnow
        from doseladder.conduct.sealing import configured_sealer

        engine = make_engine(url)  # the service's engine: its dialect, initialised
        with engine.connect():
            pass
        self.dialect = engine.dialect
        engine.dispose()
        self.sealer = configured_sealer(url)
        # the signing key's registration, as the service's first session does (once)
        db = Database(url, sealer=self.sealer, clock=clock)
        db.session().close()
        db.dispose()
        self.clock = clock or utcnow
        cargs, cparams = self.dialect.create_connect_args(make_url(url))
        dbapi = self.dialect.loaded_dbapi

        def connect() -> Any:
            return dbapi.connect(*cargs, **cparams)

        self._connect = connect
        self._pool: queue.LifoQueue[_Connection] = queue.LifoQueue()

    def close(self) -> None:
        """Close the pooled connections."""
        while True:
            try:
                self._pool.get_nowait().pg.close()
            except queue.Empty:
                return

    def write(self, token: str, patient_id: int, body: bytes) -> tuple[int, bytes]:
        """(status, JSON body) of one request, on a pooled connection."""
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = _Connection(self._connect(), self.dialect)
        try:
            return self._write(conn, token, patient_id, body)
        finally:
            if conn.pg.closed or conn.pg.broken:
                conn.pg.close()
            else:
                self._pool.put(conn)

    def _write(
        self, conn: _Connection, token: str, patient_id: int, body: bytes
    ) -> tuple[int, bytes]:
        pg = conn.pg
        try:
            # 1. the token (autocommit, as ``Database.run_connection``)
            pg.autocommit = True
            actor = sites_users.actor_from_token(conn, token, clock=self.clock)  # type: ignore[arg-type]
            pg.autocommit = False
            # 2. the path and the body, by the route's bounds and model
            if not 1 <= patient_id <= MAX_ID:
                return 422, b'{"error":"invalid","field":"patient_id"}'
            try:
                values = AdverseEventIn.model_validate(json.loads(body)).model_dump()
            except (ValueError, PydanticError) as exc:
                return 422, json.dumps({"error": "invalid", "message": str(exc)}).encode()
            # 3. the service's write in one transaction, committed through the audit hooks
            for attempt in range(6):
                session = _Session(conn, {"clock": self.clock, "sealer": self.sealer})
                try:
                    row = outcomes.record_adverse_event(session, actor, patient_id, **values)  # type: ignore[arg-type]
                    out = AdverseEventOut.model_validate(row)
                    audit._before_commit(session)  # type: ignore[arg-type]
                    pg.commit()
                except psycopg.Error as exc:
                    pg.rollback()
                    audit._discard(session)  # type: ignore[arg-type]
                    if attempt < 5 and getattr(exc, "sqlstate", None) in TRANSIENT_SQLSTATES:
                        continue
                    if isinstance(exc, psycopg.errors.IntegrityError):
                        return 409, b'{"error":"conflict"}'
                    raise
                except BaseException:
                    pg.rollback()
                    raise
                audit._after_commit(session)  # type: ignore[arg-type]
                # 4. the route's answer
                return 201, bytes(model_response(out, 201).body)
            raise AssertionError("unreachable")
        except ConductError as exc:
            if not pg.closed and not pg.broken:
                pg.rollback()
                pg.autocommit = False
            return exc.status, json.dumps(exc.to_dict()).encode()


# ------------------------------------------------- bare ASGI plumbing (the floor apps' too)
async def read_body(receive: Any) -> bytes:
    """The whole request body."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def lifespan(receive: Any, send: Any) -> None:
    """Answer an ASGI lifespan scope (nothing to start or stop)."""
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


async def answer(send: Any, status: int, payload: bytes) -> None:
    """Send a JSON answer."""
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode())],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": payload})


def conforming_asgi(writer: ConformingWriter, write_concurrency: int | None = None) -> Any:
    """The bare ASGI app around ``writer``: one worker-thread hop per write, at most
    ``write_concurrency`` writes at once in this process (the service's bulkhead, its default
    ``DEFAULT_WRITE_CONCURRENCY``: a waiting write holds no thread and no connection)."""
    import asyncio

    from anyio.to_thread import run_sync

    from doseladder.web.app import DEFAULT_WRITE_CONCURRENCY

    limit = write_concurrency or DEFAULT_WRITE_CONCURRENCY
    semaphores: dict[Any, asyncio.Semaphore] = {}  # per event loop

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        path: str = scope["path"]
        body = await read_body(receive)
        status, payload = 404, b'{"error":"not_found"}'
        if scope["method"] == "POST" and path.startswith(_PREFIX) and path.endswith(_SUFFIX):
            headers = dict(scope["headers"])
            scheme, _, token = headers.get(b"authorization", b"").decode().partition(" ")
            raw_id = path[len(_PREFIX) : -len(_SUFFIX)]
            if b"idempotency-key" in headers:
                status, payload = 400, b'{"error":"idempotency keys are not supported here"}'
            elif scheme.lower() != "bearer" or not token:
                status, payload = 401, b'{"error":"unauthenticated"}'
            elif not raw_id.isdigit():
                status, payload = 422, b'{"error":"invalid","field":"patient_id"}'
            else:
                loop = asyncio.get_running_loop()
                gate = semaphores.get(loop) or semaphores.setdefault(loop, asyncio.Semaphore(limit))
                async with gate:
                    status, payload = await run_sync(writer.write, token, int(raw_id), body)
        await answer(send, status, payload)

    return app


# ------------------------------------------------------------------ the conformity check
#: the check's tables, each row compared whole (``row::text``: every column, JSON as stored)
CHECKED_TABLES = {
    "adverse_events": "id",
    "dlt_proposals": "id",
    "audit_events": "id",
    "audit_signatures": "id",
    "audit_chain_heads": "chain",
    "session_activity": "token_id",
    "api_tokens": "id",
}


def check_requests(today: Any, patients: list[int]) -> list[tuple[int, dict[str, Any]]]:
    """The check's adverse events: (patient, body).  On the shipped protocol (DLT window 28
    days, every AE evaluated) with "now" two days after infusion they give the event calls
    ``not_met`` (grade 1-2, unrelated grade 4, a short grade 3), ``pending`` (an ongoing grade 3,
    an ongoing grade-4 cytopenia) and ``met`` (related grade 4, CRS grade 3 from the ASTCT
    form), graded from the chosen grade, a lab value and the CRS form; one request is refused
    (onset in the future)."""
    from datetime import timedelta

    d0, d1, d2 = today, today + timedelta(days=1), today + timedelta(days=2)
    p = patients
    return [
        (p[0], {"term": "headache", "grade": 1, "onset_date": d0.isoformat()}),
        (p[1], {"term": "Nausea", "grade": 3, "onset_date": d0.isoformat(),
                "relatedness": "possible"}),
        (p[2], {"term": "Vomiting", "grade": 4, "onset_date": d1.isoformat(),
                "relatedness": "probable", "serious": True}),
        (p[0], {"term": "Vomiting", "grade": 4, "onset_date": d1.isoformat(),
                "relatedness": "unrelated"}),
        (p[3], {"term": "Cytokine release syndrome", "onset_date": d1.isoformat(),
                "relatedness": "definite",
                "crs": {"temperature_max": 39.5, "temperature_unit": "C", "hypotension": True,
                        "fever_other_cause": False,
                        "vasopressors": ["norepinephrine"], "oxygen": "none"}}),
        (p[4], {"term": "Neutrophil count decreased", "onset_date": d1.isoformat(),
                "relatedness": "possible",
                "lab": {"value": 0.3, "unit": "10^9/L", "lln": 2.0}}),
        (p[5], {"term": "Fatigue", "grade": 3, "onset_date": d0.isoformat(),
                "resolved_date": d1.isoformat(), "relatedness": "probable"}),
        (p[1], {"term": "Headache", "grade": 2, "onset_date": d2.isoformat(),
                "dlt_candidate": True}),
        (p[2], {"term": "Headache", "grade": 1,
                "onset_date": (d2 + timedelta(days=9)).isoformat()}),
        (p[3], {"term": "Diarrhea", "grade": 2, "onset_date": d2.isoformat(),
                "resolved_date": d2.isoformat(), "relatedness": "unlikely"}),
        (p[1], {"term": "Nausea", "grade": 1, "onset_date": d1.isoformat()}),
        (p[0], {"term": "Headache", "grade": 2, "onset_date": d2.isoformat()}),
    ]  # fmt: skip


def _table_rows(conninfo: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    import psycopg
    from psycopg.rows import dict_row

    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    with psycopg.connect(conninfo) as conn:
        for table, key in CHECKED_TABLES.items():
            text = [r[0] for r in conn.execute(f"SELECT t::text FROM {table} t ORDER BY {key}")]
            cur = conn.cursor(row_factory=dict_row)
            rows = cur.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
            out[table] = list(zip(text, rows, strict=True))
    return out


def compare_with_service(protocol: str) -> dict[str, Any]:
    """Send :func:`check_requests` to the real app and to ``floor-conforming``, each on its
    own copy of one seeded database (``CREATE DATABASE … TEMPLATE``: the same rows, ids, chain
    heads and token), both on the same fixed clock and signing key, one request at a time;
    compare the answers and every row of :data:`CHECKED_TABLES`, and ``audit verify`` both
    (key + anchors, tables against the trail).  Needs a throw-away audit home
    (``_service.throwaway_audit_home``).  Returns ``{"requests", "statuses", "differences",
    "rows", "verify"}``: ``differences`` empty when everything is identical."""
    import asyncio
    import shutil
    from datetime import UTC, timedelta

    import httpx
    from _service import PASSWORD, admin_conninfo, in_child, scratch_database, verify

    from doseladder.conduct.db import Database
    from doseladder.conduct.sealing import FileAnchorStore, default_anchor_path
    from doseladder.conduct.services import sites_users
    from doseladder.web import create_app

    with scratch_database() as (name_a, url_a), scratch_database() as (name_b, url_b):
        seeded = in_child(None, "seed", url_a, "2", protocol)
        patients = [p for ps in seeded["by_trial"].values() for p in ps]
        now = datetime.now(UTC).replace(microsecond=0)
        # the clock of both: two days after infusion, moved 61 s before each request (the
        # token's last use is then recorded at every request, as after a minute's pause)
        at = [now + timedelta(days=2)]

        def clock() -> datetime:
            return at[0]

        db = Database(url_a, clock=clock)
        token = db.run(lambda s: sites_users.login(s, "datamgr", PASSWORD).token)
        db.dispose()
        # B: a copy of A (the scratch database B is replaced by the template copy)
        with psycopg.connect(admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name_b}"')
            conn.execute(f'CREATE DATABASE "{name_b}" TEMPLATE "{name_a}"')
        anchors_a, anchors_b = default_anchor_path(url_a), default_anchor_path(url_b)
        anchors_b.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(anchors_a, anchors_b)
        seeded_lines = len(FileAnchorStore(anchors_a).records())
        requests = check_requests(now.date(), patients)

        async def send(app: Any) -> list[tuple[int, bytes]]:
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t/api/v1", headers=headers
            ) as c:
                answers = []
                at[0] = now + timedelta(days=2)
                for pid, body in requests:
                    at[0] += timedelta(seconds=61)
                    r = await c.post(f"/patients/{pid}/adverse-events", json=body)
                    answers.append((r.status_code, r.content))
                return answers

        service_db = Database(url_a, clock=clock)
        app = create_app(service_db)

        async def serviced() -> list[tuple[int, bytes]]:
            async with app.router.lifespan_context(app):
                return await send(app)

        service = asyncio.run(serviced())
        service_db.dispose()
        writer = ConformingWriter(url_b, clock=clock)
        floor = asyncio.run(send(conforming_asgi(writer)))
        writer.close()
        differences: list[str] = []
        for i, ((s1, b1), (s2, b2)) in enumerate(zip(service, floor, strict=True)):
            if s1 != s2 or (s1 == 201 and b1 != b2):
                differences.append(
                    f"request {i}: service {s1} {b1[:200]!r}, floor {s2} {b2[:200]!r}"
                )
        rows_a, rows_b = _table_rows(admin_conninfo(name_a)), _table_rows(admin_conninfo(name_b))
        counts = {}
        for table in CHECKED_TABLES:
            a, b = rows_a[table], rows_b[table]
            counts[table] = len(a)
            if len(a) != len(b):
                differences.append(f"{table}: {len(a)} rows (service) vs {len(b)} (floor)")
            for (ta, ra), (tb, rb) in zip(a, b, strict=False):
                if ta != tb:
                    cols = [k for k in ra if ra[k] != rb.get(k)] or ["(text form)"]
                    differences.append(f"{table} row {ra.get(CHECKED_TABLES[table])}: {cols}")
        # the anchor lines the writes appended (one per commit here): the same heads, in the
        # same order; only ``at`` (the wall clock), ``database`` (the URL) and the signature
        # over them differ by construction
        anchored = []
        for path in (anchors_a, anchors_b):
            recs = FileAnchorStore(path).records()[seeded_lines:]
            anchored.append([{k: r.get(k) for k in ("v", "heads", "seq", "hash")} for r in recs])
        if anchored[0] != anchored[1] or not anchored[0]:
            differences.append(f"anchors: {anchored[0][-1:]} (service) vs {anchored[1][-1:]}")
        verified = {"service": verify(url_a), "floor": verify(url_b)}
        return {
            "requests": len(requests),
            "statuses": [s for s, _ in service],
            "calls": [
                json.loads(b).get("grading", {}).get("dlt_call") if s == 201 else None
                for s, b in service
            ],
            "differences": differences,
            "rows": counts,
            "anchor_lines": len(anchored[0]),
            "last_seen_at": str(rows_a["session_activity"][0][1]["last_seen_at"]),
            "clock_at_end": str(at[0]),
            "verify": verified,
        }
