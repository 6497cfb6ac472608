"""The floor of the write path (issue #10, item 8): what these cores can do at best for an
authenticated HTTP write that commits one row to PostgreSQL, beside the real service.

Run::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_write_floor.py [--seconds 10]
        [--writers 50] [--workers 2] [--apps floor-fastapi,floor-asgi,floor-conforming,service]
    PYTHONPATH=src .venv/bin/python benchmarks/bench_write_floor.py --check

Each app is served by uvicorn with the settings of ``doseladder serve --workers N
--no-access-log`` (``uvloop``/``httptools`` when installed) and loaded by the same load
generator (``benchmarks/_service.py``: ``--writers`` keep-alive clients looping
``POST /patients/{id}/adverse-events``, writes only, no readers) on a fresh database seeded as
``bench_service_load.py`` seeds it (20 open trials, ``--protocol`` as there, three patients each):

* ``floor-fastapi``: a FastAPI app with one synchronous route (run in the worker-thread pool,
  as the service's): the bearer token is looked up with the service's own one-statement query
  (token, user, last use: ``sites_users._TOKEN_LOOKUP``), then ONE ``INSERT ... RETURNING id``
  into a scratch table and ``COMMIT`` on a pooled SQLAlchemy connection (``pool_pre_ping`` as
  the service's engine), answered ``201 {"id": ...}``;
* ``floor-asgi``: the same work in a bare ASGI callable (no FastAPI, no Starlette), the
  database call still in a worker thread;
* ``floor-conforming``: ALL the stored work of the service's adverse-event write through the
  leanest path (``benchmarks/_floor_conforming.py``): a bare ASGI callable, one worker-thread
  hop, raw pooled psycopg connections, and the service's own functions -- the token check
  (``sites_users.actor_from_token``), the route's body model, ``outcomes.record_adverse_event``
  and the audit trail's commit hooks (chain, signature, anchor) -- on a thin adapter in place
  of SQLAlchemy's engine and ORM session; after the run, ``audit verify`` (key + anchors,
  tables against the trail) and the acknowledged ids are checked;
* ``service``: the real ``doseladder serve`` (the code in ``--src``, default this checkout),
  writes only (``--write-concurrency`` passed through when given; also to ``floor-conforming``).

Reported per app: accepted writes/s and CPU milliseconds per write of the server processes,
of PostgreSQL (every ``postgres`` process: the server is shared) and of the load generator,
and the load average (other work on the machine shows there).

``--commit-groups 1,4,8``: instead, the most group commit could save: the service's
adverse-event write called directly (no HTTP, one thread, sealed as served), ``k`` writes per
transaction each in its own SAVEPOINT (one audit append, signature and anchor per commit),
for each ``k``; CPU milliseconds per write of this process and of PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _floor_conforming import answer, lifespan, read_body
from _service import (
    DEFAULT_PROTOCOL,
    PASSWORD,
    acknowledged,
    add_protocol_option,
    count,
    cpu_seconds,
    cpu_used,
    env_for,
    finish_load,
    free_port,
    group_pids,
    in_child,
    login,
    postgres_pids,
    running_server,
    scratch_database,
    serve,
    serve_options,
    start_load,
    throwaway_audit_home,
)
from fastapi import Header, Request
from fastapi.responses import JSONResponse

HERE = Path(__file__).resolve()
ENV_URL = "DOSELADDER_FLOOR_URL"
#: ``--write-concurrency`` of ``floor-conforming`` (default: the service's default)
ENV_WRITES = "DOSELADDER_FLOOR_WRITE_CONCURRENCY"
_TABLE = "floor_writes"


# ------------------------------------------------------------- the floor apps (workers)
def _engine() -> Any:
    from doseladder.conduct.db import make_engine

    return make_engine(os.environ[ENV_URL], pool_size=15)


def _write(engine: Any, token: str, patient_id: int, body: bytes) -> int | None:
    """The floor's work: authenticate (one statement) and insert one row, committed."""
    from sqlalchemy import text

    from doseladder.conduct.security import token_digest
    from doseladder.conduct.services.sites_users import _TOKEN_LOOKUP

    with engine.connect() as conn:
        row = conn.execute(_TOKEN_LOOKUP, {"digest": token_digest(token)}).first()
        if row is None or row.revoked_at is not None or not row.active:
            conn.rollback()
            return None
        new_id = conn.execute(
            text(f"INSERT INTO {_TABLE} (patient_id, user_id, body) VALUES (:p, :u, :b) "
                 "RETURNING id"),
            {"p": patient_id, "u": row.id, "b": body.decode()},
        ).scalar_one()  # fmt: skip
        conn.commit()
        return int(new_id)


