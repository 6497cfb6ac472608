"""Vectorised protocol rules: the core's ``decide`` and ``recommend`` at any time, for many trials.

Protocol simulation (:mod:`doseladder.simulate.protocol`) must take exactly the decisions of
:func:`doseladder.core.rules.plan.recommend` (architecture rule: simulate never re-implements
decision rules by hand unless the vectorised code is proven equal to the core by tests on
random histories -- ``tests/simulate/test_protocol.py`` rebuilds the
:class:`~doseladder.core.state.TrialState` at every simulated decision and arrival and compares).
Here each function is the array form of one core function, for R trials at once, each at its
own time ``now``:

* :func:`design_decisions` -- ``design.decide(state, now)`` for BOIN, TITE-BOIN, BF-BOIN, 3+3,
  BOIN12 and TITE-BOIN12 (:mod:`doseladder.core.designs`), on the driving cohort's patients;
  it returns what :func:`~doseladder.core.rules.plan.recommend` reads from a
  :class:`~doseladder.core.decision.Decision`: the action, the next dose, ``eliminated`` and
  whether ``reason.rule`` is a toxicity de-escalation
  (:data:`~doseladder.core.rules.driving_indication.TOXICITY_DEESCALATION_RULES`).  It is the
  core's array decision (:meth:`~doseladder.core.designs.base.Design.decide_arrays`, one
  function per design in :mod:`doseladder.core.designs.arrays`), which the design's own
  simulation kernel calls too.
* :func:`fallback_status` -- :meth:`~doseladder.core.rules.backup_fallback.BackupFallback.
  evaluate` (seed 000's run-in at DL1 and fallback to DL-1).
* :func:`driving_recommendation` -- the driving (or pooled) cohort's entry of ``recommend``:
  fallback, design, cohort completion, and the guard against closed doses.
* :func:`backfill_recommendation` -- ``backfill_open`` / ``backfill_dose`` of the driving entry
  (BF-BOIN or BE-BOIN design, or a BOIN plan with the backfill rule), from the core's array
  form of :func:`~doseladder.core.designs.bf_boin.backfill_open` (BE-BOIN:
  ``BEBOIN.open_for_backfill``; its decision is BE-BOIN's own array decision, as every
  design's) and ``assign_backfill``;
* :func:`other_recommendation` -- the entry of a non-driving indication: confirmed-safe doses
  (:func:`~doseladder.core.rules.driving_indication.dose_safety`; the design's toxicity
  decision at a dose is the core's
  :meth:`~doseladder.core.rules.deescalation_verdict.DeescalationRule.verdict_arrays`, for
  every design), the dose cap, the pooled
  safety monitor (:class:`~doseladder.core.rules.safety_monitor.PooledSafetyMonitor`), the
  caps and the driving cohort's stop.

Patients are given as a :class:`PatientView`: (R, W) arrays in order of entry; columns of a
trial that are not (yet) part of its state carry the phantom dose level J (0-based), which every
per-dose tally drops.  Per-dose arrays are dose-major, shape (J, R), as in the kernels.

Not vectorised (the caller raises :class:`~doseladder.core.errors.InputError`): designs other
than BOIN (with or without backfill), TITE-BOIN, BF-BOIN, 3+3, BOIN12 and TITE-BOIN12;
sentinel staggering and the ``close_all`` safety-monitor action (both make the driving
cohort depend on the other indications).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from doseladder.core.designs.arrays import (
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP,
    SUSPEND,
    ArrayDecision,
    DoseArrays,
    PatientArrays,
    pick,
    upward,
)
from doseladder.core.designs.arrays.be_boin import be_boin_open_arrays
from doseladder.core.designs.arrays.bf_boin import assign_backfill_arrays, backfill_open_arrays
from doseladder.core.designs.base import Design
from doseladder.core.designs.be_boin import BEBOIN
from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.core.errors import InputError
from doseladder.core.rules.plan import EscalationPlan
from doseladder.core.rules.safety_monitor import PooledSafetyMonitor

__all__ = [
    "CLOSED",
    "DEESCALATE",
    "ENROL",
    "ESCALATE",
    "STAY",
    "STOP",
    "SUSPEND",
    "WAIT",
    "BackfillStep",
    "DesignStep",
    "DrivingStep",
    "FallbackArrays",
    "OtherStep",
    "PatientView",
    "backfill_recommendation",
    "check_supported",
    "design_decisions",
    "dose_arrays",
    "driving_recommendation",
    "fallback_status",
    "monitor_boundaries",
    "other_recommendation",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: enrolment status codes (as :class:`~doseladder.core.rules.plan.EnrolStatus`)
ENROL, WAIT, CLOSED = 0, 1, 2
#: fallback phases (as :class:`~doseladder.core.rules.backup_fallback.FallbackPhase`)
RUN_IN, AWAITING, PASSED, TRIGGERED, APPLIED = 0, 1, 2, 3, 4

_NONE = 10**6  # "no boundary", as in the kernels

SUPPORTED = (
    "boin",
    "tite-boin",
    "3+3",
    "boin12",
    "tite-boin12",
    "keyboard",
    "mtpi2",
    "i3+3",
    "crm",
    "tite-crm",
)


def check_supported(plan: EscalationPlan) -> None:
    """Raise :class:`InputError` for plans the protocol simulator cannot vectorise."""
    name = plan.design.name
    # BF-BOIN and BE-BOIN (its time-to-event subclass) decide through the backfill path
    if name not in SUPPORTED and not isinstance(plan.decision_design, BFBOIN):
        raise InputError(
            "design",
            f"protocol simulation supports the designs {', '.join(SUPPORTED)}; "
            f"{name!r} is not supported yet",
        )
    if name == "3+3" and plan.fallback is not None:
        raise InputError(
            "rules.fallback",
            "the 3+3 cannot continue from a fallback run-in (the run-in patients can make more "
            "than 6 at a dose, which the 3+3 rules do not define)",
        )
    if plan.staggering is not None:
        raise InputError(
            "rules.staggering",
            "protocol simulation does not support sentinel staggering yet (it lets the other "
            "indications delay the driving cohort)",
        )
    mon = plan.safety_monitor
    if mon is not None and mon.action == "close_all":
        raise InputError(
            "rules.safety_monitor.action",
            "protocol simulation supports the 'close_others' and 'flag' actions; 'close_all' "
            "lets other indications' DLTs change the driving decisions, which cannot be "
            "simulated indication by indication",
        )


# ------------------------------------------------------------------------------ patients
@dataclass(frozen=True, slots=True)
class PatientView:
    """The driving (or pooled) cohort of R trials as seen at their decision times.

    Attributes:
        dose: (R, W) 0-based dose levels in order of entry; J = not part of the state.
        entry: (R, W) entry times.
        rt, re: (R, W) times at which the DLT / efficacy outcome is ascertained (the event
            time, or entry + window without event).
        tb, eb: (R, W) whether a DLT / response occurs (within the window).
        count: (R,) patients in the state (the first ``count`` columns).
        current: (R,) dose of the latest *escalation* patient (the escalation cohort's dose;
            0-based; meaningless where there is none).
        run_len: (R,) length of the trailing run of escalation patients at ``current`` (cohort
            completion; only :func:`driving_recommendation` reads it).
        backfill: (R, W) backfill patients (``None`` = none).
    """

    dose: IntArray
    entry: FloatArray
    rt: FloatArray
    re: FloatArray
    tb: BoolArray
    eb: BoolArray
    count: IntArray
    current: IntArray
    run_len: IntArray
    backfill: BoolArray | None = None

    @property
    def rows(self) -> int:
        return int(self.dose.shape[0])

    @property
    def escalation(self) -> BoolArray:
        """(R, W) columns that are not backfill patients (phantoms included)."""
        if self.backfill is None:
            return np.ones(self.dose.shape, dtype=np.bool_)
        return np.asarray(~self.backfill, dtype=np.bool_)

    def take(self, sel: NDArray[np.bool_] | IntArray) -> PatientView:
        """The view of a subset of trials."""
        return PatientView(
            self.dose[sel],
            self.entry[sel],
            self.rt[sel],
            self.re[sel],
            self.tb[sel],
            self.eb[sel],
            self.count[sel],
            self.current[sel],
            self.run_len[sel],
            None if self.backfill is None else self.backfill[sel],
        )


@dataclass(frozen=True, slots=True)
class _Tally:
    """Per-dose counts (J, R) at the decision times."""

    n: IntArray
    obs_t: IntArray  # known DLT outcome
    y_t: IntArray  # observed DLTs
    obs_e: IntArray
    y_e: IntArray
    f_n: IntArray  # both endpoints known
    f_t: IntArray
    f_e: IntArray
    f_te: IntArray
    kt: BoolArray  # (R, W) DLT outcome known
    ke: BoolArray
    key: IntArray  # (R*W,) bincount keys dose*R + row (phantom dose J)
    size: int


def _tally(view: PatientView, now: FloatArray, num: int) -> _Tally:
    r = view.rows
    size = r * (num + 1)
    key = np.asarray((view.dose * r + np.arange(r)[:, None]).ravel(), dtype=np.int64)
    nowc = now[:, None]
    kt = view.rt <= nowc
    ke = view.re <= nowc
    ts = kt.view(np.int8) + (kt & view.tb).view(np.int8)
    es = ke.view(np.int8) + (ke & view.eb).view(np.int8)
    code = (3 * ts + es).ravel().astype(np.int64)
    t9 = np.bincount(code * size + key, minlength=9 * size).astype(np.int64)
    t9 = t9.reshape(3, 3, num + 1, r)[:, :, :num, :]
    by_t, by_e = t9.sum(axis=1), t9.sum(axis=0)
    f_te = t9[2, 2]
    return _Tally(
        n=by_t.sum(axis=0),
        obs_t=by_t[1] + by_t[2],
        y_t=by_t[2],
        obs_e=by_e[1] + by_e[2],
        y_e=by_e[2],
        f_n=t9[1, 1] + t9[1, 2] + t9[2, 1] + f_te,
        f_t=t9[2, 1] + f_te,
        f_e=t9[1, 2] + f_te,
        f_te=f_te,
        kt=kt,
        ke=ke,
        key=key,
        size=size,
    )


# ------------------------------------------------------------------------------ designs
#: what ``recommend`` reads from the design's decision (the core's array decision type)
DesignStep = ArrayDecision


def dose_arrays(view: PatientView, now: FloatArray, prior: BoolArray, num: int) -> DoseArrays:
    """The trial states of ``view`` at ``now`` as the core's :class:`DoseArrays`."""
    tal = _tally(view, now, num)
    return DoseArrays(
        n=tal.n,
        tox=tal.y_t,
        tox_pending=tal.n - tal.obs_t,
        eff=tal.y_e,
        eff_pending=tal.n - tal.obs_e,
        both=tal.f_te,
        current=view.current,
        eliminated=prior,
        patients=PatientArrays(
            view.dose, view.entry, view.rt, view.re, view.tb, view.eb, now, view.backfill
        ),
    )


