"""BOIN's rules for many trials at once: :func:`decide_boin` and :func:`select_boin`.

The array form of :func:`~doseladder.core.designs.boin.boin_framework_decision` with
:func:`~doseladder.core.designs.boin.boin_move` (``BOIN._decide``, spec §1.3) and of
:func:`~doseladder.core.select_mtd.select_mtd` (spec §1.4).  The integer boundaries come from the
core's scalar functions (:func:`boin_boundary_arrays`), so a boundary is computed in one place.
Shared by BOIN and TITE-BOIN (whose final selection is BOIN's ``select.mtd``).

Compiled (Numba, :func:`doseladder.jit.compiled`): the rules are written once, per trial, in
:func:`decide_trial` (the conduct of the interval family: BOIN, Keyboard, mTPI-2, i3+3, which
differ only in their table of moves by (n, y) and two options of the conduct),
:func:`stops_trial` and :func:`select_trial`.  :func:`decide_boin` / :func:`select_boin` (and
:func:`~doseladder.core.designs.arrays.interval.decide_interval`) run them over the columns
of dose-major arrays; the simulation's compiled cohort loop
(:mod:`doseladder.simulate.kernels.cohort_loop`) calls the very same functions trial by trial.
The design's tables (moves by (n, y), elimination and extra-safe boundaries by n) are built
once per design by the core's scalar functions and cached.
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
    FloatArray,
    IntArray,
)
from doseladder.core.designs.boin import BoinParameters, b_d, b_e, b_elim, posterior_overdose
from doseladder.core.isotonic_compiled import pava_masked
from doseladder.jit import compiled, compiled_inline

__all__ = [
    "EARLY_AT_NEXT",
    "EARLY_FIRST",
    "EARLY_IF_STAY",
    "NO_BOUNDARY",
    "BoinTables",
    "boin_boundary_arrays",
    "boin_conduct_tables",
    "boin_select_tables",
    "boin_stops",
    "conduct_table",
    "decide_boin",
    "decide_columns",
    "decide_trial",
    "framework_trial",
    "select_boin",
    "select_columns",
    "select_table",
    "select_trial",
    "stops_trial",
    "table_move",
]

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


#: the moves of a conduct table by (n, y): escalate, stay, de-escalate (codes >= 2 de-escalate)
MOVE_E, MOVE_S, MOVE_D = 0, 1, 2
#: when ``n_earlystop`` stops the trial: BOIN 2.7.2 (the rule keeps the dose and n_d reaches it),
#: at the dose the rules give (mTPI-2, i3+3), or before any other rule (Keyboard)
EARLY_IF_STAY, EARLY_AT_NEXT, EARLY_FIRST = 0, 1, 2


#: the layout of a conduct table (:func:`conduct_table`): five rule parameters, S = the number
#: of rows (n = 0..S-1), then the elimination boundary, the extra-safe boundary (by n) and the
#: moves (by n * S + y)
EXTRASAFE, SAFE_AT_DOSE1, EARLY_MODE, N_EARLYSTOP, MAX_N, ROWS, HEADER = 0, 1, 2, 3, 4, 5, 6


def conduct_table(
    moves: IntArray,
    elim: IntArray,
    safe: IntArray,
    *,
    extrasafe: bool,
    safe_at_dose1: bool,
    early: int,
    n_earlystop: int,
    max_n: int,
) -> IntArray:
    """What :func:`decide_trial` reads from a design, in one read-only array (one array, so
    that a compiled call costs no more than the rule: Numba counts references per array).

    Args:
        moves: (S, S) the move by (n, y) (``MOVE_*``; n = 0 -> stay).
        elim: (S,) the smallest y eliminating a dose with n patients (``NO_BOUNDARY``: none).
        safe: (S,) the smallest y at dose 1 stopping the trial by the extra-safe rule.
        extrasafe: the extra-safe rule applies; ``safe_at_dose1``: only while at dose 1.
        early: ``EARLY_IF_STAY``, ``EARLY_AT_NEXT`` or ``EARLY_FIRST``.
        n_earlystop, max_n: the stopping parameters.
    """
    size = elim.shape[0]
    head = [extrasafe, safe_at_dose1, early, n_earlystop, max_n, size]
    out = np.concatenate(
        [np.array(head, dtype=np.int64), elim, safe, np.asarray(moves).reshape(-1)]
    ).astype(np.int64)
    out.setflags(write=False)
    return out


#: the layout of a selection table (:func:`select_table`): extrasafe, bound_mtd, target, λd,
#: S = the number of rows (n = 0..S-1), then ``select.mtd``'s elimination boundary and the
#: extra-safe boundary by n
SEL_EXTRASAFE, SEL_BOUND_MTD, SEL_TARGET, SEL_LAMBDA_D, SEL_ROWS, SEL_HEADER = 0, 1, 2, 3, 4, 5


def select_table(
    elim: IntArray, safe: IntArray, *, extrasafe: bool, bound_mtd: bool, target: float,
    lambda_d: float,
) -> FloatArray:  # fmt: skip
    """What :func:`select_trial` reads, in one read-only array: ``select.mtd``'s elimination
    boundary by n (n >= 3), the extra-safe boundary (counts are exact in float64), the flags
    and the target and λd."""
    head = [float(extrasafe), float(bound_mtd), target, lambda_d, float(elim.shape[0])]
    out = np.concatenate([np.array(head, dtype=np.float64), elim, safe]).astype(np.float64)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=128)
def _conduct(design: BoinParameters, size: int) -> IntArray:
    be, bd, bel, bsafe = _tables(design, size)
    moves = np.full((size + 1, size + 1), MOVE_S, dtype=np.int64)
    for n in range(1, size + 1):
        for y in range(n + 1):
            moves[n, y] = MOVE_E if y <= be[n] else MOVE_D if y >= bd[n] else MOVE_S
    return conduct_table(
        moves, bel, bsafe,
        extrasafe=bool(getattr(design, "extrasafe", False)), safe_at_dose1=False,
        early=EARLY_IF_STAY, n_earlystop=design.n_earlystop, max_n=design.max_n,
    )  # fmt: skip


def boin_conduct_tables(design: BoinParameters, max_n: int) -> IntArray:
    """BOIN's :func:`conduct_table` for n = 0..(at least) ``max_n``: the moves are
    ``boin_move``'s comparisons with b_e and b_d, the boundaries :func:`boin_boundary_arrays`."""
    return _conduct(design, _size(max_n))


