"""Vectorised trials of the complete-data cohort designs Keyboard, mTPI-2 and i3+3.

The rules are the core's array decision and selection (``design.decide_arrays`` /
``design.select_arrays``, :mod:`doseladder.core.designs.arrays.interval`); this module only
treats cohorts, as ``Keyboard::get.oc.kb`` and ``FIND::run_sim_*``: each active trial treats a
cohort at its dose, the decision sends the next cohort, and the cohort reaching ``max_n`` ends
the trial (the final selection re-derives eliminations from the data).
"""

from __future__ import annotations

import numpy as np

from doseladder.core.designs.arrays import STOP, DoseArrays
from doseladder.core.designs.base import Design
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["simulate_cohort_design"]


def simulate_cohort_design(design: Design, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of trials of a complete-data cohort design."""
    nt, j = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    rows = np.arange(nt)
    n = np.zeros((j, nt), dtype=np.int64)
    y = np.zeros((j, nt), dtype=np.int64)
    elim = np.zeros((j, nt), dtype=bool)
    d = np.full(nt, design.start_dose - 1, dtype=np.int64)
    active = np.ones(nt, dtype=bool)
    early = np.zeros(nt, dtype=bool)
    dose_seq = np.zeros((nt, max_n), dtype=np.int64)
    total = 0
    idx = rows
    while total < max_n:
        size = min(csize, max_n - total)
        dd = d[idx]
        n[dd, idx] += size
        y[dd, idx] += draws.tox_count(idx, total, size, dd)
        dose_seq[idx, total : total + size] = (dd + 1)[:, None]
        total += size
        if total >= max_n:
            break
        dec = design.decide_arrays(DoseArrays.complete(n[:, idx], y[:, idx], dd, elim[:, idx]))
        stop = dec.action == STOP
        early[idx[stop & (dec.next_dose < 0)]] = True
        go = ~stop
        d[idx[go]] = dec.next_dose[go]
        elim[:, idx] = dec.eliminated
        active[idx[stop]] = False
        if stop.any():
            idx = rows[active]
            if idx.size == 0:
                break
    selected = design.select_arrays(DoseArrays.complete(n, y, d))
    selected[early] = 0
    return TrialArrays(
        n=np.ascontiguousarray(n.T),
        tox=np.ascontiguousarray(y.T),
        eff=np.zeros((nt, j), dtype=np.int64),
        selected=selected,
        stopped_early=early,
        duration=np.full(nt, np.nan),
        suspended=np.zeros(nt),
        dose_seq=dose_seq,
        entry=np.empty((nt, 0)),
    )
