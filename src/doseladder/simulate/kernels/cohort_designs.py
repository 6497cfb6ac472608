"""Compiled trials of the complete-data interval designs Keyboard, mTPI-2 and i3+3.

The rules are the core's compiled decision and selection
(:func:`~doseladder.core.designs.arrays.boin.decide_trial`,
:func:`~doseladder.core.designs.arrays.boin.select_trial`: the functions behind
:func:`~doseladder.core.designs.arrays.interval.decide_interval` and ``select_interval``) with
the design's tables (:func:`~doseladder.core.designs.arrays.interval.interval_conduct_tables`:
its ``letter(n, y)`` tabulated by the core); the cohorts are treated by the compiled loop
:func:`~doseladder.simulate.kernels.cohort_loop.simulate_interval_cohorts` (shared with BOIN), as
``Keyboard::get.oc.kb`` and ``FIND::run_sim_*``: the cohort reaching ``max_n`` ends the trial
(the final selection re-derives eliminations from the data).
"""

from __future__ import annotations

from doseladder.core.designs.arrays.boin import boin_select_tables
from doseladder.core.designs.arrays.interval import (
    interval_conduct_tables,
    interval_select_params,
)
from doseladder.core.designs.interval_rules import IntervalDesign
from doseladder.simulate.kernels.cohort_loop import simulate_interval_cohorts
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["simulate_cohort_design"]


def simulate_cohort_design(design: IntervalDesign, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of trials of a complete-data interval design."""
    max_n = int(design.max_n)
    return simulate_interval_cohorts(
        design,
        draws,
        interval_conduct_tables(design, max_n),
        boin_select_tables(interval_select_params(design), max_n),  # type: ignore[arg-type]
    )
