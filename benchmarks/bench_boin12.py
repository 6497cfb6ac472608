"""BOIN12: 5 doses, N = 36, cohorts of 3, 10,000 trials (target ≤ 50 ms), scenario S2.

Run: ``python benchmarks/bench_boin12.py``.  phase12designs::oc_boin12 takes 4.4 s for this
work (reference-results.md, scenario S2).
"""

from __future__ import annotations

from _harness import best_of, machine, report, scalar_complete_data_baseline

from doseladder.core.designs.boin12 import BOIN12
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.scenario import Scenario

TARGET_S = 0.050
S2 = Scenario(p_tox=(0.02, 0.05, 0.10, 0.25, 0.50), p_eff=(0.05, 0.15, 0.40, 0.42, 0.44), name="S2")
N = 10_000


def main() -> None:
    print(machine())
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
    print("  phase12designs::oc_boin12, 10,000 trials (reference-results S2): 4.4 s")


if __name__ == "__main__":
    main()
