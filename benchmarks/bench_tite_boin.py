"""TITE-BOIN (ESS form): 6 doses, N = 30, cohorts of 3, 10,000 trials (target ≤ 50 ms, issue
#12 item 4).

Settings of reference-results.md S1 "TITEgBOIN TITE-BOIN, ESS form": window 1, Poisson accrual of
2 patients per unit time, Weibull DLT times with α1 = α2 = 0.5, suspend if > 50 % pending.
R's TITEgBOIN::get_oc_TITE_QuasiBOIN takes 9.6 s for this work.

Run: ``python benchmarks/bench_tite_boin.py``.  The baseline is a per-trial Python loop with the
kernel's timing (decision at each arrival, re-decided at the next arrival while suspended) that
rebuilds the :class:`TrialState` at every decision time and calls ``design.decide(state, now)``.
Also prints the CPU time and the first-call cost of the compiled parts (compile, then load from
the on-disk cache, each in a fresh process).
"""

from __future__ import annotations

import os
import time

import numpy as np
from _first_call import cpu_best_of, print_first_call
from _harness import best_of, machine, report

from doseladder.core.decision import Action
from doseladder.core.designs import TITEBOIN
from doseladder.core.state import Patient, TrialState
from doseladder.simulate.engine import BlockTask, run_block, simulate
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Accrual, EventTimeModel, Scenario

DESIGN = TITEBOIN(
    num_doses=6, target=0.3, tox_window=1.0, form="ess", cohort_size=3, max_n=30, max_pending=0.5
)
S1 = Scenario(
    p_tox=(0.05, 0.10, 0.20, 0.30, 0.50, 0.70),
    accrual=Accrual("poisson", 2.0),
    tox_time=EventTimeModel("weibull", 0.5, 0.5),
    name="S1",
)
N = 10_000


def scalar_tite_baseline(design: TITEBOIN, scenario: Scenario, n_trials: int) -> float:
    """Seconds per trial for a per-trial loop through the core with pending outcomes."""
    draws = PatientDraws(scenario, 0, 0, 0, n_trials, design.max_n)
    rng = np.random.default_rng(0)
    big_t = design.tox_window
    t0 = time.perf_counter()
    for t in range(n_trials):
        rows = np.array([t])
        entered: list[tuple[int, float, bool, float]] = []  # dose, entry, DLT, DLT time
        eliminated: frozenset[int] = frozenset()
        dose, now = design.start_dose, float(draws.gaps[t, 0])
        i = 0
        stopped = False
        while i < design.max_n and not stopped:
            size = min(design.cohort_size, design.max_n - i)
            for m in range(size):
                if m:
                    now += float(draws.gaps[t, i + m])
                d0 = np.array([dose - 1])
                tox = bool(draws.tox(rows, i + m, d0)[0])
                frac = float(draws.tox_time(rows, i + m, d0)[0])
                entered.append((dose, now, tox, frac * big_t))
            i += size
            if i >= design.max_n:
                break
            now += float(draws.gaps[t, i])
            while True:
                pats = []
                for d, e, tox, tt in entered:
                    if tox and e + tt <= now:
                        pats.append(Patient(dose=d, entry_time=e, tox=True, tox_time=tt))
                    elif not tox and e + big_t <= now:
                        pats.append(Patient(dose=d, entry_time=e, tox=False))
                    else:
                        pats.append(Patient(dose=d, entry_time=e, tox=None))
                state = TrialState(design.num_doses, tuple(pats), eliminated=eliminated)
                decision = design.decide(state, now)
                eliminated = decision.eliminated
                if decision.action is not Action.SUSPEND:
                    break
                now += rng.exponential(1 / scenario.accrual.rate)
            if decision.stopped or decision.next_dose is None:
                stopped = True
            else:
                dose = decision.next_dose
        final = [
            Patient(dose=d, entry_time=e, tox=tox, tox_time=tt if tox else None)
            for d, e, tox, tt in entered
        ]
        design.select(TrialState(design.num_doses, tuple(final), eliminated=eliminated))
    return (time.perf_counter() - t0) / n_trials


TARGET = 0.050


def main() -> None:
    print(machine(), f"load average {os.getloadavg()[0]:.1f}")
    task = BlockTask(DESIGN, S1, 1, 0, 0, N, DESIGN.max_n)
    kernel = best_of(lambda: run_block(task))
    full = best_of(lambda: simulate(DESIGN, S1, N, seed=1))
    base = scalar_tite_baseline(DESIGN, S1, 100)
    report("TITE-BOIN kernel (draws + trials + MTD selection)", kernel, TARGET, base, N)
    report("TITE-BOIN simulate() incl. OC summary", full, TARGET, base, N)
    print(f"  kernel CPU time {cpu_best_of(lambda: run_block(task), repeat=10) * 1e3:.1f} ms")
    print_first_call(
        "TITE-BOIN run_block",
        "from bench_tite_boin import DESIGN, S1, N\n"
        "from doseladder.simulate.engine import BlockTask, run_block\n"
        "task = BlockTask(DESIGN, S1, 1, 0, 0, N, DESIGN.max_n)",
        "run_block(task)",
    )
    print(
        "  R TITEgBOIN::get_oc_TITE_QuasiBOIN, same work (reference-results S1): "
        f"9.6 s -> x{9.6 / full:,.0f}"
    )


if __name__ == "__main__":
    main()
