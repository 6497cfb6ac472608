"""End of trial: pending outcomes, the final MTD / OBD, and its committee sign-off.

When a recorded stop is in force for the cohort that drives the design (sticky stops), the
statistician computes the final selection: :func:`doseladder.core.rules.final_selection.
final_selection` (the design's own rule, with estimates and credible intervals) on the driving
cohort's complete data -- refused while an outcome is pending (:func:`end_of_trial` lists
them).  The selection is stored with its exact inputs (canonical JSON, hashed) and must be
signed by two people other than the one who computed it (electronic signatures bound to its
content).  :func:`recompute_selection` recomputes a stored selection from its inputs alone
(used by the certified-copy replay).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder import __version__
from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, Forbidden, ValidationError
from doseladder.conduct.models import Enrolment, FinalSelection, Patient, ProtocolVersion, User
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import esignatures as es
from doseladder.conduct.services.decision_queries import ensure_visible
from doseladder.conduct.services.decision_replay import diff
from doseladder.conduct.services.decision_state import (
    build_state,
    plain,
    sha256_text,
    state_from_inputs,
)
from doseladder.conduct.services.protocol_engine import Engine, parse_protocol
from doseladder.conduct.services.recommendation import compute
from doseladder.conduct.services.trials import engine_for
from doseladder.core.ascertainment import OutcomeStatus
from doseladder.core.errors import InputError
from doseladder.core.rules.final_selection import final_selection, pending_patients

__all__ = [
    "SIGNATURES_REQUIRED",
    "SUBJECT",
    "compute_final_selection",
    "end_of_trial",
    "latest_selection",
    "recompute_selection",
    "selection_content",
    "selection_view",
    "sign_final_selection",
]

#: ``subject_type`` of a final selection's electronic signatures
SUBJECT = "final_selection"
#: approving signatures a final selection needs
SIGNATURES_REQUIRED = 2


def _driving_key(engine: Engine) -> str | None:
    return engine.plan.driving_indication


def _stop_in_force(inputs: Mapping[str, Any], key: str | None) -> dict[str, Any] | None:
    for stop in inputs.get("recorded_stops") or ():
        if stop.get("applies_to") == key:
            return dict(stop)
    return None


def _select(engine: Engine, inputs: Mapping[str, Any]) -> dict[str, Any]:
    try:
        selection = final_selection(engine.plan, state_from_inputs(inputs))
    except InputError as exc:
        raise ValidationError(exc.field, exc.reason) from None
    out: dict[str, Any] = plain(selection.to_dict())
    out["dose"] = selection.dose
    out["dose_label"] = engine.label(selection.dose)
    return out


def end_of_trial(session: Session, actor: Actor, trial_id: int) -> dict[str, Any]:
    """What the end of the trial looks like now: the stop in force for the driving cohort,
    the outcomes still pending, a preview of the final selection (when it can be computed) and
    the recorded selections with their signatures."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    trial = ensure_visible(session, actor, trial_id)
    rec = compute(session, trial)
    pv = c.get(session, ProtocolVersion, rec.protocol_version_id, "protocol version")
    engine = engine_for(pv)
    key = _driving_key(engine)
    built = build_state(
        session,
        trial,
        engine,
        now=rec.decision_time,
        eliminated=frozenset(rec.inputs["state"]["eliminated"]),
    )
    pending_idx = set(pending_patients(engine.plan, built.state))
    study = dict(
        session.execute(
            select(Enrolment.id, Patient.study_id)
            .join(Patient, Patient.id == Enrolment.patient_id)
            .where(Enrolment.trial_id == trial.id)
        ).all()
    )
    dlt_window = float(trial.dlt_window_days or 0.0)
    eff_window = float(trial.efficacy_window_days or 0.0) if engine.uses_efficacy else None

    def ends(entry: float, window: float | None) -> str | None:
        """The calendar date an observation window ends (entry day + window)."""
        if window is None:
            return None
        return (trial.epoch + timedelta(days=entry + window)).isoformat()

    pending: list[dict[str, Any]] = []
    for i, (ref, p, (tox, eff)) in enumerate(
        zip(built.refs, built.state.patients, built.outcomes, strict=True)
    ):
        infused = tox.status is not OutcomeStatus.NOT_INFUSED
        if tox.pending or (eff is not None and eff.pending):
            pending.append(
                {
                    "enrolment": ref,
                    # site-bound users do not see other sites' study ids
                    "study_id": None if actor.site_id is not None else study.get(ref),
                    "indication": p.indication,
                    "dose_label": engine.label(p.dose),
                    "driving": i in pending_idx,
                    "toxicity": tox.status.value,
                    "efficacy": None if eff is None else eff.status.value,
                    "toxicity_value": tox.value,
                    "efficacy_value": None if eff is None else eff.value,
                    "toxicity_pending": tox.pending,
                    "efficacy_pending": eff is not None and eff.pending,
                    "infused_on": ends(p.entry_time, 0.0) if infused else None,
                    "dlt_window_ends": ends(p.entry_time, dlt_window) if infused else None,
                    "efficacy_window_ends": ends(p.entry_time, eff_window) if infused else None,
                }
            )
    stop = _stop_in_force(rec.inputs, key)
    preview: dict[str, Any] | None = None
    why_not: str | None = None
    if stop is None:
        why_not = "the design has not stopped (no recorded stop in force for the driving cohort)"
    elif pending_idx:
        why_not = f"{len(pending_idx)} driving patient(s) with an outcome still pending"
    else:
        preview = _select(engine, rec.inputs)
    rows = session.scalars(
        select(FinalSelection)
        .where(FinalSelection.trial_id == trial.id)
        .order_by(FinalSelection.id)
    )
    return {
        "trial_id": trial.id,
        "driving_indication": key,
        "kind": "obd" if engine.uses_efficacy else "mtd",
        "stop": stop,
        "pending": pending,
        "preview": preview,
        "why_not": why_not,
        "selections": [selection_view(session, r) for r in rows],
    }


