"""Keyboard, mTPI-2 and i3+3 for many trials at once: :func:`decide_interval`,
:func:`select_interval`.

The array form of :func:`~doseladder.core.designs.interval_rules.interval_decision` (the shared
conduct, see that module) with the design's own ``letter(n, y)``, which is tabulated once per
design from the scalar function (so a rule lives in one place); the conduct is BOIN's compiled
:func:`~doseladder.core.designs.arrays.boin.decide_trial` with the interval options.
Selection is BOIN's ``select.mtd`` (:func:`~doseladder.core.designs.arrays.boin.select_boin`),
which Keyboard's ``select.mtd.kb`` and FIND's ``select_mtd`` are.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from doseladder.core.designs.arrays.boin import (
    EARLY_AT_NEXT,
    EARLY_FIRST,
    conduct_table,
    decide_columns,
    select_boin,
)
from doseladder.core.designs.arrays.interface import ArrayDecision, DoseArrays, IntArray
from doseladder.core.designs.boin import posterior_overdose

if TYPE_CHECKING:
    from doseladder.core.designs.interval_rules import IntervalDesign

__all__ = [
    "LETTER_CODES",
    "decide_interval",
    "interval_conduct_tables",
    "interval_select_params",
    "letter_codes",
    "select_interval",
]

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


def letter_codes(design: IntervalDesign, n_max: int) -> IntArray:
    """The design's ``letter(n, y)`` tabulated for n, y = 0..(at least) ``n_max`` (read-only):
    ``LETTER_CODES`` E = 0, S = 1, D = 2, DU = 3; n = 0 and y > n hold S (undefined)."""
    return _tables(design, _size(n_max))[0]


#: the codes of :func:`letter_codes`
LETTER_CODES = dict(_CODE)


def _size(n_max: int) -> int:
    size = 32
    while size < n_max:
        size *= 2
    return size


@lru_cache(maxsize=64)
def _conduct(design: IntervalDesign, size: int) -> IntArray:
    c = design.conduct()
    codes, belim, bsafe = _tables(design, size)
    return conduct_table(
        codes, belim, bsafe,
        extrasafe=c.extrasafe, safe_at_dose1=True,
        early=EARLY_FIRST if c.earlystop_first else EARLY_AT_NEXT,
        n_earlystop=c.n_earlystop, max_n=c.max_n,
    )  # fmt: skip


def interval_conduct_tables(design: IntervalDesign, max_n: int) -> IntArray:
    """The design's :func:`~doseladder.core.designs.arrays.boin.conduct_table` for n =
    0..(at least) ``max_n``: its ``letter(n, y)`` tabulated, the elimination and extra-safe
    boundaries, the extra-safe stop only at dose 1, and ``n_earlystop`` first (Keyboard) or
    at the dose the rules give."""
    return _conduct(design, _size(max_n))


def decide_interval(design: IntervalDesign, data: DoseArrays) -> ArrayDecision:
    """:func:`~doseladder.core.designs.interval_rules.interval_decision` for every trial with
    at least one patient (pending outcomes suspend, as ``IntervalDesign._interval_decide``):
    the compiled :func:`~doseladder.core.designs.arrays.boin.decide_trial` with the design's
    tables."""
    c = design.conduct()
    t = interval_conduct_tables(design, max(c.max_n, int(data.n.max(initial=0))))
    pending = np.asarray(data.tox_pending.sum(axis=0) > 0, dtype=np.bool_)
    action, nxt, tox, elim = decide_columns(
        np.asarray(data.n, dtype=np.int64),
        np.asarray(data.tox, dtype=np.int64),
        np.asarray(data.current, dtype=np.int64),
        np.asarray(data.eliminated, dtype=np.bool_),
        pending,
        t,
    )
    return ArrayDecision(action, nxt, elim, tox)


def interval_select_params(design: IntervalDesign) -> _SelectParams:
    """What :func:`select_boin` reads, for an interval design."""
    c = design.conduct()
    return _SelectParams(c.target, c.cutoff_eli, c.max_n, c.extrasafe, c.offset)


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
    return select_boin(interval_select_params(design), data)  # type: ignore[arg-type]