@lru_cache(maxsize=128)
def _select(design: BoinParameters, size: int) -> FloatArray:
    return select_table(
        _selection_elimination(design, size), _tables(design, size)[3],
        extrasafe=bool(getattr(design, "extrasafe", False)), bound_mtd=design.bound_mtd,
        target=design.target, lambda_d=design.lambda_d,
    )  # fmt: skip


def boin_select_tables(design: BoinParameters, max_n: int) -> FloatArray:
    """BOIN's ``select.mtd`` :func:`select_table` for n = 0..(at least) ``max_n``."""
    return _select(design, _size(max_n))


# ------------------------------------------------------------------ the compiled rules
@compiled_inline
def stops_trial(
    mode: int,
    action: int,
    nxt: int,
    tox_rule: bool,
    nd: int,
    n_next: int,
    n_earlystop: int,
    total: int,
    max_n: int,
    stop_elim: bool,
    stop_safe: bool,
) -> tuple[int, int, bool, bool]:
    """BOIN's stops (shared by BOIN, TITE-BOIN and the interval designs): ``n_earlystop``
    (``EARLY_IF_STAY``: the rules keep the dose and n_d reaches it; ``EARLY_AT_NEXT``: the
    dose the rules give has ``n_earlystop`` patients), the maximum sample size, then the
    safety stops (every dose eliminated, extra-safe stop), which come first.

    Returns ``(action, next dose, toxicity rule, every dose eliminated)``.
    """
    early = False
    if (mode == EARLY_IF_STAY and action == STAY and nd >= n_earlystop) or (
        mode == EARLY_AT_NEXT and n_next >= n_earlystop
    ):
        early = True
    if early or total >= max_n:  # n_earlystop, else the maximum sample size
        action = STOP
        tox_rule = False
    if stop_elim or stop_safe:
        return STOP, -1, True, stop_safe  # boin.eliminate / boin.extrasafe_stop
    return action, nxt, tox_rule, False


