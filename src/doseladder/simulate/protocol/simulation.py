"""Simulation of whole protocols: fallback, driving and other indications, OCs per indication.

Issue #4 (part 3).  :func:`simulate_protocol` runs ``n_trials`` trials of a
:class:`~doseladder.protocols.Protocol` under a
:class:`~doseladder.simulate.protocol.scenario.ProtocolScenario` and returns tidy operating
characteristics per indication with Monte-Carlo standard errors
(:class:`ProtocolSimulationResult`).  Every enrolment takes the dose that the core's
:func:`~doseladder.core.rules.plan.recommend` gives at that moment; the array forms of the rules
are in :mod:`doseladder.simulate.protocol.plan_rules` and ``tests/simulate/test_protocol.py``
rebuilds the trial state at every simulated decision and arrival and checks them against the core.

Conduct simulated (time unit: days, as the protocol's windows; ``docs/protocols.md``,
"Simulating a protocol"):

* **Driving (or pooled) cohort.**  Patients arrive one at a time: patient i arrives
  ``gap_i`` after patient i − 1 entered (``accrual`` of the driving indication; for pooled
  indications one process with the summed rate, each arrival's indication drawn in proportion
  to the rates).  At the arrival ``recommend`` is evaluated: *enrol* -> the patient is treated
  now at the recommended dose; *wait* (run-in awaiting resolution, design suspension) -> the
  patient waits and the recommendation is re-evaluated at every later outcome ascertainment
  until it is *enrol* (the waiting patient is not turned away, as in the TITE-BOIN12 kernel);
  *closed* -> accrual of the cohort ends.  Accrual also ends when the design's maximum sample
  size (pooled: also the trial-wide ``max_total``) has been enrolled.  Because the other
  indications never change the driving decisions (their data do not enter the design; the
  safety monitor's default ``close_others`` closes doses to them only), the driving cohort is
  simulated first, vectorised over trials with a loop over its patients.
* **Eliminations carried forward** are those of the driving cohort's recommendations
  (``PlanRecommendation.eliminated`` at each driving evaluation), as a conduct service carries
  them from its recorded decisions; the final selection uses them.
* **Other indications.**  Eligible patients arrive by their own accrual processes from time 0
  until the driving cohort's accrual has ended (plus the scenario's
  ``other_accrual_after_driving_stop`` days).  Each arrival is given what ``recommend`` says
  for its indication at that time, on the data known then (driving and other-indication
  patients, pending outcomes pending): *enrol* at the highest confirmed-safe dose at or below
  the driving cohort's current dose (default ``dose_cap``); *wait* / *closed* -> the patient is
  **turned away** (counted).  Simulated after the driving cohort, vectorised over trials with a
  loop over arrivals in time order (all other indications merged, so that the pooled safety
  monitor sees every earlier enrolment).
* **Trial-wide cap** ``max_total`` (all indications): the enrolments of all indications are
  merged in time order (a driving enrolment first at equal times); once ``max_total`` are
  enrolled nobody else is -- the driving cohort's later patients are removed (its decisions up
  to then did not depend on the other indications) and it is summarised on what was enrolled.
* **Final selection**: the design's selection on the driving (pooled) patients' complete data
  with the carried eliminations (BOIN ``select.mtd``, BOIN12 OBD, 3+3 MTD); no dose after a stop
  for safety (as the design kernels).

Reproducibility: trials run in blocks of :data:`~doseladder.simulate.seeding.BLOCK_SIZE`; the
driving (pooled) cohort of block b draws from the streams of ``PatientDraws`` with scenario
index 0 (``SeedSequence(seed, spawn_key=(0, b, component))``; pooled indication labels from
component 6), other indication k (protocol order, k >= 1) from ``spawn_key=(k, b, component)``
with the same component numbers, in chunks of 64 arrivals.  Results are bit-identical for any
number of workers, local or on Dask.

* **Backfill** (BOIN with ``rules.backfill``, or a BF-BOIN design): while the escalation
  cohort is in follow-up, ``recommend`` waits at the escalation dose and lists the doses open
  for backfill; a driving (pooled) arrival is then treated at once at ``backfill_dose`` (for
  ``random`` a uniform draw among the open doses, component 7 of the cohort's streams) as a
  backfill patient (:func:`~doseladder.simulate.protocol.plan_rules.backfill_recommendation`).
  With nothing open the patient waits as above.  Without an efficacy window a response is
  seen at the end of the DLT window (bfboin).  Patients and DLTs per dose are split into
  escalation and backfill in the result.  Responses of backfill patients are no re-evaluation
  times (condition C1 reads escalation patients' responses only).
* **BE-BOIN** (``design: be-boin``, spec ``backfill.md`` §8) takes the same path: its own array
  decision (TITE imputation, ``max_pending_ratio``, ``min_follow_up`` / ``min_completed``,
  final follow-up) and its open doses
  (:func:`~doseladder.core.designs.arrays.be_boin.be_boin_open_arrays`, in
  :func:`~doseladder.simulate.protocol.plan_rules.backfill_recommendation`).  A waiting arrival
  is also re-evaluated when a patient reaches ``min_follow_up``·W of follow-up (the design
  kernel's events).  ``no_slot: leave``: an arrival finding escalation suspended by the design
  and no dose open for it is turned away (counted per indication) and the next arrival comes
  a gap later from the ``PatientDraws`` stream of turned-away arrivals' gaps (component 5, as
  the design kernel; pooled: a fresh indication from component 8); a fallback wait still
  waits.  With one indication, ``no_slot: wait`` and a deterministic assignment the cohort
  equals the BE-BOIN design simulation trial by trial on the same seed
  (``tests/simulate/test_protocol_be_boin.py``; the final analyses differ: see
  ``docs/protocols.md``).

Limitations (raise :class:`~doseladder.core.errors.InputError`): designs BOIN (with or without
backfill), TITE-BOIN, BF-BOIN, BE-BOIN, 3+3, BOIN12 and TITE-BOIN12 (and the others of
``plan_rules.SUPPORTED``) only; no sentinel staggering; safety-monitor action ``flag`` or
``close_others`` only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from doseladder.core.designs.arrays import DoseArrays
from doseladder.core.designs.arrays.bf_boin import assign_backfill_arrays
from doseladder.core.designs.be_boin import BEBOIN
from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.core.errors import InputError
from doseladder.core.rules.plan import EscalationPlan
from doseladder.protocols.model import Protocol
from doseladder.simulate.engine import Progress, run_tasks
from doseladder.simulate.latent import PatientDraws, event_time_fraction
from doseladder.simulate.malloc import tune_malloc
from doseladder.simulate.protocol.plan_rules import (
    CLOSED,
    ENROL,
    SUSPEND,
    WAIT,
    BackfillStep,
    PatientView,
    backfill_recommendation,
    check_supported,
    driving_recommendation,
    other_recommendation,
)
from doseladder.simulate.protocol.results import (
    CLOSE_CAP,
    CLOSE_FULL,
    CLOSE_SAFETY,
    CLOSE_STOP,
    CLOSE_STUCK,
    ProtocolContext,
    ProtocolSimulationResult,
    ProtocolStats,
    block_stats,
    protocol_context,
)
from doseladder.simulate.protocol.scenario import ALL, IndicationTruth, ProtocolScenario
from doseladder.simulate.scenario import Accrual, Scenario, joint_probabilities
from doseladder.simulate.seeding import BLOCK_SIZE, block_sizes

__all__ = [
    "CLOSE_CAP",
    "CLOSE_FULL",
    "CLOSE_SAFETY",
    "CLOSE_STOP",
    "CLOSE_STUCK",
    "ProtocolBlock",
    "ProtocolSetup",
    "ProtocolSimulationResult",
    "TraceStep",
    "simulate_protocol",
    "simulate_protocol_block",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_CHUNK = 64  # arrivals of an other indication drawn at a time
_INDICATION_COMPONENT = 6  # pooled indication labels (PatientDraws uses components 0..5)
_BACKFILL_COMPONENT = 7  # uniforms of the random backfill assignment
_LABEL_AFTER_AWAY_COMPONENT = 8  # pooled: indication of the arrival after a turned-away one


# ------------------------------------------------------------------------------ setup
@dataclass(frozen=True)
class ProtocolSetup:
    """Everything a block needs (picklable: no :class:`Protocol` mapping proxies).

    Attributes:
        plan: the protocol's escalation plan.
        scenario: the protocol scenario.
        dlt_window, eff_window: assessment windows in days (``eff_window`` ``None`` when the
            protocol has none and the design does not use efficacy: responses are then counted
            but their timing is not modelled).
        protocol_id: for reports.
    """

    plan: EscalationPlan
    scenario: ProtocolScenario
    dlt_window: float
    eff_window: float | None
    protocol_id: str = ""

    @classmethod
    def from_protocol(cls, protocol: Protocol, scenario: ProtocolScenario) -> ProtocolSetup:
        if not isinstance(protocol, Protocol):
            raise InputError("protocol", "must be a Protocol (doseladder.protocols)")
        if not isinstance(scenario, ProtocolScenario):
            raise InputError("scenario", "must be a ProtocolScenario")
        plan = protocol.plan
        design = plan.design
        eff: float | None
        if isinstance(design, TITEBOIN12):
            dlt, eff = float(design.tox_window), float(design.eff_window)
        else:
            dlt = float(protocol.windows.dlt_days)
            e = protocol.windows.efficacy_days
            eff = float(e) if e is not None else None
        setup = cls(plan, scenario, dlt, eff, protocol.id)
        setup.check()
        return setup

    def check(self) -> None:
        check_supported(self.plan)
        design = self.plan.design
        uses_eff = design.uses_efficacy
        if uses_eff and self.eff_window is None:
            raise InputError("windows.efficacy_days", "required: the design uses efficacy outcomes")
        # backfill opens a dose on a response (condition C1): the scenario needs p_eff
        self.scenario.check_for(
            self.plan.indications,
            self.plan.num_doses,
            needs_efficacy=uses_eff or self.backfills,
        )
        if not self.driving and len(self.names) > 1:
            types = {self.scenario.truth(x).accrual.type for x in self.names}
            if len(types) > 1:
                raise InputError(
                    "indications",
                    "pooled indications share one arrival process: give every indication the "
                    "same accrual type (fixed or poisson)",
                )

    # ------------------------------------------------------------------ derived
    @property
    def names(self) -> tuple[str, ...]:
        """Indications in protocol order (driving first); ``("all",)`` without names."""
        return self.plan.indications or (ALL,)

    @property
    def driving(self) -> bool:
        return self.plan.driving_indication is not None

    @property
    def others(self) -> tuple[str, ...]:
        return self.names[1:] if self.driving else ()

    @property
    def uses_efficacy(self) -> bool:
        return bool(self.plan.design.uses_efficacy)

    @property
    def backfills(self) -> bool:
        """Patients may be backfilled (BF-BOIN decides; responses open doses)."""
        return bool(self.plan.backfills)

    @property
    def watches_responses(self) -> bool:
        """Response ascertainments are decision events (efficacy designs, backfill)."""
        return self.uses_efficacy or self.backfills

    @property
    def be_boin(self) -> BEBOIN | None:
        """The deciding design when it is BE-BOIN (time-to-event backfill), else ``None``."""
        design = self.plan.decision_design
        return design if isinstance(design, BEBOIN) else None

    @property
    def turns_away(self) -> bool:
        """BE-BOIN ``no_slot: leave``: a driving (pooled) arrival finding escalation suspended
        and no dose open for backfill is turned away instead of waiting."""
        be = self.be_boin
        return be is not None and be.no_slot == "leave"

    @property
    def follow_up_event(self) -> float:
        """BE-BOIN: follow-up (days) after which a patient no longer blocks escalation
        (``min_follow_up``·W): reaching it is a decision event; 0 = none."""
        be = self.be_boin
        return float(be.min_follow_up * be.tox_window) if be is not None else 0.0

    @property
    def design_max(self) -> int:
        design = self.plan.decision_design
        n_max = getattr(design, "n_max", None)
        return int(n_max if n_max is not None else design.max_n)

    @property
    def cohort_max(self) -> int:
        """Most patients the driving (pooled) cohort can enrol."""
        m = self.design_max
        if not self.driving and self.plan.max_total is not None:
            m = min(m, self.plan.max_total)
        return m

    def truths(self) -> list[IndicationTruth]:
        return [self.scenario.truth(x) for x in self.names]

    def cohort_accrual(self) -> Accrual:
        """The driving indication's accrual, or the pooled process (summed rates)."""
        if self.driving or len(self.names) == 1:
            return self.scenario.truth(self.names[0]).accrual
        ts = self.truths()
        return Accrual(ts[0].accrual.type, float(sum(t.accrual.rate for t in ts)))

    def pooled_weights(self) -> FloatArray:
        rates = np.array([t.accrual.rate for t in self.truths()], dtype=np.float64)
        return np.asarray(rates / rates.sum(), dtype=np.float64)

    def target(self) -> float:
        design = self.plan.design
        t = getattr(design, "phi_t", None) or getattr(design, "target", None)
        return float(t) if t is not None else 0.3


