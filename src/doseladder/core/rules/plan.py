"""The escalation plan of a protocol and the per-indication dose recommendation.

An :class:`EscalationPlan` bundles what a protocol says about choosing doses: the design (from
:mod:`doseladder.core.designs`), the dose labels, and the protocol-level rules of
:mod:`doseladder.core.rules` -- backup-dose fallback (seed 000), driving indication and the
policy for other indications (seed 000), pooled safety monitoring, sentinel staggering, cohort
completion and a trial-wide enrolment cap.  Spec ``dose-finding.md`` §5, issue #4.

:func:`recommend` is the single entry point a conduct service calls::

    recommend(plan, state, now) -> PlanRecommendation

``state`` holds *every* treated patient of every indication (``Patient.indication``; ``None``
means the driving indication, or the only one); ``now`` is the decision time (required when
outcomes are pending for a time-to-event design, or for staggering).  The result gives, per
indication, whether a patient may be enrolled now, at which dose (1-based level and label), or
why not (wait / closed), with machine-readable :class:`~doseladder.core.decision.Reason` objects
naming the rule that fired and its numbers, plus the underlying design decision, the fallback
status, the safety-monitor tallies and the confirmed-safe verdict of every dose.

Order of evaluation for the driving (or pooled) cohort:

1. trial-wide cap ``max_total`` (all indications) -> closed;
2. fallback rule (if any): run-in at the start dose, wait for the run-in, or go to the backup
   dose; otherwise the design decides on driving data only, with eliminated doses = the
   state's, plus doses blocked by the fallback (``reescalation="blocked"``), plus doses closed
   by a ``close_all`` safety monitor;
3. cohort completion (``complete_cohorts``, default on): while the trailing run of driving
   *escalation* patients at the current dose (the dose of the latest escalation patient;
   backfill patients are treated below it and never form cohorts) is not a multiple of the
   design's cohort size, the cohort is
   completed at the current dose -- unless the design de-escalates, stops, or has eliminated
   the dose (safety signals are never overridden).  The core designs other than the 3+3 decide
   after every patient; protocols enrol cohorts, so this makes "cohort of 3" mean what the
   protocol says (TITE-BOIN12's suspension rule then applies at cohort boundaries, as in the
   PKBOIN-12 author code where cohorts arrive together);
4. sentinel staggering at the chosen dose -> wait until the sentinel's observation ends;
5. a guard that never lets a closed dose through (only reachable with ``close_all``).

Backfill (:mod:`doseladder.core.rules.backfill`, BOIN plans; or a BF-BOIN design): the design
step is BF-BOIN's decision; while it suspends escalation (cohort full and in follow-up) the
driving entry also gives ``backfill_open`` (0-based doses open for backfill now) and
``backfill_dose`` (the assignment rule's pick).  The fallback rule counts escalation patients
only.

Other indications follow :mod:`doseladder.core.rules.driving_indication`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from doseladder.core.decision import Action, Decision, Reason
from doseladder.core.designs.base import Design, check_int
from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.core.designs.three_plus_three import ThreePlusThree
from doseladder.core.errors import InputError
from doseladder.core.rules.backfill import BackfillRule, backfill_choice
from doseladder.core.rules.backup_fallback import BackupFallback, FallbackPhase, FallbackStatus
from doseladder.core.rules.cohort_slots import trailing_run
from doseladder.core.rules.driving_indication import (
    TOXICITY_DEESCALATION_RULES,
    DoseSafety,
    DrivingIndication,
    OtherIndicationPolicy,
    dose_safety,
)
from doseladder.core.rules.safety_monitor import PooledSafetyMonitor, SafetyMonitorResult
from doseladder.core.rules.staggering import SentinelStaggering
from doseladder.core.state import Patient, TrialState

__all__ = [
    "DESIGN_TITLES",
    "EnrolStatus",
    "EscalationPlan",
    "IndicationRecommendation",
    "IndicationRole",
    "PlanRecommendation",
    "recommend",
]

#: readable design names for protocol text
DESIGN_TITLES: Mapping[str, str] = {
    "boin": "BOIN",
    "tite-boin": "TITE-BOIN",
    "boin12": "BOIN12",
    "tite-boin12": "TITE-BOIN12",
    "3+3": "the 3+3 design",
    "bf-boin": "BF-BOIN",
}


class EnrolStatus(StrEnum):
    """Whether an indication may enrol now."""

    ENROL = "enrol"  # enrol the next patient now at ``dose``
    WAIT = "wait"  # not now (pending outcomes, staggering, no confirmed-safe dose yet)
    CLOSED = "closed"  # no further enrolment (trial stopped, cap reached, no safe dose)


class IndicationRole(StrEnum):
    DRIVING = "driving"
    OTHER = "other"
    POOLED = "pooled"  # no driving indication: every indication's data drive the design


@dataclass(frozen=True, slots=True)
class IndicationRecommendation:
    """What one indication may do now.

    Attributes:
        indication: the indication name.
        role: driving / other / pooled.
        status: enrol / wait / closed.
        dose: the 1-based dose level to enrol at (``ENROL``), the level at which enrolment
            resumes (``WAIT``, when known), or ``None``.
        dose_label: the protocol's label of ``dose``.
        reason: the rule that decided, with its numbers.
        available_at: for a wait with a known end (staggering): the earliest enrolment time.
        steps: earlier rules that shaped the result (e.g. the design decision under a cohort
            completion, the safety-monitor trigger).
        backfill_open: **0-based** dose levels open for backfill right now (BF-BOIN design or
            the protocol's backfill rule, spec ``backfill.md`` §4), lowest first; empty when no
            patient of this indication may be backfilled now.  Independent of ``status``: the
            escalation cohort may wait while backfill patients are enrolled.
        backfill_dose: the **0-based** level the assignment rule picks among ``backfill_open``
            (``highest`` / ``lowest``); ``None`` when nothing is open or the rule is
            ``random`` (the caller draws uniformly among ``backfill_open``).
    """

    indication: str
    role: IndicationRole
    status: EnrolStatus
    dose: int | None
    dose_label: str | None
    reason: Reason
    available_at: float | None = None
    steps: tuple[Reason, ...] = ()
    backfill_open: tuple[int, ...] = ()
    backfill_dose: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "indication": self.indication,
            "role": self.role.value,
            "status": self.status.value,
            "dose": self.dose,
            "dose_label": self.dose_label,
            "available_at": self.available_at,
            "reason": self.reason.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
            "backfill_open": list(self.backfill_open),
            "backfill_dose": self.backfill_dose,
        }


@dataclass(frozen=True, slots=True)
class PlanRecommendation:
    """Per-indication recommendations at one decision time, and the evidence behind them.

    Attributes:
        now: the decision time.
        indications: one entry per indication, the driving (or first pooled) one first.
        driving_decision: the design's decision on the driving data (``None`` when the design
            was not consulted: fallback run-in / wait / fallback move).
        fallback: the fallback rule's status (``None`` without the rule).
        safety: the safety monitor's result (``None`` without a monitor).
        dose_safety: confirmed-safe verdicts per dose (empty without a driving indication).
        eliminated: doses closed to the driving cohort (state, design, fallback block, monitor).
        dose_labels: labels of levels 1..J.
    """

    now: float | None
    indications: tuple[IndicationRecommendation, ...]
    driving_decision: Decision | None
    fallback: FallbackStatus | None
    safety: SafetyMonitorResult | None
    dose_safety: tuple[DoseSafety, ...]
    eliminated: frozenset[int]
    dose_labels: tuple[str, ...]

    @property
    def driving(self) -> IndicationRecommendation:
        return self.indications[0]

    def for_indication(self, name: str) -> IndicationRecommendation:
        for rec in self.indications:
            if rec.indication == name:
                return rec
        known = ", ".join(r.indication for r in self.indications)
        raise InputError("indication", f"unknown indication {name!r}; known: {known}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "dose_labels": list(self.dose_labels),
            "indications": [r.to_dict() for r in self.indications],
            "driving_decision": (
                self.driving_decision.to_dict() if self.driving_decision is not None else None
            ),
            "fallback": self.fallback.values() if self.fallback is not None else None,
            "safety_monitor": self.safety.to_dict() if self.safety is not None else None,
            "dose_safety": [d.to_dict() for d in self.dose_safety],
            "eliminated": sorted(self.eliminated),
        }


@dataclass(frozen=True)
class EscalationPlan:
    """How a protocol chooses doses (module docstring).

    Attributes:
        design: the dose-finding design (its ``num_doses`` = number of labels).
        dose_labels: labels of dose levels 1..J, lowest first (seed 000: DL-1, DL1, DL2).
        indications: every indication name; empty = one unnamed indication.
        driving_indication: the indication whose data alone drive the design; ``None`` = every
            indication's data are pooled (or there is only one).
        fallback: backup-dose fallback rule (seed 000).
        other_indications: policy for non-driving indications.
        safety_monitor: pooled toxicity monitoring (optional).
        staggering: sentinel staggering (optional).
        complete_cohorts: complete a started cohort at the current dose (default ``True``).
        max_total: trial-wide enrolment cap over all indications (``None`` = none).
        backfill: backfill cohorts (:class:`~doseladder.core.rules.backfill.BackfillRule`; BOIN
            designs only): the plan then decides with BF-BOIN (:attr:`decision_design`).
    """

    design: Design
    dose_labels: tuple[str, ...]
    indications: tuple[str, ...] = ()
    driving_indication: str | None = None
    fallback: BackupFallback | None = None
    other_indications: OtherIndicationPolicy = field(default_factory=OtherIndicationPolicy)
    safety_monitor: PooledSafetyMonitor | None = None
    staggering: SentinelStaggering | None = None
    complete_cohorts: bool = True
    max_total: int | None = None
    backfill: BackfillRule | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.design, Design):
            raise InputError("design", "must be a Design")
        labels = tuple(self.dose_labels)
        object.__setattr__(self, "dose_labels", labels)
        J: int = self.design.num_doses
        if len(labels) != J:
            raise InputError(
                "dose_labels", f"{len(labels)} labels for a design with {J} dose levels"
            )
        for i, lab in enumerate(labels):
            if not isinstance(lab, str) or not lab.strip():
                raise InputError(f"dose_labels[{i}]", "must be a non-empty label")
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise InputError("dose_labels", f"repeated label(s) {dup}")
        inds = tuple(self.indications)
        for i, name in enumerate(inds):
            if not isinstance(name, str) or not name.strip():
                raise InputError(f"indications[{i}]", "must be a non-empty name")
        if len(set(inds)) != len(inds):
            raise InputError("indications", "an indication is listed twice")
        if self.driving_indication is not None:
            DrivingIndication(self.driving_indication)
            if not inds:
                inds = (self.driving_indication,)
            elif self.driving_indication not in inds:
                raise InputError(
                    "driving_indication",
                    f"{self.driving_indication!r} is not one of the indications {list(inds)}",
                )
            # driving first
            inds = (
                self.driving_indication,
                *(x for x in inds if x != self.driving_indication),
            )
        object.__setattr__(self, "indications", inds)
        if self.fallback is not None:
            if not isinstance(self.fallback, BackupFallback):
                raise InputError("fallback", "must be a BackupFallback")
            if self.design.name == "3+3":
                # the run-in plus the 3+3's own cohorts can put more than 6 patients on one
                # dose, which is not a 3+3 history
                raise InputError(
                    "fallback", "a backup-dose fallback cannot be combined with the 3+3 design"
                )
            self.fallback.check_doses(J)
            if self.design.start_dose != self.fallback.run_in_dose:
                raise InputError(
                    "fallback.run_in_dose",
                    f"the run-in dose {labels[self.fallback.run_in_dose - 1]} must be the "
                    f"design's start dose {labels[self.design.start_dose - 1]}",
                )
        if not isinstance(self.other_indications, OtherIndicationPolicy):
            raise InputError("other_indications", "must be an OtherIndicationPolicy")
        if self.driving_indication is not None:
            # raises for a design without a rule, or CRM options given to another design
            self.other_indications.deescalation_rule(self.design)
        if not isinstance(self.complete_cohorts, bool):
            raise InputError("complete_cohorts", "must be true or false")
        if self.max_total is not None:
            check_int("max_total", self.max_total, 1)
        if self.backfill is not None:
            if not isinstance(self.backfill, BackfillRule):
                raise InputError("backfill", "must be a BackfillRule")
            try:
                self.backfill.check_plan(self.design, J, inds, self.driving_indication)
            except InputError as exc:
                field_ = exc.field if exc.field.startswith("design.") else f"backfill.{exc.field}"
                raise InputError(field_, exc.reason) from None
            if self.staggering is not None:
                raise InputError("backfill", "backfill cannot be combined with sentinel staggering")

    # ------------------------------------------------------------------ helpers
    @property
    def decision_design(self) -> Design:
        """The design that takes the driving decisions: BF-BOIN built from the BOIN design when
        the backfill rule is on, else the design itself."""
        if self.backfill is not None:
            return self.backfill.design_for(self.design)
        return self.design

    @property
    def backfills(self) -> bool:
        """Whether patients may be backfilled (backfill rule, or a BF-BOIN design)."""
        return self.backfill is not None or isinstance(self.design, BFBOIN)

    @property
    def design_forms_cohorts(self) -> bool:
        """The deciding design groups escalation patients into cohorts itself (BF-BOIN: every
        ``cohort_size`` escalation patients, waiting for the whole cohort); the plan's cohort
        completion is then not applied (two cohort rules would fall out of step, e.g. after a
        fallback run-in of one patient)."""
        return isinstance(self.decision_design, BFBOIN)

    def may_backfill(self, indication: str | None) -> bool:
        """Whether a patient of ``indication`` may be backfilled under this plan."""
        if self.backfill is not None:
            pooled = self.indications if self.driving_indication is None else ()
            return self.backfill.allows(indication, self.driving_indication, pooled)
        return isinstance(self.design, BFBOIN) and self.is_driving_name(indication)

    def is_driving_name(self, indication: str | None) -> bool:
        return (
            self.driving_indication is None
            or indication is None
            or indication == self.driving_indication
        )

    @property
    def num_doses(self) -> int:
        return len(self.dose_labels)

    @property
    def design_title(self) -> str:
        return DESIGN_TITLES.get(self.design.name, self.design.name)

    @property
    def indication_names(self) -> tuple[str, ...]:
        """The indications, or ``("all",)`` for a plan without named indications."""
        return self.indications or ("all",)

    def label(self, level: int | None) -> str | None:
        return None if level is None else self.dose_labels[level - 1]

    def level(self, label: str) -> int:
        """1-based level of a dose label (InputError naming the known labels)."""
        try:
            return self.dose_labels.index(label) + 1
        except ValueError:
            raise InputError(
                "dose", f"unknown dose label {label!r}; known: {', '.join(self.dose_labels)}"
            ) from None

    def is_driving(self, patient: Patient) -> bool:
        """Whether a patient's data drive the design."""
        if self.driving_indication is None:
            return True
        return patient.indication is None or patient.indication == self.driving_indication

    # ------------------------------------------------------------------ text
    def describe(self) -> str:
        """The plan's rules as protocol text."""
        labels = self.dose_labels
        title = self.design_title
        mapping = ", ".join(f"{i} = {lab}" for i, lab in enumerate(labels, start=1))
        paras = [
            f"Dose levels, lowest first: {', '.join(labels)}. The design refers to them by "
            f"number ({mapping}). Dose finding starts at {labels[self.design.start_dose - 1]}.",
            self.design.describe(),
        ]
        if self.fallback is not None:
            paras.append(self.fallback.describe(labels, title))
        others = [x for x in self.indications if x != self.driving_indication]
        if self.driving_indication is not None:
            paras.append(DrivingIndication(self.driving_indication).describe(others))
            if others:
                rule = self.other_indications.deescalation_rule(self.design)
                paras.append(self.other_indications.describe(self.driving_indication, rule.text))
        elif len(self.indications) > 1:
            paras.append(
                "Indications: "
                + ", ".join(self.indications)
                + ". Their data are pooled: every subject counts toward every decision."
            )
        if self.safety_monitor is not None:
            paras.append(self.safety_monitor.describe())
        if self.staggering is not None:
            paras.append(self.staggering.describe(labels))
        else:
            paras.append("No sentinel staggering: subjects of a cohort are not staggered.")
        if self.backfill is not None:
            paras.append(self.backfill.describe(labels, self.design))
        if self.design_forms_cohorts:
            size = self.design.cohort_size
            paras.append(
                f"Escalation subjects are enrolled in cohorts of {size} (every {size} "
                "escalation subjects form a cohort; backfill subjects belong to none): the "
                "escalation decision is taken once every subject of the cohort has completed "
                "DLT follow-up."
            )
        elif self.complete_cohorts and not isinstance(self.design, ThreePlusThree):
            paras.append(
                f"Subjects are enrolled in cohorts of {self.design.cohort_size}: once a cohort "
                "has started at a dose it is completed at that dose, unless the rules "
                "de-escalate, stop, or eliminate the dose; the next decision is taken at the "
                "end of the cohort."
            )
        if self.max_total is not None:
            paras.append(
                f"At most {self.max_total} subjects are enrolled in total, all indications "
                "together."
            )
        return "\n\n".join(paras)

    def to_dict(self) -> dict[str, Any]:
        return {
            "design": self.design.to_dict(),
            "dose_labels": list(self.dose_labels),
            "indications": list(self.indications),
            "driving_indication": self.driving_indication,
            "fallback": self.fallback.to_dict() if self.fallback is not None else None,
            "other_indications": self.other_indications.to_dict(),
            "safety_monitor": (
                self.safety_monitor.to_dict() if self.safety_monitor is not None else None
            ),
            "staggering": self.staggering.to_dict() if self.staggering is not None else None,
            "complete_cohorts": self.complete_cohorts,
            "max_total": self.max_total,
            "backfill": self.backfill.to_dict() if self.backfill is not None else None,
        }


