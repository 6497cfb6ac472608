"""3+3: 6 doses, 10,000 trials (target ≤ 10 ms); plus exact enumeration time.

Run: ``python benchmarks/bench_three_plus_three.py``.  UBCRM's simulated 3+3 takes 5.1 s for
this work (reference-results.md, scenario S1).
"""

from __future__ import annotations

import time

from _harness import best_of, machine, report, scalar_complete_data_baseline

from doseladder.core.designs import ThreePlusThree
from doseladder.core.exact_three_plus_three import exact_oc
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.scenario import Scenario

DESIGN = ThreePlusThree(num_doses=6)
S1 = Scenario(p_tox=(0.05, 0.10, 0.20, 0.30, 0.50, 0.70), name="S1")
N = 10_000


def main() -> None:
    print(machine())
    kernel = best_of(lambda: run_block(BlockTask(DESIGN, S1, 1, 0, 0, N, DESIGN.n_max)))
    full = best_of(lambda: simulate(DESIGN, S1, N, seed=1))
    base = scalar_complete_data_baseline(DESIGN, S1, 300)
    report("3+3 kernel", kernel, 0.010, base, N)
    report("3+3 simulate() incl. OC summary", full, 0.010, base, N)
    t0 = time.perf_counter()
    exact_oc(DESIGN, S1.p_tox)
    exact_ms = (time.perf_counter() - t0) * 1e3
    print(f"3+3 exact enumeration (no Monte-Carlo error): {exact_ms:.1f} ms")
    print(
        f"  UBCRM 3+3, 10,000 simulated trials (reference-results S1): 5.1 s -> x{5.1 / full:,.0f}"
    )


if __name__ == "__main__":
    main()
