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
from doseladder.jit import compiled
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
    """
    nt, j = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
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
    dose_seq = np.zeros((nt, max_n), dtype=np.int64)
    dose0 = np.full((nt, max_n), j, dtype=np.int64)  # 0-based dose, j = no patient
    entry = np.full((nt, max_n), np.nan)
    known_at = np.full((nt, max_n), np.inf)  # when the DLT outcome becomes known
    event = np.zeros((nt, max_n))  # DLT time, or T without DLT (R's t.event)
    is_tox = np.zeros((nt, max_n), dtype=bool)

    def enrol(idx: IntArray, dd: IntArray, start: FloatArray, total: int, size: int) -> None:
        # DLT times (fraction of T; inf exactly when there is no DLT), patient by patient
        frac = np.stack([draws.tox_time(idx, total + m, dd) for m in range(size)])
        _store(
            idx, total, dd, start, frac, gaps, big_t,
            entry, known_at, event, is_tox, dose0, dose_seq, y, n,
        )  # fmt: skip

    table, bd, params = tite_tables(design, max_n)

    def decide(idx: IntArray, t: FloatArray, k: int) -> tuple[IntArray, IntArray, IntArray]:
        """The core's compiled decision (:func:`decide_tite_trial`) at times ``t``: action
        (``STOP_SAFETY`` for a stop without a dose), next dose (0-based) and lowest eliminated
        dose."""
        return _decide_round(
            idx, t, k, n, y, dose0, entry, known_at, is_tox, cur, elim_lo, table, bd, params
        )

    # first cohort at the start dose
    total = min(csize, max_n)
    enrol(rows, cur.copy(), gaps[:, 0], 0, total)
    while total < max_n:
        idx = rows[active]
        if idx.size == 0:
            break
        size = min(csize, max_n - total)
        t = entry[idx, total - 1] + gaps[idx, total]
        first_t = t.copy()
        todo = np.arange(idx.size)  # positions in idx still waiting for a decision
        go_pos: list[IntArray] = []
        go_time: list[FloatArray] = []
        while todo.size:
            sub = idx[todo]
            tt = t[todo]
            action, nxt, elo = decide(sub, tt, total)
            elim_lo[sub] = elo
            if trace is not None:
                shown = np.where(action == SUSPEND, cur[sub], nxt) + 1
                trace.append(TraceEntry(sub, tt, total, action, shown))
            wait_mask = action == SUSPEND
            stop = (action == STOP) | (action == STOP_SAFETY)
            if stop.any():
                srows = sub[stop]
                active[srows] = False
                early[srows] = action[stop] == STOP_SAFETY
                end[srows] = tt[stop]
                suspended[srows] += tt[stop] - first_t[todo[stop]]
            move = ~wait_mask & ~stop
            if move.any():
                cur[sub[move]] = nxt[move]
                go_pos.append(todo[move])
                go_time.append(tt[move])
            todo = todo[wait_mask]
            if todo.size:
                t[todo] = t[todo] + wait(todo.size)
        if go_pos:
            pos = np.concatenate(go_pos)
            tacc = np.concatenate(go_time)
            grow = idx[pos]
            suspended[grow] += tacc - first_t[pos]
            enrol(grow, cur[grow], tacc, total, size)
        total += size

    # trials that reached max_n: last entry + max event time at the last cohort's dose
    full = rows[active]
    if full.size:
        last = entry[full, max_n - 1]
        same = dose0[full] == cur[full][:, None]
        end[full] = last + np.where(same, event[full], -np.inf).max(axis=1)
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


@compiled
def _decide_round(
    idx: IntArray,
    now: FloatArray,
    k: int,
    n: IntArray,
    y: IntArray,
    dose0: IntArray,
    entry: FloatArray,
    known_at: FloatArray,
    is_tox: NDArray[np.bool_],
    cur: IntArray,
    elim_lo: IntArray,
    table: IntArray,
    bd: IntArray,
    params: FloatArray,
) -> tuple[IntArray, IntArray, IntArray]:
    """:func:`decide_tite_trial` for the trials ``idx`` at times ``now`` on the first ``k``
    patients: treated per dose, DLTs observed by ``now`` (``known_at <= now``), the pending
    patients and STFT at the current dose (:func:`stft_trial`)."""
    m = idx.shape[0]
    num = n.shape[1]
    action = np.empty(m, dtype=np.int64)
    nxt = np.empty(m, dtype=np.int64)
    low = np.empty(m, dtype=np.int64)
    counts = np.empty((1, 2 * num), dtype=np.int64)
    window = params[WINDOW]
    for i in range(m):
        r = idx[i]
        for jj in range(num):
            counts[0, jj] = n[r, jj]
            counts[0, num + jj] = y[r, jj]
        for col in range(k):
            if is_tox[r, col] and known_at[r, col] > now[i]:
                counts[0, num + dose0[r, col]] -= 1  # a DLT not yet observed
        d = cur[r]
        c, stft = stft_trial(dose0, entry, known_at, now[i], d, window, r, k)
        a, nx, _, lo = decide_tite_trial(counts, 0, d, elim_lo[r], c, stft, table, bd, params)
        action[i] = STOP_SAFETY if a == STOP and nx < 0 else a
        nxt[i] = nx
        low[i] = lo
    return action, nxt, low


@compiled
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
    dose0: IntArray,
    dose_seq: IntArray,
    y: IntArray,
    n: IntArray,
) -> None:
    """Enrol a cohort: patients ``total ..`` of the trials ``idx`` on doses ``dd``, the first
    entering at ``start`` and each next one ``gaps`` later, with DLT times ``frac[m]``
    (fraction of the window T; ``inf`` = no DLT)."""
    size = frac.shape[0]
    for k in range(idx.shape[0]):
        r = idx[k]
        d = dd[k]
        t = start[k]
        for m in range(size):
            i = total + m
            if m:
                t = t + gaps[r, i]
            f = frac[m, k]
            tx = np.isfinite(f)
            entry[r, i] = t
            known_at[r, i] = t + f * big_t if tx else t + big_t
            event[r, i] = f * big_t if tx else big_t
            is_tox[r, i] = tx
            dose0[r, i] = d
            dose_seq[r, i] = d + 1
            if tx:
                y[r, d] += 1
        n[r, d] += size