# --------------------------------------------------------------------------- recommend
@dataclass(frozen=True, slots=True)
class _Outcome:
    status: EnrolStatus
    dose: int | None
    reason: Reason
    available_at: float | None = None
    steps: tuple[Reason, ...] = ()


def _from_decision(decision: Decision) -> _Outcome:
    if decision.action is Action.STOP:
        return _Outcome(EnrolStatus.CLOSED, None, decision.reason, steps=decision.steps)
    if decision.action is Action.SUSPEND:
        return _Outcome(EnrolStatus.WAIT, decision.next_dose, decision.reason, steps=decision.steps)
    return _Outcome(EnrolStatus.ENROL, decision.next_dose, decision.reason, steps=decision.steps)


def _monitor_reason(result: SafetyMonitorResult, labels: Sequence[str]) -> Reason:
    low = min(result.flagged)
    row = result.per_dose[low - 1]
    effect = {
        "flag": "reported for safety review (no automatic action)",
        "close_others": "closed to the non-driving indications",
        "close_all": "closed to every indication",
    }[result.action]
    return Reason(
        "safety_monitor.triggered",
        (
            f"Pooled safety monitor: {row.dlts} DLT(s) in {row.n} subjects with a known outcome "
            f"at {labels[low - 1]} (Pr(DLT rate > target) = {row.prob_above_target:.3f}); "
            f"{', '.join(labels[d - 1] for d in sorted(result.flagged))} {effect}."
        ),
        {**result.to_dict(), "flagged_labels": [labels[d - 1] for d in sorted(result.flagged)]},
    )