@compiled_inline
def decide_trial(
    counts: IntArray, row: int, d: int, prior_lowest: int, pending: bool, table: IntArray
) -> tuple[int, int, bool, int]:
    """One trial's decision by the conduct of :func:`~doseladder.core.designs.boin.
    boin_framework_decision` with :func:`~doseladder.core.designs.boin.boin_move` (BOIN) and
    of :func:`~doseladder.core.designs.interval_rules.interval_decision` (Keyboard, mTPI-2,
    i3+3) with the design's :func:`conduct_table`.

    ``counts[row]``: the trial's patients by dose, then its DLTs by dose (a (R, 2J) array);
    ``d``: the current dose (0-based); ``prior_lowest``: the lowest dose eliminated earlier
    (J = none); ``pending``: an outcome is pending.  Returns ``(action, next dose (-1 =
    none), toxicity rule, lowest eliminated dose (J = none))``.

    Any pending outcome suspends; ``n_earlystop`` first (Keyboard); otherwise the move of the
    table at (n_d, y_d) in :func:`framework_trial`.
    """
    nd = counts[row, d]
    if pending:
        return SUSPEND, d, False, prior_lowest
    if table[EARLY_MODE] == EARLY_FIRST and nd >= table[N_EARLYSTOP]:
        return STOP, d, False, prior_lowest
    move, move_tox = table_move(counts, row, d, table)
    return framework_trial(counts, row, d, prior_lowest, table, move, move_tox)


@compiled_inline
def table_move(counts: IntArray, row: int, d: int, table: IntArray) -> tuple[int, bool]:
    """The move of the design's table at the current dose (n_d, y_d): ``(ESCALATE, STAY or
    DEESCALATE, toxicity de-escalation rule)``; n_d = 0 -> stay."""
    num = counts.shape[1] // 2
    size = table[ROWS]
    move = table[HEADER + 2 * size + counts[row, d] * size + counts[row, num + d]]
    if move == MOVE_E:
        return ESCALATE, False
    if move >= MOVE_D:
        return DEESCALATE, True
    return STAY, False


@compiled_inline
def framework_trial(
    counts: IntArray,
    row: int,
    d: int,
    prior_lowest: int,
    table: IntArray,
    move: int,
    move_tox: bool,
) -> tuple[int, int, bool, int]:
    """The BOIN framework (:func:`~doseladder.core.designs.boin.boin_framework_decision`,
    shared by BOIN, TITE-BOIN and the interval designs) around a proposed ``move`` at the
    current dose (``ESCALATE``, ``STAY``, ``DEESCALATE`` or ``SUSPEND``; ``move_tox``: it is a
    toxicity de-escalation rule).  Arguments and result as :func:`decide_trial`.

    1. elimination: the lowest dose meeting the rule eliminates it and every higher dose (plus
       earlier eliminations); dose 1 eliminated -> stop;  2. the extra-safe stop;  3. the
    current dose eliminated -> the highest dose not eliminated;  4. the move, blocked at the
    dose range and at eliminated doses (-> stay);  5.-6. ``n_earlystop`` and the maximum sample
    size (:func:`stops_trial`), after the safety stops.
    """
    num = counts.shape[1] // 2
    size = table[ROWS]
    nd = counts[row, d]
    # 1. elimination
    lowest = prior_lowest
    total = 0
    for j in range(num):
        nj = counts[row, j]
        total += nj
        if j < lowest and counts[row, num + j] >= table[HEADER + nj]:
            lowest = j
    stop_elim = lowest == 0
    # 2. extra-safe stop at the lowest dose
    stop_safe = False
    if table[EXTRASAFE] != 0 and not stop_elim and (table[SAFE_AT_DOSE1] == 0 or d == 0):
        n1 = counts[row, 0]
        if n1 >= 3 and counts[row, num] >= table[HEADER + size + n1]:
            stop_safe = True
    action = move
    tox_rule = move_tox
    nxt = d
    if d >= lowest:
        # 3. the current dose eliminated: to the highest dose not eliminated
        nxt = lowest - 1
        action = DEESCALATE
        tox_rule = True
    elif move == ESCALATE:
        # 4. the move, blocked at the range and at eliminated doses
        if d < num - 1 and d + 1 < lowest:
            nxt = d + 1
        else:
            action = STAY
            tox_rule = False
    elif move == DEESCALATE:
        if d > 0:
            nxt = d - 1
        else:
            action = STAY
            tox_rule = False
    # 5. n_earlystop, 6. maximum sample size, the safety stops first
    n_next = counts[row, min(max(nxt, 0), num - 1)]
    action, nxt, tox_rule, everything = stops_trial(
        table[EARLY_MODE], action, nxt, tox_rule, nd, n_next, table[N_EARLYSTOP], total,
        table[MAX_N], stop_elim, stop_safe,
    )  # fmt: skip
    if everything:
        lowest = 0
    return action, nxt, tox_rule, lowest


