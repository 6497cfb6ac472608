"""The committee meeting pack: what a dose-escalation / safety review committee reads, per
indication, gathered from the other services (nothing decided or estimated here).

:func:`meeting_pack` asks

* :func:`.recommendation.compute` for the recommendation now (per indication, with the rule and
  the reasons) and for the core state it was computed from;
* the core (:meth:`~doseladder.core.state.TrialState.counts` over the indication's cohort,
  :func:`doseladder.core.rules.cohort_slots.cohort_patients`) for the patients, DLTs and
  responses per dose;
* :func:`doseladder.core.pathways.plan_paths` for the dose-transition pathways of the next
  cohorts *from today's data* (the same plan, state, eliminated doses and decision day the
  recommendation used, so the pathway tree's root is the recommendation);
* :func:`.dashboard.patient_outcomes` for each patient's pending outcome in words;
* the patient records (:func:`.patients.patient_record`) for the DLT and response listings,
  and the recorded decisions (:func:`.decision_queries.decision_view`) for the history;
* the audit trail's head, which the pack states so that a reader can tie it to the trail.

Producing a pack is audited (:data:`PACK_EVENT`: who, which format, which audit head).

Who may: the users who sign the committee's decisions off -- administrators, statisticians
and committee members (permission ``sign_off``) -- and only when not bound to a site, since the
pack lists every site's patients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import Forbidden, ValidationError
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import dashboard, patients, trials
from doseladder.conduct.services.decision_queries import decision_view, list_decisions
from doseladder.conduct.services.decision_state import state_from_inputs
from doseladder.conduct.services.recommendation import (
    STOPPED_RULE,
    IndicationView,
    TrialRecommendation,
    cohort_of,
    compute,
)
from doseladder.core.errors import InputError
from doseladder.core.pathways import Pathways, plan_paths
from doseladder.core.state import TrialState

__all__ = [
    "DEFAULT_SIGNATORIES",
    "PACK_EVENT",
    "PACK_FORMATS",
    "DecisionRow",
    "DltRow",
    "DoseRow",
    "IndicationPack",
    "MeetingPack",
    "PendingRow",
    "ResponseRow",
    "Signatory",
    "meeting_pack",
]

#: the audit action of a produced pack
PACK_EVENT = "meeting_pack_produced"
#: the formats :mod:`doseladder.reports.meeting_pack` renders
PACK_FORMATS = ("html", "pdf")
#: the signature block's lines when none are given (names are written in by hand)
DEFAULT_SIGNATORIES = (
    ("", "Committee chair"),
    ("", "Committee member"),
    ("", "Committee member"),
    ("", "Trial statistician"),
    ("", "Chief investigator"),
)
MAX_SIGNATORIES = 12


@dataclass(frozen=True, slots=True)
class DoseRow:
    """Patients, DLTs and responses at one dose in an indication's cohort (the core's
    :class:`~doseladder.core.state.DoseCounts`); pending outcomes are counted apart."""

    dose: int
    label: str
    n: int
    dlt: int
    dlt_pending: int
    responses: int
    responses_pending: int


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One recorded decision, as the decision view shows it."""

    seq: int
    date: str
    source: str
    status: str
    dose_label: str | None
    rule: str
    message: str
    override_reason: str | None
    signatures: int
    signatures_required: int


@dataclass(frozen=True, slots=True)
class DltRow:
    """A DLT (adjudicated) or a possible DLT awaiting adjudication."""

    study_id: str
    site: str
    dose_label: str
    infusion_date: str | None
    term: str
    grade: int | None
    onset_date: str | None
    day: int | None
    status: str  # "DLT" | "awaiting adjudication"
    rationale: str


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """One current efficacy assessment."""

    study_id: str
    site: str
    dose_label: str
    assessed_on: str
    day: int | None
    instrument: str
    result: str  # responder / non-responder / proposed ...
    final: bool


@dataclass(frozen=True, slots=True)
class PendingRow:
    """A patient with a pending outcome, why, and when its window ends."""

    study_id: str
    site: str
    dose_label: str
    infusion_date: str | None
    dlt: str
    dlt_window_ends: str | None
    response: str
    response_window_ends: str | None


@dataclass(frozen=True, slots=True)
class Signatory:
    name: str
    role: str


