"""Benchmark: 10,000 TITE-BOIN12 trials through the vectorised kernel; optionally 10^6.

Design: 5 doses, N = 36, cohorts of 3, toxicity window 30 and efficacy window 60 days,
accrual 0.1 patient/day (Poisson) -- the PKBOIN-12 README settings -- on the reference-results
S2 probabilities.  Times one block of 10,000 trials as the engine runs it (latent draws +
kernel, ``doseladder.simulate.engine.run_block``), best of 5 with ``time.perf_counter``, and
prints the figure and its ratio to the 150 ms target.  ``--million`` also runs 10^6 trials
through ``doseladder.simulate.engine.simulate`` (one process, after a 10,000-trial warm-up) and
prints the wall and process CPU times and the peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``); targets 15 s and 0.5 GB (issue #12 item 4;
150 ms per 10,000).

    .venv/bin/python benchmarks/bench_tite_boin12.py [--million]
"""

from __future__ import annotations

import argparse
import resource
import sys
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
    """Peak resident set size of this process in GB (ru_maxrss: KB on Linux, B on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024**3 if sys.platform == "darwin" else 1024**2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--million", action="store_true", help="also run 10^6 trials")
    args = parser.parse_args()
    cases = {
        "no n_stop (every trial treats 36)": TITEBOIN12(
            num_doses=5, max_n=36, n_stop=None, tox_window=30.0, eff_window=60.0
        ),
        "defaults (n_stop = 12)": TITEBOIN12(
            num_doses=5, max_n=36, tox_window=30.0, eff_window=60.0
        ),
    }
    for label, design in cases.items():
        t = time_block(design, args.trials, args.repeats)
        print(
            f"TITE-BOIN12 {args.trials} trials, {label}: {t * 1e3:.0f} ms "
            f"(target {TARGET_S * 1e3:.0f} ms, ratio {t / TARGET_S:.2f})"
        )
    if args.million:
        design = cases["no n_stop (every trial treats 36)"]
        simulate(design, S2, 10_000, seed=1)  # warm-up: compilation or Numba cache load
        t0, c0 = time.perf_counter(), time.process_time()
        res = simulate(design, S2, 1_000_000, seed=2024)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        mem = peak_rss_gb()
        print(
            f"TITE-BOIN12 1,000,000 trials (engine.simulate, 1 process): {wall:.1f} s "
            f"(target {MILLION_TARGET_S:.0f} s, ratio {wall / MILLION_TARGET_S:.2f}; "
            f"process CPU time {cpu:.1f} s, the figure to compare on a loaded machine); "
            f"peak RSS {mem:.2f} GB (target {MEMORY_TARGET_GB:.1f} GB, "
            f"ratio {mem / MEMORY_TARGET_GB:.2f}); "
            f"OBD selected {res.metric('correct_obd_pct'):.3f} %, "
            f"mean duration {res.metric('duration'):.0f} days"
        )


if __name__ == "__main__":
    main()