@dataclass(frozen=True)
class _Truth:
    """Per-indication outcome probabilities as arrays (indication, dose)."""

    p_tox: FloatArray
    p_eff: FloatArray
    pe_t: FloatArray  # P(response | DLT)
    pe_nt: FloatArray  # P(response | no DLT)
    has_eff: BoolArray

    @classmethod
    def of(cls, truths: Sequence[IndicationTruth]) -> _Truth:
        pt = np.array([t.p_tox for t in truths], dtype=np.float64)
        pe = np.array(
            [t.p_eff if t.p_eff is not None else (0.0,) * len(t.p_tox) for t in truths],
            dtype=np.float64,
        )
        p11 = np.array(
            [
                [
                    joint_probabilities(a, b, t.tox_eff_odds_ratio)
                    for a, b in zip(r1, r2, strict=True)
                ]
                for t, r1, r2 in zip(truths, pt, pe, strict=True)
            ],
            dtype=np.float64,
        )
        pe_t = np.divide(p11, pt, out=np.zeros_like(pt), where=pt > 0)
        pe_nt = np.divide(pe - p11, 1 - pt, out=np.zeros_like(pt), where=pt < 1)
        has = np.array([t.p_eff is not None for t in truths], dtype=np.bool_)
        return cls(pt, pe, pe_t, pe_nt, has)