@dataclass(frozen=True)
class IndicationPack:
    """Everything the pack shows for one indication.

    ``pathways`` is ``None`` when this indication does not drive the design (it follows the
    driving indication) or when a recorded stop closed it; ``pathways_note`` then says why.
    """

    name: str | None
    role: str
    recommendation: IndicationView
    doses: tuple[DoseRow, ...]
    decisions: tuple[DecisionRow, ...]
    dlts: tuple[DltRow, ...]
    responses: tuple[ResponseRow, ...]
    pending: tuple[PendingRow, ...]
    pathways: Pathways | None
    pathways_note: str
    #: the named indications a pooled section covers (they share one cohort and decision)
    members: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        if len(self.members) > 1:
            return f"All indications, pooled ({', '.join(self.members)})"
        return self.name if self.name is not None else "All patients"


@dataclass(frozen=True)
class MeetingPack:
    """The meeting pack of one trial at one moment (see the module docstring)."""

    trial_id: int
    trial_code: str
    trial_title: str
    protocol_title: str | None
    protocol_version: int
    design_name: str
    sandbox: bool
    uses_efficacy: bool
    dose_labels: tuple[str, ...]
    decision_time: datetime
    decision_day: float
    dlt_window_days: float | None
    efficacy_window_days: float | None
    produced_at: datetime
    produced_by: str
    produced_role: str
    audit_head_seq: int
    audit_head_hash: str
    cohorts: int
    cohort_size: int
    eliminated: tuple[int, ...]
    indications: tuple[IndicationPack, ...]
    signatories: tuple[Signatory, ...]
    recommendation: TrialRecommendation = field(repr=False)

    def label(self, dose: int | None) -> str:
        return "—" if dose is None else self.dose_labels[dose - 1]


# --------------------------------------------------------------------------- helpers
def _check_cohorts(value: object, uses_efficacy: bool) -> int:
    if value is None:
        return 1 if uses_efficacy else 2
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2:
        raise ValidationError("cohorts", f"must be 1 or 2 (cohorts ahead), got {value!r}")
    return value


def _check_formats(value: object) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ValidationError("format", f"one or more of {', '.join(PACK_FORMATS)}")
    for f in items:
        if f not in PACK_FORMATS:
            raise ValidationError("format", f"one of {', '.join(PACK_FORMATS)}, got {f!r}")
    return tuple(dict.fromkeys(items))


def _check_signatories(value: object) -> tuple[Signatory, ...]:
    if value is None:
        return tuple(Signatory(n, r) for n, r in DEFAULT_SIGNATORIES)
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError("signatories", "must be a non-empty list of (name, role)")
    if len(value) > MAX_SIGNATORIES:
        raise ValidationError("signatories", f"at most {MAX_SIGNATORIES} lines")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ValidationError(f"signatories[{i}]", "must be a (name, role) pair")
        name = c.text(f"signatories[{i}].name", item[0], max_len=120, required=False) or ""
        role = c.required_text(f"signatories[{i}].role", item[1], max_len=120)
        out.append(Signatory(name, role))
    return tuple(out)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _day(start: Any, when: Any) -> int | None:
    a, b = _as_date(start), _as_date(when)
    return None if a is None or b is None else (b - a).days


def _window_end(start: Any, days: float | None) -> str | None:
    a = _as_date(start)
    if a is None or not days:
        return None
    return (a + timedelta(days=float(days))).isoformat()


def _audit_head(session: Session, trial_id: int) -> tuple[int, str]:
    """The head of the trial's audit chain (the pack is of that trial's records)."""
    return audit.chain_head(session, audit.chain_of(trial_id))


def _response_text(e: dict[str, Any]) -> str:
    if e.get("call") == "proposed":
        return "proposed: " + ("responder" if e.get("proposed_responder") else "non-responder")
    return "responder" if e["responder"] else "non-responder"


def _pathways(
    rec: TrialRecommendation, view: IndicationView, engine: Any, state: TrialState, cohorts: int
) -> tuple[Pathways | None, str]:
    if view.role == "other":
        return None, (
            "This indication does not drive dose finding: it enrols at the doses the driving "
            "indication has confirmed safe (see the driving indication's pathways)."
        )
    if view.rule == STOPPED_RULE:
        return None, "Closed by a recorded stop: no further cohorts."
    try:
        paths = plan_paths(engine.plan, state, cohorts, now=rec.decision_day)
    except InputError as exc:
        raise ValidationError(exc.field, exc.reason) from None
    if not paths.root.children:
        return paths, (
            "The design does not enrol a next cohort now ("
            + paths.root.decision.reason.message.rstrip(".")
            + "): the pathways start once it does."
        )
    return paths, ""


