"""BE-BOIN for many trials at once: :func:`decide_be_boin`, :func:`be_boin_open_arrays`.

The array form of ``BEBOIN._decide`` and of ``BEBOIN.open_for_backfill``
(:mod:`doseladder.core.designs.be_boin`; spec ``backfill.md`` §8), proven equal to them by
random testing (``tests/core/designs/arrays/test_be_boin.py``).  It reuses BF-BOIN's array
functions: :func:`~doseladder.core.designs.arrays.bf_boin.backfill_view` (cohort structure,
responses, complete counts), :func:`~doseladder.core.designs.arrays.bf_boin.bf_boin_tables`
(the core's boundaries tabulated by n) and
:func:`~doseladder.core.designs.arrays.bf_boin.backfill_open_arrays` with BE-BOIN's C2 test.

``data.patients`` holds each trial's patients at its decision time ``now``; a DLT outcome is
pending while ``tox_at > now``; ``data.current`` is the escalation dose.  Follow-up fractions
are min(max(now − entry, 0), W)/W, as in :func:`~doseladder.core.designs.be_boin.dose_data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from doseladder.core.designs.arrays.bf_boin import (
    _highest,
    _size,
    backfill_open_arrays,
    backfill_view,
    bf_boin_tables,
    join_moves,
)
from doseladder.core.designs.arrays.boin import boin_boundary_arrays
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
    from doseladder.core.designs.be_boin import BEBOIN

__all__ = ["TiteView", "be_boin_open_arrays", "decide_be_boin", "tite_view"]

CAT_E, CAT_S, CAT_D = 0, 1, 2


@dataclass(frozen=True, slots=True)
class TiteView:
    """(J, R) per-dose data at each trial's ``now``: treated (backfill included), observed
    DLTs, pending, imputed DLTs, pending patients followed less than ``min_follow_up``·W."""

    n: IntArray
    y: IntArray
    c: IntArray
    imputed: FloatArray
    short: IntArray


def tite_view(design: BEBOIN, data: DoseArrays) -> TiteView:
    if data.patients is None:
        raise InputError("patients", "BE-BOIN needs each trial's patients (backfill flags, times)")
    pts = data.patients
    num, rows = data.num_doses, data.rows
    W = float(design.tox_window)
    valid = pts.dose < num
    now = pts.now[:, None]
    known = valid & (pts.tox_at <= now)
    pending = valid & ~known
    dlt = known & pts.tox
    frac = np.minimum(np.maximum(now - pts.entry, 0.0), W) / W
    dose_c = np.where(valid, pts.dose, num)
    base = (np.arange(rows) * (num + 1))[:, None] + dose_c
    length = rows * (num + 1)

    def tally(mask: BoolArray, weights: FloatArray | None = None) -> FloatArray:
        w = None if weights is None else weights[mask]
        c = np.bincount(base[mask], weights=w, minlength=length).reshape(rows, num + 1)
        return np.ascontiguousarray(c[:, :num].T)

    n = tally(valid).astype(np.int64)
    y = tally(dlt).astype(np.int64)
    c = tally(pending).astype(np.int64)
    stft = tally(pending, frac)
    short = tally(pending & (frac < design.min_follow_up)).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        pi = (y + design.target / 2) / (n - c + 1)
        imp = np.where(c > 0, pi / (1 - pi) * (c - stft), 0.0)
    return TiteView(n, y, c, np.asarray(imp, dtype=np.float64), short)


def _ratio(num: FloatArray, den: IntArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(den > 0, num / np.maximum(den, 1), 0.0), dtype=np.float64)


def _c2(design: BEBOIN, t: TiteView) -> BoolArray:
    """C2 on imputed estimates: the dose alone or pooled with the next one has p̄ < λd."""
    alone = _ratio(t.y + t.imputed, t.n) < design.lambda_d
    zi = np.zeros((1, t.n.shape[1]), dtype=np.int64)
    n2 = t.n + np.vstack([t.n[1:], zi])
    y2 = t.y + np.vstack([t.y[1:], zi])
    i2 = (0.0 + t.imputed) + np.vstack([t.imputed[1:], zi.astype(np.float64)])
    pair = _ratio(y2 + i2, n2) < design.lambda_d
    return np.asarray(alone | pair, dtype=np.bool_)


def be_boin_open_arrays(design: BEBOIN, data: DoseArrays) -> BoolArray:
    """(J, R) doses open for backfill (``BEBOIN.open_for_backfill``)."""
    return backfill_open_arrays(design, data, ok=_c2(design, tite_view(design, data)))


def decide_be_boin(design: BEBOIN, data: DoseArrays) -> ArrayDecision:
    """``BEBOIN._decide`` for every trial with at least one patient (module docstring)."""
    v = backfill_view(design, data)
    t = tite_view(design, data)
    num, rows = data.num_doses, data.rows
    cols = np.arange(rows)
    d = data.current.astype(np.int64)
    jj = np.arange(num)[:, None]
    elim0 = upward(data.eliminated)
    size = _size(int(t.n.sum(axis=0).max(initial=0)) + 1)
    be, bd, bel = bf_boin_tables(design, size)
    lam_e, lam_d = design.lambda_e, design.lambda_d

    action = np.full(rows, STAY, dtype=np.int64)
    nxt = d.copy()
    deesc = np.zeros(rows, dtype=np.bool_)
    capped = np.zeros(rows, dtype=np.bool_)  # decisions that go through BFBOIN._cap
    done = np.zeros(rows, dtype=np.bool_)

    def put(
        mask: BoolArray, act: int, to: IntArray | int, tox: bool = False, cap: bool = True
    ) -> None:
        m = mask & ~done
        action[m] = act
        nxt[m] = to[m] if isinstance(to, np.ndarray) else to
        deesc[m] = tox
        capped[m] = cap
        done[m] = True

    # cohort not full; final follow-up after max_n
    join = v.cohort_k != 0
    j_act, j_nxt = join_moves(elim0, d)
    for act in (STAY, DEESCALATE, STOP):
        put(join & (j_act == act), act, j_nxt, cap=False)
    final = (v.n_esc >= design.max_n) & ~elim0[d, cols] & v.cohort_pending
    put(final, SUSPEND, d, cap=False)
    keep0 = done.copy()

    # elimination at every dose (pending = no DLT)
    reach = (t.n > 0) & (t.y >= bel[t.n])
    elim = elim0 | upward(reach)
    put(elim[0], STOP, -1, tox=True, cap=False)
    first = np.argmax(elim, axis=0)
    put(elim[d, cols], DEESCALATE, first - 1, tox=True)
    nd, yd, cd = t.n[d, cols], t.y[d, cols], t.c[d, cols]
    put(nd == 0, STAY, d)

    # the current dose: TITE-BOIN imputation rule
    p_alone = _ratio(t.y + t.imputed, t.n)
    pd_ = p_alone[d, cols]
    nd1 = np.maximum(nd, 1)
    boin_code = np.where(yd <= be[nd], CAT_E, np.where(yd >= bd[nd], CAT_D, CAT_S))
    certain = yd >= bd[nd]
    sus = (cd > 0) & ~certain & (cd > design.max_pending_ratio * nd)
    below = yd / nd1 < design.target
    imp_code = np.where(
        below,
        np.where(pd_ <= lam_e, CAT_E, CAT_S),
        np.where(pd_ >= lam_d, CAT_D, CAT_S),
    )
    cat_d = np.where(cd == 0, boin_code, np.where(certain, CAT_D, imp_code))
    put(sus, SUSPEND, d, cap=False)

    # lower doses and the conflict anchor
    cat = np.where(p_alone <= lam_e, CAT_E, np.where(p_alone >= lam_d, CAT_D, CAT_S))
    lower = jj < d[None, :]
    not_e = lower & (cat != CAT_E)
    is_d = lower & (cat == CAT_D)
    conf_a = (cat_d == CAT_E) & not_e.any(axis=0)
    conf_b = (cat_d != CAT_E) & is_d.any(axis=0)
    conflict = conf_a | conf_b
    mask = np.where(conf_a[None, :], not_e, is_d)
    if design.conflict_dose == "highest":
        bstar = _highest(mask)
    else:
        bstar = np.where(mask.any(axis=0), np.argmax(mask, axis=0), -1)

    in_pool = (jj >= bstar[None, :]) & (jj <= d[None, :])
    cum_n = np.cumsum(np.where(in_pool, t.n, 0), axis=0)
    cum_y = np.cumsum(np.where(in_pool, t.y, 0), axis=0)
    cum_i = np.cumsum(np.where(in_pool, t.imputed, 0.0), axis=0)
    cum_p = _ratio(cum_y + cum_i, cum_n)
    pool_p = cum_p[d, cols]

    # escalate-or-stay*, stay*, dose-1 stay
    can_up = (d < num - 1) & ~elim[np.minimum(d + 1, num - 1), cols]
    gate = (cd > 0) & ((t.short[d, cols] > 0) | (nd - cd < design.min_completed))
    early = nd >= design.n_earlystop
    safe_stop = np.zeros(rows, dtype=np.bool_)
    if design.extrasafe:
        bsafe = boin_boundary_arrays(design, size)[3]
        n1, y1 = v.n[0], v.tox[0]
        safe_stop = (n1 >= 3) & (y1 >= bsafe[n1])

    def escalate_or_stay(m: BoolArray) -> None:
        put(m & can_up & gate, SUSPEND, d, cap=False)
        put(m & can_up, ESCALATE, d + 1)
        stay_star(m)

    def stay_star(m: BoolArray) -> None:
        put(m & early, STOP, d)
        put(m, STAY, d)

    def dose1_stay(m: BoolArray) -> None:
        put(m & safe_stop, STOP, -1, tox=True, cap=False)
        stay_star(m)

    plain = ~conflict
    escalate_or_stay(plain & (cat_d == CAT_E))
    stay_star(plain & (cat_d == CAT_S))
    dose1_stay(plain & (cat_d == CAT_D) & (d == 0))
    put(plain & (cat_d == CAT_D), DEESCALATE, d - 1, tox=True)

    escalate_or_stay(conflict & (pool_p <= lam_e))
    pool_down = conflict & (pool_p >= lam_d)
    k_best = _highest(in_pool & (cum_p < lam_d))
    put(pool_down & (k_best == d), STAY, d)
    put(pool_down & (k_best >= 0), DEESCALATE, k_best)
    put(pool_down, DEESCALATE, np.maximum(bstar - 1, 0))
    stay_star(conflict)

    # BFBOIN._cap: never an eliminated next dose, then max_n
    has_elim = elim.any(axis=0)
    over = capped & (action != STOP) & has_elim & (nxt >= first) & (nxt >= 0)
    nxt = np.where(over, first - 1, nxt)
    gone = over & (nxt < 0)
    action = np.where(over & ~gone, np.where(nxt < d, DEESCALATE, STAY), action)
    action = np.where(gone, STOP, action)
    nxt = np.where(gone, -1, nxt)
    maxed = capped & ~gone & (action != STOP) & (v.n_esc >= design.max_n)
    action = np.where(maxed, STOP, action)
    deesc = deesc & ~maxed
    out_elim = np.where(keep0[None, :], elim0, elim)
    return ArrayDecision(
        action.astype(np.int64), nxt.astype(np.int64), np.asarray(out_elim, dtype=np.bool_), deesc
    )
