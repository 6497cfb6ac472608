"""Shared plumbing of the services: permission checks, clock, locks, validation, versioning.

Every service function takes the session first and the acting user second, checks the
permission before touching anything, and never commits: the caller's transaction
(:meth:`doseladder.conduct.db.Database.transaction` / ``run``) commits the change together with
its audit records, or rolls everything back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session, SessionTransaction

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, NotFound, ValidationError
from doseladder.conduct.models import Base, Patient, Trial, Versioned
from doseladder.conduct.security import Actor, Permission, check_site, require

__all__ = [
    "PatientInTrial",
    "TrialClock",
    "begin",
    "clock_now",
    "get",
    "latest_date",
    "lock_patient",
    "lock_trial",
    "now",
    "supersede",
    "today",
    "trial_now",
]

M = TypeVar("M", bound=Base)
V = TypeVar("V", bound=Versioned)

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def begin(session: Session, actor: Actor, permission: Permission) -> None:
    """Check ``permission`` and attribute the session's changes to ``actor``."""
    require(actor, permission)
    session.info["actor"] = actor


def now(session: Session) -> datetime:
    """The service clock (timezone-aware UTC)."""
    return clock_now(session.info.get("clock"))


def clock_now(clock: Callable[[], datetime] | None) -> datetime:
    """ "Now" on ``clock`` (``None``: the system clock), timezone-aware UTC."""
    value: datetime = clock() if clock is not None else datetime.now(UTC)
    return value.astimezone(UTC)


def today(session: Session) -> date:
    """Today's date (UTC) on the service clock."""
    return now(session).date()


class TrialClock(Protocol):
    """What :func:`trial_now` reads of a trial (a :class:`Trial` or a light row)."""

    @property
    def sandbox(self) -> bool | None: ...

    @property
    def clock_offset_days(self) -> float | None: ...


def trial_now(session: Session, trial: TrialClock) -> datetime:
    """The trial's current time: the one clock every service uses for a trial's "now" (the
    decision time, the latest date a clinical record may carry).

    A real trial runs on the service clock (:func:`now`).  A sandbox trial runs
    ``clock_offset_days`` ahead of it once an administrator has advanced its clock
    (:func:`doseladder.conduct.services.sandbox.advance_clock`).  Record timestamps
    (``entered_at``, ``recorded_at``, the audit trail) always stay on the service clock.
    """
    base = now(session)
    if trial.sandbox and trial.clock_offset_days:
        return base + timedelta(days=trial.clock_offset_days)
    return base


def latest_date(session: Session, trial: TrialClock | None = None) -> date:
    """The latest calendar date a clinical record may carry: tomorrow in UTC, because it is
    already "today" at sites east of Greenwich (up to UTC+14) while it is still yesterday in
    UTC -- on the trial's clock (:func:`trial_now`) when the trial is given.  The core never
    sees an event after the decision time (see ``decisions``)."""
    day = trial_now(session, trial).date() if trial is not None else today(session)
    return day + timedelta(days=1)


def get(session: Session, model: type[M], ident: object, what: str | None = None) -> M:
    """The row of ``model`` with primary key ``ident`` (:class:`NotFound` otherwise)."""
    name = what or model.__tablename__.rstrip("s").replace("_", " ")
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise ValidationError(
            f"{name.replace(' ', '_')}_id", f"must be an integer id, got {ident!r}"
        )
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound(f"{name} #{ident} not found")
    return obj


def ref(session: Session, model: type[M], ident: object, field: str) -> M:
    """A row referenced by an input field (:class:`ValidationError` naming the field if absent)."""
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise ValidationError(field, f"must be an integer id, got {ident!r}")
    obj = session.get(model, ident)
    if obj is None:
        raise ValidationError(
            field, f"no {model.__tablename__.rstrip('s').replace('_', ' ')} #{ident}"
        )
    return obj


_LOCKED_TRIALS = "locked_trials"


@event.listens_for(Session, "after_transaction_end")
def _release_locked_trials(session: Session, transaction: SessionTransaction) -> None:
    """Drop the references :func:`lock_trial` keeps when the transaction (and its locks) ends."""
    if transaction.parent is None:
        session.info.pop(_LOCKED_TRIALS, None)