def design_decisions(
    design: Design,
    view: PatientView,
    now: FloatArray,
    prior: BoolArray,
) -> DesignStep:
    """``design.decide(TrialState(J, patients, eliminated=prior), now)`` for every trial: the
    core's array decision (:meth:`~doseladder.core.designs.base.Design.decide_arrays`).

    ``prior`` (J, R) is the state's ``eliminated``; trials without patients get the start
    decision (``Design.decide``: stay at the start dose).
    """
    return design.decide_arrays(dose_arrays(view, now, prior, design.num_doses))


# ------------------------------------------------------------------------------ fallback
@dataclass(frozen=True, slots=True)
class FallbackArrays:
    """:class:`~doseladder.core.rules.backup_fallback.FallbackStatus` for every trial."""

    phase: IntArray
    fired: BoolArray
    blocked: BoolArray  # (J, R) doses closed by the rule (reescalation = "blocked")


def fallback_status(plan: EscalationPlan, view: PatientView, now: FloatArray) -> FallbackArrays:
    """``BackupFallback.evaluate`` on the driving patients of every trial."""
    fb = plan.fallback
    assert fb is not None
    num = plan.num_doses
    run, back = fb.run_in_dose - 1, fb.backup_dose - 1
    esc = view.escalation  # the rule counts escalation patients only
    at_run = (view.dose == run) & esc
    run_in = at_run & (np.cumsum(at_run, axis=1) <= fb.first_k)
    known = view.rt <= now[:, None]
    n = run_in.sum(axis=1)
    dlts = (run_in & known & view.tb).sum(axis=1)
    pending = (run_in & ~known).sum(axis=1)
    fired = dlts >= fb.min_dlts
    used_backup = ((view.dose <= back) & (view.dose < num) & esc).any(axis=1)
    possible = dlts + pending + (fb.first_k - n)
    phase = np.where(
        n < fb.first_k,
        RUN_IN,
        PASSED if fb.zero_dlt_branch == "tite" else AWAITING,
    )
    phase = np.where(possible < fb.min_dlts, PASSED, phase)
    phase = np.where(fired, np.where(used_backup, APPLIED, TRIGGERED), phase)
    blocked = np.zeros((num, view.rows), dtype=np.bool_)
    if fb.reescalation == "blocked":
        blocked[run:] = fired[None, :]
    return FallbackArrays(phase.astype(np.int64), fired, blocked)


