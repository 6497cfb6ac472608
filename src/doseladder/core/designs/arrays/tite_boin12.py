"""TITE-BOIN12's rules for many trials at once: :func:`decide_tite_boin12`.

The array form of ``TITEBOIN12._decide`` with :func:`~doseladder.core.designs.tite_boin12.
al_summary` (spec ``dose-finding.md`` §4.2-4.4): suspension, then BOIN12's rules
(:func:`~doseladder.core.designs.arrays.boin12.conclude_boin12`) on the approximated-likelihood
statistics.  The formulas are the core's on arrays
(:func:`~doseladder.core.designs.tite_boin12.follow_up_weights`,
:func:`~doseladder.core.designs.tite_boin12.impute_values`,
:func:`~doseladder.core.designs.boin12.expected_utility_values`,
:func:`~doseladder.core.designs.boin12.quasi_events_values`, ...).  The final selection is
BOIN12's (:func:`~doseladder.core.designs.arrays.boin12.select_boin12`).

Input: the per-dose counts of :class:`DoseArrays` at the decision time (``tox`` / ``eff`` /
``both`` observed events, ``*_pending`` pending outcomes) and ``data.patients``, which must hold
at least every patient with a pending outcome (patients whose outcomes are all known may be left
out: the counts carry them -- the simulation kernel passes only its recent patients).

Exactness: the sums Σ w and Σ expected utility are formed as ``math.fsum`` forms them (correctly
rounded): each term is split into a multiple of 2^-k, whose sum is exact, and a remainder below
2^-k, so the result differs from ``math.fsum`` only if the exact sum lies within ~1e-28 of a
rounding midpoint.  D of a dose with pending outcomes is evaluated with
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
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

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
    expected_utility_values,
    prob_eff_below_values,
    prob_tox_above_values,
    quasi_events_values,
)
from doseladder.core.designs.tite_boin12 import TITEBOIN12, follow_up_weights, impute_values
from doseladder.core.errors import InputError

__all__ = [
    "AlStats",
    "al_stats",
    "allowed_pending",
    "decide_tite_boin12",
    "fill_pending",
    "fsum_bins",
    "split_scale",
]

_TIE = 1e-12  # fast D / posterior values this close to a tie or cut-off are recomputed exactly


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


def fsum_bins(key: IntArray, values: FloatArray, size: int, scale: float) -> FloatArray:
    """Per-bin sums of values in [0, ~1], rounded as ``math.fsum`` rounds (module doc)."""
    v = values.ravel()
    hi = np.floor(v * scale) / scale
    lo = v - hi
    out = np.bincount(key, hi, size) + np.bincount(key, lo, size)
    return np.asarray(out, dtype=np.float64)


def _desirability_fast(design: TITEBOIN12, x: FloatArray, n: IntArray) -> FloatArray:
    """D = 1 − I_{u_b/100}(α + x, β + n − x) via I_{1 − u_b/100}(β + n − x, α + x)."""
    a = design.prior_alpha + x
    b = design.prior_beta + n - x
    return np.asarray(special.betainc(b, a, 1.0 - design.u_b / 100.0), dtype=np.float64)


def _desirability_exact(design: TITEBOIN12, x: FloatArray, n: IntArray) -> FloatArray:
    """The core's formula, evaluated once per distinct (n, x)."""
    pairs = np.stack([n.astype(np.float64), x])
    uniq, inverse = np.unique(pairs, axis=1, return_inverse=True)
    un, ux = uniq
    vals = desirability_values(ux, un, design.u_b, design.prior_alpha, design.prior_beta)
    return vals[inverse.ravel()]


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


def al_stats(design: TITEBOIN12, data: DoseArrays) -> AlStats:
    """:func:`~doseladder.core.designs.tite_boin12.al_summary` for every trial at its time
    ``data.patients.now``."""
    num, rows = data.num_doses, data.rows
    n, y_t, y_e = data.n, data.tox, data.eff
    size = num * rows
    shape = (num, rows)
    obs_t, obs_e = n - data.tox_pending, n - data.eff_pending
    pts = data.patients
    if pts is None:
        if data.tox_pending.any() or data.eff_pending.any():
            raise InputError("patients", "TITE-BOIN12 needs the patients with pending outcomes")
        pts = _no_patients(rows)
    width = pts.dose.shape[1]
    now = pts.now
    nowc = now[:, None]
    valid = pts.dose < num
    pmask = valid & ((pts.tox_at > nowc) | (pts.eff_at > nowc))
    pend = np.flatnonzero(pmask.ravel())
    p_row = pend // max(width, 1)
    p_dose = pts.dose.reshape(-1)[pend]
    p_key = np.asarray(p_dose * rows + p_row, dtype=np.int64)
    kt_p = pts.tox_at.reshape(-1)[pend] <= now[p_row]
    ke_p = pts.eff_at.reshape(-1)[pend] <= now[p_row]
    tb_p = pts.tox.reshape(-1)[pend]
    eb_p = pts.eff.reshape(-1)[pend]
    entry_p = pts.entry.reshape(-1)[pend]
    scale = split_scale(max(design.max_n, width))

    w_t = np.where(kt_p, 0.0, follow_up_weights(entry_p, now[p_row], design.tox_window))
    w_e = np.where(ke_p, 0.0, follow_up_weights(entry_p, now[p_row], design.eff_window))
    ess_t = obs_t + fsum_bins(p_key, w_t, size, scale).reshape(shape)
    ess_e = obs_e + fsum_bins(p_key, w_e, size, scale).reshape(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_t = y_t / ess_t
        p_e = y_e / ess_e

    # D: the complete-data table where nothing is pending, else x with imputed outcomes
    tsize = table_size(design, n)
    desir = desirability_table(design, tsize)(n, y_t, y_e, data.both)
    count = np.bincount(p_key, minlength=size).reshape(shape)
    has_pend = count > 0
    x = np.zeros(shape)
    if pend.size:
        # patients with both outcomes known: every patient minus those with a pending one
        f_n = n - count
        f_t = y_t - np.bincount(p_key, kt_p & tb_p, size).reshape(shape).astype(np.int64)
        f_e = y_e - np.bincount(p_key, ke_p & eb_p, size).reshape(shape).astype(np.int64)
        f_te = data.both
        pt_imp = np.where(ess_t > 0, p_t, design.phi_t / 2.0)
        pe_imp = np.where(ess_e > 0, p_e, design.phi_e)
        pi_t = np.where(kt_p, tb_p.astype(np.float64), impute_values(pt_imp[p_dose, p_row], w_t))
        pi_e = np.where(ke_p, eb_p.astype(np.float64), impute_values(pe_imp[p_dose, p_row], w_e))
        eu = expected_utility_values(pi_t, pi_e, design.utilities)
        base = quasi_events_values(f_e - f_te, f_n - f_t - f_e + f_te, f_te, f_t - f_te,
                                   design.utilities)  # fmt: skip
        x = base + fsum_bins(p_key, eu / 100.0, size, scale).reshape(shape)
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
