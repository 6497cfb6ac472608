"""Benchmark: 10,000 BOIN12 trials (5 doses, N = 36, cohorts of 3) through the vectorised kernel.

Times one block of 10,000 trials as the engine runs it (latent draws + kernel,
``doseladder.simulate.engine.run_block``), best of 5 with ``time.perf_counter``, and prints the
figure and its ratio to the 50 ms target.  Scenario: reference-results S2.

    .venv/bin/python benchmarks/bench_boin12.py
"""

from __future__ import annotations

import argparse
import time

from doseladder.core.designs.boin12 import BOIN12
from doseladder.simulate.engine import BlockTask, run_block
from doseladder.simulate.scenario import Scenario

TARGET_S = 0.050
S2 = Scenario(p_tox=(0.02, 0.05, 0.10, 0.25, 0.50), p_eff=(0.05, 0.15, 0.40, 0.42, 0.44), name="S2")


def best_of(design: BOIN12, trials: int, repeats: int) -> float:
    """Best wall time (s) of ``repeats`` runs of one block of ``trials`` trials."""
    task = BlockTask(design, S2, 2024, 0, 0, trials, design.max_n)
    run_block(task)  # warm-up: lazily built tables, imports
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_block(task)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = {
        "no n_stop (every trial treats 36)": BOIN12(num_doses=5, max_n=36, n_stop=None),
        "defaults (n_stop = 12)": BOIN12(num_doses=5, max_n=36),
    }
    for label, design in cases.items():
        t = best_of(design, args.trials, args.repeats)
        print(
            f"BOIN12 {args.trials} trials, {label}: {t * 1e3:.1f} ms "
            f"(target {TARGET_S * 1e3:.0f} ms, ratio {t / TARGET_S:.2f})"
        )


if __name__ == "__main__":
    main()
