"""TITE-BOIN12's rules for many trials at once: :func:`decide_one` and :func:`decide_tite_boin12`.

The array form of ``TITEBOIN12._decide`` with :func:`~doseladder.core.designs.tite_boin12.
al_summary` (spec ``dose-finding.md`` §4.2-4.4), written once as a compiled function for ONE
trial, :func:`decide_one` (Numba): the approximated-likelihood statistics (follow-up weights,
ESS, imputation, quasi-events x -- the core's
:func:`~doseladder.core.designs.tite_boin12.follow_up_weights`,
:func:`~doseladder.core.designs.tite_boin12.impute_values`,
:func:`~doseladder.core.designs.boin12.expected_utility_values`,
:func:`~doseladder.core.designs.boin12.quasi_events_values` written as the same scalar
operations), admissibility, D of the compared doses, BOIN12's per-trial rules on the packed
statistics (:func:`~doseladder.core.designs.arrays.boin12.elimination_flags_trial`,
:func:`~doseladder.core.designs.arrays.boin12.needed_trial`,
:func:`~doseladder.core.designs.arrays.boin12.conclude_trial`, called, not copied) and the
suspension.  :func:`decide_tite_boin12` loops over trials with it, and the simulation kernel
(:mod:`doseladder.simulate.kernels.tite_boin12`) calls it inside its compiled trial loop.  The
final selection is BOIN12's (:func:`~doseladder.core.designs.arrays.boin12.select_boin12`).

Input: the per-dose counts of :class:`DoseArrays` at the decision time (``tox`` / ``eff`` /
``both`` observed events, ``*_pending`` pending outcomes) and the patients, which must include
at least every patient with a pending outcome (patients whose outcomes are all known may be left
out: the counts carry them -- the simulation kernel passes only its recent patients).

Exactness: the sums Σ w and Σ expected utility are formed as ``math.fsum`` forms them (correctly
rounded): each term is split into a multiple of 2^-k (:func:`split_scale`), whose sum is exact,
and a remainder below 2^-k, so the result differs from ``math.fsum`` only if the exact sum lies
within ~1e-28 of a rounding midpoint.  The Beta probabilities are SciPy's own functions, called
from compiled code through ``scipy.special.cython_special`` (:data:`betainc_c`,
:data:`betaincc_c`; ``scipy.stats.beta.sf`` is ``betaincc`` and ``beta.cdf`` ``betainc``, so the
core's :func:`~doseladder.core.designs.boin12.desirability_values`,
:func:`~doseladder.core.designs.boin12.prob_tox_above_values` and
:func:`~doseladder.core.designs.boin12.prob_eff_below_values` give the same values -- checked
in the tests).  D of a dose with pending outcomes is evaluated as ``betainc(β + n − x, α + x,
1 − u_b/100)`` (the core's ``betaincc`` is about ten times slower; the two agree to ~1e-14
relative), and only for the doses the rules compare; where such a D lies within a relative 1e-12
of another compared D the core's formula is used instead, so ties are resolved as in the core
(they do occur: three patients without toxicity and with efficacy pending, before any
response, give x = 1.2 exactly, as three complete "no event" patients do).  The ``"ess"``
toxicity posterior is treated the same way near its cut-off.  D of a dose without pending
outcomes is the core's formula on the complete counts, kept in a per-design table once computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types
from numba.extending import get_cython_function_address

from doseladder import jit  # noqa: F401  (sets the source-stamped Numba cache folder)
from doseladder.core.designs.arrays.boin12 import (
    ST_DESIR,
    ST_EFF,
    ST_EFF_FAIL,
    ST_ELIM,
    ST_N,
    ST_NEED,
    ST_PRIOR,
    ST_ROWS,
    ST_TOX,
    ST_TOX_FAIL,
    admissible_trial,
    conclude_trial,
    elimination_flags_trial,
    needed_trial,
    rule_table,
    table_size,
)
from doseladder.core.designs.arrays.interface import (
    SUSPEND,
    ArrayDecision,
    DoseArrays,
    FloatArray,
    IntArray,
    PatientArrays,
)
from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.core.errors import InputError

__all__ = [
    "TiteRule",
    "allowed_pending",
    "betainc_c",
    "betaincc_c",
    "decide_one",
    "decide_tite_boin12",
    "desirability_one",
    "exact_memo",
    "split_scale",
    "stats_scratch",
    "tite_rule",
]

_TIE = 1e-12  # fast D / posterior values this close to a tie or cut-off are recomputed exactly
_MAX_TABLE = 1 << 22  # largest complete-data desirability table kept (entries; 32 MB)

F = TypeVar("F", bound=Callable[..., Any])


def _compiled_numpy_errors(fn: F) -> F:
    """:func:`doseladder.jit.compiled` with numpy's floating-point error model (x/0 gives
    ±inf or NaN, as numpy does, instead of raising ZeroDivisionError)."""
    return njit(cache=True, nogil=True, error_model="numpy")(fn)  # type: ignore[return-value]


def _inlined_numpy_errors(fn: F) -> F:
    """:func:`_compiled_numpy_errors`, inlined into its compiled callers (a call between
    compiled functions costs an atomic reference count per array argument, more than the
    per-trial rule's own work)."""
    return njit(cache=True, nogil=True, error_model="numpy", inline="always")(fn)  # type: ignore[return-value]


def _scipy_function(name: str) -> Any:
    """SciPy's ``scipy.special.cython_special.<name>(double, double, double)`` as a Numba
    external function.  Its address is registered under a fixed symbol name when this module
    is imported, so compiled code referring to it stays cacheable across processes."""
    addr = get_cython_function_address("scipy.special.cython_special", f"__pyx_fuse_0{name}")
    symbol = f"doseladder_scipy_{name}"
    llvm.add_symbol(symbol, addr)
    signature = types.float64(types.float64, types.float64, types.float64)
    return types.ExternalFunction(symbol, signature)


#: ``scipy.special.betainc(a, b, x)`` (= ``scipy.stats.beta.cdf(x, a, b)``) for compiled code
betainc_c = _scipy_function("betainc")
#: ``scipy.special.betaincc(a, b, x)`` (= ``scipy.stats.beta.sf(x, a, b)``) for compiled code
betaincc_c = _scipy_function("betaincc")


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
    out.setflags(write=False)
    return out


def split_scale(max_n: int) -> float:
    """2^k such that sums of up to max_n multiples of 2^-k in [0, 1] are exact in float64."""
    return float(2 ** (52 - int(max_n).bit_length()))


# ------------------------------------------------------------------ per-design numbers
#: indices of :attr:`TiteRule.ints`
_I_ESS, _I_DEESC, _I_MAXN, _I_MARGINAL, _I_STRIDE = range(5)
#: indices of :attr:`TiteRule.floats`
(_F_TWIN, _F_EWIN, _F_SCALE, _F_PHIT, _F_PHIE, _F_U1, _F_U2, _F_U3, _F_U4, _F_UB, _F_1MUB,
 _F_ALPHA, _F_BETA, _F_CT, _F_CE, _F_LAMD, _F_1MPHIT) = range(17)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TiteRule:
    """What :func:`decide_one` reads besides a trial's data, for one design and table size.

    Attributes:
        ints: ``pending_admissibility == "ess"``, ``deescalate_on_observed``, ``max_n``, the
            complete-data D depends on (n, n_T, n_E) only (integer utilities with
            u1 + u4 = u2 + u3), the table's stride (size + 1).
        floats: windows, the fsum split scale, φT, φE, u1..u4, u_b/100, 1 − u_b/100, α, β,
            c_T, c_E, λd, 1 − φT.
        allowed: :func:`allowed_pending` (index n = patients at the current dose).
        rules: what BOIN12's per-trial rules read
            (:func:`~doseladder.core.designs.arrays.boin12.rule_table`: BOIN12's rule options
            and the core's elimination boundaries, n = 0..size), the only design array
            :func:`decide_one` hands them.
        table: complete-data D by (n, n_T, n_E[, n_TE]), NaN until first computed (empty
            when it would exceed 2^22 entries: D is then computed at every use).
    """

    ints: IntArray
    floats: FloatArray
    allowed: IntArray
    rules: FloatArray
    table: FloatArray


@lru_cache(maxsize=64)
def _complete_table(design: TITEBOIN12, size: int) -> FloatArray:
    u = design.utilities
    marginal = all(float(v).is_integer() for v in u) and u[0] + u[3] == u[1] + u[2]
    entries = (size + 1) ** 3 * (1 if marginal else size + 1)
    return np.full(entries if entries <= _MAX_TABLE else 0, np.nan)


@lru_cache(maxsize=64)
def tite_rule(design: TITEBOIN12, size: int, split_n: int) -> TiteRule:
    """The :class:`TiteRule` of ``design`` for doses with up to ``size`` patients (the
    :func:`~doseladder.core.designs.arrays.boin12.table_size`) and sums over up to ``split_n``
    patients (:func:`split_scale`)."""
    u = design.utilities
    marginal = all(float(v).is_integer() for v in u) and u[0] + u[3] == u[1] + u[2]
    ints = np.array(
        [design.pending_admissibility == "ess", design.deescalate_on_observed, design.max_n,
         marginal, size + 1],
        dtype=np.int64,
    )  # fmt: skip
    floats = np.array(
        [design.tox_window, design.eff_window, split_scale(split_n),
         design.phi_t, design.phi_e, *(float(v) for v in u), design.u_b / 100.0,
         1.0 - design.u_b / 100.0, design.prior_alpha, design.prior_beta, design.c_t,
         design.c_e, design.lambda_d, 1.0 - design.phi_t],
        dtype=np.float64,
    )  # fmt: skip
    return TiteRule(
        ints, floats, allowed_pending(float(design.max_pending), size), rule_table(design, size),
        _complete_table(design, size),
    )  # fmt: skip


# --------------------------------------------------------------------- the rule, one trial
_MEMO_SIZE = 64  # entries of :func:`exact_memo` (the most recent are kept)


def exact_memo() -> FloatArray:
    """An empty memo of the core formula's D of doses with pending outcomes, by (n, x), for
    :func:`decide_one`: row 0 holds the number of values stored, rows 1.. (n, x, D)."""
    memo = np.full((_MEMO_SIZE + 1, 3), np.nan)
    memo[0, 0] = 0.0
    return memo


def stats_scratch(num_doses: int) -> FloatArray:
    """The packed statistics :func:`decide_one` works in, one trial at a time (a float64
    (``ST_ROWS``, J) array, rows :data:`~doseladder.core.designs.arrays.boin12.ST_N` ...):
    allocated once per block by the caller, which sets ``ST_PRIOR`` before each decision."""
    return np.zeros((ST_ROWS, num_doses))


@_inlined_numpy_errors
def desirability_one(x: float, n: int, tp: Any) -> float:
    """The core's :func:`~doseladder.core.designs.boin12.desirability_values`:
    ``beta.sf(u_b/100, α + x, β + n − x)``."""
    return betaincc_c(tp[_F_ALPHA] + x, tp[_F_BETA] + n - x, tp[_F_UB])  # type: ignore[no-any-return]


@_inlined_numpy_errors
def _exact_desirability(x: float, n: int, tp: Any, memo: Any) -> float:
    """:func:`desirability_one`, looked up in / added to the memo (:func:`exact_memo`)."""
    stored = int(memo[0, 0])
    for k in range(1, min(stored, _MEMO_SIZE) + 1):
        if memo[k, 0] == n and memo[k, 1] == x:
            return memo[k, 2]  # type: ignore[no-any-return]
    v = desirability_one(x, n, tp)
    k = 1 + stored % _MEMO_SIZE
    memo[k, 0] = n
    memo[k, 1] = x
    memo[k, 2] = v
    memo[0, 0] = stored + 1
    return v


@_inlined_numpy_errors
def complete_desirability_one(n: int, nt: int, ne: int, nte: int, ti: Any, tp: Any,
                              table: Any) -> float:  # fmt: skip
    """D of a dose on complete data (``DesirabilityTable``'s value): the core's
    ``quasi_events_values`` of the four cells, then :func:`desirability_one`; kept in
    ``table``."""
    stride = ti[_I_STRIDE]
    key = (n * stride + nt) * stride + ne
    if not ti[_I_MARGINAL]:
        key = key * stride + nte
    if key < table.shape[0] and not np.isnan(table[key]):
        return table[key]  # type: ignore[no-any-return]
    a1, a2, a3, a4 = ne - nte, n - nt - ne + nte, nte, nt - nte
    x = (tp[_F_U1] * a1 + tp[_F_U2] * a2 + tp[_F_U3] * a3 + tp[_F_U4] * a4) / 100.0
    v = desirability_one(x, n, tp)
    if key < table.shape[0]:
        table[key] = v
    return v


@_inlined_numpy_errors
def decide_one(
    cnt: Any, p_dose: Any, p_entry: Any, p_tox_at: Any, p_eff_at: Any, p_tox: Any, p_eff: Any,
    row: int, first: int, end: int, now: float, d: int, st: Any,
    ti: Any, tp: Any, rules: Any, allowed: Any, table: Any, exact: Any, fw: Any,
) -> tuple[int, int, bool]:  # fmt: skip
    """``TITEBOIN12._decide`` for one trial at time ``now``: (action code, next dose 0-based or
    -1, toxicity de-escalation); the recorded eliminations go to row ``ST_ELIM`` of ``st``.

    ``cnt`` (9, J): per dose n treated, observed DLTs, responses and both, pending toxicity
    and efficacy outcomes (rows 0-5; rows 6-8 are scratch); ``p_*[row, first:end]`` the patients
    (at least every one with a pending outcome; dose outside 0..J-1 = not a patient); ``d``
    the current dose.  ``st`` (:func:`stats_scratch`) is the trial's packed statistics that
    BOIN12's per-trial rules (:func:`~doseladder.core.designs.arrays.boin12.conclude_trial`
    and the functions it calls) read and write: its row ``ST_PRIOR`` (the doses eliminated
    before) is input, the other rows are filled here.  ``rules`` is the design's
    :func:`~doseladder.core.designs.arrays.boin12.rule_table` with boundaries up to at least
    the largest n at a dose (:attr:`TiteRule.rules`).  ``exact`` (:func:`exact_memo`)
    keeps the core formula's D of pending doses by (n, x) -- near-ties recur at a few x
    values.  ``fw`` (11, J) float is scratch (row 4 flags the near-ties).  Nothing is
    allocated and no array view is made: every array argument or view costs atomic reference
    counts, more than the rule's own work.

    Steps (spec §4.2-4.4): the AL statistics -- per pending patient the follow-up weights
    min(max(now − entry, 0), A)/A (0 once the endpoint is known), ESS = observed + Σ w (the
    2^-k multiples and the remainders each summed in enrolment order), the pending outcomes
    imputed p̂(1 − w)/(1 − p̂·w) with p̂ = y/ESS (φT/2, φE where ESS = 0), x = quasi-events of
    the patients with both outcomes known + Σ expected utility/100 of the pending ones;
    admissibility (``"scaled"``: the boundaries at n·y/ESS; ``"ess"``: Beta(1 + y, 1 + ESS − y)
    posteriors); D where the rules compare it; BOIN12's rules; then the suspension (more than
    ``max_pending`` of the patients at d with a pending outcome, or a zero ESS there, while
    fewer than ``max_n`` are enrolled -- not where the observed DLTs at d reach λd with
    ``deescalate_on_observed``), which keeps the eliminations the rules record.
    """
    num = cnt.shape[1]
    t_win, e_win, scale = tp[_F_TWIN], tp[_F_EWIN], tp[_F_SCALE]
    u1, u2, u3, u4 = tp[_F_U1], tp[_F_U2], tp[_F_U3], tp[_F_U4]
    for j in range(num):
        fw[5, j] = 0.0
        fw[6, j] = 0.0
        fw[7, j] = 0.0
        fw[8, j] = 0.0
        fw[9, j] = 0.0
        fw[10, j] = 0.0
        cnt[6, j] = 0
        cnt[7, j] = 0
        cnt[8, j] = 0
        fw[2, j] = 0.0
        fw[4, j] = 0.0
        st[ST_N, j] = cnt[0, j]
        st[ST_NEED, j] = 0.0
    # --- the AL statistics (the core's al_summary): weights and ESS
    any_pend = False
    for c in range(first, end):
        j = p_dose[row, c]
        if j < 0 or j >= num or not (p_tox_at[row, c] > now or p_eff_at[row, c] > now):
            continue
        any_pend = True
        cnt[6, j] += 1
        if p_tox_at[row, c] <= now:
            w = 0.0
            if p_tox[row, c]:
                cnt[7, j] += 1
        else:
            w = min(max(now - p_entry[row, c], 0.0), t_win) / t_win
        hi = np.floor(w * scale) / scale
        fw[5, j] += hi
        fw[6, j] += w - hi
        if p_eff_at[row, c] <= now:
            w = 0.0
            if p_eff[row, c]:
                cnt[8, j] += 1
        else:
            w = min(max(now - p_entry[row, c], 0.0), e_win) / e_win
        hi = np.floor(w * scale) / scale
        fw[7, j] += hi
        fw[8, j] += w - hi
    for j in range(num):
        fw[0, j] = (cnt[0, j] - cnt[4, j]) + (fw[5, j] + fw[6, j])
        fw[1, j] = (cnt[0, j] - cnt[5, j]) + (fw[7, j] + fw[8, j])
    # --- imputed pending outcomes and quasi-events x
    if any_pend:
        phi_t, phi_e = tp[_F_PHIT], tp[_F_PHIE]
        for c in range(first, end):
            j = p_dose[row, c]
            if j < 0 or j >= num or not (p_tox_at[row, c] > now or p_eff_at[row, c] > now):
                continue
            if p_tox_at[row, c] <= now:
                pi_t = 1.0 if p_tox[row, c] else 0.0
            else:
                w = min(max(now - p_entry[row, c], 0.0), t_win) / t_win
                p = cnt[1, j] / fw[0, j] if fw[0, j] > 0 else phi_t / 2.0
                pi_t = p * (1.0 - w) / (1.0 - p * w)
            if p_eff_at[row, c] <= now:
                pi_e = 1.0 if p_eff[row, c] else 0.0
            else:
                w = min(max(now - p_entry[row, c], 0.0), e_win) / e_win
                p = cnt[2, j] / fw[1, j] if fw[1, j] > 0 else phi_e
                pi_e = p * (1.0 - w) / (1.0 - p * w)
            eu = (
                u1 * (1 - pi_t) * pi_e
                + u2 * (1 - pi_t) * (1 - pi_e)
                + u3 * pi_t * pi_e
                + u4 * pi_t * (1 - pi_e)
            )
            v = eu / 100.0
            hi = np.floor(v * scale) / scale
            fw[9, j] += hi
            fw[10, j] += v - hi
        for j in range(num):
            if cnt[6, j] == 0:
                continue
            f_n = cnt[0, j] - cnt[6, j]
            f_t = cnt[1, j] - cnt[7, j]
            f_e = cnt[2, j] - cnt[8, j]
            f_te = cnt[3, j]
            base = (
                u1 * (f_e - f_te) + u2 * (f_n - f_t - f_e + f_te) + u3 * f_te + u4 * (f_t - f_te)
            ) / 100.0
            fw[2, j] = base + (fw[9, j] + fw[10, j])
    # --- estimates, complete-data D, admissibility
    ess_mode = ti[_I_ESS] != 0
    for j in range(num):
        fw[3, j] = cnt[1, j] / fw[0, j]
        if cnt[6, j] > 0:
            st[ST_DESIR, j] = np.nan  # filled below where the rules compare it
        else:
            st[ST_DESIR, j] = complete_desirability_one(
                cnt[0, j], cnt[1, j], cnt[2, j], cnt[3, j], ti, tp, table
            )
        if not ess_mode:  # "scaled": the boundaries at n·y/ESS
            st[ST_TOX, j] = (cnt[1, j] * cnt[0, j]) / fw[0, j] if fw[0, j] > 0 else 0.0
            st[ST_EFF, j] = (cnt[2, j] * cnt[0, j]) / fw[1, j] if fw[1, j] > 0 else np.inf
            elimination_flags_trial(st, j, rules)
        else:
            tf = False
            if cnt[0, j] >= 3 and cnt[1, j] >= 3 and fw[0, j] > 0:
                prob = betainc_c(1.0 + fw[0, j] - cnt[1, j], 1.0 + cnt[1, j], tp[_F_1MPHIT])
                if abs(prob - tp[_F_CT]) <= _TIE:  # the core's prob_tox_above_values
                    prob = betaincc_c(1.0 + cnt[1, j], 1.0 + fw[0, j] - cnt[1, j], tp[_F_PHIT])
                tf = prob >= tp[_F_CT]
            st[ST_TOX_FAIL, j] = tf
            ef = False
            if cnt[0, j] >= 3 and fw[1, j] > 0:  # the core's prob_eff_below_values
                ef = (
                    betainc_c(1.0 + cnt[2, j], 1.0 + fw[1, j] - cnt[2, j], tp[_F_PHIE]) >= tp[_F_CE]
                )
            st[ST_EFF_FAIL, j] = ef
    # --- D of the compared doses with pending outcomes (BOIN12's needed_trial)
    p_d = fw[3, d]
    if any_pend and np.isfinite(p_d):
        admissible_trial(st)
        needed_trial(st, d, p_d, rules)
        for j in range(num):
            if st[ST_NEED, j] != 0 and cnt[6, j] > 0:
                a = tp[_F_ALPHA] + fw[2, j]
                b = tp[_F_BETA] + cnt[0, j] - fw[2, j]
                st[ST_DESIR, j] = betainc_c(b, a, tp[_F_1MUB])
        for j in range(num):  # near-ties: the core's formula (ties broken as the core does)
            if not (st[ST_NEED, j] != 0 and cnt[6, j] > 0):
                continue
            for k in range(num):
                if k == j or st[ST_NEED, k] == 0:
                    continue
                a, b = st[ST_DESIR, j], st[ST_DESIR, k]
                if abs(a - b) <= _TIE * max(a, b):
                    fw[4, j] = 1.0
                    break
        for j in range(num):
            if fw[4, j] != 0:
                st[ST_DESIR, j] = _exact_desirability(fw[2, j], cnt[0, j], tp, exact)
    # --- BOIN12's rules (they also write ST_ADM and ST_ELIM), then the suspension
    action, nxt, tox_deesc = conclude_trial(st, d, p_d, rules)
    total = 0
    for j in range(num):
        total += cnt[0, j]
    n_d = cnt[0, d]
    live = n_d > 0 and total < ti[_I_MAXN]
    if live and ti[_I_DEESC] != 0:
        live = not (cnt[1, d] / n_d >= tp[_F_LAMD])
    if live:
        cap = allowed[n_d]
        if cnt[4, d] > cap or cnt[5, d] > cap or fw[0, d] == 0 or fw[1, d] == 0:
            return SUSPEND, d, False
    return action, nxt, tox_deesc


@_compiled_numpy_errors
def _decide_all(
    n: Any, y_t: Any, y_e: Any, both: Any, pend_t: Any, pend_e: Any,
    p_dose: Any, p_entry: Any, p_tox_at: Any, p_eff_at: Any, p_tox: Any, p_eff: Any,
    now: Any, d: Any, prior: Any, ti: Any, tp: Any, rules: Any, allowed: Any, table: Any,
    exact: Any, action: Any, nxt: Any, elim: Any, tox_deesc: Any,
) -> None:  # fmt: skip
    """:func:`decide_one` for every trial (dose-major counts, patients row by row)."""
    num, rows = n.shape
    width = p_dose.shape[1]
    fw = np.empty((11, num))
    st = np.zeros((ST_ROWS, num))  # stats_scratch
    cnt = np.empty((9, num), dtype=np.int64)
    for r in range(rows):
        for j in range(num):
            cnt[0, j] = n[j, r]
            cnt[1, j] = y_t[j, r]
            cnt[2, j] = y_e[j, r]
            cnt[3, j] = both[j, r]
            cnt[4, j] = pend_t[j, r]
            cnt[5, j] = pend_e[j, r]
            st[ST_PRIOR, j] = prior[j, r]
        a, nd, td = decide_one(
            cnt, p_dose, p_entry, p_tox_at, p_eff_at, p_tox, p_eff, r, 0, width, now[r],
            d[r], st, ti, tp, rules, allowed, table, exact, fw,
        )  # fmt: skip
        action[r] = a
        nxt[r] = nd
        tox_deesc[r] = td
        for j in range(num):
            elim[j, r] = st[ST_ELIM, j] != 0


def decide_tite_boin12(design: TITEBOIN12, data: DoseArrays) -> ArrayDecision:
    """:func:`decide_one` (``TITEBOIN12._decide``) for every trial with at least one patient,
    at its time ``data.patients.now``."""
    num, rows = data.num_doses, data.rows
    pts = data.patients
    if pts is None:
        if data.tox_pending.any() or data.eff_pending.any():
            raise InputError("patients", "TITE-BOIN12 needs the patients with pending outcomes")
        empty = np.zeros((rows, 0))
        flags = np.zeros((rows, 0), dtype=np.bool_)
        pts = PatientArrays(np.zeros((rows, 0), dtype=np.int64), empty, empty, empty, flags,
                            flags, np.full(rows, np.inf))  # fmt: skip
    rule = tite_rule(design, table_size(design, data.n), max(design.max_n, pts.dose.shape[1]))
    action = np.empty(rows, dtype=np.int64)
    nxt = np.empty(rows, dtype=np.int64)
    elim = np.empty((num, rows), dtype=np.bool_)
    tox_deesc = np.empty(rows, dtype=np.bool_)

    def ints(a: Any) -> IntArray:
        return np.asarray(a, dtype=np.int64)

    def floats(a: Any) -> FloatArray:
        return np.asarray(a, dtype=np.float64)

    _decide_all(
        ints(data.n), ints(data.tox), ints(data.eff), ints(data.both), ints(data.tox_pending),
        ints(data.eff_pending), ints(pts.dose), floats(pts.entry), floats(pts.tox_at),
        floats(pts.eff_at), np.asarray(pts.tox, dtype=np.bool_),
        np.asarray(pts.eff, dtype=np.bool_), floats(pts.now), ints(data.current),
        np.asarray(data.eliminated, dtype=np.bool_), rule.ints, rule.floats, rule.rules,
        rule.allowed, rule.table, exact_memo(), action, nxt, elim, tox_deesc,
    )  # fmt: skip
    return ArrayDecision(action, nxt, elim, tox_deesc)