# ------------------------------------------------------------------------------ driving
@dataclass(frozen=True, slots=True)
class DrivingStep:
    """The driving (or pooled) entry of ``recommend`` for every trial.

    Attributes:
        status: ``ENROL`` / ``WAIT`` / ``CLOSED``.
        dose: 0-based dose (enrol at, resume at), -1 = ``None``.
        eliminated: (J, R) ``PlanRecommendation.eliminated`` (what the conduct carries forward).
        design: the design's decision (rows where it was not consulted hold zeros).
        consulted: the design was consulted (not in the fallback's run-in / wait / move).
        fired: the fallback rule has fired.
        safety_stop: the design stopped without a dose.
        closed: (J, R) the doses closed before the design decided (carried, fallback block).
    """

    status: IntArray
    dose: IntArray
    eliminated: BoolArray
    design: DesignStep
    consulted: BoolArray
    fired: BoolArray
    safety_stop: BoolArray
    closed: BoolArray


def _plan_design(
    plan: EscalationPlan, view: PatientView, now: FloatArray, carried: BoolArray
) -> tuple[DesignStep, BoolArray, BoolArray, FallbackArrays | None]:
    """The design decision as ``recommend`` takes it: (decision, consulted, closed, fallback)."""
    num, rows = plan.num_doses, view.rows
    fb = fallback_status(plan, view, now) if plan.fallback is not None else None
    closed = carried | fb.blocked if fb is not None else carried.copy()
    consulted = (
        np.ones(rows, dtype=np.bool_)
        if fb is None
        else (fb.phase == PASSED) | (fb.phase == APPLIED)
    )
    dec = DesignStep.empty(num, rows)
    if consulted.any():
        design = plan.decision_design
        part = design_decisions(design, view.take(consulted), now[consulted], closed[:, consulted])
        dec.put(consulted, part)
    return dec, consulted, closed, fb


