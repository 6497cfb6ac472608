"""The audit append path alone on PostgreSQL: concurrent committers, each writing to its own
trial, with nothing else in the transaction -- how many signed, anchored commits per second
the audit trail lets through, and how long a commit waits for the chain head's lock.

Run (``--compare`` runs the same thing with the code of another source tree, alternating)::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_audit_append.py [--threads 8]
        [--seconds 10] [--compare OTHER_SRC] [--rounds 2]

Each committer is a thread with its own connection (``Database`` pool) looping ``log_event``
(one audit event of its trial) + commit, signed, anchored at every commit.  With one global
head row every commit of every trial queues for the same lock; with per-trial chains only
commits of the same trial do.  Reported: commits/s, p50/p99 commit time, process CPU per
commit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _service import env_for, percentiles, scratch_database


def child(url: str, threads: int, seconds: float) -> dict[str, Any]:
    """In the process running the code under test: migrate, then the committers."""
    from doseladder.conduct import Database, audit, upgrade
    from doseladder.conduct.sealing import configured_sealer
    from doseladder.conduct.security import SYSTEM

    upgrade(url)
    sealer = configured_sealer(url, create_key=True)
    db = Database(url, sealer=sealer, pool_size=threads + 2)
    latency: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()
    gate = threading.Barrier(threads + 1)

    def committer(trial: int) -> None:
        mine: list[float] = []

        def write(s: Any) -> None:
            s.info["actor"] = SYSTEM
            audit.log_event(s, "probe", trial_id=trial, data={"t": trial})

        db.run(write)  # warm-up (a new chain's first commit creates its head)
        gate.wait()
        while not stop.is_set():
            t0 = time.perf_counter()
            db.run(write)
            mine.append(time.perf_counter() - t0)
        with lock:
            latency.extend(mine)

    workers = [threading.Thread(target=committer, args=(i + 1,)) for i in range(threads)]
    for t in workers:
        t.start()
    gate.wait()
    cpu0, t0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    stop.set()
    for t in workers:
        t.join()
    duration, cpu = time.monotonic() - t0, time.process_time() - cpu0
    with db.session() as s:
        ok = audit.verify(s, check_data=False, anchors=sealer.anchors if sealer else None).ok
    db.dispose()
    return {"commits": len(latency), "duration": duration, "cpu": cpu, "latency": latency,
            "verified": ok}  # fmt: skip


def run(src: str | None, threads: int, seconds: float) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="doseladder-bench-"))
    env = {**env_for(src), "XDG_CONFIG_HOME": str(home / "c"), "XDG_STATE_HOME": str(home / "s")}
    try:
        with scratch_database() as (_, url):
            out = subprocess.run(
                [sys.executable, __file__, "--child", url, str(threads), str(seconds)],
                env=env, check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--threads", type=int, default=8, help="committers (one trial each)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--compare", metavar="SRC", help="also run the code in this src tree")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), float(args.child[2]))))
        return 0
    if not (1 <= args.threads <= 64 and 1 <= args.seconds <= 600 and 1 <= args.rounds <= 10):
        parser.error("out of range: --threads 1..64, --seconds 1..600, --rounds 1..10")
    runs: list[tuple[str, str | None]] = [("this checkout", None)]
    if args.compare:
        runs.insert(0, (f"compare ({args.compare})", args.compare))
    load = os.getloadavg()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load average {load[0]:.1f}; "
        f"{args.threads} committers (one trial each), {args.seconds:.0f} s, signed + anchored"
    )
    ok = True
    for _ in range(args.rounds):
        for label, src in runs:
            r = run(src, args.threads, args.seconds)
            p = percentiles(r["latency"])
            ok = ok and bool(r["verified"])
            print(
                f"  {label:<34} {r['commits'] / r['duration']:6.0f} commits/s; commit p50 "
                f"{p['p50'] * 1e3:6.1f} ms, p99 {p['p99'] * 1e3:6.1f} ms; CPU/commit "
                f"{r['cpu'] / max(1, r['commits']) * 1e3:5.2f} ms; chain "
                f"{'verifies' if r['verified'] else 'BROKEN'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