def _stagger(
    plan: EscalationPlan,
    out: _Outcome,
    patients: Sequence[Patient],
    driving_pts: Sequence[Patient],
    now: float | None,
) -> _Outcome:
    if plan.staggering is None or out.status is not EnrolStatus.ENROL or out.dose is None:
        return out
    scope = patients if plan.staggering.scope == "all" else driving_pts
    chk = plan.staggering.check(out.dose, scope, now)
    if not chk.wait:
        return out
    lab = plan.dose_labels[out.dose - 1]
    assert chk.available_at is not None
    reason = Reason(
        "staggering.wait",
        (
            f"Sentinel staggering: {chk.treated} subject(s) treated at {lab}, the latest is "
            f"observed for {plan.staggering.days:g} days: the next subject at {lab} may be "
            f"treated from time {chk.available_at:g} (now {now:g})."
        ),
        {**chk.values(), "dose_label": lab, "days": plan.staggering.days, "now": now},
    )
    return _Outcome(EnrolStatus.WAIT, out.dose, reason, chk.available_at, (*out.steps, out.reason))


def _guard(plan: EscalationPlan, out: _Outcome, closed: frozenset[int]) -> _Outcome:
    """Never recommend (or resume at) a closed dose: move to the highest open dose below, or
    close.  A wait stays a wait (the design's reason for waiting still holds)."""
    if out.status is EnrolStatus.CLOSED or out.dose is None or out.dose not in closed:
        return out
    below = next((j for j in range(out.dose - 1, 0, -1) if j not in closed), None)
    lab = plan.dose_labels[out.dose - 1]
    if below is None:
        reason = Reason(
            "plan.closed_dose",
            f"{lab} is closed and no lower dose is open: no further enrolment.",
            {"dose": out.dose, "closed": sorted(closed)},
        )
        return _Outcome(EnrolStatus.CLOSED, None, reason, steps=(*out.steps, out.reason))
    verb = "enrol" if out.status is EnrolStatus.ENROL else "resume"
    reason = Reason(
        "plan.closed_dose",
        f"{lab} is closed: {verb} at the highest open lower dose {plan.dose_labels[below - 1]}.",
        {"dose": out.dose, "next_dose": below, "closed": sorted(closed)},
    )
    return _Outcome(out.status, below, reason, steps=(*out.steps, out.reason))