def driving_recommendation(
    plan: EscalationPlan, view: PatientView, now: FloatArray, carried: BoolArray
) -> DrivingStep:
    """``recommend(plan, state, now).driving`` (without the trial-wide cap, which the caller
    applies) for every trial; ``carried`` (J, R) is the state's ``eliminated``."""
    num, rows = plan.num_doses, view.rows
    dec, consulted, closed, fb = _plan_design(plan, view, now, carried)
    has_esc = (view.escalation & (view.dose < num)).any(axis=1)
    status = np.full(rows, ENROL, dtype=np.int64)
    dose = np.full(rows, -1, dtype=np.int64)
    # the design's outcome
    stop = dec.action == STOP
    status = np.where(stop, CLOSED, np.where(dec.action == SUSPEND, WAIT, ENROL))
    dose = np.where(stop, -1, dec.next_dose)
    # cohort completion
    if plan.complete_cohorts and not plan.design_forms_cohorts:
        d = view.current
        size = plan.design.cohort_size
        ok = (
            consulted
            & has_esc
            & ~stop
            & (view.run_len % size != 0)
            & (dec.action != DEESCALATE)
            & ~pick(dec.eliminated, np.where(has_esc, d, 0))
            & ~pick(closed, np.where(has_esc, d, 0))
            & ((dec.next_dose < 0) | (dec.next_dose >= d))
        )
        status = np.where(ok, ENROL, status)
        dose = np.where(ok, d, dose)
    fired = np.zeros(rows, dtype=np.bool_)
    if fb is not None:
        fallback = plan.fallback
        assert fallback is not None
        run, back = fallback.run_in_dose - 1, fallback.backup_dose - 1
        for phase, st, dd in (
            (RUN_IN, ENROL, run),
            (AWAITING, WAIT, run),
            (TRIGGERED, ENROL, back),
        ):
            sel = fb.phase == phase
            status = np.where(sel, st, status)
            dose = np.where(sel, dd, dose)
        fired = fb.fired
    eliminated = np.where(consulted[None, :], closed | dec.eliminated, closed)
    # the guard: never a closed dose
    live = (status != CLOSED) & (dose >= 0)
    bad = live & pick(eliminated, np.maximum(dose, 0))
    if bad.any():
        below = np.arange(num)[:, None] < dose[None, :]
        open_below = np.where(below & ~eliminated, np.arange(num)[:, None], -1).max(axis=0)
        status = np.where(bad & (open_below < 0), CLOSED, status)
        dose = np.where(bad, open_below, dose)
    safety_stop = consulted & stop & (dec.next_dose < 0)
    return DrivingStep(
        status.astype(np.int64),
        np.where(status == CLOSED, -1, dose).astype(np.int64),
        eliminated,
        dec,
        consulted,
        fired,
        safety_stop,
        closed,
    )


