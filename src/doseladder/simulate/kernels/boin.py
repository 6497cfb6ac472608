"""Vectorised BOIN trials (``BOIN::get.oc`` 2.7.2 conduct, spec §1.3).

The rules are the core's compiled decision and selection
(:func:`~doseladder.core.designs.arrays.boin.decide_trial`,
:func:`~doseladder.core.designs.arrays.boin.select_trial`, the functions behind
:func:`~doseladder.core.designs.arrays.boin.decide_boin` and ``select_boin``) with BOIN's tables;
the cohorts are treated by the compiled loop of the interval designs
:func:`~doseladder.simulate.kernels.cohort_loop.simulate_interval_cohorts`.  As ``get.oc``,
the cohort reaching the maximum sample size ends the trial.
"""

from __future__ import annotations

from doseladder.core.designs.arrays.boin import (
    boin_boundary_arrays,
    boin_conduct_tables,
    boin_select_tables,
)
from doseladder.core.designs.boin import BOIN
from doseladder.simulate.kernels.cohort_loop import simulate_interval_cohorts
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["boin_boundary_arrays", "simulate_boin"]


def simulate_boin(design: BOIN, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of BOIN trials on the block's latent patients."""
    return simulate_interval_cohorts(
        design,
        draws,
        boin_conduct_tables(design, design.max_n),
        boin_select_tables(design, design.max_n),
    )
