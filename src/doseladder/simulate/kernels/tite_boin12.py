"""Vectorised TITE-BOIN12 trials, approximated-likelihood method (spec ``dose-finding.md`` §4).

Decisions are those of :meth:`doseladder.core.designs.tite_boin12.TITEBOIN12.decide` at each
decision time and the selection that of ``design.select`` on the complete data (tested in
``tests/simulate/kernels/test_tite_boin12.py`` by rebuilding the trial state, pending outcomes
``None``, at every decision time).  The statistics are the core's
(:func:`~doseladder.core.designs.tite_boin12.al_summary`, spec §4.2) on arrays:

* follow-up weights w = min(max(now − entry, 0), A)/A of pending endpoints; ESS = #observed +
  Σ w; p̂ = observed events / ESS (fallback φT/2, φE for the imputation when ESS = 0);
* x_j = quasi-events of the patients with both outcomes known + Σ expected utility / 100 of the
  patients with a pending endpoint (imputed by p̂(1 − w)/(1 − p̂·w)); D_j from x_j;
* admissibility with pending data: ``"scaled"`` (p̂·n against the integer boundaries) or
  ``"ess"`` (Beta(1 + y, 1 + ESS − y) posteriors);
* the BOIN12 rules and the OBD selection of the complete-data kernel
  (:mod:`doseladder.simulate.kernels.boin12`), shared code.

The sums Σ w and Σ expected utility are formed as ``math.fsum`` forms them (correctly
rounded): each term is split into a multiple of 2^-k, whose sum is exact, and a remainder below
2^-k, so the result differs from ``math.fsum`` only if the exact sum lies within ~1e-28 of a
rounding midpoint.  D of a dose with pending outcomes is evaluated with
``scipy.special.betainc(β + n − x, α + x, 1 − u_b/100)`` (the core's ``beta.sf`` goes through
the ten times slower ``betaincc``; the two agree to ~1e-14 relative), and only for the doses
the rules compare; where such a D lies within a relative 1e-12 of another compared D the exact
core formula is used instead, so ties are resolved as in the core (they do occur: three
patients without toxicity and with efficacy pending, before any response, give x = 1.2 exactly,
as three complete "no event" patients do).
The ``"ess"`` toxicity posterior is treated the same way near its cut-off.  Doses with no
pending outcome use the complete-data desirability table; hence with every outcome complete at
every decision (accrual slower than the windows) the kernel gives exactly the BOIN12 kernel's
results on the same seed.

Trial conduct and timing (PKBOIN-12 ``fun_TITE_PK_update.R``, spec §4.4; time unit = that of
the windows, accrual ``draws.gaps`` in the same unit):

* The first patient enters at ``gaps[:, 0]``; within a cohort patient i enters ``gaps[:, i]``
  after patient i − 1, at the cohort's dose.
* The decision for the next cohort is taken when its first patient arrives, ``gaps[:, m]``
  after the last entry (m = patients enrolled), on the data known then: an outcome is known
  once ``entry + time to the event`` (event) or ``entry + window`` (no event) is <= now.
* Suspension: if more than ``max_pending`` of the patients at the current dose have a pending
  toxicity or efficacy outcome, the patient waits until enough outcomes are ascertained -- the
  earliest time the rule is met (PKBOIN-12: ``max(tox_next, eff_next, next arrival)``) -- and
  the decision is taken then; the next cohort starts at that decision time.  The waiting
  patient is not turned away (unlike TITEgBOIN's conduct, followed by the TITE-BOIN kernel).
  PKBOIN-12 adds one day between decision and entry; with a generic time unit this kernel adds
  none.  ``suspended`` is the total of these waits.
* A zero effective sample size at the current dose (core rule ``tite_boin12.no_information``)
  needs every patient there to have entered at the decision instant, i.e. a zero inter-arrival
  gap; it is not modelled (probability zero).
* The cohort that reaches ``max_n`` ends accrual; every patient is followed to ascertainment
  of both outcomes and the OBD selected on complete data with the eliminations recorded at the
  decisions (permanent mode).  ``duration`` = time of the last ascertainment − first entry,
  for every trial (a stopped trial also follows its patients to ascertainment).
* ``stopped_early``: stopped because no candidate dose is admissible (no dose selected); a
  stop for ``n_stop`` selects the OBD as usual.

Every option of :class:`TITEBOIN12` is supported (none raises).  Implementation: patient-level
arrays (trials, max_n) in enrolment order; columns whose outcomes are all known for every
running trial are folded into per-dose tallies ("settled"), so each decision only looks at the
recent columns, gathered once per decision (``_Window``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import special
from scipy.stats import beta as beta_dist

from doseladder.core.designs.boin12 import BOIN12
from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.simulate.kernels.boin12 import (
    Boin12Constants,
    boin12_constants,
    boin12_next_doses,
    desirability_needed,
    desirability_table,
    final_selection,
    inadmissible_doses_vectorised,
    neighbours,
    pick,
    quasi_events_rows,
)
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = [
    "CONTINUE",
    "STOP_N",
    "STOP_NO_ADMISSIBLE",
    "TiteDecision",
    "allowed_pending",
    "simulate_tite_boin12",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: action codes of :class:`TiteDecision`
CONTINUE, STOP_NO_ADMISSIBLE, STOP_N = 0, 1, 2

_TIE = 1e-12  # fast D / posterior values this close to a tie or cut-off are recomputed exactly


@dataclass(frozen=True, slots=True)
class TiteDecision:
    """One decision step of a block (for tests and diagnostics).

    Attributes:
        rows: trial indices decided at this step.
        enrolled: patients enrolled in each of these trials before the decision.
        arrival: arrival time of the next patient, when the suspension rule is first checked.
        time: decision time (``arrival``, or the end of the suspension).
        suspended: accrual was suspended at ``arrival``.
        action: ``CONTINUE``, ``STOP_NO_ADMISSIBLE`` or ``STOP_N``.
        next_dose: dose of the next cohort, 1-based (the rules' dose for ``STOP_N``, 0 for
            ``STOP_NO_ADMISSIBLE``).
    """

    rows: IntArray
    enrolled: int
    arrival: FloatArray
    time: FloatArray
    suspended: BoolArray
    action: IntArray
    next_dose: IntArray


@lru_cache(maxsize=64)
def allowed_pending(max_pending: float, max_n: int) -> IntArray:
    """Largest number of pending patients allowed among n at the current dose, n = 0..max_n.

    Built with the core's comparison ``pending / n > max_pending`` (suspend), so the integer
    table is exactly the core's rule.
    """
    out = np.zeros(max_n + 1, dtype=np.int64)
    for n in range(1, max_n + 1):
        p = min(n, max(0, math.floor(max_pending * n) + 1))
        while p > 0 and p / n > max_pending:
            p -= 1
        out[n] = p
    return out


def _split_scale(max_n: int) -> float:
    """2^k such that sums of up to max_n multiples of 2^-k in [0, 1] are exact in float64."""
    return float(2 ** (52 - int(max_n).bit_length()))


def _fsum_bins(key: IntArray, values: FloatArray, size: int, scale: float) -> FloatArray:
    """Per-bin sums of values in [0, ~1], rounded as ``math.fsum`` rounds (see module doc)."""
    v = values.ravel()
    hi = np.floor(v * scale) / scale
    lo = v - hi
    out = np.bincount(key, hi, size) + np.bincount(key, lo, size)
    return np.asarray(out, dtype=np.float64)


def _count_bins(key: IntArray, mask: BoolArray, size: int) -> IntArray:
    return np.bincount(key, mask.ravel(), size).astype(np.int64)


def _desirability_fast(design: TITEBOIN12, x: FloatArray, n: IntArray) -> FloatArray:
    """D = 1 − I_{u_b/100}(α + x, β + n − x) via I_{1 − u_b/100}(β + n − x, α + x)."""
    a = design.prior_alpha + x
    b = design.prior_beta + n - x
    return np.asarray(special.betainc(b, a, 1.0 - design.u_b / 100.0), dtype=np.float64)


def _desirability_exact(design: TITEBOIN12, x: FloatArray, n: IntArray) -> FloatArray:
    """The core's formula (:func:`~doseladder.core.designs.boin12.desirability`), evaluated
    once per distinct (n, x) (exact ties recur: e.g. x = 1.2 at n = 3 for three patients
    without toxicity whose efficacy is pending while no response has been seen)."""
    pairs = np.stack([n.astype(np.float64), x])
    uniq, inverse = np.unique(pairs, axis=1, return_inverse=True)
    un, ux = uniq
    vals = beta_dist.sf(design.u_b / 100.0, design.prior_alpha + ux, design.prior_beta + un - ux)
    return np.asarray(vals, dtype=np.float64)[inverse.ravel()]


def _pending_utility(
    design: TITEBOIN12,
    p: tuple[FloatArray, FloatArray],
    ess: tuple[FloatArray, FloatArray],
    at: tuple[IntArray, IntArray],
    w: tuple[FloatArray, FloatArray],
    known: tuple[BoolArray, BoolArray],
    event: tuple[BoolArray, BoolArray],
) -> FloatArray:
    """Expected utility of each pending patient (spec §4.2), pairs as (toxicity, efficacy).

    ``p``, ``ess``: (J, R) estimates y/ESS and effective sample sizes; ``at``: each pending
    patient's (dose, row); ``w``: follow-up weights; ``known``, ``event``: the endpoint is
    ascertained, and with an event.  A known endpoint counts as observed; a pending one is
    imputed from its dose's estimate (φT/2 and φE where the ESS is zero) and its weight.
    """
    (p_t, p_e), (ess_t, ess_e), (p_dose, p_row) = p, ess, at
    (w_t, w_e), (kt_p, ke_p), (tb_p, eb_p) = w, known, event
    pt_imp = np.where(ess_t > 0, p_t, design.phi_t / 2.0)
    pe_imp = np.where(ess_e > 0, p_e, design.phi_e)
    ptp = pt_imp[p_dose, p_row]
    pep = pe_imp[p_dose, p_row]
    with np.errstate(invalid="ignore", divide="ignore"):
        imp_t = ptp * (1.0 - w_t) / (1.0 - ptp * w_t)
        imp_e = pep * (1.0 - w_e) / (1.0 - pep * w_e)
    pi_t = np.where(kt_p, tb_p.astype(np.float64), imp_t)
    pi_e = np.where(ke_p, eb_p.astype(np.float64), imp_e)
    u1, u2, u3, u4 = design.utilities
    eu: FloatArray = (
        u1 * (1 - pi_t) * pi_e
        + u2 * (1 - pi_t) * (1 - pi_e)
        + u3 * pi_t * pi_e
        + u4 * pi_t * (1 - pi_e)
    )
    return eu


def _complete_quasi_events(
    design: BOIN12, f_n: IntArray, f_t: IntArray, f_e: IntArray, f_te: IntArray
) -> FloatArray:
    """Quasi-events of the patients with both endpoints known (``f_*``: their counts, with
    DLT, with response, with both)."""
    return quasi_events_rows(design.utilities, f_e - f_te, f_n - f_t - f_e + f_te, f_te, f_t - f_te)


def _ess_admissibility(
    design: BOIN12,
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
            prob[near] = beta_dist.sf(design.phi_t, 1.0 + yy[near], 1.0 + ee[near] - yy[near])
        tox_fail[sel] = prob >= design.c_t
    sel = (n >= 3) & (ess_e > 0)
    if sel.any():
        yy, ee = y_e[sel], ess_e[sel]
        prob = beta_dist.cdf(design.phi_e, 1.0 + yy, 1.0 + ee - yy)
        eff_fail[sel] = prob >= design.c_e
    return tox_fail, eff_fail


@dataclass(frozen=True, slots=True)
class _Summary:
    """AL statistics of the decided trials at their decision times (spec §4.2; dose-major)."""

    p_tox: FloatArray  # y_T / ESS_T (NaN when ESS_T = 0)
    desir: FloatArray  # D; NaN where outcomes are pending (see _fill_pending)
    tox_fail: BoolArray
    eff_fail: BoolArray
    x: FloatArray  # quasi-events with imputed pending outcomes
    has_pend: BoolArray


def _fill_pending(design: TITEBOIN12, summ: _Summary, n: IntArray, need: BoolArray) -> FloatArray:
    """D of the doses the rules compare (``need``, from
    :func:`~doseladder.simulate.kernels.boin12.desirability_needed`) that have pending outcomes.

    Evaluated with the fast :func:`_desirability_fast`; a value within a relative 1e-12 of
    another compared dose's D is recomputed with the core's formula, so that exact ties are
    broken as the core breaks them.
    """
    desir = summ.desir.copy()
    approx = need & summ.has_pend
    if not approx.any():
        return desir
    desir[approx] = _desirability_fast(design, summ.x[approx], n[approx])
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
        desir[redo] = _desirability_exact(design, summ.x[redo], n[redo])
    return desir


@dataclass(slots=True)
class _Window:
    """The unsettled patient columns lo..m-1 of the decided trials, gathered once per decision.

    Row k is trial ``rows[k]``; ``dose`` 0-based; ``rt``/``re`` the toxicity/efficacy
    ascertainment times (event time, or entry + window without event).
    """

    rows: IntArray
    dose: IntArray
    entry: FloatArray
    rt: FloatArray
    re: FloatArray
    tb: BoolArray
    eb: BoolArray

    def drop(self, k: int) -> None:
        """Forget the first ``k`` columns (settled)."""
        self.dose, self.entry = self.dose[:, k:], self.entry[:, k:]
        self.rt, self.re = self.rt[:, k:], self.re[:, k:]
        self.tb, self.eb = self.tb[:, k:], self.eb[:, k:]

    def key(self) -> IntArray:
        """bincount keys dose·R + k (dose-major per-dose tallies)."""
        r = self.rows.size
        return np.asarray((self.dose * r + np.arange(r)[:, None]).ravel(), dtype=np.int64)


class _Block:
    """Patient-level arrays of one block of trials and the per-dose tallies (dose-major)."""

    def __init__(self, design: TITEBOIN12, draws: PatientDraws) -> None:
        nt, num, max_n = draws.n_trials, design.num_doses, design.max_n
        self.design = design
        self.draws = draws
        self.num = num
        self.nt = nt
        self.dose = np.full((nt, max_n), -1, dtype=np.int64)
        self.entry = np.full((nt, max_n), np.nan)
        self.rt = np.full((nt, max_n), np.inf)  # toxicity ascertainment time
        self.re = np.full((nt, max_n), np.inf)  # efficacy ascertainment time
        self.tb = np.zeros((nt, max_n), dtype=np.bool_)
        self.eb = np.zeros((nt, max_n), dtype=np.bool_)
        # complete tallies (every treated patient, outcomes as the simulator knows them):
        # n, n_T, n_E, n_TE; then the same over the settled columns (< lo), whose outcomes
        # are all known at every later decision
        self.tally = np.zeros((8, num, nt), dtype=np.int64)
        self.lo = 0

    def enrol(self, rows: IntArray, start: FloatArray, dose: IntArray, m: int, size: int) -> None:
        """Treat a cohort of ``size`` at ``dose`` (0-based); the first enters at ``start``."""
        draws = self.draws
        t_win, e_win = self.design.tox_window, self.design.eff_window
        r = rows.size
        et = np.empty((r, size))
        tt = np.empty((r, size))
        ee = np.empty((r, size))
        for k in range(size):
            i = m + k
            et[:, k] = start if k == 0 else et[:, k - 1] + draws.gaps[rows, i]
            tt[:, k] = draws.tox_time(rows, i, dose)
            ee[:, k] = draws.eff_time(rows, i, dose)
        tb = np.isfinite(tt)
        eb = np.isfinite(ee)
        sl = slice(m, m + size)
        at = self._at(rows)
        self.entry[at, sl] = et
        self.rt[at, sl] = et + np.minimum(tt, 1.0) * t_win
        self.re[at, sl] = et + np.minimum(ee, 1.0) * e_win
        self.dose[at, sl] = dose[:, None]
        self.tb[at, sl] = tb
        self.eb[at, sl] = eb
        flat = dose * self.nt + rows
        self.tally[0].reshape(-1)[flat] += size
        self.tally[1].reshape(-1)[flat] += tb.sum(axis=1)
        self.tally[2].reshape(-1)[flat] += eb.sum(axis=1)
        self.tally[3].reshape(-1)[flat] += (tb & eb).sum(axis=1)

    def _at(self, rows: IntArray) -> IntArray | slice:
        """Index for these trials: a slice (views, no copies) while every trial is running."""
        return slice(None) if rows.size == self.nt else rows

    def window(self, rows: IntArray, m: int) -> _Window:
        """Gather the unsettled columns of these trials."""
        sl = slice(self.lo, m)
        at = self._at(rows)
        return _Window(
            rows,
            self.dose[at, sl],
            self.entry[at, sl],
            self.rt[at, sl],
            self.re[at, sl],
            self.tb[at, sl],
            self.eb[at, sl],
        )

    def settle(self, win: _Window, now: FloatArray) -> None:
        """Move the leading columns whose outcomes are all known (for every trial of the window,
        at its ``now``) to the settled tallies, and drop them from the window."""
        width = win.dose.shape[1]
        if width == 0:
            return
        unres = np.maximum(win.rt, win.re) > now[:, None]
        first = np.where(unres.any(axis=1), unres.argmax(axis=1), width)
        adv = int(first.min())
        if adv == 0:
            return
        rows = win.rows
        head = _Window(
            rows, win.dose[:, :adv], win.entry, win.rt, win.re, win.tb[:, :adv], win.eb[:, :adv]
        )
        key = head.key()
        size = rows.size * self.num
        shape = (self.num, rows.size)
        at = self._at(rows)
        self.tally[4][:, at] += np.bincount(key, minlength=size).reshape(shape)
        self.tally[5][:, at] += _count_bins(key, head.tb, size).reshape(shape)
        self.tally[6][:, at] += _count_bins(key, head.eb, size).reshape(shape)
        self.tally[7][:, at] += _count_bins(key, head.tb & head.eb, size).reshape(shape)
        self.lo += adv
        win.drop(adv)

    def lift_time(self, win: _Window, sel: BoolArray, dose: IntArray, need: IntArray) -> FloatArray:
        """For the window rows ``sel``: the earliest time at which ``need`` patients at ``dose``
        have each endpoint ascertained (the largest over the two endpoints of the need-th
        smallest ascertainment time)."""
        at = win.dose[sel] == dose[:, None]
        k = need - self.tally[4][dose, win.rows[sel]]  # still needed among the window
        ar = np.arange(dose.size)
        kk = np.clip(k - 1, 0, max(win.dose.shape[1] - 1, 0))
        out = np.full(dose.size, -np.inf)
        for times in (win.rt[sel], win.re[sel]):
            srt = np.sort(np.where(at, times, np.inf), axis=1)
            out = np.maximum(out, np.where(k > 0, srt[ar, kk], -np.inf))
        return out

    def summary(
        self, win: _Window, now: FloatArray, consts: Boin12Constants, scale: float
    ) -> tuple[IntArray, _Summary]:
        """Patients per dose and the AL statistics (``al_summary``, spec §4.2) of the window's
        trials at times ``now``."""
        design = self.design
        num = self.num
        rows = win.rows
        r = rows.size
        size = r * num
        shape = (num, r)
        key = win.key()
        nowc = now[:, None]
        kt = win.rt <= nowc
        ke = win.re <= nowc
        # per patient: code 3·ts + es, ts/es = 0 pending, 1 known without, 2 known with event
        ts = kt.view(np.int8) + (kt & win.tb).view(np.int8)
        es = ke.view(np.int8) + (ke & win.eb).view(np.int8)
        code = (3 * ts + es).ravel().astype(np.int64)
        t9 = np.bincount(code * size + key, minlength=9 * size).astype(np.int64)
        t9 = t9.reshape(3, 3, num, r)  # [ts, es, dose, trial]
        by_t, by_e = t9.sum(axis=1), t9.sum(axis=0)
        c_obs_t, c_y_t = by_t[1] + by_t[2], by_t[2]
        c_obs_e, c_y_e = by_e[1] + by_e[2], by_e[2]
        c_f_te = t9[2, 2]
        c_f_t, c_f_e = t9[2, 1] + c_f_te, t9[1, 2] + c_f_te
        c_f_n = t9[1, 1] + t9[1, 2] + t9[2, 1] + c_f_te
        c_pend = by_t.sum(axis=0) - c_f_n

        n, n_t, n_e, n_te, s_n, s_t, s_e, s_te = self.tally[:, :, self._at(rows)]
        obs_t, obs_e = s_n + c_obs_t, s_n + c_obs_e
        y_t, y_e = s_t + c_y_t, s_e + c_y_e

        # the patients with a pending endpoint, as flat lists
        pend = np.flatnonzero((ts == 0).ravel() | (es == 0).ravel())
        p_row = pend // win.dose.shape[1]
        p_key = key[pend]
        p_dose = win.dose.reshape(-1)[pend]
        kt_p, ke_p = kt.reshape(-1)[pend], ke.reshape(-1)[pend]
        follow = np.maximum(now[p_row] - win.entry.reshape(-1)[pend], 0.0)

        # follow-up weights of pending endpoints and the effective sample sizes
        t_win, e_win = design.tox_window, design.eff_window
        w_t = np.where(kt_p, 0.0, np.minimum(follow, t_win) / t_win)
        w_e = np.where(ke_p, 0.0, np.minimum(follow, e_win) / e_win)
        ess_t = obs_t + _fsum_bins(p_key, w_t, size, scale).reshape(shape)
        ess_e = obs_e + _fsum_bins(p_key, w_e, size, scale).reshape(shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_t = y_t / ess_t
            p_e = y_e / ess_e

        # D: the complete-data table where nothing is pending, else x with imputed outcomes
        desir = desirability_table(design, design.max_n)(n, n_t, n_e, n_te)
        has_pend = c_pend > 0
        if pend.size:
            f_n, f_t, f_e, f_te = s_n + c_f_n, s_t + c_f_t, s_e + c_f_e, s_te + c_f_te
            eu = _pending_utility(
                design,
                (p_t, p_e),
                (ess_t, ess_e),
                (p_dose, p_row),
                (w_t, w_e),
                (kt_p, ke_p),
                (win.tb.reshape(-1)[pend], win.eb.reshape(-1)[pend]),
            )
            base = _complete_quasi_events(design, f_n, f_t, f_e, f_te)
            x = base + _fsum_bins(p_key, eu / 100.0, size, scale).reshape(shape)
            desir[has_pend] = np.nan  # filled for the candidate doses by _fill_pending
        else:
            x = np.zeros(shape)

        # admissibility on the current data
        if design.pending_admissibility == "scaled":
            with np.errstate(invalid="ignore", divide="ignore"):
                st = np.where(ess_t > 0, (y_t * n) / ess_t, 0.0)
                se = np.where(ess_e > 0, (y_e * n) / ess_e, np.inf)
            tox_fail = st >= consts.tox_bound[n]
            eff_fail = se <= consts.eff_bound[n]
        else:
            tox_fail, eff_fail = _ess_admissibility(design, n, y_t, y_e, ess_t, ess_e)
        return n, _Summary(p_t, desir, tox_fail, eff_fail, x, has_pend)


def simulate_tite_boin12(
    design: TITEBOIN12, draws: PatientDraws, trace: list[TiteDecision] | None = None
) -> TrialArrays:
    """Simulate a block of TITE-BOIN12 trials; ``trace`` (if given) receives every decision."""
    nt, num = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    consts = boin12_constants(design, max_n)
    table = desirability_table(design, max_n)
    allowed = allowed_pending(float(design.max_pending), max_n)
    scale = _split_scale(max_n)
    permanent = design.admissibility == "permanent"

    blk = _Block(design, draws)
    elim = np.zeros((num, nt), dtype=np.bool_)
    d = np.full(nt, design.start_dose - 1, dtype=np.int64)
    early = np.zeros(nt, dtype=np.bool_)
    waited = np.zeros(nt)
    idx = np.arange(nt)
    gaps = draws.gaps

    m = min(csize, max_n)
    blk.enrol(idx, gaps[:, 0].copy(), d, 0, m)
    while m < max_n:
        dcur = d[idx]
        arrival = blk.entry[idx, m - 1] + gaps[idx, m]
        win = blk.window(idx, m)
        # suspension rule at the arrival (settled columns are never pending)
        at = win.dose == dcur[:, None]
        pt = (at & (win.rt > arrival[:, None])).sum(axis=1)
        pe = (at & (win.re > arrival[:, None])).sum(axis=1)
        nd = blk.tally[0][dcur, idx]
        cap = allowed[nd]
        susp = (pt > cap) | (pe > cap)
        now = arrival.copy()
        if susp.any():
            lift = blk.lift_time(win, susp, dcur[susp], nd[susp] - cap[susp])
            now[susp] = np.maximum(lift, arrival[susp])
            waited[idx[susp]] += now[susp] - arrival[susp]
        blk.settle(win, now)
        n, summ = blk.summary(win, now, consts, scale)
        inadm = inadmissible_doses_vectorised(elim[:, idx], summ.tox_fail, summ.eff_fail)
        adm = ~inadm
        near = neighbours(dcur, n, adm)
        p_d = pick(summ.p_tox, dcur)
        need = desirability_needed(design, consts, dcur, n, p_d, near)
        desir = _fill_pending(design, summ, n, need)
        res = boin12_next_doses(design, consts, dcur, n, p_d, desir, adm, near)
        if permanent:
            elim[:, idx] = inadm
        stop = res.no_admissible | res.n_stop
        if trace is not None:
            action = np.where(
                res.no_admissible, STOP_NO_ADMISSIBLE, np.where(res.n_stop, STOP_N, CONTINUE)
            )
            trace.append(
                TiteDecision(
                    idx.copy(),
                    m,
                    arrival,
                    now,
                    susp,
                    action.astype(np.int64),
                    np.where(res.no_admissible, 0, res.next_dose + 1).astype(np.int64),
                )
            )
        early[idx[res.no_admissible]] = True
        go = ~stop
        idx = idx[go]
        if idx.size == 0:
            break
        d[idx] = res.next_dose[go]
        size = min(csize, max_n - m)
        blk.enrol(idx, now[go], d[idx], m, size)
        m += size

    n, yt, ye, yte = blk.tally[:4]
    selected = final_selection(design, consts, n, yt, ye, yte, elim, table)
    selected[early] = 0
    enrolled = blk.dose >= 0
    last = np.where(enrolled, np.maximum(blk.rt, blk.re), -np.inf).max(axis=1)
    return TrialArrays(
        n=np.ascontiguousarray(n.T),
        tox=np.ascontiguousarray(yt.T),
        eff=np.ascontiguousarray(ye.T),
        selected=selected,
        stopped_early=early,
        duration=last - blk.entry[:, 0],
        suspended=waited,
        dose_seq=np.where(enrolled, blk.dose + 1, 0),
        entry=blk.entry,
    )
