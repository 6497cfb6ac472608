"""Trial conduct under load on PostgreSQL: 50 concurrent clients recording outcomes through the
JSON API for a bounded time, then a check that nothing was lost, and the latency of the
recommendation endpoint (target p99 < 100 ms).

Run: ``python benchmarks/bench_conduct_load.py [--seconds 60] [--clients 50]``.

* A fresh database ``doseladder_bench_<random>`` is created on PostgreSQL (127.0.0.1:5432,
  user ``postgres``; ``DOSELADDER_TEST_PG_HOST/PORT/USER`` override), migrated, seeded with
  the demo trial (STR-P004, TITE-BOIN12, ten patients) and dropped at the end (``--keep``
  keeps it).
* The server is ``doseladder serve`` on 127.0.0.1 (a free port; ``benchmarks/_service.py``,
  shared with ``bench_service_load.py``).
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
import shutil
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
from _service import TARGET_P99, admin_conninfo, login, scratch_database, serve, show


@dataclass
class Tally:
    ok: dict[str, int] = field(default_factory=lambda: {"ae": 0, "efficacy": 0})
    errors: dict[str, int] = field(default_factory=dict)
    write_latency: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration (s)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent writers")
    parser.add_argument("--quiet-requests", type=int, default=200, help="quiet latency samples")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 3600 or not 1 <= args.clients <= 200:
        parser.error("--seconds must be in 1..3600 and --clients in 1..200")

    from doseladder.conduct import Database, upgrade
    from doseladder.web.demo import DEMO_PASSWORD, seed_demo

    home = Path(tempfile.mkdtemp(prefix="doseladder-bench-"))
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")  # no signing key of the user's
    os.environ["XDG_STATE_HOME"] = str(home / "state")
    with scratch_database(args.keep) as (name, url):
        upgrade(url)
        info = seed_demo(url)
        db = Database(url)

        def counts() -> dict[str, int]:
            with psycopg.connect(admin_conninfo(name)) as conn:
                out = {}
                for table in ("adverse_events", "efficacy_assessments"):
                    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                    out[table] = int(row[0]) if row else 0
                # the creation records of those rows (a write may record more, e.g. a DLT
                # proposal)
                row = conn.execute(
                    "SELECT count(*) FROM audit_events WHERE action = 'create' AND entity_type "
                    "IN ('adverse_events', 'efficacy_assessments')"
                ).fetchone()
                out["audit_events"] = int(row[0]) if row else 0
                return out

        def ids(sql: str) -> list[int]:
            with psycopg.connect(admin_conninfo(name)) as conn:
                return [int(r[0]) for r in conn.execute(sql).fetchall()]

        enrolled = ids("SELECT DISTINCT patient_id FROM enrolments")
        with serve(url, workers=1) as (base, _):
            result = _load(args, base, db, info, enrolled, counts, DEMO_PASSWORD)
        db.dispose()
    shutil.rmtree(home, ignore_errors=True)
    return result


def _load(
    args: argparse.Namespace,
    base: str,
    db: Any,
    info: Any,
    enrolled: list[int],
    counts: Any,
    password: str,
) -> int:
    from doseladder.conduct.services import exports, sites_users

    def token(user: str) -> str:
        return login(base, user, password)

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

    accepted = tally.ok["ae"] + tally.ok["efficacy"]
    lost_ae = before["adverse_events"] + tally.ok["ae"] - after["adverse_events"]
    lost_eff = before["efficacy_assessments"] + tally.ok["efficacy"] - after["efficacy_assessments"]
    # every accepted write is one creation record of its row
    audit_gap = before["audit_events"] + accepted - after["audit_events"]
    print(
        f"PostgreSQL load: {args.clients} clients for {duration:.1f} s "
        "(server: doseladder serve, 1 process)"
    )
    print(
        f"  accepted writes: {accepted} ({tally.ok['ae']} adverse events, "
        f"{tally.ok['efficacy']} efficacy) = {accepted / duration:.0f} writes/s; "
        f"refused/failed: {tally.errors or 'none'}"
    )
    print(
        f"  rows: adverse_events {before['adverse_events']} -> {after['adverse_events']}, "
        f"efficacy {before['efficacy_assessments']} -> {after['efficacy_assessments']}, "
        f"their creation audit records {before['audit_events']} -> {after['audit_events']}"
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


if __name__ == "__main__":
    sys.exit(main())
