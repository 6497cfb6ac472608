"""BOIN's rules for many trials at once: :func:`decide_boin` and :func:`select_boin`.

The array form of :func:`~doseladder.core.designs.boin.boin_framework_decision` with
:func:`~doseladder.core.designs.boin.boin_move` (``BOIN._decide``, spec §1.3) and of
:func:`~doseladder.core.select_mtd.select_mtd` (spec §1.4).  The integer boundaries come from the
core's scalar functions (:func:`boin_boundary_arrays`), so a boundary is computed in one place.
Shared by BOIN and TITE-BOIN (whose final selection is BOIN's ``select.mtd``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

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
from doseladder.core.designs.boin import BoinParameters, b_d, b_e, b_elim, posterior_overdose
from doseladder.core.isotonic import pava_arrays

__all__ = ["NO_BOUNDARY", "BoinTables", "boin_boundary_arrays", "decide_boin", "select_boin"]

#: an unreachable count, standing for R's ``NA`` boundary
NO_BOUNDARY = 10**6

BoinTables = tuple[IntArray, IntArray, IntArray, IntArray]


def _first_posterior_above(n: int, target: float, cutoff: float) -> int:
    """Smallest y in 0..n with Pr(p > φ | y of n) > ``cutoff`` (``NO_BOUNDARY`` if none)."""
    for y in range(n + 1):
        if posterior_overdose(n, y, target) > cutoff:
            return y
    return NO_BOUNDARY


@lru_cache(maxsize=128)
def _selection_elimination(design: BoinParameters, size: int) -> IntArray:
    """``select_mtd``'s elimination boundary by n (n >= 3; y from 0, as the R ``select.mtd``)."""
    out = np.full(size + 1, NO_BOUNDARY, dtype=np.int64)
    for n in range(3, size + 1):
        out[n] = _first_posterior_above(n, design.target, design.cutoff_eli)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=128)
def _tables(design: BoinParameters, size: int) -> BoinTables:
    be = np.zeros(size + 1, dtype=np.int64)
    bd = np.full(size + 1, NO_BOUNDARY, dtype=np.int64)
    bel = np.full(size + 1, NO_BOUNDARY, dtype=np.int64)
    bsafe = np.full(size + 1, NO_BOUNDARY, dtype=np.int64)
    be[0] = -1
    extrasafe = bool(getattr(design, "extrasafe", False))
    for n in range(1, size + 1):
        el = b_elim(n, design.target, design.cutoff_eli)
        be[n] = b_e(n, design.lambda_e)
        bd[n] = b_d(n, design.lambda_d, el)
        if el is not None:
            bel[n] = el
        if extrasafe and n >= 3:
            bsafe[n] = _first_posterior_above(n, design.target, design.cutoff_eli - design.offset)
    for arr in (be, bd, bel, bsafe):
        arr.setflags(write=False)
    return be, bd, bel, bsafe


def _size(max_n: int) -> int:
    size = 32
    while size < max_n:
        size *= 2
    return size


def boin_boundary_arrays(design: BoinParameters, max_n: int) -> BoinTables:
    """b_e, b_d, b_elim and the extra-safe stop boundary for n = 0..(at least) ``max_n``
    (``NA`` -> :data:`NO_BOUNDARY`), read-only.

    The extra-safe boundary is the smallest y (from 0) with Pr(p₁ > φ | y of n) >
    ``cutoff_eli − offset`` for n ≥ 3, the same posterior comparison as ``get.oc`` and the core
    (:func:`~doseladder.core.designs.boin.posterior_overdose`); for extreme settings y = 0 can
    qualify, which the y ≥ 1 table of ``extrasafe_stop_boundary`` would miss.
    """
    return _tables(design, _size(max_n))


