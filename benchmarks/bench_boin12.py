"""BOIN12: 5 doses, N = 36, cohorts of 3, 10,000 trials (target <= 9 ms, >= 500x
phase12designs), scenario S2, wall and process CPU time; the first call's cost (compilation /
cache load) with ``--first-call``.

Run: ``python benchmarks/bench_boin12.py [--first-call]``.  phase12designs::oc_boin12 takes
4.4 s for this work (reference-results.md, scenario S2).  The kernel is a compiled (Numba) trial
loop: ``--first-call`` runs one 10,000-trial block in fresh processes, first with an empty
Numba cache (compilation) and then with the cache it wrote (load from disk), and prints the
process CPU time of each.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from _harness import best_of, machine, report, scalar_complete_data_baseline

from doseladder.core.designs.boin12 import BOIN12
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.scenario import Scenario

TARGET_S = 0.009
S2 = Scenario(p_tox=(0.02, 0.05, 0.10, 0.25, 0.50), p_eff=(0.05, 0.15, 0.40, 0.42, 0.44), name="S2")
N = 10_000

#: one block in a fresh process: CPU seconds of the first run_block and of a second one
FIRST_CALL = """
import time
from doseladder.core.designs.boin12 import BOIN12
from doseladder.simulate.engine import BlockTask, run_block
from doseladder.simulate.scenario import Scenario
S2 = Scenario(p_tox=(0.02, 0.05, 0.10, 0.25, 0.50), p_eff=(0.05, 0.15, 0.40, 0.42, 0.44))
task = BlockTask(BOIN12(num_doses=5, max_n=36), S2, 2024, 0, 0, 10_000, 36)
t0 = time.process_time(); run_block(task); t1 = time.process_time(); run_block(task)
print(f"{t1 - t0:.3f} {time.process_time() - t1:.3f}")
"""


def first_call() -> None:
    """First-call CPU time in fresh processes: empty Numba cache, then the cache it wrote."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("empty cache (compiles)", "warm cache (loads from disk)"):
            out = subprocess.run(
                [sys.executable, "-c", FIRST_CALL], env=env, capture_output=True, text=True,
                check=True,
            ).stdout.split()  # fmt: skip
            print(
                f"BOIN12 first run_block of 10,000 trials in a fresh process, {label}: "
                f"{float(out[0]):.2f} s CPU (second call {float(out[1]) * 1e3:.0f} ms)"
            )


def best_cpu(fn: Callable[[], object], repeat: int = 20) -> float:
    """Best process CPU time of ``repeat`` calls after a warm-up (garbage collection off): on
    a shared machine CPU time is less disturbed by other processes than wall time."""
    fn()
    gc.collect()
    gc.disable()
    try:
        times = []
        for _ in range(repeat):
            t0 = time.process_time()
            fn()
            times.append(time.process_time() - t0)
    finally:
        gc.enable()
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-call", action="store_true", help="measure compile / load")
    args = parser.parse_args()
    print(machine())
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.first_call:
        first_call()
        return
    cases = {
        "no n_stop (every trial treats 36)": BOIN12(num_doses=5, max_n=36, n_stop=None),
        "defaults (n_stop = 12)": BOIN12(num_doses=5, max_n=36),
    }
    for label, design in cases.items():
        task = BlockTask(design, S2, 2024, 0, 0, N, design.max_n)
        kernel = best_of(lambda task=task: run_block(task))
        full = best_of(lambda design=design: simulate(design, S2, N, seed=2024))
        base = scalar_complete_data_baseline(design, S2, 100)
        report(f"BOIN12 kernel, {label}", kernel, TARGET_S, base, N)
        report(f"BOIN12 simulate() incl. OC summary, {label}", full, TARGET_S, base, N)
        cpu = best_cpu(lambda task=task: run_block(task))
        cpu_full = best_cpu(lambda design=design: simulate(design, S2, N, seed=2024))
        print(
            f"  CPU time (best of 20): kernel {cpu * 1e3:.1f} ms, simulate() incl. OC summary "
            f"{cpu_full * 1e3:.1f} ms (summary {(cpu_full - cpu) * 1e3:.1f} ms)"
        )
        print(f"  phase12designs::oc_boin12 ratio: x{4.4 / kernel:,.0f} (target x500)")
    print("  phase12designs::oc_boin12, 10,000 trials (reference-results S2): 4.4 s")


if __name__ == "__main__":
    main()
