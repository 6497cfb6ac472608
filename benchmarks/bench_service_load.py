"""The conduct service under load (issue #10, item 8): ``doseladder serve --workers N`` on
PostgreSQL, 50 concurrent writers spread over 20 trials and readers of the recommendation.

Run (one command; ``--quick`` for a 10-second smoke run)::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_service_load.py [--quick]
        [--seconds 30] [--writers 50] [--readers 4] [--trials 20] [--workers 2]

* A fresh database ``doseladder_bench_<random>`` on PostgreSQL (127.0.0.1:5432, user
  ``postgres``; ``DOSELADDER_TEST_PG_HOST/PORT/USER`` override) is migrated and seeded through
  the services: ``--trials`` open BOIN trials with three enrolled patients each; it is dropped
  at the end (``--keep`` keeps it).  A throw-away audit signing key and anchor file are used.
* The server is ``doseladder serve --workers N`` (a real process group on a free port).
* ``--writers`` client threads each loop ``POST /patients/{id}/adverse-events`` for a random
  patient of a random trial (201 expected); ``--readers`` threads loop
  ``GET /trials/{id}/recommendation`` on random trials, timed.  The recommendation is also
  timed on the quiet server before and after.
* Verification: adverse-event rows = seeded + every 201, the audit trail has one
  adverse-event creation per accepted write, and the chain verifies.  Exit status 1
  otherwise.

Targets: recommendation p99 < 100 ms under the load, ≥ 500 accepted writes/s.  The client
threads run on the same machine as the server and PostgreSQL: on a small machine they take a
share of the CPU the server could use.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

PG_HOST = os.environ.get("DOSELADDER_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("DOSELADDER_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("DOSELADDER_TEST_PG_USER", "postgres")
TARGET_P99 = 0.100
TARGET_WRITES = 500.0
PASSWORD = "bench load password 2026"
BOIN = {"design": "boin", "num_doses": 4, "target": 0.3, "cohort_size": 3, "max_n": 30}


def _admin(dbname: str = "postgres") -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={dbname} connect_timeout=5"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"n": len(values), "p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50": q[49], "p95": q[94], "p99": q[98], "max": max(values)}


def show(name: str, values: list[float], target: float | None = None) -> None:
    p = percentiles(values)
    line = (
        f"  {name:<40} n={p['n']:>6}  p50 {p['p50'] * 1e3:7.1f} ms  "
        f"p95 {p['p95'] * 1e3:7.1f} ms  p99 {p['p99'] * 1e3:7.1f} ms"
    )
    if target is not None:
        verdict = "meets" if p["p99"] < target else "MISSES"
        line += f"  -> {verdict} p99 < {target * 1e3:.0f} ms"
    print(line)


def seed(url: str, n_trials: int) -> tuple[list[int], dict[int, list[int]]]:
    """Users and ``n_trials`` open trials with three enrolled patients each, via the services."""
    from doseladder.conduct import Database
    from doseladder.conduct.security import Role
    from doseladder.conduct.services import decisions, patients, sites_users, trials

    db = Database(url)
    try:

        def users(s: Any) -> dict[str, Any]:
            admin = sites_users.actor_for(
                sites_users.bootstrap_admin(s, username="admin", password=PASSWORD)
            )
            site = sites_users.create_site(s, admin, code="S1", name="Site 1")
            made = {"site": site.id}
            for name, role, site_id in (
                ("stat", Role.STATISTICIAN, None),
                ("inv", Role.INVESTIGATOR, site.id),
                ("datamgr", Role.DATA_MANAGER, None),
            ):
                u = sites_users.create_user(
                    s, admin, username=name, password=PASSWORD, role=role, site_id=site_id
                )
                made[name] = sites_users.actor_for(u)
            return made

        who = db.run(users)
        today = datetime.now(UTC).date()
        trial_ids: list[int] = []
        by_trial: dict[int, list[int]] = {}
        for i in range(n_trials):

            def trial(s: Any, i: int = i) -> int:
                t = trials.create_trial(
                    s, who["stat"], code=f"LOAD{i:02d}", title=f"Load {i}", protocol=BOIN
                )
                trials.activate_site(s, who["stat"], t.id, who["site"])
                trials.open_trial(s, who["stat"], t.id)
                return int(t.id)

            tid = db.run(trial)
            d = db.run(lambda s, tid=tid: decisions.record_decision(s, who["stat"], tid))
            pids = []
            for _ in range(3):

                def enrol(s: Any, tid: int = tid, d: Any = d) -> int:
                    p = patients.register_patient(s, who["inv"], tid, site_id=who["site"])
                    patients.record_screening(s, who["inv"], p.id, screened_on=today, eligible=True)
                    patients.enrol(
                        s,
                        who["inv"],
                        p.id,
                        dose_level=d.next_dose,
                        decision_id=d.id,
                        infusion_date=today,
                    )
                    return int(p.id)

                pids.append(db.run(enrol))
            trial_ids.append(tid)
            by_trial[tid] = pids
        return trial_ids, by_trial
    finally:
        db.dispose()


@dataclass
class Tally:
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    write_latency: list[float] = field(default_factory=list)
    read_latency: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="load duration (s)")
    parser.add_argument("--writers", type=int, default=50, help="concurrent writers")
    parser.add_argument("--readers", type=int, default=4, help="recommendation readers")
    parser.add_argument("--trials", type=int, default=20, help="trials the writes spread over")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--quiet-requests", type=int, default=200, help="quiet latency samples")
    parser.add_argument("--quick", action="store_true", help="10 s of load, 50 quiet samples")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.quiet_requests = 10.0, 50
    if not (
        1 <= args.seconds <= 3600
        and 1 <= args.writers <= 500
        and 0 <= args.readers <= 50
        and 1 <= args.trials <= 200
        and 1 <= args.workers <= 64
    ):
        parser.error("out of range: --seconds 1..3600, --writers 1..500, --readers 0..50, ...")

    from doseladder.conduct import Database, upgrade
    from doseladder.conduct.sealing import configured_sealer
    from doseladder.conduct.services import exports, sites_users

    home = Path(tempfile.mkdtemp(prefix="doseladder-bench-"))
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")  # a throw-away signing key ...
    os.environ["XDG_STATE_HOME"] = str(home / "state")  # ... and anchor file
    for name in ("DOSELADDER_AUDIT_KEY", "DOSELADDER_AUDIT_KEY_FILE", "DOSELADDER_AUDIT_ANCHORS"):
        os.environ.pop(name, None)
    name = f"doseladder_bench_{secrets.token_hex(5)}"
    with psycopg.connect(_admin(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    server: subprocess.Popen[bytes] | None = None
    try:
        upgrade(url)
        configured_sealer(url, create_key=True)
        trial_ids, by_trial = seed(url, args.trials)
        port = _free_port()
        src = str(Path(__file__).resolve().parents[1] / "src")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
        server = subprocess.Popen(
            [sys.executable, "-m", "doseladder.cli.main", "serve", "--database", url,
             "--port", str(port), "--workers", str(args.workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 300
        while True:
            try:
                httpx.get(f"{base}/protocols", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)

        def token(user: str) -> str:
            r = httpx.post(
                f"{base}/auth/login", json={"username": user, "password": PASSWORD}, timeout=60
            )
            r.raise_for_status()
            value: str = r.json()["token"]
            return value

        writer_token, stat_token = token("datamgr"), token("stat")

        def count(sql: str) -> int:
            with psycopg.connect(_admin(name)) as conn:
                row = conn.execute(sql).fetchone()
                return int(row[0]) if row else 0

        def quiet(n: int) -> list[float]:
            out: list[float] = []
            headers = {"Authorization": f"Bearer {stat_token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                for i in range(n + 10):
                    t0 = time.perf_counter()
                    client.get(f"/trials/{trial_ids[i % len(trial_ids)]}/recommendation")
                    if i >= 10:  # after a warm-up
                        out.append(time.perf_counter() - t0)
            return out

        quiet_before = quiet(args.quiet_requests)
        ae_before = count("SELECT count(*) FROM adverse_events")
        audit_sql = (
            "SELECT count(*) FROM audit_events "
            "WHERE entity_type = 'adverse_events' AND action = 'create'"
        )
        audit_before = count(audit_sql)
        today = datetime.now(UTC).date().isoformat()
        tally = Tally()
        stop = threading.Event()
        gate = threading.Barrier(args.writers + args.readers + 1)

        def writer(i: int) -> None:
            rng = random.Random(i)
            headers = {"Authorization": f"Bearer {writer_token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                gate.wait()
                while not stop.is_set():
                    pid = rng.choice(by_trial[rng.choice(trial_ids)])
                    body = {"term": "headache", "grade": rng.choice([1, 2]), "onset_date": today}
                    t0 = time.perf_counter()
                    try:
                        status = str(
                            client.post(f"/patients/{pid}/adverse-events", json=body).status_code
                        )
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    elapsed = time.perf_counter() - t0
                    with tally.lock:
                        tally.write_latency.append(elapsed)
                        if status == "201":
                            tally.ok += 1
                        else:
                            tally.errors[status] = tally.errors.get(status, 0) + 1

        def reader(i: int) -> None:
            rng = random.Random(1000 + i)
            headers = {"Authorization": f"Bearer {stat_token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                gate.wait()
                while not stop.is_set():
                    t0 = time.perf_counter()
                    r = client.get(f"/trials/{rng.choice(trial_ids)}/recommendation")
                    elapsed = time.perf_counter() - t0
                    with tally.lock:
                        tally.read_latency.append(elapsed)
                        if r.status_code != 200:
                            key = f"GET {r.status_code}"
                            tally.errors[key] = tally.errors.get(key, 0) + 1
                    time.sleep(0.02)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(args.writers)]
        threads += [threading.Thread(target=reader, args=(i,)) for i in range(args.readers)]
        for t in threads:
            t.start()
        gate.wait()
        t_start = time.monotonic()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        duration = time.monotonic() - t_start
        quiet_after = quiet(args.quiet_requests)

        ae_after = count("SELECT count(*) FROM adverse_events")
        audit_after = count(audit_sql)
        db = Database(url)
        try:
            stat = db.run(lambda s: sites_users.actor_from_token(s, stat_token))
            verified = db.run(lambda s: exports.verify_audit(s, stat))
        finally:
            db.dispose()
        lost = ae_before + tally.ok - ae_after
        audit_gap = audit_before + tally.ok - audit_after
        load = os.getloadavg()
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}"
            f", {os.cpu_count()} cores; load average before/after "
            f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; PostgreSQL {PG_HOST}:{PG_PORT}"
        )
        print(
            f"serve --workers {args.workers}; {args.writers} writers over {args.trials} trials, "
            f"{args.readers} recommendation readers, {duration:.1f} s"
        )
        print(
            f"  accepted writes: {tally.ok} = {tally.ok / duration:.0f} writes/s "
            f"(target >= {TARGET_WRITES:.0f}: "
            f"{'meets' if tally.ok / duration >= TARGET_WRITES else 'MISSES'}); "
            f"refused/failed: {tally.errors or 'none'}"
        )
        print(
            f"  lost: {lost} adverse events, {audit_gap} adverse-event audit records; audit chain "
            f"{'verifies' if verified.ok else 'BROKEN: ' + str(verified.problem)} "
            f"({verified.events} events; tables match the trail: {not verified.data_problems})"
        )
        show("POST adverse event (under load)", tally.write_latency)
        show("GET recommendation (quiet, before)", quiet_before, TARGET_P99)
        show("GET recommendation (under load)", tally.read_latency, TARGET_P99)
        show("GET recommendation (quiet, after)", quiet_after, TARGET_P99)
        ok = lost == 0 and audit_gap == 0 and verified.ok and not tally.errors
        print("RESULT:", "nothing lost, audit chain verified" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover
                os.killpg(server.pid, signal.SIGKILL)
        if not args.keep:
            with psycopg.connect(_admin(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