@dataclass(frozen=True)
class _Outcomes:
    tb: BoolArray
    eb: BoolArray
    rt: FloatArray
    re: FloatArray


def _outcomes(
    setup: ProtocolSetup,
    truth: _Truth,
    ind: IntArray,
    dose: IntArray,
    entry: FloatArray,
    u_tox: FloatArray,
    u_eff: FloatArray,
    v_tox: FloatArray,
    v_eff: FloatArray,
) -> _Outcomes:
    """Outcomes of patients from their latent uniforms, as ``PatientDraws`` derives them."""
    sc = setup.scenario
    pt = truth.p_tox[ind, dose]
    tox = u_tox < pt
    cond = np.where(tox, truth.pe_t[ind, dose], truth.pe_nt[ind, dose])
    eff = u_eff < cond
    t_frac = np.where(tox, event_time_fraction(v_tox, pt, sc.tox_time), np.inf)
    e_frac = np.where(eff, event_time_fraction(v_eff, truth.p_eff[ind, dose], sc.eff_time), np.inf)
    rt = entry + np.minimum(t_frac, 1.0) * setup.dlt_window
    if setup.eff_window is not None:
        re = entry + np.minimum(e_frac, 1.0) * setup.eff_window
    elif setup.backfills:
        # bfboin: a response is seen at the end of the DLT window (spec backfill.md §2)
        re = entry + setup.dlt_window
    else:
        re = entry.copy()
    return _Outcomes(tox, eff, rt, re)


# ------------------------------------------------------------------------------ trace
@dataclass(frozen=True, slots=True)
class TraceStep:
    """One vectorised evaluation of ``recommend`` (for tests and diagnostics).

    Attributes:
        kind: ``"driving"`` (the driving / pooled cohort's entry) or ``"other"``.
        rows: trial indices.
        time: evaluation times.
        status, dose: the simulated recommendation (status codes of
            :mod:`~doseladder.simulate.protocol.plan_rules`, 0-based dose, -1 = none).
        carried: (J, R) eliminations carried into the evaluation (the state's ``eliminated``).
        column: driving evaluations: the patient index being decided; other: the merged
            arrival column.
        indication: index of the indication (protocol order) of each row.
        backfill_open, backfill_dose: driving evaluations of a backfill plan: (J, rows) doses
            open for backfill and the assignment rule's pick (0-based, -1 = none / random).
        backfilled: driving evaluations of a backfill plan: the patient was backfilled at
            ``backfilled_at`` (0-based).
        turned_away: driving evaluations of BE-BOIN with ``no_slot: leave``: the arrival was
            turned away (escalation suspended, no dose open for it).
    """

    kind: str
    rows: IntArray
    time: FloatArray
    status: IntArray
    dose: IntArray
    carried: BoolArray
    column: int
    indication: IntArray
    backfill_open: BoolArray | None = None
    backfill_dose: IntArray | None = None
    backfilled_at: IntArray | None = None
    turned_away: BoolArray | None = None


