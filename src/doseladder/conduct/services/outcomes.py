"""Outcomes: graded adverse events, efficacy assessments, DLT proposals and adjudications.

Adverse events are CTCAE v5.0 terms graded by the core (:mod:`.grading`): from the lab value
for laboratory terms, from the ASTCT forms for CRS and ICANS, chosen from the term's
definitions otherwise.  After every change to a patient's adverse events the service stores a
:class:`~doseladder.conduct.models.DLTProposal`: the core's DLT call against the protocol's
DLT definition, with the rule that fired.  A statistician confirms it (:func:`confirm_dlt`) or
overrides it with a reason (:func:`override_dlt`); the resulting :class:`DLTAdjudication` is
the confirmed call the dose decisions use.  Efficacy assessments entered as components
(:func:`assess_efficacy`) are scored, their response is proposed and then confirmed or
overridden (:func:`confirm_response`, :func:`override_response`).

Every record can be corrected (a new version with a reason) or voided (a new, void version
with a reason); nothing is overwritten.  Outcomes arrive late: they are recorded whenever they
become known and the next recommendation uses them (pending outcomes until then).  Each write
locks the trial row, so outcomes, enrolments and decisions of a trial are serialised and a
decision always sees a consistent set of data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    Date,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    true,
)
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, Forbidden, NotFound, ValidationError
from doseladder.conduct.models import (
    AdverseEvent,
    DLTAdjudication,
    DLTProposal,
    EfficacyAssessment,
    Enrolment,
    Patient,
    ProtocolVersion,
    ScreeningResult,
    Trial,
    Versioned,
)
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import grading
from doseladder.conduct.services.trials import current_engine, engine_by_hash
from doseladder.core.clinical.dlt import DLTDefinition
from doseladder.core.errors import InputError

__all__ = [
    "RELATEDNESS",
    "adjudicate_dlt",
    "assess_efficacy",
    "confirm_dlt",
    "confirm_response",
    "correct_adjudication",
    "correct_adverse_event",
    "correct_efficacy",
    "latest_proposal",
    "list_adjudications",
    "list_adverse_events",
    "list_efficacy",
    "list_proposals",
    "override_dlt",
    "override_response",
    "propose_dlt",
    "record_adverse_event",
    "record_efficacy",
    "void_adjudication",
    "void_adverse_event",
    "void_efficacy",
]

#: relatedness answers: the core's five attribution levels, and the older four-level answers
RELATEDNESS = (
    "definite",
    "probable",
    "possible",
    "unlikely",
    "unrelated",
    "related",
    "possibly_related",
    "unlikely_related",
)
_AE_FIELDS = (
    "term",
    "grade",
    "onset_date",
    "resolved_date",
    "serious",
    "relatedness",
    "dlt_candidate",
)
_GRADING_FIELDS = ("term", "grade", "lab", "crs", "icans")
_EFF_FIELDS = ("assessed_on", "instrument", "responder", "final", "measures")
_ADJ_FIELDS = ("is_dlt", "onset_date", "rationale")


class _PatientFacts(Protocol):
    """What the outcome writes read of a patient: a :class:`Patient` or, for the writes that
    lock it with :func:`._common.lock_patient`, a :class:`._common.PatientInTrial`."""

    @property
    def id(self) -> int: ...

    @property
    def trial_id(self) -> int: ...

    @property
    def age(self) -> int | None: ...

    @property
    def registered_at(self) -> datetime: ...


class _TrialFacts(c.TrialClock, Protocol):
    """What a DLT call reads of the trial (a :class:`Trial` or a ``PatientInTrial``)."""

    @property
    def epoch(self) -> date: ...


def _enrolment(session: Session, patient_id: int) -> Enrolment | None:
    rows = c.current(session.scalars(select(Enrolment).where(Enrolment.patient_id == patient_id)))
    return rows[0] if rows else None


# ------------------------------------------------------------------ adverse events
def _first_screened() -> Any:
    return (
        select(func.min(ScreeningResult.screened_on))
        .where(ScreeningResult.patient_id == bindparam("patient_id"))
        .scalar_subquery()
    )


#: the patient's first screening date alone (:func:`consent_date`)
_FIRST_SCREENED = select(_first_screened().label("first_screened"))


def _current_enrolment_column(column: Any) -> Any:
    """``column`` of the patient's current enrolment (not superseded, not void: what
    :func:`._common.current` keeps; a patient has one enrolment lineage)."""
    e = Enrolment.__table__.alias("e")
    newer: Any = (
        select(literal_column("1"))
        .select_from(Enrolment.__table__)
        .where(Enrolment.__table__.c.supersedes_id == e.c.id)
    )
    return (
        select(e.c[column.key])
        .where(e.c.patient_id == bindparam("patient_id"), e.c.voided.is_(False), ~newer.exists())
        .order_by(e.c.id)
        .limit(1)
        .scalar_subquery()
    )


def _latest_protocol_column(column: Any) -> Any:
    return (
        select(column)
        .where(ProtocolVersion.trial_id == bindparam("trial_id"))
        .order_by(ProtocolVersion.version.desc())
        .limit(1)
        .scalar_subquery()
    )


#: Everything an adverse-event write reads about the patient besides the locked patient and
#: trial rows, in one statement run after the lock is taken (so it sees every change committed
#: by the writer that held the lock before): the first screening date (consent), the current
#: enrolment (its id and infusion date) and the latest protocol version (id and content hash).
_WRITE_FACTS = select(
    _first_screened().label("first_screened"),
    _current_enrolment_column(Enrolment.id).label("enrolment_id"),
    _current_enrolment_column(Enrolment.infusion_date).label("infusion_date"),
    _latest_protocol_column(ProtocolVersion.id).label("protocol_id"),
    _latest_protocol_column(ProtocolVersion.content_sha256).label("protocol_sha256"),
)


def _history() -> Any:
    ae = AdverseEvent.__table__.c
    adj = DLTAdjudication.__table__.c
    events = select(
        literal_column("0").label("kind"),
        ae.id,
        ae.supersedes_id,
        ae.voided,
        func.coalesce(ae.root_id, ae.id).label("lineage_id"),
        ae.term,
        ae.grade,
        ae.onset_date,
        ae.resolved_date,
        ae.relatedness,
    ).where(ae.patient_id == bindparam("patient_id"))
    adjudications = select(
        literal_column("1"),
        adj.id,
        adj.supersedes_id,
        adj.voided,
        adj.adverse_event_id,
        cast(null(), String),
        cast(null(), Integer),
        cast(null(), Date),
        cast(null(), Date),
        cast(null(), String),
    ).where(adj.patient_id == bindparam("patient_id"))
    return events.union_all(adjudications)


#: every version of a patient's adverse events (``kind`` 0: the columns the core's DLT rule
#: reads) and of its DLT adjudications (``kind`` 1: ``lineage_id`` is the adjudicated event)
_HISTORY = _history()


def _facts_and_history() -> Any:
    facts = _WRITE_FACTS.subquery("facts")
    history = _HISTORY.subquery("history")
    return select(facts, history).select_from(facts.outerjoin(history, true()))


#: :data:`_WRITE_FACTS` on every row of :data:`_HISTORY` (one row with an empty history when
#: the patient has no adverse event or adjudication): what a DLT proposal rests on, read in
#: one statement after the trial lock
_FACTS_AND_HISTORY = _facts_and_history()


def _consent(patient: _PatientFacts, first_screened: date | None) -> date:
    registered = patient.registered_at.date()
    return registered if first_screened is None else min(first_screened, registered)


def consent_date(session: Session, patient: Patient) -> date:
    """The earliest date the patient's data may carry: consent, i.e. the first screening (the
    screening procedures follow consent), else the registration date."""
    session.flush()
    first = session.connection().execute(_FIRST_SCREENED, {"patient_id": patient.id}).scalar()
    return _consent(patient, first)


def _ae_values(
    session: Session, trial: c.TrialClock, values: Mapping[str, Any], consent: date
) -> dict[str, Any]:
    """The validated columns of an adverse event (``consent``: :func:`consent_date`)."""
    today = c.latest_date(session, trial)
    onset = c.a_date(
        "onset_date",
        values.get("onset_date"),
        not_after=today,
        not_before=consent,
        before_what="the patient's consent (first screening)",
    )
    resolved = values.get("resolved_date")
    return {
        "term": c.required_text("term", values.get("term"), max_len=200),
        "grade": c.integer("grade", values.get("grade"), 1, 5),
        "onset_date": onset,
        "resolved_date": None
        if resolved is None
        else c.a_date(
            "resolved_date", resolved, not_after=today, not_before=onset, before_what="the onset"
        ),
        "serious": c.boolean("serious", values.get("serious")),
        "relatedness": c.one_of(
            "relatedness", values.get("relatedness"), RELATEDNESS, required=False
        ),
        "dlt_candidate": c.boolean("dlt_candidate", values.get("dlt_candidate")),
    }


def _graded(patient: _PatientFacts, values: Mapping[str, Any]) -> dict[str, Any]:
    g = grading.grade_adverse_event(
        values.get("term"),
        grade=values.get("grade"),
        lab=values.get("lab"),
        crs=values.get("crs"),
        icans=values.get("icans"),
        age=patient.age,
    )
    return {"term": g.term, "grade": g.grade, "grade_scale": g.scale, "grading": g.grading}


def _flag_candidate(
    session: Session,
    patient: _PatientFacts,
    values: dict[str, Any],
    *,
    flagged: bool,
    basis: _DltBasis | None = None,
) -> dict[str, Any]:
    """Set ``dlt_candidate`` (the investigator's flag, or the event may be a DLT by the
    protocol's definition) and keep the investigator's own flag in ``grading``."""
    status = _event_call(session, patient, values, basis)
    out = dict(values)
    out["dlt_candidate"] = flagged or status in ("met", "pending")
    if out.get("grading") is not None:
        out["grading"] = {**out["grading"], "flagged_by_investigator": flagged, "dlt_call": status}
    return out


@dataclass(frozen=True, slots=True)
class _DltBasis:
    """What a DLT call on a patient's events rests on, read once per service call after the
    trial lock, in one statement (:data:`_FACTS_AND_HISTORY`): the trial, whether the patient
    has a current enrolment and its infusion date, the protocol's DLT definition, the
    patient's consent date (:func:`consent_date`) and the rows of :data:`_HISTORY` as they
    stood when the basis was read (the service adds the rows it inserts after that; none when
    the protocol has no DLT definition: the proposal then reads no event)."""

    trial: _TrialFacts
    enrolled: bool
    infusion_date: date | None
    definition: DLTDefinition | None
    consent: date
    history: tuple[Any, ...]


#: trial id -> content SHA-256 of the trial's latest protocol version as last read in this
#: process, for the trials whose protocol states no DLT definition: the next write on such a
#: trial reads :data:`_WRITE_FACTS` alone (no history: without a definition the proposal reads
#: no event) and checks the hash it reads against this one (at most ``_NO_DLT_KEPT``)
_NO_DLT_PROTOCOL: dict[int, str] = {}
_NO_DLT_KEPT = 4096


def _dlt_basis(
    session: Session, patient: _PatientFacts, trial: _TrialFacts | None = None
) -> _DltBasis:
    """Read the :class:`_DltBasis` (``trial``: the patient's locked trial, when not loaded
    as an ORM object in this session).

    One statement: the facts with the history (:data:`_FACTS_AND_HISTORY`), or the facts
    alone (:data:`_WRITE_FACTS`) when the trial's latest protocol was last seen without a DLT
    definition (:data:`_NO_DLT_PROTOCOL`); if the protocol read then is another one that has a
    definition (an amendment), the history is read after it (a second statement, once)."""
    if trial is None:
        trial = c.get(session, Trial, patient.trial_id)
    session.flush()
    connection = session.connection()
    params = {"patient_id": patient.id, "trial_id": patient.trial_id}
    seen = _NO_DLT_PROTOCOL.get(patient.trial_id)
    rows = connection.execute(_FACTS_AND_HISTORY if seen is None else _WRITE_FACTS, params).all()
    facts = rows[0]
    if facts.protocol_id is None:
        raise NotFound(f"trial #{patient.trial_id} has no protocol")
    sha = facts.protocol_sha256
    if seen is not None and seen == sha:
        definition = None  # the same content: parsed before, no DLT definition
    else:
        definition = grading.dlt_definition(
            engine_by_hash(session, facts.protocol_id, sha).protocol
        )
    history: tuple[Any, ...] = ()
    if definition is None:
        if seen != sha:
            if len(_NO_DLT_PROTOCOL) >= _NO_DLT_KEPT:
                _NO_DLT_PROTOCOL.clear()
            _NO_DLT_PROTOCOL[patient.trial_id] = sha
    else:
        _NO_DLT_PROTOCOL.pop(patient.trial_id, None)
        if seen is None:
            history = tuple(r for r in rows if r.kind is not None)
        else:
            history = tuple(connection.execute(_HISTORY, {"patient_id": patient.id}))
    return _DltBasis(
        trial,
        facts.enrolment_id is not None,
        facts.infusion_date,
        definition,
        _consent(patient, facts.first_screened),
        history,
    )


class _Inserted(NamedTuple):
    """An adverse event this service call inserted after its :class:`_DltBasis` was read, as
    a :data:`_HISTORY` row."""

    kind: int
    id: int
    supersedes_id: int | None
    voided: bool
    lineage_id: int
    term: str
    grade: int
    onset_date: date
    resolved_date: date | None
    relatedness: str | None

    @classmethod
    def of(cls, ae: AdverseEvent) -> _Inserted:
        return cls(
            0,
            ae.id,
            ae.supersedes_id,
            ae.voided,
            ae.lineage_id,
            ae.term,
            ae.grade,
            ae.onset_date,
            ae.resolved_date,
            ae.relatedness,
        )


def _event_call(
    session: Session,
    patient: _PatientFacts,
    values: Mapping[str, Any],
    basis: _DltBasis | None = None,
) -> str | None:
    """The core's call on one event alone (``met``/``pending``/``not_met``), if it can be made."""
    basis = basis or _dlt_basis(session, patient)
    if not basis.enrolled or basis.infusion_date is None or basis.definition is None:
        return None  # grading.propose_dlt calls no event without a definition
    ev = grading.Event(
        0,
        values["term"],
        values["grade"],
        values["onset_date"],
        values["resolved_date"],
        values["relatedness"],
    )
    p = grading.propose_dlt(
        basis.definition,
        epoch=basis.trial.epoch,
        infusion=basis.infusion_date,
        now=c.trial_now(session, basis.trial),
        events=[ev],
    )
    return p.event_status.get(0)


def _new(
    session: Session, actor: Actor, model: type[Versioned], patient: _PatientFacts, **values: Any
) -> Any:
    return audit.insert_row(
        session,
        model,
        trial_id=patient.trial_id,
        patient_id=patient.id,
        version=1,
        voided=False,
        change_reason=None,
        entered_at=c.now(session),
        entered_by_id=actor.user_id,
        **values,
    )


def record_adverse_event(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    term: str,
    onset_date: date | str,
    grade: int | None = None,
    lab: Mapping[str, Any] | None = None,
    crs: Mapping[str, Any] | None = None,
    icans: Mapping[str, Any] | None = None,
    serious: bool = False,
    resolved_date: date | str | None = None,
    relatedness: str | None = None,
    dlt_candidate: bool = False,
) -> AdverseEvent:
    """Record an adverse event: a CTCAE v5.0 ``term`` graded from ``lab`` (laboratory terms:
    ``value``, ``unit``, ``lln``/``uln``/``baseline``), ``crs``/``icans`` (the ASTCT forms) or
    the chosen ``grade`` (other terms).  ``dlt_candidate`` flags a possible DLT; the protocol's
    DLT definition flags it too when the event is or may become a DLT.  A new DLT proposal for
    the patient is stored."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    patient = c.lock_patient(session, actor, patient_id)
    graded = _graded(
        patient, {"term": term, "grade": grade, "lab": lab, "crs": crs, "icans": icans}
    )
    basis = _dlt_basis(session, patient, patient)
    values = _ae_values(
        session,
        patient,
        {
            "term": graded["term"],
            "grade": graded["grade"],
            "onset_date": onset_date,
            "resolved_date": resolved_date,
            "serious": serious,
            "relatedness": relatedness,
            "dlt_candidate": dlt_candidate,
        },
        basis.consent,
    )
    values |= {"grade_scale": graded["grade_scale"], "grading": graded["grading"]}
    values = _flag_candidate(session, patient, values, flagged=values["dlt_candidate"], basis=basis)
    row: AdverseEvent = _new(session, actor, AdverseEvent, patient, **values)
    _store_proposal(session, actor, patient, basis, [row])
    return row


def _old(session: Session, actor: Actor, model: type[Any], record_id: int, what: str) -> Any:
    old = c.get(session, model, record_id, what)
    c.patient_for(session, actor, old.patient_id, lock=True)
    return old


def correct_adverse_event(
    session: Session, actor: Actor, ae_id: int, *, changes: Mapping[str, Any], reason: str
) -> AdverseEvent:
    """Correct an adverse event (new version with ``changes`` applied).  Changing the term,
    the grade or a grading form (``lab``, ``crs``, ``icans``) grades the event again."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old: AdverseEvent = _old(session, actor, AdverseEvent, ae_id, "adverse event")
    patient = c.get(session, Patient, old.patient_id)
    c.unknown_keys("changes", changes, (*_AE_FIELDS, *_GRADING_FIELDS))
    if not changes:
        raise ValidationError("changes", "nothing to change")
    merged = {k: getattr(old, k) for k in _AE_FIELDS} | {
        k: v for k, v in changes.items() if k in _AE_FIELDS
    }
    extra: dict[str, Any] = {"grade_scale": old.grade_scale, "grading": old.grading}
    if any(k in changes for k in _GRADING_FIELDS):
        form = (old.grading or {}).get("form") or {}
        method = (old.grading or {}).get("method")
        previous = {"lab": "lab", "crs_form": "crs", "icans_form": "icans"}.get(str(method))
        request: dict[str, Any] = {"term": changes.get("term", old.term)}
        forms_given = any(k in changes for k in ("lab", "crs", "icans"))
        if forms_given:
            request |= {k: changes[k] for k in ("lab", "crs", "icans") if k in changes}
        elif previous is not None and "term" not in changes:
            request[previous] = form
        if "grade" in changes or (previous is None and not forms_given):
            request["grade"] = changes.get("grade", old.grade)
        g = _graded(patient, request)
        merged |= {"term": g["term"], "grade": g["grade"]}
        extra = {"grade_scale": g["grade_scale"], "grading": g["grading"]}
    basis = _dlt_basis(session, patient)
    values = _ae_values(session, basis.trial, merged, basis.consent) | extra
    flagged = bool(
        changes.get(
            "dlt_candidate", (old.grading or {}).get("flagged_by_investigator", old.dlt_candidate)
        )
    )
    values = _flag_candidate(session, patient, values, flagged=flagged, basis=basis)
    row = c.supersede(session, actor, old, values, reason=why)
    session.flush()
    _store_proposal(session, actor, patient, basis, [row])
    return row


def void_adverse_event(session: Session, actor: Actor, ae_id: int, *, reason: str) -> AdverseEvent:
    """Withdraw an adverse event entered in error."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old: AdverseEvent = _old(session, actor, AdverseEvent, ae_id, "adverse event")
    row = c.supersede(session, actor, old, {}, reason=why, voided=True)
    session.flush()
    _store_proposal(session, actor, c.get(session, Patient, old.patient_id))
    return row


# ------------------------------------------------------------------------ efficacy
def _eff_values(session: Session, trial: c.TrialClock, values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "assessed_on": c.a_date(
            "assessed_on", values.get("assessed_on"), not_after=c.latest_date(session, trial)
        ),
        "instrument": c.required_text("instrument", values.get("instrument"), max_len=64),
        "responder": c.boolean("responder", values.get("responder")),
        "final": c.boolean("final", values.get("final")),
        "measures": c.json_mapping("measures", values.get("measures")),
    }


def record_efficacy(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    assessed_on: date | str,
    instrument: str,
    responder: bool,
    final: bool = False,
    measures: Mapping[str, Any] | None = None,
) -> EfficacyAssessment:
    """Record an efficacy assessment (``responder`` per the protocol's criterion, e.g. SRI-4;
    ``final`` marks the end-of-window assessment; ``measures`` keeps the scores)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    patient = c.lock_patient(session, actor, patient_id)
    values = _eff_values(
        session,
        patient,
        {
            "assessed_on": assessed_on,
            "instrument": instrument,
            "responder": responder,
            "final": final,
            "measures": measures,
        },
    )
    row: EfficacyAssessment = _new(session, actor, EfficacyAssessment, patient, **values)
    return row


def correct_efficacy(
    session: Session, actor: Actor, assessment_id: int, *, changes: Mapping[str, Any], reason: str
) -> EfficacyAssessment:
    """Correct an efficacy assessment (new version)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old: EfficacyAssessment = _old(
        session, actor, EfficacyAssessment, assessment_id, "efficacy assessment"
    )
    c.unknown_keys("changes", changes, _EFF_FIELDS)
    if not changes:
        raise ValidationError("changes", "nothing to change")
    merged = {k: getattr(old, k) for k in _EFF_FIELDS} | dict(changes)
    trial = c.get(session, Trial, old.trial_id)
    return c.supersede(session, actor, old, _eff_values(session, trial, merged), reason=why)


def void_efficacy(
    session: Session, actor: Actor, assessment_id: int, *, reason: str
) -> EfficacyAssessment:
    """Withdraw an efficacy assessment entered in error."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    why = c.reason_text(reason)
    old: EfficacyAssessment = _old(
        session, actor, EfficacyAssessment, assessment_id, "efficacy assessment"
    )
    return c.supersede(session, actor, old, {}, reason=why, voided=True)


def assess_efficacy(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    assessed_on: date | str,
    components: Mapping[str, Any],
    instrument: str | None = None,
    final: bool = False,
) -> EfficacyAssessment:
    """Record an efficacy assessment as its components; the score and the response are
    computed by the core — by the protocol's response definition for the patient's indication
    when it has one, otherwise by ``instrument`` — and the response is *proposed*
    (``call="proposed"``, ``responder`` false until :func:`confirm_response` or
    :func:`override_response`)."""
    c.begin(session, actor, Permission.ENTER_OUTCOMES)
    patient = c.patient_for(session, actor, patient_id, lock=True)
    on = c.a_date(
        "assessed_on",
        assessed_on,
        not_after=c.latest_date(session, c.get(session, Trial, patient.trial_id)),
        not_before=consent_date(session, patient),
        before_what="the patient's consent (first screening)",
    )
    protocol = current_engine(session, patient.trial_id).protocol
    definition = grading.response_definition(protocol, patient.indication)
    scored = grading.score_efficacy(instrument, components, assessed_on=on, definition=definition)
    row: EfficacyAssessment = _new(
        session,
        actor,
        EfficacyAssessment,
        patient,
        assessed_on=on,
        instrument=scored.instrument,
        responder=False,
        final=c.boolean("final", final),
        measures=None,
        components=c.json_mapping("components", scored.components),
        assessment=c.json_mapping("assessment", scored.assessment),
        proposed_responder=scored.proposed_responder,
        call="proposed",
    )
    return row


def _proposed_assessment(session: Session, actor: Actor, assessment_id: int) -> EfficacyAssessment:
    """The assessment whose proposed response awaits a call (investigators and statisticians
    only: a clinician or the statistician confirms or overrides it)."""
    if isinstance(actor, Actor) and not actor.can(Permission.CALL_RESPONSE):
        raise Forbidden(
            f"role {actor.role.value!r} may not confirm or override a proposed response "
            "(investigators and statisticians make that call)"
        )
    c.begin(session, actor, Permission.CALL_RESPONSE)
    old: EfficacyAssessment = _old(
        session, actor, EfficacyAssessment, assessment_id, "efficacy assessment"
    )
    if old.call != "proposed":
        raise Conflict(
            f"efficacy assessment #{old.id} has no proposed response awaiting a call"
            + (f" (it is {old.call})" if old.call else "")
        )
    return old


def confirm_response(
    session: Session, actor: Actor, assessment_id: int, *, reason: str | None = None
) -> EfficacyAssessment:
    """Confirm the proposed response (a new version with ``responder`` = the proposal)."""
    old = _proposed_assessment(session, actor, assessment_id)
    if old.proposed_responder is None:
        raise ValidationError(
            "assessment_id", "no response could be computed: override it with a reason"
        )
    note = c.text("reason", reason, max_len=2000, required=False)
    why = "Confirmed the proposed response" + (f": {note}" if note else "")
    return c.supersede(
        session,
        actor,
        old,
        {"responder": old.proposed_responder, "call": "confirmed"},
        reason=why,
    )


def override_response(
    session: Session, actor: Actor, assessment_id: int, *, responder: bool, reason: str
) -> EfficacyAssessment:
    """Override the proposed response with a reason (a new version)."""
    old = _proposed_assessment(session, actor, assessment_id)
    value = c.boolean("responder", responder)
    why = c.reason_text(reason)
    if old.proposed_responder is value:
        raise ValidationError("responder", "agrees with the proposed response: confirm it")
    return c.supersede(session, actor, old, {"responder": value, "call": "overridden"}, reason=why)


# -------------------------------------------------------------- DLT adjudication
def _adj_values(
    session: Session,
    trial: Trial,
    enrolment: Enrolment,
    ae: AdverseEvent | None,
    values: Mapping[str, Any],
) -> dict[str, Any]:
    is_dlt = c.boolean("is_dlt", values.get("is_dlt"))
    rationale = c.required_text("rationale", values.get("rationale"), max_len=4000, min_len=3)
    onset_raw = values.get("onset_date")
    onset: date | None = None
    if is_dlt:
        if onset_raw is None and ae is not None:
            onset = ae.onset_date
        elif onset_raw is None:
            raise ValidationError("onset_date", "required for a DLT without an adverse event")
        else:
            onset = c.a_date("onset_date", onset_raw, not_after=c.latest_date(session, trial))
        infused = enrolment.infusion_date
        if infused is None:
            raise ValidationError("is_dlt", "the patient has no infusion date yet")
        if onset < infused:
            raise ValidationError("onset_date", "is before the infusion")
        window = float(trial.dlt_window_days or 0.0)
        if (onset - infused).days > window:
            raise ValidationError(
                "onset_date",
                f"day {(onset - infused).days} after infusion is outside the {window:g}-day "
                "DLT window",
            )
    elif onset_raw is not None:
        raise ValidationError("onset_date", "only for a DLT")
    return {"is_dlt": is_dlt, "onset_date": onset, "rationale": rationale}


def _current_ae(session: Session, lineage: int) -> AdverseEvent | None:
    versions = session.scalars(
        select(AdverseEvent).where((AdverseEvent.id == lineage) | (AdverseEvent.root_id == lineage))
    )
    cur = c.current(versions)
    return cur[0] if cur else None


def _write_adjudication(
    session: Session,
    actor: Actor,
    patient: Patient,
    proposal: DLTProposal,
    *,
    is_dlt: bool,
    rationale: str,
    adverse_event_id: int | None,
    onset_date: date | str | None,
    call: str,
) -> DLTAdjudication:
    trial = c.get(session, Trial, patient.trial_id)
    enrolment = _enrolment(session, patient.id)
    if enrolment is None:
        raise Conflict(f"patient {patient.study_id} is not enrolled")
    ae: AdverseEvent | None = None
    lineage: int | None = None
    if adverse_event_id is not None:
        found = c.ref(session, AdverseEvent, adverse_event_id, "adverse_event_id")
        if found.patient_id != patient.id:
            raise ValidationError("adverse_event_id", "belongs to another patient")
        lineage = found.lineage_id
        ae = _current_ae(session, lineage)
        if ae is None:
            raise Conflict(f"adverse event #{adverse_event_id} is void")
    existing = c.current(
        session.scalars(select(DLTAdjudication).where(DLTAdjudication.patient_id == patient.id))
    )
    for adj in existing:
        same_event = lineage is not None and adj.adverse_event_id == lineage
        same_kind = lineage is None and adj.adverse_event_id is None and adj.is_dlt == is_dlt
        if same_event or same_kind:
            raise Conflict(
                f"already adjudicated (adjudication #{adj.id}); correct it with a reason"
            )
    values = _adj_values(
        session,
        trial,
        enrolment,
        ae,
        {"is_dlt": is_dlt, "onset_date": onset_date, "rationale": rationale},
    )
    row: DLTAdjudication = _new(
        session,
        actor,
        DLTAdjudication,
        patient,
        adverse_event_id=lineage,
        proposal_id=proposal.id,
        call=call,
        **values,
    )
    return row


def _proposed_call(proposal: DLTProposal, lineage: int | None) -> bool | None:
    """What the proposal says about one event (``lineage``) or the window (``None``)."""
    calls = ((proposal.assessment or {}).get("event_calls") or {}) if proposal.assessment else {}
    if lineage is not None:
        if proposal.status == "yes" and proposal.adverse_event_id == lineage:
            return True
        call = calls.get(str(lineage))
        if call == "met":
            return True
        if call == "not_met":
            return False
        return None
    if proposal.status == "no":
        return False
    return None


def adjudicate_dlt(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    is_dlt: bool,
    rationale: str,
    adverse_event_id: int | None = None,
    onset_date: date | str | None = None,
) -> DLTAdjudication:
    """Adjudicate one event (or, without ``adverse_event_id``, the patient's DLT window)
    against the current DLT proposal, which is computed and stored first: the adjudication
    ``confirmed`` the proposal when it agrees with the proposal's call on that event (or
    window), otherwise it ``overrode`` it, with ``rationale`` as the reason.  One adjudication
    per adverse event (correct it to change it)."""
    c.begin(session, actor, Permission.ADJUDICATE_DLT)
    patient = c.patient_for(session, actor, patient_id, lock=True)
    is_dlt = c.boolean("is_dlt", is_dlt)
    proposal = _store_proposal(session, actor, patient)
    lineage = None
    if adverse_event_id is not None:
        lineage = c.ref(session, AdverseEvent, adverse_event_id, "adverse_event_id").lineage_id
    proposed = _proposed_call(proposal, lineage)
    row = _write_adjudication(
        session,
        actor,
        patient,
        proposal,
        is_dlt=is_dlt,
        rationale=rationale,
        adverse_event_id=adverse_event_id,
        onset_date=onset_date,
        call="confirmed" if proposed is is_dlt else "overridden",
    )
    session.flush()
    _store_proposal(session, actor, patient)
    return row


# ------------------------------------------------------------------ DLT proposals
def _events_for_proposal(session: Session, patient: Patient) -> list[grading.Event]:
    """The patient's current, not yet adjudicated adverse events as the core's events.

    Light column rows, not ORM objects, in one statement (:data:`_HISTORY`): every write about
    a patient reads all of its adverse events (every version), so their cost grows with the
    patient's history."""
    session.flush()
    rows: list[Any] = list(session.connection().execute(_HISTORY, {"patient_id": patient.id}))
    return _proposal_events(rows)


def _proposal_events(rows: Iterable[Any]) -> list[grading.Event]:
    """:func:`_events_for_proposal` from the patient's :data:`_HISTORY` rows: the current
    (:func:`._common.current`), unadjudicated adverse events, by lineage."""
    aes: list[Any] = []
    adjudications: list[Any] = []
    for r in rows:
        (aes if r.kind == 0 else adjudications).append(r)
    adjudicated = {a.lineage_id for a in c.current(adjudications) if a.lineage_id is not None}
    event = grading.Event
    return [
        event(ae.lineage_id, ae.term, ae.grade, ae.onset_date, ae.resolved_date, ae.relatedness)
        for ae in sorted(c.current(aes), key=_lineage)
        if ae.lineage_id not in adjudicated
    ]


def _lineage(row: Any) -> Any:
    return row.lineage_id


def _store_proposal(
    session: Session,
    actor: Actor,
    patient: _PatientFacts,
    basis: _DltBasis | None = None,
    inserted: Sequence[AdverseEvent] = (),
) -> DLTProposal:
    """Compute the patient's DLT proposal now and store it (enrolled patients only).

    ``basis``: what the proposal rests on, already read in this service call, and
    ``inserted``: every adverse-event row the call inserted after reading it (otherwise read
    here, after every change of the call)."""
    if basis is None:
        basis, inserted = _dlt_basis(session, patient), ()
    if not basis.enrolled:
        p = grading.Proposal("not_evaluable", None, None, None, "Not enrolled.", None, {})
    else:
        events: list[grading.Event] = []
        if basis.definition is not None and basis.infusion_date is not None:
            # otherwise grading.propose_dlt reads no event (no definition, no infusion yet)
            events = _proposal_events([*basis.history, *map(_Inserted.of, inserted)])
        try:
            p = grading.propose_dlt(
                basis.definition,
                epoch=basis.trial.epoch,
                infusion=basis.infusion_date,
                now=c.trial_now(session, basis.trial),
                events=events,
            )
        except InputError as exc:  # stored data the core cannot read (e.g. legacy terms)
            p = grading.Proposal(
                "not_evaluable", None, None, None, f"{exc.field}: {exc.reason}", None, {}
            )
    # computed here, not entered: JSON-safe, but never refused for its size (it grows with the
    # patient's unadjudicated events; the size limit of entered JSON, ``c.json_mapping``, would
    # refuse every adverse event after about 85 of them)
    assessment = None
    if p.assessment is not None:
        calls = {"event_calls": {str(k): v for k, v in p.event_status.items()}}
        assessment = audit.jsonable(p.assessment | calls)
    return audit.insert_row(
        session,
        DLTProposal,
        trial_id=patient.trial_id,
        patient_id=patient.id,
        status=p.status,
        rule=p.rule,
        adverse_event_id=p.event_id,
        dlt_day=p.dlt_day,
        message=p.message[:4000],
        assessment=assessment or None,
        proposed_at=c.now(session),
        proposed_by_id=actor.user_id,
    )


def propose_dlt(session: Session, actor: Actor, patient_id: int) -> DLTProposal:
    """Compute and store the patient's DLT proposal now (e.g. once the window has closed)."""
    if actor.can(Permission.ADJUDICATE_DLT):
        c.begin(session, actor, Permission.ADJUDICATE_DLT)
    else:
        c.begin(session, actor, Permission.ENTER_OUTCOMES)
    patient = c.patient_for(session, actor, patient_id, lock=True)
    if _enrolment(session, patient.id) is None:
        raise Conflict(f"patient {patient.study_id} is not enrolled")
    return _store_proposal(session, actor, patient)


def list_proposals(session: Session, actor: Actor, patient_id: int) -> list[DLTProposal]:
    """A patient's DLT proposals, oldest first."""
    c.begin(session, actor, Permission.VIEW_PATIENTS)
    c.patient_for(session, actor, patient_id, lock=False)
    return list(
        session.scalars(
            select(DLTProposal).where(DLTProposal.patient_id == patient_id).order_by(DLTProposal.id)
        )
    )


def latest_proposal(session: Session, actor: Actor, patient_id: int) -> DLTProposal | None:
    """A patient's latest DLT proposal (``None`` if there is none)."""
    rows = list_proposals(session, actor, patient_id)
    return rows[-1] if rows else None


def _open_proposal(session: Session, actor: Actor, proposal_id: int) -> tuple[Patient, DLTProposal]:
    if isinstance(actor, Actor) and not actor.can(Permission.ADJUDICATE_DLT):
        raise Forbidden(
            f"role {actor.role.value!r} may not confirm or override a proposed DLT call "
            "(only a statistician may)"
        )
    c.begin(session, actor, Permission.ADJUDICATE_DLT)
    proposal = c.get(session, DLTProposal, proposal_id, "DLT proposal")
    patient = c.patient_for(session, actor, proposal.patient_id, lock=True)
    latest = session.scalar(
        select(DLTProposal.id)
        .where(DLTProposal.patient_id == patient.id)
        .order_by(DLTProposal.id.desc())
        .limit(1)
    )
    if latest != proposal.id:
        raise Conflict(
            f"DLT proposal #{proposal.id} is stale: the data changed (latest proposal #{latest})"
        )
    return patient, proposal


def confirm_dlt(
    session: Session, actor: Actor, proposal_id: int, *, reason: str | None = None
) -> list[DLTAdjudication]:
    """Confirm the patient's latest DLT proposal (``yes`` or ``no``).

    ``yes``: the deciding adverse event is adjudicated a DLT.  ``no`` (the window closed and no
    event meets a rule): every event still awaiting adjudication is adjudicated not a DLT, and
    the window is adjudicated complete without a DLT.  The adjudications cite the proposal."""
    patient, proposal = _open_proposal(session, actor, proposal_id)
    if proposal.status not in ("yes", "no"):
        raise ValidationError(
            "proposal_id",
            f"the proposal is '{proposal.status}': there is no call to confirm (override it "
            "with a reason, or propose again later)",
        )
    note = c.text("reason", reason, max_len=2000, required=False)
    text = f"Confirmed the proposed call (proposal #{proposal.id}"
    text += f", rule {proposal.rule})" if proposal.rule else ")"
    text += f": {proposal.message}"
    if note:
        text += f" — {note}"
    rows: list[DLTAdjudication] = []
    if proposal.status == "yes":
        rows.append(
            _write_adjudication(
                session,
                actor,
                patient,
                proposal,
                is_dlt=True,
                rationale=text[:4000],
                adverse_event_id=proposal.adverse_event_id,
                onset_date=None,
                call="confirmed",
            )
        )
    else:
        for ev in _events_for_proposal(session, patient):
            current = _current_ae(session, ev.id)
            if current is not None and current.dlt_candidate:
                rows.append(
                    _write_adjudication(
                        session,
                        actor,
                        patient,
                        proposal,
                        is_dlt=False,
                        rationale=text[:4000],
                        adverse_event_id=ev.id,
                        onset_date=None,
                        call="confirmed",
                    )
                )
        window_done = any(
            a.adverse_event_id is None and not a.is_dlt
            for a in c.current(
                session.scalars(
                    select(DLTAdjudication).where(DLTAdjudication.patient_id == patient.id)
                )
            )
        )
        if not window_done:
            rows.append(
                _write_adjudication(
                    session,
                    actor,
                    patient,
                    proposal,
                    is_dlt=False,
                    rationale=text[:4000],
                    adverse_event_id=None,
                    onset_date=None,
                    call="confirmed",
                )
            )
    session.flush()
    _store_proposal(session, actor, patient)
    return rows


def override_dlt(
    session: Session,
    actor: Actor,
    proposal_id: int,
    *,
    is_dlt: bool,
    reason: str,
    adverse_event_id: int | None = None,
    onset_date: date | str | None = None,
) -> DLTAdjudication:
    """Override the patient's latest DLT proposal with a reason.

    The adjudication concerns ``adverse_event_id`` (default: the proposal's deciding event) or,
    without an event, the window (``is_dlt=False``: completed without a DLT; ``is_dlt=True``:
    a DLT not recorded as an adverse event, with ``onset_date``).  Overriding with the
    proposal's own call is refused (confirm it instead)."""
    patient, proposal = _open_proposal(session, actor, proposal_id)
    is_dlt = c.boolean("is_dlt", is_dlt)
    why = c.reason_text(reason)
    target = adverse_event_id if adverse_event_id is not None else proposal.adverse_event_id
    lineage = None
    if target is not None:
        lineage = c.ref(session, AdverseEvent, target, "adverse_event_id").lineage_id
    if _proposed_call(proposal, lineage) is is_dlt:
        raise ValidationError("is_dlt", "agrees with the proposed call: confirm it instead")
    row = _write_adjudication(
        session,
        actor,
        patient,
        proposal,
        is_dlt=is_dlt,
        rationale=why,
        adverse_event_id=target,
        onset_date=onset_date,
        call="overridden",
    )
    session.flush()
    _store_proposal(session, actor, patient)
    return row


def correct_adjudication(
    session: Session,
    actor: Actor,
    adjudication_id: int,
    *,
    changes: Mapping[str, Any],
    reason: str,
) -> DLTAdjudication:
    """Correct a DLT adjudication (new version)."""
    c.begin(session, actor, Permission.ADJUDICATE_DLT)
    why = c.reason_text(reason)
    old: DLTAdjudication = _old(session, actor, DLTAdjudication, adjudication_id, "adjudication")
    c.unknown_keys("changes", changes, _ADJ_FIELDS)
    if not changes:
        raise ValidationError("changes", "nothing to change")
    trial = c.get(session, Trial, old.trial_id)
    enrolment = _enrolment(session, old.patient_id)
    if enrolment is None:
        raise Conflict("the patient is no longer enrolled")
    ae = None
    if old.adverse_event_id is not None:
        ae = c.current(
            session.scalars(
                select(AdverseEvent).where(
                    (AdverseEvent.id == old.adverse_event_id)
                    | (AdverseEvent.root_id == old.adverse_event_id)
                )
            ),
            include_void=True,
        )[0]
    merged: dict[str, Any] = {
        "is_dlt": old.is_dlt,
        "onset_date": old.onset_date if old.is_dlt else None,
        "rationale": old.rationale,
    } | dict(changes)
    if merged.get("is_dlt") is False and "onset_date" not in changes:
        merged["onset_date"] = None
    return c.supersede(
        session, actor, old, _adj_values(session, trial, enrolment, ae, merged), reason=why
    )


def void_adjudication(
    session: Session, actor: Actor, adjudication_id: int, *, reason: str
) -> DLTAdjudication:
    """Withdraw an adjudication entered in error."""
    c.begin(session, actor, Permission.ADJUDICATE_DLT)
    why = c.reason_text(reason)
    old: DLTAdjudication = _old(session, actor, DLTAdjudication, adjudication_id, "adjudication")
    return c.supersede(session, actor, old, {}, reason=why, voided=True)


# ------------------------------------------------------------------------ reading
def _list(session: Session, actor: Actor, model: Any, patient_id: int, history: bool) -> list[Any]:
    c.begin(session, actor, Permission.VIEW_PATIENTS)
    c.patient_for(session, actor, patient_id, lock=False)
    rows = list(session.scalars(select(model).where(model.patient_id == patient_id)))
    chosen = rows if history else c.current(rows)
    return sorted(chosen, key=lambda r: r.id)


def list_adverse_events(
    session: Session, actor: Actor, patient_id: int, *, history: bool = False
) -> list[AdverseEvent]:
    """A patient's adverse events (current versions, or every version with ``history``)."""
    return _list(session, actor, AdverseEvent, patient_id, history)


def list_efficacy(
    session: Session, actor: Actor, patient_id: int, *, history: bool = False
) -> list[EfficacyAssessment]:
    """A patient's efficacy assessments."""
    return _list(session, actor, EfficacyAssessment, patient_id, history)


def list_adjudications(
    session: Session, actor: Actor, patient_id: int, *, history: bool = False
) -> list[DLTAdjudication]:
    """A patient's DLT adjudications."""
    return _list(session, actor, DLTAdjudication, patient_id, history)
