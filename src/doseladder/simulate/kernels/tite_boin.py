"""Vectorised TITE-BOIN trials (spec ``dose-finding.md`` §2; both the imputation and ESS forms).

Decisions are the core's array decision (:meth:`TITEBOIN.decide_arrays
<doseladder.core.designs.base.Design.decide_arrays>` =
:func:`~doseladder.core.designs.arrays.tite_boin.decide_tite_boin`, proven equal to
:meth:`doseladder.core.designs.tite_boin.TITEBOIN.decide` by random testing in
``tests/core/designs/arrays/test_tite_boin.py``; also tested in
``tests/simulate/kernels/test_tite_boin.py`` by rebuilding the state at every decision time);
this module only runs the conduct below.

Trial conduct and timing follow TITEgBOIN 0.4.0 ``R/get_oc_TITE_QuasiBOIN.R`` (Takeda et al.
2022; the simulator behind the reference-results S1 row "TITEgBOIN TITE-BOIN, ESS form"):

* Time unit = that of ``tox_window`` (T); patients arrive as the scenario's accrual process
  (``draws.gaps``; R: ``rexp(1, rate = accrual)``).  The first patient enters at ``gaps[:, 0]``
  (R: time 0); durations are measured from that entry.
* A cohort's dose is decided when its *first* patient arrives; the cohort's other patients
  arrive ``gaps`` apart and receive that dose without a new decision (R: ``t.enter`` of patient
  j > 1 = previous entry + ``rexp``).
* The decision for cohort k + 1 is taken at the arrival of the next patient, ``gaps`` after the
  last entry of cohort k (R: ``t.decision <- t.decision + rexp(1, accrual)``), on the data
  known at that instant: a DLT is observed once ``entry + tox_time <= now``; a patient without
  DLT is complete once ``entry + T <= now`` (R: ``delta = (t.enter + t.event) <= t.decision``).
* Suspension: when the decision is SUSPEND the arriving patient is not enrolled; the decision is
  re-taken at the next arrival (another inter-arrival gap later; R: the ``while (pending == 1)``
  loop drawing a new ``rexp`` each time), until it is not SUSPEND.  These extra gaps come from a
  separate random stream of the block (``PatientDraws.wait_gaps``),
  so the enrolled patients' latent variables stay common to every design.  ``suspended`` is the
  time from the first suspended arrival to the arrival that was enrolled, summed over cohorts.
* The cohort that reaches ``max_n`` ends enrolment.  The trial's end, as in R, is
  ``last entry + max(event time of the patients at the last cohort's dose)`` where the event
  time is the DLT time, or T for a patient without DLT (R: ``t.decision + min(max(t.event[dv ==
  d]), maxt)``); ``duration`` = end − first entry.  A trial stopped early (safety, or
  ``n_earlystop``) ends at the decision time of the stop (R: ``break`` keeps ``t.decision``).
* Final selection: BOIN ``select.mtd`` on the complete data of every treated patient
  (:func:`~doseladder.core.designs.arrays.boin.select_boin`; spec §2.2 step 7); no dose
  after a safety stop.  ``tox`` counts every DLT within the window, pending or not at the end.

Where TITEgBOIN's own conduct differs from the core (the kernel follows the core): TITEgBOIN
checks the extra-safe rule only while the current dose is dose 1; with ``n.earlystop`` reached
it also stops when a de-escalation from dose 1 suspends accrual; its complete-data comparison
``y/n >= λd`` has no exact-integer guard (BOIN's b_d does).  None of these matter for the S1
reference settings (no extra-safe rule, ``n_earlystop`` = 100, irrational λd·n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from doseladder.core.designs.arrays import DoseArrays
from doseladder.core.designs.arrays.tite_boin import (
    WINDOW,
    decide_tite_trial,
    stft_trial,
    tite_tables,
)
from doseladder.core.designs.boin import BOIN, boin_parameters
from doseladder.core.designs.tite_boin import TITEBOIN
from doseladder.jit import compiled_without_refcounts
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = [
    "DEESCALATE",
    "ESCALATE",
    "STAY",
    "STOP",
    "STOP_SAFETY",
    "SUSPEND",
    "Trace",
    "TraceEntry",
    "as_boin",
    "simulate_tite_boin",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

# action codes of one decision (recorded in the optional trace)
STAY, ESCALATE, DEESCALATE, SUSPEND, STOP, STOP_SAFETY = 0, 1, 2, 3, 4, 5


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One decision time of a block: the trials decided, when, and what was decided.

    ``rows`` are trial indices, ``time`` the decision times, ``enrolled`` the number of patients
    enrolled in each of those trials before the decision, ``action`` the action codes and
    ``next_dose`` the 1-based dose of the next cohort (the current dose for SUSPEND / STOP,
    0 after a safety stop).
    """

    rows: IntArray
    time: FloatArray
    enrolled: int
    action: IntArray
    next_dose: IntArray


