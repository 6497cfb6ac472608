"""BOIN: 6 doses, N = 30, cohorts of 3, 10,000 trials (target ≤ 8 ms, issue #12 item 4).

Run: ``python benchmarks/bench_boin.py``.  R's BOIN::get.oc takes 7.0 s for this work
(reference-results.md, scenario S1).  Also prints the CPU time (``process_time``; steadier on
a loaded machine), the NumPy cohort loop driven by the array functions on the same trials
(same run), and the first-call cost of the compiled kernel (compile, then load from the
on-disk cache, each in a fresh process).
"""

from __future__ import annotations

import os

from _first_call import cpu_best_of, print_first_call
from _harness import best_of, machine, report, scalar_complete_data_baseline

from doseladder.core.designs import BOIN
from doseladder.core.designs.arrays.boin import decide_boin, select_boin
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.kernels.boin import simulate_boin
from doseladder.simulate.kernels.cohort_loop import simulate_cohorts
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Scenario

DESIGN = BOIN(num_doses=6, target=0.3, cohort_size=3, max_n=30)
S1 = Scenario(p_tox=(0.05, 0.10, 0.20, 0.30, 0.50, 0.70), name="S1")
N = 10_000


TARGET = 0.008


def main() -> None:
    print(machine(), f"load average {os.getloadavg()[0]:.1f}")
    task = BlockTask(DESIGN, S1, 1, 0, 0, N, DESIGN.max_n)
    kernel = best_of(lambda: run_block(task))
    full = best_of(lambda: simulate(DESIGN, S1, N, seed=1))
    base = scalar_complete_data_baseline(DESIGN, S1, 200)
    report("BOIN kernel (draws + trials + MTD selection)", kernel, TARGET, base, N)
    report("BOIN simulate() incl. OC summary", full, TARGET, base, N)
    print(f"  R BOIN::get.oc, same work (reference-results S1): 7.0 s -> x{7.0 / full:,.0f}")
    cpu = cpu_best_of(lambda: run_block(task))
    print(f"  kernel CPU time {cpu * 1e3:.1f} ms -> {N / cpu / 1e6:.2f} M trials/s per core")
    draws = PatientDraws(S1, 1, 0, 0, N, DESIGN.max_n)
    compiled = cpu_best_of(lambda: simulate_boin(DESIGN, draws))
    numpy_loop = cpu_best_of(
        lambda: simulate_cohorts(DESIGN, draws, decide_boin, select_boin), repeat=5
    )
    print(
        f"  same run, same draws, CPU: compiled loop {compiled * 1e3:.1f} ms, NumPy cohort loop "
        f"with the array functions {numpy_loop * 1e3:.1f} ms (ratio {numpy_loop / compiled:.1f})"
    )
    print_first_call(
        "BOIN run_block",
        "from bench_boin import DESIGN, S1, N\n"
        "from doseladder.simulate.engine import BlockTask, run_block\n"
        "task = BlockTask(DESIGN, S1, 1, 0, 0, N, DESIGN.max_n)",
        "run_block(task)",
    )


if __name__ == "__main__":
    main()
