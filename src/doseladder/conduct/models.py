"""The trial-conduct data model (SQLAlchemy 2 typed ORM).

Clinical records are never changed in place.  :class:`Versioned` records (screening results,
enrolments, adverse events, efficacy assessments, DLT adjudications) are corrected by inserting
a new version that ``supersedes`` the old one (``root_id`` names the first version of the
lineage, ``version`` counts 1, 2, ...); ``voided`` marks a version that withdraws the record.
The current state of a lineage is its unsuperseded version.  ``supersedes_id`` is unique, so two
concurrent corrections of the same version cannot both succeed.

Dose decisions, committee sign-offs and protocol versions are immutable rows; a protocol
amendment is a new :class:`ProtocolVersion` with a reason.  The few mutable rows (trial status,
user activity/password, token revocation) are updated in place with the old and new values in
the audit trail (``audit_events``), which is appended in the same transaction as every change.

Times are timezone-aware UTC (:class:`UTCDateTime`); calendar dates (infusion, onset,
assessment) are plain dates.  Patients carry pseudonymous study IDs only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AdverseEvent",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "AuditKey",
    "AuditSignature",
    "Base",
    "CommitteeSignoff",
    "DLTAdjudication",
    "DLTProposal",
    "DoseDecision",
    "EfficacyAssessment",
    "ElectronicSignature",
    "Enrolment",
    "FinalSelection",
    "IdempotencyRecord",
    "OpeningAcknowledgement",
    "Patient",
    "ProtocolVersion",
    "ScreeningResult",
    "SessionActivity",
    "Site",
    "Trial",
    "TrialSite",
    "UTCDateTime",
    "User",
    "Versioned",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    Naive datetimes are refused; aware ones are converted to UTC.  SQLite stores the naive UTC
    value and gets the UTC zone back on load; PostgreSQL uses ``timestamp with time zone``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps must be timezone-aware (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (identical on every backend)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


# ---------------------------------------------------------------- people/sites
class Site(Base):
    """A participating hospital."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class User(Base):
    """A person who uses the system (staff; never a patient)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255), info={"redact": True})
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ApiToken(Base):
    """An opaque API token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, info={"redact": True})
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


# ----------------------------------------------------------------------- trials
class Trial(Base):
    """A trial.  ``status``: draft → open ⇄ suspended → closed (see :mod:`.services.trials`).

    ``epoch`` is day 0 of the trial clock: entry and decision times given to the core are days
    since the epoch.
    """

    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    epoch: Mapped[date] = mapped_column(Date)
    require_signoff_for_escalation: Mapped[bool] = mapped_column(Boolean)
    dlt_window_days: Mapped[float | None] = mapped_column(Float)
    efficacy_window_days: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    #: a sandbox trial (rehearsal, training): flagged on every page, left out of exports unless
    #: asked, and its clock may be advanced; ``None`` (trials created before) = a real trial
    sandbox: Mapped[bool | None] = mapped_column(Boolean)
    #: days a sandbox trial's clock runs ahead of the real clock (``None`` = 0; real trials
    #: never have one): see :func:`doseladder.conduct.services._common.trial_now`
    clock_offset_days: Mapped[float | None] = mapped_column(Float)


