"""Vectorised 3+3 trials (spec §6.1; ``escalation::get_three_plus_three``).

The cohorts of 3 are treated by the shared loop
:func:`~doseladder.simulate.kernels.cohort_loop.simulate_cohorts`, which also decides after the
last cohort (the stop decision names the MTD).  The rules are the core's array decision
(:func:`~doseladder.core.designs.arrays.three_plus_three.decide_three_plus_three`), in the order
of :class:`doseladder.core.designs.three_plus_three.ThreePlusThree`:

* 0/3, or ≤ 1/6: escalate; stop with MTD = d at the top dose or when d+1 already has ≥ 6
  patients or ≥ 2 DLTs;
* 1/3: 3 more at d;
* ≥ 2 DLTs: too toxic -- standard: stop, MTD = d−1; Korn variant: de-escalate if d−1 has < 6
  patients, else stop with MTD = the highest dose with ≥ 6 patients and ≤ 1 DLT.

Exact OCs by enumeration are in :mod:`doseladder.core.exact_three_plus_three`; tests check this
kernel against them and against the core's ``decide``.
"""

from __future__ import annotations

from doseladder.core.designs.arrays.three_plus_three import (
    decide_three_plus_three,
    select_three_plus_three,
)
from doseladder.core.designs.three_plus_three import ThreePlusThree
from doseladder.simulate.kernels.cohort_loop import simulate_cohorts
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["simulate_three_plus_three"]


def simulate_three_plus_three(design: ThreePlusThree, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of 3+3 trials (the rules: ``decide_three_plus_three``)."""
    return simulate_cohorts(
        design,
        draws,
        decide_three_plus_three,
        select_three_plus_three,
        max_n=design.n_max,
        decide_after_last=True,
    )
