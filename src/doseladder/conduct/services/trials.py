"""Trials, their protocol versions and status.

Life cycle: ``draft`` → ``open`` ⇄ ``suspended`` → ``closed``.  Patients may be registered and
screened while the trial is open or suspended; enrolment needs ``open``.  The protocol is
locked once the trial opens: any change is a new :class:`ProtocolVersion` (an *amendment*) with
a reason; before opening, new versions also need a reason.  Nothing is overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doseladder.conduct import audit, plausibility
from doseladder.conduct.errors import Conflict, NotFound, ValidationError
from doseladder.conduct.models import Enrolment, Patient, ProtocolVersion, Site, Trial, TrialSite
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services.protocol_engine import Engine, canonical_content, parse_protocol

__all__ = [
    "DEFAULT_DLT_WINDOW_DAYS",
    "DEFAULT_EFFICACY_WINDOW_DAYS",
    "TrialStatus",
    "activate_site",
    "amend_protocol",
    "close_trial",
    "create_trial",
    "current_engine",
    "current_protocol",
    "engine_by_hash",
    "engine_for",
    "get_trial",
    "list_trial_sites",
    "list_trials",
    "open_trial",
    "protocol_versions",
    "resume_accrual",
    "suspend_accrual",
]

#: DLT window for designs without one (3+3, BOIN, BOIN12) unless the trial sets it
DEFAULT_DLT_WINDOW_DAYS = 28.0
#: efficacy window for efficacy designs without one (BOIN12) unless the trial sets it
DEFAULT_EFFICACY_WINDOW_DAYS = 84.0


class TrialStatus:
    """Trial status values."""

    DRAFT = "draft"
    OPEN = "open"
    SUSPENDED = "suspended"
    CLOSED = "closed"


@lru_cache(maxsize=64)
def _engine(content_sha256: str, content: str) -> Engine:
    return parse_protocol(json.loads(content))


def engine_for(version: ProtocolVersion) -> Engine:
    """The parsed protocol of a stored version (cached by content hash)."""
    return _engine(version.content_sha256, version.content)


#: parsed protocols by content hash (see :func:`current_engine`)
_ENGINES_BY_HASH: dict[str, Engine] = {}
_ENGINES_KEPT = 64


def current_engine(session: Session, trial_id: int) -> Engine:
    """The parsed latest protocol of a trial, reading only the version's content hash when
    that protocol was already parsed in this process (a stored version never changes, and
    its content is named by its SHA-256); the content is read and parsed otherwise."""
    row = session.execute(
        select(ProtocolVersion.id, ProtocolVersion.content_sha256)
        .where(ProtocolVersion.trial_id == trial_id)
        .order_by(ProtocolVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"trial #{trial_id} has no protocol")
    return engine_by_hash(session, row.id, row.content_sha256)


def engine_by_hash(session: Session, version_id: int, content_sha256: str) -> Engine:
    """The parsed protocol of the stored version ``version_id`` whose content hash is
    ``content_sha256`` (both read by the caller, e.g. with other facts in one statement).

    Protocol versions are append-only (an amendment is a new row, nothing updates a stored
    one), and the content is named by its SHA-256: the parsed protocol is kept per hash in
    this process (at most ``_ENGINES_KEPT``), so the content is read and parsed only for a
    hash not seen yet.  A new version has its own row and is found by the caller's query at
    once; the cache can never hand out an older protocol for it."""
    engine = _ENGINES_BY_HASH.get(content_sha256)
    if engine is None:
        content = session.scalar(
            select(ProtocolVersion.content).where(ProtocolVersion.id == version_id)
        )
        engine = _engine(content_sha256, str(content))
        if len(_ENGINES_BY_HASH) >= _ENGINES_KEPT:
            _ENGINES_BY_HASH.clear()
        _ENGINES_BY_HASH[content_sha256] = engine
    return engine


def current_protocol(session: Session, trial_id: int) -> ProtocolVersion:
    """The latest protocol version of a trial."""
    pv = session.scalars(
        select(ProtocolVersion)
        .where(ProtocolVersion.trial_id == trial_id)
        .order_by(ProtocolVersion.version.desc())
        .limit(1)
    ).first()
    if pv is None:
        raise NotFound(f"trial #{trial_id} has no protocol")
    return pv


def _windows(
    engine: Engine, dlt_window_days: object, efficacy_window_days: object
) -> tuple[float, float | None]:
    if engine.dlt_window is not None:
        if dlt_window_days is not None and c.number("dlt_window_days", dlt_window_days) != (
            engine.dlt_window
        ):
            raise ValidationError(
                "dlt_window_days",
                f"the protocol's design sets the DLT window to {engine.dlt_window:g} days",
            )
        dlt = engine.dlt_window
    else:
        dlt = (
            c.number("dlt_window_days", dlt_window_days)
            if dlt_window_days is not None
            else DEFAULT_DLT_WINDOW_DAYS
        )
    plausibility.window_days("dlt_window_days", dlt, plausibility.DLT_WINDOW_DAYS)
    eff: float | None = None
    if engine.uses_efficacy:
        if engine.efficacy_window is not None:
            if (
                efficacy_window_days is not None
                and c.number("efficacy_window_days", efficacy_window_days) != engine.efficacy_window
            ):
                raise ValidationError(
                    "efficacy_window_days",
                    "the protocol's design sets the efficacy window to "
                    f"{engine.efficacy_window:g} days",
                )
            eff = engine.efficacy_window
        else:
            eff = (
                c.number("efficacy_window_days", efficacy_window_days)
                if efficacy_window_days is not None
                else DEFAULT_EFFICACY_WINDOW_DAYS
            )
    elif efficacy_window_days is not None:
        raise ValidationError("efficacy_window_days", "the design does not use efficacy")
    if eff is not None:
        plausibility.window_days("efficacy_window_days", eff, plausibility.EFFICACY_WINDOW_DAYS)
    return dlt, eff


def create_trial(
    session: Session,
    actor: Actor,
    *,
    code: str,
    title: str,
    protocol: Mapping[str, Any],
    source_name: str | None = None,
    source_text: str | None = None,
    epoch: date | str | None = None,
    require_signoff_for_escalation: bool | None = None,
    dlt_window_days: float | None = None,
    efficacy_window_days: float | None = None,
    sandbox: bool = False,
) -> Trial:
    """Create a trial in ``draft`` with protocol version 1.

    Args:
        code: unique trial code (letters, digits, ``.``, ``_``, ``-``).
        title: human-readable title.
        protocol: the parsed design or protocol file (a mapping).
        source_name / source_text: the uploaded file's name and text, kept verbatim.
        epoch: day 0 of the trial clock (default: today, UTC).
        require_signoff_for_escalation: committee sign-off needed before escalating to a dose
            not yet given (default: the protocol's setting, else false).
        dlt_window_days / efficacy_window_days: assessment windows for designs that do not
            define them (defaults 28 and 84 days).
        sandbox: a sandbox trial (rehearsal, training; see :mod:`.sandbox`), fixed for good.
    """
    c.begin(session, actor, Permission.MANAGE_TRIAL)
    trial_code = c.code("code", code)
    trial_title = c.required_text("title", title, max_len=300)
    content, sha = canonical_content(protocol)
    engine = parse_protocol(json.loads(content))
    name = c.text("source_name", source_name, max_len=255, required=False)
    src = c.verbatim("source_text", source_text, max_len=1_000_000)
    dlt, eff = _windows(engine, dlt_window_days, efficacy_window_days)
    if require_signoff_for_escalation is None:
        signoff = bool(engine.signoff_before_escalation)
    else:
        signoff = c.boolean("require_signoff_for_escalation", require_signoff_for_escalation)
    is_sandbox = c.boolean("sandbox", sandbox)
    day0 = c.a_date("epoch", epoch) if epoch is not None else c.today(session)
    plausibility.trial_epoch(day0, today=c.today(session))
    if session.scalars(select(Trial.id).where(Trial.code == trial_code)).first() is not None:
        raise Conflict(f"a trial with code {trial_code!r} already exists", field="code")
    stamp = c.now(session)
    trial = Trial(
        code=trial_code,
        title=trial_title,
        status=TrialStatus.DRAFT,
        status_reason=None,
        epoch=day0,
        require_signoff_for_escalation=signoff,
        dlt_window_days=dlt,
        efficacy_window_days=eff,
        created_at=stamp,
        created_by_id=actor.user_id,
        opened_at=None,
        closed_at=None,
        sandbox=is_sandbox,
        clock_offset_days=0.0 if is_sandbox else None,
    )
    session.add(trial)
    session.flush()
    session.add(
        ProtocolVersion(
            trial_id=trial.id,
            version=1,
            kind=engine.kind,
            content=content,
            content_sha256=sha,
            source_name=name,
            source_text=src,
            reason=None,
            amendment=False,
            created_at=stamp,
            created_by_id=actor.user_id,
        )
    )
    session.flush()
    return trial


def amend_protocol(
    session: Session,
    actor: Actor,
    trial_id: int,
    protocol: Mapping[str, Any],
    *,
    reason: str,
    source_name: str | None = None,
    source_text: str | None = None,
) -> ProtocolVersion:
    """Add a new protocol version with a reason (an amendment once the trial has opened).

    The new protocol must keep every dose level already given and every indication already
    registered; a closed trial cannot be amended.  Decisions taken under the previous version
    become stale (a new decision is needed before the next enrolment).
    """
    c.begin(session, actor, Permission.MANAGE_TRIAL)
    why = c.reason_text(reason)
    trial = c.lock_trial(session, trial_id)
    if trial.status == TrialStatus.CLOSED:
        raise Conflict("the trial is closed; its protocol cannot be amended")
    content, sha = canonical_content(protocol)
    engine = parse_protocol(json.loads(content))
    old = current_protocol(session, trial.id)
    old_engine = engine_for(old)
    if engine.dlt_window is not None and engine.dlt_window != trial.dlt_window_days:
        raise ValidationError(
            "protocol.tox_window",
            f"the DLT window of the trial is {trial.dlt_window_days:g} days and cannot change",
        )
    if engine.uses_efficacy != old_engine.uses_efficacy:
        raise ValidationError(
            "protocol.design", "an amendment cannot change whether efficacy drives the design"
        )
    max_dose = session.scalar(
        select(func.max(Enrolment.dose_level)).where(Enrolment.trial_id == trial.id)
    )
    if max_dose is not None and max_dose > engine.num_doses:
        raise ValidationError(
            "protocol.num_doses",
            f"dose level {max_dose} has been given; the protocol must keep at least {max_dose} "
            "dose levels",
        )
    used = set(
        session.scalars(select(Patient.indication).where(Patient.trial_id == trial.id).distinct())
    )
    for ind in sorted(x for x in used if x is not None):
        if ind not in engine.plan.indications:
            raise ValidationError(
                "protocol.indications", f"patients are registered for indication {ind!r}"
            )
    if None in used and engine.plan.indications:
        raise ValidationError(
            "protocol.indications", "patients are registered without an indication"
        )
    pv = ProtocolVersion(
        trial_id=trial.id,
        version=old.version + 1,
        kind=engine.kind,
        content=content,
        content_sha256=sha,
        source_name=c.text("source_name", source_name, max_len=255, required=False),
        source_text=c.verbatim("source_text", source_text, max_len=1_000_000),
        reason=why,
        amendment=trial.status != TrialStatus.DRAFT,
        created_at=c.now(session),
        created_by_id=actor.user_id,
    )
    with audit.reason(session, why):
        session.add(pv)
    return pv


def _transition(
    session: Session,
    actor: Actor,
    trial_id: int,
    *,
    permission: Permission,
    allowed_from: tuple[str, ...],
    to: str,
    reason: str | None,
    reason_required: bool = True,
    guard: Callable[[Session, Trial], None] | None = None,
) -> Trial:
    c.begin(session, actor, permission)
    why = c.reason_text(reason) if reason_required or reason is not None else None
    trial = c.lock_trial(session, trial_id)
    if trial.status not in allowed_from:
        raise Conflict(f"the trial is {trial.status}; cannot change it to {to}")
    if guard is not None:
        guard(session, trial)
    with audit.reason(session, why):
        trial.status = to
        trial.status_reason = why
        if to == TrialStatus.OPEN and trial.opened_at is None:
            trial.opened_at = c.now(session)
        if to == TrialStatus.CLOSED:
            trial.closed_at = c.now(session)
    return trial


def open_trial(
    session: Session, actor: Actor, trial_id: int, *, reason: str | None = None
) -> Trial:
    """Open a draft trial for enrolment (locks the protocol: later changes are amendments).

    Refused (:class:`Conflict`, nothing changed) while the current protocol has placeholder
    doses or unresolved review items that are neither resolved by an amendment nor acknowledged
    by an administrator and a statistician (:mod:`.opening_guard`)."""
    from doseladder.conduct.services import opening_guard  # it reads this module's protocols

    return _transition(
        session,
        actor,
        trial_id,
        permission=Permission.MANAGE_TRIAL,
        allowed_from=(TrialStatus.DRAFT,),
        to=TrialStatus.OPEN,
        reason=reason,
        reason_required=False,
        guard=opening_guard.check_can_open,
    )


def suspend_accrual(session: Session, actor: Actor, trial_id: int, *, reason: str) -> Trial:
    """Suspend accrual (no enrolment until resumed); data entry continues."""
    return _transition(
        session,
        actor,
        trial_id,
        permission=Permission.SUSPEND_ACCRUAL,
        allowed_from=(TrialStatus.OPEN,),
        to=TrialStatus.SUSPENDED,
        reason=reason,
    )


def resume_accrual(session: Session, actor: Actor, trial_id: int, *, reason: str) -> Trial:
    """Resume accrual of a suspended trial."""
    return _transition(
        session,
        actor,
        trial_id,
        permission=Permission.SUSPEND_ACCRUAL,
        allowed_from=(TrialStatus.SUSPENDED,),
        to=TrialStatus.OPEN,
        reason=reason,
    )


def close_trial(session: Session, actor: Actor, trial_id: int, *, reason: str) -> Trial:
    """Close the trial (final: no enrolment, no amendment)."""
    return _transition(
        session,
        actor,
        trial_id,
        permission=Permission.MANAGE_TRIAL,
        allowed_from=(TrialStatus.DRAFT, TrialStatus.OPEN, TrialStatus.SUSPENDED),
        to=TrialStatus.CLOSED,
        reason=reason,
    )


def activate_site(session: Session, actor: Actor, trial_id: int, site_id: int) -> TrialSite:
    """Let a site take part in a trial (register and enrol patients)."""
    c.begin(session, actor, Permission.MANAGE_TRIAL)
    trial = c.lock_trial(session, trial_id)
    site = c.ref(session, Site, site_id, "site_id")
    if not site.active:
        raise Conflict(f"site {site.code} is inactive")
    existing = session.scalars(
        select(TrialSite).where(TrialSite.trial_id == trial.id, TrialSite.site_id == site.id)
    ).first()
    if existing is not None:
        raise Conflict(f"site {site.code} already takes part in trial {trial.code}")
    if trial.status == TrialStatus.CLOSED:
        raise Conflict("the trial is closed")
    ts = TrialSite(
        trial_id=trial.id,
        site_id=site.id,
        activated_at=c.now(session),
        activated_by_id=actor.user_id,
    )
    session.add(ts)
    session.flush()
    return ts


def get_trial(session: Session, actor: Actor, trial_id: int) -> Trial:
    """A trial visible to ``actor`` (site-bound users see trials their site takes part in)."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    trial = c.get(session, Trial, trial_id)
    if actor.site_id is not None and trial.id not in _site_trials(session, actor.site_id):
        raise NotFound(f"trial #{trial_id} not found")
    return trial


def _site_trials(session: Session, site_id: int) -> set[int]:
    return set(session.scalars(select(TrialSite.trial_id).where(TrialSite.site_id == site_id)))


def list_trials(session: Session, actor: Actor) -> list[Trial]:
    """Trials visible to ``actor``, by id."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    trials = list(session.scalars(select(Trial).order_by(Trial.id)))
    if actor.site_id is not None:
        mine = _site_trials(session, actor.site_id)
        trials = [t for t in trials if t.id in mine]
    return trials


def list_trial_sites(session: Session, actor: Actor, trial_id: int) -> list[Site]:
    """The sites taking part in a trial."""
    get_trial(session, actor, trial_id)
    return list(
        session.scalars(
            select(Site)
            .join(TrialSite, TrialSite.site_id == Site.id)
            .where(TrialSite.trial_id == trial_id)
            .order_by(Site.code)
        )
    )


def protocol_versions(session: Session, actor: Actor, trial_id: int) -> list[ProtocolVersion]:
    """Every protocol version of a trial, oldest first."""
    get_trial(session, actor, trial_id)
    return list(
        session.scalars(
            select(ProtocolVersion)
            .where(ProtocolVersion.trial_id == trial_id)
            .order_by(ProtocolVersion.version)
        )
    )
