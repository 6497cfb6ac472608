"""TITE-BOIN12's rules for many trials at once: :func:`decide_tite_boin12`.

The array form of ``TITEBOIN12._decide`` with :func:`~doseladder.core.designs.tite_boin12.
al_summary` (spec ``dose-finding.md`` §4.2-4.4): suspension, then BOIN12's rules
(:func:`~doseladder.core.designs.arrays.boin12.conclude_boin12`) on the approximated-likelihood
statistics.  The pending-outcome statistics (follow-up weights, ESS, imputation, quasi-events
x) are one compiled per-trial loop (:func:`_pending_one_block`) with the core's formulas
(:func:`~doseladder.core.designs.tite_boin12.follow_up_weights`,
:func:`~doseladder.core.designs.tite_boin12.impute_values`,
:func:`~doseladder.core.designs.boin12.expected_utility_values`,
:func:`~doseladder.core.designs.boin12.quasi_events_values`) written as the same scalar
operations.  The final selection is BOIN12's
(:func:`~doseladder.core.designs.arrays.boin12.select_boin12`).

Input: the per-dose counts of :class:`DoseArrays` at the decision time (``tox`` / ``eff`` /
``both`` observed events, ``*_pending`` pending outcomes) and ``data.patients``, which must hold
at least every patient with a pending outcome (patients whose outcomes are all known may be left
out: the counts carry them -- the simulation kernel passes only its recent patients).

Exactness: the sums Σ w and Σ expected utility are formed as ``math.fsum`` forms them (correctly
rounded): each term is split into a multiple of 2^-k (:func:`split_scale`), whose sum is exact,
and a remainder below 2^-k, so the result differs from ``math.fsum`` only if the exact sum lies
within ~1e-28 of a rounding midpoint.  D of a dose with pending outcomes is evaluated with
``scipy.special.betainc(β + n − x, α + x, 1 − u_b/100)`` (the core's ``beta.sf`` goes through
the ten times slower ``betaincc``; the two agree to ~1e-14 relative), and only for the doses
the rules compare; where such a D lies within a relative 1e-12 of another compared D the exact
core formula is used instead, so ties are resolved as in the core (they do occur: three
patients without toxicity and with efficacy pending, before any response, give x = 1.2 exactly,
as three complete "no event" patients do).  The ``"ess"`` toxicity posterior is treated the
same way near its cut-off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
from numba import njit
from scipy import special

from doseladder import jit  # noqa: F401  (sets the source-stamped Numba cache folder)
from doseladder.core.designs.arrays.boin12 import (
    Boin12Stats,
    boin12_constants,
    conclude_boin12,
    desirability_table,
    elimination_flags_arrays,
    suspend_where,
    table_size,
)
from doseladder.core.designs.arrays.interface import (
    ArrayDecision,
    BoolArray,
    DoseArrays,
    FloatArray,
    IntArray,
    PatientArrays,
    pick,
)
from doseladder.core.designs.boin12 import (
    desirability_values,
    prob_eff_below_values,
    prob_tox_above_values,
)
from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.core.errors import InputError

__all__ = [
    "AlStats",
    "al_stats",
    "allowed_pending",
    "decide_tite_boin12",
    "fill_pending",
    "split_scale",
]

_TIE = 1e-12  # fast D / posterior values this close to a tie or cut-off are recomputed exactly

F = TypeVar("F", bound=Callable[..., Any])


def _compiled_numpy_errors(fn: F) -> F:
    """:func:`doseladder.jit.compiled` with numpy's floating-point error model (x/0 gives
    ±inf or NaN, as the numpy form did, instead of raising ZeroDivisionError)."""
    return njit(cache=True, nogil=True, error_model="numpy")(fn)  # type: ignore[return-value]


@lru_cache(maxsize=64)
def allowed_pending(max_pending: float, max_n: int) -> IntArray:
    """Largest number of pending patients allowed among n at the current dose, n = 0..max_n.

    Built with the core's comparison ``pending / n > max_pending`` (suspend), so the integer
    table is exactly the core's rule (the simulation kernel also uses it to find when a
    suspension ends).
    """
    out = np.zeros(max_n + 1, dtype=np.int64)
    for n in range(1, max_n + 1):
        p = min(n, max(0, math.floor(max_pending * n) + 1))
        while p > 0 and p / n > max_pending:
            p -= 1
        out[n] = p
    return out


def split_scale(max_n: int) -> float:
    """2^k such that sums of up to max_n multiples of 2^-k in [0, 1] are exact in float64."""
    return float(2 ** (52 - int(max_n).bit_length()))


def _desirability_fast(design: TITEBOIN12, x: FloatArray, n: IntArray) -> FloatArray:
    """D = 1 − I_{u_b/100}(α + x, β + n − x) via I_{1 − u_b/100}(β + n − x, α + x)."""
    a = design.prior_alpha + x
    b = design.prior_beta + n - x
    return np.asarray(special.betainc(b, a, 1.0 - design.u_b / 100.0), dtype=np.float64)


def _desirability_exact(design: TITEBOIN12, x: FloatArray, n: IntArray) -> FloatArray:
    """The core's formula, evaluated once per distinct (n, x) (sorted by n, then x)."""
    nn = n.astype(np.float64).ravel()
    xx = np.asarray(x, dtype=np.float64).ravel()
    order = np.lexsort((xx, nn))
    sn, sx = nn[order], xx[order]
    first = np.ones(order.size, dtype=np.bool_)
    first[1:] = (sn[1:] != sn[:-1]) | (sx[1:] != sx[:-1])
    vals = desirability_values(sx[first], sn[first], design.u_b, design.prior_alpha,
                               design.prior_beta)  # fmt: skip
    out = np.empty(order.size)
    out[order] = vals[np.cumsum(first) - 1]
    return out