# ------------------------------------------------------------------------- the pack
def meeting_pack(
    session: Session,
    actor: Actor,
    trial_id: int,
    *,
    formats: object = ("pdf",),
    cohorts: object = None,
    signatories: object = None,
) -> MeetingPack:
    """Gather the meeting pack of a trial now and record that it was produced.

    Args:
        formats: the formats about to be produced, among ``html`` and ``pdf`` (recorded in
            the audit event; rendering is the reports layer's job:
            :mod:`doseladder.reports.meeting_pack`).
        cohorts: cohorts ahead in the pathways, 1 or 2 (default 2; 1 for designs using
            efficacy, whose cohorts have many more outcomes).
        signatories: ``(name, role)`` lines of the signature block (default
            :data:`DEFAULT_SIGNATORIES`, names left blank).

    Raises :class:`Forbidden` for roles without ``sign_off`` and site-bound users, and
    :class:`ValidationError` naming the field for bad arguments (nothing is recorded then).
    """
    c.begin(session, actor, Permission.SIGN_OFF)
    if actor.site_id is not None:
        raise Forbidden("the meeting pack lists every site's patients: not for site-bound users")
    fmts = _check_formats(formats)
    trial = trials.get_trial(session, actor, trial_id)
    version = trials.current_protocol(session, trial.id)
    engine = trials.engine_for(version)
    n_cohorts = _check_cohorts(cohorts, engine.uses_efficacy)
    lines = _check_signatories(signatories)
    head_seq, head_hash = _audit_head(session, trial.id)

    rec = compute(session, trial)
    state = state_from_inputs(rec.inputs)
    labels = tuple(engine.label(d) or f"DL{d}" for d in range(1, engine.num_doses + 1))
    sites = {s.id: s.code for s in trials.list_trial_sites(session, actor, trial.id)}
    status_of = dashboard.patient_outcomes(session, trial, engine)
    records = [
        patients.patient_record(session, actor, p.id)
        for p in patients.list_patients(session, actor, trial.id)
    ]
    history = list_decisions(session, actor, trial.id)
    packs: list[IndicationPack] = []
    pooled = [v.indication for v in rec.indications if v.role == "pooled" and v.indication]
    for view in rec.indications:
        if view.role == "pooled" and any(p.role == "pooled" for p in packs):
            continue  # pooled indications share one cohort, one decision: one section
        cohort = cohort_of(engine, state, view.indication, view.role)
        counts = TrialState(engine.num_doses, tuple(cohort)).counts()
        doses = tuple(
            DoseRow(
                d,
                labels[d - 1],
                counts.n[d - 1],
                counts.tox[d - 1],
                counts.tox_pending[d - 1],
                counts.eff[d - 1],
                counts.eff_pending[d - 1] if engine.uses_efficacy else 0,
            )
            for d in range(1, engine.num_doses + 1)
        )
        key = engine.decision_key(view.indication)
        decs = []
        for d in history:
            if d.indication != key:
                continue
            v = decision_view(session, actor, d)
            decs.append(
                DecisionRow(
                    seq=v["seq"],
                    date=str(v["decision_time"])[:10],
                    source=v["source"],
                    status=v["status"],
                    dose_label=v["dose_label"],
                    rule=v["rule"],
                    message=v["message"],
                    override_reason=v["override_reason"],
                    signatures=len(v["signatures"]),
                    signatures_required=int(v["signatures_required"]),
                )
            )
        mine = [
            r
            for r in records
            if view.role == "pooled" or r["patient"]["indication"] == view.indication
        ]
        dlts, responses, pending = _listings(mine, labels, sites, status_of, trial)
        paths, note = _pathways(rec, view, engine, state, n_cohorts)
        packs.append(
            IndicationPack(
                name=view.indication,
                role=view.role,
                recommendation=view,
                doses=doses,
                decisions=tuple(decs),
                dlts=dlts,
                responses=responses,
                pending=pending,
                pathways=paths,
                pathways_note=note,
                members=tuple(pooled) if view.role == "pooled" else (),
            )
        )
    title = getattr(getattr(engine.protocol, "identifiers", None), "title", None)
    pack = MeetingPack(
        trial_id=trial.id,
        trial_code=trial.code,
        trial_title=trial.title,
        protocol_title=title if isinstance(title, str) else None,
        protocol_version=version.version,
        design_name=str(engine.design.name),
        sandbox=bool(trial.sandbox),
        uses_efficacy=engine.uses_efficacy,
        dose_labels=labels,
        decision_time=rec.decision_time,
        decision_day=rec.decision_day,
        dlt_window_days=trial.dlt_window_days,
        efficacy_window_days=trial.efficacy_window_days,
        produced_at=c.now(session),
        produced_by=actor.username,
        produced_role=actor.role.value,
        audit_head_seq=head_seq,
        audit_head_hash=head_hash,
        cohorts=n_cohorts,
        cohort_size=engine.cohort_size,
        eliminated=rec.eliminated,
        indications=tuple(packs),
        signatories=lines,
        recommendation=rec,
    )
    audit.log_event(
        session,
        PACK_EVENT,
        entity_type="trial",
        entity_id=str(trial.id),
        trial_id=trial.id,
        reason="committee meeting pack",
        data={
            "formats": list(fmts),
            "audit_head_seq": head_seq,
            "audit_head_hash": head_hash,
            "cohorts": n_cohorts,
            "decision_time": rec.decision_time,
        },
    )
    return pack


