"""Vectorised BF-BOIN trials in time (spec ``backfill.md`` §2-§5; bfboin 0.1.1
``sim.one.trial``).

Every rule is the core's array form (:mod:`doseladder.core.designs.arrays.bf_boin`, proven
equal to ``BFBOIN.decide`` / ``backfill_open`` by random testing); this module moves the trials
through time, one arrival at a time for every trial of the block at once:

* Time unit = that of ``tox_window`` (W).  Arrivals follow the scenario's accrual
  (``uniform``: gaps U(0, 2/rate), bfboin's default; ``poisson``: exponential gaps).  The
  arrival that becomes patient i comes ``gaps[:, i]`` after the previous arrival (patient 0 at
  ``gaps[:, 0]``); after a turned-away arrival the next gap comes from the block's separate
  stream (``PatientDraws.wait_gaps``), so enrolled patients stay common to every design.
* A DLT occurs with the dose's probability, at the time of the scenario's ``tox_time`` model
  (bfboin: Weibull with P(T < W/2) = p/2, i.e. ``tox_time: {model: weibull}`` with the default
  α1 = α2 = 0.5); the assessment completes at entry + min(T, W).  Escalation patients respond
  with probability ``p_eff`` (every one when the scenario has no ``p_eff``: bfboin's default
  ``p.response.true = 1``); a response becomes visible at entry + W.  Backfill patients'
  responses are not drawn.
* Routing of each arrival (§2) is the core's decision at the arrival time: ``stay`` with the
  cohort not full -> the patient joins the escalation cohort; ``suspend`` (cohort full, pending)
  -> the patient is backfilled at the dose ``backfill_assign`` picks among the doses open for
  backfill (random choices from their own stream), or turned away when none is open; an
  escalation decision -> the patient is the first of the next cohort at the new dose; ``stop``
  -> the trial ends.
* End (§5): ``duration`` = the latest assessment completion in the last escalation cohort,
  from the first arrival.  The final data are the escalation patients plus the backfill
  patients whose assessment completed by then (backfill patients still pending are dropped
  from ``n`` and ``tox``); the MTD is BOIN's ``select.mtd`` on them, none after a safety stop.
  ``n_backfill`` / ``tox_backfill`` split the per-dose counts.
* Suspension (as the TITE-BOIN kernel counts it): accrual is suspended while arrivals are
  turned away (escalation waits and no dose is open for backfill).  ``turned_away`` counts
  those arrivals; ``suspended`` is the time from the first of a run of turned-away arrivals to
  the next enrolled arrival (escalation or backfill), summed over runs; a run still open when
  the trial ends counts until the end (the last cohort's final completion).  Both are 0 when
  every waiting arrival was backfilled.

BE-BOIN (:func:`simulate_be_boin`) runs through the same loop: its decision at each arrival is
``BEBOIN.decide``'s array form (imputed pending outcomes, suspension by
``max_pending_ratio``, minimum follow-up before escalation) and its open doses are
:func:`~doseladder.core.designs.arrays.be_boin.be_boin_open_arrays`.  ``no_slot: leave``: an
arrival with no open dose during a suspension is turned away, as in BF-BOIN.  ``no_slot: wait``
(the default): that arrival waits and is decided again at the trial's next event -- an
outcome's assessment completing, a response becoming visible, or a pending patient reaching
the minimum follow-up (``min_follow_up``·W) -- until it is treated (escalation or backfill).
Decision of ours (the sources do not say how arrivals queue): the waiting arrival holds the
accrual process -- the next arrival comes ``gaps`` after its treatment, so arrivals behind it
are not generated while it waits; its waiting time counts as suspended time and it is not
turned away.  Should no later event exist (it cannot while the decision is ``suspend``), the
arrival is turned away as under ``leave``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from doseladder.core.designs.arrays import STOP, SUSPEND, DoseArrays, PatientArrays
from doseladder.core.designs.arrays.be_boin import be_boin_open_arrays
from doseladder.core.designs.arrays.bf_boin import (
    assign_backfill_arrays,
    backfill_open_arrays,
    backfill_view,
)
from doseladder.core.designs.be_boin import BEBOIN
from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.core.errors import InputError
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = ["simulate_be_boin", "simulate_bf_boin"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def simulate_bf_boin(design: BFBOIN, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of BF-BOIN trials (conduct as in the module docstring)."""
    nt, j = draws.n_trials, design.num_doses
    width = draws.max_n
    if width < design.n_max:
        raise InputError(
            "max_n", f"BF-BOIN needs {design.n_max} latent patients per trial, got {width}"
        )
    if design.max_n % design.cohort_size:
        raise InputError(
            "max_n",
            f"must be a multiple of cohort_size ({design.cohort_size}) to simulate BF-BOIN "
            f"(bfboin: ncohort × cohortsize), got {design.max_n}",
        )
    big_t = float(design.tox_window)
    gaps = draws.gaps
    wait = draws.wait_gaps()
    uniforms = draws.assign_uniforms()
    responds_all = draws.scenario.p_eff is None
    csize = design.cohort_size
    waits = isinstance(design, BEBOIN) and design.no_slot == "wait"
    follow = design.min_follow_up * big_t if isinstance(design, BEBOIN) else 0.0

    rows = np.arange(nt)
    count = np.zeros(nt, dtype=np.int64)
    cur = np.full(nt, design.start_dose - 1, dtype=np.int64)
    elim = np.zeros((j, nt), dtype=bool)
    active = np.ones(nt, dtype=bool)
    early = np.zeros(nt, dtype=bool)
    dose0 = np.full((nt, width), j, dtype=np.int64)  # phantom dose J = no patient
    entry = np.full((nt, width), np.nan)
    tox_at = np.full((nt, width), np.inf)
    eff_at = np.full((nt, width), np.inf)
    is_tox = np.zeros((nt, width), dtype=bool)
    is_eff = np.zeros((nt, width), dtype=bool)
    is_bf = np.zeros((nt, width), dtype=bool)
    t = gaps[:, 0].copy()
    away_n = np.zeros(nt, dtype=np.int64)
    run_start = np.full(nt, np.nan)  # first arrival of the current run of turned-away ones
    suspended = np.zeros(nt)
    resume = np.full(nt, np.nan)  # ``no_slot: wait``: when a waiting arrival is decided again

    def enrol(idx: IntArray, dd: IntArray, backfill: bool) -> None:
        i = count[idx]
        now = t[idx]
        frac = draws.tox_time(idx, i, dd)  # inf exactly when there is no DLT
        tx = np.isfinite(frac)
        dose0[idx, i] = dd
        entry[idx, i] = now
        tox_at[idx, i] = now + np.where(tx, frac, 1.0) * big_t
        is_tox[idx, i] = tx
        is_bf[idx, i] = backfill
        if not backfill:
            resp = np.ones(idx.size, dtype=bool) if responds_all else draws.eff(idx, i, dd)
            is_eff[idx, i] = resp
            eff_at[idx, i] = now + big_t
        count[idx] += 1

    while True:
        idx = rows[active]
        if idx.size == 0:
            break
        k = int(count[idx].max())
        w = max(k, 1)
        pts = PatientArrays(
            dose0[idx, :w],
            entry[idx, :w],
            tox_at[idx, :w],
            eff_at[idx, :w],
            is_tox[idx, :w],
            is_eff[idx, :w],
            t[idx],
            is_bf[idx, :w],
        )
        enrolled = np.zeros((j, idx.size), dtype=np.int64)
        for dose in range(j):  # loops over doses only
            enrolled[dose] = (pts.dose == dose).sum(axis=1)
        zeros = np.zeros_like(enrolled)
        data = DoseArrays(enrolled, zeros, zeros, zeros, zeros, zeros, cur[idx], elim[:, idx], pts)
        dec = design.decide_arrays(data)
        elim[:, idx] = dec.eliminated
        stop = dec.action == STOP
        if stop.any():
            srows = idx[stop]
            active[srows] = False
            early[srows] = dec.next_dose[stop] < 0
        sus = dec.action == SUSPEND
        esc = ~stop & ~sus
        if esc.any():
            erows = idx[esc]
            cur[erows] = dec.next_dose[esc]
            enrol(erows, cur[erows], backfill=False)
        away = np.zeros(idx.size, dtype=bool)
        if sus.any():
            sub = data.take(sus)
            if isinstance(design, BEBOIN):
                opened = be_boin_open_arrays(design, sub)
            else:
                opened = backfill_open_arrays(design, sub, backfill_view(design, sub))
            u = uniforms(int(sus.sum())) if design.backfill_assign == "random" else None
            bdose = assign_backfill_arrays(opened, design.backfill_assign, u)
            spos = np.flatnonzero(sus)
            ok = bdose >= 0
            if ok.any():
                enrol(idx[spos[ok]], bdose[ok], backfill=True)
            away[spos[~ok]] = True
            if ok.any():
                _close_runs(idx[spos[ok]], t, run_start, suspended)
        if esc.any():
            _close_runs(idx[esc], t, run_start, suspended)
        if away.any():
            arows = idx[away]
            left = arows
            if waits:  # the arrival waits for the trial's next event (module docstring)
                later = _next_event(arows, t, count, entry, tox_at, eff_at, follow)
                held = np.isfinite(later)
                resume[arows[held]] = later[held]
                left = arows[~held]
            away_n[left] += 1
            fresh = arows[np.isnan(run_start[arows])]
            run_start[fresh] = t[fresh]
        # the next arrival
        moved = idx[~stop]
        turned = away[~stop]
        nxt = np.empty(moved.size)
        if turned.any():
            tr = moved[turned]
            held = ~np.isnan(resume[tr])  # ``wait``: the same arrival at the next event
            g = np.empty(tr.size)
            g[held] = resume[tr[held]] - t[tr[held]]
            if (~held).any():
                g[~held] = wait(int((~held).sum()))
            nxt[turned] = g
            resume[tr] = np.nan
        took = ~turned
        if took.any():
            ci = count[moved[took]]
            inside = ci < width
            g = np.empty(int(took.sum()))
            g[inside] = gaps[moved[took][inside], ci[inside]]
            if (~inside).any():
                g[~inside] = wait(int((~inside).sum()))
            nxt[took] = g
        t[moved] = t[moved] + nxt

    # the last escalation cohort ends the trial; final data cut at its last completion
    col = np.arange(width)[None, :]
    valid = col < count[:, None]
    esc_mask = valid & ~is_bf
    n_esc = esc_mask.sum(axis=1)
    m = np.where(n_esc % csize > 0, n_esc % csize, csize)
    rank = np.cumsum(esc_mask, axis=1)
    last = esc_mask & (rank > (n_esc - m)[:, None])
    end = np.where(last, tox_at, -np.inf).max(axis=1)
    keep = esc_mask | (valid & is_bf & (tox_at <= end[:, None]))
    n = np.zeros((nt, j), dtype=np.int64)
    y = np.zeros((nt, j), dtype=np.int64)
    eff = np.zeros((nt, j), dtype=np.int64)
    nb = np.zeros((nt, j), dtype=np.int64)
    yb = np.zeros((nt, j), dtype=np.int64)
    for dose in range(j):
        at = keep & (dose0 == dose)
        n[:, dose] = at.sum(axis=1)
        y[:, dose] = (at & is_tox).sum(axis=1)
        eff[:, dose] = (at & is_eff).sum(axis=1)
        nb[:, dose] = (at & is_bf).sum(axis=1)
        yb[:, dose] = (at & is_bf & is_tox).sum(axis=1)
    still = ~np.isnan(run_start)  # a run of turned-away arrivals lasting to the end
    suspended[still] += np.maximum(end[still] - run_start[still], 0.0)
    selected = design.select_arrays(
        DoseArrays.complete(np.ascontiguousarray(n.T), np.ascontiguousarray(y.T), cur, elim)
    )
    selected[early] = 0
    return TrialArrays(
        n=n,
        tox=y,
        eff=eff,
        selected=selected,
        stopped_early=early,
        duration=end - entry[:, 0],
        suspended=suspended,
        dose_seq=np.where(valid, dose0 + 1, 0),
        entry=entry,
        n_backfill=nb,
        tox_backfill=yb,
        turned_away=away_n,
    )


