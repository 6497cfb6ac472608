"""CPU per adverse-event write through the whole HTTP stack, in-process (issue #10, item 8).

Run::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_write_cpu.py [--writes 300]
        [--rounds 3] [--compare OTHER_SRC] [--profile]

A fresh PostgreSQL database (as ``bench_service_load.py``: 20 open trials, ``--protocol`` as
there, three enrolled patients each) per run; the app (``create_app``) is called in-process
through ``httpx.ASGITransport`` with FastAPI's worker-thread calls run inline, so one thread
does all the work and ``time.process_time`` counts it: authentication, validation, the service,
the audit append and signing, the response -- everything but the socket and uvicorn's HTTP
parsing. The in-process client's own CPU (small) is included. SQL statements per write are
counted with SQLAlchemy's ``before_cursor_execute`` event (``BEGIN``/``COMMIT`` and the pool's
connection check are not statements there). Then ``GET /trials/{id}/recommendation`` is timed
the same way, mostly served from the per-trial cache, and right after a write to its trial (the
audit head moved: the cached snapshot is revalidated over the new audit events, or read again
where the code predates that; ``bench_read_cpu.py`` times the cases apart). With ``--compare``
the rounds alternate between the two source trees (each in its own child process and database);
the minimum over rounds is the figure least disturbed by other load on a shared machine
(``BENCH_REAL_THREADS=1``: the worker-thread calls run in real threads, hops counted).
``--profile``: a cProfile (CPU time) of the last round (also written to the file named by the
environment variable ``BENCH_PROFILE_OUT``, if set)."""

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


def measure(writes: int, profile: bool, src: str | None, protocol: str) -> dict[str, Any]:
    """One run with the doseladder code in ``src`` on ``sys.path`` (the child process)."""
    from sqlalchemy import event

    from doseladder.conduct.db import Database
    from doseladder.web import create_app

    inline_worker_threads()
    with scratch_database() as (_, url):
        by_trial = {
            int(k): v for k, v in in_child(src, "seed", url, "20", protocol)["by_trial"].items()
        }
        db = Database(url, pool_size=10)
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        app = create_app(db)
        patients = [p for ps in by_trial.values() for p in ps]
        trials = sorted(by_trial)
        today = datetime.now(UTC).date().isoformat()
        out: dict[str, Any] = {}

        async def go() -> None:
            async with in_process_client(app) as c:

                async def write(i: int) -> None:
                    body = {"term": "headache", "grade": 1 + i % 2, "onset_date": today}
                    r = await c.post(f"/patients/{patients[i % len(patients)]}/adverse-events",
                                     json=body)  # fmt: skip
                    assert r.status_code == 201, r.text

                for i in range(20):  # warm-up
                    await write(i)
                statements[0] = 0
                prof = cProfile.Profile(time.process_time) if profile else None
                t0 = time.process_time()
                if prof:
                    prof.enable()
                for i in range(writes):
                    await write(i)
                if prof:
                    prof.disable()
                    stats = pstats.Stats(prof, stream=sys.stderr)
                    stats.sort_stats("cumulative").print_stats(45)
                    if os.environ.get("BENCH_PROFILE_OUT"):  # for pstats / snakeviz
                        stats.dump_stats(os.environ["BENCH_PROFILE_OUT"])
                out["cpu_per_write"] = (time.process_time() - t0) / writes
                out["statements_per_write"] = statements[0] / writes
                t0 = time.process_time()
                for i in range(writes):
                    r = await c.get(f"/trials/{trials[i % len(trials)]}/recommendation")
                    assert r.status_code == 200, r.text
                out["cpu_per_read"] = (time.process_time() - t0) / writes
                # a read right after a write to its trial: its audit head moved
                missed = 0.0
                for i in range(100):
                    await write(i)
                    trial = next(t for t, ps in by_trial.items()
                                 if patients[i % len(patients)] in ps)  # fmt: skip
                    t0 = time.process_time()
                    r = await c.get(f"/trials/{trial}/recommendation")
                    missed += time.process_time() - t0
                    assert r.status_code == 200, r.text
                out["cpu_per_read_miss"] = missed / 100

        asyncio.run(go())
        db.dispose()
    return out


def child(src: str | None, writes: int, profile: bool, protocol: str) -> dict[str, Any]:
    args = ["--writes", str(writes), "--protocol", protocol]
    return measure_in_child(HERE, args, src, profile, 12000)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    add_in_process_options(parser)
    add_protocol_option(parser)
    args = parser.parse_args()
    if not (10 <= args.writes <= 100_000 and 1 <= args.rounds <= 20):
        parser.error("out of range: --writes 10..100000, --rounds 1..20")
    if args.child:
        print(json.dumps(measure(args.writes, args.profile, args.compare, args.protocol)))
        return 0
    results = alternate_rounds(
        args.rounds,
        args.compare,
        lambda src, last: child(src, args.writes, args.profile and last, args.protocol),
        lambda i, label, r: (
            f"  round {i} {label:<40} CPU/write {r['cpu_per_write'] * 1e3:6.2f} ms, "
            f"statements/write {r['statements_per_write']:4.1f}, CPU/recommendation "
            f"{r['cpu_per_read'] * 1e3:6.2f} ms (after a write: "
            f"{r['cpu_per_read_miss'] * 1e3:6.2f} ms)"
        ),
    )
    print(f"--- minimum over {args.rounds} rounds ({args.writes} writes each)")
    for label, rs in results.items():
        print(
            f"  {label:<40} CPU/write {min(x['cpu_per_write'] for x in rs) * 1e3:6.2f} ms, "
            f"statements/write {rs[0]['statements_per_write']:4.1f}, CPU/recommendation "
            f"{min(x['cpu_per_read'] for x in rs) * 1e3:6.2f} ms (after a write: "
            f"{min(x['cpu_per_read_miss'] for x in rs) * 1e3:6.2f} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
