"""Vectorised BOIN trials (exact ``BOIN::get.oc`` 2.7.2 conduct, spec §1.3) and ``select.mtd``.

Boundaries come from the core (:mod:`doseladder.core.designs.boin`) as integer tables indexed
by the number of patients at the current dose; the per-cohort update is the same rule order as
``BOIN._decide``: treat → eliminate / extra-safe stop → n.earlystop → move.  Tested equal to the
core's decisions on simulated histories (``tests/simulate/kernels/test_boin.py``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from doseladder.core.designs.boin import BOIN, b_d, b_e, b_elim, posterior_overdose
from doseladder.simulate.kernels.common import isotonic_minmax
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["boin_boundary_arrays", "select_mtd_vectorised", "simulate_boin"]

_NONE = 10**6  # an unreachable count, standing for R's NA boundary


@lru_cache(maxsize=64)
def boin_boundary_arrays(
    design: BOIN, max_n: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """b_e, b_d, b_elim and the extra-safe stop boundary for n = 0..max_n (NA → huge).

    The extra-safe boundary is the smallest y (from 0) with Pr(p₁ > φ | y of n) >
    ``cutoff_eli − offset`` for n ≥ 3, the same posterior comparison as ``get.oc`` and the core
    (:func:`~doseladder.core.designs.boin.posterior_overdose`); for extreme settings y = 0 can
    qualify, which the y ≥ 1 table of ``extrasafe_stop_boundary`` would miss.
    """
    be = np.zeros(max_n + 1, dtype=np.int64)
    bd = np.full(max_n + 1, _NONE, dtype=np.int64)
    bel = np.full(max_n + 1, _NONE, dtype=np.int64)
    bsafe = np.full(max_n + 1, _NONE, dtype=np.int64)
    be[0] = -1
    for n in range(1, max_n + 1):
        el = b_elim(n, design.target, design.cutoff_eli)
        be[n] = b_e(n, design.lambda_e)
        bd[n] = b_d(n, design.lambda_d, el)
        if el is not None:
            bel[n] = el
        if design.extrasafe and n >= 3:
            cutoff = design.cutoff_eli - design.offset
            hit = [y for y in range(n + 1) if posterior_overdose(n, y, design.target) > cutoff]
            if hit:
                bsafe[n] = hit[0]
    return be, bd, bel, bsafe


def select_mtd_vectorised(
    n: NDArray[np.int64],
    y: NDArray[np.int64],
    design: BOIN,
    bel: NDArray[np.int64],
    bsafe: NDArray[np.int64],
    eliminated: NDArray[np.bool_] | None = None,
) -> NDArray[np.int64]:
    """``select.mtd`` for every row at once (spec §1.4); 0 = no MTD.

    ``eliminated`` (rows, doses), optional: doses eliminated during the trial (the core's
    ``select_mtd(..., eliminated=...)``: carried forward and closed upwards).
    """
    rows = np.arange(n.shape[0])
    # 1. elimination recomputed from final data: first dose meeting the rule eliminates the rest
    hit = (n >= 3) & (y >= bel[n])
    if eliminated is not None:
        hit = hit | eliminated
    elim = np.cumsum(hit, axis=1) > 0
    if design.extrasafe:
        elim |= ((n[:, 0] >= 3) & (y[:, 0] >= bsafe[n[:, 0]]))[:, None]
    adm = (n > 0) & ~elim
    none = elim[:, 0] | ~adm.any(axis=1)
    a = y + 0.05
    b = n - y + 0.05
    tot = n + 0.1
    phat = a / tot
    var = a * b / (tot**2 * (tot + 1))
    w = np.where(adm, 1.0 / var, 0.0)
    iso = isotonic_minmax(phat, w)
    rank = np.cumsum(adm, axis=1)
    iso = iso + rank * 1e-10
    dist = np.where(adm, np.abs(iso - design.target), np.inf)
    if design.bound_mtd:
        ok = adm & (iso <= design.lambda_d)
        none |= ~ok.any(axis=1)
        dist = np.where(ok, dist, np.inf)
    pick = np.argmin(dist, axis=1) + 1
    return np.where(none, 0, pick).astype(np.int64)[rows]


def simulate_boin(design: BOIN, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of BOIN trials on the block's latent patients."""
    nt, j = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    be, bd, bel, bsafe = boin_boundary_arrays(design, max_n)
    rows = np.arange(nt)
    n = np.zeros((nt, j), dtype=np.int64)
    y = np.zeros((nt, j), dtype=np.int64)
    elim = np.zeros((nt, j), dtype=bool)
    d = np.full(nt, design.start_dose - 1, dtype=np.int64)
    active = np.ones(nt, dtype=bool)
    early = np.zeros(nt, dtype=bool)
    dose_seq = np.zeros((nt, max_n), dtype=np.int64)
    total = 0
    while total < max_n:
        size = min(csize, max_n - total)
        idx = rows[active]
        dd = d[idx]
        tox_new = draws.tox_count(idx, total, size, dd)
        n[idx, dd] += size
        y[idx, dd] += tox_new
        dose_seq[idx, total : total + size] = (dd + 1)[:, None]
        total += size
        if total >= max_n:
            break  # get.oc: the cohort reaching the maximum sample size ends the trial
        nd = n[idx, dd]
        yd = y[idx, dd]
        # elimination (n >= 3 is built into bel: NA for n < 3)
        el = yd >= bel[nd]
        if el.any():
            eidx, edose = idx[el], dd[el]
            elim[eidx] |= np.arange(j)[None, :] >= edose[:, None]
        stop_safety = el & (dd == 0)
        if design.extrasafe:
            stop_safety |= (dd == 0) & (yd >= bsafe[nd])
        # n.earlystop (2.7.2): stop only when the rule would keep the dose
        next_elim = np.where(dd < j - 1, elim[idx, np.minimum(dd + 1, j - 1)], True)
        stay_zone = (yd > be[nd]) & (yd < bd[nd])
        cant_down = (dd == 0) & (yd >= bd[nd])
        cant_up = ((dd == j - 1) | next_elim) & (yd <= be[nd])
        stop_n = (nd >= design.n_earlystop) & (stay_zone | cant_down | cant_up) & ~stop_safety
        # moves
        up = (yd <= be[nd]) & (dd < j - 1) & ~next_elim
        down = (yd >= bd[nd]) & (dd > 0) & ~up
        newd = dd + up.astype(np.int64) - down.astype(np.int64)
        d[idx] = newd
        early[idx[stop_safety]] = True
        active[idx[stop_safety | stop_n]] = False
        if not active.any():
            break
    selected = select_mtd_vectorised(n, y, design, bel, bsafe)
    selected[early] = 0
    return TrialArrays(
        n=n,
        tox=y,
        eff=np.zeros_like(n),
        selected=selected,
        stopped_early=early,
        duration=np.full(nt, np.nan),
        suspended=np.zeros(nt),
        dose_seq=dose_seq,
        entry=np.empty((nt, 0)),  # no time in complete-data trials
    )