def _run_in_pending_text(
    plan: EscalationPlan,
    driving_pts: tuple[Patient, ...],
    fb: FallbackStatus,
    now: float | None,
) -> str:
    """The run-in's pending DLT outcomes in words: still in the DLT window, or past it and
    awaiting assessment (when the design has a DLT window and the time is known)."""
    window = getattr(plan.design, "tox_window", None)
    if plan.fallback is None or now is None or window is None:
        return f"{fb.run_in_pending} with the DLT outcome not yet known"
    past = plan.fallback.run_in_past_window(driving_pts, now, float(window))
    parts = []
    if fb.run_in_pending - past:
        parts.append(f"{fb.run_in_pending - past} still in the DLT window")
    if past:
        parts.append(
            f"{past} past the DLT window with the outcome awaiting assessment (a possible DLT "
            "to adjudicate)"
        )
    return ", ".join(parts) or "none pending"


def _backfill(
    plan: EscalationPlan,
    decision: Decision | None,
    out: _Outcome,
    eliminated: frozenset[int],
    total_cap: bool,
) -> tuple[tuple[int, ...], int | None]:
    """The doses open for backfill now (0-based) and the one the assignment rule picks.

    They come from the BF-BOIN decision (``bf_boin.backfill``: the escalation cohort is full
    and in follow-up; spec ``backfill.md`` §4), restricted to the rule's ``min_dose`` and to
    doses not closed; none when the trial-wide cap is reached or enrolment is closed.
    """
    if (
        decision is None
        or total_cap
        or out.status is EnrolStatus.CLOSED
        or decision.action is not Action.SUSPEND
        or not isinstance(plan.decision_design, BFBOIN)
    ):
        return (), None
    opened = decision.reason.values.get("backfill_open") or []
    rule = plan.backfill
    design = plan.decision_design
    assign = rule.assign if rule is not None else design.backfill_assign
    min_dose = rule.min_dose if rule is not None else 1
    kept, pick = backfill_choice(opened, assign, min_dose, eliminated)
    return tuple(j - 1 for j in kept), (pick - 1 if pick is not None else None)