@compiled_inline
def pack_column(n: IntArray, y: IntArray, eliminated: BoolArray, counts: IntArray, r: int) -> int:
    """Copy trial ``r``'s column of dose-major ``(J, R)`` counts into row ``r`` of ``counts``
    (n then y); return its lowest eliminated dose (``J`` when none)."""
    num = n.shape[0]
    prior: int = num
    for j in range(num):
        counts[r, j] = n[j, r]
        counts[r, num + j] = y[j, r]
        if prior == num and eliminated[j, r]:
            prior = j
    return prior


@compiled_inline
def store_column(
    action: IntArray,
    nxt: IntArray,
    tox: BoolArray,
    out: BoolArray,
    r: int,
    a: int,
    k: int,
    t: bool,
    low: int,
) -> None:
    """Write trial ``r``'s decision (action, next dose, toxicity flag, eliminated from
    ``low`` up) into the columns of the result arrays."""
    action[r] = a
    nxt[r] = k
    tox[r] = t
    for j in range(out.shape[0]):
        out[j, r] = j >= low


@compiled
def decide_columns(
    n: IntArray,
    y: IntArray,
    current: IntArray,
    eliminated: BoolArray,
    pending: BoolArray,
    table: IntArray,
) -> tuple[IntArray, IntArray, BoolArray, BoolArray]:
    """:func:`decide_trial` for every column of dose-major ``(J, R)`` arrays."""
    num, rows = n.shape
    action = np.empty(rows, dtype=np.int64)
    nxt = np.empty(rows, dtype=np.int64)
    tox = np.empty(rows, dtype=np.bool_)
    out = np.empty((num, rows), dtype=np.bool_)
    counts = np.empty((rows, 2 * num), dtype=np.int64)
    for r in range(rows):
        prior = pack_column(n, y, eliminated, counts, r)
        a, k, t, low = decide_trial(counts, r, current[r], prior, pending[r], table)
        store_column(action, nxt, tox, out, r, a, k, t, low)
    return action, nxt, tox, out


@compiled_inline
def select_trial(
    counts: IntArray,
    row: int,
    prior_lowest: int,
    table: FloatArray,
    work: FloatArray,
    mask: BoolArray,
    blocks: IntArray,
) -> int:
    """``select.mtd`` (spec §1.4; :func:`~doseladder.core.select_mtd.select_mtd`) of one trial
    on complete DLT counts with the design's :func:`select_table`; 1-based, 0 = no MTD.

    ``counts[row]``: the patients then the DLTs by dose (as :func:`decide_trial`);
    ``prior_lowest``: the lowest dose eliminated earlier (J = none); ``work`` (5, J),
    ``mask`` (J,) and ``blocks`` (J,): work arrays of :func:`pava_masked`.
    """
    num = counts.shape[1] // 2
    size = int(table[SEL_ROWS])
    # 1. elimination recomputed from the final data (n >= 3 is built into the table)
    lowest = prior_lowest
    for j in range(num):
        if j < lowest and counts[row, num + j] >= table[SEL_HEADER + counts[row, j]]:
            lowest = j
    if table[SEL_EXTRASAFE] != 0.0:
        n1 = counts[row, 0]
        if n1 >= 3 and counts[row, num] >= table[SEL_HEADER + size + n1]:
            lowest = 0
    if lowest == 0:
        return 0
    anyadm = False
    for j in range(num):
        mask[j] = False
        nj = counts[row, j]
        if j < lowest and nj > 0:
            mask[j] = True
            anyadm = True
            # 3.-5. weighted isotonic estimates (beta(0.05, 0.05) posterior mean, 1/variance)
            yj = counts[row, num + j]
            a = yj + 0.05
            b = (nj - yj) + 0.05
            tot = nj + 0.1
            work[0, j] = a / tot
            work[1, j] = 1.0 / (a * b / ((tot * tot) * (tot + 1)))
    if not anyadm:
        return 0
    pava_masked(work, mask, blocks)
    # the tie-break, then 6.-7. closest to the target (first on ties), optionally p̃ <= λd
    target, lambda_d = table[SEL_TARGET], table[SEL_LAMBDA_D]
    bound = table[SEL_BOUND_MTD] != 0.0
    best = np.inf
    chosen = 0
    k = 0
    for j in range(num):
        if not mask[j]:
            continue
        k += 1
        est = work[4, j] + k * 1e-10
        if bound and not est <= lambda_d:
            continue
        dist = abs(est - target)
        if dist < best:
            best = dist
            chosen = j + 1
    return chosen


