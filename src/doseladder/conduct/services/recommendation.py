"""The recommendation now: the stored data through the core's plan, with the recorded stops.

:func:`compute` builds the core state (:mod:`.decision_state`), carries the eliminated doses of
the driving (or pooled) cohort's latest recorded decision, asks
:func:`doseladder.core.rules.plan.recommend`, counts each cohort's slots
(:mod:`doseladder.core.rules.cohort_slots`) and keeps the indications closed by a recorded stop
closed (:mod:`doseladder.core.rules.sticky_stops`).  Nothing is stored here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from doseladder.conduct import audit
from doseladder.conduct.errors import ValidationError
from doseladder.conduct.models import DoseDecision, ProtocolVersion, Trial
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services.decision_queries import redact_inputs, visible_with_head
from doseladder.conduct.services.decision_state import (
    BuiltState,
    load_records,
    plain,
    state_at,
)
from doseladder.conduct.services.protocol_engine import Engine
from doseladder.conduct.services.recommendation_cache import (
    Snapshot,
    cache_of,
    trial_head,
    unchanged_between,
)
from doseladder.conduct.services.trials import current_protocol, engine_for
from doseladder.core.designs.backfill_cap import cap_summary
from doseladder.core.errors import InputError
from doseladder.core.rules.cohort_slots import (
    backfill_choice,
    backfill_design,
    backfill_full,
    backfill_patients,
    backfill_slots,
    cohort_patients,
    cohort_slots,
    escalates,
)
from doseladder.core.rules.plan import EnrolStatus, IndicationRecommendation, PlanRecommendation
from doseladder.core.rules.plan import recommend as plan_recommend
from doseladder.core.rules.sticky_stops import (
    STOPPED_RULE,
    RecordedDecision,
    driving_stop_closes_others,
    stop_message,
    stops_in_force,
)
from doseladder.core.state import Patient as CorePatient
from doseladder.core.state import TrialState

__all__ = [
    "STOPPED_RULE",
    "IndicationView",
    "TrialRecommendation",
    "apply_stops",
    "cohort_of",
    "compute",
    "eliminated_carried",
    "inputs_of",
    "recommend",
    "recorded_stops",
    "run_plan",
    "views_of",
]


# ------------------------------------------------------------- recommendation
@dataclass(frozen=True, slots=True)
class IndicationView:
    """The recommendation for one indication, as the services and the API present it.

    Attributes:
        indication: stored indication name (``None`` for protocols without named ones).
        role: ``driving`` / ``other`` / ``pooled``.
        status: ``enrol`` (at ``next_dose``), ``wait`` or ``closed``.
        next_dose / dose_label: the dose to enrol at (or at which enrolment resumes).
        current_dose: dose of the indication's latest (escalation) patient.
        rule / message: the rule that decided and its plain-English reason.
        steps: earlier rules that shaped the result (reason dicts).
        reason_values: the numbers the deciding rule used.
        available_at: earliest enrolment day for a timed wait (staggering).
        requires_signoff: escalation above every dose given so far in the indication while the
            trial requires committee sign-off before escalation.
        slots: enrolment slots a recorded decision opens (one cohort, within the caps).
        backfill: ``None`` for a design without backfill; else the doses open for backfill
            now (1-based), the backfill slots left at each (the cap's room for the patients
            there, read with the trial's ``cap_rule``: ``core.designs.backfill_cap``), the
            cap, its reading and a phrase for it, the assignment rule and the dose it picks
            among the doses with a slot left (``None`` for ``random``: the service draws at
            enrolment).
    """

    indication: str | None
    role: str
    status: str
    next_dose: int | None
    dose_label: str | None
    current_dose: int | None
    rule: str
    message: str
    steps: tuple[dict[str, Any], ...]
    reason_values: dict[str, Any]
    available_at: float | None
    requires_signoff: bool
    slots: int
    backfill: dict[str, Any] | None = None

    @property
    def backfill_slots(self) -> dict[int, int]:
        """Backfill slots left per open dose (1-based level -> slots; empty: none open)."""
        if self.backfill is None:
            return {}
        return {int(x["dose"]): int(x["slots_left"]) for x in self.backfill["open"]}

    def to_dict(self) -> dict[str, Any]:
        out = {
            "indication": self.indication,
            "role": self.role,
            "status": self.status,
            "next_dose": self.next_dose,
            "dose_label": self.dose_label,
            "current_dose": self.current_dose,
            "rule": self.rule,
            "message": self.message,
            "reason_values": self.reason_values,
            "steps": list(self.steps),
            "available_at": self.available_at,
            "requires_signoff": self.requires_signoff,
            "slots": self.slots,
        }
        if self.backfill is not None:  # only designs with backfill (older results keep form)
            out["backfill"] = self.backfill
        return out


@dataclass(frozen=True, slots=True)
class TrialRecommendation:
    """Recommendations for every indication of a trial at one moment (not recorded)."""

    trial_id: int
    protocol_version_id: int
    protocol_version: int
    decision_time: datetime
    decision_day: float
    indications: tuple[IndicationView, ...]
    plan: dict[str, Any]
    inputs: dict[str, Any]
    eliminated: tuple[int, ...]
    refs: tuple[int, ...] = field(default_factory=tuple)

    def for_indication(self, indication: str | None) -> IndicationView:
        """The view of one indication (``None``: the first, i.e. driving or pooled one)."""
        if indication is None:
            return self.indications[0]
        for view in self.indications:
            if view.indication == indication:
                return view
        raise ValidationError("indication", f"unknown indication {indication!r}")

    def to_dict(self, *, include_inputs: bool = True) -> dict[str, Any]:
        out = {
            "trial_id": self.trial_id,
            "protocol_version_id": self.protocol_version_id,
            "protocol_version": self.protocol_version,
            "decision_time": audit.jsonable(self.decision_time),
            "decision_day": self.decision_day,
            "eliminated": list(self.eliminated),
            "indications": [v.to_dict() for v in self.indications],
            "plan": self.plan,
        }
        if include_inputs:
            out["inputs"] = self.inputs
        return out


def cohort_of(
    engine: Engine, state: TrialState, indication: str | None, role: str
) -> list[CorePatient]:
    """The patients whose data form an indication's cohort (driving, other, or pooled)."""
    return cohort_patients(engine.plan, state.patients, indication, role)


def eliminated_carried(
    session: Session, trial_id: int, engine: Engine, before_seq: int | None = None
) -> frozenset[int]:
    """Doses eliminated by earlier decisions of the cohort that drives the design.

    Only decisions recorded for the driving indication (or, without one, the pooled cohort's
    decisions, key ``NULL``) count: an other indication's decision stores the doses closed to
    the driving cohort *as computed at that moment* (possibly on data the driving cohort never
    decided on, e.g. a TITE design's inadmissibility on pending outcomes), which must not
    become permanent eliminations of the driving design.  Each recorded decision's
    ``eliminated`` includes what it carried, so the latest one is enough.
    """
    driving = engine.plan.driving_indication
    cond = (
        DoseDecision.indication.is_(None) if driving is None else DoseDecision.indication == driving
    )
    stmt = select(DoseDecision.eliminated).where(DoseDecision.trial_id == trial_id, cond)
    if before_seq is not None:
        stmt = stmt.where(DoseDecision.seq < before_seq)
    row = session.scalars(stmt.order_by(DoseDecision.seq.desc()).limit(1)).first()
    return frozenset(int(d) for d in row) if row else frozenset()


# ------------------------------------------------------------------ sticky stops
def _view_key(view: IndicationView) -> str | None:
    """The decision key of a view (``None`` for the pooled cohort)."""
    return None if view.role == "pooled" else view.indication


def _closes_others(decision: DoseDecision, engine: Engine) -> bool:
    try:
        drv = json.loads(decision.result).get("plan", {}).get("driving_decision")
    except (ValueError, AttributeError):  # pragma: no cover - results are canonical JSON
        return False
    return driving_stop_closes_others(
        drv, engine.plan.other_indications.continue_after_driving_stop
    )


def recorded_stops(
    session: Session, trial_id: int, engine: Engine, *, before_seq: int | None = None
) -> tuple[dict[str, Any], ...]:
    """The recorded stopping decisions in force, one per indication they close.

    The rule is :func:`doseladder.core.rules.sticky_stops.stops_in_force`; this reads the
    trial's recorded decisions for it.  ``before_seq`` limits the decisions to those recorded
    before (replay).
    """
    stmt = (
        select(DoseDecision)
        .where(DoseDecision.trial_id == trial_id)
        .options(  # the large inputs/result texts are loaded only where needed
            load_only(
                DoseDecision.id,
                DoseDecision.seq,
                DoseDecision.indication,
                DoseDecision.source,
                DoseDecision.status,
                DoseDecision.rule,
                DoseDecision.message,
                DoseDecision.decision_time,
            )
        )
    )
    if before_seq is not None:
        stmt = stmt.where(DoseDecision.seq < before_seq)
    rows = list(session.scalars(stmt.order_by(DoseDecision.seq)))
    driving = engine.plan.driving_indication
    recorded = [
        RecordedDecision(
            id=d.id,
            seq=d.seq,
            indication=d.indication,
            source=d.source,
            status=d.status,
            rule=d.rule,
            message=d.message,
            decision_time=audit.jsonable(d.decision_time),
            closes_others=(
                driving is not None
                and d.indication == driving
                and d.source == "design"
                and d.status == EnrolStatus.CLOSED.value
                and _closes_others(d, engine)
            ),
        )
        for d in rows
    ]
    keys: tuple[str | None, ...] = engine.indications if driving is not None else (None,)
    return stops_in_force(recorded, keys, driving)


def apply_stops(
    views: tuple[IndicationView, ...], stops: Sequence[Mapping[str, Any]]
) -> tuple[IndicationView, ...]:
    """Keep the indications closed by a recorded stop closed (see :func:`recorded_stops`);
    the design's current recommendation is kept as the last step and in the numbers."""
    if not stops:
        return views
    by_key = {s["applies_to"]: s for s in stops}
    out = []
    for view in views:
        stop = by_key.get(_view_key(view))
        if stop is None:
            out.append(view)
            continue
        current = {"rule": view.rule, "message": view.message, "values": view.reason_values}
        out.append(
            IndicationView(
                indication=view.indication,
                role=view.role,
                status=EnrolStatus.CLOSED.value,
                next_dose=None,
                dose_label=None,
                current_dose=view.current_dose,
                rule=STOPPED_RULE,
                message=stop_message(stop, view.status, view.dose_label, view.rule),
                steps=(*view.steps, current),
                reason_values={
                    "stop": dict(stop),
                    "design_status": view.status,
                    "design_next_dose": view.next_dose,
                    "design_dose_label": view.dose_label,
                    "design_rule": view.rule,
                },
                available_at=None,
                requires_signoff=False,
                slots=0,
                backfill=None
                if view.backfill is None
                else {**view.backfill, "open": [], "dose": None, "dose_label": None},
            )
        )
    return tuple(out)


def views_of(
    engine: Engine, require_signoff: bool, state: TrialState, rec: PlanRecommendation
) -> tuple[IndicationView, ...]:
    """The core's per-indication recommendations as views, with slots and sign-off need
    (``require_signoff``: the trial requires committee sign-off before escalation)."""
    views = []
    for r in rec.indications:
        stored: str | None = None if not engine.plan.indications else r.indication
        role = r.role.value
        mine = cohort_of(engine, state, stored, role)
        # the current dose is the escalation cohort's (a backfill patient is at a lower dose)
        esc = [p for p in mine if not p.backfill] or mine
        current = esc[-1].dose if esc else None
        status = r.status.value
        enrol_dose = r.dose if status == EnrolStatus.ENROL.value else None
        signoff = bool(require_signoff and escalates(mine, enrol_dose))
        views.append(
            IndicationView(
                indication=stored,
                role=role,
                status=status,
                next_dose=r.dose,
                dose_label=r.dose_label,
                current_dose=current,
                rule=r.reason.rule,
                message=r.reason.message,
                steps=tuple(plain(s.to_dict()) for s in r.steps),
                reason_values=plain(dict(r.reason.values)),
                available_at=plain(r.available_at),
                requires_signoff=signoff,
                slots=cohort_slots(engine.plan, state.patients, stored, role, enrol_dose),
                backfill=backfill_view(engine, state, stored, role, r, current),
            )
        )
    return tuple(views)


def backfill_view(
    engine: Engine,
    state: TrialState,
    indication: str | None,
    role: str,
    r: IndicationRecommendation,
    current: int | None = None,
) -> dict[str, Any] | None:
    """The backfill part of a view (``None`` for a plan without backfill): the core's open
    doses (0-based there, 1-based here), the slots left at each (``backfill_slots``), the
    doses below the escalation dose ``current`` that the cap has closed (``backfill_full``)
    and the dose the assignment rule picks among those with a slot (``backfill_choice``; all
    in :mod:`doseladder.core.rules.cohort_slots`)."""
    plan = engine.plan
    design = backfill_design(plan)
    if design is None:
        return None
    levels = [j + 1 for j in r.backfill_open]
    slots = backfill_slots(plan, state.patients, indication, role, levels)
    at = backfill_patients(plan, state.patients, indication, role, levels)
    assign = design.backfill_assign
    picked = None if r.backfill_dose is None else r.backfill_dose + 1
    dose = backfill_choice(slots, picked, assign)
    return {
        "n_cap": design.n_cap,
        "cap_rule": design.cap_rule,
        "cap_text": cap_summary(design.n_cap, design.cap_rule),
        "assign": assign,
        "open": [
            {
                "dose": d,
                "dose_label": plan.label(d),
                "patients": at[d],
                "slots_left": n,
            }
            for d, n in slots.items()
        ],
        "full": [
            {"dose": d, "dose_label": plan.label(d), "patients": n}
            for d, n in backfill_full(plan, state.patients, indication, role, current).items()
        ],
        "dose": dose,
        "dose_label": plan.label(dose),
    }


def inputs_of(
    trial: Trial,
    pv: ProtocolVersion,
    built: BuiltState,
    stops: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    out = {
        "trial_id": trial.id,
        "protocol_version_id": pv.id,
        "protocol_version": pv.version,
        "protocol_sha256": pv.content_sha256,
        "epoch": trial.epoch.isoformat(),
        "decision_time": audit.jsonable(built.decision_time),
        "now": built.now_day,
        "dlt_window_days": trial.dlt_window_days,
        "efficacy_window_days": trial.efficacy_window_days,
        "require_signoff_for_escalation": trial.require_signoff_for_escalation,
        "state": built.to_dict(),
    }
    if stops:  # only when a stop is in force (decisions recorded before keep their inputs)
        out["recorded_stops"] = [dict(x) for x in stops]
    return out


def run_plan(engine: Engine, state: TrialState, now_day: float) -> PlanRecommendation:
    try:
        return plan_recommend(engine.plan, state, now_day)
    except InputError as exc:
        raise ValidationError(exc.field, exc.reason) from None


def compute(
    session: Session,
    trial: Trial,
    *,
    now: datetime | None = None,
    as_of: datetime | None = None,
    protocol: ProtocolVersion | None = None,
    eliminated: frozenset[int] | None = None,
    head: int | None = None,
) -> TrialRecommendation:
    """The recommendation from the stored data (no permission check, nothing recorded).

    Eliminations are carried from the driving (or pooled) cohort's latest recorded decision
    (:func:`eliminated_carried`, unless ``eliminated`` is given) and the recorded stops in
    force keep their indications closed (:func:`recorded_stops`).

    A live recommendation (no ``as_of``, ``protocol`` or ``eliminated``) in a session without
    changes of its own reads the stored records through the database's per-trial cache keyed
    by the trial's audit head (:mod:`.recommendation_cache`; a snapshot at an older head is
    kept when no write since may change it); it is still evaluated at ``now``.  ``head``: the
    trial's audit head if already read with the trial (``visible_with_head``), else read here.
    """
    when = now if now is not None else c.trial_now(session, trial)
    live = as_of is None and protocol is None and eliminated is None
    cache = cache_of(session) if live else None
    snap = None
    if cache is not None:
        if head is None:  # read before the records: never newer than them
            head = trial_head(session, trial.id)
        snap = cache.get(trial.id, head)
        if snap is None:
            older = cache.older(trial.id, head)
            if older is not None and unchanged_between(session, trial.id, older.head, head):
                snap = cache.revalidate(trial.id, older, head)
            else:
                snap = _snapshot(session, trial, head)
                cache.put(trial.id, snap)
    if snap is None:
        pv = protocol if protocol is not None else current_protocol(session, trial.id)
        engine = engine_for(pv)
        carried = (
            eliminated if eliminated is not None else eliminated_carried(session, trial.id, engine)
        )
        records = load_records(session, trial, as_of=as_of)
        stops = recorded_stops(session, trial.id, engine)
    else:
        pv, engine, carried, records, stops = (
            snap.protocol,
            snap.engine,
            snap.carried,
            snap.records,
            snap.stops,
        )
    built = state_at(trial, engine, records, now=when, eliminated=carried)
    rec = run_plan(engine, built.state, built.now_day)
    views = views_of(engine, trial.require_signoff_for_escalation, built.state, rec)
    return TrialRecommendation(
        trial_id=trial.id,
        protocol_version_id=pv.id,
        protocol_version=pv.version,
        decision_time=when,
        decision_day=built.now_day,
        indications=apply_stops(views, stops),
        plan=plain(rec.to_dict()),
        inputs=inputs_of(trial, pv, built, stops),
        eliminated=tuple(sorted(rec.eliminated | carried)),
        refs=built.refs,
    )


def _snapshot(session: Session, trial: Trial, head: int) -> Snapshot:
    """The stored records a live recommendation reads, at the trial's audit ``head``."""
    pv = current_protocol(session, trial.id)
    engine = engine_for(pv)
    return Snapshot(
        head=head,
        protocol=pv,
        engine=engine,
        carried=eliminated_carried(session, trial.id, engine),
        records=load_records(session, trial),
        stops=recorded_stops(session, trial.id, engine),
    )


def recommend(session: Session, actor: Actor, trial_id: int) -> TrialRecommendation:
    """The next dose for every indication now, with the reasoning (not recorded).

    Site-bound users get per-dose tallies instead of patient-level inputs.
    """
    c.begin(session, actor, Permission.VIEW_TRIAL)
    trial, head = visible_with_head(session, actor, trial_id)
    rec = compute(session, trial, head=head)
    if actor.site_id is not None:
        return TrialRecommendation(
            rec.trial_id,
            rec.protocol_version_id,
            rec.protocol_version,
            rec.decision_time,
            rec.decision_day,
            rec.indications,
            rec.plan,
            redact_inputs(rec.inputs),
            rec.eliminated,
        )
    return rec
