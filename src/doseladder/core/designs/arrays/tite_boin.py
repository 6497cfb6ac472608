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

Compiled (Numba): :func:`decide_tite_trial` is BOIN's compiled framework
(:func:`~doseladder.core.designs.arrays.boin.framework_trial`) around :func:`tite_move`;
:func:`decide_tite_boin` runs it over arrays and the TITE-BOIN kernel calls it trial by trial.

``data.patients`` gives the follow-up of the pending patients at the decision time
``data.patients.now`` (``tox_at > now`` = pending); the per-dose counts are ``data.n`` (every
treated patient), ``data.tox`` (observed DLTs) and ``data.tox_pending``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from doseladder.core.designs.arrays.boin import (
    boin_boundary_arrays,
    boin_conduct_tables,
    framework_trial,
    pack_column,
    select_boin,
    store_column,
    table_move,
)
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
)
from doseladder.core.designs.tite_boin import TITEBOIN
from doseladder.core.errors import InputError
from doseladder.jit import compiled, compiled_inline

__all__ = [
    "decide_tite_boin",
    "decide_tite_trial",
    "select_tite_boin",
    "stft_at_current",
    "stft_trial",
    "tite_parameters",
    "tite_tables",
]

#: the layout of :func:`tite_parameters`
LAMBDA_E, LAMBDA_D, TARGET, MAX_PENDING, ESS_FORM, BLOCK_FEW, WINDOW = 0, 1, 2, 3, 4, 5, 6


def tite_parameters(design: TITEBOIN) -> FloatArray:
    """What :func:`tite_move` reads: ``[λe, λd, target, max_pending, ESS form?,
    block_escalation_few_complete?, tox_window]`` (read-only)."""
    out = np.array(
        [
            design.lambda_e, design.lambda_d, design.target, design.max_pending,
            float(design.form != "imputation"), float(design.block_escalation_few_complete),
            float(design.tox_window),
        ],
        dtype=np.float64,
    )  # fmt: skip
    out.setflags(write=False)
    return out


@lru_cache(maxsize=128)
def _tite_tables(design: TITEBOIN, max_n: int) -> tuple[IntArray, IntArray, FloatArray]:
    return (
        boin_conduct_tables(design, max_n),
        boin_boundary_arrays(design, max_n)[1],
        tite_parameters(design),
    )


def tite_tables(design: TITEBOIN, max_n: int) -> tuple[IntArray, IntArray, FloatArray]:
    """BOIN's conduct table, b_d by n and :func:`tite_parameters`, for n = 0..(at least)
    ``max_n`` -- what :func:`decide_tite_trial` reads."""
    return _tite_tables(design, max_n)


@compiled_inline
def stft_trial(
    dose: IntArray, entry: FloatArray, tox_at: FloatArray, now: float, d: int, window: float,
    row: int, first: int, width: int,
) -> tuple[int, float]:  # fmt: skip
    """The patients of trial ``row`` (columns ``first .. width - 1`` of (R, W) arrays) at dose
    ``d`` whose DLT outcome is pending at ``now`` (``tox_at > now``): their number c and the
    STFT Σ min(now − entry, T)/T, summed in order of entry as the core sums it.  The caller
    may skip (``first`` > 0) leading columns where no outcome is pending (the sum is the
    same: they add nothing)."""
    c = 0
    stft = 0.0
    for k in range(first, width):
        if dose[row, k] == d and tox_at[row, k] > now:
            c += 1
            stft = stft + min(now - entry[row, k], window) / window
    return c, stft


def stft_at_current(design: TITEBOIN, data: DoseArrays) -> FloatArray:
    """STFT = Σ min(now − entry, T)/T over the patients at the current dose whose DLT outcome
    is pending, summed in order of entry as the core sums them (:func:`stft_trial`)."""
    pts = data.patients
    if pts is None:
        if data.tox_pending.any():
            raise InputError("patients", "TITE-BOIN needs the patients with pending outcomes")
        return np.zeros(data.rows)
    return np.asarray(
        _stft_columns(
            np.asarray(pts.dose, dtype=np.int64), np.asarray(pts.entry, dtype=np.float64),
            np.asarray(pts.tox_at, dtype=np.float64), np.asarray(pts.now, dtype=np.float64),
            np.asarray(data.current, dtype=np.int64), float(design.tox_window),
        ),
        dtype=np.float64,
    )  # fmt: skip


@compiled
def _stft_columns(
    dose: IntArray, entry: FloatArray, tox_at: FloatArray, now: FloatArray, current: IntArray,
    window: float,
) -> FloatArray:  # fmt: skip
    rows, width = dose.shape
    out = np.zeros(rows)
    for r in range(rows):
        out[r] = stft_trial(dose, entry, tox_at, now[r], current[r], window, r, 0, width)[1]
    return out


