"""Rebuild simulated trial histories as core ``Patient`` cohorts, for equivalence tests."""

from __future__ import annotations

import numpy as np

from doseladder.core.state import Patient
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays


def complete_cohorts(
    arrays: TrialArrays, draws: PatientDraws, trial: int, cohort_size: int
) -> list[tuple[Patient, ...]]:
    """The complete-data cohorts of one simulated trial, in enrolment order."""
    seq = arrays.dose_seq[trial]
    count = int((seq > 0).sum())
    cohorts: list[tuple[Patient, ...]] = []
    rows = np.array([trial])
    for start in range(0, count, cohort_size):
        cohort = []
        for i in range(start, min(start + cohort_size, count)):
            dose = int(seq[i])
            tox = bool(draws.tox(rows, i, np.array([dose - 1]))[0])
            eff = bool(draws.eff(rows, i, np.array([dose - 1]))[0])
            cohort.append(
                Patient(
                    dose=dose, entry_time=float(i), tox=tox, eff=eff, cohort=start // cohort_size
                )
            )
        cohorts.append(tuple(cohort))
    return cohorts
