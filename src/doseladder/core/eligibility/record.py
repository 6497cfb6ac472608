"""The patient record screened against a protocol's criteria (typed, frozen).

Everything numeric is a typed :class:`~doseladder.core.clinical.units.Quantity` (the unit is
part of the value, checked against the measure's dimension when the record is built), every
item has a date and a ``source`` (the JSON path or FHIR resource it came from) so a screening
result can say exactly which values it used.  :mod:`doseladder.io.patient_record` builds a
record from the doseladder patient JSON or from a FHIR R4 Bundle.

Open world: a record lists what is *known*.  The absence of a medication, condition or event
does not prove that the patient never had it, unless the record says its history of that kind
is complete (``history_complete``) or carries an explicit negative (a FHIR
``MedicationStatement.status = not-taken``, a ``refuted`` condition).  Otherwise a criterion
that needs the absence is *not evaluable*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal

from doseladder.core.clinical.units import Dimension, Quantity
from doseladder.core.eligibility.dates import completed_years
from doseladder.core.eligibility.vocab import MEASURES, SEROLOGY_TESTS
from doseladder.core.errors import InputError

__all__ = [
    "HISTORY_KINDS",
    "Attestation",
    "BilagRecord",
    "ClassificationRecord",
    "ConditionRecord",
    "EventRecord",
    "MedicationRecord",
    "Observation",
    "PatientRecord",
    "ReviewDecision",
    "ScoreRecord",
    "SerologyResult",
    "SledaiRecord",
]

HISTORY_KINDS: tuple[str, ...] = ("medications", "conditions", "events")
"""Kinds of history a record may declare complete (``history_complete``)."""


def _d(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


@dataclass(frozen=True, slots=True)
class Observation:
    """One numeric result of a measure (:data:`~.vocab.MEASURES`).

    ``uln`` / ``lln`` are the reporting laboratory's reference limits (FHIR
    ``referenceRange.high`` / ``low``), needed by "× ULN" criteria.
    """

    measure: str
    value: Quantity
    date: dt.date | None
    uln: Quantity | None = None
    lln: Quantity | None = None
    source: str = ""
    code: str | None = None

    def __post_init__(self) -> None:
        m = MEASURES.get(self.measure)
        if m is None:
            raise InputError("measure", f"unknown measure {self.measure!r}")
        for name, q in (("value", self.value), ("uln", self.uln), ("lln", self.lln)):
            if q is None:
                continue
            if not isinstance(q, Quantity) or q.dimension is not m.dimension:
                raise InputError(name, f"{m.label} needs a {m.dimension} quantity, got {q!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "value": str(self.value),
            "date": _d(self.date),
            "uln": None if self.uln is None else str(self.uln),
            "lln": None if self.lln is None else str(self.lln),
            "source": self.source,
            "code": self.code,
        }


@dataclass(frozen=True, slots=True)
class SerologyResult:
    """A qualitative test (:data:`~.vocab.SEROLOGY_TESTS`): positive, negative or unknown."""

    test: str
    positive: bool | None
    date: dt.date | None
    titer: int | None = None
    detail: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.test not in SEROLOGY_TESTS:
            raise InputError("test", f"unknown serology test {self.test!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "positive": self.positive,
            "date": _d(self.date),
            "titer": self.titer,
            "detail": self.detail,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class ConditionRecord:
    """A diagnosis or history item.  ``key`` is a :data:`~.vocab.CONDITIONS` key when known;
    ``refuted`` records an explicit "does not have"."""

    key: str | None
    text: str
    onset: dt.date | None = None
    abated: dt.date | None = None
    active: bool | None = None
    refuted: bool = False
    codes: tuple[str, ...] = ()
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "text": self.text,
            "onset": _d(self.onset),
            "abated": _d(self.abated),
            "active": self.active,
            "refuted": self.refuted,
            "codes": list(self.codes),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class MedicationRecord:
    """A medication (or vaccine, cell product) with its period and daily dose.

    ``start``/``end`` bound the period it was taken (``end=None`` with ``ongoing=True``: still
    taken; ``end=None`` and not ongoing: end unknown).  ``dose_per_day`` is a drug-mass
    quantity per day when known.  ``not_taken`` is an explicit negative.
    """

    name: str | None
    text: str
    classes: frozenset[str] = frozenset()
    dose_per_day: Quantity | None = None
    route: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    ongoing: bool = False
    not_taken: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        q = self.dose_per_day
        if q is not None and (
            not isinstance(q, Quantity) or q.dimension is not Dimension.DRUG_MASS
        ):
            raise InputError("dose_per_day", f"must be a drug-mass quantity per day, got {q!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "text": self.text,
            "classes": sorted(self.classes),
            "dose_per_day": None if self.dose_per_day is None else str(self.dose_per_day),
            "route": self.route,
            "start": _d(self.start),
            "end": _d(self.end),
            "ongoing": self.ongoing,
            "not_taken": self.not_taken,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A procedure or event (:data:`~.vocab.EVENT_KINDS`) with its date(s)."""

    kind: str
    date: dt.date | None
    end: dt.date | None = None
    detail: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "date": _d(self.date),
            "end": _d(self.end),
            "detail": self.detail,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    """A reported score (:data:`~.vocab.SCORES`), exact."""

    instrument: str
    value: Fraction
    date: dt.date | None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        v = self.value
        return {
            "instrument": self.instrument,
            "value": int(v) if v.denominator == 1 else float(v),
            "date": _d(self.date),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class SledaiRecord:
    """SLEDAI descriptor findings of one visit (scored by :mod:`~doseladder.core.clinical.sledai`).

    ``findings``: descriptor → ``True`` / ``False`` / ``None`` (unknown); with ``rest_absent``
    the descriptors not listed were assessed and absent.
    """

    date: dt.date | None
    findings: Mapping[str, bool | None]
    rest_absent: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", MappingProxyType(dict(self.findings)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": _d(self.date),
            "findings": dict(self.findings),
            "rest_absent": self.rest_absent,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class BilagRecord:
    """BILAG system grades of one visit (``scheme``: see :mod:`doseladder.core.clinical.bilag`)."""

    date: dt.date | None
    grades: Mapping[str, str | None]
    scheme: str = "BILAG-2004"
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "grades", MappingProxyType(dict(self.grades)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": _d(self.date),
            "grades": dict(self.grades),
            "scheme": self.scheme,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class ClassificationRecord:
    """Data for a classification (:data:`~.vocab.CLASSIFICATIONS`).

    Either the criteria (computed by :mod:`~doseladder.core.clinical.classification`):
    ``criteria`` (+ ``ana_ge_1_80`` for 2019 EULAR/ACR; IIM items + ``age_at_onset_years`` +
    ``muscle_biopsy``), or a recorded result ``met`` (an investigator's documented
    classification), or for IIM a recorded ``score``.
    """

    name: str
    met: bool | None = None
    criteria: Mapping[str, bool | None] | None = None
    rest_absent: bool = False
    ana_ge_1_80: bool | None = None
    age_at_onset_years: Fraction | None = None
    muscle_biopsy: bool | None = None
    better_explanation: bool | None = False
    score: Fraction | None = None
    date: dt.date | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.criteria is not None:
            object.__setattr__(self, "criteria", MappingProxyType(dict(self.criteria)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "met": self.met,
            "criteria": None if self.criteria is None else dict(self.criteria),
            "rest_absent": self.rest_absent,
            "ana_ge_1_80": self.ana_ge_1_80,
            "age_at_onset_years": (
                None if self.age_at_onset_years is None else float(self.age_at_onset_years)
            ),
            "muscle_biopsy": self.muscle_biopsy,
            "better_explanation": self.better_explanation,
            "score": None if self.score is None else float(self.score),
            "date": _d(self.date),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Attestation:
    """An investigator's statement on an ``attests`` item: ``True`` (the criterion's statement
    holds for the patient), ``False`` or ``None`` (not yet attested)."""

    value: bool | None
    by: str | None = None
    note: str | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "by": self.by, "note": self.note, "source": self.source}


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """A person's decision on a criterion flagged ``needs_review`` for this patient."""

    status: Literal["met", "not_met"]
    by: str | None = None
    note: str | None = None
    date: dt.date | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "by": self.by,
            "note": self.note,
            "date": _d(self.date),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """Everything known about one patient at screening.

    Attributes:
        id: patient identifier (free text).
        birth_earliest, birth_latest: bounds of the birth date (equal when the full date is
            known); ``age_years`` when only an age is recorded (at ``screening_date``).
        sex: ``"female"`` / ``"male"`` or ``None`` (unknown / other).
        screening_date, consent_date: reference dates (the screening function may override the
            screening date).
        indication: the cohort (a protocol indication id) the patient is screened for.
        history_complete: kinds in :data:`HISTORY_KINDS` whose list is complete.
        attestations: attestation key (a criterion id, or ``<criterion id>#<item>``) → value.
        reviews: criterion id → a person's decision on a flagged criterion.
        notes: what the reader ignored or assumed (unmapped FHIR codes, ...).
    """

    id: str | None = None
    birth_earliest: dt.date | None = None
    birth_latest: dt.date | None = None
    age_years: int | None = None
    sex: Literal["female", "male"] | None = None
    screening_date: dt.date | None = None
    consent_date: dt.date | None = None
    indication: str | None = None
    observations: tuple[Observation, ...] = ()
    serology: tuple[SerologyResult, ...] = ()
    conditions: tuple[ConditionRecord, ...] = ()
    medications: tuple[MedicationRecord, ...] = ()
    events: tuple[EventRecord, ...] = ()
    scores: tuple[ScoreRecord, ...] = ()
    sledai: tuple[SledaiRecord, ...] = ()
    bilag: tuple[BilagRecord, ...] = ()
    classifications: tuple[ClassificationRecord, ...] = ()
    attestations: Mapping[str, Attestation] = field(default_factory=dict)
    reviews: Mapping[str, ReviewDecision] = field(default_factory=dict)
    history_complete: frozenset[str] = frozenset()
    source_format: str = "json"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "attestations", MappingProxyType(dict(self.attestations)))
        object.__setattr__(self, "reviews", MappingProxyType(dict(self.reviews)))
        if (self.birth_earliest is None) != (self.birth_latest is None):
            raise InputError("birth_date", "give both bounds of the birth date or neither")
        if (
            self.birth_earliest is not None
            and self.birth_latest is not None
            and self.birth_earliest > self.birth_latest
        ):
            raise InputError("birth_date", "earliest possible birth date is after the latest")
        if self.sex not in (None, "female", "male"):
            raise InputError("sex", f"must be 'female', 'male' or None, got {self.sex!r}")
        unknown = set(self.history_complete) - set(HISTORY_KINDS)
        if unknown:
            raise InputError(
                "history_complete", f"unknown kinds {sorted(unknown)}; known: {HISTORY_KINDS}"
            )

    def age_bounds(self, on: dt.date) -> tuple[int, int] | None:
        """(youngest, oldest) possible age in completed years on ``on``; ``None`` if unknown."""
        if self.birth_earliest is not None and self.birth_latest is not None:
            return completed_years(self.birth_latest, on), completed_years(self.birth_earliest, on)
        if self.age_years is not None:
            return self.age_years, self.age_years
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "birth_earliest": _d(self.birth_earliest),
            "birth_latest": _d(self.birth_latest),
            "age_years": self.age_years,
            "sex": self.sex,
            "screening_date": _d(self.screening_date),
            "consent_date": _d(self.consent_date),
            "indication": self.indication,
            "observations": [o.to_dict() for o in self.observations],
            "serology": [s.to_dict() for s in self.serology],
            "conditions": [c.to_dict() for c in self.conditions],
            "medications": [m.to_dict() for m in self.medications],
            "events": [e.to_dict() for e in self.events],
            "scores": [s.to_dict() for s in self.scores],
            "sledai": [s.to_dict() for s in self.sledai],
            "bilag": [b.to_dict() for b in self.bilag],
            "classifications": [c.to_dict() for c in self.classifications],
            "attestations": {k: a.to_dict() for k, a in self.attestations.items()},
            "reviews": {k: r.to_dict() for k, r in self.reviews.items()},
            "history_complete": sorted(self.history_complete),
            "source_format": self.source_format,
            "notes": list(self.notes),
        }