def conforming_app() -> Any:
    """``floor-conforming`` (a uvicorn factory)."""
    from _floor_conforming import ConformingWriter, conforming_asgi

    writes = os.environ.get(ENV_WRITES)
    return conforming_asgi(ConformingWriter(os.environ[ENV_URL]), int(writes) if writes else None)


def fastapi_app() -> Any:
    """``floor-fastapi`` (a uvicorn factory)."""
    from fastapi import FastAPI

    engine = _engine()
    app = FastAPI()

    @app.post("/api/v1/patients/{patient_id}/adverse-events", status_code=201)
    def record(patient_id: int, request: Request, authorization: str = Header("")) -> JSONResponse:
        body = request.scope["floor_body"]
        new_id = _write(engine, authorization[7:], patient_id, body)
        if new_id is None:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        return JSONResponse({"id": new_id}, status_code=201)

    async def with_body(scope: Any, receive: Any, send: Any) -> None:
        # a sync route cannot await the body: read it here (FastAPI would parse it too)
        if scope["type"] == "http":
            scope["floor_body"] = await read_body(receive)
        await app(scope, receive, send)

    return with_body


def asgi_app() -> Any:
    """``floor-asgi`` (a uvicorn factory)."""
    from anyio.to_thread import run_sync

    engine = _engine()
    prefix, suffix = "/api/v1/patients/", "/adverse-events"

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        path: str = scope["path"]
        body = await read_body(receive)
        headers = dict(scope["headers"])
        status, payload = 404, b'{"error":"not_found"}'
        if scope["method"] == "POST" and path.startswith(prefix) and path.endswith(suffix):
            token = headers.get(b"authorization", b"")[7:].decode()
            patient_id = int(path[len(prefix) : -len(suffix)])
            new_id = await run_sync(_write, engine, token, patient_id, body)
            if new_id is None:
                status, payload = 401, b'{"error":"unauthenticated"}'
            else:
                status, payload = 201, json.dumps({"id": new_id}).encode()
        await answer(send, status, payload)

    return app


# ------------------------------------------------------------------ the benchmark
@contextmanager
def serve_floor(
    kind: str, url: str, workers: int, write_concurrency: int | None = None
) -> Iterator[tuple[str, Any]]:
    """uvicorn serving a floor app as ``serve --workers N --no-access-log`` does."""
    port = free_port()
    factory = {"floor-fastapi": "fastapi_app", "floor-asgi": "asgi_app",
               "floor-conforming": "conforming_app"}[kind]  # fmt: skip
    env = env_for(None)
    env[ENV_URL] = url
    if write_concurrency is not None:
        env[ENV_WRITES] = str(write_concurrency)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env["PYTHONPATH"]])
    cmd = [sys.executable, "-m", "uvicorn", f"bench_write_floor:{factory}", "--factory",
           "--port", str(port), "--workers", str(workers), "--no-access-log",
           "--log-level", "warning"]  # fmt: skip
    with running_server(cmd, env, port, "/patients/0/adverse-events", 120) as running:
        yield running