def latest_selection(session: Session, actor: Actor, trial_id: int) -> dict[str, Any] | None:
    """The trial's most recent final selection with its signatures (``None`` if none was
    computed yet) -- what the trial dashboard shows."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    trial = ensure_visible(session, actor, trial_id)
    row = session.scalars(
        select(FinalSelection)
        .where(FinalSelection.trial_id == trial.id)
        .order_by(FinalSelection.id.desc())
        .limit(1)
    ).first()
    return None if row is None else selection_view(session, row)


def compute_final_selection(session: Session, actor: Actor, trial_id: int) -> FinalSelection:
    """Compute and record the final MTD / OBD of the driving cohort (module docstring).

    Only a statistician may (:data:`~doseladder.conduct.security.Permission.SELECT_FINAL`)."""
    if isinstance(actor, Actor) and not actor.can(Permission.SELECT_FINAL):
        raise Forbidden(
            f"role {actor.role.value!r} may not compute the final selection (only a "
            "statistician may)"
        )
    c.begin(session, actor, Permission.SELECT_FINAL)
    ensure_visible(session, actor, trial_id)
    trial = c.lock_trial(session, trial_id)
    rec = compute(session, trial)
    pv = c.get(session, ProtocolVersion, rec.protocol_version_id, "protocol version")
    engine = engine_for(pv)
    key = _driving_key(engine)
    stop = _stop_in_force(rec.inputs, key)
    if stop is None:
        raise Conflict(
            "the design has not stopped: record the stopping decision first (no recorded "
            "stop is in force for the driving cohort)"
        )
    for old in session.scalars(select(FinalSelection).where(FinalSelection.trial_id == trial.id)):
        if selection_view(session, old)["signed"]:
            raise Conflict(f"final selection #{old.id} is already signed")
    inputs = {**rec.inputs, "indication": key, "stop": stop}
    result = _select(engine, inputs)
    inputs_text = audit.canonical_json(inputs)
    row = FinalSelection(
        trial_id=trial.id,
        indication=key,
        protocol_version_id=pv.id,
        kind=str(result["kind"]),
        dose_level=result["dose"],
        dose_label=result["dose_label"],
        result=audit.canonical_json(result),
        inputs=inputs_text,
        inputs_sha256=sha256_text(inputs_text),
        engine_version=__version__,
        computed_at=c.now(session),
        computed_by_id=actor.user_id,
    )
    with audit.reason(session, f"final {result['kind'].upper()} selection"):
        session.add(row)
        session.flush()
    return row


def selection_content(row: FinalSelection) -> dict[str, Any]:
    """What a signature of a final selection is bound to."""
    return {
        "subject": SUBJECT,
        "selection_id": row.id,
        "trial_id": row.trial_id,
        "indication": row.indication,
        "kind": row.kind,
        "dose_level": row.dose_level,
        "dose_label": row.dose_label,
        "result_sha256": sha256_text(row.result),
        "inputs_sha256": row.inputs_sha256,
        "computed_by_id": row.computed_by_id,
    }


def selection_view(session: Session, row: FinalSelection) -> dict[str, Any]:
    """A recorded selection with its signatures (``signed``: two approvals, none rejecting)."""
    content = selection_content(row)
    sigs = [es.signature_view(s, content) for s in es.signatures_of(session, SUBJECT, row.id)]
    approvals = sum(1 for s in sigs if s["meaning"] == "approved" and s["valid"])
    rejected = any(s["meaning"] == "rejected" for s in sigs)
    return {
        "id": row.id,
        "trial_id": row.trial_id,
        "indication": row.indication,
        "kind": row.kind,
        "dose_level": row.dose_level,
        "dose_label": row.dose_label,
        "result": json.loads(row.result),
        "inputs_sha256": row.inputs_sha256,
        "engine_version": row.engine_version,
        "computed_at": audit.jsonable(row.computed_at),
        "computed_by_id": row.computed_by_id,
        "computed_by": session.scalar(select(User.username).where(User.id == row.computed_by_id)),
        "signatures": sigs,
        "signatures_required": SIGNATURES_REQUIRED,
        "signed": approvals >= SIGNATURES_REQUIRED and not rejected,
        "rejected": rejected,
    }


def sign_final_selection(
    session: Session,
    actor: Actor,
    selection_id: int,
    *,
    password: object,
    printed_name: object,
    approve: bool = True,
    comment: object = None,
) -> dict[str, Any]:
    """One electronic signature of a final selection (never by the one who computed it)."""
    c.begin(session, actor, Permission.SIGN_OFF)
    ok = c.boolean("approve", approve)
    row = c.get(session, FinalSelection, selection_id, "final selection")
    ensure_visible(session, actor, row.trial_id)
    c.lock_trial(session, row.trial_id)
    view = selection_view(session, row)
    if view["signed"] or view["rejected"]:
        raise Conflict(
            f"final selection #{row.id} is already {'signed' if view['signed'] else 'rejected'}"
        )
    es.sign(
        session,
        actor,
        trial_id=row.trial_id,
        subject_type=SUBJECT,
        subject_id=row.id,
        content=selection_content(row),
        password=password,
        printed_name=printed_name,
        meaning="approved" if ok else "rejected",
        comment=comment,
        forbidden_signers=(row.computed_by_id,),
        why=f"final selection #{row.id}",
    )
    return selection_view(session, row)


def recompute_selection(
    row: Mapping[str, Any], versions: Mapping[str, Mapping[str, Any]]
) -> tuple[str, bool, str, tuple[str, ...]]:
    """Recompute a stored final selection from its stored inputs alone:
    ``(what, ok, summary, differences)``."""
    what = f"final selection #{row.get('id')} (trial {row.get('trial_id')})"
    inputs_text = row.get("inputs")
    if not isinstance(inputs_text, str):
        return what, False, "inputs missing", ()
    problems: list[str] = []
    if sha256_text(inputs_text) != row.get("inputs_sha256"):
        problems.append("stored inputs do not match their recorded SHA-256")
    pv = versions.get(str(row.get("protocol_version_id")))
    if pv is None:
        return what, False, "its protocol version is not in the copy", ()
    try:
        engine = parse_protocol(json.loads(str(pv["content"])))
        again = _select(engine, json.loads(inputs_text))
    except (ValidationError, ValueError, KeyError) as exc:
        return what, False, f"cannot recompute: {exc}", ()
    found: list[str] = []
    diff(json.loads(str(row.get("result"))), json.loads(json.dumps(again)), "", found)
    problems.extend(f"result {d}" for d in found)
    kind = str(row.get("kind")).upper()
    summary = (
        f"{kind} {row.get('dose_label') or 'none'}; recomputed {again['dose_label'] or 'none'}"
    )
    return what, not problems, summary, tuple(problems)
