"""CPU of the audit commit path per adverse-event write, direct service calls (issue #10, item 8).

Run::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_audit_commit.py [--writes 600]
        [--rounds 3] [--compare OTHER_SRC] [--profile]

A fresh PostgreSQL database seeded as for ``bench_write_cpu.py`` (20 open BOIN trials, three
enrolled patients each; signing key and anchor file, so every commit is signed and anchored);
then ``outcomes.record_adverse_event`` is called directly through ``Database.run`` (no HTTP).
Reported per write (``time.process_time``, one thread): the whole transaction; the part spent
in ``audit.insert_row`` (the adverse event's and the DLT proposal's inserts with their
statements); and the commit (from the first ``before_commit`` listener to the last
``after_commit`` listener: the final flush, the audit append -- heads locked, events built,
hashed, signed and written --, ``COMMIT`` and the anchor).  With ``--compare`` the rounds
alternate between the two source trees, each in its own child process and database; the
minimum over rounds is the figure least disturbed by other load."""

from __future__ import annotations

import argparse
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
    PASSWORD,
    add_in_process_options,
    alternate_rounds,
    in_child,
    measure_in_child,
    scratch_database,
    throwaway_audit_home,
)

HERE = str(Path(__file__).resolve())


def measure(writes: int, profile: bool, src: str | None) -> dict[str, Any]:
    """One run with the doseladder code in ``src`` on ``sys.path`` (the child process)."""
    from sqlalchemy import event, select
    from sqlalchemy.orm import Session

    from doseladder.conduct import audit
    from doseladder.conduct.db import Database
    from doseladder.conduct.models import Patient
    from doseladder.conduct.services import outcomes, sites_users

    with throwaway_audit_home("doseladder-auditbench-"), scratch_database() as (_, url):
        in_child(src, "seed", url, "20")
        db = Database(url, pool_size=5)
        assert db.sealer is not None and db.sealer.anchors is not None
        actor = db.run(
            lambda s: sites_users.actor_for(sites_users.authenticate(s, "datamgr", PASSWORD))
        )
        patients = db.run(
            lambda s: [int(p) for p in s.scalars(select(Patient.id).order_by(Patient.id))]
        )
        today = datetime.now(UTC).date()
        spent = {"insert_row": 0.0, "commit": 0.0}
        started = [0.0]

        def commit_start(session: Session) -> None:
            started[0] = time.process_time()

        def commit_end(session: Session) -> None:
            spent["commit"] += time.process_time() - started[0]

        session_class = type(db.session())
        event.listen(session_class, "before_commit", commit_start, insert=True)
        event.listen(session_class, "after_commit", commit_end)
        plain_insert_row = audit.insert_row

        def timed_insert_row(*args: Any, **kwargs: Any) -> Any:
            t0 = time.process_time()
            try:
                return plain_insert_row(*args, **kwargs)
            finally:
                spent["insert_row"] += time.process_time() - t0

        audit.insert_row = timed_insert_row

        def one(i: int) -> None:
            db.run(
                lambda s: outcomes.record_adverse_event(
                    s, actor, patients[i % len(patients)], term="headache",
                    grade=1 + i % 2, onset_date=today,
                )
            )  # fmt: skip

        for i in range(30):  # warm-up
            one(i)
        spent.update(insert_row=0.0, commit=0.0)
        prof = cProfile.Profile(time.process_time) if profile else None
        t0 = time.process_time()
        if prof:
            prof.enable()
        for i in range(writes):
            one(i)
        if prof:
            prof.disable()
        total = time.process_time() - t0
        if prof:
            stats = pstats.Stats(prof, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(r"audit|sealing|signing", 40)
            if os.environ.get("BENCH_PROFILE_OUT"):
                stats.dump_stats(os.environ["BENCH_PROFILE_OUT"])
        audit.insert_row = plain_insert_row
        db.dispose()
        verified = in_child(src, "verify", url)
        assert verified["ok"], verified
        return {
            "cpu_per_write": total / writes,
            "insert_row": spent["insert_row"] / writes,
            "commit": spent["commit"] / writes,
            "anchors": len(db.sealer.anchors.records()),
        }


def child(src: str | None, writes: int, profile: bool) -> dict[str, Any]:
    return measure_in_child(HERE, ["--writes", str(writes)], src, profile, 12000)


def _line(r: dict[str, Any]) -> str:
    return (
        f"CPU/write {r['cpu_per_write'] * 1e3:6.3f} ms: insert_row "
        f"{r['insert_row'] * 1e3:6.3f} ms, commit {r['commit'] * 1e3:6.3f} ms, audit path "
        f"{(r['insert_row'] + r['commit']) * 1e3:6.3f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--writes", type=int, default=600)
    add_in_process_options(parser)
    args = parser.parse_args()
    if not (10 <= args.writes <= 100_000 and 1 <= args.rounds <= 20):
        parser.error("out of range: --writes 10..100000, --rounds 1..20")
    if args.child:
        print(json.dumps(measure(args.writes, args.profile, args.compare)))
        return 0
    results = alternate_rounds(
        args.rounds,
        args.compare,
        lambda src, last: child(src, args.writes, args.profile and last),
        lambda i, label, r: f"  round {i} {label:<40} {_line(r)}",
    )
    print(f"--- minimum over {args.rounds} rounds ({args.writes} writes each)")
    for label, rs in results.items():
        best = {k: min(x[k] for x in rs) for k in ("cpu_per_write", "insert_row", "commit")}
        print(f"  {label:<40} {_line(best)}")
    print(f"load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