def _driving(
    plan: EscalationPlan,
    driving_pts: tuple[Patient, ...],
    closed: frozenset[int],
    fb: FallbackStatus | None,
    now: float | None,
) -> tuple[_Outcome, Decision | None]:
    labels = plan.dose_labels
    J = plan.num_doses
    fallback = plan.fallback
    if fallback is not None and fb is not None:
        run, back = fallback.run_in_dose, fallback.backup_dose
        values = {
            **fb.values(),
            "first_k": fallback.first_k,
            "min_dlts": fallback.min_dlts,
            "run_in_dose": run,
            "run_in_label": labels[run - 1],
            "backup_dose": back,
            "backup_label": labels[back - 1],
        }
        if fb.phase is FallbackPhase.RUN_IN:
            return (
                _Outcome(
                    EnrolStatus.ENROL,
                    run,
                    Reason(
                        "backup_fallback.run_in",
                        (
                            f"Run-in: {fb.run_in_n} of the first {fallback.first_k} subjects "
                            f"treated at {labels[run - 1]}, {fb.run_in_dlts} DLT(s) observed "
                            f"({fb.run_in_pending} pending): treat the next subject at "
                            f"{labels[run - 1]}."
                        ),
                        values,
                    ),
                ),
                None,
            )
        if fb.phase is FallbackPhase.AWAITING:
            return (
                _Outcome(
                    EnrolStatus.WAIT,
                    run,
                    Reason(
                        "backup_fallback.await_run_in",
                        (
                            f"Run-in enrolled: {fb.run_in_n} subjects at {labels[run - 1]}, "
                            f"{fb.run_in_dlts} DLT(s), "
                            f"{_run_in_pending_text(plan, driving_pts, fb, now)}: "
                            f"wait until the run-in is resolved ({fallback.min_dlts} "
                            f"DLT(s) -> fall back to {labels[back - 1]}; otherwise continue at "
                            f"{labels[run - 1]})."
                        ),
                        values,
                    ),
                ),
                None,
            )
        if fb.phase is FallbackPhase.TRIGGERED:
            return (
                _Outcome(
                    EnrolStatus.ENROL,
                    back,
                    Reason(
                        "backup_fallback.fallback",
                        (
                            f"{fb.run_in_dlts} DLT(s) observed in the first {fb.run_in_n} "
                            f"subject(s) at {labels[run - 1]} (trigger: {fallback.min_dlts} in "
                            f"the first {fallback.first_k}): fall back to the backup dose "
                            f"{labels[back - 1]}; {plan.design_title} continues from there "
                            "with every subject's data kept."
                        ),
                        values,
                    ),
                ),
                None,
            )
    # the escalation cohort: backfill patients are treated below it and never form cohorts
    esc_pts = tuple(p for p in driving_pts if not p.backfill)
    d_esc = esc_pts[-1].dose if esc_pts else None
    state = TrialState(J, driving_pts, current_dose=d_esc, eliminated=closed)
    decision = plan.decision_design.decide(state, now)
    out = _from_decision(decision)
    if fallback is not None and fb is not None:
        note = Reason(
            "backup_fallback.passed"
            if fb.phase is FallbackPhase.PASSED
            else "backup_fallback.applied",
            (
                f"Run-in resolved: {fb.run_in_dlts} DLT(s) in the first {fb.run_in_n} subjects at "
                f"{labels[fallback.run_in_dose - 1]}; {plan.design_title} decides on all data."
                if fb.phase is FallbackPhase.PASSED
                else f"Fallback to {labels[fallback.backup_dose - 1]} applied; "
                f"{plan.design_title} decides on all data, run-in data included"
                + (
                    f"; {labels[fallback.run_in_dose - 1]} and above are closed."
                    if fallback.reescalation == "blocked"
                    else "."
                )
            ),
            fb.values(),
        )
        out = _Outcome(out.status, out.dose, out.reason, out.available_at, (note, *out.steps))
    if (
        plan.complete_cohorts
        and not plan.design_forms_cohorts
        and d_esc is not None
        and decision.action not in (Action.STOP,)
    ):
        d = d_esc
        size: int = plan.design.cohort_size
        run_len = trailing_run(esc_pts, d)
        if (
            run_len % size != 0
            and decision.action is not Action.DEESCALATE
            and d not in decision.eliminated
            and d not in closed
            and (decision.next_dose is None or decision.next_dose >= d)
        ):
            reason = Reason(
                "plan.complete_cohort",
                (
                    f"The cohort at {labels[d - 1]} has {run_len % size} of {size} subjects: "
                    f"treat the next subject at {labels[d - 1]} to complete it (the design's "
                    f"rule {decision.reason.rule} applies at the end of the cohort)."
                ),
                {
                    "dose": d,
                    "dose_label": labels[d - 1],
                    "in_cohort": run_len % size,
                    "cohort_size": size,
                    "design_rule": decision.reason.rule,
                    "design_next_dose": decision.next_dose,
                },
            )
            out = _Outcome(EnrolStatus.ENROL, d, reason, steps=(*out.steps, decision.reason))
    return out, decision


