"""BOIN: 6 doses, N = 30, cohorts of 3, 10,000 trials (target ≤ 20 ms).

Run: ``python benchmarks/bench_boin.py``.  R's BOIN::get.oc takes 7.0 s for this work
(reference-results.md, scenario S1).
"""

from __future__ import annotations

from _harness import best_of, machine, report, scalar_complete_data_baseline

from doseladder.core.designs import BOIN
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.scenario import Scenario

DESIGN = BOIN(num_doses=6, target=0.3, cohort_size=3, max_n=30)
S1 = Scenario(p_tox=(0.05, 0.10, 0.20, 0.30, 0.50, 0.70), name="S1")
N = 10_000


def main() -> None:
    print(machine())
    kernel = best_of(lambda: run_block(BlockTask(DESIGN, S1, 1, 0, 0, N, DESIGN.max_n)))
    full = best_of(lambda: simulate(DESIGN, S1, N, seed=1))
    base = scalar_complete_data_baseline(DESIGN, S1, 200)
    report("BOIN kernel (draws + trials + MTD selection)", kernel, 0.020, base, N)
    report("BOIN simulate() incl. OC summary", full, 0.020, base, N)
    print(f"  R BOIN::get.oc, same work (reference-results S1): 7.0 s -> x{7.0 / full:,.0f}")


if __name__ == "__main__":
    main()
