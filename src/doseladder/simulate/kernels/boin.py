"""Vectorised BOIN trials (``BOIN::get.oc`` 2.7.2 conduct, spec §1.3).

The rules are the core's array decision
(:func:`~doseladder.core.designs.arrays.boin.decide_boin`) and selection
(:func:`~doseladder.core.designs.arrays.boin.select_boin`); the cohorts are treated by the
shared loop :func:`~doseladder.simulate.kernels.cohort_loop.simulate_cohorts`.  As ``get.oc``,
the cohort reaching the maximum sample size ends the trial.
"""

from __future__ import annotations

from doseladder.core.designs.arrays.boin import boin_boundary_arrays, decide_boin, select_boin
from doseladder.core.designs.boin import BOIN
from doseladder.simulate.kernels.cohort_loop import simulate_cohorts
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["boin_boundary_arrays", "simulate_boin"]


def simulate_boin(design: BOIN, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of BOIN trials on the block's latent patients."""
    return simulate_cohorts(design, draws, decide_boin, select_boin)