@compiled_inline
def tite_move(
    nd: int, yd: int, c: int, stft: float, d: int, bd: int, params: FloatArray
) -> tuple[int, bool]:
    """``TITEBOIN._move`` where outcomes are pending at the current dose (c > 0, n_d > 0):
    :func:`~doseladder.core.designs.tite_boin.imputation_decision` or
    :func:`~doseladder.core.designs.tite_boin.ess_decision` (the core's expressions in the same
    order); returns (proposed action, toxicity de-escalation rule).  ``bd`` = b_d(n_d)."""
    lam_e, lam_d, target = params[LAMBDA_E], params[LAMBDA_D], params[TARGET]
    r = nd - c
    sus = c > params[MAX_PENDING] * nd
    if params[ESS_FORM] == 0.0:
        certain = yd >= bd
        pi_hat = (yd + target / 2) / (r + 1)
        p_tilde = (yd + pi_hat / (1 - pi_hat) * (c - stft)) / nd
        below = yd / nd < target
        up = not certain and not sus and below and p_tilde <= lam_e
        down = certain or (not sus and not below and p_tilde >= lam_d)
        wait = not certain and sus
    else:
        ess = (nd - c) + stft
        # as NumPy: y/0 = inf, 0/0 = nan (every comparison false)
        mu = yd / ess if ess != 0.0 else (np.inf if yd > 0 else np.nan)
        up = not sus and mu <= lam_e
        down = not sus and not up and mu >= lam_d
        wait = sus or (down and d == 0)  # TITEgBOIN: de-escalation at dose 1 waits
        down = down and d != 0
    if params[BLOCK_FEW] != 0.0 and up and r <= 2:
        wait = True
        up = False
    if wait:
        return SUSPEND, False
    if up:
        return ESCALATE, False
    if down:
        return DEESCALATE, True
    return STAY, False


@compiled_inline
def decide_tite_trial(
    counts: IntArray,
    row: int,
    d: int,
    prior_lowest: int,
    c: int,
    stft: float,
    table: IntArray,
    bd: IntArray,
    params: FloatArray,
) -> tuple[int, int, bool, int]:
    """``TITEBOIN._decide`` of one trial: the BOIN framework
    (:func:`~doseladder.core.designs.arrays.boin.framework_trial`) around the TITE move
    (:func:`tite_move`) while ``c`` outcomes are pending at the current dose, plain BOIN
    (:func:`~doseladder.core.designs.arrays.boin.table_move`) otherwise.  ``counts[row]``:
    patients (pending included) then *observed* DLTs by dose; result as
    :func:`~doseladder.core.designs.arrays.boin.decide_trial`."""
    num = counts.shape[1] // 2
    nd = counts[row, d]
    if c > 0 and nd > 0:
        move, tox = tite_move(nd, counts[row, num + d], c, stft, d, bd[nd], params)
    else:
        move, tox = table_move(counts, row, d, table)
    return framework_trial(counts, row, d, prior_lowest, table, move, tox)


@compiled
def _decide_columns(
    n: IntArray,
    y: IntArray,
    current: IntArray,
    eliminated: BoolArray,
    c: IntArray,
    stft: FloatArray,
    table: IntArray,
    bd: IntArray,
    params: FloatArray,
) -> tuple[IntArray, IntArray, BoolArray, BoolArray]:
    num, rows = n.shape
    action = np.empty(rows, dtype=np.int64)
    nxt = np.empty(rows, dtype=np.int64)
    tox = np.empty(rows, dtype=np.bool_)
    out = np.empty((num, rows), dtype=np.bool_)
    counts = np.empty((rows, 2 * num), dtype=np.int64)
    for r in range(rows):
        prior = pack_column(n, y, eliminated, counts, r)
        a, k, t, low = decide_tite_trial(
            counts, r, current[r], prior, c[r], stft[r], table, bd, params
        )
        store_column(action, nxt, tox, out, r, a, k, t, low)
    return action, nxt, tox, out


def decide_tite_boin(design: TITEBOIN, data: DoseArrays) -> ArrayDecision:
    """``TITEBOIN._decide`` for every trial with at least one patient, at its time
    ``data.patients.now`` (:func:`decide_tite_trial`; rule order in the module docstring)."""
    total = data.n.sum(axis=0)
    table, bd, params = tite_tables(design, max(design.max_n, int(total.max(initial=0))))
    d = np.asarray(data.current, dtype=np.int64)
    c = np.take_along_axis(np.asarray(data.tox_pending, dtype=np.int64), d[None, :], 0)[0]
    stft = stft_at_current(design, data) if c.any() else np.zeros(data.rows)
    action, nxt, tox, elim = _decide_columns(
        np.asarray(data.n, dtype=np.int64), np.asarray(data.tox, dtype=np.int64), d,
        np.asarray(data.eliminated, dtype=np.bool_), c, stft, table, bd, params,
    )  # fmt: skip
    return ArrayDecision(action, nxt, elim, tox)


def select_tite_boin(design: TITEBOIN, data: DoseArrays) -> IntArray:
    """``TITEBOIN.select``: BOIN's ``select.mtd`` on complete data
    (:func:`~doseladder.core.designs.arrays.boin.select_boin`); 1-based, 0 = no MTD."""
    return select_boin(design, data)