class TrialSite(Base):
    """A site activated for a trial (only activated sites may register patients)."""

    __tablename__ = "trial_sites"
    __table_args__ = (UniqueConstraint("trial_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    activated_at: Mapped[datetime]
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ProtocolVersion(Base):
    """One version of a trial's protocol (a design file or a full protocol file).

    ``content`` is the canonical JSON of the parsed file (hashed in ``content_sha256``);
    ``source_text`` keeps the file as uploaded.  Version 1 is the original; every later version
    needs a ``reason`` and is an ``amendment`` when the trial had already opened.
    """

    __tablename__ = "protocol_versions"
    __table_args__ = (UniqueConstraint("trial_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str | None] = mapped_column(String(255))
    source_text: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    amendment: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Patient(Base):
    """A patient, known only by a pseudonymous study ID."""

    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("trial_id", "study_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    study_id: Mapped[str] = mapped_column(String(32))
    indication: Mapped[str | None] = mapped_column(String(64))
    sex: Mapped[str | None] = mapped_column(String(1))
    age: Mapped[int | None] = mapped_column(Integer)
    registered_at: Mapped[datetime]
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# ------------------------------------------------------------ versioned records
class Versioned(Base):
    """Columns shared by correctable clinical records (see the module docstring)."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-10)
    version: Mapped[int] = mapped_column(Integer, sort_order=-5)
    voided: Mapped[bool] = mapped_column(Boolean, sort_order=-4)
    change_reason: Mapped[str | None] = mapped_column(Text, sort_order=-3)
    entered_at: Mapped[datetime] = mapped_column(sort_order=-2)

    @declared_attr
    def trial_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("trials.id"), index=True, sort_order=-9)

    @declared_attr
    def patient_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("patients.id"), index=True, sort_order=-8)

    @declared_attr
    def root_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey(f"{cls.__tablename__}.id"), index=True, sort_order=-7)

    @declared_attr
    def supersedes_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey(f"{cls.__tablename__}.id"), unique=True, sort_order=-6)

    @declared_attr
    def entered_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id"), sort_order=-1)

    @property
    def lineage_id(self) -> int:
        """The id of the first version (stable across corrections)."""
        return self.root_id if self.root_id is not None else self.id


class ScreeningResult(Versioned):
    """Eligibility screening of a patient (``criteria``: criterion → met)."""

    __tablename__ = "screening_results"

    screened_on: Mapped[date] = mapped_column(Date)
    eligible: Mapped[bool] = mapped_column(Boolean)
    criteria: Mapped[dict[str, Any] | None]
    notes: Mapped[str | None] = mapped_column(Text)


class Enrolment(Versioned):
    """A patient's enrolment at a dose level, taken from one slot of a dose decision.

    ``infusion_date`` may be recorded later (a correction version); until then the patient is
    treated by the core as entering at the decision time with every outcome pending.

    ``cohort``: ``escalation`` (a slot of the decision) or ``backfill`` (a backfill slot at a
    dose open for backfill, BF-BOIN; the decision is the one in force when the patient was
    backfilled); ``NULL`` (enrolments entered before backfill existed) = escalation.
    """

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("patient_id", "version"),
        UniqueConstraint("decision_id", "slot", "version"),
    )

    decision_id: Mapped[int] = mapped_column(ForeignKey("dose_decisions.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    indication: Mapped[str | None] = mapped_column(String(64))
    dose_level: Mapped[int] = mapped_column(Integer)
    enrolled_at: Mapped[datetime]
    infusion_date: Mapped[date | None] = mapped_column(Date)
    cohort: Mapped[str | None] = mapped_column(String(16))

    @property
    def is_backfill(self) -> bool:
        return self.cohort == "backfill"


class AdverseEvent(Versioned):
    """A graded adverse event (CTCAE/ASTCT grade 1-5).

    ``dlt_candidate``: a possible DLT (flagged by the investigator, or by the DLT proposal when
    the protocol's DLT definition says the event is or may become a DLT); it keeps the
    patient's DLT outcome pending until adjudicated.

    ``term`` is a CTCAE v5.0 term (canonical spelling).  ``grade_scale`` says which scale the
    grade is on (``CTCAE v5.0`` or ``ASTCT 2019`` for CRS/ICANS) and ``grading`` how it was
    obtained: ``{"method": "lab" | "definition" | "crs_form" | "icans_form", "form": <the
    entered values>, "assessment": <the core's graded result>}`` (``NULL`` on records entered
    before clinical grading).
    """

    __tablename__ = "adverse_events"

    term: Mapped[str] = mapped_column(String(200))
    grade: Mapped[int] = mapped_column(Integer)
    onset_date: Mapped[date] = mapped_column(Date)
    resolved_date: Mapped[date | None] = mapped_column(Date)
    serious: Mapped[bool] = mapped_column(Boolean)
    relatedness: Mapped[str | None] = mapped_column(String(20))
    dlt_candidate: Mapped[bool] = mapped_column(Boolean)
    grade_scale: Mapped[str | None] = mapped_column(String(16))
    grading: Mapped[dict[str, Any] | None]


class EfficacyAssessment(Versioned):
    """An efficacy assessment: ``responder`` per the protocol's response criterion.

    ``final`` marks the end-of-window assessment (a final non-response resolves the efficacy
    outcome as "no response").

    Entered as components (``components``: e.g. SLEDAI-2K findings, BILAG grades, PGA, platelet
    counts), the score and the protocol's response are computed (``assessment``) and the
    response is *proposed* (``proposed_responder``, ``call = "proposed"``, ``responder`` false
    until confirmed); a confirmation or an override with a reason is the next version
    (``call = "confirmed"`` / ``"overridden"``).  ``call`` is ``NULL`` for a responder status
    entered directly.
    """

    __tablename__ = "efficacy_assessments"

    assessed_on: Mapped[date] = mapped_column(Date)
    instrument: Mapped[str] = mapped_column(String(64))
    responder: Mapped[bool] = mapped_column(Boolean)
    final: Mapped[bool] = mapped_column(Boolean)
    measures: Mapped[dict[str, Any] | None]
    components: Mapped[dict[str, Any] | None]
    assessment: Mapped[dict[str, Any] | None]
    proposed_responder: Mapped[bool | None] = mapped_column(Boolean)
    call: Mapped[str | None] = mapped_column(String(16))


class LymphodepletionDose(Versioned):
    """One administration of a lymphodepleting agent to a patient (what was given, not the plan).

    ``agent`` is one of the protocol regimen's agents (its spelling in the protocol), ``given_on``
    the administration date, ``dose`` the dose given per day in ``unit`` (the agent's unit in the
    regimen, e.g. mg/m2), ``note`` optional free text.  Checked and written by
    :mod:`doseladder.conduct.services.lymphodepletion`; exported as EX rows.
    """

    __tablename__ = "lymphodepletion_doses"

    agent: Mapped[str] = mapped_column(String(100))
    given_on: Mapped[date] = mapped_column(Date)
    dose: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


class DLTAdjudication(Versioned):
    """Whether an adverse event (or, without one, the patient's completed DLT window) is a DLT.

    ``adverse_event_id`` names the adverse event's lineage (its first version).  This is the
    *confirmed* call that feeds the dose decisions: ``proposal_id`` is the service's DLT
    proposal it answers and ``call`` whether it ``confirmed`` or ``overrode`` it (``NULL`` on
    records entered before DLT proposals).
    """

    __tablename__ = "dlt_adjudications"
    __table_args__ = (UniqueConstraint("adverse_event_id", "version"),)

    adverse_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("adverse_events.id"), index=True
    )
    is_dlt: Mapped[bool] = mapped_column(Boolean)
    onset_date: Mapped[date | None] = mapped_column(Date)
    rationale: Mapped[str] = mapped_column(Text)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("dlt_proposals.id"), index=True)
    call: Mapped[str | None] = mapped_column(String(16))


class DLTProposal(Base):
    """The service's DLT call for one patient, computed by the core from the protocol's DLT
    definition and the graded adverse events (immutable; a new one after every change).

    ``status``: ``yes`` / ``no`` / ``not_yet_known`` (the core's answer) or ``not_evaluable``
    (no DLT definition in the protocol, or no infusion yet).  ``rule`` is the rule that fired
    (or keeps it open), ``adverse_event_id`` the deciding event's lineage, ``dlt_day`` the DLT
    onset in days after infusion, ``assessment`` the core's full result.  A clinician or
    statistician confirms or overrides it (:class:`DLTAdjudication`).
    """

    __tablename__ = "dlt_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str | None] = mapped_column(String(100))
    adverse_event_id: Mapped[int | None] = mapped_column(ForeignKey("adverse_events.id"))
    dlt_day: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    assessment: Mapped[dict[str, Any] | None]
    proposed_at: Mapped[datetime]
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# -------------------------------------------------------------------- decisions
class DoseDecision(Base):
    """A recorded next-dose decision for one indication (immutable).

    ``status`` is the enrolment status the decision gives (``enrol`` at ``next_dose``,
    ``wait``, or ``closed``); ``rule`` and ``message`` are the core's reason and ``result`` its
    full answer (steps, evidence).  ``inputs`` is the canonical JSON of everything the core saw
    (trial state, decision time, protocol version), hashed in ``inputs_sha256``; together they
    make the decision replayable
    (:func:`doseladder.conduct.services.decisions.replay_decision`).

    An ``enrol`` decision opens ``slots`` enrolment slots at ``next_dose`` (one cohort).
    ``source`` is ``design`` or ``override``: an authorised user chose ``next_dose`` with an
    ``override_reason``; ``recommended_status``/``recommended_dose`` keep what the design said.
    ``eliminated`` holds the doses closed to the driving (or pooled) cohort at this decision; the
    latest such decision of the driving (or pooled) cohort carries them into the next one
    (permanent eliminations; see docs/conduct.md).
    """

    __tablename__ = "dose_decisions"
    __table_args__ = (UniqueConstraint("trial_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    indication: Mapped[str | None] = mapped_column(String(64))
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_versions.id"))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    current_dose: Mapped[int | None] = mapped_column(Integer)
    next_dose: Mapped[int | None] = mapped_column(Integer)
    dose_label: Mapped[str | None] = mapped_column(String(64))
    recommended_status: Mapped[str] = mapped_column(String(16))
    recommended_dose: Mapped[int | None] = mapped_column(Integer)
    eliminated: Mapped[list[Any]]
    slots: Mapped[int] = mapped_column(Integer)
    requires_signoff: Mapped[bool] = mapped_column(Boolean)
    decision_time: Mapped[datetime]
    decision_day: Mapped[float] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text)
    inputs: Mapped[str] = mapped_column(Text)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(32))
    override_reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: approving e-signatures needed before the decision can be used (``None``: one, as
    #: recorded before four-eyes governance; 2 for an override into an untried or not
    #: confirmed-safe dose, by committee members)
    signatures_required: Mapped[int | None] = mapped_column(Integer)
    #: written justification of a high-risk override
    justification: Mapped[str | None] = mapped_column(Text)


class CommitteeSignoff(Base):
    """The safety review committee's sign-off (approval or rejection) of one decision."""

    __tablename__ = "committee_signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("dose_decisions.id"), unique=True)
    approved: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ElectronicSignature(Base):
    """An electronic signature (21 CFR 11.50 / 11.70): who (printed name, user, role), when
    (UTC), what it means (``reviewed`` / ``approved`` / ``rejected``), bound to the SHA-256 of
    the canonical JSON of what was signed (``content`` is that JSON)."""

    __tablename__ = "electronic_signatures"
    __table_args__ = (UniqueConstraint("subject_type", "subject_id", "signed_by_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    meaning: Mapped[str] = mapped_column(String(16))
    printed_name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime]
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class FinalSelection(Base):
    """The final MTD / OBD of one driving cohort, computed by the core's selection when the
    design stopped (``result``: estimates and credible intervals, canonical JSON)."""

    __tablename__ = "final_selections"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    indication: Mapped[str | None] = mapped_column(String(64))
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_versions.id"))
    kind: Mapped[str] = mapped_column(String(8))
    dose_level: Mapped[int | None] = mapped_column(Integer)
    dose_label: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    inputs: Mapped[str] = mapped_column(Text)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(32))
    computed_at: Mapped[datetime]
    computed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class OpeningAcknowledgement(Base):
    """An admin's or statistician's acknowledgement, with a reason, of one protocol item that
    would otherwise keep the trial from opening (a placeholder dose, an unresolved review
    item)."""

    __tablename__ = "opening_acknowledgements"
    __table_args__ = (UniqueConstraint("protocol_version_id", "item", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_versions.id"))
    item: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    acknowledged_at: Mapped[datetime]
    acknowledged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


# ------------------------------------------------------------------------ audit
class AuditEvent(Base):
    """One link of an append-only, hash-chained audit chain (see :mod:`.audit`).

    Each trial's events form their own chain (``chain`` = ``"trial:<id>"``), events of no
    trial the ``"global"`` chain, and events written before per-trial chains the frozen
    ``"legacy"`` chain; ``seq`` is the position in the chain and ``id`` the global insertion
    order.  ``payload`` is the canonical JSON that is hashed: ``hash = sha256(prev_hash + "\\n" +
    payload)``; the other columns repeat payload fields for querying and are checked against it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index(None, "entity_type", "entity_id"),
        UniqueConstraint("chain", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime]
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str] = mapped_column(String(64))
    trial_id: Mapped[int | None] = mapped_column(Integer, index=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The head of one audit chain: last sequence number and hash.

    Appending to a chain locks its head row only (a trial's writes never wait for another
    trial's); the head also lets verification detect events removed from the chain's end.
    """

    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime | None]


class AuditKey(Base):
    """A public key that signs the audit trail (the private key lives outside the database).

    Recorded, through the audit trail itself, by the first commit signed with the key.
    """

    __tablename__ = "audit_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class AuditSignature(Base):
    """The signature of one committed transaction's audit events in one chain: Ed25519 over
    the chain's head ``(chain, last_seq, head_hash)`` after the transaction (see :mod:`.audit`)."""

    __tablename__ = "audit_signatures"
    __table_args__ = (UniqueConstraint("chain", "last_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(32))
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))
    signed_at: Mapped[datetime]


class IdempotencyRecord(Base):
    """The first result of a POST sent with an ``Idempotency-Key`` (per user and key).

    Claimed in the same transaction as the request's writes; the response is stored after.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class SessionActivity(Base):
    """When a token was last used (for the idle timeout); not part of the audit trail."""

    __tablename__ = "session_activity"

    token_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seen_at: Mapped[datetime]


#: tables whose rows are never updated (enforced by database triggers)
IMMUTABLE_TABLES = (
    "protocol_versions",
    "screening_results",
    "enrolments",
    "adverse_events",
    "efficacy_assessments",
    "dlt_adjudications",
    "dose_decisions",
    "committee_signoffs",
    "audit_events",
    "dlt_proposals",
    "lymphodepletion_doses",
    "audit_keys",
    "audit_signatures",
    "electronic_signatures",
    "final_selections",
    "opening_acknowledgements",
)
#: tables whose rows are never deleted (every table but the chain head)
UNDELETABLE_TABLES = (
    "sites",
    "users",
    "api_tokens",
    "trials",
    "trial_sites",
    "patients",
    *IMMUTABLE_TABLES,
)