# ------------------------------------------------------------------------------ block
@dataclass(frozen=True)
class ProtocolBlock:
    """Per-trial arrays of one block (dose levels 0-based; -1 / J = none).

    Attributes:
        dose, entry, rt, re, tb, eb, ind, waited: (trials, M) the driving (pooled) cohort in
            order of entry; absent patients have dose J and entry ``inf``.
        bf: (trials, M) backfill patients of the driving (pooled) cohort.
        o_time, o_ind, o_enrolled, o_dose, o_rt, o_re, o_tb, o_eb: (trials, K) the arrivals of
            the other indications in time order (``inf`` = none); ``o_dose`` -1 if turned away.
        selected: (trials,) selected dose, 1-based, 0 = none.
        fired: (trials,) the fallback rule fired.
        close_kind, close_time: how / when the driving (pooled) cohort's accrual ended.
        carried: (J, trials) eliminations carried at the end.
        turned_away: (indications, trials) driving (pooled) arrivals turned away by BE-BOIN's
            ``no_slot: leave``, by indication (protocol order); ``None`` when nobody can be.
    """

    num_doses: int
    dose: IntArray
    entry: FloatArray
    rt: FloatArray
    re: FloatArray
    tb: BoolArray
    eb: BoolArray
    ind: IntArray
    waited: FloatArray
    o_time: FloatArray
    o_ind: IntArray
    o_enrolled: BoolArray
    o_dose: IntArray
    o_rt: FloatArray
    o_re: FloatArray
    o_tb: BoolArray
    o_eb: BoolArray
    selected: IntArray
    fired: BoolArray
    close_kind: IntArray
    close_time: FloatArray
    carried: BoolArray
    bf: BoolArray
    turned_away: IntArray | None = None

    @property
    def n_trials(self) -> int:
        return int(self.dose.shape[0])

    @property
    def count(self) -> IntArray:
        """Driving (pooled) patients per trial."""
        return np.asarray((self.dose < self.num_doses).sum(axis=1), dtype=np.int64)


class _Cohort:
    """The driving (pooled) cohort of a block while it is simulated."""

    def __init__(self, num: int, nt: int, m: int, n_ind: int = 0) -> None:
        self.num = num
        self.dose = np.full((nt, m), num, dtype=np.int64)
        self.entry = np.full((nt, m), np.inf)
        self.rt = np.full((nt, m), np.inf)
        self.re = np.full((nt, m), np.inf)
        self.tb = np.zeros((nt, m), dtype=np.bool_)
        self.eb = np.zeros((nt, m), dtype=np.bool_)
        self.ind = np.zeros((nt, m), dtype=np.int64)
        self.waited = np.zeros((nt, m))
        self.bf = np.zeros((nt, m), dtype=np.bool_)
        self.esc_cur = np.zeros(nt, dtype=np.int64)  # the escalation cohort's dose
        self.carried = np.zeros((num, nt), dtype=np.bool_)
        self.carried_at = np.zeros((m + 1, num, nt), dtype=np.bool_)
        self.run_len = np.zeros(nt, dtype=np.int64)
        self.fired = np.zeros(nt, dtype=np.bool_)
        self.close_kind = np.zeros(nt, dtype=np.int64)
        self.close_time = np.full(nt, np.inf)
        self.by_eval = np.zeros(nt, dtype=np.bool_)  # closed by an evaluation (not by max)
        # arrivals turned away before patient i (indication, trial, i): BE-BOIN no_slot leave
        # (n_ind = 0 when nobody is turned away)
        self.turned = np.zeros((n_ind, nt, m), dtype=np.int64)

    def view(self, rows: IntArray, i: int) -> PatientView:
        """The first i patients of these trials (every running trial has exactly i)."""
        return PatientView(
            self.dose[rows, :i],
            self.entry[rows, :i],
            self.rt[rows, :i],
            self.re[rows, :i],
            self.tb[rows, :i],
            self.eb[rows, :i],
            np.full(rows.size, i, dtype=np.int64),
            self.esc_cur[rows],
            self.run_len[rows],
            self.bf[rows, :i],
        )

    def view_at(self, rows: IntArray, now: FloatArray) -> PatientView:
        """The patients of these trials who entered at or before ``now`` (others phantom)."""
        present = (self.entry[rows] <= now[:, None]) & (self.dose[rows] < self.num)
        count = present.sum(axis=1).astype(np.int64)
        dose = np.where(present, self.dose[rows], self.num)
        bf = self.bf[rows] & present
        esc = present & ~bf
        width = esc.shape[1]
        last = np.where(esc, np.arange(width)[None, :], -1).max(axis=1, initial=-1)
        cur = np.take_along_axis(self.dose[rows], np.maximum(last, 0)[:, None], axis=1)[:, 0]
        return PatientView(
            dose,
            self.entry[rows],
            self.rt[rows],
            self.re[rows],
            self.tb[rows],
            self.eb[rows],
            count,
            np.where(last >= 0, cur, 0),
            np.zeros(rows.size, dtype=np.int64),
            bf,
        )


def _gen(seed: int, index: int, block: int, component: int) -> np.random.Generator:
    ss = np.random.SeedSequence(seed, spawn_key=(index, block, component))
    return np.random.Generator(np.random.PCG64(ss))


