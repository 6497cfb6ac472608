"""Next-dose decisions: recorded from the core's recommendation, or overridden with a reason.

Conduct only stores and asks.  The rules live in the core -- which outcome is known or pending
(:mod:`doseladder.core.ascertainment`), the recommendation
(:func:`doseladder.core.rules.plan.recommend`), a cohort's slots
(:mod:`doseladder.core.rules.cohort_slots`) and sticky stops
(:mod:`doseladder.core.rules.sticky_stops`).  The service side is split by concern:

* :mod:`.decision_state` -- the stored records to the core's trial state;
* :mod:`.recommendation` -- the recommendation now (:func:`compute`, :func:`recommend`,
  :func:`recorded_stops`);
* this module -- recording a decision (:func:`record_decision`) or an override
  (:func:`override_decision`);
* :mod:`.signoff` -- the committee's sign-off;
* :mod:`.decision_queries` -- reading decisions, slots and sign-offs;
* :mod:`.decision_replay` -- recomputing a recorded decision (:func:`replay_decision`);
* :mod:`.enrolment_gate` -- whether a decision lets a patient in now.

Every public name of those modules is re-exported here, so ``decisions.<name>`` keeps working.
See ``docs/conduct.md`` for the rules in prose.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doseladder import __version__
from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import DoseDecision, ProtocolVersion, Trial
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services.decision_queries import (
    ALL_KEY,
    decision_view,
    enrolments_on,
    ensure_visible,
    get_decision,
    latest_decision,
    list_decisions,
    redact_inputs,
    signoff_of,
    used_slots,
)
from doseladder.conduct.services.decision_replay import ReplayResult, recompute, replay_decision
from doseladder.conduct.services.decision_state import (
    BuiltState,
    build_state,
    date_day,
    plain,
    sha256_text,
    state_from_inputs,
    trial_day,
)
from doseladder.conduct.services.enrolment_gate import check_enrolment_gate
from doseladder.conduct.services.protocol_engine import Engine
from doseladder.conduct.services.recommendation import (
    STOPPED_RULE,
    IndicationView,
    TrialRecommendation,
    compute,
    recommend,
    recorded_stops,
)
from doseladder.conduct.services.signoff import SignoffResult, decision_content, sign_off
from doseladder.conduct.services.trials import TrialStatus, engine_for
from doseladder.core.rules.driving_indication import dose_safety
from doseladder.core.rules.plan import EnrolStatus
from doseladder.core.state import TrialState

__all__ = [
    "ALL_KEY",
    "STOPPED_RULE",
    "BuiltState",
    "IndicationView",
    "ReplayResult",
    "SignoffResult",
    "TrialRecommendation",
    "build_state",
    "check_enrolment_gate",
    "compute",
    "date_day",
    "decision_content",
    "decision_view",
    "enrolments_on",
    "ensure_visible",
    "get_decision",
    "latest_decision",
    "list_decisions",
    "override_decision",
    "override_risk",
    "plain",
    "recommend",
    "recompute",
    "record_decision",
    "recorded_stops",
    "redact_inputs",
    "replay_decision",
    "sha256_text",
    "sign_off",
    "signoff_of",
    "state_from_inputs",
    "trial_day",
    "used_slots",
]


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
    signatures_required: int | None = None,
    justification: str | None = None,
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
        inputs_sha256=sha256_text(inputs_text),
        engine_version=__version__,
        override_reason=override_reason,
        signatures_required=signatures_required,
        justification=justification,
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
    ensure_visible(session, actor, trial_id)
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
        signatures_required=1 if view.requires_signoff else None,
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
    justification: str | None = None,
) -> DoseDecision:
    """Record a decision at a dose the design did not recommend (authorised users, with reason).

    The design's recommendation at that moment is recorded alongside (``recommended_*``).
    Eliminated doses cannot be chosen.  Every override needs sign-off by a second person
    (:func:`~.signoff.sign_off`); an override into a dose that was never given in the trial or
    is not confirmed safe (:func:`override_risk`) also needs a written ``justification`` (at
    least 20 characters) and two committee members' signatures.
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
    state = state_from_inputs(rec.inputs)
    risk = override_risk(engine, state, rec, dose)
    text = c.text("justification", justification, max_len=4000, required=False)
    if risk is not None and (text is None or len(text) < 20):
        raise ValidationError(
            "justification",
            f"an override into {engine.label(dose)}, which {risk}, needs a written "
            "justification of at least 20 characters (and two committee signatures)",
        )
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
        requires_signoff=True,
        override_reason=why,
        signatures_required=2 if risk is not None else 1,
        justification=text,
    )


def override_risk(
    engine: Engine, state: TrialState, rec: TrialRecommendation, dose: int
) -> str | None:
    """Why an override into ``dose`` is high-risk (``None`` if it is not): the dose was never
    given in the trial, or is not confirmed safe on the driving (or pooled) cohort's data by
    the core's :func:`~doseladder.core.rules.driving_indication.dose_safety`."""
    if not any(p.dose == dose for p in state.patients):
        return "was never tried"
    verdicts = rec.plan.get("dose_safety") or []
    verdict = next((v for v in verdicts if v.get("dose") == dose), None)
    if verdict is None:
        plan = engine.plan
        computed = dose_safety(
            plan.design,
            plan.dose_labels,
            [p for p in state.patients if plan.is_driving(p)],
            plan.other_indications,
        )
        verdict = computed[dose - 1].to_dict()
    if not verdict.get("confirmed"):
        return f"is not confirmed safe ({verdict.get('why')})"
    return None