def _listings(
    records: Sequence[dict[str, Any]],
    labels: tuple[str, ...],
    sites: dict[int, str],
    status_of: dict[int, tuple[dashboard.OutcomeStatus, dashboard.OutcomeStatus]],
    trial: Any,
) -> tuple[tuple[DltRow, ...], tuple[ResponseRow, ...], tuple[PendingRow, ...]]:
    dlts: list[DltRow] = []
    responses: list[ResponseRow] = []
    pending: list[PendingRow] = []
    for r in records:
        if not r["enrolment"]:
            continue
        enr = r["enrolment"][0]
        p = r["patient"]
        study, site = str(p["study_id"]), sites.get(p["site_id"], str(p["site_id"]))
        dose = labels[int(enr["dose_level"]) - 1]
        infused = enr["infusion_date"]
        aes = {ae["root_id"] or ae["id"]: ae for ae in r["adverse_events"]}
        adjudicated = set()
        for adj in r["dlt_adjudications"]:
            if adj["adverse_event_id"] is not None:
                adjudicated.add(adj["adverse_event_id"])
            if not adj["is_dlt"]:
                continue
            ae = aes.get(adj["adverse_event_id"]) if adj["adverse_event_id"] else None
            onset = adj["onset_date"] or (ae["onset_date"] if ae else None)
            dlts.append(
                DltRow(
                    study,
                    site,
                    dose,
                    _iso(infused),
                    ae["term"] if ae else "(no adverse event named)",
                    ae["grade"] if ae else None,
                    _iso(onset),
                    _day(infused, onset),
                    "DLT",
                    adj["rationale"],
                )
            )
        for lineage, ae in aes.items():
            if ae["dlt_candidate"] and lineage not in adjudicated:
                dlts.append(
                    DltRow(
                        study,
                        site,
                        dose,
                        _iso(infused),
                        ae["term"],
                        ae["grade"],
                        _iso(ae["onset_date"]),
                        _day(infused, ae["onset_date"]),
                        "awaiting adjudication",
                        "",
                    )
                )
        for e in r["efficacy"]:
            responses.append(
                ResponseRow(
                    study,
                    site,
                    dose,
                    _iso(e["assessed_on"]) or "",
                    _day(infused, e["assessed_on"]),
                    str(e["instrument"]),
                    _response_text(e),
                    bool(e["final"]),
                )
            )
        lineage = enr["root_id"] or enr["id"]
        if infused is None:
            tox = eff = dashboard.OutcomeStatus("pending", "not infused yet")
        else:
            unknown = dashboard.OutcomeStatus("not_assessed", "not in the decision state")
            tox, eff = status_of.get(lineage, (unknown, unknown))
        if "pending" in (tox.kind, eff.kind):
            pending.append(
                PendingRow(
                    study,
                    site,
                    dose,
                    _iso(infused),
                    tox.text,
                    _window_end(infused, trial.dlt_window_days) if tox.kind == "pending" else None,
                    eff.text,
                    _window_end(infused, trial.efficacy_window_days)
                    if eff.kind == "pending"
                    else None,
                )
            )
    return tuple(dlts), tuple(responses), tuple(pending)