def simulate_be_boin(design: BEBOIN, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of BE-BOIN trials (module docstring: ``no_slot`` ``wait`` or ``leave``)."""
    return simulate_bf_boin(design, draws)


def _next_event(
    rows: IntArray,
    t: FloatArray,
    count: IntArray,
    entry: FloatArray,
    tox_at: FloatArray,
    eff_at: FloatArray,
    follow: float,
) -> FloatArray:
    """The rows' next event after their time ``t``: an assessment completing, a response
    becoming visible, or a patient reaching ``follow`` of follow-up (``inf`` when none)."""
    width = entry.shape[1]
    now = t[rows][:, None]
    valid = np.arange(width)[None, :] < count[rows][:, None]
    times = np.stack([tox_at[rows], eff_at[rows], entry[rows] + follow])
    ahead = valid[None, :, :] & (times > now[None, :, :])
    return np.asarray(np.where(ahead, times, np.inf).min(axis=(0, 2)), dtype=np.float64)


def _close_runs(
    rows: IntArray, t: FloatArray, run_start: FloatArray, suspended: FloatArray
) -> None:
    """An arrival enrolled at ``t`` ends the rows' runs of turned-away arrivals."""
    open_ = rows[~np.isnan(run_start[rows])]
    suspended[open_] += t[open_] - run_start[open_]
    run_start[open_] = np.nan
