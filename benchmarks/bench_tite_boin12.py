"""Benchmark: 10,000 TITE-BOIN12 trials through the vectorised kernel; optionally 10^6.

Design: 5 doses, N = 36, cohorts of 3, toxicity window 30 and efficacy window 60 days,
accrual 0.1 patient/day (Poisson) -- the PKBOIN-12 README settings -- on the reference-results
S2 probabilities.  Times one block of 10,000 trials as the engine runs it (latent draws +
kernel, ``doseladder.simulate.engine.run_block``), best of 5 with ``time.perf_counter``, and
prints the figure and its ratio to the 150 ms target.  ``--million`` also runs 10^6 trials
through ``doseladder.simulate.engine.simulate`` (one process, after a 10,000-trial first call)
twice, each in a fresh process sharing one new, empty compiled-code cache (``XDG_CACHE_HOME``
a temporary folder): first with the cache cold (the kernels are compiled: by a child process
since issue #12 item 4, see ``doseladder.jit.run_compiled``), then warm (loaded from disk).  For
each it prints the first call's wall and CPU time, the 10^6 trials' wall and process CPU times
and the peak resident memory of the simulating process (``VmHWM``, see ``peak_rss_gb``;
that of its largest child beside it: the compile child, or ``ctypes.util.find_library``'s
forked helper, which reports the parent's size at the fork) and the CPU time of its children;
targets 15 s and 0.5 GB (issue #12 item 4; 150 ms per 10,000).  The load average is printed
(the machine may be shared).

    .venv/bin/python benchmarks/bench_tite_boin12.py [--million] [--skip-blocks]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from _harness import best_of

from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.scenario import Accrual, Scenario

TARGET_S = 0.150
MILLION_TARGET_S = 15.0
MEMORY_TARGET_GB = 0.5
S2 = Scenario(
    p_tox=(0.02, 0.05, 0.10, 0.25, 0.50),
    p_eff=(0.05, 0.15, 0.40, 0.42, 0.44),
    accrual=Accrual("poisson", 0.1),
    name="S2",
)


def time_block(design: TITEBOIN12, trials: int, repeats: int) -> float:
    """Best wall time (s) of one block of ``trials`` trials (latent draws + kernel)."""
    task = BlockTask(design, S2, 2024, 0, 0, trials, design.max_n)
    return best_of(lambda: run_block(task), repeat=repeats)


def peak_rss_gb() -> float:
    """Peak resident set size of this process in GB.

    On Linux ``VmHWM`` of ``/proc/self/status``: the high-water mark of this program's own
    address space.  ``ru_maxrss`` is kept across ``execve``, so a process started from a large
    parent (this script after its in-process blocks) would report the parent's size at the
    fork (seen: 0.57 GB reported for a 0.29 GB run).  Elsewhere ``ru_maxrss`` (B on macOS)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024**2  # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024**3 if sys.platform == "darwin" else 1024**2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--million", action="store_true", help="also run 10^6 trials")
    parser.add_argument("--skip-blocks", action="store_true", help="only --million")
    parser.add_argument("--million-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.million_run:
        million_run()
        return
    cases = {
        "no n_stop (every trial treats 36)": TITEBOIN12(
            num_doses=5, max_n=36, n_stop=None, tox_window=30.0, eff_window=60.0
        ),
        "defaults (n_stop = 12)": TITEBOIN12(
            num_doses=5, max_n=36, tox_window=30.0, eff_window=60.0
        ),
    }
    for label, design in cases.items():
        if args.skip_blocks:
            break
        t = time_block(design, args.trials, args.repeats)
        print(
            f"TITE-BOIN12 {args.trials} trials, {label}: {t * 1e3:.0f} ms "
            f"(target {TARGET_S * 1e3:.0f} ms, ratio {t / TARGET_S:.2f})"
        )
    if args.million:
        million_cold_and_warm()


def million_run() -> None:
    """One fresh process: a 10,000-trial first call, then 10^6 trials; prints JSON."""
    design = TITEBOIN12(num_doses=5, max_n=36, n_stop=None, tox_window=30.0, eff_window=60.0)
    t0, c0 = time.perf_counter(), time.process_time()
    simulate(design, S2, 10_000, seed=1)  # first call: compilation or Numba cache load
    first_wall, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    res = simulate(design, S2, 1_000_000, seed=2024)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = children.ru_maxrss
    print(
        json.dumps(
            {
                "first_wall": first_wall,
                "first_cpu": first_cpu,
                "wall": wall,
                "cpu": cpu,
                "rss_gb": peak_rss_gb(),
                "child_rss_gb": child / (1024**3 if sys.platform == "darwin" else 1024**2),
                "child_cpu": children.ru_utime + children.ru_stime,
                "obd_pct": res.metric("correct_obd_pct"),
                "duration": res.metric("duration"),
            }
        )
    )


def million_cold_and_warm() -> None:
    """10^6 trials in a fresh process with an empty compiled-code cache, then in another."""
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
        env["XDG_CACHE_HOME"] = cache
        for label in ("cold cache (compiles)", "warm cache (loads from disk)"):
            out = subprocess.run(
                [sys.executable, __file__, "--million-run"],
                env=env, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            r = json.loads(out.strip().splitlines()[-1])
            print(
                f"TITE-BOIN12 1,000,000 trials (engine.simulate, 1 process), {label}: "
                f"first call (10,000 trials) {r['first_wall']:.1f} s wall / "
                f"{r['first_cpu']:.1f} s CPU (+ {r['child_cpu']:.1f} s CPU in child processes); "
                f"10^6 trials {r['wall']:.1f} s "
                f"(target {MILLION_TARGET_S:.0f} s, ratio {r['wall'] / MILLION_TARGET_S:.2f}; "
                f"process CPU time {r['cpu']:.1f} s, the figure to compare on a loaded "
                f"machine); peak RSS {r['rss_gb']:.2f} GB (target {MEMORY_TARGET_GB:.1f} GB, "
                f"ratio {r['rss_gb'] / MEMORY_TARGET_GB:.2f}; largest child "
                f"{r['child_rss_gb']:.2f} GB); OBD selected {r['obd_pct']:.3f} %, "
                f"mean duration {r['duration']:.0f} days"
            )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
