"""The cohort loops of the complete-data designs: :func:`simulate_interval_cohorts` (compiled;
BOIN, Keyboard, mTPI-2, i3+3) and :func:`simulate_cohorts` (NumPy; CRM, 3+3).

The interval family's loop is compiled (Numba): it walks the trials one by one and calls the
core's compiled rules :func:`~doseladder.core.designs.arrays.boin.decide_trial` and
:func:`~doseladder.core.designs.arrays.boin.select_trial` with the design's tables -- the same
functions that :func:`~doseladder.core.designs.arrays.boin.decide_boin` and
:func:`~doseladder.core.designs.arrays.interval.decide_interval` run over arrays, proven equal
to the core's ``decide`` by random testing.  It consumes the latent patients as the NumPy loop
(a cohort of ``size`` patients at dose d has ``sum(u_tox[t, i:i+size] < p_tox[d])`` DLTs), so
results are identical whichever loop runs, and ``get.oc``'s convention applies (the cohort
reaching ``max_n`` ends the trial; a stop without a dose selects nothing).

A complete-data trial treats a cohort at its current dose, observes every outcome, and asks the
design where the next cohort goes.  :func:`simulate_cohorts` runs that loop for a block of
trials at once (a loop over cohorts, never over trials); the *rules* come entirely from the
design's array functions (:mod:`doseladder.core.designs.arrays`):

* ``decide(design, data) -> ArrayDecision`` -- ``decide_<design>``, the next dose, stop and
  eliminations of every active trial;
* ``select(design, data) -> IntArray`` -- ``select_<design>``, the final selection (1-based,
  0 = none) on the final data.

Two conventions of the reference packages are options of the loop, not of the rules:

* ``decide_after_last=False`` (``BOIN::get.oc``, ``Keyboard::get.oc.kb``, FIND, dfcrm
  ``crmsim``): the cohort reaching ``max_n`` ends the trial and the selection reads the final
  data; a trial that the decision stops without a dose (``next_dose = -1``) selects nothing.
* ``decide_after_last=True`` (3+3, ``escalation::get_three_plus_three``): the decision is also
  taken after the last cohort, and the dose named by the stop decision is the selection (the
  3+3's ``select`` on a finished history); ``select`` is used only for a trial still running when
  ``max_n`` is reached without a stop.

``track_patients=True`` keeps the patients in order of entry (a :class:`PatientArrays` in
``data.patients``), for rules that read the last cohort (the CRM's coherence rule).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from doseladder.core.designs.arrays import (
    STOP,
    ArrayDecision,
    BoolArray,
    DoseArrays,
    FloatArray,
    IntArray,
    PatientArrays,
)
from doseladder.core.designs.arrays.boin import decide_trial, select_trial
from doseladder.jit import compiled
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["ArrayDecide", "ArraySelect", "simulate_cohorts", "simulate_interval_cohorts"]

#: ``decide_<design>(design, data)``
ArrayDecide = Callable[[Any, DoseArrays], ArrayDecision]
#: ``select_<design>(design, data)``
ArraySelect = Callable[[Any, DoseArrays], IntArray]


def simulate_cohorts(
    design: Any,
    draws: PatientDraws,
    decide: ArrayDecide,
    select: ArraySelect,
    *,
    max_n: int | None = None,
    decide_after_last: bool = False,
    track_patients: bool = False,
) -> TrialArrays:
    """Simulate a block of trials of a complete-data cohort design (see the module docstring).

    Args:
        design: the design (its ``num_doses``, ``start_dose``, ``cohort_size``, ``max_n``).
        draws: the block's latent patients.
        decide, select: the design's array decision and selection functions.
        max_n: the maximum sample size (default ``design.max_n``).
        decide_after_last: decide after the last cohort and select the stop decision's dose.
        track_patients: pass the patients in order of entry to ``decide``.
    """
    nt, j = draws.n_trials, int(design.num_doses)
    csize = int(design.cohort_size)
    max_n = int(design.max_n if max_n is None else max_n)
    rows = np.arange(nt)
    n = np.zeros((j, nt), dtype=np.int64)
    y = np.zeros((j, nt), dtype=np.int64)
    elim = np.zeros((j, nt), dtype=bool)
    d = np.full(nt, int(design.start_dose) - 1, dtype=np.int64)
    active = np.ones(nt, dtype=bool)
    early = np.zeros(nt, dtype=bool)
    stopped = np.zeros(nt, dtype=bool)
    stop_dose = np.zeros(nt, dtype=np.int64)  # 1-based dose of the stop decision, 0 = none
    dose_seq = np.zeros((nt, max_n), dtype=np.int64)
    if track_patients:
        pdose = np.full((nt, max_n), j, dtype=np.int64)  # phantom dose J = not (yet) a patient
        ptox = np.zeros((nt, max_n), dtype=bool)
    total = 0
    idx = rows
    n_flat, y_flat = n.reshape(-1), y.reshape(-1)  # views: (dose, trial) -> dose * nt + trial
    while total < max_n:
        size = min(csize, max_n - total)
        dd = d[idx]
        cell = dd * nt + idx
        n_flat[cell] += size
        if track_patients:
            cols = np.arange(total, total + size)[None, :]
            tox = draws.tox(idx[:, None], cols, dd[:, None])
            pdose[idx[:, None], cols] = dd[:, None]
            ptox[idx[:, None], cols] = tox
            y_flat[cell] += tox.sum(axis=1)
        else:
            y_flat[cell] += draws.tox_count(idx, total, size, dd)
        dose_seq[idx, total : total + size] = (dd + 1)[:, None]
        total += size
        if total >= max_n and not decide_after_last:
            break  # get.oc: the cohort reaching the maximum sample size ends the trial
        full = idx.size == nt
        if full:
            data = DoseArrays.complete(n, y, dd, elim)
        else:
            data = DoseArrays.complete(n[:, idx], y[:, idx], dd, elim[:, idx])
        if track_patients:
            no_time = np.zeros((idx.size, max_n))  # complete data: no times, no efficacy
            pts = PatientArrays(
                pdose if full else pdose[idx], no_time, no_time, no_time,
                ptox if full else ptox[idx], np.zeros((idx.size, max_n), dtype=bool),
                np.full(idx.size, np.inf),
            )  # fmt: skip
            data = DoseArrays(
                data.n, data.tox, data.tox_pending, data.eff, data.eff_pending, data.both,
                data.current, data.eliminated, pts,
            )  # fmt: skip
        dec = decide(design, data)
        if full:
            elim = dec.eliminated
        else:
            elim[:, idx] = dec.eliminated
        stop = dec.action == STOP
        go = ~stop
        d[idx[go]] = dec.next_dose[go]
        if stop.any():
            done = idx[stop]
            early[idx[stop & (dec.next_dose < 0)]] = True
            stopped[done] = True
            stop_dose[done] = dec.next_dose[stop] + 1  # -1 (none) -> 0
            active[done] = False
            idx = rows[active]
            if idx.size == 0:
                break
    if decide_after_last:
        selected = np.where(stopped, stop_dose, 0)
        if not stopped.all():
            running = ~stopped
            sub = DoseArrays.complete(n[:, running], y[:, running], d[running], elim[:, running])
            selected[running] = select(design, sub)
    else:
        selected = select(design, DoseArrays.complete(n, y, d))
        selected[early] = 0
    if track_patients:
        dose_seq = np.where(pdose < j, pdose + 1, 0)
    return TrialArrays(
        n=np.ascontiguousarray(n.T),
        tox=np.ascontiguousarray(y.T),
        eff=np.zeros((nt, j), dtype=np.int64),
        selected=np.asarray(selected, dtype=np.int64),
        stopped_early=early,
        duration=np.full(nt, np.nan),
        suspended=np.zeros(nt),
        dose_seq=dose_seq,
        entry=np.empty((nt, 0)),  # no time in complete-data trials
    )


def simulate_interval_cohorts(
    design: Any, draws: PatientDraws, conduct: IntArray, select: FloatArray
) -> TrialArrays:
    """Simulate a block of trials of an interval design (BOIN, Keyboard, mTPI-2, i3+3) with
    the compiled loop :func:`_interval_trials` and the design's tables
    (:func:`~doseladder.core.designs.arrays.boin.conduct_table`,
    :func:`~doseladder.core.designs.arrays.boin.select_table`; see the module docstring)."""
    nt, j, max_n = draws.n_trials, int(design.num_doses), int(design.max_n)
    if draws.max_n < max_n or draws.p_tox.shape[0] != j:
        # the compiled loop does not check its indices: refuse draws that do not fit
        raise ValueError(
            f"draws for {draws.max_n} patients and {draws.p_tox.shape[0]} doses do not fit "
            f"a design with max_n = {max_n} and {j} doses"
        )
    u_tox = np.ascontiguousarray(draws.u_tox[:, :max_n])
    counts, early, selected, dose_seq = _interval_trials(
        u_tox, np.ascontiguousarray(draws.p_tox, dtype=np.float64), int(design.start_dose) - 1,
        int(design.cohort_size), max_n, conduct, select,
    )  # fmt: skip
    return TrialArrays(
        n=np.ascontiguousarray(counts[:, :j]),
        tox=np.ascontiguousarray(counts[:, j:]),
        eff=np.zeros((nt, j), dtype=np.int64),
        selected=selected,
        stopped_early=early,
        duration=np.full(nt, np.nan),
        suspended=np.zeros(nt),
        dose_seq=dose_seq,
        entry=np.empty((nt, 0)),  # no time in complete-data trials
    )


@compiled
def _interval_trials(
    u_tox: FloatArray,
    p_tox: FloatArray,
    start: int,
    cohort_size: int,
    max_n: int,
    table: IntArray,
    sel_table: FloatArray,
) -> tuple[IntArray, BoolArray, IntArray, IntArray]:
    """Every trial of the block, one after the other: treat a cohort at the current dose,
    count its DLTs, decide (:func:`decide_trial`), and at the end select
    (:func:`select_trial`).  Returns the patients then the DLTs by dose ((R, 2J), as
    :func:`decide_trial` reads them), stopped-without-a-dose, the selection and the doses in
    order of entry."""
    nt = u_tox.shape[0]
    num = p_tox.shape[0]
    counts = np.zeros((nt, 2 * num), dtype=np.int64)
    early = np.zeros(nt, dtype=np.bool_)
    selected = np.zeros(nt, dtype=np.int64)
    dose_seq = np.zeros((nt, max_n), dtype=np.int64)
    work = np.empty((5, num))
    mask = np.empty(num, dtype=np.bool_)
    blocks = np.empty(num, dtype=np.int64)
    for t in range(nt):
        d = start
        lowest = num
        total = 0
        stopped_without_dose = False
        while total < max_n:
            size = min(cohort_size, max_n - total)
            p = p_tox[d]
            tox = 0
            for i in range(total, total + size):
                if u_tox[t, i] < p:
                    tox += 1
                dose_seq[t, i] = d + 1
            counts[t, d] += size
            counts[t, num + d] += tox
            total += size
            if total >= max_n:
                break  # get.oc: the cohort reaching the maximum sample size ends the trial
            action, nxt, _, lowest = decide_trial(counts, t, d, lowest, False, table)
            if action == STOP:
                stopped_without_dose = nxt < 0
                break
            d = nxt
        early[t] = stopped_without_dose
        if not stopped_without_dose:
            selected[t] = select_trial(counts, t, num, sel_table, work, mask, blocks)
    return counts, early, selected, dose_seq