def recommend(
    plan: EscalationPlan, state: TrialState, now: float | None = None
) -> PlanRecommendation:
    """Per-indication enrolment recommendation at time ``now`` (module docstring).

    Args:
        plan: the protocol's escalation plan.
        state: every treated patient, all indications (``Patient.indication``; ``None`` = the
            driving indication).  ``state.eliminated`` holds doses eliminated earlier (they
            stay closed); ``state.current_dose`` is ignored -- the driving cohort's current dose
            is the dose of its latest escalation (non-backfill) patient.
        now: decision time (same unit as entry times).

    Raises:
        InputError: naming the field, for a state that does not fit the plan (dose levels,
            unknown indication, events after ``now``, missing ``now`` with pending outcomes).
    """
    if not isinstance(plan, EscalationPlan):
        raise InputError("plan", "must be an EscalationPlan")
    if not isinstance(state, TrialState):
        raise InputError("state", "must be a TrialState")
    J = plan.num_doses
    labels = plan.dose_labels
    if state.num_doses != J:
        raise InputError(
            "num_doses", f"the trial state has {state.num_doses} dose levels, the plan has {J}"
        )
    state.validate_at(now)
    known = set(plan.indications)
    flags: list[bool] = []
    for i, p in enumerate(state.patients):
        if p.indication is not None and known and p.indication not in known:
            raise InputError(
                f"patients[{i}].indication",
                f"unknown indication {p.indication!r}; the protocol has "
                f"{', '.join(plan.indications)}",
            )
        if p.indication is not None and not known:
            raise InputError(
                f"patients[{i}].indication",
                f"the protocol names no indications, got {p.indication!r}",
            )
        flags.append(plan.is_driving(p))
        if p.backfill and not plan.may_backfill(p.indication):
            raise InputError(
                f"patients[{i}].backfill",
                "the protocol has no backfill rule"
                if not plan.backfills
                else f"{p.indication or 'these'} subjects are not backfilled under the protocol",
            )
    patients = state.patients
    driving_pts = tuple(p for p, f in zip(patients, flags, strict=True) if f)

    monitor = (
        plan.safety_monitor.evaluate(J, patients, flags)
        if plan.safety_monitor is not None
        else None
    )
    monitor_steps: tuple[Reason, ...] = (
        (_monitor_reason(monitor, labels),) if monitor is not None and monitor.triggered else ()
    )
    esc_pts = tuple(p for p in driving_pts if not p.backfill)
    fb = plan.fallback.evaluate(esc_pts) if plan.fallback is not None else None
    blocked = (
        plan.fallback.blocked_doses(J, fb)
        if plan.fallback is not None and fb is not None
        else frozenset()
    )
    closed = (
        frozenset(state.eliminated)
        | blocked
        | (monitor.closed_for_driving() if monitor is not None else frozenset())
    )
    total_cap = plan.max_total is not None and len(patients) >= plan.max_total
    cap_reason = Reason(
        "plan.max_total_reached",
        f"{len(patients)} subjects enrolled, the trial-wide maximum is {plan.max_total}: no "
        "further enrolment.",
        {"total_n": len(patients), "max_total": plan.max_total},
    )

    out, decision = _driving(plan, driving_pts, closed, fb, now)
    eliminated = closed | (decision.eliminated if decision is not None else frozenset())
    if total_cap:
        out = _Outcome(EnrolStatus.CLOSED, None, cap_reason, steps=(*out.steps, out.reason))
    out = _guard(plan, out, eliminated)
    out = _stagger(plan, out, patients, driving_pts, now)
    bf_open, bf_dose = _backfill(plan, decision, out, eliminated, total_cap)
    first_role = IndicationRole.DRIVING if plan.driving_indication else IndicationRole.POOLED

    def bf_for(name: str) -> tuple[tuple[int, ...], int | None]:
        if not bf_open or not plan.may_backfill(None if not plan.indications else name):
            return (), None
        return bf_open, bf_dose

    recs = [
        IndicationRecommendation(
            plan.indication_names[0],
            first_role,
            out.status,
            out.dose,
            plan.label(out.dose),
            out.reason,
            out.available_at,
            (*out.steps, *monitor_steps),
            *bf_for(plan.indication_names[0]),
        )
    ]
    if plan.driving_indication is None:
        for name in plan.indication_names[1:]:
            recs.append(
                IndicationRecommendation(
                    name,
                    IndicationRole.POOLED,
                    out.status,
                    out.dose,
                    plan.label(out.dose),
                    out.reason,
                    out.available_at,
                    (*out.steps, *monitor_steps),
                    *bf_for(name),
                )
            )
        return PlanRecommendation(now, tuple(recs), decision, fb, monitor, (), eliminated, labels)

    # ---------------------------------------------------------------- other indications
    policy = plan.other_indications
    excluded: dict[int, str] = {}
    for k in sorted(eliminated):
        excluded[k] = "eliminated / closed for the driving cohort"
    if monitor is not None:
        for k in sorted(monitor.closed_for_others()):
            excluded.setdefault(k, "closed by the pooled safety monitor")
    current = esc_pts[-1].dose if esc_pts else None  # the escalation cohort's dose
    if (
        decision is not None
        and decision.current_dose is not None
        and decision.reason.rule.rsplit(".", 1)[-1] in TOXICITY_DEESCALATION_RULES
    ):
        # also when the design "de-escalates" but stays because no lower dose is admissible
        excluded.setdefault(
            decision.current_dose,
            f"the driving cohort's decision at this dose is de-escalate ({decision.reason.rule})",
        )
    if plan.fallback is not None and fb is not None and fb.fired:
        below_run_in = current is None or current < plan.fallback.run_in_dose
        if fb.phase is FallbackPhase.TRIGGERED or below_run_in:
            for k in range(plan.fallback.run_in_dose, J + 1):
                excluded.setdefault(
                    k, "the fallback rule fired and the driving cohort is below this dose"
                )
    safety = dose_safety(plan.design, labels, driving_pts, policy, excluded=excluded)
    confirmed = [s.dose for s in safety if s.confirmed]
    safety_values = {"dose_safety": [s.to_dict() for s in safety], "driving_current": current}
    driving_stopped = decision is not None and decision.action is Action.STOP
    safety_stop = driving_stopped and decision is not None and decision.next_dose is None
    drv = plan.driving_indication
    assert drv is not None
    for name in plan.indications[1:]:
        n_ind = sum(1 for p in patients if p.indication == name)
        steps = monitor_steps
        o: _Outcome
        if total_cap:
            o = _Outcome(EnrolStatus.CLOSED, None, cap_reason)
        elif policy.max_n_per_indication is not None and n_ind >= policy.max_n_per_indication:
            o = _Outcome(
                EnrolStatus.CLOSED,
                None,
                Reason(
                    "driving_indication.max_n_reached",
                    f"{n_ind} {name} subjects enrolled, the maximum per other indication is "
                    f"{policy.max_n_per_indication}.",
                    {"n": n_ind, "max_n_per_indication": policy.max_n_per_indication},
                ),
            )
        elif safety_stop or (driving_stopped and not policy.continue_after_driving_stop):
            assert decision is not None
            o = _Outcome(
                EnrolStatus.CLOSED,
                None,
                Reason(
                    "driving_indication.driving_stopped",
                    f"The {drv} cohort has stopped ({decision.reason.rule}): no further "
                    f"{name} enrolment.",
                    {"driving_rule": decision.reason.rule},
                ),
                steps=(decision.reason,),
            )
        else:
            cap = J if policy.dose_cap == "any_confirmed" else current
            cands = [k for k in confirmed if cap is not None and k <= cap]
            if not cands:
                why = (
                    f"no {drv} subject treated yet"
                    if current is None
                    else "; ".join(f"{s.label}: {s.why}" for s in safety if not s.confirmed)
                )
                o = _Outcome(
                    EnrolStatus.WAIT,
                    None,
                    Reason(
                        "driving_indication.no_confirmed_dose",
                        f"No dose is confirmed safe in the {drv} cohort yet ({why}): {name} "
                        "subjects wait.",
                        {**safety_values, "indication": name, "cap": cap},
                    ),
                )
            else:
                k = max(cands)
                s = safety[k - 1]
                rate_txt = f"{s.dlts}/{s.n_known}"
                o = _Outcome(
                    EnrolStatus.ENROL,
                    k,
                    Reason(
                        "driving_indication.confirmed_safe",
                        (
                            f"{labels[k - 1]} is confirmed safe in the {drv} cohort ({rate_txt} "
                            f"subjects with a DLT among those with a known outcome; the "
                            f"toxicity decision there is not de-escalate): enrol {name} "
                            f"subjects at {labels[k - 1]}, the highest confirmed-safe dose"
                            + (
                                f" at or below the {drv} cohort's current dose "
                                f"{labels[current - 1]}."
                                if policy.dose_cap == "driving_current" and current is not None
                                else "."
                            )
                        ),
                        {
                            **safety_values,
                            "indication": name,
                            "dose": k,
                            "dose_label": labels[k - 1],
                            "cap": cap,
                        },
                    ),
                )
                o = _stagger(plan, o, patients, driving_pts, now)
        recs.append(
            IndicationRecommendation(
                name,
                IndicationRole.OTHER,
                o.status,
                o.dose,
                plan.label(o.dose),
                o.reason,
                o.available_at,
                (*o.steps, *steps),
            )
        )
    return PlanRecommendation(now, tuple(recs), decision, fb, monitor, safety, eliminated, labels)