@dataclass(frozen=True, slots=True)
class BackfillStep:
    """``backfill_open`` / ``backfill_dose`` of ``recommend``'s driving entry.

    Attributes:
        open: (J, R) doses open for backfill now (``IndicationRecommendation.backfill_open``).
        dose: (R,) the assignment rule's pick, 0-based; -1 = none (nothing open, or ``random``:
            the caller draws among ``open``).
    """

    open: BoolArray
    dose: IntArray


def backfill_recommendation(
    plan: EscalationPlan,
    view: PatientView,
    now: FloatArray,
    step: DrivingStep,
    capped: BoolArray | None = None,
) -> BackfillStep:
    """The backfill fields of ``recommend(plan, state, now).driving`` for every trial, given
    the driving step at the same ``now`` (``capped``: the trial-wide cap is reached).

    As ``plan._backfill``: only where the BF-BOIN (or BE-BOIN) decision suspends escalation
    (the cohort is full and in follow-up; BE-BOIN also: too many pending, too little
    follow-up, final follow-up) and the entry is not closed; the open doses of
    :func:`~doseladder.core.designs.arrays.bf_boin.backfill_open_arrays` (BE-BOIN:
    :func:`~doseladder.core.designs.arrays.be_boin.be_boin_open_arrays`, C2 on imputed
    estimates at ``now``) at or above the rule's ``min_dose`` and not eliminated; the pick of
    ``assign_backfill_arrays``.
    """
    num, rows = plan.num_doses, view.rows
    design = plan.decision_design
    opened = np.zeros((num, rows), dtype=np.bool_)
    dose = np.full(rows, -1, dtype=np.int64)
    if not isinstance(design, BFBOIN):
        return BackfillStep(opened, dose)
    live = step.consulted & (step.design.action == SUSPEND) & (step.status != CLOSED)
    if capped is not None:
        live &= ~capped
    if not live.any():
        return BackfillStep(opened, dose)
    sub = view.take(live)
    data = dose_arrays(sub, now[live], step.closed[:, live], num)
    got = (
        be_boin_open_arrays(design, data)
        if isinstance(design, BEBOIN)
        else backfill_open_arrays(design, data)
    )
    rule = plan.backfill
    min_dose = rule.min_dose if rule is not None else 1
    assign = rule.assign if rule is not None else design.backfill_assign
    got &= np.arange(num)[:, None] >= (min_dose - 1)
    got &= ~step.eliminated[:, live]
    opened[:, live] = got
    if assign != "random":
        dose[live] = assign_backfill_arrays(got, assign)
    return BackfillStep(opened, dose)


# ------------------------------------------------------------------------------ others
@lru_cache(maxsize=64)
def _monitor_table(monitor: PooledSafetyMonitor, size: int) -> IntArray:
    out = np.full(size + 1, _NONE, dtype=np.int64)
    for n in range(size + 1):
        b = monitor.boundary(n)
        if b is not None:
            out[n] = b
    return out


