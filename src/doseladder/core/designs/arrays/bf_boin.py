"""BF-BOIN for many trials at once: :func:`decide_bf_boin`, :func:`backfill_open_arrays`,
:func:`assign_backfill_arrays`, :func:`select_bf_boin`.

The array form of ``BFBOIN._decide``, :func:`~doseladder.core.designs.bf_boin.backfill_open`,
:func:`~doseladder.core.designs.bf_boin.assign_backfill` and ``BFBOIN.select`` (spec
``backfill.md`` §3-§5; bfboin 0.1.1).  The boundaries are the core's scalar ``_be`` / ``_bd`` /
``_belim`` tabulated by n (:func:`bf_boin_tables`), so a boundary is computed in one place.

Each trial's patients come in ``data.patients``
(:class:`~doseladder.core.designs.arrays.PatientArrays`, with ``backfill`` flags): at ``now`` a
DLT outcome is complete when ``tox_at <= now`` and a response is visible when ``eff`` and
``eff_at <= now``.  ``data.current`` is the *escalation* dose (the dose of the escalation
cohort, not of the last backfill patient).  Complete counts N_j, Y_j are escalation plus
backfill patients with a complete outcome; ``data.n`` (every enrolled patient) is not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from doseladder.core.designs.arrays.backfill_cap import cap_allows_arrays
from doseladder.core.designs.arrays.boin import NO_BOUNDARY, boin_boundary_arrays, select_boin
from doseladder.core.designs.arrays.interface import (
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP,
    SUSPEND,
    ArrayDecision,
    BoolArray,
    DoseArrays,
    FloatArray,
    IntArray,
    upward,
)
from doseladder.core.errors import InputError

if TYPE_CHECKING:
    from doseladder.core.designs.bf_boin import BFBOIN

__all__ = [
    "BackfillView",
    "assign_backfill_arrays",
    "backfill_open_arrays",
    "backfill_view",
    "bf_boin_tables",
    "decide_bf_boin",
    "select_bf_boin",
]

#: dose categories of §3
CAT_E, CAT_S, CAT_D, CAT_X = 0, 1, 2, 3


@lru_cache(maxsize=64)
def bf_boin_tables(design: BFBOIN, size: int) -> tuple[IntArray, IntArray, IntArray]:
    """b_e, b_d and b_elim for n = 0..``size`` from the design's scalar boundaries (``NA`` ->
    :data:`~doseladder.core.designs.arrays.boin.NO_BOUNDARY`), read-only."""
    be = np.zeros(size + 1, dtype=np.int64)
    bd = np.zeros(size + 1, dtype=np.int64)
    bel = np.full(size + 1, NO_BOUNDARY, dtype=np.int64)
    for n in range(size + 1):
        be[n] = design._be(n)
        bd[n] = design._bd(n)
        el = design._belim(n)
        if el is not None:
            bel[n] = el
    for arr in (be, bd, bel):
        arr.setflags(write=False)
    return be, bd, bel


def _size(n: int) -> int:
    size = 32
    while size < n:
        size *= 2
    return size


@dataclass(frozen=True, slots=True)
class BackfillView:
    """What the BF-BOIN rules read from each trial's patients at its decision time.

    Attributes:
        n, tox: (J, R) complete counts N_j and Y_j (escalation + completed backfill).
        enrolled: (J, R) every enrolled patient (pending included; condition C3).
        responded: (J, R) an escalation patient at j has a visible response (C1).
        n_esc: (R,) escalation patients.
        cohort_k: (R,) escalation patients in the current, unfilled cohort (0 = full).
        cohort_pending: (R,) a member of the latest escalation cohort is still pending.
        esc1_n, esc1_y: (R,) complete escalation patients / DLTs at dose 1 (the extra-safe
            rule after pooling).
    """

    n: IntArray
    tox: IntArray
    enrolled: IntArray
    responded: BoolArray
    n_esc: IntArray
    cohort_k: IntArray
    cohort_pending: BoolArray
    esc1_n: IntArray
    esc1_y: IntArray


def backfill_view(design: BFBOIN, data: DoseArrays) -> BackfillView:
    """Tally the patients of every trial at its ``now`` (see :class:`BackfillView`)."""
    if data.patients is None:
        raise InputError("patients", "BF-BOIN needs each trial's patients (backfill flags, times)")
    pts = data.patients
    num, rows = data.num_doses, data.rows
    valid = pts.dose < num
    bf = np.zeros_like(valid) if pts.backfill is None else pts.backfill & valid
    esc = valid & ~bf
    now = pts.now[:, None]
    known = valid & (pts.tox_at <= now)
    dlt = known & pts.tox
    seen = esc & pts.eff & (pts.eff_at <= now)
    dose_c = np.where(valid, pts.dose, num)
    base = (np.arange(rows) * (num + 1))[:, None] + dose_c

    def tally(mask: BoolArray) -> IntArray:
        c = np.bincount(base[mask], minlength=rows * (num + 1)).reshape(rows, num + 1)
        return np.ascontiguousarray(c[:, :num].T).astype(np.int64)

    n_esc = esc.sum(axis=1).astype(np.int64)
    k = n_esc % design.cohort_size
    m = np.where(k > 0, k, design.cohort_size)
    rank = np.cumsum(esc, axis=1)
    in_cohort = esc & (rank > (n_esc - m)[:, None])
    esc1 = esc & known & (pts.dose == 0)
    return BackfillView(
        n=tally(known),
        tox=tally(dlt),
        enrolled=tally(valid),
        responded=tally(seen) > 0,
        n_esc=n_esc,
        cohort_k=k.astype(np.int64),
        cohort_pending=np.asarray((in_cohort & ~known).any(axis=1)),
        esc1_n=esc1.sum(axis=1).astype(np.int64),
        esc1_y=(esc1 & pts.tox).sum(axis=1).astype(np.int64),
    )


def _highest(mask: BoolArray) -> IntArray:
    """Highest dose index where ``mask`` holds (-1 where none)."""
    num = mask.shape[0]
    top = num - 1 - np.argmax(mask[::-1], axis=0)
    return np.asarray(np.where(mask.any(axis=0), top, -1), dtype=np.int64)


def join_moves(elim0: BoolArray, d: IntArray) -> tuple[IntArray, IntArray]:
    """``BFBOIN._join_cohort`` for trials whose escalation cohort is incomplete: stay at ``d``;
    or, when ``d`` was eliminated from outside the design, de-escalate to the highest dose
    below that is not eliminated, or stop (next dose -1) when there is none."""
    num, rows = elim0.shape
    gone = elim0[d, np.arange(rows)]
    below = _highest(~elim0 & (np.arange(num)[:, None] < d[None, :]))
    action = np.where(gone, np.where(below >= 0, DEESCALATE, STOP), STAY)
    return action.astype(np.int64), np.where(gone, below, d).astype(np.int64)


def decide_bf_boin(design: BFBOIN, data: DoseArrays) -> ArrayDecision:
    """``BFBOIN._decide`` for every trial with at least one patient (module docstring)."""
    v = backfill_view(design, data)
    num, rows = data.num_doses, data.rows
    cols = np.arange(rows)
    d = data.current.astype(np.int64)
    elim0 = upward(data.eliminated)
    nc, yc = v.n, v.tox
    size = _size(int(nc.sum(axis=0).max(initial=0)) + 1)
    be, bd, bel = bf_boin_tables(design, size)
    jj = np.arange(num)[:, None]

    # §3 categories
    cat = np.where(
        yc <= be[nc], CAT_E, np.where(yc >= bel[nc], CAT_X, np.where(yc >= bd[nc], CAT_D, CAT_S))
    )
    nd, yd = nc[d, cols], yc[d, cols]
    cat_d = cat[d, cols]
    if design.three_plus_three:
        cat_d = np.where((nd == 3) & (yd == 1), CAT_S, cat_d)
    lower = jj < d[None, :]
    not_e = lower & (cat != CAT_E)
    d_or_x = lower & (cat >= CAT_D)

    # requested outcome: 0 escalate-or-stay*, 1 stay*, 2 go to ``target``, 3 stop (no MTD),
    # 4 plain stay (no n_earlystop check)
    want = np.full(rows, 1, dtype=np.int64)
    target = d.copy()
    deesc = np.zeros(rows, dtype=bool)
    at1 = d == 0
    # dose 1
    want = np.where(at1 & (cat_d == CAT_E), 0, want)
    want = np.where(at1 & (cat_d == CAT_X), 3, want)
    if design.extrasafe:
        bsafe = boin_boundary_arrays(design, size)[3]
        safe_stop = at1 & (cat_d == CAT_D) & (nd >= 3) & (yd >= bsafe[nd])
        want = np.where(safe_stop, 3, want)
        want = np.where(at1 & (cat_d == CAT_D) & ~safe_stop, 4, want)
    # d > 1
    up = ~at1
    xd = up & (cat_d == CAT_X)
    elim = elim0 | (xd[None, :] & (jj >= d[None, :]))
    conf_a = up & (cat_d == CAT_E) & not_e.any(axis=0)
    conf_b = up & (cat_d != CAT_E) & d_or_x.any(axis=0)
    conflict = conf_a | conf_b
    bstar = np.where(conf_a, _highest(not_e), _highest(d_or_x))
    plain = up & ~conflict
    want = np.where(plain & (cat_d == CAT_E), 0, want)
    plain_down = plain & (cat_d >= CAT_D)
    want = np.where(plain_down, 2, want)
    target = np.where(plain_down, d - 1, target)
    deesc |= plain_down
    # pooling from b* to d
    in_pool = (jj >= bstar[None, :]) & (jj <= d[None, :])
    cum_n = np.cumsum(np.where(in_pool, nc, 0), axis=0)
    cum_y = np.cumsum(np.where(in_pool, yc, 0), axis=0)
    np_, yp = cum_n[d, cols], cum_y[d, cols]
    pool_up = conflict & (yp <= be[np_])
    pool_down = conflict & ~pool_up & (yp >= bd[np_])
    want = np.where(pool_up, 0, want)
    safe_k = in_pool & (cum_y < bd[cum_n])
    k_best = _highest(safe_k)
    has_k = pool_down & (k_best >= 0)
    want = np.where(has_k, 2, want)
    target = np.where(has_k, k_best, target)
    below = pool_down & (k_best < 0) & (bstar >= 1)
    want = np.where(below, 2, want)
    target = np.where(below, bstar - 1, target)
    bottom = pool_down & (k_best < 0) & (bstar == 0)
    stop1 = yc[0] >= bel[nc[0]]
    if design.extrasafe:
        bsafe = boin_boundary_arrays(design, size)[3]
        stop1 = stop1 | ((v.esc1_n >= 3) & (v.esc1_y >= bsafe[v.esc1_n]))
    want = np.where(bottom & stop1, 3, want)
    want = np.where(bottom & ~stop1, 2, want)
    target = np.where(bottom & ~stop1, 0, target)

    # resolve the requested outcome
    can_up = (d < num - 1) & ~elim[np.minimum(d + 1, num - 1), cols]
    escal = (want == 0) & can_up
    star = ((want == 0) & ~can_up) | (want == 1)
    action = np.full(rows, STAY, dtype=np.int64)
    nxt = d.copy()
    action[escal] = ESCALATE
    nxt[escal] = d[escal] + 1
    early = star & (nd >= design.n_earlystop)
    action[early] = STOP
    move = want == 2
    nxt[move] = target[move]
    action[move] = np.where(target[move] < d[move], DEESCALATE, STAY)
    # _cap: never an eliminated next dose, then max_n (stops of kind 3 are final)
    has_elim = elim.any(axis=0)
    first = np.argmax(elim, axis=0)
    over = (want != 3) & has_elim & (nxt >= first)
    nxt = np.where(over, first - 1, nxt)
    gone = over & (nxt < 0)
    action = np.where(over & ~gone, np.where(nxt < d, DEESCALATE, STAY), action)
    action = np.where(gone, STOP, action)
    nxt = np.where(gone, -1, nxt)
    maxed = (want != 3) & ~gone & (action != STOP) & (v.n_esc >= design.max_n)
    action = np.where(maxed, STOP, action)
    deesc = deesc & ~maxed
    stop_all = want == 3
    action = np.where(stop_all, STOP, action)
    nxt = np.where(stop_all, -1, nxt)
    elim = np.where(stop_all[None, :], True, elim)
    deesc |= stop_all

    # cohort not full -> stay; full and pending -> suspend (backfill)
    not_full = v.cohort_k != 0
    waiting = ~not_full & v.cohort_pending
    hold = not_full | waiting
    action = np.where(not_full, STAY, np.where(waiting, SUSPEND, action))
    nxt = np.where(hold, d, nxt)
    elim = np.where(hold[None, :], elim0, elim)
    deesc = deesc & ~hold
    j_act, j_nxt = join_moves(elim0, d)
    action = np.where(not_full, j_act, action)
    nxt = np.where(not_full, j_nxt, nxt)
    return ArrayDecision(
        action.astype(np.int64), nxt.astype(np.int64), np.asarray(elim, dtype=np.bool_), deesc
    )


def backfill_open_arrays(
    design: BFBOIN,
    data: DoseArrays,
    view: BackfillView | None = None,
    ok: BoolArray | None = None,
) -> BoolArray:
    """(J, R) doses open for backfill below each trial's escalation dose (spec §4: C1
    activity, C2 safety alone or pooled with the next dose -- a failing dose closes itself and
    all above --, C3 the cap on enrolled patients, :func:`~doseladder.core.designs.arrays.
    backfill_cap.cap_allows_arrays` with the design's ``cap_rule``; never at or above an
    eliminated dose).

    ``ok`` is the (J, R) C2 test of each dose (alone or pooled with the next one); by default
    BF-BOIN's on complete counts (BE-BOIN passes its imputed estimates)."""
    v = backfill_view(design, data) if view is None else view
    num = data.num_doses
    d = data.current
    jj = np.arange(num)[:, None]
    lower = jj < d[None, :]
    if ok is None:
        nc, yc = v.n, v.tox
        size = _size(int(nc.sum(axis=0).max(initial=0)) + 1)
        bd = bf_boin_tables(design, size)[1]
        n_next = np.vstack([nc[1:], np.zeros((1, nc.shape[1]), dtype=np.int64)])
        y_next = np.vstack([yc[1:], np.zeros((1, yc.shape[1]), dtype=np.int64)])
        ok = (yc < bd[nc]) | (yc + y_next < bd[nc + n_next])
    fail = lower & ~ok
    safe = ~upward(fail)
    if design.activity == "dose":
        active = v.responded
    else:
        active = np.logical_or.accumulate(v.responded, axis=0)
    capped = cap_allows_arrays(v.enrolled, design.n_cap, design.cap_rule)
    return np.asarray(lower & safe & ~upward(data.eliminated) & active & capped, dtype=np.bool_)


