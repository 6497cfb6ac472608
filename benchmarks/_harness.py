"""Shared helpers for the benchmarks: best-of-N timing, a scalar baseline, and reporting.

Every benchmark prints the measured figure, the target, the ratio to the target and the
speed-up over a baseline measured in the same run: the same trials decided one patient cohort
at a time through the pure core (``design.decide``), i.e. what a straightforward per-trial
Python simulator would cost.
"""

from __future__ import annotations

import gc
import os
import platform
import time
from collections.abc import Callable

import numpy as np

from doseladder.core.designs.base import Design
from doseladder.core.state import Patient, TrialState
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Scenario


def best_of(fn: Callable[[], object], repeat: int = 20) -> float:
    """Best wall time of ``repeat`` calls, after one warm-up call (garbage collection off
    while timing, as :mod:`timeit` does)."""
    fn()
    times = []
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        if was_enabled:
            gc.enable()
    return min(times)


def scalar_complete_data_baseline(
    design: Design, scenario: Scenario, n_trials: int, seed: int = 0
) -> float:
    """Seconds per trial for a per-trial loop through the core (complete data, cohorts)."""
    draws = PatientDraws(scenario, seed, 0, 0, n_trials, design.max_n)
    t0 = time.perf_counter()
    for t in range(n_trials):
        state = TrialState(design.num_doses)
        dose = design.start_dose
        i = 0
        while i < design.max_n:
            size = min(design.cohort_size, design.max_n - i)
            rows = np.array([t])
            d = np.array([dose - 1])
            cohort = tuple(
                Patient(
                    dose=dose,
                    tox=bool(draws.tox(rows, i + m, d)[0]),
                    eff=bool(draws.eff(rows, i + m, d)[0]),
                )
                for m in range(size)
            )
            state = state.with_patients(cohort)
            i += size
            decision = design.decide(state)
            state = state.with_eliminated(decision.eliminated)
            if decision.stopped or decision.next_dose is None:
                break
            dose = decision.next_dose
        design.select(state)
    return (time.perf_counter() - t0) / n_trials


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}"
    )


def report(
    name: str, seconds: float, target: float, baseline_per_trial: float | None, n_trials: int
) -> None:
    print(
        f"{name}: {seconds * 1e3:.1f} ms for {n_trials:,} trials "
        f"(target {target * 1e3:.0f} ms; ratio to target {seconds / target:.2f})"
    )
    if baseline_per_trial is not None:
        base = baseline_per_trial * n_trials
        print(
            f"  baseline (per-trial loop through the core, measured on a sample): "
            f"{base:.1f} s for {n_trials:,} trials -> speed-up x{base / seconds:,.0f}"
        )
