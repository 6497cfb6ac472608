"""CRM (dfcrm crmsim conduct): 6 doses, N = 30, cohorts of 3, 10,000 trials, S1.

Target: >= 100x ``dfcrm::crmsim`` (78 s for this work, reference-results.md) -> <= 780 ms.
Run: ``python benchmarks/bench_crm.py``.
"""

from __future__ import annotations

from _harness import best_of, machine, report

from doseladder.core.designs import CRM
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.scenario import Scenario

DESIGN = CRM(num_doses=6, target=0.3, halfwidth=0.05, prior_mtd=4, cohort_size=3, max_n=30)
S1 = Scenario(p_tox=(0.05, 0.10, 0.20, 0.30, 0.50, 0.70), name="S1")
N = 10_000


def main() -> None:
    print(machine())
    kernel = best_of(lambda: run_block(BlockTask(DESIGN, S1, 1, 0, 0, N, DESIGN.max_n)), 5)
    full = best_of(lambda: simulate(DESIGN, S1, N, seed=1), 5)
    report("CRM kernel (draws + trials + MTD selection)", kernel, 0.780, None, N)
    report("CRM simulate() incl. OC summary", full, 0.780, None, N)
    print(f"  dfcrm::crmsim, same work (reference-results S1): 78 s -> x{78.0 / full:,.0f}")


if __name__ == "__main__":
    main()
