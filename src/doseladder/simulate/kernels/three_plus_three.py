"""Vectorised 3+3 trials (spec §6.1; ``escalation::get_three_plus_three``).

Every active trial has enrolled the same number of cohorts at each step, so a step treats one
cohort of 3 in every active trial at once.  Rules, in the order of
:class:`doseladder.core.designs.three_plus_three.ThreePlusThree`:

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

from doseladder.core.designs.three_plus_three import ThreePlusThree
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["simulate_three_plus_three"]


def _highest(mask: np.ndarray) -> np.ndarray:
    """Highest True column (1-based) per row, 0 when none."""
    j = mask.shape[1]
    return np.where(mask.any(axis=1), j - np.argmax(mask[:, ::-1], axis=1), 0)


def simulate_three_plus_three(design: ThreePlusThree, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of 3+3 trials."""
    nt, j = draws.n_trials, design.num_doses
    max_n = design.n_max
    rows = np.arange(nt)
    n = np.zeros((nt, j), dtype=np.int64)
    y = np.zeros((nt, j), dtype=np.int64)
    d = np.full(nt, design.start_dose - 1, dtype=np.int64)
    active = np.ones(nt, dtype=bool)
    selected = np.zeros(nt, dtype=np.int64)
    dose_seq = np.zeros((nt, max_n), dtype=np.int64)
    total = 0
    while active.any() and total + 3 <= max_n:
        idx = rows[active]
        dd = d[idx]
        new = draws.tox_count(idx, total, 3, dd)
        n[idx, dd] += 3
        y[idx, dd] += new
        dose_seq[idx, total : total + 3] = (dd + 1)[:, None]
        total += 3
        nd, yd = n[idx, dd], y[idx, dd]
        clear = ((nd == 3) & (yd == 0)) | ((nd == 6) & (yd <= 1))
        toxic = yd >= 2
        up = np.minimum(dd + 1, j - 1)
        blocked = (dd == j - 1) | (n[idx, up] >= 6) | (y[idx, up] >= 2)
        stop_clear = clear & blocked
        selected[idx[stop_clear]] = dd[stop_clear] + 1
        newd = np.where(clear & ~blocked, dd + 1, dd)
        stop_toxic = np.zeros(idx.size, dtype=bool)
        if design.allow_deescalate:
            down = np.maximum(dd - 1, 0)
            go_down = toxic & (dd > 0) & (n[idx, down] < 6)
            newd = np.where(go_down, dd - 1, newd)
            stop_toxic = toxic & ~go_down
            if stop_toxic.any():
                sub = idx[stop_toxic]
                ok = (n[sub] >= 6) & (y[sub] <= 1)
                # only doses below the too-toxic one qualify
                below = np.arange(j)[None, :] < dd[stop_toxic][:, None]
                selected[sub] = np.where(dd[stop_toxic] == 0, 0, _highest(ok & below))
        else:
            stop_toxic = toxic
            selected[idx[toxic]] = dd[toxic]  # MTD = d - 1 (1-based d), 0 when d is dose 1
        d[idx] = newd
        active[idx[stop_clear | stop_toxic]] = False
    if active.any():
        # cut short by max_n: the provisional MTD (highest cleared dose below any toxic one)
        idx = rows[active]
        cleared = ((n[idx] == 3) & (y[idx] == 0)) | ((n[idx] == 6) & (y[idx] <= 1))
        toxic_any = np.cumsum(y[idx] >= 2, axis=1) > 0
        selected[idx] = _highest(cleared & ~toxic_any)
    return TrialArrays(
        n=n,
        tox=y,
        eff=np.zeros_like(n),
        selected=selected,
        stopped_early=selected == 0,
        duration=np.full(nt, np.nan),
        suspended=np.zeros(nt),
        dose_seq=dose_seq,
        entry=np.empty((nt, 0)),  # no time in complete-data trials
    )
