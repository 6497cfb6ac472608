"""CPU per live recommendation through the whole HTTP stack, in-process (issue #10, item 8): served
from the cache (no write since), after an adverse event never flagged as a possible DLT (the
cached snapshot is revalidated), and after a flagged one (every record read again).

Run::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_read_cpu.py [--reads 300]
        [--rounds 3] [--compare OTHER_SRC] [--profile]

Set-up as ``bench_write_cpu.py`` (a fresh PostgreSQL database per run, 20 open trials with three
enrolled patients each, ``--protocol`` as there, the app called in-process through
``httpx.ASGITransport`` with FastAPI's worker-thread calls run inline, so ``time.process_time``
counts all of a request's work in one thread). Only the ``GET /trials/{id}/recommendation``
calls are timed; each "after a write" read follows one ``POST /patients/{id}/adverse-events`` to
a patient of its trial (grade 1 headache; ``dlt_candidate`` true for the flagged case). With
``--compare`` the rounds alternate between the two source trees (each in its own child process
and database); the minimum over rounds is the figure least disturbed by other load
(``BENCH_REAL_THREADS=1``: the worker-thread calls run in real threads, hops counted).
``--profile``: a cProfile (CPU time) of the cached reads of the last round."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _service import (
    add_in_process_options,
    add_protocol_option,
    alternate_rounds,
    in_child,
    in_process_client,
    inline_worker_threads,
    measure_in_child,
    scratch_database,
)

HERE = str(Path(__file__).resolve())
KINDS = (("hit", "cached"), ("plain", "after an unflagged AE"), ("flagged", "after a flagged AE"))


def measure(reads: int, profile: bool, src: str | None, protocol: str) -> dict[str, Any]:
    """One run with the doseladder code in ``src`` on ``sys.path`` (the child process)."""
    from doseladder.conduct.db import Database
    from doseladder.web import create_app

    inline_worker_threads()
    with scratch_database() as (_, url):
        by_trial = {
            int(k): v for k, v in in_child(src, "seed", url, "20", protocol)["by_trial"].items()
        }
        db = Database(url, pool_size=10)
        app = create_app(db)
        trials = sorted(by_trial)
        today = datetime.now(UTC).date().isoformat()
        out: dict[str, Any] = {}

        async def go() -> None:
            async with in_process_client(app) as c:

                async def read(trial: int) -> float:
                    t0 = time.process_time()
                    r = await c.get(f"/trials/{trial}/recommendation")
                    spent = time.process_time() - t0
                    assert r.status_code == 200, r.text
                    return spent

                async def write(trial: int, i: int, flagged: bool) -> None:
                    body = {"term": "headache", "grade": 1, "onset_date": today,
                            "dlt_candidate": flagged}  # fmt: skip
                    ps = by_trial[trial]
                    r = await c.post(f"/patients/{ps[i % len(ps)]}/adverse-events", json=body)
                    assert r.status_code == 201, r.text

                for i in range(40):  # warm-up: every trial cached, code paths warm
                    await write(trials[i % len(trials)], i, False)
                    await read(trials[i % len(trials)])
                prof = cProfile.Profile(time.process_time) if profile else None
                if prof:
                    prof.enable()
                out["hit"] = sum([await read(trials[i % len(trials)]) for i in range(reads)])
                if prof:
                    prof.disable()
                    stats = pstats.Stats(prof, stream=sys.stderr)
                    stats.sort_stats("tottime").print_stats(25)
                    stats.sort_stats("cumulative").print_stats("doseladder|sqlalchemy", 45)
                    stats.print_callees(r"recommendation.py:\d+\((recommend|compute)\)")
                    stats.print_callees(r"api/decisions.py:\d+\(<lambda>\)")
                out["hit"] /= reads
                for kind, flagged in (("plain", False), ("flagged", True)):
                    spent = 0.0
                    n = max(reads // 3, 10)
                    for i in range(n):
                        trial = trials[i % len(trials)]
                        await write(trial, i, flagged)
                        spent += await read(trial)
                    out[kind] = spent / n

        asyncio.run(go())
        cache = db.recommendation_cache
        out["counters"] = {k: getattr(cache, k, None) for k in ("hits", "misses", "revalidated")}
        db.dispose()
    return out


def child(src: str | None, reads: int, profile: bool, protocol: str) -> dict[str, Any]:
    args = ["--reads", str(reads), "--protocol", protocol]
    return measure_in_child(HERE, args, src, profile, 24000)


def _line(label: str, rs: list[dict[str, Any]]) -> str:
    parts = [f"{name} {min(r[k] for r in rs) * 1e3:5.2f} ms" for k, name in KINDS]
    return f"  {label:<40} CPU/recommendation: " + ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reads", type=int, default=300)
    add_in_process_options(parser)
    add_protocol_option(parser)
    args = parser.parse_args()
    if not (30 <= args.reads <= 100_000 and 1 <= args.rounds <= 20):
        parser.error("out of range: --reads 30..100000, --rounds 1..20")
    if args.child:
        print(json.dumps(measure(args.reads, args.profile, args.compare, args.protocol)))
        return 0
    results = alternate_rounds(
        args.rounds,
        args.compare,
        lambda src, last: child(src, args.reads, args.profile and last, args.protocol),
        lambda i, label, r: f"  round {i}:" + _line(label, [r]) + f"; cache {r['counters']}",
    )
    print(f"--- minimum over {args.rounds} rounds ({args.reads} cached reads each)")
    for label, rs in results.items():
        print(_line(label, rs))
    load = os.getloadavg()
    print(f"load average after: {load[0]:.1f} {load[1]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