def _create_table(dbname: str) -> None:
    import psycopg
    from _service import admin_conninfo

    with psycopg.connect(admin_conninfo(dbname), autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {_TABLE} (id bigserial PRIMARY KEY, patient_id bigint NOT NULL, "
            "user_id bigint NOT NULL, body jsonb NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )


def run(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    with throwaway_audit_home("doseladder-floor-"), scratch_database() as (dbname, url):
        src = args.src if kind == "service" else None
        seeded = in_child(src, "seed", url, str(args.trials), args.protocol)
        by_trial = {int(k): v for k, v in seeded["by_trial"].items()}
        _create_table(dbname)
        if kind == "service":
            options = serve_options(src, args.write_concurrency)
            ctx = serve(url, workers=args.workers, src=src, options=options)
        else:
            ctx = serve_floor(kind, url, args.workers, args.write_concurrency)
        with ctx as (base, server):
            token = _token(base, url, kind)
            start_at = time.time() + 2.0
            writers = start_load({
                "base": base, "seconds": args.seconds, "start_at": start_at,
                "by_trial": by_trial, "kind": "write", "token": token,
                "clients": args.writers,
            })  # fmt: skip
            time.sleep(max(0.0, start_at - time.time()))
            pg0 = cpu_seconds(postgres_pids())
            srv0 = cpu_seconds(group_pids(server.pid))
            w = finish_load(writers)
            cpu_pg = cpu_used(pg0, cpu_seconds(postgres_pids()))
            cpu_srv = cpu_used(srv0, cpu_seconds(group_pids(server.pid)))
        checked = _stored_and_verified(dbname, url, w["created"]) if kind in _AUDITED else ""
    ok = max(1, int(w["ok"]))
    return {
        "app": kind,
        "rate": w["ok"] / float(w["duration"]),
        "errors": w["errors"],
        "server_ms": cpu_srv / ok * 1e3,
        "pg_ms": cpu_pg / ok * 1e3,
        "clients_ms": float(w["cpu"]) / ok * 1e3,
        "load": os.getloadavg()[0],
        "checked": checked,
    }


#: the apps that write the adverse events through the service's audited path
_AUDITED = ("floor-conforming", "service")


def _stored_and_verified(dbname: str, url: str, created: list[int]) -> str:
    """After a run: every acknowledged adverse event stored once, every stored one
    acknowledged, and ``audit verify`` (key + anchors, the tables against the trail) intact."""
    stored = count(dbname, "SELECT count(*) FROM adverse_events")
    proposals = count(dbname, "SELECT count(*) FROM dlt_proposals")
    missing, repeated = acknowledged(dbname, created)
    v = in_child(None, "verify", url)
    state = "intact" if v["ok"] and not v["data"] else f"FAILED {v['problem']} {v['data'][:3]}"
    return (
        f"{len(created) - repeated} acknowledged ({repeated} twice, {missing} not stored), "
        f"{stored} stored, {proposals} proposals; audit verify {state} ({v['events']} events)"
    )


def _token(base: str, url: str, kind: str) -> str:
    """A data manager's API token (through the service's login for the service; issued
    directly in the database, signed and anchored as the service's, for a floor app, which
    has no login route)."""
    if kind == "service":
        return login(base, "datamgr")
    from doseladder.conduct.db import Database
    from doseladder.conduct.services import sites_users

    db = Database(url)  # sealed: the trail of a floor-conforming run is verified
    try:
        return db.run(lambda s: sites_users.login(s, "datamgr", PASSWORD).token)
    finally:
        db.dispose()


def commit_groups(groups: list[int], writes: int, src: str | None) -> None:
    """The ``--commit-groups`` measurement (see the module docs), in a child process with the
    code in ``src`` on its path."""
    with throwaway_audit_home("doseladder-floor-"), scratch_database() as (_, url):
        in_child(src, "seed", url, "20")
        cmd = [sys.executable, str(HERE), "--child-groups", url, str(writes),
               ",".join(map(str, groups))]  # fmt: skip
        out = subprocess.run(cmd, env=env_for(src), check=True, capture_output=True, text=True)
        print(out.stdout.rstrip())


def _child_groups(url: str, writes: int, groups: list[int]) -> None:
    from sqlalchemy.orm import Session

    from doseladder.conduct.db import Database
    from doseladder.conduct.models import Patient
    from doseladder.conduct.services import outcomes, sites_users

    db = Database(url, pool_size=5)
    actor = db.run(
        lambda s: sites_users.actor_for(sites_users.authenticate(s, "datamgr", PASSWORD))
    )
    patients = db.run(lambda s: [int(p) for p in s.scalars(select_ids(Patient))])
    today = datetime.now(UTC).date()

    def one(s: Session, i: int) -> None:
        outcomes.record_adverse_event(
            s, actor, patients[i % len(patients)], term="headache", grade=1 + i % 2,
            onset_date=today,
        )  # fmt: skip

    def group(s: Session, first: int, k: int) -> None:
        for j in range(k):
            with s.begin_nested():  # SAVEPOINT: one failing write would not undo the others
                one(s, first + j)

    for i in range(20):  # warm-up
        db.run(lambda s, i=i: one(s, i))
    for k in groups:
        pg0 = cpu_seconds(postgres_pids())
        t0 = time.process_time()
        for first in range(0, writes, k):
            if k == 1:
                db.run(lambda s, first=first: one(s, first))
            else:
                db.run(lambda s, first=first, k=k: group(s, first, k))
        cpu = (time.process_time() - t0) / writes * 1e3
        pg = cpu_used(pg0, cpu_seconds(postgres_pids())) / writes * 1e3
        print(
            f"  {k} write(s) per transaction{' (each in a SAVEPOINT)' if k > 1 else '':<24} "
            f"CPU ms per write: this process {cpu:5.2f}, PostgreSQL {pg:4.2f}; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    db.dispose()


def select_ids(model: Any) -> Any:
    from sqlalchemy import select

    return select(model.id).order_by(model.id)


def in_process(writes: int, protocol: str) -> None:
    """``--in-process N``: ``floor-conforming``'s write called directly in this thread (no
    HTTP, no event loop), as ``bench_write_cpu.py`` calls the service's app (the same bodies,
    patients in turn, after 20 warm-up writes): CPU ms per write of this process and of
    PostgreSQL, per fifth of the writes (the histories grow: 60 patients)."""
    from _floor_conforming import ConformingWriter

    with throwaway_audit_home("doseladder-floor-"), scratch_database() as (_, url):
        by_trial = in_child(None, "seed", url, "20", protocol)["by_trial"]
        patients = [p for ps in by_trial.values() for p in ps]
        writer = ConformingWriter(url)
        token = _token("", url, "floor-conforming")
        today = datetime.now(UTC).date().isoformat()

        def write(i: int) -> None:
            body = f'{{"term":"headache","grade":{1 + i % 2},"onset_date":"{today}"}}'.encode()
            status, reply = writer.write(token, patients[i % len(patients)], body)
            assert status == 201, reply

        for i in range(20):
            write(i)
        part = max(1, writes // 5)
        for first in range(0, writes, part):
            pg0, t0 = cpu_seconds(postgres_pids()), time.process_time()
            for i in range(first, min(writes, first + part)):
                write(i)
            n = min(writes, first + part) - first
            cpu = (time.process_time() - t0) / n * 1e3
            pg = cpu_used(pg0, cpu_seconds(postgres_pids())) / n * 1e3
            print(
                f"  writes {first + 1}-{first + n} (up to {(first + n + 20) / len(patients):.0f} "
                f"per patient): CPU ms per write: this process {cpu:5.2f}, PostgreSQL {pg:4.2f}, "
                f"all {cpu + pg:5.2f}; load average {os.getloadavg()[0]:.1f}"
            )
        writer.close()


_APPS = ("floor-fastapi", "floor-asgi", "floor-conforming", "service")


def check(protocol: str) -> int:
    """``--check`` (see the module docs); 0 when everything is identical and verified."""
    from _floor_conforming import compare_with_service

    if protocol != DEFAULT_PROTOCOL:
        print("--check uses the shipped protocol's DLT definition: --protocol ignored")
    with throwaway_audit_home("doseladder-floor-check-"):
        r = compare_with_service(DEFAULT_PROTOCOL)
    print(f"{r['requests']} adverse-event requests to the service and to floor-conforming: "
          f"answers {r['statuses']}, DLT calls {r['calls']}")  # fmt: skip
    print(f"  rows compared whole: {r['rows']}; anchored heads: {r['anchor_lines']} lines")
    print(f"  token last use recorded: {r['last_seen_at']} (clock {r['clock_at_end']})")
    for who, v in r["verify"].items():
        print(f"  audit verify, {who}: {'intact' if v['ok'] and not v['data'] else v}")
    verified = all(v["ok"] and not v["data"] for v in r["verify"].values())
    if r["differences"] or not verified:
        print("DIFFERENT:\n  " + "\n  ".join(r["differences"]))
        return 1
    print("identical: every row, every answer, every anchored head")
    return 0


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child-groups":
        _child_groups(sys.argv[2], int(sys.argv[3]), [int(k) for k in sys.argv[4].split(",")])
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-concurrency", type=int, default=None)
    parser.add_argument("--apps", default="floor-fastapi,floor-asgi,service")
    add_protocol_option(parser)
    parser.add_argument("--src", default=None, help="source tree of the service (default: here)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--commit-groups", metavar="K,K,...",
        help="measure k writes per transaction (direct service calls) instead",
    )  # fmt: skip
    parser.add_argument("--writes", type=int, default=240, help="writes per --commit-groups k")
    parser.add_argument(
        "--check", action="store_true",
        help="compare floor-conforming's stored rows with the service's instead",
    )  # fmt: skip
    parser.add_argument(
        "--in-process", type=int, metavar="N",
        help="floor-conforming's write called directly N times (no HTTP) instead",
    )  # fmt: skip
    args = parser.parse_args()
    if args.in_process:
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {os.getloadavg()[0]:.1f}; "
              f"floor-conforming in-process, {args.in_process} writes")  # fmt: skip
        in_process(args.in_process, args.protocol)
        return 0
    if args.check:
        return check(args.protocol)
    if args.commit_groups:
        groups = [int(k) for k in args.commit_groups.split(",") if k.strip()]
        if not groups or any(not 1 <= k <= 100 for k in groups) or not 10 <= args.writes <= 10_000:
            parser.error("--commit-groups: integers in 1..100; --writes 10..10000")
        load = os.getloadavg()
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {load[0]:.1f} {load[1]:.1f}; "
            f"{args.writes} adverse-event writes per k, direct service calls, sealed"
        )
        for _ in range(args.rounds):
            commit_groups(groups, args.writes, args.src)
        return 0
    kinds = [k.strip() for k in args.apps.split(",") if k.strip()]
    if not kinds or any(k not in _APPS for k in kinds):
        parser.error(f"--apps: a comma-separated list of {', '.join(_APPS)}")
    if not (1 <= args.seconds <= 600 and 1 <= args.writers <= 500 and 1 <= args.rounds <= 10):
        parser.error("out of range: --seconds 1..600, --writers 1..500, --rounds 1..10")
    load = os.getloadavg()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
        f"{args.writers} writers, {args.workers} server processes, writes only"
    )
    for i in range(args.rounds):
        for kind in kinds:
            r = run(args, kind)
            print(
                f"  round {i + 1} {r['app']:<14} {r['rate']:6.0f} writes/s; CPU ms per write: "
                f"server {r['server_ms']:5.2f}, PostgreSQL {r['pg_ms']:4.2f}, clients "
                f"{r['clients_ms']:4.2f}, all {r['server_ms'] + r['pg_ms'] + r['clients_ms']:5.2f}"
                f"; errors {r['errors'] or 'none'}; load average {r['load']:.1f}"
            )
            if r["checked"]:
                print(f"    {r['checked']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