def _run_cohort(
    setup: ProtocolSetup,
    truth: _Truth,
    seed: int,
    block: int,
    nt: int,
    trace: list[TraceStep] | None,
) -> _Cohort:
    """The driving (or pooled) cohort: a loop over its patients, vectorised over trials."""
    plan = setup.plan
    num, m = plan.num_doses, setup.cohort_max
    base = setup.scenario.truth(setup.names[0])
    draws = PatientDraws(
        Scenario(p_tox=base.p_tox, accrual=setup.cohort_accrual()), seed, 0, block, nt, m
    )
    gaps = draws.gaps
    if setup.driving or len(setup.names) == 1:
        labels = np.zeros((nt, m), dtype=np.int64)
    else:
        u = _gen(seed, 0, block, _INDICATION_COMPONENT).random((nt, m))
        cum = np.cumsum(setup.pooled_weights())
        labels = np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1).astype(np.int64)
    leave = setup.turns_away
    coh = _Cohort(num, nt, m, len(setup.names) if leave else 0)
    use_eff = setup.watches_responses
    # responses of backfill patients decide nothing in a backfill plan without an efficacy
    # design (condition C1 reads escalation patients' responses): not decision events
    bf_responses = setup.uses_efficacy
    follow = setup.follow_up_event
    backfills = setup.backfills
    u_bf = _gen(seed, 0, block, _BACKFILL_COMPONENT).random((nt, m)) if backfills else None
    # BE-BOIN no_slot leave: the arrival after a turned-away one comes a gap later (the
    # PatientDraws stream of gaps of turned-away arrivals, as the design's kernel); pooled: its
    # indication is drawn afresh
    away_gaps = draws.wait_gaps() if leave else None
    away_labels = _gen(seed, 0, block, _LABEL_AFTER_AWAY_COMPONENT) if leave else None
    pooled_labels = not (setup.driving or len(setup.names) == 1)
    bf_design = plan.decision_design
    random_assign = isinstance(bf_design, BFBOIN) and bf_design.backfill_assign == "random"
    # which arrivals may be backfilled (by indication; pooled protocols may restrict it)
    may_bf = np.array(
        [plan.may_backfill(name if plan.indications else None) for name in setup.names],
        dtype=np.bool_,
    )
    running = np.arange(nt)
    for i in range(m):
        if running.size == 0:
            break
        prev = coh.entry[running, i - 1] if i > 0 else np.zeros(running.size)
        todo, now = running, prev + gaps[running, i]
        arrival = now.copy()
        enrolled: list[IntArray] = []
        while todo.size:
            view = coh.view(todo, i)
            before = coh.carried[:, todo]
            step = driving_recommendation(plan, view, now, before)
            # backfill: escalation waits, the patient is treated at a dose open for backfill
            bf_at = np.full(todo.size, -1, dtype=np.int64)
            bstep = None
            if backfills:
                bstep = backfill_recommendation(plan, view, now, step)
                ok = may_bf[labels[todo, i]]  # this arrival's indication is backfilled
                bstep = BackfillStep(bstep.open & ok[None, :], np.where(ok, bstep.dose, -1))
                bf_at = bstep.dose
                if u_bf is not None and random_assign:
                    bf_at = assign_backfill_arrays(bstep.open, "random", u_bf[todo, i])
                bf_at = np.where(step.status == WAIT, bf_at, -1)
            backfilled = bf_at >= 0
            wait = (step.status == WAIT) & ~backfilled
            # no_slot leave: escalation suspended by the design and no dose open for this
            # arrival -> turned away (a wait of the fallback run-in still waits)
            left = (
                wait & step.consulted & (step.design.action == SUSPEND)
                if leave
                else np.zeros(todo.size, dtype=np.bool_)
            )
            wait &= ~left
            if trace is not None:
                trace.append(
                    TraceStep(
                        "driving",
                        todo.copy(),
                        now.copy(),
                        step.status,
                        step.dose,
                        before.copy(),
                        i,
                        labels[todo, i],
                        None if bstep is None else bstep.open.copy(),
                        None if bstep is None else bstep.dose.copy(),
                        bf_at.copy() if backfills else None,
                        left.copy() if leave else None,
                    )
                )
            coh.carried[:, todo] = before | step.eliminated
            coh.fired[todo] |= step.fired
            enr = (step.status == ENROL) | backfilled
            if enr.any():
                r, t = todo[enr], now[enr]
                is_bf = backfilled[enr]
                k = np.where(is_bf, bf_at[enr], step.dose[enr])
                ind = labels[r, i]
                out = _outcomes(
                    setup,
                    truth,
                    ind,
                    k,
                    t,
                    draws.u_tox[r, i],
                    draws.u_eff[r, i],
                    draws.v_tox[r, i],
                    draws.v_eff[r, i],
                )
                # cohort completion counts escalation patients only
                had_esc = (~coh.bf[r, :i] & (coh.dose[r, :i] < num)).any(axis=1)
                same = had_esc & (coh.esc_cur[r] == k)
                coh.run_len[r] = np.where(
                    is_bf, coh.run_len[r], np.where(same, coh.run_len[r] + 1, 1)
                )
                coh.esc_cur[r] = np.where(is_bf, coh.esc_cur[r], k)
                coh.bf[r, i] = is_bf
                coh.dose[r, i], coh.entry[r, i], coh.ind[r, i] = k, t, ind
                coh.tb[r, i], coh.eb[r, i] = out.tb, out.eb
                coh.rt[r, i], coh.re[r, i] = out.rt, out.re
                coh.waited[r, i] = t - arrival[enr]
                coh.carried_at[i + 1][:, r] = coh.carried[:, r]
                enrolled.append(r)
            cls = step.status == CLOSED
            if cls.any():
                r = todo[cls]
                coh.close_time[r] = now[cls]
                coh.close_kind[r] = np.where(step.safety_stop[cls], CLOSE_SAFETY, CLOSE_STOP)
                coh.by_eval[r] = True
            if not (wait.any() or left.any()):
                break
            r, t = todo[wait], now[wait]
            nxt = _next_event(coh, r, i, t, use_eff, bf_responses, follow)
            stuck = ~np.isfinite(nxt)
            if stuck.any():
                coh.close_time[r[stuck]] = t[stuck]
                coh.close_kind[r[stuck]] = CLOSE_STUCK
                coh.by_eval[r[stuck]] = True
            keep = ~stuck
            nxt_todo, nxt_now, nxt_arrival = r[keep], nxt[keep], arrival[wait][keep]
            if left.any():
                assert away_gaps is not None and away_labels is not None
                r = todo[left]
                np.add.at(coh.turned, (labels[r, i], r, i), 1)
                if pooled_labels:
                    u = away_labels.random(r.size)
                    cum = np.cumsum(setup.pooled_weights())
                    labels[r, i] = np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
                # the suspension runs from the first turned-away arrival (``arrival`` kept)
                nxt_todo = np.concatenate([nxt_todo, r])
                nxt_now = np.concatenate([nxt_now, now[left] + away_gaps(r.size)])
                nxt_arrival = np.concatenate([nxt_arrival, arrival[left]])
            todo, now, arrival = nxt_todo, nxt_now, nxt_arrival
        running = np.sort(np.concatenate(enrolled)) if enrolled else np.zeros(0, dtype=np.int64)
    if running.size:
        full = (
            CLOSE_CAP
            if (not setup.driving and setup.cohort_max < setup.design_max)
            else (CLOSE_FULL)
        )
        coh.close_time[running] = coh.entry[running, m - 1]
        coh.close_kind[running] = full
    return coh


