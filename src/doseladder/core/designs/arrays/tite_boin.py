"""TITE-BOIN's rules for many trials at once: :func:`decide_tite_boin` and :func:`select_tite_boin`.

The array form of ``TITEBOIN._decide`` (spec ``dose-finding.md`` §2): the BOIN framework of
:func:`~doseladder.core.designs.boin.boin_framework_decision` (elimination on every dose with all
treated patients and observed DLTs, the stop when dose 1 is eliminated, the extra-safe stop, the
current dose eliminated -> the highest dose not eliminated, the move blocked at the dose range and
at eliminated doses, ``n_earlystop``, ``max_n``) around the TITE move at the current dose:
:func:`~doseladder.core.designs.tite_boin.imputation_decision` or
:func:`~doseladder.core.designs.tite_boin.ess_decision` while outcomes are pending there, plain
BOIN otherwise.  The integer boundaries are BOIN's tables
(:func:`~doseladder.core.designs.arrays.boin.boin_boundary_arrays`, built with the core's scalar
functions); the continuous comparisons are the core's expressions in the same order.

``data.patients`` gives the follow-up of the pending patients at the decision time
``data.patients.now`` (``tox_at > now`` = pending); the per-dose counts are ``data.n`` (every
treated patient), ``data.tox`` (observed DLTs) and ``data.tox_pending``.
"""

from __future__ import annotations

import numpy as np

from doseladder.core.designs.arrays.boin import boin_boundary_arrays, boin_stops, select_boin
from doseladder.core.designs.arrays.interface import (
    DEESCALATE,
    ESCALATE,
    STAY,
    SUSPEND,
    ArrayDecision,
    BoolArray,
    DoseArrays,
    FloatArray,
    IntArray,
    pick,
    upward,
)
from doseladder.core.designs.tite_boin import TITEBOIN
from doseladder.core.errors import InputError

__all__ = ["decide_tite_boin", "select_tite_boin", "stft_at_current"]


def stft_at_current(design: TITEBOIN, data: DoseArrays) -> FloatArray:
    """STFT = Σ min(now − entry, T)/T over the patients at the current dose whose DLT outcome
    is pending, summed in order of entry as the core sums them."""
    rows = data.rows
    stft = np.zeros(rows)
    pts = data.patients
    if pts is None:
        if data.tox_pending.any():
            raise InputError("patients", "TITE-BOIN needs the patients with pending outcomes")
        return stft
    window = float(design.tox_window)
    pending = (pts.dose == data.current[:, None]) & (pts.tox_at > pts.now[:, None])
    for k in np.flatnonzero(pending.any(axis=0)):
        frac = np.minimum(pts.now - pts.entry[:, k], window) / window
        stft = stft + np.where(pending[:, k], frac, 0.0)
    return stft


def _tite_move(
    design: TITEBOIN,
    d: IntArray,
    nd: IntArray,
    yd: IntArray,
    c: IntArray,
    stft: FloatArray,
    be: IntArray,
    bd: IntArray,
) -> tuple[IntArray, BoolArray]:
    """``TITEBOIN._move`` where outcomes are pending at the current dose (c > 0, n_d > 0):
    (proposed action, toxicity de-escalation rule)."""
    lam_e, lam_d, target = design.lambda_e, design.lambda_d, design.target
    r = nd - c
    sus = c > design.max_pending * nd
    with np.errstate(divide="ignore", invalid="ignore"):
        if design.form == "imputation":
            certain = yd >= bd[nd]
            pi_hat = (yd + target / 2) / (r + 1)
            p_tilde = (yd + pi_hat / (1 - pi_hat) * (c - stft)) / nd
            below = yd / nd < target
            up = ~certain & ~sus & below & (p_tilde <= lam_e)
            down = certain | (~sus & ~below & (p_tilde >= lam_d))
            wait = ~certain & sus
        else:
            mu = yd / ((nd - c) + stft)
            up = ~sus & (mu <= lam_e)
            down = ~sus & ~up & (mu >= lam_d)
            wait = sus | (down & (d == 0))  # TITEgBOIN: de-escalation at dose 1 waits
            down = down & (d != 0)
    if design.block_escalation_few_complete:
        few = up & (r <= 2)
        wait = wait | few
        up = up & ~few
    action = np.where(wait, SUSPEND, np.where(up, ESCALATE, np.where(down, DEESCALATE, STAY)))
    return action.astype(np.int64), np.asarray(down & ~wait, dtype=np.bool_)


def decide_tite_boin(design: TITEBOIN, data: DoseArrays) -> ArrayDecision:
    """``TITEBOIN._decide`` for every trial with at least one patient, at its time
    ``data.patients.now`` (rule order in the module docstring)."""
    num, rows = data.num_doses, data.rows
    n, y, d = data.n, data.tox, data.current
    total = n.sum(axis=0)
    be, bd, bel, bsafe = boin_boundary_arrays(design, max(design.max_n, int(total.max())))

    # 1. elimination: the lowest dose meeting the rule eliminates it and every higher dose
    elim = upward(data.eliminated | (y >= bel[n]))
    stop_elim = elim[0]
    # 2. extra-safe stop at the lowest dose
    if design.extrasafe:
        stop_safe = ~stop_elim & (n[0] >= 3) & (y[0] >= bsafe[n[0]])
    else:
        stop_safe = np.zeros(rows, dtype=np.bool_)
    nd, yd = pick(n, d), pick(y, d)
    c = pick(data.tox_pending, d)
    # 4. the move: plain BOIN without pending outcomes at d, else the TITE rule
    esc = (nd > 0) & (yd <= be[nd])
    dsc = (nd > 0) & ~esc & (yd >= bd[nd])
    action = np.where(esc, ESCALATE, np.where(dsc, DEESCALATE, STAY)).astype(np.int64)
    tox_rule = dsc
    tite = (c > 0) & (nd > 0)
    if tite.any():
        stft = stft_at_current(design, data)
        t_action, t_down = _tite_move(design, d, nd, yd, c, stft, be, bd)
        action = np.where(tite, t_action, action)
        tox_rule = np.where(tite, t_down, tox_rule)
    # the dose range and eliminated doses block the move (-> stay, a ".stay" rule)
    up_ok = (d < num - 1) & ~pick(elim, np.minimum(d + 1, num - 1))
    blocked = ((action == ESCALATE) & ~up_ok) | ((action == DEESCALATE) & (d == 0))
    action = np.where(blocked, STAY, action)
    tox_rule = tox_rule & ~blocked
    nxt = d + (action == ESCALATE) - (action == DEESCALATE)
    # 3. the current dose eliminated: to the highest dose not eliminated
    cur_elim = pick(elim, d)
    if cur_elim.any():
        nxt = np.where(cur_elim, np.argmax(elim, axis=0) - 1, nxt)
        action = np.where(cur_elim, DEESCALATE, action)
        tox_rule = tox_rule | cur_elim
    # 5. n_earlystop (the decision keeps the dose), 6. maximum sample size (also instead of a
    # suspension)
    action, nxt, tox_rule, elim = boin_stops(
        design, action, nxt, tox_rule, elim, nd, total, stop_elim, stop_safe
    )
    return ArrayDecision(action.astype(np.int64), np.asarray(nxt, dtype=np.int64), elim, tox_rule)


def select_tite_boin(design: TITEBOIN, data: DoseArrays) -> IntArray:
    """``TITEBOIN.select``: BOIN's ``select.mtd`` on complete data
    (:func:`~doseladder.core.designs.arrays.boin.select_boin`); 1-based, 0 = no MTD."""
    return select_boin(design, data)
