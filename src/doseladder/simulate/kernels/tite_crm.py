"""Vectorised TITE-CRM trials (dfcrm ``titesim`` conduct in time).

Decisions are the core's array function
(:func:`~doseladder.core.designs.arrays.tite_crm.decide_tite_crm`, proven equal to
``TITECRM.decide`` by random testing); this module only moves the trials through time:

* Time unit = that of ``tox_window`` (W).  Patients arrive as the scenario's accrual process
  (``draws.gaps``, as the TITE-BOIN kernel); the first enters at ``gaps[:, 0]``.
* A cohort's dose is decided at the arrival of its first patient, on every earlier patient's
  data at that instant (a DLT is known once ``entry + DLT time <= now``, a patient without DLT
  is complete once ``entry + W <= now``; the others weigh by their follow-up, dfcrm
  ``titecrm``); the cohort's other patients arrive ``gaps`` apart at that dose.  The TITE-CRM
  never suspends accrual (``titesim``): every arriving patient is treated.
* The cohort that reaches ``max_n`` ends enrolment; a ``stop_n_mtd`` stop (or every dose
  eliminated) ends the trial at the decision time.  ``duration`` = the time from the first
  entry until every enrolled patient's DLT outcome is known (the last DLT or window end), or
  until the stop decision.
* Final selection: dfcrm's recommendation on complete data (every DLT within the window
  counts, :func:`~doseladder.core.designs.arrays.tite_crm.select_tite_crm`), as ``titesim``'s
  final fit.
"""

from __future__ import annotations

import numpy as np

from doseladder.core.designs.arrays import STOP, DoseArrays, PatientArrays
from doseladder.core.designs.tite_crm import TITECRM
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["simulate_tite_crm", "timed_patients"]


def timed_patients(
    num: int,
    dose0: np.ndarray,
    entry: np.ndarray,
    tox_at: np.ndarray,
    is_tox: np.ndarray,
    now: np.ndarray,
    current: np.ndarray,
    eliminated: np.ndarray,
) -> DoseArrays:
    """The :class:`DoseArrays` of trials whose patients ((R, W), 0-based dose, phantom ``num``
    = none) are seen at ``now``: ``n`` counts every treated patient, ``tox`` the DLTs known by
    ``now``, ``tox_pending`` the outcomes still open, and ``patients`` the per-patient data."""
    rows, width = dose0.shape
    valid = dose0 < num
    known = valid & (tox_at <= now[:, None])
    r_idx = np.broadcast_to(np.arange(rows)[:, None], (rows, width))
    n = np.zeros((num + 1, rows), dtype=np.int64)
    y = np.zeros((num + 1, rows), dtype=np.int64)
    pend = np.zeros((num + 1, rows), dtype=np.int64)
    np.add.at(n, (dose0, r_idx), 1)
    np.add.at(y, (dose0[known & is_tox], r_idx[known & is_tox]), 1)
    np.add.at(pend, (dose0[valid & ~known], r_idx[valid & ~known]), 1)
    pts = PatientArrays(dose0, entry, tox_at, tox_at, is_tox, np.zeros_like(is_tox), now)
    zeros = np.zeros((num, rows), dtype=np.int64)
    return DoseArrays(n[:num], y[:num], pend[:num], zeros, zeros, zeros, current, eliminated, pts)


def simulate_tite_crm(design: TITECRM, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of TITE-CRM trials on the block's latent patients (timing as the
    module docstring)."""
    nt, j = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    big_t = float(design.tox_window)
    gaps = draws.gaps
    rows = np.arange(nt)
    n = np.zeros((nt, j), dtype=np.int64)
    y = np.zeros((nt, j), dtype=np.int64)
    cur = np.full(nt, design.start_dose - 1, dtype=np.int64)
    elim = np.zeros((j, nt), dtype=bool)
    active = np.ones(nt, dtype=bool)
    early = np.zeros(nt, dtype=bool)
    stopped_at = np.full(nt, np.nan)
    dose0 = np.full((nt, max_n), j, dtype=np.int64)  # phantom dose J = no patient (yet)
    entry = np.full((nt, max_n), np.nan)
    tox_at = np.full((nt, max_n), np.inf)
    is_tox = np.zeros((nt, max_n), dtype=bool)

    def enrol(idx: np.ndarray, i: int, t: np.ndarray) -> None:
        dd = cur[idx]
        frac = draws.tox_time(idx, i, dd)  # inf exactly when there is no DLT
        tx = np.isfinite(frac)
        entry[idx, i] = t
        tox_at[idx, i] = t + np.where(tx, frac, 1.0) * big_t
        is_tox[idx, i] = tx
        dose0[idx, i] = dd
        n[idx, dd] += 1
        y[idx, dd] += tx

    t = gaps[:, 0].copy()
    total = 0
    idx = rows
    while total < max_n:
        if total:  # decide the dose of the cohort starting with patient ``total``
            t_now = t[idx]
            data = timed_patients(
                j,
                dose0[idx, :total],
                entry[idx, :total],
                tox_at[idx, :total],
                is_tox[idx, :total],
                t_now,
                cur[idx],
                elim[:, idx],
            )
            dec = design.decide_arrays(data)
            stop = dec.action == STOP
            go = ~stop
            cur[idx[go]] = dec.next_dose[go]
            elim[:, idx] = dec.eliminated
            if stop.any():
                srows = idx[stop]
                active[srows] = False
                early[srows] = dec.next_dose[stop] < 0
                stopped_at[srows] = t_now[stop]
                idx = rows[active]
                if idx.size == 0:
                    break
        size = min(csize, max_n - total)
        for m in range(size):
            i = total + m
            if m:
                t[idx] = t[idx] + gaps[idx, i]
            enrol(idx, i, t[idx])
        total += size
        if total < max_n:
            t[idx] = t[idx] + gaps[idx, total]
    enrolled = dose0 < j
    end = np.where(enrolled, tox_at, -np.inf).max(axis=1)
    end = np.where(np.isnan(stopped_at), end, stopped_at)
    selected = design.select_arrays(
        DoseArrays.complete(np.ascontiguousarray(n.T), np.ascontiguousarray(y.T), cur, elim)
    )
    selected[early] = 0
    return TrialArrays(
        n=n,
        tox=y,
        eff=np.zeros_like(n),
        selected=selected,
        stopped_early=early,
        duration=end - entry[:, 0],
        suspended=np.zeros(nt),
        dose_seq=np.where(enrolled, dose0 + 1, 0),
        entry=entry,
    )
