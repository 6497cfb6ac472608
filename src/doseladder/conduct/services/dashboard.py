"""What the trial dashboard and the patient page show, gathered from the other services.

Each patient's DLT and response status is read from the trial state the decisions are computed
from (:func:`doseladder.conduct.services.decisions.compute`: the same ascertainment the core
decides on), so the dashboard tells a *pending* outcome (still in its window, or a possible DLT
awaiting adjudication) from a *negative* one (window completed without the event, or a final
non-response) and from one *not assessed* (not enrolled, or not yet infused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.models import Trial
from doseladder.conduct.security import Actor
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import (
    decisions,
    grading,
    opening_guard,
    patients,
    sandbox,
    trials,
)
from doseladder.conduct.services import outcomes as outcome_service
from doseladder.core.rules.cohort_slots import backfill_cap

__all__ = [
    "OutcomeStatus",
    "dashboard_data",
    "patient_data",
    "patient_outcomes",
    "patient_summary",
    "trial_today",
]


@dataclass(frozen=True, slots=True)
class OutcomeStatus:
    """One patient's DLT or response status: ``kind`` is ``positive`` (DLT / responder),
    ``negative`` (no DLT / non-responder), ``pending`` or ``not_assessed``; ``text`` says it
    in words."""

    kind: str
    text: str


_NOT_ENROLLED = OutcomeStatus("not_assessed", "not assessed (not enrolled)")
_NOT_INFUSED = OutcomeStatus("not_assessed", "not assessed (not infused yet)")


def trial_today(session: Session, trial_id: int) -> str:
    """Today on the trial's clock (ISO date), for the forms' default dates."""
    return c.trial_now(session, c.get(session, Trial, trial_id)).date().isoformat()


def patient_outcomes(
    session: Session, trial: Trial, engine: Any
) -> dict[int, tuple[OutcomeStatus, OutcomeStatus]]:
    """Enrolment lineage id → (DLT status, response status) of every enrolled patient, from
    the state the next decision would be computed from (no permission check: callers show
    only the patients the user may see)."""
    rec = decisions.compute(session, trial)
    state = rec.inputs["state"]
    now = float(rec.inputs["now"])
    dlt_window = float(trial.dlt_window_days or 0.0)
    eff_window = float(trial.efficacy_window_days or 0.0)
    # a design with backfill needs responses (its open doses), over the DLT window if the
    # trial has no efficacy window (as decision_state ascertains them)
    backfill = backfill_cap(engine.plan) is not None
    uses_efficacy = engine.uses_efficacy or backfill
    if backfill and not eff_window:
        eff_window = dlt_window
    out: dict[int, tuple[OutcomeStatus, OutcomeStatus]] = {}
    for p in state["patients"]:
        day = now - float(p["entry_time"])
        if p["tox"] is True:
            tox = OutcomeStatus("positive", "DLT")
        elif p["tox"] is False:
            tox = OutcomeStatus("negative", "no DLT")
        elif day >= dlt_window:
            tox = OutcomeStatus("pending", "pending: DLT window ended, awaiting adjudication")
        else:
            tox = OutcomeStatus(
                "pending", f"pending: day {int(day)} of the {dlt_window:g}-day DLT window"
            )
        eff: OutcomeStatus
        if not uses_efficacy:
            eff = OutcomeStatus("not_assessed", "not used by the design")
        elif p["eff"] is True:
            eff = OutcomeStatus("positive", "responder")
        elif p["eff"] is False:
            eff = OutcomeStatus("negative", "non-responder")
        else:
            eff = OutcomeStatus(
                "pending", f"pending: day {int(day)} of the {eff_window:g}-day efficacy window"
            )
        out[int(p["enrolment"])] = (tox, eff)
    return out


def patient_summary(
    record: dict[str, Any],
    outcomes: dict[int, tuple[OutcomeStatus, OutcomeStatus]] | None = None,
) -> dict[str, Any]:
    """One row of the dashboard's patient table (``record`` from
    :func:`~doseladder.conduct.services.patients.patient_record`)."""
    screening = record["screening"]
    latest = max(screening, key=lambda r: (r["screened_on"], r["id"])) if screening else None
    enrolment = record["enrolment"][0] if record["enrolment"] else None
    adjs = record["dlt_adjudications"]
    adjudicated = {a["adverse_event_id"] for a in adjs if a["adverse_event_id"] is not None}
    tox, eff = _NOT_ENROLLED, _NOT_ENROLLED
    if enrolment is not None:
        lineage = enrolment["root_id"] or enrolment["id"]
        if enrolment["infusion_date"] is None:
            tox, eff = _NOT_INFUSED, _NOT_INFUSED
        elif outcomes is not None and lineage in outcomes:
            tox, eff = outcomes[lineage]
        if eff.text == "not used by the design":
            eff = _recorded_response(record["efficacy"])
    return {
        "patient": record["patient"],
        "eligible": None if latest is None else latest["eligible"],
        "enrolment": enrolment,
        "n_ae": len(record["adverse_events"]),
        "dlt": any(a["is_dlt"] for a in adjs),
        "awaiting": sum(
            1
            for ae in record["adverse_events"]
            if ae["dlt_candidate"] and (ae["root_id"] or ae["id"]) not in adjudicated
        ),
        "responder": any(e["responder"] for e in record["efficacy"]),
        "dlt_status": tox,
        "response_status": eff,
    }


def _recorded_response(efficacy: list[dict[str, Any]]) -> OutcomeStatus:
    """Designs that do not use efficacy: what the assessments recorded say."""
    if not efficacy:
        return OutcomeStatus("not_assessed", "not assessed")
    if any(e["responder"] for e in efficacy):
        return OutcomeStatus("positive", "responder")
    if any(e["final"] for e in efficacy):
        return OutcomeStatus("negative", "non-responder")
    return OutcomeStatus("pending", "pending: no response yet")


def dashboard_data(s: Session, a: Actor, trial_id: int) -> dict[str, Any]:
    """Everything the dashboard shows (computed by the services)."""
    trial = trials.get_trial(s, a, trial_id)
    versions = trials.protocol_versions(s, a, trial_id)
    engine = trials.engine_for(versions[-1])
    rec = decisions.recommend(s, a, trial_id)
    history = decisions.list_decisions(s, a, trial_id)
    latest: dict[str | None, Any] = {}
    for d in history:
        latest[d.indication] = d
    latest_views = {k: decisions.decision_view(s, a, d) for k, d in latest.items()}
    sites = {x.id: x for x in trials.list_trial_sites(s, a, trial_id)}
    visible = patients.list_patients(s, a, trial_id)
    outcomes = patient_outcomes(s, trial, engine) if visible else {}
    pts = [patient_summary(patients.patient_record(s, a, p.id), outcomes) for p in visible]
    protocol = engine.protocol
    title = None
    if protocol is not None:
        title = getattr(getattr(protocol, "identifiers", None), "title", None)
    return {
        "trial": trial,
        "clock": sandbox.trial_clock(s, trial),
        "version": versions[-1],
        "engine": engine,
        "protocol_title": title,
        "doses": [(d, engine.label(d)) for d in range(1, engine.num_doses + 1)],
        "rec": rec,
        "latest": latest_views,
        "n_decisions": len(history),
        "sites": sites,
        "my_site": sites.get(a.site_id) if a.site_id is not None else None,
        "patients": pts,
        # the opening guard's acknowledgements, for as long as their items stand
        "opening_acks": opening_guard.standing_acknowledgements(s, a, trial_id),
    }


def patient_data(s: Session, a: Actor, patient_id: int) -> dict[str, Any]:
    """Everything the patient page shows."""
    record = patients.patient_record(s, a, patient_id)
    history = patients.patient_record(s, a, patient_id, history=True)
    p = record["patient"]
    trial = trials.get_trial(s, a, p["trial_id"])
    engine = trials.engine_for(trials.current_protocol(s, trial.id))
    key = engine.decision_key(p["indication"])
    decs = [d for d in decisions.list_decisions(s, a, trial.id) if d.indication == key]
    latest = decisions.decision_view(s, a, decs[-1]) if decs else None
    sites = {x.id: x for x in trials.list_trial_sites(s, a, trial.id)}
    outcomes = patient_outcomes(s, trial, engine) if record["enrolment"] else {}
    summary = patient_summary(record, outcomes)
    adjudicated = {x["adverse_event_id"] for x in record["dlt_adjudications"]}
    proposal = None
    if record["enrolment"]:
        latest_p = outcome_service.latest_proposal(s, a, patient_id)
        proposal = None if latest_p is None else audit.snapshot(latest_p)
    definition = grading.response_definition(engine.protocol, p["indication"])
    backfill = None
    if not record["enrolment"] and latest is not None:
        # the backfill slots open now for the patient's cohort (designs with backfill)
        backfill = decisions.recommend(s, a, trial.id).for_indication(key).backfill
    return {
        "backfill": backfill,
        "proposal": proposal,
        "terms": grading.term_catalogue(),
        "instruments": list(grading.INSTRUMENTS),
        "response_rule": None if definition is None else definition.describe(),
        "trial": trial,
        "clock": sandbox.trial_clock(s, trial),
        "engine": engine,
        "record": record,
        "history": history,
        "summary": summary,
        "site": sites.get(p["site_id"]),
        "latest": latest,
        "adjudicated": adjudicated,
        "today": c.trial_now(s, trial).date().isoformat(),
    }