def assign_backfill_arrays(
    open_doses: BoolArray, rule: str, u: FloatArray | None = None
) -> IntArray:
    """The backfill dose of each trial (0-based, -1 = none open): the highest / lowest open
    dose, or for ``random`` the open dose number ``floor(u·k)`` (k open doses, ``u`` uniforms),
    as :func:`~doseladder.core.designs.bf_boin.assign_backfill`."""
    any_open = open_doses.any(axis=0)
    if rule == "highest":
        out = _highest(open_doses)
    elif rule == "lowest":
        out = np.where(any_open, np.argmax(open_doses, axis=0), -1)
    elif rule == "random":
        if u is None:
            raise InputError("u", "random backfill assignment needs uniforms")
        k = open_doses.sum(axis=0)
        pos = np.minimum((u * k).astype(np.int64), np.maximum(k - 1, 0))
        hit = open_doses & (np.cumsum(open_doses, axis=0) == (pos + 1)[None, :])
        out = np.where(any_open, np.argmax(hit, axis=0), -1)
    else:
        raise InputError("backfill_assign", f"unknown rule {rule!r}")
    return np.asarray(out, dtype=np.int64)


def select_bf_boin(design: BFBOIN, data: DoseArrays) -> IntArray:
    """BOIN's ``select.mtd`` on escalation plus completed backfill data (``n − tox_pending``),
    excluding carried eliminations (``BFBOIN.select``)."""
    complete = DoseArrays.complete(
        data.n - data.tox_pending, data.tox, data.current, data.eliminated
    )
    return select_boin(design, complete)
