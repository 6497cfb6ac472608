"""Vectorised 3+3 trials (spec §6.1; ``escalation::get_three_plus_three``).

Every active trial has enrolled the same number of cohorts at each step, so a step treats one
cohort of 3 in every active trial at once.  The rules are the core's array decision
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

import numpy as np

from doseladder.core.designs.arrays import STOP, DoseArrays
from doseladder.core.designs.three_plus_three import ThreePlusThree
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["simulate_three_plus_three"]


def simulate_three_plus_three(design: ThreePlusThree, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of 3+3 trials (the rules: ``design.decide_arrays``)."""
    nt, j = draws.n_trials, design.num_doses
    max_n = design.n_max
    rows = np.arange(nt)
    n = np.zeros((j, nt), dtype=np.int64)
    y = np.zeros((j, nt), dtype=np.int64)
    elim = np.zeros((j, nt), dtype=bool)
    d = np.full(nt, design.start_dose - 1, dtype=np.int64)
    active = np.ones(nt, dtype=bool)
    selected = np.zeros(nt, dtype=np.int64)
    dose_seq = np.zeros((nt, max_n), dtype=np.int64)
    total = 0
    idx = rows
    n_flat, y_flat = n.reshape(-1), y.reshape(-1)  # views: (dose, trial) -> dose * nt + trial
    while idx.size and total + 3 <= max_n:
        dd = d[idx]
        cell = dd * nt + idx
        n_flat[cell] += 3
        y_flat[cell] += draws.tox_count(idx, total, 3, dd)
        dose_seq[idx, total : total + 3] = (dd + 1)[:, None]
        total += 3
        # only the active trials' columns are decided (a stopped trial's data never change)
        sub = DoseArrays.complete(n[:, idx], y[:, idx], dd, elim[:, idx])
        dec = design.decide_arrays(sub)
        elim[:, idx] = dec.eliminated
        stop = dec.action == STOP
        go = ~stop
        d[idx[go]] = dec.next_dose[go]
        if stop.any():
            selected[idx[stop]] = dec.next_dose[stop] + 1  # -1 (no MTD) -> 0
            active[idx[stop]] = False
            idx = rows[active]
    return TrialArrays(
        n=np.ascontiguousarray(n.T),
        tox=np.ascontiguousarray(y.T),
        eff=np.zeros((nt, j), dtype=np.int64),
        selected=selected,
        stopped_early=selected == 0,
        duration=np.full(nt, np.nan),
        suspended=np.zeros(nt),
        dose_seq=dose_seq,
        entry=np.empty((nt, 0)),  # no time in complete-data trials
    )
