"""Next-dose recommendations: computed from the stored data by the core, recorded, replayed.

From the database to the core
-----------------------------
Every current (not superseded, not void) enrolment becomes one core
:class:`~doseladder.core.state.Patient`, in order of enrolment:

* ``entry_time`` = days from the trial epoch to the infusion date; a patient not yet infused
  enters at the decision time (every outcome pending, zero follow-up);
* toxicity: ``True`` (with ``tox_time`` = onset − infusion, in days) if a current DLT
  adjudication says DLT; otherwise *pending* while an adverse event flagged as a possible DLT
  awaits adjudication; otherwise ``False`` if a window-completion adjudication says "no DLT" or
  the DLT window has elapsed; otherwise pending;
* efficacy (designs that use it): ``True`` at the first responder assessment within the
  efficacy window; ``False`` after a final non-responder assessment or once the window has
  elapsed without a response (non-responder imputation, as usual in lupus trials); otherwise
  pending;
* ``indication`` as registered (``None`` for protocols without named indications).

Doses eliminated by earlier decisions are carried from the latest recorded decision of the
driving indication (or of the pooled cohort when there is no driving indication); decisions of
other indications never add eliminations to the driving design.  The decision time ``now`` is
the service clock, in (fractional) days since the epoch.

The core's :func:`~doseladder.core.rules.plan.recommend` then gives, per indication, ``enrol``
at a dose, ``wait`` or ``closed`` with its reasons (TITE designs use the pending outcomes'
follow-up; the protocol's fallback, driving-indication, staggering and cohort-completion rules
apply).  :func:`record_decision` stores it with the exact inputs and result; a recorded
``enrol`` decision opens one cohort of ``slots`` enrolment slots.

Stops are sticky: once a design decision with status ``closed`` (the design or the plan ended
accrual -- see :func:`recorded_stops`) has been recorded for an indication, its later
recommendations stay ``closed`` (rule :data:`STOPPED_RULE`, citing the recorded decision) until
an authorised user records an override for it; a driving indication's stop also closes the
other indications when the protocol's policy says so, and a recorded trial-wide cap closes
every indication.  ``wait`` decisions (suspension, pending outcomes, staggering) are never
sticky.  The stops applied are part of the recorded inputs.  :func:`replay_decision`
recomputes a stored decision from its stored inputs, and rebuilds the inputs from the database
as it stood then, and reports any difference.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import Enum
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only

from doseladder import __version__
from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, NotFound, ValidationError
from doseladder.conduct.models import (
    AdverseEvent,
    CommitteeSignoff,
    DLTAdjudication,
    DoseDecision,
    EfficacyAssessment,
    Enrolment,
    ProtocolVersion,
    Trial,
    TrialSite,
)
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services.protocol_engine import Engine
from doseladder.conduct.services.trials import TrialStatus, current_protocol, engine_for
from doseladder.core.errors import InputError
from doseladder.core.rules.plan import EnrolStatus, PlanRecommendation
from doseladder.core.rules.plan import recommend as plan_recommend
from doseladder.core.state import Patient as CorePatient
from doseladder.core.state import TrialState

__all__ = [
    "STOPPED_RULE",
    "BuiltState",
    "IndicationView",
    "ReplayResult",
    "TrialRecommendation",
    "build_state",
    "compute",
    "decision_view",
    "enrolments_on",
    "get_decision",
    "latest_decision",
    "list_decisions",
    "override_decision",
    "recommend",
    "record_decision",
    "recorded_stops",
    "replay_decision",
    "sign_off",
    "signoff_of",
]


# ---------------------------------------------------------------- conversions
def plain(value: Any) -> Any:
    """JSON-ready copy of core output (numpy scalars, enums, tuples, non-finite floats)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)
    if isinstance(value, Mapping | MappingProxyType):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [plain(v) for v in sorted(value)]
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        return plain(item())
    tolist = getattr(value, "tolist", None)  # numpy array
    if callable(tolist):
        return plain(tolist())
    if isinstance(value, datetime | date):
        return audit.jsonable(value)
    return str(value)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def trial_day(trial: Trial, when: datetime) -> float:
    """Fractional days from the trial epoch (midnight UTC) to ``when``."""
    start = datetime.combine(trial.epoch, time(0), UTC)
    return (when - start).total_seconds() / 86400.0


def date_day(trial: Trial, d: date) -> float:
    """Days from the trial epoch to a calendar date."""
    return float((d - trial.epoch).days)


# ---------------------------------------------------------------- trial state
@dataclass(frozen=True, slots=True)
class BuiltState:
    """The core state built from the database, with the enrolment behind each patient."""

    state: TrialState
    refs: tuple[int, ...]
    now_day: float
    decision_time: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_doses": self.state.num_doses,
            "eliminated": sorted(self.state.eliminated),
            "patients": [
                {
                    "enrolment": ref,
                    "dose": p.dose,
                    "entry_time": p.entry_time,
                    "tox": p.tox,
                    "tox_time": p.tox_time,
                    "eff": p.eff,
                    "eff_time": p.eff_time,
                    "indication": p.indication,
                }
                for ref, p in zip(self.refs, self.state.patients, strict=True)
            ],
        }


