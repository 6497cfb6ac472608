"""Vectorised CRM trials (dfcrm ``crmsim`` conduct, one-stage design).

The rules are the core's array decision and selection
(:func:`~doseladder.core.designs.arrays.crm.decide_crm`,
:func:`~doseladder.core.designs.arrays.crm.select_crm`); the cohorts are treated by the shared
loop :func:`~doseladder.simulate.kernels.cohort_loop.simulate_cohorts`, which keeps the
patients in order of entry for the coherence rule; after the last cohort the MTD is dfcrm's
recommendation on all data.
"""

from __future__ import annotations

from doseladder.core.designs.arrays.crm import decide_crm, select_crm
from doseladder.core.designs.crm import CRM
from doseladder.simulate.kernels.cohort_loop import simulate_cohorts
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["simulate_crm"]


def simulate_crm(design: CRM, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of CRM trials on the block's latent patients."""
    return simulate_cohorts(design, draws, decide_crm, select_crm, track_patients=True)