def _next_event(
    coh: _Cohort,
    rows: IntArray,
    i: int,
    now: FloatArray,
    use_eff: bool,
    bf_responses: bool = True,
    follow: float = 0.0,
) -> FloatArray:
    """Earliest decision event after ``now`` among the first i patients: a DLT outcome
    ascertained, a response ascertained (``use_eff``; of escalation patients only unless
    ``bf_responses``), a patient reaching ``follow`` days of follow-up (BE-BOIN's
    ``min_follow_up``; 0 = not an event)."""
    nowc = now[:, None]
    rt = coh.rt[rows, :i]
    nxt = np.where(rt > nowc, rt, np.inf).min(axis=1, initial=np.inf)
    if use_eff:
        re = coh.re[rows, :i]
        if not bf_responses:
            re = np.where(coh.bf[rows, :i], np.inf, re)
        nxt = np.minimum(nxt, np.where(re > nowc, re, np.inf).min(axis=1, initial=np.inf))
    if follow > 0:
        reach = coh.entry[rows, :i] + follow
        nxt = np.minimum(nxt, np.where(reach > nowc, reach, np.inf).min(axis=1, initial=np.inf))
    return np.asarray(nxt, dtype=np.float64)


class _Arrivals:
    """Arrival times and latent uniforms of one other indication, drawn in chunks of 64."""

    def __init__(self, acc: Accrual, seed: int, index: int, block: int, nt: int) -> None:
        self.acc = acc
        self.nt = nt
        self.gens = [_gen(seed, index, block, c) for c in range(5)]
        self.time = np.zeros((nt, 0))
        self.u = [np.zeros((nt, 0)) for _ in range(4)]

    def extend_to(self, horizon: FloatArray) -> None:
        """Draw chunks until every trial's last arrival is after its horizon."""
        while self.time.shape[1] == 0 or bool((self.time[:, -1] <= horizon).any()):
            shape = (self.nt, _CHUNK)
            u = [g.random(shape) for g in self.gens[:4]]
            if self.acc.type == "fixed":
                gaps = np.full(shape, 1.0 / self.acc.rate)
            else:
                gaps = self.gens[4].standard_exponential(shape) / self.acc.rate
            last = self.time[:, -1:] if self.time.shape[1] else np.zeros((self.nt, 1))
            self.time = np.concatenate([self.time, last + np.cumsum(gaps, axis=1)], axis=1)
            self.u = [np.concatenate([a, b], axis=1) for a, b in zip(self.u, u, strict=True)]


@dataclass
class _Others:
    time: FloatArray
    ind: IntArray
    enrolled: BoolArray
    dose: IntArray
    rt: FloatArray
    re: FloatArray
    tb: BoolArray
    eb: BoolArray

    @staticmethod
    def empty(nt: int) -> _Others:
        z = np.zeros((nt, 0))
        return _Others(
            z,
            z.astype(np.int64),
            z.astype(np.bool_),
            z.astype(np.int64),
            z,
            z,
            z.astype(np.bool_),
            z.astype(np.bool_),
        )


