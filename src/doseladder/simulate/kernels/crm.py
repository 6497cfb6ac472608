"""Vectorised CRM trials (dfcrm ``crmsim`` conduct, one-stage design).

The rules are the core's array decision and selection (:mod:`doseladder.core.designs.arrays.crm`);
this module treats cohorts: every trial treats a cohort at its dose and the decision sends the
next one (the coherence rule reads the patients, kept here in order of entry); after the last
cohort the MTD is dfcrm's recommendation on all data.
"""

from __future__ import annotations

import numpy as np

from doseladder.core.designs.arrays import STOP, DoseArrays, PatientArrays
from doseladder.core.designs.crm import CRM
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["simulate_crm"]


def simulate_crm(design: CRM, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of CRM trials on the block's latent patients."""
    nt, j = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    rows = np.arange(nt)
    n = np.zeros((j, nt), dtype=np.int64)
    y = np.zeros((j, nt), dtype=np.int64)
    elim = np.zeros((j, nt), dtype=bool)
    d = np.full(nt, design.start_dose - 1, dtype=np.int64)
    active = np.ones(nt, dtype=bool)
    early = np.zeros(nt, dtype=bool)
    pdose = np.full((nt, max_n), j, dtype=np.int64)  # phantom dose J = not (yet) a patient
    ptox = np.zeros((nt, max_n), dtype=bool)
    zeros_f = np.zeros((nt, max_n))
    total = 0
    idx = rows
    while total < max_n:
        size = min(csize, max_n - total)
        dd = d[idx]
        for i in range(total, total + size):
            t = draws.tox(idx, i, dd)
            pdose[idx, i] = dd
            ptox[idx, i] = t
            n[dd, idx] += 1
            y[dd, idx] += t
        total += size
        if total >= max_n:
            break
        pts = PatientArrays(
            pdose[idx], zeros_f[idx], zeros_f[idx], zeros_f[idx], ptox[idx],
            np.zeros((idx.size, max_n), dtype=bool), np.full(idx.size, np.inf),
        )  # fmt: skip
        zeros = np.zeros((j, idx.size), dtype=np.int64)
        data = DoseArrays(n[:, idx], y[:, idx], zeros, zeros, zeros, zeros, dd, elim[:, idx], pts)
        dec = design.decide_arrays(data)
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
    selected = design.select_arrays(DoseArrays.complete(n, y, d, elim))
    selected[early] = 0
    dose_seq = np.where(pdose < j, pdose + 1, 0)
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