Trace = list[TraceEntry]


def as_boin(design: TITEBOIN) -> BOIN:
    """The BOIN design with TITE-BOIN's parameters (same boundaries and ``select.mtd``)."""
    return BOIN(**boin_parameters(design))


def simulate_tite_boin(
    design: TITEBOIN, draws: PatientDraws, *, trace: Trace | None = None
) -> TrialArrays:
    """Simulate a block of TITE-BOIN trials (timing of TITEgBOIN, decisions of the core).

    Args:
        design: the TITE-BOIN design.
        draws: the block's latent patients (toxicity, DLT times, inter-arrival gaps).
        trace: if a list is given, one :class:`TraceEntry` is appended per decision step (for
            the equivalence tests).

    Implementation: cohort by cohort over the running trials; a decision step (every running
    trial, then again those suspended, each a wait gap later) is one compiled loop
    (:func:`_decide_step`, the core's :func:`decide_tite_trial` per trial) that allocates
    nothing and is compiled without reference counting; the suspended trials' extra gaps are
    drawn between steps, in the order of the trials, so the ``wait_gaps`` stream is used as
    the rule's order of events dictates.
    """
    nt, j = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    if draws.max_n < max_n or draws.p_tox.shape[0] != j:
        # the compiled loops do not check their indices: refuse draws that do not fit
        raise ValueError(
            f"draws for {draws.max_n} patients and {draws.p_tox.shape[0]} doses do not fit "
            f"a design with max_n = {max_n} and {j} doses"
        )
    big_t = float(design.tox_window)
    wait = draws.wait_gaps()
    gaps = draws.gaps

    rows = np.arange(nt)
    n = np.zeros((nt, j), dtype=np.int64)  # treated per dose
    y = np.zeros((nt, j), dtype=np.int64)  # every DLT (observed by the end) per dose
    cur = np.full(nt, design.start_dose - 1, dtype=np.int64)
    elim_lo = np.full(nt, j, dtype=np.int64)  # lowest eliminated dose (j = none)
    active = np.ones(nt, dtype=bool)
    early = np.zeros(nt, dtype=bool)
    end = np.zeros(nt)
    suspended = np.zeros(nt)
    dose_seq = np.zeros((nt, max_n), dtype=np.int64)  # 1-based dose of each patient, 0 = none
    entry = np.full((nt, max_n), np.nan)
    known_at = np.full((nt, max_n), np.inf)  # when the DLT outcome becomes known
    event = np.zeros((nt, max_n))  # DLT time, or T without DLT (R's t.event)
    is_tox = np.zeros((nt, max_n), dtype=bool)
    # scratch of the decision steps (the compiled loops allocate nothing)
    counts = np.empty((1, 2 * j), dtype=np.int64)
    todo = np.empty(nt, dtype=np.int64)  # positions in idx still waiting for a decision
    go_pos = np.empty(nt, dtype=np.int64)  # positions in idx enrolling, in order of decision
    go_time = np.empty(nt)
    action = np.empty(nt, dtype=np.int64)
    nxt = np.empty(nt, dtype=np.int64)

    def enrol(idx: IntArray, dd: IntArray, start: FloatArray, total: int, size: int) -> None:
        # DLT times (fraction of T; inf exactly when there is no DLT) of the whole cohort
        cols = np.arange(total, total + size)[None, :]
        frac = draws.tox_time(idx[:, None], cols, np.repeat(dd[:, None], size, axis=1))
        _store(
            idx, total, dd, start, frac, gaps, big_t,
            entry, known_at, event, is_tox, dose_seq, y, n,
        )  # fmt: skip

    table, bd, params = tite_tables(design, max_n)

    # first cohort at the start dose
    total = min(csize, max_n)
    enrol(rows, cur.copy(), gaps[:, 0], 0, total)
    while total < max_n:
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        size = min(csize, max_n - total)
        t = entry[idx, total - 1] + gaps[idx, total]
        first_t = t.copy()
        waiting = idx.size
        todo[:waiting] = np.arange(waiting)
        moved = 0
        while waiting:
            if trace is not None:
                sub = idx[todo[:waiting]]
                tt = t[todo[:waiting]]
            decided = waiting
            waiting, moved = _decide_step(
                idx, todo, decided, t, first_t, total, n, y, dose_seq, entry, known_at, is_tox,
                cur, elim_lo, table, bd, params, counts, active, early, end, suspended,
                go_pos, go_time, moved, action, nxt,
            )  # fmt: skip
            if trace is not None:
                a = action[:decided].copy()
                shown = np.where(a == SUSPEND, cur[sub], nxt[:decided]) + 1
                trace.append(TraceEntry(sub, tt, total, a, shown))
            if waiting:
                pos = todo[:waiting]
                t[pos] = t[pos] + wait(waiting)
        if moved:
            pos = go_pos[:moved]
            tacc = go_time[:moved]
            grow = idx[pos]
            suspended[grow] += tacc - first_t[pos]
            enrol(grow, cur[grow], tacc, total, size)
        total += size

    _end_of_full_trials(active, cur, entry, event, dose_seq, end)
    # the core's select_mtd compares the posterior too: same extra-safe table as in the trial
    selected = design.select_arrays(DoseArrays.complete(n.T, y.T, cur))
    selected[early] = 0
    return TrialArrays(
        n=n,
        tox=y,
        eff=np.zeros_like(n),
        selected=selected,
        stopped_early=early,
        duration=end - entry[:, 0],
        suspended=suspended,
        dose_seq=dose_seq,
        entry=entry,
    )


