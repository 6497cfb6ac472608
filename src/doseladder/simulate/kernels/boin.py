"""Vectorised BOIN trials (``BOIN::get.oc`` 2.7.2 conduct, spec §1.3).

The rules are the core's array decision (:meth:`BOIN.decide_arrays
<doseladder.core.designs.base.Design.decide_arrays>`,
:func:`~doseladder.core.designs.arrays.boin.decide_boin`) and selection
(:func:`~doseladder.core.designs.arrays.boin.select_boin`); this module only treats cohorts:
the latent patients of each active trial are treated at its dose, and the decision sends the
next cohort.  As ``get.oc``, the cohort reaching the maximum sample size ends the trial.
"""

from __future__ import annotations

import numpy as np

from doseladder.core.designs.arrays import STOP, DoseArrays
from doseladder.core.designs.arrays.boin import boin_boundary_arrays
from doseladder.core.designs.boin import BOIN
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["boin_boundary_arrays", "simulate_boin"]


def simulate_boin(design: BOIN, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of BOIN trials on the block's latent patients."""
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
    n_flat, y_flat = n.reshape(-1), y.reshape(-1)  # views: (dose, trial) -> dose * nt + trial
    while total < max_n:
        size = min(csize, max_n - total)
        dd = d[idx]
        cell = dd * nt + idx
        n_flat[cell] += size
        y_flat[cell] += draws.tox_count(idx, total, size, dd)
        dose_seq[idx, total : total + size] = (dd + 1)[:, None]
        total += size
        if total >= max_n:
            break  # get.oc: the cohort reaching the maximum sample size ends the trial
        if idx.size == nt:
            dec = design.decide_arrays(DoseArrays.complete(n, y, dd, elim))
            elim = dec.eliminated
        else:
            dec = design.decide_arrays(DoseArrays.complete(n[:, idx], y[:, idx], dd, elim[:, idx]))
            elim[:, idx] = dec.eliminated
        stop = dec.action == STOP
        go = ~stop
        d[idx[go]] = dec.next_dose[go]
        if stop.any():
            early[idx[stop & (dec.next_dose < 0)]] = True
            active[idx[stop]] = False
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
        entry=np.empty((nt, 0)),  # no time in complete-data trials
    )
