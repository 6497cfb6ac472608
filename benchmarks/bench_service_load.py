"""The conduct service under load (issue #10, item 8): ``doseladder serve --workers N`` on
PostgreSQL, 50 concurrent writers spread over 20 trials and readers of the recommendation.

Run (one command; ``--quick`` for a 10-second smoke run)::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_service_load.py [--quick]
        [--seconds 30] [--writers 50] [--readers 4] [--trials 20] [--workers 2]
        [--compare OTHER_SRC]

* A fresh database ``doseladder_bench_<random>`` on PostgreSQL (127.0.0.1:5432, user
  ``postgres``; ``DOSELADDER_TEST_PG_HOST/PORT/USER`` override) is migrated and seeded through
  the services: ``--trials`` open trials with three enrolled, infused patients each; it is
  dropped at the end (``--keep`` keeps it).  The trials' protocol (``--protocol``) is by default
  a shipped one (BOIN, with a DLT definition: every adverse event is graded against it and the
  patient's DLT proposal is computed and stored, as in a real trial); ``--protocol design`` uses
  a bare BOIN design file without a DLT definition, as the figures before 2026-12-05 18:40 UTC.
  A throw-away audit signing key and anchor file are used.
* The server is ``doseladder serve --workers N`` (a real process group on a free port).
* The server runs with ``--no-access-log`` (and ``--write-concurrency`` if given) when the
  code under test has these options.
* The load generator (``benchmarks/_service.py``) is ``asyncio`` with a minimal HTTP/1.1
  keep-alive client (one connection per client) in two processes of its own:
  ``--writers`` concurrent clients loop ``POST /patients/{id}/adverse-events`` for a random
  patient of a random trial (201 expected);
  ``--readers`` clients loop ``GET /trials/{id}/recommendation`` on random trials (20 ms
  apart, or one every ``--read-interval`` seconds: a fixed rate, so that faster reads do
  not take more of the server's CPU from the writers), timed.  The recommendation is also
  timed on the quiet server before and after.
* Reported: accepted writes/s, recommendation p50/p99 quiet and under load, lost and
  duplicated writes (adverse-event rows and audit records against the 201s; every
  acknowledged adverse-event id stored, none acknowledged twice), ``audit verify``
  with the signing key and anchor file after the run, and the CPU seconds used by the server
  processes, by PostgreSQL (every ``postgres`` process: the server is shared) and by the
  load generator, to show where the time goes.
* ``--compare OTHER_SRC``: the same run, in the same session, against the code in another
  source tree (e.g. a checkout of the previous commit), each on its own fresh database; the
  runs alternate ``--rounds`` times.

Targets: recommendation p99 < 100 ms under the load, ≥ 500 accepted writes/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _service import (
    TARGET_P99,
    acknowledged,
    add_protocol_option,
    count,
    cpu_seconds,
    cpu_used,
    finish_load,
    group_pids,
    in_child,
    login,
    percentiles,
    postgres_pids,
    quiet_latency,
    scratch_database,
    serve,
    serve_options,
    show,
    start_load,
    throwaway_audit_home,
)

TARGET_WRITES = 500.0
AUDIT_SQL = (
    "SELECT count(*) FROM audit_events WHERE entity_type = 'adverse_events' AND action = 'create'"
)


def run(args: argparse.Namespace, src: str | None, label: str) -> dict[str, Any]:
    """One complete run against the code in ``src``; prints and returns its figures."""
    with throwaway_audit_home(), scratch_database(args.keep) as (dbname, url):
        by_trial = {
            int(k): v
            for k, v in in_child(src, "seed", url, str(args.trials), args.protocol)[
                "by_trial"
            ].items()
        }
        trial_ids = sorted(by_trial)
        options = serve_options(src, args.write_concurrency)
        with serve(url, workers=args.workers, src=src, options=options) as (base, server):
            writer_token, stat_token = login(base, "datamgr"), login(base, "stat")
            quiet_before = quiet_latency(base, stat_token, trial_ids, args.quiet_requests)
            ae_before = count(dbname, "SELECT count(*) FROM adverse_events")
            audit_before = count(dbname, AUDIT_SQL)
            start_at = time.time() + 2.0
            common = {"base": base, "seconds": args.seconds, "start_at": start_at,
                      "by_trial": by_trial}  # fmt: skip
            writers = start_load(
                {**common, "kind": "write", "token": writer_token, "clients": args.writers}
            )
            readers = start_load(
                {**common, "kind": "read", "token": stat_token, "clients": args.readers,
                 "pause": 0.02, "interval": args.read_interval}
            )  # fmt: skip
            time.sleep(max(0.0, start_at - time.time()))
            pg0 = cpu_seconds(postgres_pids())
            srv0 = cpu_seconds(group_pids(server.pid))
            w, r = finish_load(writers), finish_load(readers)
            cpu_pg = cpu_used(pg0, cpu_seconds(postgres_pids()))
            cpu_srv = cpu_used(srv0, cpu_seconds(group_pids(server.pid)))
            quiet_after = quiet_latency(base, stat_token, trial_ids, args.quiet_requests)
        ae_after = count(dbname, "SELECT count(*) FROM adverse_events")
        missing, repeated = acknowledged(dbname, [int(x) for x in w["created"]])
        audit_after = count(dbname, AUDIT_SQL)
        verified = in_child(src, "verify", url)
    duration = float(w["duration"])
    rows = ae_after - ae_before - int(w["ok"])
    records = audit_after - audit_before - int(w["ok"])
    load = os.getloadavg()
    rate = w["ok"] / duration
    print(
        f"--- {label}: serve --workers {args.workers}, {args.writers} writers over "
        f"{args.trials} trials ({args.protocol}), {args.readers} recommendation readers, "
        f"{duration:.1f} s"
    )
    print(
        f"  {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print(
        f"  accepted writes: {w['ok']} = {rate:.0f} writes/s (target >= {TARGET_WRITES:.0f}: "
        f"{'meets' if rate >= TARGET_WRITES else 'MISSES'}); refused/failed: "
        f"{w['errors'] or 'none'}; readers' errors: {r['errors'] or 'none'}"
    )
    print(
        f"  lost: {max(0, -rows)} rows, {max(0, -records)} audit records; duplicated: "
        f"{max(0, rows)} rows, {max(0, records)} audit records; audit verify (key + anchors): "
        f"{'intact' if verified['ok'] else 'BROKEN: ' + str(verified['problem'])} "
        f"({verified['events']} events, tables match the trail: {not verified['data']}); "
        f"acknowledged ids not stored: {missing}, acknowledged twice: {repeated}"
    )
    print(f"  serve options: {' '.join(options) or '(defaults)'}")
    print(
        f"  CPU seconds during the load: server {cpu_srv:.1f}, PostgreSQL (all, shared) "
        f"{cpu_pg:.1f}, load generator {w['cpu'] + r['cpu']:.1f} (of {duration * 2:.0f} "
        f"core-seconds on {os.cpu_count()} cores); server CPU per write "
        f"{cpu_srv / max(1, w['ok']) * 1e3:.2f} ms; all three per write "
        f"{(cpu_srv + cpu_pg + w['cpu'] + r['cpu']) / max(1, w['ok']) * 1e3:.2f} ms (the "
        f"{len(r['latency'])} reads' CPU included: run --readers 1 for writes alone)"
    )
    show("POST adverse event (under load)", w["latency"])
    show("GET recommendation (quiet, before)", quiet_before, TARGET_P99)
    show("GET recommendation (under load)", r["latency"], TARGET_P99)
    show("GET recommendation (quiet, after)", quiet_after, TARGET_P99)
    ok = (
        rows == 0
        and records == 0
        and missing == 0
        and repeated == 0
        and verified["ok"]
        and not w["errors"]
        and not r["errors"]
    )
    return {
        "ok": ok,
        "rate": rate,
        "read": percentiles(r["latency"]),
        "cpu_per_write": cpu_srv / max(1, w["ok"]),
        "cpu_all_per_write": (cpu_srv + cpu_pg + w["cpu"] + r["cpu"]) / max(1, w["ok"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="load duration (s)")
    parser.add_argument("--writers", type=int, default=50, help="concurrent writers")
    parser.add_argument("--readers", type=int, default=4, help="recommendation readers")
    parser.add_argument("--trials", type=int, default=20, help="trials the writes spread over")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument(
        "--read-interval", type=float, default=None,
        help="each reader starts a request every this many seconds (a fixed rate) instead "
        "of 20 ms after the previous answer",
    )  # fmt: skip
    parser.add_argument(
        "--write-concurrency", type=int, default=None,
        help="serve --write-concurrency (writes at once per process; default: serve's)",
    )  # fmt: skip
    parser.add_argument("--quiet-requests", type=int, default=200, help="quiet latency samples")
    add_protocol_option(parser)
    parser.add_argument("--quick", action="store_true", help="10 s of load, 50 quiet samples")
    parser.add_argument("--keep", action="store_true", help="keep the database(s)")
    parser.add_argument("--compare", metavar="SRC", help="also run the code in this src tree")
    parser.add_argument("--rounds", type=int, default=1, help="alternations with --compare")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.quiet_requests = 10.0, 50
    if not (
        1 <= args.seconds <= 3600
        and 1 <= args.writers <= 500
        and 1 <= args.readers <= 50
        and 1 <= args.trials <= 200
        and 1 <= args.workers <= 64
        and 1 <= args.rounds <= 10
        and (args.write_concurrency is None or 1 <= args.write_concurrency <= 1000)
        and (args.read_interval is None or 0.001 <= args.read_interval <= 10)
    ):
        parser.error("out of range: --seconds 1..3600, --writers 1..500, --readers 1..50, ...")
    if args.compare and not (Path(args.compare) / "doseladder").is_dir():
        parser.error(f"--compare: {args.compare} is not a src directory holding doseladder")
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; server, PostgreSQL and load generator on this machine"
    )
    runs: list[tuple[str, str | None]] = [("this checkout", None)]
    if args.compare:
        runs = [(f"compare ({args.compare})", args.compare), *runs]
    results: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for label, src in runs:
            results.setdefault(label, []).append(run(args, src, label))
    if args.compare:
        print("--- same-session comparison (median over rounds)")
        for label, rs in results.items():
            rates = sorted(x["rate"] for x in rs)
            p99 = sorted(x["read"]["p99"] for x in rs)
            cpw = sorted(x["cpu_per_write"] for x in rs)
            cpa = sorted(x["cpu_all_per_write"] for x in rs)
            print(
                f"  {label:<40} {rates[len(rates) // 2]:6.0f} writes/s, recommendation p99 "
                f"{p99[len(p99) // 2] * 1e3:6.1f} ms, server CPU/write "
                f"{cpw[len(cpw) // 2] * 1e3:5.2f} ms (server + PostgreSQL + clients "
                f"{cpa[len(cpa) // 2] * 1e3:5.2f} ms)"
            )
    ok = all(x["ok"] for rs in results.values() for x in rs)
    print("RESULT:", "nothing lost or duplicated, audit verified" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