def _run_others(
    setup: ProtocolSetup,
    truth: _Truth,
    coh: _Cohort,
    seed: int,
    block: int,
    nt: int,
    trace: list[TraceStep] | None,
) -> _Others:
    """The other indications: a loop over merged arrivals, vectorised over trials."""
    plan = setup.plan
    num = plan.num_doses
    others = setup.others
    if not others:
        return _Others.empty(nt)
    horizon = coh.close_time + setup.scenario.other_accrual_after_driving_stop
    streams = []
    for k, name in enumerate(others, start=1):
        s = _Arrivals(setup.scenario.truth(name).accrual, seed, k, block, nt)
        s.extend_to(horizon)
        streams.append(s)
    times = np.concatenate([s.time for s in streams], axis=1)
    inds = np.concatenate(
        [np.full(s.time.shape, k, dtype=np.int64) for k, s in enumerate(streams, start=1)], axis=1
    )
    qs = np.concatenate(
        [np.broadcast_to(np.arange(s.time.shape[1]), s.time.shape) for s in streams], axis=1
    )
    order = np.argsort(times, axis=1, kind="stable")
    times = np.take_along_axis(times, order, axis=1)
    inds = np.take_along_axis(inds, order, axis=1)
    qs = np.take_along_axis(qs, order, axis=1)
    times = np.where(times <= horizon[:, None], times, np.inf)
    width = int(np.isfinite(times).sum(axis=1).max(initial=0))
    times, inds, qs = times[:, :width], inds[:, :width], qs[:, :width]
    oth = _Others(
        times,
        inds,
        np.zeros((nt, width), dtype=np.bool_),
        np.full((nt, width), -1, dtype=np.int64),
        np.full((nt, width), np.inf),
        np.full((nt, width), np.inf),
        np.zeros((nt, width), dtype=np.bool_),
        np.zeros((nt, width), dtype=np.bool_),
    )
    n_ind = np.zeros((len(others) + 1, nt), dtype=np.int64)
    n_oth = np.zeros(nt, dtype=np.int64)
    mon = plan.safety_monitor
    monitored = mon is not None and mon.action != "flag"
    scope_all = mon is None or mon.scope == "all"
    # others' known DLT outcomes for the monitor: columns < lo are settled (every patient there
    # is known for every trial still receiving arrivals) and tallied once
    settled_n = np.zeros((num, nt), dtype=np.int64)
    settled_y = np.zeros((num, nt), dtype=np.int64)
    lo = 0
    for j in range(width):
        rows = np.flatnonzero(np.isfinite(times[:, j]))
        if rows.size == 0:
            continue
        a = times[rows, j]
        view = coh.view_at(rows, a)
        c = view.count
        carried = np.transpose(coh.carried_at[c, :, rows])
        late = coh.by_eval[rows] & (a >= coh.close_time[rows])
        if late.any():
            carried = np.where(late[None, :], coh.carried[:, rows], carried)
        r = rows.size
        pooled_n = np.zeros((num, r), dtype=np.int64)
        pooled_y = np.zeros((num, r), dtype=np.int64)
        if monitored:
            # settle the leading columns whose enrolled patients are all known now
            while lo < j:
                col = oth.enrolled[rows, lo] & (oth.rt[rows, lo] > a)
                if col.any():
                    break
                e = oth.enrolled[:, lo]
                flat = oth.dose[e, lo] * nt + np.flatnonzero(e)
                settled_n.reshape(-1)[flat] += 1
                settled_y.reshape(-1)[flat] += oth.tb[e, lo]
                lo += 1
            size = (num + 1) * r
            prev = oth.enrolled[rows, lo:j]
            known_o = prev & (oth.rt[rows, lo:j] <= a[:, None])
            key_o = (np.where(prev, oth.dose[rows, lo:j], num) * r + np.arange(r)[:, None]).ravel()
            pooled_n = settled_n[:, rows] + np.bincount(key_o, known_o.ravel(), size).reshape(
                num + 1, r
            )[:num].astype(np.int64)
            pooled_y = settled_y[:, rows] + np.bincount(
                key_o, (known_o & oth.tb[rows, lo:j]).ravel(), size
            ).reshape(num + 1, r)[:num].astype(np.int64)
            if scope_all:
                known_d = view.rt <= a[:, None]
                key_d = (view.dose * r + np.arange(r)[:, None]).ravel()
                pooled_n += (
                    np.bincount(key_d, known_d.ravel(), size)
                    .reshape(num + 1, r)[:num]
                    .astype(np.int64)
                )
                pooled_y += (
                    np.bincount(key_d, (known_d & view.tb).ravel(), size)
                    .reshape(num + 1, r)[:num]
                    .astype(np.int64)
                )
        ind = inds[rows, j]
        step = other_recommendation(
            plan, view, a, carried, pooled_n, pooled_y, c + n_oth[rows], n_ind[ind, rows]
        )
        if trace is not None:
            trace.append(
                TraceStep("other", rows, a, step.status, step.dose, carried.copy(), j, ind)
            )
        enr = step.status == ENROL
        if not enr.any():
            continue
        rr, k, t, ii = rows[enr], step.dose[enr], a[enr], ind[enr]
        q = qs[rr, j]
        lat = [np.zeros(rr.size) for _ in range(4)]
        for idx in range(1, len(others) + 1):
            sel = ii == idx
            if sel.any():
                s = streams[idx - 1]
                for c_i in range(4):
                    lat[c_i][sel] = s.u[c_i][rr[sel], q[sel]]
        out = _outcomes(setup, truth, ii, k, t, lat[0], lat[1], lat[2], lat[3])
        oth.enrolled[rr, j] = True
        oth.dose[rr, j] = k
        oth.tb[rr, j], oth.eb[rr, j] = out.tb, out.eb
        oth.rt[rr, j], oth.re[rr, j] = out.rt, out.re
        n_ind[ii, rr] += 1
        n_oth[rr] += 1
    return oth


