"""BF-BOIN in time: 5 doses, 10 cohorts of 3 (+ backfill), 10,000 trials.

Settings (bfboin ``get.oc.bf`` defaults): target 0.25, n_cap 12, DLT window 1 month, uniform
accrual of 3 patients per month, Weibull DLT times with P(T < W/2) = p/2, backfill at the
highest open dose; truth p_tox (0.05, 0.12, 0.25, 0.40, 0.55), responses p_eff (0.2, 0.3, 0.4,
0.5, 0.5).  One decision step per arrival (about 40–60 steps per trial), every trial of the
block at once.  No target is set by the issue; bfboin was not run for this work.

Run: ``python benchmarks/bench_bf_boin.py [--repeat K]``.
"""

from __future__ import annotations

import sys
import time

from _harness import best_of, machine

from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.scenario import Accrual, EventTimeModel, Scenario

DESIGN = BFBOIN(num_doses=5, target=0.25, cohort_size=3, max_n=30, n_cap=12)
SCENARIO = Scenario(
    p_tox=(0.05, 0.12, 0.25, 0.40, 0.55),
    p_eff=(0.2, 0.3, 0.4, 0.5, 0.5),
    accrual=Accrual("uniform", 3.0),
    tox_time=EventTimeModel("weibull", 0.5, 0.5),
    name="BF",
)
N = 10_000


def main() -> None:
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    print(machine())
    t0 = time.process_time()
    kernel = best_of(
        lambda: run_block(BlockTask(DESIGN, SCENARIO, 1, 0, 0, N, DESIGN.n_max)), repeat
    )
    cpu = (time.process_time() - t0) / (repeat + 1)
    full = best_of(lambda: simulate(DESIGN, SCENARIO, N, seed=1), repeat)
    print(f"BF-BOIN kernel (draws + trials + MTD selection): {kernel:.2f} s for {N:,} trials")
    print(f"BF-BOIN simulate() incl. OC summary: {full:.2f} s")
    print(f"  kernel CPU time per run (mean): {cpu:.2f} s")


if __name__ == "__main__":
    main()
