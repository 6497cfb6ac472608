"""Vectorised TITE-BOIN12 trials, approximated-likelihood method (spec ``dose-finding.md`` §4).

Decisions are the core's array decision at each decision time (:meth:`TITEBOIN12.decide_arrays
<doseladder.core.designs.base.Design.decide_arrays>` =
:func:`~doseladder.core.designs.arrays.tite_boin12.decide_tite_boin12`: the AL statistics of
spec §4.2 and the BOIN12 rules, proven equal to ``design.decide(state, now)`` by random testing
in ``tests/core/designs/arrays/test_tite_boin12.py``) and the selection BOIN12's
(:func:`~doseladder.core.designs.arrays.boin12.select_boin12`); also tested here on simulated
histories (``tests/simulate/kernels/test_tite_boin12.py``).  This module only runs the
conduct: who is enrolled when, and when a suspension ends.  Doses with no pending outcome use
the complete-data desirability table; hence with every outcome complete at every decision
(accrual slower than the windows) the kernel gives exactly the BOIN12 kernel's results on the
same seed.

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
  none.  ``suspended`` is the total of these waits.  With ``deescalate_on_observed`` the wait
  ends as soon as the observed DLTs at the current dose reach λd·n (or there is none if they
  already do at the arrival), and the core's rules then de-escalate.
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

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from doseladder.core.designs.arrays import STOP, SUSPEND, DoseArrays, PatientArrays
from doseladder.core.designs.arrays.tite_boin12 import allowed_pending
from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.jit import compiled
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


@compiled
def _known_counts(
    dose: Any, rt: Any, re: Any, tb: Any, eb: Any, now: Any,
    obs_t: Any, obs_e: Any, y_t: Any, y_e: Any, both: Any,
) -> None:  # fmt: skip
    """Add each window patient's outcomes known at its trial's ``now`` to the per-dose
    (dose-major) counts: ascertained toxicity / efficacy, DLTs, responses, both."""
    rows, width = dose.shape
    for r in range(rows):
        t = now[r]
        for c in range(width):
            d = dose[r, c]
            kt = rt[r, c] <= t
            ke = re[r, c] <= t
            if kt:
                obs_t[d, r] += 1
                if tb[r, c]:
                    y_t[d, r] += 1
            if ke:
                obs_e[d, r] += 1
                if eb[r, c]:
                    y_e[d, r] += 1
            if kt and ke and tb[r, c] and eb[r, c]:
                both[d, r] += 1


@compiled
def _add_counts(rows: Any, dose: Any, tb: Any, eb: Any, tally: Any, base: int) -> None:
    """Add the patients (columns) of ``dose``/``tb``/``eb`` to the tallies ``tally[base ..
    base + 3]`` (n, DLTs, responses, both) of trials ``rows``."""
    width = dose.shape[1]
    for r in range(rows.size):
        k = rows[r]
        for c in range(width):
            d = dose[r, c]
            tally[base, d, k] += 1
            if tb[r, c]:
                tally[base + 1, d, k] += 1
            if eb[r, c]:
                tally[base + 2, d, k] += 1
                if tb[r, c]:
                    tally[base + 3, d, k] += 1


@compiled
def _record(
    rows: Any, et: Any, tt: Any, ee: Any, dose: Any, m: int, t_win: float, e_win: float,
    entry: Any, rt: Any, re: Any, doses: Any, tb: Any, eb: Any, tally: Any,
) -> None:  # fmt: skip
    """Record a cohort (columns m.. of trials ``rows``, entry times ``et``, event times ``tt``
    / ``ee`` as fractions of the window, inf = no event) and add it to the complete tallies
    ``tally[0..3]``: ascertainment time = entry + min(fraction, 1)·window."""
    size = et.shape[1]
    for r in range(rows.size):
        k = rows[r]
        d = dose[r]
        for c in range(size):
            i = m + c
            t_ev = np.isfinite(tt[r, c])
            e_ev = np.isfinite(ee[r, c])
            entry[k, i] = et[r, c]
            rt[k, i] = et[r, c] + np.minimum(tt[r, c], 1.0) * t_win
            re[k, i] = et[r, c] + np.minimum(ee[r, c], 1.0) * e_win
            doses[k, i] = d
            tb[k, i] = t_ev
            eb[k, i] = e_ev
            tally[0, d, k] += 1
            if t_ev:
                tally[1, d, k] += 1
            if e_ev:
                tally[2, d, k] += 1
                if t_ev:
                    tally[3, d, k] += 1


@compiled
def _pending_at(dose: Any, rt: Any, re: Any, current: Any, time: Any, pt: Any, pe: Any) -> None:
    """Per trial: patients at the current dose with toxicity (``pt``) / efficacy (``pe``)
    outcome not yet ascertained at ``time``."""
    rows, width = dose.shape
    for r in range(rows):
        a, b = 0, 0
        for c in range(width):
            if dose[r, c] == current[r]:
                if rt[r, c] > time[r]:
                    a += 1
                if re[r, c] > time[r]:
                    b += 1
        pt[r] = a
        pe[r] = b


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
        for k in range(size):
            et[:, k] = start if k == 0 else et[:, k - 1] + draws.gaps[rows, m + k]
        # the whole cohort at once (elementwise: the same values as patient by patient)
        rr, cols, dd = rows[:, None], np.arange(m, m + size)[None, :], dose[:, None]
        tt = draws.tox_time(rr, cols, dd)
        ee = draws.eff_time(rr, cols, dd)
        _record(rows, et, tt, ee, dose, m, float(t_win), float(e_win), self.entry, self.rt,
                self.re, self.dose, self.tb, self.eb, self.tally)  # fmt: skip

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
        _add_counts(win.rows, win.dose[:, :adv], win.tb[:, :adv], win.eb[:, :adv], self.tally, 4)
        self.lo += adv
        win.drop(adv)

    def observed_deescalation_time(
        self, win: _Window, at: BoolArray, dose: IntArray, nd: IntArray
    ) -> FloatArray:
        """``deescalate_on_observed``: for every window row, the earliest time at which the
        observed DLTs at ``dose`` (``at``: the window's patients there; ``nd`` patients in all)
        reach λd·nd -- the core's test count/nd >= λd, evaluated on the same floats --
        (+inf if the DLTs that will occur never reach it)."""
        lam = self.design.lambda_d
        top = int(nd.max(initial=0))
        counts = np.arange(top + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            reach = counts[None, :] / nd[:, None] >= lam
        reach &= counts[None, :] <= nd[:, None]
        need = np.where(reach.any(axis=1), np.argmax(reach, axis=1), np.iinfo(np.int64).max)
        k = need - self.tally[5][dose, win.rows]  # DLTs still to be observed in the window
        width = win.dose.shape[1]
        srt = np.sort(np.where(at & win.tb, win.rt, np.inf), axis=1)
        srt = np.concatenate([srt, np.full((srt.shape[0], 1), np.inf)], axis=1)
        pos = np.clip(k - 1, 0, width)
        out = srt[np.arange(dose.size), pos]
        return np.where(k <= 0, -np.inf, out)

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

    def dose_arrays(
        self, win: _Window, now: FloatArray, current: IntArray, eliminated: BoolArray
    ) -> DoseArrays:
        """The window's trials at times ``now`` as the core's :class:`DoseArrays`: per-dose
        counts (settled tallies plus the window's known outcomes) and, as ``patients``, the
        window's patients (every patient whose outcome may still be pending)."""
        rows = win.rows
        n, _, _, _, s_n, s_t, s_e, s_te = self.tally[:, :, self._at(rows)]
        obs_t, obs_e = s_n.copy(), s_n.copy()
        y_t, y_e, both = s_t.copy(), s_e.copy(), s_te.copy()
        _known_counts(win.dose, win.rt, win.re, win.tb, win.eb, now, obs_t, obs_e, y_t, y_e, both)
        pts = PatientArrays(win.dose, win.entry, win.rt, win.re, win.tb, win.eb, now)
        return DoseArrays(n, y_t, n - obs_t, y_e, n - obs_e, both, current, eliminated, pts)


def simulate_tite_boin12(
    design: TITEBOIN12, draws: PatientDraws, trace: list[TiteDecision] | None = None
) -> TrialArrays:
    """Simulate a block of TITE-BOIN12 trials; ``trace`` (if given) receives every decision."""
    nt, num = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    allowed = allowed_pending(float(design.max_pending), max_n)

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
        # the core's suspension rule at the arrival (settled columns are never pending): the
        # decision waits until enough outcomes are known (conduct; the core's table)
        pt = np.empty(idx.size, dtype=np.int64)
        pe = np.empty(idx.size, dtype=np.int64)
        _pending_at(win.dose, win.rt, win.re, dcur, arrival, pt, pe)
        nd = blk.tally[0][dcur, idx]
        cap = allowed[nd]
        susp = (pt > cap) | (pe > cap)
        now = arrival.copy()
        t_obs = np.full(idx.size, np.inf)
        if design.deescalate_on_observed and susp.any():
            at = win.dose == dcur[:, None]
            t_obs = blk.observed_deescalation_time(win, at, dcur, nd)
            susp &= ~(t_obs <= arrival)
        if susp.any():
            lift = blk.lift_time(win, susp, dcur[susp], nd[susp] - cap[susp])
            now[susp] = np.minimum(np.maximum(lift, arrival[susp]), t_obs[susp])
            waited[idx[susp]] += now[susp] - arrival[susp]
        blk.settle(win, now)
        dec = design.decide_arrays(blk.dose_arrays(win, now, dcur, elim[:, idx]))
        elim[:, idx] = dec.eliminated
        # a zero effective sample size at the current dose (suspension ``no_information``)
        # needs a zero inter-arrival gap: not modelled, the cohort is treated at the dose
        nxt = np.where(dec.action == SUSPEND, dcur, dec.next_dose)
        stop = dec.action == STOP
        no_adm = stop & (nxt < 0)
        if trace is not None:
            action = np.where(no_adm, STOP_NO_ADMISSIBLE, np.where(stop, STOP_N, CONTINUE))
            trace.append(
                TiteDecision(
                    idx.copy(),
                    m,
                    arrival,
                    now,
                    susp,
                    action.astype(np.int64),
                    np.where(no_adm, 0, nxt + 1).astype(np.int64),
                )
            )
        early[idx[no_adm]] = True
        go = ~stop
        idx = idx[go]
        if idx.size == 0:
            break
        d[idx] = nxt[go]
        size = min(csize, max_n - m)
        blk.enrol(idx, now[go], d[idx], m, size)
        m += size

    n, yt, ye, yte = blk.tally[:4]
    zeros = np.zeros((num, nt), dtype=np.int64)
    selected = design.select_arrays(DoseArrays(n, yt, zeros, ye, zeros, yte, zeros[0], elim))
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