def _apply_cap(setup: ProtocolSetup, coh: _Cohort, oth: _Others) -> None:
    """Remove the driving patients enrolled after the trial-wide cap was reached."""
    cap = setup.plan.max_total
    if cap is None or not setup.driving:
        return
    o_times = np.where(oth.enrolled, oth.time, np.inf)
    # rank of driving patient i among all enrolments: i + 1 + others strictly before
    m = coh.dose.shape[1]
    before = np.zeros((coh.dose.shape[0], m), dtype=np.int64)
    for i in range(m):
        before[:, i] = (o_times < coh.entry[:, i : i + 1]).sum(axis=1)
    rank = np.arange(1, m + 1)[None, :] + before
    present = coh.dose < coh.num
    drop = present & (rank > cap)
    count = present.sum(axis=1)
    # a closing evaluation after the cap was reached did not happen either
    after_close = coh.by_eval & (count + (o_times < coh.close_time[:, None]).sum(axis=1) >= cap)
    hit = drop.any(axis=1) | after_close
    if not hit.any():
        return
    keep = count - drop.sum(axis=1)
    rows = np.flatnonzero(hit)
    # the time the cap was reached: the cap-th enrolment
    all_times = np.sort(np.concatenate([coh.entry, o_times], axis=1), axis=1)
    reach = all_times[:, cap - 1] if all_times.shape[1] >= cap else np.full(count.shape, np.inf)
    coh.dose[drop] = coh.num
    coh.entry[drop] = np.inf
    coh.rt[drop] = np.inf
    coh.re[drop] = np.inf
    coh.tb[drop] = False
    coh.eb[drop] = False
    coh.bf[drop] = False
    coh.waited[drop] = 0.0
    if coh.turned.shape[0]:
        coh.turned[:, drop] = 0
    coh.carried[:, rows] = np.transpose(coh.carried_at[keep[rows], :, rows])
    coh.close_time[rows] = reach[rows]
    coh.close_kind[rows] = CLOSE_CAP
    coh.by_eval[rows] = False


def _select(setup: ProtocolSetup, coh: _Cohort) -> IntArray:
    """The design's final selection on the cohort's complete data (1-based, 0 = none)."""
    design = setup.plan.design
    num = setup.plan.num_doses
    nt = coh.dose.shape[0]
    key = (coh.dose * nt + np.arange(nt)[:, None]).ravel()
    size = (num + 1) * nt

    def per_dose(mask: BoolArray) -> IntArray:
        return np.bincount(key, mask.ravel(), size).reshape(num + 1, nt)[:num].astype(np.int64)

    present = coh.dose < num
    n = per_dose(present)
    yt = per_dose(coh.tb)
    ye = per_dose(coh.eb)
    yte = per_dose(coh.tb & coh.eb)
    safety = coh.close_kind == CLOSE_SAFETY
    # the design's final selection on the complete data (no outcome pending)
    current = coh.view_at(np.arange(nt), np.full(nt, np.inf)).current
    zeros = np.zeros_like(n)
    sel = design.select_arrays(DoseArrays(n, yt, zeros, ye, zeros, yte, current, coh.carried))
    sel = np.where(safety, 0, sel)
    return np.asarray(sel, dtype=np.int64)


def simulate_protocol_block(
    setup: ProtocolSetup,
    seed: int,
    block: int,
    size: int,
    trace: list[TraceStep] | None = None,
) -> ProtocolBlock:
    """Simulate one block of ``size`` trials (a pure function of its arguments)."""
    truth = _Truth.of(setup.truths())
    coh = _run_cohort(setup, truth, seed, block, size, trace)
    oth = _run_others(setup, truth, coh, seed, block, size, trace)
    _apply_cap(setup, coh, oth)
    selected = _select(setup, coh)
    return ProtocolBlock(
        setup.plan.num_doses,
        coh.dose,
        coh.entry,
        coh.rt,
        coh.re,
        coh.tb,
        coh.eb,
        coh.ind,
        coh.waited,
        oth.time,
        oth.ind,
        oth.enrolled,
        oth.dose,
        oth.rt,
        oth.re,
        oth.tb,
        oth.eb,
        selected,
        coh.fired,
        coh.close_kind,
        coh.close_time,
        coh.carried,
        coh.bf,
        coh.turned.sum(axis=2) if setup.turns_away else None,
    )


# ------------------------------------------------------------------------------ running
@dataclass(frozen=True)
class _Task:
    setup: ProtocolSetup
    seed: int
    block: int
    size: int
    ctx: ProtocolContext = field(repr=False)


def _run_task(task: _Task) -> ProtocolStats:
    """One block reduced to its statistics (module level: picklable for worker processes);
    compiled code missing from the cache is compiled in a child process
    (:func:`doseladder.jit.run_compiled`)."""
    from doseladder.jit import run_compiled

    tune_malloc()
    return run_compiled(_block_stats, task)


def _block_stats(task: _Task) -> ProtocolStats:
    block = simulate_protocol_block(task.setup, task.seed, task.block, task.size)
    return block_stats(block, task.ctx, task.setup.watches_responses)


def _check(n_trials: int, seed: int, workers: int) -> None:
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or not 1 <= n_trials <= 10**8:
        raise InputError("trials", f"must be an integer in 1..100000000, got {n_trials!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError("seed", f"must be a non-negative integer, got {seed!r}")
    top = (os.cpu_count() or 1) * 8
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= top:
        raise InputError("workers", f"must be an integer in 1..{top}")


def simulate_protocol(
    protocol: Protocol,
    scenario: ProtocolScenario,
    n_trials: int = 10_000,
    seed: int = 0,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> ProtocolSimulationResult:
    """Simulate ``n_trials`` trials of a protocol under a protocol scenario (module docstring).

    Args:
        protocol: a loaded protocol (``doseladder.protocols.load_protocol`` / ``load_shipped``).
        scenario: the truth per indication and the accrual processes.
        n_trials, seed: number of trials and the root seed (same seed => identical results,
            whatever ``workers`` / ``scheduler``).
        workers: local processes (1 = in this process).
        scheduler: a Dask scheduler address (``tcp://host:port``) or ``"local"``.
        progress: called with the number of trials finished after each block.
    """
    _check(n_trials, seed, workers)
    setup = ProtocolSetup.from_protocol(protocol, scenario)
    ctx = protocol_context(setup)
    tasks = [
        _Task(setup, seed, b, size, ctx) for b, size in enumerate(block_sizes(n_trials, BLOCK_SIZE))
    ]
    parts = run_tasks(tasks, _run_task, workers=workers, scheduler=scheduler, progress=progress)
    stats = ProtocolStats.merge(parts)
    return ProtocolSimulationResult.from_stats(stats, ctx, setup, seed)