@compiled
def select_columns(n: IntArray, y: IntArray, eliminated: BoolArray, table: FloatArray) -> IntArray:
    """:func:`select_trial` for every column of dose-major ``(J, R)`` arrays."""
    num, rows = n.shape
    out = np.empty(rows, dtype=np.int64)
    counts = np.empty((rows, 2 * num), dtype=np.int64)
    work = np.empty((5, num))
    mask = np.empty(num, dtype=np.bool_)
    blocks = np.empty(num, dtype=np.int64)
    for r in range(rows):
        prior = num
        for j in range(num):
            counts[r, j] = n[j, r]
            counts[r, num + j] = y[j, r]
            if prior == num and eliminated[j, r]:
                prior = j
        out[r] = select_trial(counts, r, prior, table, work, mask, blocks)
    return out


# ------------------------------------------------------------------ the array functions
def decide_boin(design: BoinParameters, data: DoseArrays) -> ArrayDecision:
    """``BOIN._decide`` (complete data, spec §1.3) for every trial with at least one patient
    (:func:`decide_trial` with BOIN's :func:`conduct_table`)."""
    total = data.n.sum(axis=0)
    t = boin_conduct_tables(design, max(design.max_n, int(total.max(initial=0))))
    pending = np.asarray(data.tox_pending.any(axis=0), dtype=np.bool_)
    action, nxt, tox, elim = decide_columns(
        _i64(data.n), _i64(data.tox), _i64(data.current), _b(data.eliminated), pending, t
    )
    return ArrayDecision(action, nxt, elim, tox)


def select_boin(design: BoinParameters, data: DoseArrays, *, carried: bool = True) -> IntArray:
    """``select.mtd`` (spec §1.4; :func:`~doseladder.core.select_mtd.select_mtd`) for every
    trial on complete DLT counts; 1-based, 0 = no MTD (:func:`select_trial`).

    ``carried``: exclude ``data.eliminated`` (closed upwards), as ``select_mtd(...,
    eliminated=state.eliminated)``; the BOIN conduct's own eliminations are re-derived from the
    final data either way.
    """
    n = data.n
    t = boin_select_tables(design, max(design.max_n, int(n.max(initial=0))))
    carried_elim = data.eliminated if carried else np.zeros(n.shape, dtype=np.bool_)
    out = select_columns(_i64(n), _i64(data.tox), _b(carried_elim), t)
    return np.asarray(out, dtype=np.int64)


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
    """BOIN's stops (:func:`stops_trial`, ``EARLY_IF_STAY``) on arrays, for TITE-BOIN:
    ``n_earlystop`` patients at a dose the rules keep, the maximum sample size, then the safety
    stops (every dose eliminated, extra-safe stop), which come first."""
    a, k, t, everything = _stops_columns(
        _i64(action), _i64(nxt), _b(tox_rule), _i64(nd), _i64(total), _b(stop_elim),
        _b(stop_safe), int(design.n_earlystop), int(design.max_n),
    )  # fmt: skip
    return a, k, t, elim | everything[None, :]


@compiled
def _stops_columns(
    action: IntArray,
    nxt: IntArray,
    tox_rule: BoolArray,
    nd: IntArray,
    total: IntArray,
    stop_elim: BoolArray,
    stop_safe: BoolArray,
    n_earlystop: int,
    max_n: int,
) -> tuple[IntArray, IntArray, BoolArray, BoolArray]:
    rows = action.shape[0]
    a_out = np.empty(rows, dtype=np.int64)
    k_out = np.empty(rows, dtype=np.int64)
    t_out = np.empty(rows, dtype=np.bool_)
    e_out = np.empty(rows, dtype=np.bool_)
    for r in range(rows):
        a_out[r], k_out[r], t_out[r], e_out[r] = stops_trial(
            EARLY_IF_STAY, action[r], nxt[r], tox_rule[r], nd[r], nd[r], n_earlystop,
            total[r], max_n, stop_elim[r], stop_safe[r],
        )  # fmt: skip
    return a_out, k_out, t_out, e_out


def _i64(a: Any) -> IntArray:
    return np.asarray(a, dtype=np.int64)


def _b(a: Any) -> BoolArray:
    return np.asarray(a, dtype=np.bool_)