@compiled_without_refcounts
def _decide_step(
    idx: IntArray, todo: IntArray, waiting: int, now: FloatArray, first_t: FloatArray, k: int,
    n: IntArray, y: IntArray, dose_seq: IntArray, entry: FloatArray, known_at: FloatArray,
    is_tox: NDArray[np.bool_], cur: IntArray, elim_lo: IntArray, table: IntArray, bd: IntArray,
    params: FloatArray, counts: IntArray, active: NDArray[np.bool_], early: NDArray[np.bool_],
    end: FloatArray, suspended: FloatArray, go_pos: IntArray, go_time: FloatArray, moved: int,
    action: IntArray, nxt: IntArray,
) -> tuple[int, int]:  # fmt: skip
    """One decision step: :func:`decide_tite_trial` for the trials ``idx[todo[:waiting]]`` at
    times ``now[todo]`` on the first ``k`` patients -- treated per dose, DLTs observed by then
    (``known_at <= now``), the pending patients and STFT at the current dose
    (:func:`stft_trial`) -- and its effect: the lowest eliminated dose recorded; a stop ends
    the trial (at ``now``; ``early`` when without a dose); a move sets the dose and appends the
    position and time to ``go_pos`` / ``go_time`` (from ``moved`` on); a suspension keeps the
    position in ``todo`` (compacted in order).  ``action`` / ``nxt`` receive each decision (for
    the trace; ``STOP_SAFETY`` for a stop without a dose).  Returns the number still waiting and
    the new number moved."""
    num = n.shape[1]
    window = params[WINDOW]
    still = 0
    for i in range(waiting):
        p = todo[i]
        r = idx[p]
        t = now[p]
        for jj in range(num):
            counts[0, jj] = n[r, jj]
            counts[0, num + jj] = y[r, jj]
        # outcomes can be pending only from the first patient entered less than T before t
        # (entries never decrease; known_at <= entry + T, the same sum for a patient without
        # DLT): the columns before it are all known
        first = k
        while first > 0 and entry[r, first - 1] + window > t:
            first -= 1
        for col in range(first, k):
            if is_tox[r, col] and known_at[r, col] > t:
                counts[0, num + dose_seq[r, col] - 1] -= 1  # a DLT not yet observed
        d = cur[r]
        # (1-based doses: stft_trial only compares them with the current dose)
        c, stft = stft_trial(dose_seq, entry, known_at, t, d + 1, window, r, first, k)
        a, nx, _, lo = decide_tite_trial(counts, 0, d, elim_lo[r], c, stft, table, bd, params)
        elim_lo[r] = lo
        stop = a == STOP
        if stop and nx < 0:
            a = STOP_SAFETY
        action[i] = a
        nxt[i] = nx
        if a == SUSPEND:
            todo[still] = p
            still += 1
        elif stop:
            active[r] = False
            early[r] = a == STOP_SAFETY
            end[r] = t
            suspended[r] += t - first_t[p]
        else:
            cur[r] = nx
            go_pos[moved] = p
            go_time[moved] = t
            moved += 1
    return still, moved


