"""Keyboard, mTPI-2 and i3+3 for many trials at once: :func:`decide_interval`,
:func:`select_interval`.

The array form of :func:`~doseladder.core.designs.interval_rules.interval_decision` (the shared
conduct, see that module) with the design's own ``letter(n, y)``, which is tabulated once per
design from the scalar function (so a rule lives in one place).  Selection is BOIN's
``select.mtd`` (:func:`~doseladder.core.designs.arrays.boin.select_boin`), which Keyboard's
``select.mtd.kb`` and FIND's ``select_mtd`` are.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from doseladder.core.designs.arrays.boin import select_boin
from doseladder.core.designs.arrays.interface import (
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP,
    SUSPEND,
    ArrayDecision,
    DoseArrays,
    IntArray,
    pick,
    upward,
)
from doseladder.core.designs.boin import posterior_overdose

if TYPE_CHECKING:
    from doseladder.core.designs.interval_rules import IntervalDesign

__all__ = ["decide_interval", "select_interval"]

_CODE = {"E": 0, "S": 1, "D": 2, "DU": 3}


@lru_cache(maxsize=64)
def _tables(design: IntervalDesign, size: int) -> tuple[IntArray, IntArray, IntArray]:
    """letter codes [n, y], elimination boundary (smallest y with Pr > cutoff, n >= 3) and
    the extra-safe flag table, for n = 0..size."""
    codes = np.full((size + 1, size + 1), _CODE["S"], dtype=np.int64)
    for n in range(1, size + 1):
        for y in range(n + 1):
            codes[n, y] = _CODE[design.letter(n, y)]
    big = 10**6
    belim = np.full(size + 1, big, dtype=np.int64)
    bsafe = np.full(size + 1, big, dtype=np.int64)
    c = design.conduct()
    for n in range(3, size + 1):
        for y in range(n + 1):
            if posterior_overdose(n, y, c.target) > c.cutoff_eli:
                belim[n] = y
                break
        if c.extrasafe and posterior_overdose(n, n, c.target) > c.cutoff_eli:
            for y in range(n + 1):
                if posterior_overdose(n, y, c.target) > c.cutoff_eli - c.offset:
                    bsafe[n] = y
                    break
    for arr in (codes, belim, bsafe):
        arr.setflags(write=False)
    return codes, belim, bsafe


def _size(n_max: int) -> int:
    size = 32
    while size < n_max:
        size *= 2
    return size


def decide_interval(design: IntervalDesign, data: DoseArrays) -> ArrayDecision:
    """:func:`~doseladder.core.designs.interval_rules.interval_decision` for every trial with
    at least one patient (pending outcomes suspend, as ``IntervalDesign._interval_decide``)."""
    c = design.conduct()
    num, rows = data.num_doses, data.rows
    n, y, d = data.n, data.tox, data.current
    codes, belim, bsafe = _tables(design, _size(max(c.max_n, int(n.max(initial=0)))))
    total = n.sum(axis=0)
    pending = data.tox_pending.sum(axis=0) > 0
    prior_c = upward(data.eliminated)
    nd, yd = pick(n, d), pick(y, d)

    early_first = (nd >= c.n_earlystop) if c.earlystop_first else np.zeros(rows, dtype=bool)
    elim = prior_c | upward(y >= belim[n])
    stop_elim = ~early_first & elim[0]
    stop_safe = (
        ~early_first & ~stop_elim & (d == 0) & (n[0] >= 3) & (y[0] >= bsafe[n[0]])
        if c.extrasafe
        else np.zeros(rows, dtype=bool)
    )
    cur_elim = pick(elim, d)
    lowest_elim = np.argmax(elim, axis=0)
    letter = np.where(nd > 0, codes[nd, yd], _CODE["S"])
    up_ok = (d < num - 1) & ~pick(elim, np.minimum(d + 1, num - 1))
    esc = (letter == _CODE["E"]) & up_ok
    dsc = (letter >= _CODE["D"]) & (d > 0)
    nxt = np.where(esc, d + 1, np.where(dsc, d - 1, d))
    tox_rule = dsc.copy()
    nxt = np.where(cur_elim, lowest_elim - 1, nxt)
    tox_rule = np.where(cur_elim, True, tox_rule)
    action = np.where(nxt > d, ESCALATE, np.where(nxt < d, DEESCALATE, STAY))
    if c.earlystop_first:
        early = np.zeros(rows, dtype=bool)
    else:
        early = pick(n, np.clip(nxt, 0, num - 1)) >= c.n_earlystop
    stop_max = ~early & (total >= c.max_n)
    tox_rule = tox_rule & ~early & ~stop_max
    action = np.where(early | stop_max, STOP, action)
    # n_earlystop first (Keyboard): stop at the current dose, nothing else evaluated
    action = np.where(early_first, STOP, action)
    nxt = np.where(early_first, d, nxt)
    tox_rule = tox_rule & ~early_first
    elim_out = np.where(early_first[None, :], prior_c, elim)
    safety = stop_elim | stop_safe
    action = np.where(safety, STOP, action)
    nxt = np.where(safety, -1, nxt)
    tox_rule = np.where(safety, True, tox_rule)
    elim_out = np.where(stop_safe[None, :], True, elim_out)
    return ArrayDecision(
        np.where(pending, SUSPEND, action).astype(np.int64),
        np.where(pending, d, nxt).astype(np.int64),
        np.where(pending[None, :], prior_c, elim_out),
        ~pending & tox_rule,
    )


@dataclass(frozen=True)
class _SelectParams:
    """What :func:`select_boin` reads, for an interval design."""

    target: float
    cutoff_eli: float
    max_n: int
    extrasafe: bool
    offset: float
    bound_mtd: bool = False
    lambda_e: float = 0.5  # not used by the selection (select_boin's shared tables need it)
    lambda_d: float = 1.0  # idem (bound_mtd is off)


def select_interval(design: IntervalDesign, data: DoseArrays) -> IntArray:
    """Isotonic ``select.mtd`` for every trial (1-based, 0 = none)."""
    c = design.conduct()
    params = _SelectParams(c.target, c.cutoff_eli, c.max_n, c.extrasafe, c.offset)
    return select_boin(params, data)  # type: ignore[arg-type]