def lock_trial(session: Session, trial_id: object) -> Trial:
    """The trial row, locked until the end of the transaction.

    PostgreSQL: ``SELECT … FOR NO KEY UPDATE`` (does not block foreign-key checks of other
    transactions, only other lockers).  SQLite: write transactions are already serialised by
    ``BEGIN IMMEDIATE``.  Every service that changes a trial's clinical data or decisions takes
    this lock first, so enrolments, outcomes and decisions of one trial are serialised.
    """
    if isinstance(trial_id, bool) or not isinstance(trial_id, int):
        raise ValidationError("trial_id", f"must be an integer id, got {trial_id!r}")
    trial = session.scalars(
        select(Trial)
        .where(Trial.id == trial_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if trial is None:
        raise NotFound(f"trial #{trial_id} not found")
    # The session's identity map holds objects weakly: without this reference the locked row
    # would be dropped and every later ``get(session, Trial, id)`` of the transaction would
    # read it again from the database (three extra round trips per adverse-event write).
    session.info.setdefault(_LOCKED_TRIALS, {})[trial_id] = trial
    return trial


#: the patient and its trial, the trial row locked (:func:`patient_for`); built once, so a
#: write does not construct the statement and its cache key again
_PATIENT_LOCKING_TRIAL = (
    select(Patient, Trial)
    .join(Trial, Trial.id == Patient.trial_id)
    .where(Patient.id == bindparam("patient_id"))
    .with_for_update(of=Trial, key_share=True)
    .execution_options(populate_existing=True)
)


class PatientInTrial(NamedTuple):
    """The columns an outcome write reads of a patient and of its trial (:func:`lock_patient`):
    a light row, not ORM objects."""

    id: int
    trial_id: int
    site_id: int
    age: int | None
    registered_at: datetime
    epoch: date
    sandbox: bool | None
    clock_offset_days: float | None


_P, _T = Patient.__table__.c, Trial.__table__.c
#: :class:`PatientInTrial` of a patient, the trial row locked as :data:`_PATIENT_LOCKING_TRIAL`
_PATIENT_IN_LOCKED_TRIAL = (
    select(_P.id, _P.trial_id, _P.site_id, _P.age, _P.registered_at)
    .add_columns(_T.epoch, _T.sandbox, _T.clock_offset_days)
    .join_from(Patient.__table__, Trial.__table__, _T.id == _P.trial_id)
    .where(_P.id == bindparam("patient_id"))
    .with_for_update(of=Trial.__table__, key_share=True)
)


def _patient_id(patient_id: object) -> int:
    if isinstance(patient_id, bool) or not isinstance(patient_id, int):
        raise ValidationError("patient_id", f"must be an integer id, got {patient_id!r}")
    return patient_id


def lock_patient(session: Session, actor: Actor, patient_id: object) -> PatientInTrial:
    """:func:`patient_for` with ``lock`` for a write that needs only the patient's and its
    trial's columns of :class:`PatientInTrial`: the same checks and the same trial row lock
    in one statement, without loading ORM objects (half the CPU of that statement)."""
    row = (
        session.connection()
        .execute(_PATIENT_IN_LOCKED_TRIAL, {"patient_id": _patient_id(patient_id)})
        .one_or_none()
    )
    if row is None:
        raise NotFound(f"patient #{patient_id} not found")
    patient = PatientInTrial(*row)
    check_site(actor, patient.site_id)
    return patient


def patient_for(session: Session, actor: Actor, patient_id: object, *, lock: bool) -> Patient:
    """The patient (site isolation checked), locking its trial when ``lock``.

    With ``lock``, the patient is read and its trial row locked (as :func:`lock_trial`) in one
    statement: one round trip less on every write about a patient (the trial lock must be
    taken anyway, and a refused request rolls back, releasing it)."""
    if not lock:
        patient = get(session, Patient, patient_id)
        check_site(actor, patient.site_id)
        return patient
    row = session.execute(
        _PATIENT_LOCKING_TRIAL, {"patient_id": _patient_id(patient_id)}
    ).one_or_none()
    if row is None:
        raise NotFound(f"patient #{patient_id} not found")
    patient, trial = row
    check_site(actor, patient.site_id)
    session.info.setdefault(_LOCKED_TRIALS, {})[trial.id] = trial
    return patient


# ------------------------------------------------------------------ validation
def text(
    field: str, value: object, *, max_len: int, required: bool = True, min_len: int = 1
) -> str | None:
    """A stripped string of at most ``max_len`` characters (``None`` allowed if optional)."""
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"must be text, got {type(value).__name__}")
    value = value.strip()
    if not value:
        if required:
            raise ValidationError(field, "must not be empty")
        return None
    if len(value) < min_len:
        raise ValidationError(field, f"must have at least {min_len} characters")
    if len(value) > max_len:
        raise ValidationError(field, f"must have at most {max_len} characters")
    return value


def verbatim(field: str, value: object, *, max_len: int) -> str | None:
    """Optional text kept exactly as given (uploaded files)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"must be text, got {type(value).__name__}")
    if len(value) > max_len:
        raise ValidationError(field, f"must have at most {max_len} characters")
    return value


def required_text(field: str, value: object, *, max_len: int, min_len: int = 1) -> str:
    """:func:`text` for a required field."""
    out = text(field, value, max_len=max_len, required=True, min_len=min_len)
    assert out is not None
    return out


def reason_text(value: object, field: str = "reason") -> str:
    """A required reason (at least 3 characters)."""
    return required_text(field, value, max_len=2000, min_len=3)


def code(field: str, value: object) -> str:
    """An identifier code: letters, digits, ``.``, ``_``, ``-`` (1-64 characters)."""
    if not isinstance(value, str) or not _CODE.match(value.strip()):
        raise ValidationError(
            field, "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value.strip()


def boolean(field: str, value: object) -> bool:
    """A real boolean (``1``/``"yes"`` are refused: ambiguous input is an error)."""
    if not isinstance(value, bool):
        raise ValidationError(field, f"must be true or false, got {value!r}")
    return value


def integer(field: str, value: object, lo: int, hi: int | None = None) -> int:
    """An integer in ``lo..hi``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValidationError(field, f"must be in {rng}, got {value}")
    return value


def number(field: str, value: object, *, lo: float = 0.0, open_lo: bool = True) -> float:
    """A finite number above ``lo``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValidationError(field, f"must be a number, got {value!r}")
    v = float(value)
    if v in (float("inf"), float("-inf")) or (v <= lo if open_lo else v < lo):
        raise ValidationError(field, f"must be a finite number {'>' if open_lo else '>='} {lo:g}")
    return v


def a_date(
    field: str,
    value: object,
    *,
    not_after: date | None = None,
    not_before: date | None = None,
    before_what: str = "",
) -> date:
    """A calendar date (``date`` or ISO ``YYYY-MM-DD`` text) within the given bounds."""
    if isinstance(value, datetime):
        raise ValidationError(field, "must be a date, not a timestamp")
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(field, f"must be a date YYYY-MM-DD, got {value!r}") from None
    if not isinstance(value, date):
        raise ValidationError(field, f"must be a date YYYY-MM-DD, got {value!r}")
    if not_after is not None and value > not_after:
        raise ValidationError(field, f"{value.isoformat()} is in the future")
    if not_before is not None and value < not_before:
        raise ValidationError(
            field, f"{value.isoformat()} is before {before_what or not_before.isoformat()}"
        )
    return value


def one_of(
    field: str, value: object, allowed: Sequence[str], *, required: bool = True
) -> str | None:
    """One of ``allowed`` (``None`` allowed if optional)."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(field, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def json_mapping(field: str, value: object) -> dict[str, Any] | None:
    """A JSON-serialisable mapping with string keys (or ``None``)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(field, "must be a mapping of names to values")
    try:
        out = audit.jsonable(dict(value))
        text = audit.canonical_json(out)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, f"must contain only JSON values ({exc})") from None
    if len(text) > 20_000:
        raise ValidationError(field, "is too large (over 20000 characters as JSON)")
    assert isinstance(out, dict)
    return out


def unknown_keys(field: str, given: Iterable[str], allowed: Iterable[str]) -> None:
    """Refuse keys outside ``allowed`` (naming the allowed ones)."""
    allowed_set = set(allowed)
    extra = sorted(set(given) - allowed_set)
    if extra:
        raise ValidationError(
            f"{field}.{extra[0]}", f"cannot be changed; allowed: {', '.join(sorted(allowed_set))}"
        )


# ------------------------------------------------------------------ versioning
def is_superseded(session: Session, obj: Versioned) -> Versioned | None:
    """The version that supersedes ``obj`` (``None`` if ``obj`` is current)."""
    model = type(obj)
    return session.scalars(select(model).where(model.supersedes_id == obj.id)).first()


def supersede(
    session: Session,
    actor: Actor,
    old: V,
    changes: Mapping[str, Any],
    *,
    reason: str,
    voided: bool = False,
) -> V:
    """Insert the next version of ``old`` with ``changes`` applied (the old row is untouched).

    Raises :class:`Conflict` if ``old`` was already superseded (the database's unique
    ``supersedes_id`` also refuses a concurrent second correction).
    """
    newer = is_superseded(session, old)
    if newer is not None:
        raise Conflict(
            f"{old.__tablename__.rstrip('s').replace('_', ' ')} #{old.id} was already "
            f"corrected by version #{newer.id}; correct the current version"
        )
    if old.voided:
        raise Conflict(f"record #{old.id} is void; it cannot be corrected")
    model = type(old)
    skip = {
        "id",
        "root_id",
        "supersedes_id",
        "version",
        "voided",
        "change_reason",
        "entered_at",
        "entered_by_id",
    }
    values = {c.key: getattr(old, c.key) for c in model.__table__.columns if c.key not in skip}
    values.update(changes)
    new = model(
        **values,
        root_id=old.lineage_id,
        supersedes_id=old.id,
        version=old.version + 1,
        voided=voided,
        change_reason=reason,
        entered_at=now(session),
        entered_by_id=actor.user_id,
    )
    with audit.reason(session, reason):
        session.add(new)
    return new


def current(rows: Iterable[V], *, include_void: bool = False) -> list[V]:
    """The current (unsuperseded) version of each lineage among ``rows`` (all versions of the
    lineages must be included), void ones dropped unless ``include_void``."""
    rows = list(rows)
    superseded = {r.supersedes_id for r in rows if r.supersedes_id is not None}
    return [r for r in rows if r.id not in superseded and (include_void or not r.voided)]


def as_of(rows: Iterable[V], when: datetime | None) -> list[V]:
    """:func:`current` as the data stood at ``when`` (versions entered later are ignored)."""
    if when is None:
        return current(rows)
    return current([r for r in rows if r.entered_at <= when])
