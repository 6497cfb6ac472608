"""TITE-CRM (dfcrm ``titesim`` conduct in time): 6 doses, N = 30 one at a time, 10,000 trials.

Settings: empiric model, skeleton ``getprior(0.05, 0.3, 4, 6)``, linear weights, window 1,
Poisson accrual of 2 patients per unit time, Weibull DLT times (α1 = α2 = 0.5); the S1 truth of
reference-results.md.  No target is set by the issue; there is no R reference run
(``dfcrm::titesim`` was not run for this work).  29 decisions per trial, each a weighted
posterior (Gauss-Legendre, 256 nodes) for every trial of the block.

Run: ``python benchmarks/bench_tite_crm.py [--repeat K]``.  Baseline: a per-trial loop that
rebuilds the state at every arrival and calls ``design.decide(state, now)`` (dfcrm-style
``integrate``), measured on a sample of trials.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
from _harness import best_of, machine

from doseladder.core.designs import TITECRM
from doseladder.core.state import Patient, TrialState
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Accrual, EventTimeModel, Scenario

DESIGN = TITECRM(
    num_doses=6, target=0.3, tox_window=1.0, halfwidth=0.05, prior_mtd=4, cohort_size=1, max_n=30
)
S1 = Scenario(
    p_tox=(0.05, 0.10, 0.20, 0.30, 0.50, 0.70),
    accrual=Accrual("poisson", 2.0),
    tox_time=EventTimeModel("weibull", 0.5, 0.5),
    name="S1",
)
N = 10_000


def scalar_baseline(n_trials: int) -> float:
    """Seconds per trial for a per-trial loop through the core."""
    draws = PatientDraws(S1, 0, 0, 0, n_trials, DESIGN.max_n)
    w = DESIGN.tox_window
    t0 = time.perf_counter()
    for tr in range(n_trials):
        rows = np.array([tr])
        entered: list[tuple[int, float, float]] = []  # dose, entry, DLT time (inf = none)
        dose, now = DESIGN.start_dose, float(draws.gaps[tr, 0])
        for i in range(DESIGN.max_n):
            if i:
                now += float(draws.gaps[tr, i])
                pats = []
                for d, e, tt in entered:
                    if math.isfinite(tt) and e + tt <= now:
                        pats.append(Patient(d, e, tox=True, tox_time=tt))
                    elif not math.isfinite(tt) and e + w <= now:
                        pats.append(Patient(d, e, tox=False))
                    else:
                        pats.append(Patient(d, e, tox=None))
                dec = DESIGN.decide(TrialState(DESIGN.num_doses, tuple(pats)), now)
                dose = dec.next_dose or dose
            frac = float(draws.tox_time(rows, i, np.array([dose - 1]))[0])
            entered.append((dose, now, frac * w))
        final = [Patient(d, e, tox=math.isfinite(tt)) for d, e, tt in entered]
        DESIGN.select(TrialState(DESIGN.num_doses, tuple(final)))
    return (time.perf_counter() - t0) / n_trials


def main() -> None:
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    print(machine())
    t0 = time.process_time()
    kernel = best_of(lambda: run_block(BlockTask(DESIGN, S1, 1, 0, 0, N, DESIGN.max_n)), repeat)
    cpu = (time.process_time() - t0) / (repeat + 1)
    full = best_of(lambda: simulate(DESIGN, S1, N, seed=1), repeat)
    base = scalar_baseline(5)
    print(f"TITE-CRM kernel (draws + trials + MTD selection): {kernel:.2f} s for {N:,} trials")
    print(f"TITE-CRM simulate() incl. OC summary: {full:.2f} s")
    loop = base * N
    print(f"  per-trial loop through the core: {loop:.0f} s -> speed-up x{loop / full:,.0f}")
    print(f"  kernel CPU time per run (mean): {cpu:.2f} s")


if __name__ == "__main__":
    main()
