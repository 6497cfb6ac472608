"""Vectorised TITE-BOIN12 trials, approximated-likelihood method (spec ``dose-finding.md`` §4).

Decisions are the core's array rule at each decision time
(:func:`~doseladder.core.designs.arrays.tite_boin12.decide_one`, which
:meth:`TITEBOIN12.decide_arrays <doseladder.core.designs.base.Design.decide_arrays>` runs for
many trials: the AL statistics of spec §4.2 and the BOIN12 rules, proven equal to
``design.decide(state, now)`` by random testing in ``tests/core/designs/arrays/
test_tite_boin12.py``) and the selection BOIN12's
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

Every option of :class:`TITEBOIN12` is supported (none raises).  Implementation: one compiled
loop over the trials (:func:`_run_trials`, Numba) that runs each trial's conduct -- enrolment
with the latent patients' outcomes (:class:`~doseladder.simulate.latent.PatientDraws`: a DLT
iff ``u_tox < p_tox[d]``, a response iff ``u_eff`` is below the response probability given the
DLT outcome, event times from :meth:`~doseladder.simulate.latent.PatientDraws.event_fractions`),
the suspension and the time it ends, and at each decision time the core's compiled rule
:func:`~doseladder.core.designs.arrays.tite_boin12.decide_one` on the trial's counts and its
patients whose outcomes may still be pending.  The final selection runs once for all trials.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numba import njit
from numpy.typing import NDArray

from doseladder.core.designs.arrays import STOP, SUSPEND, DoseArrays
from doseladder.core.designs.arrays.boin12 import ST_ELIM, ST_PRIOR, ST_ROWS
from doseladder.core.designs.arrays.tite_boin12 import (
    allowed_pending,
    decide_one,
    exact_memo,
    tite_rule,
)
from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.jit import compiled_inline
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
F = TypeVar("F", bound=Callable[..., Any])

#: action codes of :class:`TiteDecision`
CONTINUE, STOP_NO_ADMISSIBLE, STOP_N = 0, 1, 2


def _compiled_numpy_errors(fn: F) -> F:
    """:func:`doseladder.jit.compiled` with numpy's floating-point error model, that of the
    inlined rule :func:`~doseladder.core.designs.arrays.tite_boin12.decide_one` (x/0 gives
    ±inf or NaN)."""
    return njit(cache=True, nogil=True, error_model="numpy")(fn)  # type: ignore[return-value]


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


@compiled_inline
def _kth_time(times: Any, dose: Any, flag: Any, use_flag: bool, t: int, d: int, m: int, k: int,
              buf: Any) -> float:  # fmt: skip
    """The k-th smallest of ``times[t, :m]`` over the patients at dose ``d`` (with ``flag``
    set if ``use_flag``); +inf if there are fewer than k, -inf if k <= 0."""
    if k <= 0:
        return -np.inf
    size = 0
    for i in range(m):
        if dose[t, i] == d and (flag[t, i] or not use_flag):
            v = times[t, i]
            pos = size  # insertion sort: at most max_n values
            while pos > 0 and buf[pos - 1] > v:
                buf[pos] = buf[pos - 1]
                pos -= 1
            buf[pos] = v
            size += 1
    return buf[k - 1] if k <= size else np.inf


@_compiled_numpy_errors
def _run_trials(
    gaps: Any, u_tox: Any, u_eff: Any, f_tox: Any, f_eff: Any, p_tox: Any, pe_t: Any,
    pe_nt: Any, csize: int, start: int, t_win: float, e_win: float, lam_d: float,
    ti: Any, tp: Any, rules: Any, allowed: Any, table: Any, exact: Any, entry: Any, rt: Any,
    re: Any, doses: Any, tb: Any, eb: Any, tally: Any,
    elim: Any, early: Any, waited: Any, tr_arrival: Any, tr_time: Any, tr_susp: Any,
    tr_action: Any, tr_next: Any, ndec: Any,
) -> None:  # fmt: skip
    """Every trial of the block, one after the other (see the module docstring)."""
    nt, max_n = gaps.shape
    num = p_tox.shape[0]
    deesc = ti[1] != 0
    # n, DLTs, responses, both, pending toxicity / efficacy outcomes; scratch (decide_one)
    cnt = np.zeros((9, num), dtype=np.int64)
    fw = np.empty((11, num))
    # the trial's packed statistics (``stats_scratch``); row ST_PRIOR: the eliminations
    # recorded so far
    st = np.zeros((ST_ROWS, num))
    buf = np.empty(max_n)
    tdose = f_tox.shape[0] > 1
    edose = f_eff.shape[0] > 1
    for t in range(nt):
        for dd in range(num):
            cnt[0, dd] = 0
            st[ST_PRIOR, dd] = 0.0
        d = start
        m = 0
        size = min(csize, max_n)
        at = gaps[t, 0]
        lo = 0  # patients before lo have every outcome known (at the last decision time)
        j = 0
        while True:
            # --- enrol a cohort of ``size`` at dose d, the first entering at ``at``
            for c in range(size):
                i = m + c
                if c > 0:
                    at = at + gaps[t, i]
                tox = u_tox[t, i] < p_tox[d]
                eff = u_eff[t, i] < (pe_t[d] if tox else pe_nt[d])
                ft = f_tox[d if tdose else 0, t, i] if tox else np.inf
                fe = f_eff[d if edose else 0, t, i] if eff else np.inf
                entry[t, i] = at
                rt[t, i] = at + min(ft, 1.0) * t_win
                re[t, i] = at + min(fe, 1.0) * e_win
                doses[t, i] = d
                tb[t, i] = tox
                eb[t, i] = eff
                cnt[0, d] += 1
            m += size
            if m >= max_n:
                break
            # --- the next patient arrives: suspended while too many outcomes are pending
            arrival = entry[t, m - 1] + gaps[t, m]
            nd = cnt[0, d]
            pt = 0
            pe = 0
            for i in range(lo, m):
                if doses[t, i] == d:
                    if rt[t, i] > arrival:
                        pt += 1
                    if re[t, i] > arrival:
                        pe += 1
            cap = allowed[nd]
            susp = pt > cap or pe > cap
            now = arrival
            t_obs = np.inf
            if deesc and susp:
                # the earliest time the observed DLTs at d reach λd·nd (the core's test)
                need = -1
                for k in range(nd + 1):
                    if k / nd >= lam_d:
                        need = k
                        break
                if need >= 0:
                    t_obs = _kth_time(rt, doses, tb, True, t, d, m, need, buf)
                if t_obs <= arrival:
                    susp = False
            if susp:
                lift = max(
                    _kth_time(rt, doses, tb, False, t, d, m, nd - cap, buf),
                    _kth_time(re, doses, tb, False, t, d, m, nd - cap, buf),
                )
                now = min(max(lift, arrival), t_obs)
                waited[t] += now - arrival
            # --- the decision at ``now``: counts and the patients with a pending outcome
            while lo < m and max(rt[t, lo], re[t, lo]) <= now:
                lo += 1
            for k in range(1, 6):
                for dd in range(num):
                    cnt[k, dd] = 0
            for i in range(m):
                dd = doses[t, i]
                kt = rt[t, i] <= now
                ke = re[t, i] <= now
                if kt:
                    if tb[t, i]:
                        cnt[1, dd] += 1
                else:
                    cnt[4, dd] += 1
                if ke:
                    if eb[t, i]:
                        cnt[2, dd] += 1
                else:
                    cnt[5, dd] += 1
                if kt and ke and tb[t, i] and eb[t, i]:
                    cnt[3, dd] += 1
            action, nxt, _ = decide_one(
                cnt, doses, entry, rt, re, tb, eb, t, lo, m, now, d, st, ti, tp, rules,
                allowed, table, exact, fw,
            )  # fmt: skip
            for dd in range(num):
                st[ST_PRIOR, dd] = st[ST_ELIM, dd]
            # a zero effective sample size at the current dose (suspension
            # ``no_information``) needs a zero inter-arrival gap: not modelled, the cohort
            # is treated at the dose
            if action == SUSPEND:
                nxt = d
            stop = action == STOP
            no_adm = stop and nxt < 0
            tr_arrival[t, j] = arrival
            tr_time[t, j] = now
            tr_susp[t, j] = susp
            tr_action[t, j] = STOP_NO_ADMISSIBLE if no_adm else (STOP_N if stop else CONTINUE)
            tr_next[t, j] = 0 if no_adm else nxt + 1
            j += 1
            if stop:
                early[t] = no_adm
                break
            d = nxt
            size = min(csize, max_n - m)
            at = now
        ndec[t] = j
        # complete tallies (dose-major) and the recorded eliminations
        for i in range(m):
            dd = doses[t, i]
            tally[0, dd, t] += 1
            if tb[t, i]:
                tally[1, dd, t] += 1
            if eb[t, i]:
                tally[2, dd, t] += 1
                if tb[t, i]:
                    tally[3, dd, t] += 1
        for k in range(num):
            elim[k, t] = st[ST_PRIOR, k] != 0


def _cohort_sizes(csize: int, max_n: int) -> list[int]:
    """Patients enrolled before each decision: the decisions' ``enrolled``."""
    sizes, m = [], min(csize, max_n)
    while m < max_n:
        sizes.append(m)
        m += min(csize, max_n - m)
    return sizes