@compiled_without_refcounts
def _end_of_full_trials(
    active: NDArray[np.bool_], cur: IntArray, entry: FloatArray, event: FloatArray,
    dose_seq: IntArray, end: FloatArray,
) -> None:  # fmt: skip
    """``end`` of the trials that reached max_n (still ``active``): last entry + the largest
    event time (DLT time, or T) of the patients at the last cohort's dose (R: ``t.decision +
    min(max(t.event[dv == d]), maxt)``)."""
    last = entry.shape[1] - 1
    for r in range(active.shape[0]):
        if active[r]:
            worst = -np.inf
            for i in range(last + 1):
                if dose_seq[r, i] == cur[r] + 1 and event[r, i] > worst:
                    worst = event[r, i]
            end[r] = entry[r, last] + worst


@compiled_without_refcounts
def _store(
    idx: IntArray,
    total: int,
    dd: IntArray,
    start: FloatArray,
    frac: FloatArray,
    gaps: FloatArray,
    big_t: float,
    entry: FloatArray,
    known_at: FloatArray,
    event: FloatArray,
    is_tox: NDArray[np.bool_],
    dose_seq: IntArray,
    y: IntArray,
    n: IntArray,
) -> None:
    """Enrol a cohort: patients ``total ..`` of the trials ``idx`` on doses ``dd``, the first
    entering at ``start`` and each next one ``gaps`` later, with DLT times ``frac[:, m]``
    (fraction of the window T; ``inf`` = no DLT)."""
    size = frac.shape[1]
    for k in range(idx.shape[0]):
        r = idx[k]
        d = dd[k]
        t = start[k]
        for m in range(size):
            i = total + m
            if m:
                t = t + gaps[r, i]
            f = frac[k, m]
            tx = np.isfinite(f)
            entry[r, i] = t
            known_at[r, i] = t + f * big_t if tx else t + big_t
            event[r, i] = f * big_t if tx else big_t
            is_tox[r, i] = tx
            dose_seq[r, i] = d + 1
            if tx:
                y[r, d] += 1
        n[r, d] += size