def _rows(
    session: Session,
    model: Any,
    trial_id: int,
    *,
    columns: tuple[str, ...] | None = None,
    lineages_where: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """Every version of a trial's rows, in id order.

    ``columns``: load only these columns (plus the versioning ones and ``lineage_id``) as
    light rows with attribute access instead of ORM objects -- much faster for the many
    outcome records a recommendation reads.  ``lineages_where``: keep only the versions of the
    lineages (a record and its corrections) of which some version meets that condition;
    filtering whole lineages (not single versions) keeps the "current version" logic exact,
    since a record whose latest correction no longer meets the condition still supersedes the
    older version that did.
    """
    if columns is None:
        query = select(model)
    else:
        versioning = ("id", "supersedes_id", "voided", "entered_at")
        names = dict.fromkeys((*versioning, *columns))
        lineage = func.coalesce(model.root_id, model.id).label("lineage_id")
        query = select(*(getattr(model, n) for n in names), lineage)
    query = query.where(model.trial_id == trial_id).order_by(model.id)
    rows = list(session.scalars(query)) if columns is None else list(session.execute(query).all())
    if lineages_where is not None:
        wanted = {r.lineage_id for r in rows if lineages_where(r)}
        rows = [r for r in rows if r.lineage_id in wanted]
    return rows


def build_state(
    session: Session,
    trial: Trial,
    engine: Engine,
    *,
    now: datetime,
    eliminated: frozenset[int] = frozenset(),
    as_of: datetime | None = None,
) -> BuiltState:
    """The core :class:`TrialState` of a trial at ``now`` (data as of ``as_of``, default all).

    See the module docstring for the rules.  Raises :class:`ValidationError` when the stored
    data do not fit the protocol (e.g. a dose level above the protocol's).
    """
    now_day = trial_day(trial, now)
    dlt_window = float(trial.dlt_window_days or 0.0)
    eff_window = float(trial.efficacy_window_days or 0.0)
    enrolments = sorted(
        c.as_of(_rows(session, Enrolment, trial.id), as_of),
        key=lambda e: (e.enrolled_at, e.lineage_id),
    )
    # only adverse events ever flagged as possible DLTs matter (awaiting adjudication), and only
    # efficacy records ever marked responder or final: load just those lineages
    aes = c.as_of(
        _rows(
            session,
            AdverseEvent,
            trial.id,
            columns=("patient_id", "dlt_candidate"),
            lineages_where=lambda r: bool(r.dlt_candidate),
        ),
        as_of,
    )
    adjs = c.as_of(
        _rows(
            session,
            DLTAdjudication,
            trial.id,
            columns=("patient_id", "is_dlt", "onset_date", "adverse_event_id"),
        ),
        as_of,
    )
    effs = c.as_of(
        _rows(
            session,
            EfficacyAssessment,
            trial.id,
            columns=("patient_id", "responder", "final", "assessed_on"),
            lineages_where=lambda r: bool(r.responder or r.final),
        ),
        as_of,
    )
    ae_by_patient: dict[int, list[Any]] = {}
    for ae in aes:
        ae_by_patient.setdefault(ae.patient_id, []).append(ae)
    adj_by_patient: dict[int, list[Any]] = {}
    for adj in adjs:
        adj_by_patient.setdefault(adj.patient_id, []).append(adj)
    eff_by_patient: dict[int, list[Any]] = {}
    for ea in effs:
        eff_by_patient.setdefault(ea.patient_id, []).append(ea)

    patients: list[CorePatient] = []
    refs: list[int] = []
    for enr in enrolments:
        infused = enr.infusion_date
        # dates may run up to a day ahead of UTC (sites east of Greenwich): never let an
        # entry or an event fall after the decision time
        entry = date_day(trial, infused) if infused is not None else now_day
        entry = min(entry, now_day)
        followup = now_day - entry
        # ---- toxicity
        p_adjs = adj_by_patient.get(enr.patient_id, [])
        dlt_days = [
            (a.onset_date - infused).days if (a.onset_date and infused) else 0
            for a in p_adjs
            if a.is_dlt
        ]
        adjudicated = {a.adverse_event_id for a in p_adjs if a.adverse_event_id is not None}
        awaiting = [
            ae
            for ae in ae_by_patient.get(enr.patient_id, [])
            if ae.dlt_candidate and ae.lineage_id not in adjudicated
        ]
        tox: bool | None
        tox_time: float | None = None
        if dlt_days:
            tox, tox_time = True, min(float(max(0, min(dlt_days))), followup)
        elif awaiting or infused is None:
            tox = None
        elif any(a.adverse_event_id is None and not a.is_dlt for a in p_adjs):
            tox = False
        else:
            tox = False if followup >= dlt_window else None
        # ---- efficacy
        eff: bool | None = False
        eff_time: float | None = None
        if engine.uses_efficacy:
            assessments = eff_by_patient.get(enr.patient_id, [])
            resp_days = [
                d
                for a in assessments
                if infused is not None
                and a.responder
                and 0 <= (d := (a.assessed_on - infused).days) <= eff_window
            ]
            if resp_days:
                eff, eff_time = True, min(float(max(0, min(resp_days))), followup)
            elif infused is None:
                eff = None
            elif any(a.final and not a.responder for a in assessments):
                eff = False
            else:
                eff = False if followup >= eff_window else None
        try:
            patients.append(
                CorePatient(
                    dose=enr.dose_level,
                    entry_time=entry,
                    tox=tox,
                    tox_time=tox_time,
                    eff=eff,
                    eff_time=eff_time,
                    indication=enr.indication,
                )
            )
        except InputError as exc:  # pragma: no cover - guarded by the services' validation
            raise ValidationError(f"enrolment #{enr.id}.{exc.field}", exc.reason) from None
        refs.append(enr.lineage_id)
    try:
        state = TrialState(engine.num_doses, tuple(patients), eliminated=eliminated)
    except InputError as exc:
        raise ValidationError(exc.field, exc.reason) from None
    return BuiltState(state, tuple(refs), now_day, now)


def state_from_inputs(inputs: Mapping[str, Any]) -> TrialState:
    """Rebuild the core state from stored decision inputs."""
    st = inputs["state"]
    patients = tuple(
        CorePatient(
            dose=p["dose"],
            entry_time=p["entry_time"],
            tox=p["tox"],
            tox_time=p["tox_time"],
            eff=p["eff"],
            eff_time=p["eff_time"],
            indication=p["indication"],
        )
        for p in st["patients"]
    )
    return TrialState(st["num_doses"], patients, eliminated=frozenset(st["eliminated"]))


# ------------------------------------------------------------- recommendation
@dataclass(frozen=True, slots=True)
class IndicationView:
    """The recommendation for one indication, as the services and the API present it.

    Attributes:
        indication: stored indication name (``None`` for protocols without named ones).
        role: ``driving`` / ``other`` / ``pooled``.
        status: ``enrol`` (at ``next_dose``), ``wait`` or ``closed``.
        next_dose / dose_label: the dose to enrol at (or at which enrolment resumes).
        current_dose: dose of the indication's latest patient.
        rule / message: the rule that decided and its plain-English reason.
        steps: earlier rules that shaped the result (reason dicts).
        reason_values: the numbers the deciding rule used.
        available_at: earliest enrolment day for a timed wait (staggering).
        requires_signoff: escalation above every dose given so far in the indication while the
            trial requires committee sign-off before escalation.
        slots: enrolment slots a recorded decision opens (one cohort, within the caps).
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

    def to_dict(self) -> dict[str, Any]:
        return {
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


def _trailing_run(patients: Sequence[CorePatient], dose: int) -> int:
    run = 0
    for p in reversed(patients):
        if p.dose != dose:
            break
        run += 1
    return run


def _cohort_patients(
    engine: Engine, state: TrialState, indication: str | None, role: str
) -> list[CorePatient]:
    """The patients whose data form an indication's cohort (driving, other, or pooled)."""
    if role == "other":
        return [p for p in state.patients if p.indication == indication]
    if role == "driving":
        return [p for p in state.patients if engine.plan.is_driving(p)]
    return list(state.patients)


def _slots(
    engine: Engine,
    state: TrialState,
    indication: str | None,
    role: str,
    status: str,
    dose: int | None,
) -> int:
    if status != EnrolStatus.ENROL.value or dose is None:
        return 0
    plan = engine.plan
    size = engine.cohort_size
    patients = state.patients
    mine = _cohort_patients(engine, state, indication, role)
    slots = size
    if mine and mine[-1].dose == dose:
        run = _trailing_run(mine, dose) % size
        if run:
            slots = size - run
    caps = []
    if role == "other":
        limit = plan.other_indications.max_n_per_indication
        if limit is not None:
            caps.append(limit - len(mine))
    else:
        caps.append(int(plan.design.max_n) - len(mine))
    if plan.max_total is not None:
        caps.append(plan.max_total - len(patients))
    return max(0, min([slots, *caps]))


def _eliminated_carried(
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
#: rule of a recommendation kept ``closed`` by a recorded stopping decision
STOPPED_RULE = "conduct.stopped"
#: plan rule that closes every indication (trial-wide cap)
_TRIAL_WIDE_RULES = frozenset({"plan.max_total_reached"})


def _view_key(view: IndicationView) -> str | None:
    """The decision key of a view (``None`` for the pooled cohort)."""
    return None if view.role == "pooled" else view.indication


def _driving_stop_closes_others(decision: DoseDecision, engine: Engine) -> bool:
    """Whether a recorded driving stop closes the other indications (the core's policy:
    a stop with no acceptable dose always does; a stop for the sample size only when
    ``continue_after_driving_stop`` is false)."""
    try:
        drv = json.loads(decision.result).get("plan", {}).get("driving_decision")
    except (ValueError, AttributeError):  # pragma: no cover - results are canonical JSON
        return False
    if not isinstance(drv, dict) or drv.get("action") != "stop":
        return False
    return drv.get("next_dose") is None or not (
        engine.plan.other_indications.continue_after_driving_stop
    )


def recorded_stops(
    session: Session, trial_id: int, engine: Engine, *, before_seq: int | None = None
) -> tuple[dict[str, Any], ...]:
    """The recorded stopping decisions in force, one per indication they close.

    A *stop* is a recorded ``design`` decision with status ``closed`` -- the design or the
    plan ended accrual: the design's stop (``max_n_reached``, ``n_stop_reached``,
    ``boin.n_earlystop``, ``boin.eliminate`` / ``boin.extrasafe_stop``,
    ``*.no_admissible_dose``, ``three_plus_three.stop_*`` / ``too_toxic``, ...),
    ``plan.max_total_reached``, ``plan.closed_dose`` (no open dose left),
    ``driving_indication.driving_stopped`` and ``driving_indication.max_n_reached``.  A
    ``wait`` decision is never a stop, nor is a decision that only restates a stop
    (rule :data:`STOPPED_RULE`).

    A stop applies to:

    * its own decision key (indication, or the pooled cohort);
    * every indication, when it is the trial-wide cap (``plan.max_total_reached``);
    * the other indications, when it is the driving indication's and the design stopped with
      no acceptable dose, or ``other_indications.continue_after_driving_stop`` is false;

    unless an override was recorded for the indication after it (and, for a stop of another
    key, unless that key's own later override lifted it).  The earliest stop in force is
    cited.  ``before_seq`` limits the decisions to those recorded before (replay).
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
    lifted: dict[str | None, int] = {}
    for d in rows:
        if d.source == "override":
            lifted[d.indication] = d.seq
    stops = [
        d
        for d in rows
        if d.source == "design" and d.status == EnrolStatus.CLOSED.value and d.rule != STOPPED_RULE
    ]
    driving = engine.plan.driving_indication
    keys: tuple[str | None, ...] = engine.indications if driving is not None else (None,)
    out: list[dict[str, Any]] = []
    for key in keys:
        for d in stops:
            if d.seq <= lifted.get(key, 0):
                continue
            if d.indication == key:
                scope = "own"
            elif d.seq <= lifted.get(d.indication, 0):
                continue  # lifted by an override of its own key
            elif d.rule in _TRIAL_WIDE_RULES:
                scope = "trial"
            elif (
                driving is not None
                and key != driving
                and d.indication == driving
                and _driving_stop_closes_others(d, engine)
            ):
                scope = "driving"
            else:
                continue
            out.append(
                {
                    "applies_to": key,
                    "scope": scope,
                    "decision_id": d.id,
                    "seq": d.seq,
                    "indication": d.indication,
                    "rule": d.rule,
                    "message": d.message,
                    "decision_time": audit.jsonable(d.decision_time),
                }
            )
            break
    return tuple(out)


def _apply_stops(
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
        where = f" ({stop['indication']})" if stop["indication"] is not None else ""
        lead = {
            "own": "Enrolment was stopped by",
            "trial": "The trial-wide enrolment cap was reached at",
            "driving": "The driving indication's cohort stopped at",
        }[stop["scope"]]
        now_txt = view.status + (f" at {view.dose_label}" if view.dose_label else "")
        message = (
            f"{lead} recorded decision #{stop['decision_id']} (seq {stop['seq']}{where}, "
            f"{stop['rule']}: {stop['message']}) -- enrolment stays closed until an authorised "
            f"user records an override. With the data now the rules would give {now_txt} "
            f"({view.rule})."
        )
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
                message=message,
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
            )
        )
    return tuple(out)


def _views(
    engine: Engine, trial: Trial, state: TrialState, rec: PlanRecommendation
) -> tuple[IndicationView, ...]:
    views = []
    for r in rec.indications:
        stored: str | None = None if not engine.plan.indications else r.indication
        role = r.role.value
        mine = _cohort_patients(engine, state, stored, role)
        current = mine[-1].dose if mine else None
        highest = max((p.dose for p in mine), default=None)
        status = r.status.value
        signoff = bool(
            trial.require_signoff_for_escalation
            and status == EnrolStatus.ENROL.value
            and r.dose is not None
            and highest is not None
            and r.dose > highest
        )
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
                slots=_slots(engine, state, stored, role, status, r.dose),
            )
        )
    return tuple(views)


def _inputs(
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


def _run_plan(engine: Engine, state: TrialState, now_day: float) -> PlanRecommendation:
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
) -> TrialRecommendation:
    """The recommendation from the stored data (no permission check, nothing recorded).

    Eliminations are carried from the driving (or pooled) cohort's latest recorded decision
    (:func:`_eliminated_carried`, unless ``eliminated`` is given) and the recorded stops in
    force keep their indications closed (:func:`recorded_stops`).
    """
    when = now if now is not None else c.trial_now(session, trial)
    pv = protocol if protocol is not None else current_protocol(session, trial.id)
    engine = engine_for(pv)
    carried = (
        eliminated if eliminated is not None else _eliminated_carried(session, trial.id, engine)
    )
    built = build_state(session, trial, engine, now=when, eliminated=carried, as_of=as_of)
    rec = _run_plan(engine, built.state, built.now_day)
    stops = recorded_stops(session, trial.id, engine)
    return TrialRecommendation(
        trial_id=trial.id,
        protocol_version_id=pv.id,
        protocol_version=pv.version,
        decision_time=when,
        decision_day=built.now_day,
        indications=_apply_stops(_views(engine, trial, built.state, rec), stops),
        plan=plain(rec.to_dict()),
        inputs=_inputs(trial, pv, built, stops),
        eliminated=tuple(sorted(rec.eliminated | carried)),
        refs=built.refs,
    )


def _visible_trial(session: Session, actor: Actor, trial_id: int) -> Trial:
    trial = c.get(session, Trial, trial_id)
    if actor.site_id is not None:
        member = session.scalars(
            select(TrialSite.id).where(
                TrialSite.trial_id == trial.id, TrialSite.site_id == actor.site_id
            )
        ).first()
        if member is None:
            raise NotFound(f"trial #{trial_id} not found")
    return trial


#: tally key prefix of patients without a named indication
ALL_KEY = "all"


def _redact_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs for site-bound users: per-dose tallies instead of patient-level rows."""
    out = {k: v for k, v in inputs.items() if k != "state"}
    st = inputs["state"]
    tallies: dict[str, dict[str, int]] = {}
    for p in st["patients"]:
        key = f"{p['indication'] or ALL_KEY}:{p['dose']}"
        t = tallies.setdefault(key, {"n": 0, "dlt": 0, "dlt_pending": 0, "response": 0})
        t["n"] += 1
        t["dlt"] += p["tox"] is True
        t["dlt_pending"] += p["tox"] is None
        t["response"] += p["eff"] is True
    out["state"] = {
        "num_doses": st["num_doses"],
        "eliminated": st["eliminated"],
        "tallies": tallies,
    }
    return out


def recommend(session: Session, actor: Actor, trial_id: int) -> TrialRecommendation:
    """The next dose for every indication now, with the reasoning (not recorded).

    Site-bound users get per-dose tallies instead of patient-level inputs.
    """
    c.begin(session, actor, Permission.VIEW_TRIAL)
    trial = _visible_trial(session, actor, trial_id)
    rec = compute(session, trial)
    if actor.site_id is not None:
        return TrialRecommendation(
            rec.trial_id,
            rec.protocol_version_id,
            rec.protocol_version,
            rec.decision_time,
            rec.decision_day,
            rec.indications,
            rec.plan,
            _redact_inputs(rec.inputs),
            rec.eliminated,
        )
    return rec


# ------------------------------------------------------------------ recording
def latest_decision(session: Session, trial_id: int, indication: str | None) -> DoseDecision | None:
    """The most recent decision of a trial for one indication."""
    cond = (
        DoseDecision.indication.is_(None)
        if indication is None
        else DoseDecision.indication == indication
    )
    return session.scalars(
        select(DoseDecision)
        .where(DoseDecision.trial_id == trial_id, cond)
        .order_by(DoseDecision.seq.desc())
        .limit(1)
    ).first()


def enrolments_on(session: Session, decision_id: int) -> list[Enrolment]:
    """Current, non-void enrolments that took a slot of a decision."""
    rows = list(session.scalars(select(Enrolment).where(Enrolment.decision_id == decision_id)))
    lineages = {r.lineage_id for r in rows}
    if not rows:
        return []
    all_versions = list(
        session.scalars(
            select(Enrolment).where(
                (Enrolment.id.in_(lineages)) | (Enrolment.root_id.in_(lineages))
            )
        )
    )
    return [e for e in c.current(all_versions) if e.decision_id == decision_id]


def used_slots(session: Session, decision_id: int) -> int:
    """Slots of a decision taken by enrolments (void enrolments free their slot)."""
    return len(enrolments_on(session, decision_id))


def signoff_of(session: Session, decision_id: int) -> CommitteeSignoff | None:
    """The committee sign-off of a decision, if any."""
    return session.scalars(
        select(CommitteeSignoff).where(CommitteeSignoff.decision_id == decision_id)
    ).first()


def _next_seq(session: Session, trial_id: int) -> int:
    top = session.scalar(
        select(func.max(DoseDecision.seq)).where(DoseDecision.trial_id == trial_id)
    )
    return int(top or 0) + 1


def _check_recordable(trial: Trial) -> None:
    if trial.status == TrialStatus.DRAFT:
        raise Conflict("the trial is not open yet (status draft)")
    if trial.status == TrialStatus.CLOSED:
        raise Conflict("the trial is closed")


def _store(
    session: Session,
    actor: Actor,
    trial: Trial,
    rec: TrialRecommendation,
    view: IndicationView,
    *,
    source: str,
    status: str,
    next_dose: int | None,
    dose_label: str | None,
    slots: int,
    requires_signoff: bool,
    override_reason: str | None,
) -> DoseDecision:
    key = view.indication if view.role != "pooled" else None
    inputs_text = audit.canonical_json({**rec.inputs, "indication": key})
    result_text = audit.canonical_json({"indication": view.to_dict(), "plan": rec.plan})
    decision = DoseDecision(
        trial_id=trial.id,
        seq=_next_seq(session, trial.id),
        indication=key,
        protocol_version_id=rec.protocol_version_id,
        source=source,
        status=status,
        current_dose=view.current_dose,
        next_dose=next_dose,
        dose_label=dose_label,
        recommended_status=view.status,
        recommended_dose=view.next_dose,
        eliminated=list(rec.eliminated),
        slots=slots,
        requires_signoff=requires_signoff,
        decision_time=rec.decision_time,
        decision_day=rec.decision_day,
        rule=view.rule if source == "design" else "override",
        message=view.message if source == "design" else (override_reason or ""),
        result=result_text,
        inputs=inputs_text,
        inputs_sha256=_sha(inputs_text),
        engine_version=__version__,
        override_reason=override_reason,
        recorded_at=c.now(session),
        recorded_by_id=actor.user_id,
    )
    with audit.reason(session, override_reason):
        session.add(decision)
    return decision


def record_decision(
    session: Session, actor: Actor, trial_id: int, *, indication: str | None = None
) -> DoseDecision:
    """Compute the recommendation for one indication now and record it.

    An ``enrol`` decision opens ``slots`` enrolment slots at ``next_dose`` and makes every
    earlier decision of the indication stale.  ``indication`` may be omitted for protocols
    without named indications (and defaults to the driving/first one otherwise).
    """
    c.begin(session, actor, Permission.RECORD_DECISION)
    _visible_trial(session, actor, trial_id)
    trial = c.lock_trial(session, trial_id)
    _check_recordable(trial)
    rec = compute(session, trial)
    pv = session.get(ProtocolVersion, rec.protocol_version_id)
    assert pv is not None
    engine = engine_for(pv)
    key = engine.resolve_key(indication)
    view = rec.for_indication(key)
    return _store(
        session,
        actor,
        trial,
        rec,
        view,
        source="design",
        status=view.status,
        next_dose=view.next_dose,
        dose_label=view.dose_label,
        slots=view.slots,
        requires_signoff=view.requires_signoff,
        override_reason=None,
    )


def override_decision(
    session: Session,
    actor: Actor,
    trial_id: int,
    *,
    dose_level: int,
    reason: str,
    indication: str | None = None,
    slots: int | None = None,
) -> DoseDecision:
    """Record a decision at a dose the design did not recommend (authorised users, with reason).

    The design's recommendation at that moment is recorded alongside (``recommended_*``).
    Eliminated doses cannot be chosen.  Committee sign-off applies as for any escalation.
    """
    c.begin(session, actor, Permission.OVERRIDE_DOSE)
    why = c.reason_text(reason)
    trial = c.lock_trial(session, trial_id)
    _check_recordable(trial)
    rec = compute(session, trial)
    pv = session.get(ProtocolVersion, rec.protocol_version_id)
    assert pv is not None
    engine = engine_for(pv)
    key = engine.resolve_key(indication)
    dose = c.integer("dose_level", dose_level, 1, engine.num_doses)
    if dose in rec.eliminated:
        raise ValidationError(
            "dose_level", f"dose level {dose} has been eliminated and cannot be given"
        )
    n_slots = c.integer("slots", slots, 1, 100) if slots is not None else engine.cohort_size
    view = rec.for_indication(key)
    mine = _cohort_patients(engine, state_from_inputs(rec.inputs), key, view.role)
    highest = max((p.dose for p in mine), default=None)
    signoff = bool(trial.require_signoff_for_escalation and highest is not None and dose > highest)
    return _store(
        session,
        actor,
        trial,
        rec,
        view,
        source="override",
        status=EnrolStatus.ENROL.value,
        next_dose=dose,
        dose_label=engine.label(dose),
        slots=n_slots,
        requires_signoff=signoff,
        override_reason=why,
    )


def sign_off(
    session: Session, actor: Actor, decision_id: int, *, approve: bool, comment: str
) -> CommitteeSignoff:
    """Record the safety review committee's approval or rejection of a decision.

    Only the latest decision of its indication can be signed off, once.  A rejected decision
    cannot be used for enrolment (record a new decision or an override).
    """
    c.begin(session, actor, Permission.SIGN_OFF)
    ok = c.boolean("approve", approve)
    note = c.reason_text(comment, "comment")
    decision = c.get(session, DoseDecision, decision_id, "decision")
    c.lock_trial(session, decision.trial_id)
    latest = latest_decision(session, decision.trial_id, decision.indication)
    if latest is not None and latest.id != decision.id:
        raise Conflict(f"decision #{decision.id} is superseded by decision #{latest.id}")
    if signoff_of(session, decision.id) is not None:
        raise Conflict(f"decision #{decision.id} is already signed off")
    so = CommitteeSignoff(
        trial_id=decision.trial_id,
        decision_id=decision.id,
        approved=ok,
        comment=note,
        signed_at=c.now(session),
        signed_by_id=actor.user_id,
    )
    with audit.reason(session, note):
        session.add(so)
    return so


# -------------------------------------------------------------------- reading
def get_decision(session: Session, actor: Actor, decision_id: int) -> DoseDecision:
    """One decision (visible trials only)."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    decision = c.get(session, DoseDecision, decision_id, "decision")
    _visible_trial(session, actor, decision.trial_id)
    return decision


def list_decisions(
    session: Session, actor: Actor, trial_id: int, *, indication: str | None = None
) -> list[DoseDecision]:
    """A trial's decisions, oldest first (optionally for one indication)."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    _visible_trial(session, actor, trial_id)
    stmt = select(DoseDecision).where(DoseDecision.trial_id == trial_id)
    if indication is not None:
        stmt = stmt.where(DoseDecision.indication == indication)
    return list(session.scalars(stmt.order_by(DoseDecision.seq)))


def decision_view(session: Session, actor: Actor, decision: DoseDecision) -> dict[str, Any]:
    """A decision as a dict for display: reasoning, slots used, sign-off, staleness."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    _visible_trial(session, actor, decision.trial_id)
    latest = latest_decision(session, decision.trial_id, decision.indication)
    so = signoff_of(session, decision.id)
    inputs = json.loads(decision.inputs)
    if actor.site_id is not None:
        inputs = _redact_inputs(inputs)
    used = used_slots(session, decision.id)
    return {
        "id": decision.id,
        "trial_id": decision.trial_id,
        "seq": decision.seq,
        "indication": decision.indication,
        "source": decision.source,
        "status": decision.status,
        "current_dose": decision.current_dose,
        "next_dose": decision.next_dose,
        "dose_label": decision.dose_label,
        "recommended_status": decision.recommended_status,
        "recommended_dose": decision.recommended_dose,
        "rule": decision.rule,
        "message": decision.message,
        "override_reason": decision.override_reason,
        "eliminated": list(decision.eliminated),
        "slots": decision.slots,
        "slots_used": used,
        "slots_open": max(0, decision.slots - used),
        "requires_signoff": decision.requires_signoff,
        "signoff": None
        if so is None
        else {
            "approved": so.approved,
            "comment": so.comment,
            "signed_at": audit.jsonable(so.signed_at),
            "signed_by_id": so.signed_by_id,
        },
        "latest": latest is not None and latest.id == decision.id,
        "decision_time": audit.jsonable(decision.decision_time),
        "decision_day": decision.decision_day,
        "protocol_version_id": decision.protocol_version_id,
        "engine_version": decision.engine_version,
        "inputs_sha256": decision.inputs_sha256,
        "recorded_at": audit.jsonable(decision.recorded_at),
        "recorded_by_id": decision.recorded_by_id,
        "result": json.loads(decision.result),
        "inputs": inputs,
    }


# --------------------------------------------------------------------- replay
@dataclass(frozen=True, slots=True)
class ReplayResult:
    """Outcome of :func:`replay_decision`.

    Attributes:
        decision_id: the decision replayed.
        matches: the result recomputed from the stored inputs equals the stored result.
        inputs_intact: the stored inputs still hash to ``inputs_sha256``.
        data_matches: the inputs rebuilt from the database as it stood when the decision was
            recorded equal the stored inputs (a later correction of that data shows here).
        stored / recomputed: the stored and recomputed results for the decision's indication.
        differences: plain-English differences (empty when everything matches).
        engine_version: doseladder version that recorded the decision; ``current_version`` the
            one that replayed it.
    """

    decision_id: int
    matches: bool
    inputs_intact: bool
    data_matches: bool
    stored: dict[str, Any]
    recomputed: dict[str, Any]
    differences: tuple[str, ...]
    engine_version: str
    current_version: str

    @property
    def ok(self) -> bool:
        return self.matches and self.inputs_intact and self.data_matches

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "ok": self.ok,
            "matches": self.matches,
            "inputs_intact": self.inputs_intact,
            "data_matches": self.data_matches,
            "stored": self.stored,
            "recomputed": self.recomputed,
            "differences": list(self.differences),
            "engine_version": self.engine_version,
            "current_version": self.current_version,
        }


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if len(out) >= 50:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: stored {a!r}, now {b!r}")


def replay_decision(session: Session, actor: Actor, decision_id: int) -> ReplayResult:
    """Recompute a recorded decision and compare (see :class:`ReplayResult`)."""
    decision = get_decision(session, actor, decision_id)
    trial = c.get(session, Trial, decision.trial_id)
    pv = c.get(session, ProtocolVersion, decision.protocol_version_id, "protocol version")
    stored_inputs = json.loads(decision.inputs)
    stored_result = json.loads(decision.result)
    differences: list[str] = []
    inputs_intact = _sha(decision.inputs) == decision.inputs_sha256
    if not inputs_intact:
        differences.append("stored inputs do not match their recorded SHA-256")
    if stored_inputs.get("protocol_sha256") != pv.content_sha256:
        differences.append("the protocol version's content changed since the decision")
    engine = engine_for(pv)
    state = state_from_inputs(stored_inputs)
    rec = _run_plan(engine, state, float(stored_inputs["now"]))
    views = _apply_stops(
        _views(engine, trial, state, rec), stored_inputs.get("recorded_stops") or ()
    )
    view = next(
        (v for v in views if v.indication == decision.indication and decision.indication),
        views[0],
    )
    recomputed = {"indication": view.to_dict(), "plan": plain(rec.to_dict())}
    result_diffs: list[str] = []
    _diff(stored_result, recomputed, "", result_diffs)
    differences.extend(f"result {d}" for d in result_diffs)
    # rebuild the inputs from the database as it stood at recording time
    carried = _eliminated_carried(session, trial.id, engine, before_seq=decision.seq)
    built = build_state(
        session,
        trial,
        engine,
        now=decision.decision_time,
        eliminated=carried,
        as_of=decision.recorded_at,
    )
    stops = recorded_stops(session, trial.id, engine, before_seq=decision.seq)
    rebuilt = {**_inputs(trial, pv, built, stops), "indication": decision.indication}
    data_diffs: list[str] = []
    _diff(stored_inputs, json.loads(audit.canonical_json(rebuilt)), "", data_diffs)
    differences.extend(f"inputs {d}" for d in data_diffs)
    return ReplayResult(
        decision_id=decision.id,
        matches=not result_diffs,
        inputs_intact=inputs_intact,
        data_matches=not data_diffs,
        stored=stored_result,
        recomputed=recomputed,
        differences=tuple(differences),
        engine_version=decision.engine_version,
        current_version=__version__,
    )


def check_enrolment_gate(
    session: Session, trial: Trial, decision: DoseDecision, indication: str | None, dose_level: int
) -> None:
    """Refuse an enrolment that the decision does not allow now (see
    :func:`doseladder.conduct.services.patients.enrol`).  The trial row must be locked."""
    if trial.status == TrialStatus.SUSPENDED:
        raise Conflict(f"accrual is suspended: {trial.status_reason or 'no reason given'}")
    if trial.status != TrialStatus.OPEN:
        raise Conflict(f"the trial is {trial.status}; enrolment needs an open trial")
    latest = latest_decision(session, trial.id, indication)
    if latest is None or latest.id != decision.id:
        newer = f" (the latest is #{latest.id})" if latest is not None else ""
        raise Conflict(f"decision #{decision.id} is stale{newer}: enrol from the latest decision")
    if decision.status != EnrolStatus.ENROL.value or decision.next_dose is None:
        raise Conflict(
            f"decision #{decision.id} does not allow enrolment ({decision.status}: "
            f"{decision.message})"
        )
    if current_protocol(session, trial.id).id != decision.protocol_version_id:
        raise Conflict(
            f"decision #{decision.id} was taken under an earlier protocol version: record a "
            "new decision"
        )
    if decision.requires_signoff:
        so = signoff_of(session, decision.id)
        if so is None:
            raise Conflict(
                f"decision #{decision.id} escalates to dose {decision.next_dose} and needs "
                "committee sign-off first"
            )
        if not so.approved:
            raise Conflict(f"the committee rejected decision #{decision.id}")
    if dose_level != decision.next_dose:
        raise ValidationError(
            "dose_level",
            f"dose level {dose_level} is not allowed: decision #{decision.id} assigns dose "
            f"level {decision.next_dose} ({decision.rule}); a different dose needs an override "
            "by an authorised user",
        )
    if used_slots(session, decision.id) >= decision.slots:
        raise Conflict(
            f"the cohort of decision #{decision.id} is full ({decision.slots} slot(s) taken): "
            "record a new decision"
        )
    # freshness: the data now must still lead to this dose
    rec = compute(session, trial)
    view = rec.for_indication(indication)
    if decision.source == "design":
        if view.status != EnrolStatus.ENROL.value or view.next_dose != decision.next_dose:
            raise Conflict(
                f"decision #{decision.id} is stale: with the data now the recommendation is "
                f"{view.status}"
                + (f" at dose level {view.next_dose}" if view.next_dose is not None else "")
                + f" ({view.rule}: {view.message}); record a new decision"
            )
    else:
        if view.status == EnrolStatus.CLOSED.value and view.next_dose is None:
            raise Conflict(
                f"override decision #{decision.id} is stale: the trial's rules now close "
                f"enrolment ({view.rule}: {view.message})"
            )
        if decision.next_dose in rec.eliminated:
            raise Conflict(
                f"override decision #{decision.id} is stale: dose level {decision.next_dose} "
                "has since been eliminated"
            )
        cohort = enrolments_on(session, decision.id)
        dlts = [e for e in cohort if _has_dlt(session, e)]
        if dlts:
            raise Conflict(
                f"override decision #{decision.id} is stale: a DLT occurred in its cohort; "
                "record a new decision"
            )


def _has_dlt(session: Session, enrolment: Enrolment) -> bool:
    rows = list(
        session.scalars(
            select(DLTAdjudication).where(DLTAdjudication.patient_id == enrolment.patient_id)
        )
    )
    return any(a.is_dlt for a in c.current(rows))


def ensure_visible(session: Session, actor: Actor, trial_id: int) -> Trial:
    """The trial if ``actor`` may see it (:class:`NotFound` otherwise)."""
    return _visible_trial(session, actor, trial_id)
