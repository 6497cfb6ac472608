"""Benchmark: Dask parallel efficiency on TITE-BOIN12 (one process vs 1 and 2 Dask workers).

Workload: ``--trials`` (default 10^6) TITE-BOIN12 trials -- 5 doses, N = 36 without n_stop,
windows 30/60 days, Poisson accrual 0.1/day, the S2 probabilities of
``bench_tite_boin12.py`` -- through ``doseladder.simulate.engine.simulate`` (blocks of
``BLOCK_SIZE`` trials, each reduced to sufficient statistics on the worker).

Runs, alternating in rounds (``--rounds``) so that a change in the machine's load hits every
configuration alike:

* ``1 process``   -- ``simulate(..., workers=1)`` in this process;
* ``dask 1 worker`` / ``dask 2 workers`` -- a ``LocalCluster`` started the way
  ``--scheduler local`` starts it (single-threaded worker processes, the malloc thresholds of
  :mod:`doseladder.simulate.malloc` set by the nanny before spawning), *already running*:
  the cluster's start-up is timed separately (``start`` column), and the run goes through the
  cluster's address exactly as ``--scheduler tcp://host:port`` does.

For each run it prints wall time, CPU time (this process + every worker process,
``time.process_time`` / ``resource`` of the worker), and for the 2-worker run the parallel
efficiency ``T1 / (2 * T2)`` against the 1-process run of the same round.  Every result is
checked bit-identical (per-dose table and metrics) to the 1-process result.  It also reports,
per worker, the first task's time against the median task (the cost of a fresh worker's first
call: imports and, where a kernel is compiled with Numba, loading or compiling its code),
that the workers see the malloc environment, and the load average before and after.

    .venv/bin/python benchmarks/bench_dask.py [--trials 1000000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import dask
from dask.distributed import Client, LocalCluster

from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.simulate import engine
from doseladder.simulate.dask_backend import local_cluster
from doseladder.simulate.engine import BlockOutput, BlockTask, run_block_summary, simulate
from doseladder.simulate.malloc import MALLOC_ENV
from doseladder.simulate.results import SimulationResult
from doseladder.simulate.scenario import Accrual, Scenario

S2 = Scenario(
    p_tox=(0.02, 0.05, 0.10, 0.25, 0.50),
    p_eff=(0.05, 0.15, 0.40, 0.42, 0.44),
    accrual=Accrual("poisson", 0.1),
    name="S2",
)
DESIGN = TITEBOIN12(num_doses=5, max_n=36, n_stop=None, tox_window=30.0, eff_window=60.0)
SEED = 2024


def _worker_cpu() -> tuple[float, float, int]:
    """(user s, system s, minor page faults) of the calling process so far."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def _diff(a: tuple[float, float, int], b: tuple[float, float, int]) -> tuple[float, float, int]:
    return b[0] - a[0], b[1] - a[1], b[2] - a[2]


def _worker_env() -> dict[str, str | None]:
    return {k: os.environ.get(k) for k in MALLOC_ENV}


#: per task: (pid, seconds) -- filled on the workers, returned with each block
def timed_block(task: BlockTask) -> tuple[BlockOutput, int, float]:
    """``run_block_summary`` plus the worker's pid and the task's wall time."""
    t0 = time.perf_counter()
    out = run_block_summary(task)
    return out, os.getpid(), time.perf_counter() - t0


def start_cluster(workers: int) -> tuple[LocalCluster, Client, float]:
    """The LocalCluster ``--scheduler local`` starts (``dask_backend.local_cluster``)."""
    t0 = time.perf_counter()
    cluster = local_cluster(workers)
    client = Client(cluster)
    client.wait_for_workers(workers)
    return cluster, client, time.perf_counter() - t0


Usage = tuple[float, float, int]


def run_local(trials: int) -> tuple[SimulationResult, float, Usage, Usage]:
    """Result, wall s, usage of this process (it runs the blocks), no worker usage."""
    c0, t0 = _worker_cpu(), time.perf_counter()
    res = simulate(DESIGN, S2, trials, seed=SEED)
    wall, c1 = time.perf_counter() - t0, _worker_cpu()
    return res, wall, _diff(c0, c1), (0.0, 0.0, 0)


def run_dask(
    client: Client, address: str, trials: int
) -> tuple[SimulationResult, float, Usage, Usage]:
    """Result, wall s, usage of this process (client + the LocalCluster's scheduler), usage
    summed over the worker processes."""
    before = client.run(_worker_cpu)
    c0, t0 = _worker_cpu(), time.perf_counter()
    res = simulate(DESIGN, S2, trials, seed=SEED, scheduler=address)
    wall, c1 = time.perf_counter() - t0, _worker_cpu()
    after = client.run(_worker_cpu)
    per = [_diff(before[w], after[w]) for w in after]
    workers = (sum(p[0] for p in per), sum(p[1] for p in per), sum(p[2] for p in per))
    return res, wall, _diff(c0, c1), workers


