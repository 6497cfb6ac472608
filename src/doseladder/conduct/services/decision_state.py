"""From the stored records to the core's trial state (the conduct side of ascertainment).

Every current (not superseded, not void) enrolment becomes one core
:class:`~doseladder.core.state.Patient`, in order of enrolment: ``entry_time`` = days from the
trial epoch to the infusion date (a patient not yet infused enters at the decision time), and
toxicity / efficacy as :mod:`doseladder.core.ascertainment` says from the patient's records --
this module only gathers them (days from infusion) and asks.  A ``backfill`` enrolment
(``Enrolment.cohort``) becomes a core patient with ``backfill=True``; for a design with backfill
(BF-BOIN, whose condition C1 needs a visible response) efficacy is ascertained as well, over the
efficacy window or, without one, the DLT window (bfboin: a response is visible at the end of
the DLT window).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import Enum
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import ValidationError
from doseladder.conduct.models import (
    AdverseEvent,
    DLTAdjudication,
    EfficacyAssessment,
    Enrolment,
    Trial,
)
from doseladder.conduct.services import _common as c
from doseladder.conduct.services.protocol_engine import Engine
from doseladder.core.ascertainment import Ascertained, ascertain_efficacy, ascertain_toxicity
from doseladder.core.errors import InputError
from doseladder.core.rules.cohort_slots import backfill_cap
from doseladder.core.state import Patient as CorePatient
from doseladder.core.state import TrialState

__all__ = [
    "BuiltState",
    "TrialRecords",
    "build_state",
    "date_day",
    "load_records",
    "may_change_records",
    "plain",
    "sha256_text",
    "state_at",
    "state_from_inputs",
    "trial_day",
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


def sha256_text(text: str) -> str:
    """SHA-256 hex digest of a text (UTF-8)."""
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
    """The core state built from the database, with the enrolment behind each patient.

    ``outcomes``: per patient, the toxicity and efficacy ascertainment (why pending / known).
    """

    state: TrialState
    refs: tuple[int, ...]
    now_day: float
    decision_time: datetime
    outcomes: tuple[tuple[Ascertained, Ascertained | None], ...] = ()

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
                    # only for backfill patients: inputs recorded before backfill keep their form
                    **({"backfill": True} if p.backfill else {}),
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
    lineages_where: Callable[[Any], ColumnElement[bool]] | None = None,
) -> list[Any]:
    """Every version of a trial's rows, in id order.

    ``columns``: load only these columns (plus the versioning ones and ``lineage_id``) as
    light rows with attribute access instead of ORM objects -- much faster for the many
    outcome records a recommendation reads.  ``lineages_where``: keep only the versions of the
    lineages (a record and its corrections) of which some version meets that condition (a SQL
    condition on ``model``, applied by the database: the other lineages are never sent);
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
    if lineages_where is not None:
        lineage_of = func.coalesce(model.root_id, model.id)
        wanted = select(lineage_of).where(model.trial_id == trial_id, lineages_where(model))
        query = query.where(lineage_of.in_(wanted))
    return list(session.scalars(query)) if columns is None else list(session.execute(query).all())


#: the tables :func:`load_records` reads
RECORD_TABLES = frozenset(
    {"enrolments", "adverse_events", "dlt_adjudications", "efficacy_assessments"}
)
#: the tables :func:`load_records` reads only in part, with the flag columns that select what
#: it reads: the whole lineages of which some version has one of these columns true
FLAGGED_LINEAGES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"adverse_events": ("dlt_candidate",), "efficacy_assessments": ("responder", "final")}
)


def _flagged(model: Any) -> ColumnElement[bool]:
    """The SQL condition of :data:`FLAGGED_LINEAGES` on ``model``'s rows."""
    return or_(*(getattr(model, col).is_(True) for col in FLAGGED_LINEAGES[model.__tablename__]))


def may_change_records(table: str, action: str, new: Mapping[str, Any] | None) -> bool:
    """Whether a change of a row of ``table`` (``action`` ``create`` / ``update`` / other, and
    the row's values after it as the audit trail records them, ``None`` if not known) may change
    what :func:`load_records` reads.

    Conservative: ``False`` only for a table it does not read, or for a new lineage (created,
    no ``root_id`` / ``supersedes_id``, not void) of a table it reads in part
    (:data:`FLAGGED_LINEAGES`) whose row has none of the flags true -- a lineage it never
    loads.  Any correction, void, update or other event of a table it reads, or a row whose
    values are not all known, may change them.
    """
    if table not in RECORD_TABLES:
        return False
    flags = FLAGGED_LINEAGES.get(table)
    if flags is None or action != "create" or new is None:
        return True
    known = ("root_id", "supersedes_id", "voided", *flags)
    if any(col not in new for col in known):
        return True
    new_lineage = new["root_id"] is None and new["supersedes_id"] is None
    return not (new_lineage and new["voided"] is False and all(new[f] is not True for f in flags))