def decide_boin(design: BoinParameters, data: DoseArrays) -> ArrayDecision:
    """``BOIN._decide`` (complete data, spec §1.3) for every trial with at least one patient.

    Rule order as :func:`~doseladder.core.designs.boin.boin_framework_decision`: any pending
    outcome suspends; elimination (every dose, lowest first, plus carried eliminations) and
    the stop when dose 1 is eliminated; the extra-safe stop; the current dose eliminated ->
    the highest dose not eliminated; the move, blocked at the range and at eliminated doses;
    ``n_earlystop`` when the rule keeps the dose; the maximum sample size.
    """
    num, rows = data.num_doses, data.rows
    n, y, d = data.n, data.tox, data.current
    total = n.sum(axis=0)
    be, bd, bel, bsafe = boin_boundary_arrays(design, max(design.max_n, int(total.max())))
    pending: BoolArray = np.asarray(data.tox_pending.any(axis=0), dtype=np.bool_)
    prior_c = upward(data.eliminated)

    # 1. elimination: the lowest dose meeting the rule eliminates it and every higher dose
    elim = prior_c | upward(y >= bel[n])
    stop_elim = elim[0]
    # 2. extra-safe stop at the lowest dose
    if getattr(design, "extrasafe", False):
        stop_safe = ~stop_elim & (n[0] >= 3) & (y[0] >= bsafe[n[0]])
    else:
        stop_safe = np.zeros(rows, dtype=np.bool_)
    nd, yd = pick(n, d), pick(y, d)
    # 3. the current dose eliminated: to the highest dose not eliminated
    cur_elim = pick(elim, d)
    # 4. the move, blocked at the range and at eliminated doses
    up_ok = (d < num - 1) & ~pick(elim, np.minimum(d + 1, num - 1))
    esc = (nd > 0) & (yd <= be[nd])
    dsc = (nd > 0) & ~esc & (yd >= bd[nd])
    nxt = np.where(esc & up_ok, d + 1, np.where(dsc & (d > 0), d - 1, d))
    tox_rule = dsc & (d > 0)
    if cur_elim.any():
        nxt = np.where(cur_elim, np.argmax(elim, axis=0) - 1, nxt)
        tox_rule = tox_rule | cur_elim
    action = np.where(nxt > d, ESCALATE, np.where(nxt < d, DEESCALATE, STAY))
    # 5. n_earlystop (the decision keeps the dose), 6. maximum sample size
    action, nxt, tox_rule, elim = boin_stops(
        design, action, nxt, tox_rule, elim, nd, total, stop_elim, stop_safe
    )
    if pending.any():
        action = np.where(pending, SUSPEND, action)
        nxt = np.where(pending, d, nxt)
        elim = np.where(pending[None, :], prior_c, elim)
        tox_rule = tox_rule & ~pending
    return ArrayDecision(action.astype(np.int64), nxt.astype(np.int64), elim, tox_rule)


def select_boin(design: BoinParameters, data: DoseArrays, *, carried: bool = True) -> IntArray:
    """``select.mtd`` (spec §1.4; :func:`~doseladder.core.select_mtd.select_mtd`) for every
    trial on complete DLT counts; 1-based, 0 = no MTD.

    ``carried``: exclude ``data.eliminated`` (closed upwards), as ``select_mtd(...,
    eliminated=state.eliminated)``; the BOIN conduct's own eliminations are re-derived from the
    final data either way.
    """
    n, y = data.n, data.tox
    size = _size(max(design.max_n, int(n.max(initial=0))))
    bsafe = _tables(design, size)[3]
    bsel = _selection_elimination(design, size)
    # 1. elimination recomputed from the final data (n >= 3 is built into the table)
    hit = y >= bsel[n]
    if carried:
        hit = hit | data.eliminated
    elim = upward(hit)
    if getattr(design, "extrasafe", False):
        elim = elim | ((n[0] >= 3) & (y[0] >= bsafe[n[0]]))[None, :]
    adm = (n > 0) & ~elim
    none = elim[0] | ~adm.any(axis=0)
    # 3.-5. weighted isotonic estimates with the tie-break
    a = y + 0.05
    b = n - y + 0.05
    tot = n + 0.1
    phat = a / tot
    var = a * b / (tot**2 * (tot + 1))
    iso = pava_arrays(phat, np.where(adm, 1.0 / var, 1.0), adm)
    iso = iso + np.cumsum(adm, axis=0) * 1e-10
    # 6.-7. closest to the target (first on ties), optionally among p̃ <= λd
    dist = np.where(adm, np.abs(iso - design.target), np.inf)
    if design.bound_mtd:
        ok: BoolArray = adm & (iso <= design.lambda_d)
        none = none | ~ok.any(axis=0)
        dist = np.where(ok, dist, np.inf)
    chosen = np.argmin(dist, axis=0) + 1
    return np.asarray(np.where(none, 0, chosen), dtype=np.int64)


def boin_stops(
    design: Any,
    action: IntArray,
    nxt: IntArray,
    tox_rule: BoolArray,
    elim: BoolArray,
    nd: IntArray,
    total: IntArray,
    stop_elim: BoolArray,
    stop_safe: BoolArray,
) -> tuple[IntArray, IntArray, BoolArray, BoolArray]:
    """BOIN's stops on arrays (shared by BOIN and TITE-BOIN): ``n_earlystop`` patients at a
    dose the rules keep, the maximum sample size, then the safety stops (every dose eliminated,
    extra-safe stop), which come first."""
    early = (action == STAY) & (nd >= design.n_earlystop)
    stop_max = ~early & (total >= design.max_n)
    tox_rule = tox_rule & ~early & ~stop_max
    action = np.where(early | stop_max, STOP, action)
    # the safety stops come first
    safety = stop_elim | stop_safe
    if safety.any():
        action = np.where(safety, STOP, action)
        nxt = np.where(safety, -1, nxt)
        tox_rule = tox_rule | safety  # boin.eliminate / boin.extrasafe_stop
        elim = elim | stop_safe[None, :]
    return action, nxt, tox_rule, elim
