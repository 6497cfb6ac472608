"""Trial conduct under load on PostgreSQL: 50 concurrent clients recording outcomes through the
JSON API for a bounded time, then a check that nothing was lost, and the latency of the
recommendation endpoint (target p99 < 100 ms).

Run: ``python benchmarks/bench_conduct_load.py [--seconds 60] [--clients 50]``.

* A fresh database ``doseladder_bench_<random>`` is created on PostgreSQL (127.0.0.1:5432,
  user ``postgres``; ``DOSELADDER_TEST_PG_HOST/PORT/USER`` override), migrated, seeded with
  the demo trial (STR-P004, TITE-BOIN12, ten patients) and dropped at the end (``--keep``
  keeps it).
* The server is a real uvicorn process on 127.0.0.1 (a free port) running ``create_app``.
* Each client has its own data manager token and loops, until the time is up, over: record an
  adverse event or an efficacy assessment for a random enrolled patient (``POST``, 201
  expected).  One more client measures ``GET /trials/{id}/recommendation`` during the load;
  afterwards the endpoint is measured again on the quiet server.
* Verification: the rows of ``adverse_events`` and ``efficacy_assessments`` equal the seeded
  rows plus every 201 answered, the audit trail grew by exactly one event per accepted write,
  and the chain verifies intact.  Exit status 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

PG_HOST = os.environ.get("DOSELADDER_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("DOSELADDER_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("DOSELADDER_TEST_PG_USER", "postgres")
TARGET_P99 = 0.100


def _admin(dbname: str = "postgres") -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={dbname} connect_timeout=5"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(url: str, port: int, pool: int) -> None:
    """Server mode (a child process): uvicorn with the app on ``url``."""
    import uvicorn

    from doseladder.conduct import Database
    from doseladder.web import create_app

    db = Database(url, pool_size=pool)
    uvicorn.run(create_app(db), host="127.0.0.1", port=port, log_level="warning")


@dataclass
class Tally:
    ok: dict[str, int] = field(default_factory=lambda: {"ae": 0, "efficacy": 0})
    errors: dict[str, int] = field(default_factory=dict)
    write_latency: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50": q[49], "p95": q[94], "p99": q[98], "max": max(values)}


def show(name: str, values: list[float], target: float | None = None) -> None:
    p = percentiles(values)
    line = (
        f"  {name:<44} n={p['n']:>6}  p50 {p['p50'] * 1e3:7.1f} ms  "
        f"p95 {p['p95'] * 1e3:7.1f} ms  p99 {p['p99'] * 1e3:7.1f} ms"
    )
    if target is not None:
        verdict = "meets" if p["p99"] < target else "MISSES"
        line += f"  -> {verdict} the p99 < {target * 1e3:.0f} ms target"
    print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration (s)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent writers")
    parser.add_argument("--quiet-requests", type=int, default=200, help="quiet latency samples")
    parser.add_argument("--pool", type=int, default=40, help="server connection pool size")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--serve", nargs=3, metavar=("URL", "PORT", "POOL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return 0
    if not 1 <= args.seconds <= 3600 or not 1 <= args.clients <= 200:
        parser.error("--seconds must be in 1..3600 and --clients in 1..200")

    from doseladder.conduct import Database, upgrade
    from doseladder.conduct.services import exports, sites_users
    from doseladder.web.demo import DEMO_PASSWORD, seed_demo

    name = f"doseladder_bench_{secrets.token_hex(5)}"
    with psycopg.connect(_admin(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    server: subprocess.Popen[bytes] | None = None
    try:
        upgrade(url)
        info = seed_demo(url)
        db = Database(url)

        def counts() -> dict[str, int]:
            with psycopg.connect(_admin(name)) as conn:
                out = {}
                for table in ("adverse_events", "efficacy_assessments", "audit_events"):
                    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                    out[table] = int(row[0]) if row else 0
                return out

        def ids(sql: str) -> list[int]:
            with psycopg.connect(_admin(name)) as conn:
                return [int(r[0]) for r in conn.execute(sql).fetchall()]

        enrolled = ids("SELECT DISTINCT patient_id FROM enrolments")
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", url, str(port), str(args.pool)],
            stdout=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/protocols", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)

        def token(user: str) -> str:
            r = httpx.post(f"{base}/auth/login", json={"username": user, "password": DEMO_PASSWORD})
            r.raise_for_status()
            value: str = r.json()["token"]
            return value

        writer_tokens = [token("datamgr") for _ in range(args.clients)]
        stat_token = token("stat")

        def measure(n: int) -> list[float]:
            out: list[float] = []
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {stat_token}"}, timeout=60
            ) as client:
                for _ in range(10):  # warm-up
                    client.get(f"/trials/{info.trial_id}/recommendation")
                for _ in range(n):
                    t0 = time.perf_counter()
                    client.get(f"/trials/{info.trial_id}/recommendation").raise_for_status()
                    out.append(time.perf_counter() - t0)
            return out

        quiet_before = measure(args.quiet_requests)
        before = counts()
        today = datetime.now(UTC).date().isoformat()
        tally = Tally()
        stop = threading.Event()
        start_gate = threading.Barrier(args.clients + 2)
        loaded_latency: list[float] = []

        def writer(i: int) -> None:
            rng = random.Random(i)
            headers = {"Authorization": f"Bearer {writer_tokens[i]}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                start_gate.wait()
                while not stop.is_set():
                    pid = rng.choice(enrolled)
                    if rng.random() < 0.5:
                        kind, path = "ae", f"/patients/{pid}/adverse-events"
                        body: dict[str, Any] = {
                            "term": rng.choice(["headache", "fatigue", "nausea", "fever"]),
                            "grade": rng.choice([1, 1, 2]),
                            "onset_date": today,
                        }
                    else:
                        kind, path = "efficacy", f"/patients/{pid}/efficacy"
                        body = {
                            "assessed_on": today,
                            "instrument": "SRI-4",
                            "responder": rng.random() < 0.4,
                        }
                    t0 = time.perf_counter()
                    try:
                        r = client.post(path, json=body)
                        status = str(r.status_code)
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    elapsed = time.perf_counter() - t0
                    with tally.lock:
                        tally.write_latency.append(elapsed)
                        if status == "201":
                            tally.ok[kind] += 1
                        else:
                            tally.errors[status] = tally.errors.get(status, 0) + 1

        def reader() -> None:
            headers = {"Authorization": f"Bearer {stat_token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                start_gate.wait()
                while not stop.is_set():
                    t0 = time.perf_counter()
                    r = client.get(f"/trials/{info.trial_id}/recommendation")
                    loaded_latency.append(time.perf_counter() - t0)
                    r.raise_for_status()
                    time.sleep(0.05)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(args.clients)]
        threads.append(threading.Thread(target=reader))
        for t in threads:
            t.start()
        start_gate.wait()
        t_start = time.monotonic()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        duration = time.monotonic() - t_start

        quiet = measure(args.quiet_requests)

        after = counts()
        stat = db.run(lambda s: sites_users.actor_from_token(s, stat_token))
        verified = db.run(lambda s: exports.verify_audit(s, stat))
        db.dispose()

        accepted = tally.ok["ae"] + tally.ok["efficacy"]
        lost_ae = before["adverse_events"] + tally.ok["ae"] - after["adverse_events"]
        lost_eff = (
            before["efficacy_assessments"] + tally.ok["efficacy"] - after["efficacy_assessments"]
        )
        # logins issued tokens before the "before" count; every accepted write is one event
        audit_gap = before["audit_events"] + accepted - after["audit_events"]
        print(
            f"PostgreSQL load: {args.clients} clients for {duration:.1f} s "
            f"(server: uvicorn, 1 process, pool {args.pool})"
        )
        print(
            f"  accepted writes: {accepted} ({tally.ok['ae']} adverse events, "
            f"{tally.ok['efficacy']} efficacy) = {accepted / duration:.0f} writes/s; "
            f"refused/failed: {tally.errors or 'none'}"
        )
        print(
            f"  rows: adverse_events {before['adverse_events']} -> {after['adverse_events']}, "
            f"efficacy {before['efficacy_assessments']} -> {after['efficacy_assessments']}, "
            f"audit events {before['audit_events']} -> {after['audit_events']}"
        )
        print(
            f"  lost: {lost_ae} adverse events, {lost_eff} efficacy, {audit_gap} audit events; "
            f"audit chain {'intact' if verified.ok else 'BROKEN: ' + str(verified.problem)} "
            f"({verified.events} events, every table matches the trail: "
            f"{not verified.data_problems})"
        )
        rows_before = before["adverse_events"] + before["efficacy_assessments"]
        rows_after = after["adverse_events"] + after["efficacy_assessments"]
        show("POST outcome (under load)", tally.write_latency)
        show(f"GET recommendation (quiet, {rows_before} outcome rows)", quiet_before, TARGET_P99)
        show("GET recommendation (under load)", loaded_latency, TARGET_P99)
        show(f"GET recommendation (quiet, {rows_after} outcome rows)", quiet, TARGET_P99)
        ok = lost_ae == lost_eff == audit_gap == 0 and verified.ok and not tally.errors
        print("RESULT:", "nothing lost" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:  # pragma: no cover
                server.kill()
        if not args.keep:
            with psycopg.connect(_admin(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    sys.exit(main())