def monitor_boundaries(monitor: PooledSafetyMonitor, max_n: int) -> IntArray:
    """Smallest number of DLTs that flags a dose, for n = 0..max_n known outcomes (``_NONE``
    = never): ``PooledSafetyMonitor.boundary`` (Pr(p > target | y, n) is increasing in y)."""
    size = 64
    while size < max_n:
        size *= 2
    return _monitor_table(monitor, size)


@dataclass(frozen=True, slots=True)
class OtherStep:
    """The entry of a non-driving indication of ``recommend`` (status, 0-based dose)."""

    status: IntArray
    dose: IntArray


def other_recommendation(
    plan: EscalationPlan,
    view: PatientView,
    now: FloatArray,
    carried: BoolArray,
    pooled_n: IntArray,
    pooled_y: IntArray,
    total: IntArray,
    n_indication: IntArray,
) -> OtherStep:
    """``recommend(plan, state, now).for_indication(name)`` of a non-driving indication.

    Args:
        view: the driving cohort at ``now`` (the state's driving patients).
        carried: (J, R) the state's ``eliminated``.
        pooled_n, pooled_y: (J, R) patients with a known DLT outcome and DLTs among them, over
            the safety monitor's scope (every indication, or the others), at ``now``.
        total: patients of every indication in the state (trial-wide cap).
        n_indication: patients of this indication in the state.
    """
    num, rows = plan.num_doses, view.rows
    policy = plan.other_indications
    dec, consulted, closed, fb = _plan_design(plan, view, now, carried)
    eliminated = np.where(consulted[None, :], closed | dec.eliminated, closed)
    excluded = eliminated.copy()
    mon = plan.safety_monitor
    if mon is not None and mon.action != "flag":
        bound = monitor_boundaries(mon, int(pooled_n.max(initial=0)))
        flag = (pooled_n >= mon.min_n) & (pooled_y >= bound[pooled_n])
        excluded |= upward(flag)
    has = (view.escalation & (view.dose < num)).any(axis=1)  # an escalation patient
    current = np.where(has, view.current, -1)
    dose_ix = np.arange(num)[:, None]
    # the design's decision at the current dose is a toxicity de-escalation
    excluded |= (dose_ix == current[None, :]) & (consulted & dec.tox_deesc & has)[None, :]
    if fb is not None:
        fallback = plan.fallback
        assert fallback is not None
        run = fallback.run_in_dose - 1
        below = ~has | (current < run)
        hit = fb.fired & ((fb.phase == TRIGGERED) | below)
        excluded |= (dose_ix >= run) & hit[None, :]
    # confirmed safe (dose_safety) on the driving data known at now
    known = view.rt <= now[:, None]
    r = view.rows
    key = np.asarray((view.dose * r + np.arange(r)[:, None]).ravel(), dtype=np.int64)
    size = (num + 1) * r
    n_known = np.bincount(key, known.ravel(), size).reshape(num + 1, r)[:num]
    y_known = np.bincount(key, (known & view.tb).ravel(), size).reshape(num + 1, r)[:num]
    rule = policy.deescalation_rule(plan.design)  # the core's rule, in its array form
    rate_ok = rule.verdict_arrays(n_known.astype(np.int64), y_known.astype(np.int64))
    confirmed = (n_known >= policy.min_complete) & rate_ok & ~excluded
    cap = np.full(rows, num - 1) if policy.dose_cap == "any_confirmed" else current
    cands = confirmed & (dose_ix <= cap[None, :])
    best = np.where(cands, dose_ix, -1).max(axis=0, initial=-1)
    status = np.where(best >= 0, ENROL, WAIT)
    stopped = consulted & (dec.action == STOP)
    safety_stop = stopped & (dec.next_dose < 0)
    close = safety_stop | (stopped & (not policy.continue_after_driving_stop))
    if policy.max_n_per_indication is not None:
        close |= n_indication >= policy.max_n_per_indication
    if plan.max_total is not None:
        close |= total >= plan.max_total
    status = np.where(close, CLOSED, status)
    dose = np.where(status == ENROL, best, -1)
    return OtherStep(status.astype(np.int64), dose.astype(np.int64))