def simulate_tite_boin12(
    design: TITEBOIN12, draws: PatientDraws, trace: list[TiteDecision] | None = None
) -> TrialArrays:
    """Simulate a block of TITE-BOIN12 trials; ``trace`` (if given) receives every decision."""
    nt, num = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    rule = tite_rule(design, max_n, max_n)
    steps = max(len(_cohort_sizes(csize, max_n)), 1)

    dose = np.full((nt, max_n), -1, dtype=np.int64)
    entry = np.full((nt, max_n), np.nan)
    rt = np.full((nt, max_n), np.inf)  # toxicity ascertainment time
    re = np.full((nt, max_n), np.inf)  # efficacy ascertainment time
    tb = np.zeros((nt, max_n), dtype=np.bool_)
    eb = np.zeros((nt, max_n), dtype=np.bool_)
    tally = np.zeros((4, num, nt), dtype=np.int64)  # n, n_T, n_E, n_TE (dose-major)
    elim = np.zeros((num, nt), dtype=np.bool_)
    early = np.zeros(nt, dtype=np.bool_)
    waited = np.zeros(nt)
    tr_arrival = np.zeros((nt, steps))
    tr_time = np.zeros((nt, steps))
    tr_susp = np.zeros((nt, steps), dtype=np.bool_)
    tr_action = np.zeros((nt, steps), dtype=np.int64)
    tr_next = np.zeros((nt, steps), dtype=np.int64)
    ndec = np.zeros(nt, dtype=np.int64)
    _run_trials(
        np.ascontiguousarray(draws.gaps), draws.u_tox, draws.u_eff,
        draws.event_fractions("tox"), draws.event_fractions("eff"), draws.p_tox,
        np.asarray(draws.p_eff_given_tox, dtype=np.float64),
        np.asarray(draws.p_eff_given_no_tox, dtype=np.float64), csize,
        design.start_dose - 1, float(design.tox_window), float(design.eff_window),
        float(design.lambda_d), rule.ints, rule.floats, rule.rules, rule.allowed, rule.table,
        exact_memo(), entry, rt, re, dose, tb, eb, tally, elim, early, waited, tr_arrival,
        tr_time, tr_susp, tr_action, tr_next, ndec,
    )  # fmt: skip
    if trace is not None:
        for k, m in enumerate(_cohort_sizes(csize, max_n)):
            rows = np.flatnonzero(ndec > k)
            if rows.size == 0:
                break
            trace.append(
                TiteDecision(
                    rows,
                    m,
                    tr_arrival[rows, k],
                    tr_time[rows, k],
                    tr_susp[rows, k],
                    tr_action[rows, k],
                    tr_next[rows, k],
                )
            )

    n, yt, ye, yte = tally
    zeros = np.zeros((num, nt), dtype=np.int64)
    selected = design.select_arrays(DoseArrays(n, yt, zeros, ye, zeros, yte, zeros[0], elim))
    selected[early] = 0
    enrolled = dose >= 0
    last = np.where(enrolled, np.maximum(rt, re), -np.inf).max(axis=1)
    return TrialArrays(
        n=np.ascontiguousarray(n.T),
        tox=np.ascontiguousarray(yt.T),
        eff=np.ascontiguousarray(ye.T),
        selected=selected,
        stopped_early=early,
        duration=last - entry[:, 0],
        suspended=waited,
        dose_seq=np.where(enrolled, dose + 1, 0),
        entry=entry,
    )