def _no_patients(rows: int) -> PatientArrays:
    empty = np.zeros((rows, 0))
    flags = np.zeros((rows, 0), dtype=np.bool_)
    return PatientArrays(
        np.zeros((rows, 0), dtype=np.int64), empty, empty, empty, flags, flags,
        np.full(rows, np.inf),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AlStats:
    """The AL statistics (spec §4.2) of R trials, dose-major.

    Attributes:
        stats: what the BOIN12 rules read (``desir`` NaN where outcomes are pending).
        x: quasi-events with imputed pending outcomes (where outcomes are pending).
        has_pend: the dose has a patient with a pending outcome.
        ess_t, ess_e: effective sample sizes.
    """

    stats: Boin12Stats
    x: FloatArray
    has_pend: BoolArray
    ess_t: FloatArray
    ess_e: FloatArray


def _ess_admissibility(
    design: TITEBOIN12,
    n: IntArray,
    y_t: IntArray,
    y_e: IntArray,
    ess_t: FloatArray,
    ess_e: FloatArray,
) -> tuple[BoolArray, BoolArray]:
    """``pending_admissibility="ess"``: Beta(1 + y, 1 + ESS − y) posteriors."""
    tox_fail = np.zeros(n.shape, dtype=np.bool_)
    eff_fail = np.zeros(n.shape, dtype=np.bool_)
    sel = (n >= 3) & (y_t >= 3) & (ess_t > 0)
    if sel.any():
        yy, ee = y_t[sel], ess_t[sel]
        prob = special.betainc(1.0 + ee - yy, 1.0 + yy, 1.0 - design.phi_t)
        near = np.abs(prob - design.c_t) <= _TIE
        if near.any():
            prob[near] = prob_tox_above_values(yy[near], ee[near], design.phi_t)
        tox_fail[sel] = prob >= design.c_t
    sel = (n >= 3) & (ess_e > 0)
    if sel.any():
        eff_fail[sel] = prob_eff_below_values(y_e[sel], ess_e[sel], design.phi_e) >= design.c_e
    return tox_fail, eff_fail


@_compiled_numpy_errors
def _pending_one_block(
    dose: Any, entry: Any, tox_at: Any, eff_at: Any, tox: Any, eff: Any, now: Any, n: Any,
    obs_t: Any, obs_e: Any, y_t: Any, y_e: Any, both: Any, tox_window: float,
    eff_window: float, scale: float, phi_t: float, phi_e: float,
    u1: float, u2: float, u3: float, u4: float,
    ess_t: Any, ess_e: Any, count: Any, x: Any,
) -> None:  # fmt: skip
    """The pending-outcome part of :func:`al_stats`, one trial (row) at a time.

    For each trial at its ``now``: the patients with a pending toxicity or efficacy outcome;
    their follow-up weights (the core's ``follow_up_weights``: min(max(now − entry, 0), A)/A,
    0 once the endpoint is known); ESS = observed + Σ w (summed as :func:`fsum_bins` sums:
    the 2^-k multiples and the remainders each in enrolment order); the pending outcomes
    imputed (the core's ``impute_values`` p̂(1 − w)/(1 − p̂·w), p̂ = y/ESS, or φ_T/2, φ_E
    where ESS = 0); x = quasi-events of the patients with both outcomes known (the core's
    ``quasi_events_values``) + Σ expected utility/100 (``expected_utility_values``) of the
    pending ones.  The same floating-point operations in the same order as the numpy form
    it replaced (results bit-identical).  Writes ``ess_t``, ``ess_e`` (every dose),
    ``count`` (pending patients) and ``x`` (doses with pending patients).
    """
    num, rows = n.shape
    width = dose.shape[1]
    wt_hi = np.zeros(num)
    wt_lo = np.zeros(num)
    we_hi = np.zeros(num)
    we_lo = np.zeros(num)
    eu_hi = np.zeros(num)
    eu_lo = np.zeros(num)
    kt_ev = np.zeros(num, dtype=np.int64)
    ke_ev = np.zeros(num, dtype=np.int64)
    for r in range(rows):
        t = now[r]
        wt_hi[:] = 0.0
        wt_lo[:] = 0.0
        we_hi[:] = 0.0
        we_lo[:] = 0.0
        eu_hi[:] = 0.0
        eu_lo[:] = 0.0
        kt_ev[:] = 0
        ke_ev[:] = 0
        any_pend = False
        for c in range(width):
            d = dose[r, c]
            if d < 0 or d >= num or not (tox_at[r, c] > t or eff_at[r, c] > t):
                continue
            any_pend = True
            count[d, r] += 1
            if tox_at[r, c] <= t:
                w = 0.0
                if tox[r, c]:
                    kt_ev[d] += 1
            else:
                w = min(max(t - entry[r, c], 0.0), tox_window) / tox_window
            hi = np.floor(w * scale) / scale
            wt_hi[d] += hi
            wt_lo[d] += w - hi
            if eff_at[r, c] <= t:
                w = 0.0
                if eff[r, c]:
                    ke_ev[d] += 1
            else:
                w = min(max(t - entry[r, c], 0.0), eff_window) / eff_window
            hi = np.floor(w * scale) / scale
            we_hi[d] += hi
            we_lo[d] += w - hi
        for d in range(num):
            ess_t[d, r] = obs_t[d, r] + (wt_hi[d] + wt_lo[d])
            ess_e[d, r] = obs_e[d, r] + (we_hi[d] + we_lo[d])
        if not any_pend:
            continue
        for c in range(width):
            d = dose[r, c]
            if d < 0 or d >= num or not (tox_at[r, c] > t or eff_at[r, c] > t):
                continue
            if tox_at[r, c] <= t:
                pi_t = 1.0 if tox[r, c] else 0.0
            else:
                w = min(max(t - entry[r, c], 0.0), tox_window) / tox_window
                p = y_t[d, r] / ess_t[d, r] if ess_t[d, r] > 0 else phi_t / 2.0
                pi_t = p * (1.0 - w) / (1.0 - p * w)
            if eff_at[r, c] <= t:
                pi_e = 1.0 if eff[r, c] else 0.0
            else:
                w = min(max(t - entry[r, c], 0.0), eff_window) / eff_window
                p = y_e[d, r] / ess_e[d, r] if ess_e[d, r] > 0 else phi_e
                pi_e = p * (1.0 - w) / (1.0 - p * w)
            eu = (
                u1 * (1 - pi_t) * pi_e
                + u2 * (1 - pi_t) * (1 - pi_e)
                + u3 * pi_t * pi_e
                + u4 * pi_t * (1 - pi_e)
            )
            v = eu / 100.0
            hi = np.floor(v * scale) / scale
            eu_hi[d] += hi
            eu_lo[d] += v - hi
        for d in range(num):
            if count[d, r] == 0:
                continue
            f_n = n[d, r] - count[d, r]
            f_t = y_t[d, r] - kt_ev[d]
            f_e = y_e[d, r] - ke_ev[d]
            f_te = both[d, r]
            base = (
                u1 * (f_e - f_te) + u2 * (f_n - f_t - f_e + f_te) + u3 * f_te + u4 * (f_t - f_te)
            ) / 100.0
            x[d, r] = base + (eu_hi[d] + eu_lo[d])


def al_stats(design: TITEBOIN12, data: DoseArrays) -> AlStats:
    """:func:`~doseladder.core.designs.tite_boin12.al_summary` for every trial at its time
    ``data.patients.now``."""
    num, rows = data.num_doses, data.rows
    n, y_t, y_e = data.n, data.tox, data.eff
    shape = (num, rows)
    obs_t, obs_e = n - data.tox_pending, n - data.eff_pending
    pts = data.patients
    if pts is None:
        if data.tox_pending.any() or data.eff_pending.any():
            raise InputError("patients", "TITE-BOIN12 needs the patients with pending outcomes")
        pts = _no_patients(rows)
    scale = split_scale(max(design.max_n, pts.dose.shape[1]))
    ess_t = np.empty(shape)
    ess_e = np.empty(shape)
    count = np.zeros(shape, dtype=np.int64)
    x = np.zeros(shape)
    u1, u2, u3, u4 = (float(u) for u in design.utilities)
    _pending_one_block(
        np.asarray(pts.dose, dtype=np.int64), np.asarray(pts.entry, dtype=np.float64),
        np.asarray(pts.tox_at, dtype=np.float64), np.asarray(pts.eff_at, dtype=np.float64),
        np.asarray(pts.tox, dtype=np.bool_), np.asarray(pts.eff, dtype=np.bool_),
        np.asarray(pts.now, dtype=np.float64), np.asarray(n, dtype=np.int64),
        np.asarray(obs_t, dtype=np.int64), np.asarray(obs_e, dtype=np.int64),
        np.asarray(y_t, dtype=np.int64), np.asarray(y_e, dtype=np.int64),
        np.asarray(data.both, dtype=np.int64), float(design.tox_window),
        float(design.eff_window), scale, float(design.phi_t), float(design.phi_e),
        u1, u2, u3, u4, ess_t, ess_e, count, x,
    )  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        p_t = y_t / ess_t

    # D: the complete-data table where nothing is pending, else x with imputed outcomes
    tsize = table_size(design, n)
    desir = desirability_table(design, tsize)(n, y_t, y_e, data.both)
    has_pend = count > 0
    desir[has_pend] = np.nan  # filled for the compared doses by fill_pending

    # admissibility on the current data
    consts = boin12_constants(design, tsize)
    if design.pending_admissibility == "scaled":
        with np.errstate(invalid="ignore", divide="ignore"):
            st = np.where(ess_t > 0, (y_t * n) / ess_t, 0.0)
            se = np.where(ess_e > 0, (y_e * n) / ess_e, np.inf)
        tox_fail, eff_fail = elimination_flags_arrays(consts, n, st, se)
    else:
        tox_fail, eff_fail = _ess_admissibility(design, n, y_t, y_e, ess_t, ess_e)
    return AlStats(Boin12Stats(p_t, desir, tox_fail, eff_fail), x, has_pend, ess_t, ess_e)


def fill_pending(design: TITEBOIN12, al: AlStats, n: IntArray, need: BoolArray) -> FloatArray:
    """D of the doses the rules compare (``need``) that have pending outcomes.

    Evaluated with the fast :func:`_desirability_fast`; a value within a relative 1e-12 of
    another compared dose's D is recomputed with the core's formula, so that exact ties are
    broken as the core breaks them.
    """
    desir = al.stats.desir.copy()
    approx = need & al.has_pend
    if not approx.any():
        return desir
    desir[approx] = _desirability_fast(design, al.x[approx], n[approx])
    num = n.shape[0]
    redo = np.zeros(n.shape, dtype=np.bool_)
    for j in range(num):
        for k in range(j + 1, num):
            a, b = desir[j], desir[k]
            with np.errstate(invalid="ignore"):
                close = (
                    need[j]
                    & need[k]
                    & (approx[j] | approx[k])
                    & (np.abs(a - b) <= _TIE * np.maximum(a, b))
                )
            redo[j] |= close
            redo[k] |= close
    redo &= approx
    if redo.any():
        desir[redo] = _desirability_exact(design, al.x[redo], n[redo])
    return desir


def decide_tite_boin12(design: TITEBOIN12, data: DoseArrays) -> ArrayDecision:
    """``TITEBOIN12._decide`` for every trial with at least one patient, at its time
    ``data.patients.now``: suspension (more than ``max_pending`` of the patients at the
    current dose with a pending toxicity or efficacy outcome, or a zero effective sample size
    there; only while fewer than ``max_n`` patients are enrolled), then BOIN12's rules on the
    AL statistics.  A suspension records the eliminations the rules would; with
    ``deescalate_on_observed`` the trials whose observed toxicities at the current dose reach
    λd are not suspended."""
    n, d = data.n, data.current
    total = n.sum(axis=0)
    al = al_stats(design, data)
    n_d = pick(n, d)
    allowed = allowed_pending(float(design.max_pending), table_size(design, n))
    live = (n_d > 0) & (total < design.max_n)
    if design.deescalate_on_observed:
        with np.errstate(invalid="ignore", divide="ignore"):
            live &= ~(pick(data.tox, d) / n_d >= design.lambda_d)
    cap = allowed[n_d]
    susp = live & ((pick(data.tox_pending, d) > cap) | (pick(data.eff_pending, d) > cap))
    susp |= live & ((pick(al.ess_t, d) == 0) | (pick(al.ess_e, d) == 0))
    dec = conclude_boin12(design, data, al.stats, lambda need: fill_pending(design, al, n, need))
    return suspend_where(dec, susp, data, record=True)
