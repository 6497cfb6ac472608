"""The 3+3's rules for many trials at once: :func:`decide_three_plus_three`,
:func:`select_three_plus_three` and :func:`provisional_mtd_arrays`.

The array form of :meth:`ThreePlusThree._decide
<doseladder.core.designs.three_plus_three.ThreePlusThree._decide>` /
:meth:`~doseladder.core.designs.three_plus_three.ThreePlusThree.decide_counts` (spec §6.1),
:meth:`~doseladder.core.designs.three_plus_three.ThreePlusThree.select` and
:func:`~doseladder.core.designs.three_plus_three.provisional_mtd`.  Histories with more than 6
patients at the current dose (which ``decide`` refuses) are not checked here.
"""

from __future__ import annotations

import numpy as np

from doseladder.core.designs.arrays.interface import (
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP,
    SUSPEND,
    ArrayDecision,
    BoolArray,
    DoseArrays,
    IntArray,
    pick,
    upward,
)
from doseladder.core.designs.three_plus_three import ThreePlusThree

__all__ = ["decide_three_plus_three", "provisional_mtd_arrays", "select_three_plus_three"]


def provisional_mtd_arrays(n: IntArray, tox: IntArray, eliminated: BoolArray) -> IntArray:
    """:func:`~doseladder.core.designs.three_plus_three.provisional_mtd` for every trial
    (dose-major counts): 1-based, 0 = none."""
    num = n.shape[0]
    limit = upward((tox >= 2) | eliminated)
    cleared = ((n == 3) & (tox == 0)) | ((n >= 6) & (tox <= 1))
    ok = cleared & ~limit
    dose = np.arange(1, num + 1)[:, None]
    return np.asarray(np.where(ok, dose, 0).max(axis=0, initial=0), dtype=np.int64)


def decide_three_plus_three(design: ThreePlusThree, data: DoseArrays) -> ArrayDecision:
    """``ThreePlusThree._decide`` for every trial with at least one patient."""
    num, rows = data.num_doses, data.rows
    n_max = design.n_max
    n, y, d, prior = data.n, data.tox, data.current, data.eliminated
    total = n.sum(axis=0)
    nd, yd = pick(n, d), pick(y, d)
    pending: BoolArray = np.asarray(data.tox_pending.any(axis=0), dtype=np.bool_)
    partial = (nd % 3 != 0) | (nd == 0)

    elim = upward((y >= 2) | prior)  # too_toxic_from: >= 2 DLTs or eliminated, upwards
    up = np.minimum(d + 1, num - 1)
    clear = ((nd == 3) & (yd == 0)) | ((nd == 6) & (yd <= 1))
    expand = (nd == 3) & (yd == 1)
    blocked = (d == num - 1) | (pick(n, up) >= 6) | (pick(y, up) >= 2) | pick(elim, up)
    action = np.full(rows, STAY, dtype=np.int64)
    nxt = d.copy()
    out_elim = np.where(partial[None, :], prior, elim)
    # escalate, or stop with MTD = d
    action = np.where(~partial & clear & blocked, STOP, action)
    go = ~partial & clear & ~blocked
    action = np.where(go, ESCALATE, action)
    nxt = np.where(go, d + 1, nxt)
    # too toxic
    toxic = ~partial & ~clear & ~expand
    if design.allow_deescalate:
        below = np.maximum(d - 1, 0)
        down = toxic & (d > 0) & (pick(n, below) < 6)
        korn = toxic & (d > 0) & ~down
        action = np.where(down, DEESCALATE, action)
        nxt = np.where(down, d - 1, nxt)
        stop_tt = toxic & ~down
        if korn.any():
            ok = (n >= 6) & (y <= 1) & ~elim
            dose = np.arange(num)[:, None]
            korn_mtd = np.where(ok, dose, -1).max(axis=0, initial=-1)
            nxt = np.where(korn, korn_mtd, nxt)
        nxt = np.where(stop_tt & (d == 0), -1, nxt)
    else:
        stop_tt = toxic
        nxt = np.where(toxic, d - 1, nxt)  # -1 (None) at dose 1
    tox_rule = toxic
    action = np.where(stop_tt, STOP, action)
    # maximum sample size: stop with the provisional MTD
    stop_max = (action != STOP) & (total >= n_max)
    if stop_max.any():
        prov = provisional_mtd_arrays(n, y, elim) - 1
        action = np.where(stop_max, STOP, action)
        nxt = np.where(stop_max, prov, nxt)
        tox_rule = tox_rule & ~stop_max
        out_elim = np.where(stop_max[None, :], elim, out_elim)
    # pending outcomes: complete the cohort, else suspend
    if pending.any():
        pend_cohort = pending & (nd % 3 != 0) & (total < n_max)
        action = np.where(pending, np.where(pend_cohort, STAY, SUSPEND), action)
        nxt = np.where(pending, d, nxt)
        out_elim = np.where(pending[None, :], prior, out_elim)
    return ArrayDecision(
        action.astype(np.int64), nxt.astype(np.int64), out_elim, ~pending & tox_rule
    )


def select_three_plus_three(design: ThreePlusThree, data: DoseArrays) -> IntArray:
    """``ThreePlusThree.select`` for every trial: the stop decision's dose on a finished
    history, else the provisional MTD (pending outcomes ignored); 1-based, 0 = none."""
    known_n = data.n - data.tox_pending
    zeros = np.zeros_like(known_n)
    known = DoseArrays(known_n, data.tox, zeros, zeros, zeros, zeros, data.current, data.eliminated)
    dec = design.decide_arrays(known)
    finished = (dec.action == STOP) & (data.tox_pending.sum(axis=0) == 0)
    prov = provisional_mtd_arrays(known_n, data.tox, dec.eliminated)
    sel = np.where(finished, dec.next_dose + 1, prov)
    return np.asarray(np.where(known_n.sum(axis=0) > 0, sel, 0), dtype=np.int64)