def first_call_cost(client: Client, trials: int) -> list[str]:
    """Per worker of a fresh cluster: first task vs median task (seconds)."""
    from doseladder.simulate.dask_backend import run_tasks_on_dask
    from doseladder.simulate.seeding import BLOCK_SIZE, block_sizes

    ctx = engine._context(DESIGN, S2)
    tasks = [
        BlockTask(DESIGN, S2, SEED, 0, b, size, DESIGN.max_n, ctx)
        for b, size in enumerate(block_sizes(trials, BLOCK_SIZE))
    ]
    address = client.scheduler.address
    assert address is not None
    out = run_tasks_on_dask(tasks, timed_block, address)
    by_pid: dict[int, list[float]] = {}
    for _, pid, secs in out:
        by_pid.setdefault(pid, []).append(secs)
    lines = []
    for pid, secs in by_pid.items():
        lines.append(
            f"  worker pid {pid}: {len(secs)} tasks, first {secs[0]:.3f} s, "
            f"median {statistics.median(secs):.3f} s, first - median "
            f"{secs[0] - statistics.median(secs):+.3f} s"
        )
    return lines


def same(a: SimulationResult, b: SimulationResult) -> bool:
    """Bit-identical summaries (``json.dumps`` so that NaN equals NaN)."""
    return bool(a.per_dose.equals(b.per_dose)) and json.dumps(a.to_dict()) == json.dumps(
        b.to_dict()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.WARNING)
    dask.config.set({"distributed.logging.distributed": "warning"})
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")
    print(f"TITE-BOIN12, {args.trials:,} trials, blocks of {engine.BLOCK_SIZE:,}")

    # fresh 2-worker cluster: first-call cost per worker (imports, Numba cache load/compile)
    cluster, client, start = start_cluster(2)
    try:
        env = client.run(_worker_env)
        ok = all(e == MALLOC_ENV for e in env.values())
        print(f"cluster start (2 workers) {start:.2f} s; workers see the malloc env: {ok}")
        print("first task on each fresh worker (20 blocks):")
        for line in first_call_cost(client, 20 * engine.BLOCK_SIZE):
            print(line)
    finally:
        client.close()
        cluster.close()

    clusters: dict[int, tuple[LocalCluster, Client]] = {}
    rows: list[dict[str, Any]] = []
    try:
        for k in (1, 2):
            cl, cli, secs = start_cluster(k)
            clusters[k] = (cl, cli)
            # warm each worker (imports, compiled code) outside the timed runs
            simulate(DESIGN, S2, k * engine.BLOCK_SIZE, seed=1, scheduler=cl.scheduler_address)
            print(f"dask {k} worker(s): cluster start {secs:.2f} s")
        simulate(DESIGN, S2, engine.BLOCK_SIZE, seed=1)  # warm this process alike
        for r in range(1, args.rounds + 1):
            ref, w1, own, _ = run_local(args.trials)
            rows.append(
                {
                    "round": r,
                    "run": "1 process",
                    "wall": w1,
                    "own": own,
                    "workers": None,
                    "same": True,
                }
            )
            for k in (1, 2):
                cl, cli = clusters[k]
                res, w, own, workers = run_dask(cli, cl.scheduler_address, args.trials)
                rows.append(
                    {
                        "round": r,
                        "run": f"dask {k} worker{'s' if k > 1 else ''}",
                        "wall": w,
                        "own": own,
                        "workers": workers,
                        "same": same(ref, res),
                        "eff": w1 / (k * w),
                    }
                )
            print(f"round {r} done, load average {os.getloadavg()}", flush=True)
    finally:
        for cl, cli in clusters.values():
            cli.close()
            cl.close()
    print(
        "CPU = user + system s; 'main' = this process (the 1-process run's blocks; for Dask the "
        "client and the LocalCluster's scheduler), 'workers' = summed over worker processes"
    )
    print(
        f"{'round':>5}  {'run':<15} {'wall s':>7} {'main CPU':>9} {'wrk user':>9} "
        f"{'wrk sys':>8} {'wrk faults':>10} {'total CPU':>9} {'T1/(k*Tk)':>10}  identical"
    )
    for row in rows:
        eff = f"{row['eff'] * 100:.0f} %" if "eff" in row else "-"
        own = row["own"]
        wk = row["workers"] or (own[0], own[1], own[2])
        main_cpu = own[0] + own[1] if row["workers"] else 0.0
        total = own[0] + own[1] + (wk[0] + wk[1] if row["workers"] else 0.0)
        print(
            f"{row['round']:>5}  {row['run']:<15} {row['wall']:7.2f} {main_cpu:9.2f} "
            f"{wk[0]:9.2f} {wk[1]:8.2f} {wk[2]:10d} {total:9.2f} {eff:>10}  {row['same']}"
        )
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