@dataclass(frozen=True, slots=True)
class TrialRecords:
    """The stored records a trial's core state is built from (read once, evaluated at any
    decision time by :func:`state_at`): current enrolments in order, and the versions of the
    possible-DLT adverse events, DLT adjudications and responder/final efficacy records."""

    enrolments: tuple[Any, ...]
    adverse_events: tuple[Any, ...]
    adjudications: tuple[Any, ...]
    efficacy: tuple[Any, ...]


def load_records(session: Session, trial: Trial, *, as_of: datetime | None = None) -> TrialRecords:
    """The records of :class:`TrialRecords` (data as of ``as_of``, default all)."""
    # light column rows (immutable, usable after the session closed: they may be cached)
    enrolments = sorted(
        c.as_of(
            _rows(
                session,
                Enrolment,
                trial.id,
                columns=(
                    "patient_id",
                    "dose_level",
                    "indication",
                    "infusion_date",
                    "enrolled_at",
                    "cohort",
                ),
            ),
            as_of,
        ),
        key=lambda e: (e.enrolled_at, e.lineage_id),
    )
    # only adverse events ever flagged as possible DLTs matter (awaiting adjudication), and only
    # efficacy records ever marked responder or final: load just those lineages
    # (FLAGGED_LINEAGES; may_change_records says which writes can change what is read here)
    aes = c.as_of(
        _rows(
            session,
            AdverseEvent,
            trial.id,
            columns=("patient_id", "dlt_candidate"),
            lineages_where=_flagged,
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
            lineages_where=_flagged,
        ),
        as_of,
    )
    return TrialRecords(tuple(enrolments), tuple(aes), tuple(adjs), tuple(effs))


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
    records = load_records(session, trial, as_of=as_of)
    return state_at(trial, engine, records, now=now, eliminated=eliminated)


def state_at(
    trial: Trial,
    engine: Engine,
    records: TrialRecords,
    *,
    now: datetime,
    eliminated: frozenset[int] = frozenset(),
) -> BuiltState:
    """The core state of a trial at ``now`` from its loaded records (no database access)."""
    now_day = trial_day(trial, now)
    dlt_window = float(trial.dlt_window_days or 0.0)
    eff_window = float(trial.efficacy_window_days or 0.0)
    backfill_design = backfill_cap(engine.plan) is not None
    uses_efficacy = engine.uses_efficacy or backfill_design
    if backfill_design and not trial.efficacy_window_days:
        eff_window = dlt_window
    enrolments = records.enrolments
    aes, adjs, effs = records.adverse_events, records.adjudications, records.efficacy
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
    outcomes: list[tuple[Ascertained, Ascertained | None]] = []
    for enr in enrolments:
        infused = enr.infusion_date
        # dates may run up to a day ahead of UTC (sites east of Greenwich): never let an
        # entry or an event fall after the decision time
        entry = date_day(trial, infused) if infused is not None else now_day
        entry = min(entry, now_day)
        followup = now_day - entry
        # ---- toxicity: gather the records, the core decides known / pending
        p_adjs = adj_by_patient.get(enr.patient_id, [])
        adjudicated = {a.adverse_event_id for a in p_adjs if a.adverse_event_id is not None}
        tox_out = ascertain_toxicity(
            infused=infused is not None,
            followup=followup,
            window=dlt_window,
            dlt_onsets=[
                (a.onset_date - infused).days if (a.onset_date and infused) else 0
                for a in p_adjs
                if a.is_dlt
            ],
            awaiting_adjudication=sum(
                1
                for ae in ae_by_patient.get(enr.patient_id, [])
                if ae.dlt_candidate and ae.lineage_id not in adjudicated
            ),
            window_completed=any(a.adverse_event_id is None and not a.is_dlt for a in p_adjs),
        )
        tox, tox_time = tox_out.value, tox_out.time
        # ---- efficacy
        eff: bool | None = False
        eff_time: float | None = None
        eff_out: Ascertained | None = None
        if uses_efficacy:
            assessments = eff_by_patient.get(enr.patient_id, [])
            eff_out = ascertain_efficacy(
                infused=infused is not None,
                followup=followup,
                window=eff_window,
                response_days=[
                    (a.assessed_on - infused).days
                    for a in assessments
                    if infused is not None and a.responder
                ],
                final_non_response=any(a.final and not a.responder for a in assessments),
            )
            eff, eff_time = eff_out.value, eff_out.time
        outcomes.append((tox_out, eff_out))
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
                    backfill=enr.cohort == "backfill",
                )
            )
        except InputError as exc:  # pragma: no cover - guarded by the services' validation
            raise ValidationError(f"enrolment #{enr.id}.{exc.field}", exc.reason) from None
        refs.append(enr.lineage_id)
    try:
        state = TrialState(engine.num_doses, tuple(patients), eliminated=eliminated)
    except InputError as exc:
        raise ValidationError(exc.field, exc.reason) from None
    return BuiltState(state, tuple(refs), now_day, now, tuple(outcomes))


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
            backfill=bool(p.get("backfill", False)),
        )
        for p in st["patients"]
    )
    return TrialState(st["num_doses"], patients, eliminated=frozenset(st["eliminated"]))
