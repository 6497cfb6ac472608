"""Vectorised trials of the complete-data cohort designs Keyboard, mTPI-2 and i3+3.

The rules are the core's array decision and selection
(:func:`~doseladder.core.designs.arrays.interval.decide_interval`,
:func:`~doseladder.core.designs.arrays.interval.select_interval`); the cohorts are treated by
the shared loop :func:`~doseladder.simulate.kernels.cohort_loop.simulate_cohorts`, as
``Keyboard::get.oc.kb`` and ``FIND::run_sim_*``: the cohort reaching ``max_n`` ends the trial
(the final selection re-derives eliminations from the data).
"""

from __future__ import annotations

from doseladder.core.designs.arrays.interval import decide_interval, select_interval
from doseladder.core.designs.interval_rules import IntervalDesign
from doseladder.simulate.kernels.cohort_loop import simulate_cohorts
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["simulate_cohort_design"]


def simulate_cohort_design(design: IntervalDesign, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of trials of a complete-data interval design."""
    return simulate_cohorts(design, draws, decide_interval, select_interval)
