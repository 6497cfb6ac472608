"""Patient records for eligibility screening: the doseladder patient JSON and FHIR R4 Bundles.

:func:`load_patient_record` reads a file and detects the format: a mapping with
``"resourceType": "Bundle"`` is FHIR R4, anything else the doseladder patient JSON (documented
in ``docs/eligibility.md``).  Both become a typed
:class:`~doseladder.core.eligibility.record.PatientRecord`.  Errors are
:class:`~doseladder.core.errors.InputError` naming the JSON path of the bad value
(``observations[2].unit``, ``entry[5].resource.valueQuantity.code``); the file name is
prefixed by :func:`load_patient_record`.

Units: every numeric value must carry a unit of its measure's dimension (UCUM codes accepted:
``mg/dL``, ``umol/L``, ``10*9/L``, ``10*3/uL``, ``g/L``, ``U/L``, ``%``, ``g/(24.h)``, ...); an
unknown or wrong unit is an error, never a guess.  The only exception is the INR, a pure ratio,
which may have no unit.  Numbers are read exactly (JSON numbers are parsed as decimals).

FHIR R4 resources read (others are listed in the record's ``notes`` and ignored):

* ``Patient`` — ``birthDate`` (``YYYY``, ``YYYY-MM`` or full), ``gender`` (``other`` /
  ``unknown`` → sex unknown), ``id``;
* ``Observation`` — LOINC-coded measures (:data:`~doseladder.core.eligibility.vocab.LOINC_MEASURES`)
  with ``valueQuantity`` and ``referenceRange`` (``high`` → ULN, ``low`` → LLN; a limit without
  a unit takes the value's unit); LOINC-coded serology
  (:data:`~doseladder.core.eligibility.vocab.LOINC_SEROLOGY`) read from ``valueCodeableConcept``
  (SNOMED CT 10828004 Positive / 260385009 Negative, 260373001 Detected / 260415000 Not
  detected), ``valueString``, ``valueBoolean``, ``interpretation`` (v3 POS/NEG/DET/ND/H/N), a
  titre ``valueRatio`` / ``"1:320"``, or a ``valueQuantity`` above its reference ``high``;
  anything coded in doseladder's own systems (``https://doseladder.dev/fhir/CodeSystem/measure``,
  ``.../serology``, ``.../score``) with the keys of :mod:`doseladder.core.eligibility.vocab`,
  and a recorded classification result (``.../classification`` with ``valueBoolean``);
  ``status`` ``entered-in-error`` / ``cancelled`` skipped; date from ``effectiveDateTime``,
  ``effectivePeriod.start``, ``effectiveInstant`` or ``issued``;
* ``Condition`` — ICD-10 (prefix table), SNOMED CT (SLE 55464009), doseladder codes, else the
  text; ``clinicalStatus``, ``verificationStatus`` (``refuted`` = explicit negative), onset and
  abatement dates;
* ``MedicationStatement`` / ``MedicationAdministration`` — the drug from the code text /
  displays or a referenced ``Medication``; ``effectiveDateTime`` / ``effectivePeriod``;
  ``status`` (``active`` without end = ongoing, ``not-taken`` = explicit negative,
  ``entered-in-error`` / ``intended`` skipped); the daily dose from ``doseQuantity`` (mg, g, µg)
  × ``timing.repeat.frequency`` / ``period`` (``periodUnit`` h, d, wk) or ``timing.code``
  (QD, BID, TID, QID, QOD, AM, PM); route from ``dosage.route``;
* ``Immunization`` — ``vaccineCode`` (CVX or text) → a vaccine medication on
  ``occurrenceDateTime`` (live / non-live when known);
* ``Procedure`` — event kinds (transplant, dialysis, plasma exchange, splenectomy, ...) from
  doseladder codes or the text; ``performedDateTime`` / ``performedPeriod``.

Validation: before anything is read, the Bundle is parsed and validated with the maintained
FHIR model library ``fhir.resources`` (a default dependency).  fhir.resources 8 ships FHIR R5
as its default package, R4B (4.3.0) and STU3 — there is no R4 package; R5 refuses R4 Bundles
(e.g. R4 ``MedicationStatement.medicationCodeableConcept`` became ``medication`` in R5), while
R4B is the R4 technical correction whose models of the resources read here are those of R4, so
:mod:`fhir.resources.R4B` is used.  A malformed resource (an unknown element, a bad date or
decimal, a wrong type, a missing required element, an unknown resource type) is refused with
the FHIR path of the first problem (``entry[0].resource.valueQuantity.value: Decimal value
string does not match spec regex``).  One leniency, on purpose: a screening Bundle is about
its one Patient, so the ``subject`` / ``patient`` reference that R4 requires on Condition,
MedicationStatement, Immunization, Procedure … may be left out; resources doseladder does not
read are checked for their type only.  doseladder's mapping then reads the validated resources.

A Bundle has no place for investigator attestations or review decisions: give them with
:func:`merge_screening_inputs` (``doseladder screen --inputs FILE``).  A Bundle may declare a
history complete with ``meta.tag`` ``{system: https://doseladder.dev/fhir/CodeSystem/
history-complete, code: medications | conditions | events}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from doseladder.core.clinical import bilag as bilag_mod
from doseladder.core.clinical import sledai as sledai_mod
from doseladder.core.clinical.units import Dimension, Quantity, parse_unit, to_fraction
from doseladder.core.eligibility.dates import birth_date_bounds, parse_date
from doseladder.core.eligibility.record import (
    HISTORY_KINDS,
    Attestation,
    BilagRecord,
    ClassificationRecord,
    ConditionRecord,
    EventRecord,
    MedicationRecord,
    Observation,
    PatientRecord,
    ReviewDecision,
    ScoreRecord,
    SerologyResult,
    SledaiRecord,
)
from doseladder.core.eligibility.vocab import (
    CLASSIFICATIONS,
    CONDITION_SNOMED,
    CONDITIONS,
    CVX_VACCINES,
    DOSELADDER_SYSTEM,
    DRUG_CLASSES,
    DRUGS,
    EVENT_KINDS,
    LOINC_MEASURES,
    LOINC_SEROLOGY,
    MEASURES,
    SCORES,
    SEROLOGY_TESTS,
    classes_of,
    condition_from_icd10,
    condition_from_text,
    drug_from_text,
    event_from_text,
    measure_key,
    normalise_route,
    serology_key,
)
from doseladder.core.errors import InputError

__all__ = [
    "load_patient_record",
    "load_screening_inputs",
    "merge_screening_inputs",
    "patient_record_from_data",
    "patient_record_from_fhir",
    "patient_record_from_json",
    "validate_fhir_bundle",
]

LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
SNOMED_SYSTEM = "http://snomed.info/sct"
HISTORY_TAG_SYSTEM = DOSELADDER_SYSTEM + "history-complete"

_TOP_KEYS = (
    "format",
    "version",
    "id",
    "birth_date",
    "age_years",
    "sex",
    "screening_date",
    "consent_date",
    "indication",
    "observations",
    "serology",
    "conditions",
    "medications",
    "events",
    "scores",
    "sledai",
    "bilag",
    "classifications",
    "attestations",
    "reviews",
    "history_complete",
    "notes",
)
_INPUT_KEYS = (
    "screening_date",
    "consent_date",
    "indication",
    "attestations",
    "reviews",
    "history_complete",
)


# ------------------------------------------------------------------------------- helpers
def _p(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _keys(d: Any, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(d, Mapping):
        raise InputError(path or "record", "must be a JSON object")
    for k in d:
        if k not in allowed:
            raise InputError(_p(path, str(k)), f"unknown key; allowed: {', '.join(allowed)}")
    return d


def _list(d: Mapping[str, Any], key: str, path: str) -> list[Any]:
    v = d.get(key, [])
    if v is None:
        return []
    if not isinstance(v, list):
        raise InputError(_p(path, key), "must be a list")
    return v


def _text(v: Any, path: str, required: bool = True) -> str | None:
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v.strip():
        raise InputError(path, f"must be a non-empty text, got {v!r}")
    return v.strip()


def _bool(v: Any, path: str, allow_none: bool = True) -> bool | None:
    if v is None and allow_none:
        return None
    if not isinstance(v, bool):
        raise InputError(path, f"must be true or false{' or null' if allow_none else ''}")
    return v


def _date(v: Any, path: str, required: bool = False) -> date | None:
    if v is None:
        if required:
            raise InputError(path, "required date is missing")
        return None
    return parse_date(v, path)


def _number(v: Any, path: str) -> Fraction:
    if isinstance(v, bool) or not isinstance(v, int | float | Decimal | str):
        raise InputError(path, f"must be a number, got {v!r}")
    return to_fraction(v, path)


def _quantity(value: Any, unit: Any, dim: Dimension, path: str, unit_path: str) -> Quantity:
    v = _number(value, path)
    if unit is None:
        raise InputError(unit_path, f"a value needs its unit (never assumed) for {dim}")
    if not isinstance(unit, str):
        raise InputError(unit_path, f"must be a unit text, got {unit!r}")
    u = parse_unit(unit, dim, unit_path)
    try:
        return Quantity(v, u)
    except InputError as exc:
        raise InputError(path, exc.reason) from None


def _sex(v: Any, path: str) -> Literal["female", "male"] | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise InputError(path, f"must be 'female', 'male' or null, got {v!r}")
    s = v.strip().lower()
    if s in ("f", "female"):
        return "female"
    if s in ("m", "male"):
        return "male"
    if s in ("other", "unknown"):
        return None
    raise InputError(path, f"must be 'female', 'male', 'other' or 'unknown', got {v!r}")


_PLAUSIBLE_PERCENT = {"lvef", "spo2"}


def _check_plausible(measure: str, q: Quantity, path: str) -> None:
    if measure in _PLAUSIBLE_PERCENT and q.value > 100:
        raise InputError(path, f"{MEASURES[measure].label} cannot exceed 100 %, got {q}")


def _limit(v: Any, default_unit: str | None, dim: Dimension, path: str) -> Quantity | None:
    """A ULN/LLN: a number in the value's unit, or ``{value, unit}``."""
    if v is None:
        return None
    if isinstance(v, Mapping):
        _keys(v, path, ("value", "unit"))
        return _quantity(v.get("value"), v.get("unit"), dim, _p(path, "value"), _p(path, "unit"))
    return _quantity(v, default_unit, dim, path, path)


# --------------------------------------------------------------------------- the JSON format
def _observation(o: Any, path: str) -> Observation:
    d = _keys(o, path, ("measure", "loinc", "value", "unit", "date", "uln", "lln", "source"))
    if ("measure" in d) == ("loinc" in d):
        raise InputError(path, "give exactly one of measure or loinc")
    if "measure" in d:
        given = _text(d["measure"], _p(path, "measure"))
        assert given is not None
        found = measure_key(given)
        if found is None:
            raise InputError(
                _p(path, "measure"), f"unknown measure {given!r}; known: {', '.join(MEASURES)}"
            )
        key = found
    else:
        code = _text(d["loinc"], _p(path, "loinc"))
        assert code is not None
        if code not in LOINC_MEASURES:
            raise InputError(_p(path, "loinc"), f"LOINC {code} is not a measure doseladder reads")
        key = LOINC_MEASURES[code]
    m = MEASURES[key]
    unit = d.get("unit")
    if unit is None and m.unitless_ok:
        unit = "ratio"
    if "value" not in d:
        raise InputError(_p(path, "value"), "required key is missing")
    q = _quantity(d["value"], unit, m.dimension, _p(path, "value"), _p(path, "unit"))
    _check_plausible(key, q, _p(path, "value"))
    unit_text = unit if isinstance(unit, str) else None
    return Observation(
        key,
        q,
        _date(d.get("date"), _p(path, "date"), required=True),
        _limit(d.get("uln"), unit_text, m.dimension, _p(path, "uln")),
        _limit(d.get("lln"), unit_text, m.dimension, _p(path, "lln")),
        str(d.get("source") or path),
        d.get("loinc"),
    )


_POSITIVE = {"positive", "pos", "reactive", "detected", "present", "yes", "true"}
_NEGATIVE = {"negative", "neg", "non-reactive", "nonreactive", "not detected", "absent", "no"}
_INDETERMINATE = {"indeterminate", "equivocal", "borderline", "inconclusive"}


def _result_word(text: str) -> bool | Literal["?"] | None:
    t = text.strip().lower()
    if t in _POSITIVE:
        return True
    if t in _NEGATIVE:
        return False
    if t in _INDETERMINATE:
        return None
    return "?"


def _titer(v: Any, path: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return v
    if isinstance(v, str):
        m = re.fullmatch(r"\s*1\s*:\s*(\d+)\s*", v)
        if m:
            return int(m.group(1))
    raise InputError(path, f"must be a titre like '1:320' or 320, got {v!r}")


def _serology(o: Any, path: str) -> SerologyResult:
    d = _keys(o, path, ("test", "loinc", "result", "titer", "date", "detail", "source"))
    if ("test" in d) == ("loinc" in d):
        raise InputError(path, "give exactly one of test or loinc")
    if "test" in d:
        given = _text(d["test"], _p(path, "test"))
        assert given is not None
        found = serology_key(given)
        if found is None:
            raise InputError(
                _p(path, "test"), f"unknown test {given!r}; known: {', '.join(SEROLOGY_TESTS)}"
            )
        test = found
    else:
        code = _text(d["loinc"], _p(path, "loinc"))
        assert code is not None
        if code not in LOINC_SEROLOGY:
            raise InputError(_p(path, "loinc"), f"LOINC {code} is not a test doseladder reads")
        test = LOINC_SEROLOGY[code]
    raw = d.get("result")
    positive: bool | None
    if isinstance(raw, bool) or raw is None:
        positive = raw
    elif isinstance(raw, str):
        w = _result_word(raw)
        if w == "?":
            raise InputError(
                _p(path, "result"), "must be positive, negative, indeterminate (or true/false)"
            )
        positive = w
    else:
        raise InputError(_p(path, "result"), "must be positive, negative or indeterminate")
    titer = _titer(d.get("titer"), _p(path, "titer"))
    if titer is not None and positive is None:
        positive = True
    return SerologyResult(
        test,
        positive,
        _date(d.get("date"), _p(path, "date"), required=True),
        titer,
        str(d.get("detail") or (f"1:{titer}" if titer else "")),
        str(d.get("source") or path),
    )


def _condition(o: Any, path: str) -> ConditionRecord:
    d = _keys(
        o,
        path,
        ("name", "text", "onset", "abated", "active", "refuted", "codes", "source"),
    )
    name = d.get("name")
    text = d.get("text")
    if name is None and text is None:
        raise InputError(path, "give name (a condition key) and/or text")
    key: str | None = None
    if name is not None:
        key = _text(name, _p(path, "name"))
        if key not in CONDITIONS:
            raise InputError(
                _p(path, "name"), f"unknown condition {key!r}; known: {', '.join(CONDITIONS)}"
            )
    else:
        key = condition_from_text(_text(text, _p(path, "text")) or "")
    codes = d.get("codes", [])
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise InputError(_p(path, "codes"), "must be a list of code texts")
    return ConditionRecord(
        key,
        str(text or CONDITIONS.get(key or "", "")),
        _date(d.get("onset"), _p(path, "onset")),
        _date(d.get("abated"), _p(path, "abated")),
        _bool(d.get("active"), _p(path, "active")),
        bool(_bool(d.get("refuted", False), _p(path, "refuted"), allow_none=False)),
        tuple(codes),
        str(d.get("source") or path),
    )


def _drug_classes(v: Any, path: str) -> frozenset[str]:
    if v is None:
        return frozenset()
    if not isinstance(v, list):
        raise InputError(path, "must be a list of drug classes")
    for i, c in enumerate(v):
        if c not in DRUG_CLASSES:
            raise InputError(
                _p(path, i), f"unknown drug class {c!r}; known: {', '.join(DRUG_CLASSES)}"
            )
    return frozenset(v)


def _medication(o: Any, path: str) -> MedicationRecord:
    d = _keys(
        o,
        path,
        (
            "name",
            "text",
            "classes",
            "dose_per_day",
            "route",
            "start",
            "end",
            "ongoing",
            "not_taken",
            "source",
        ),
    )
    raw_name = d.get("name")
    text = d.get("text")
    if raw_name is None and text is None:
        raise InputError(path, "give name (a generic drug name) and/or text")
    name: str | None = None
    if raw_name is not None:
        given = _text(raw_name, _p(path, "name"))
        assert given is not None
        name = given.lower() if given.lower() in DRUGS else drug_from_text(given)
        if name is None:
            raise InputError(
                _p(path, "name"),
                f"unknown drug {given!r}; give a generic name doseladder knows, or text + classes",
            )
    else:
        name = drug_from_text(_text(text, _p(path, "text")) or "")
    classes = classes_of(name) | _drug_classes(d.get("classes"), _p(path, "classes"))
    dose = None
    if d.get("dose_per_day") is not None:
        dp = _p(path, "dose_per_day")
        dd = _keys(d["dose_per_day"], dp, ("value", "unit"))
        dose = _quantity(
            dd.get("value"), dd.get("unit"), Dimension.DRUG_MASS, _p(dp, "value"), _p(dp, "unit")
        )
    start = _date(d.get("start"), _p(path, "start"))
    end = _date(d.get("end"), _p(path, "end"))
    if start is not None and end is not None and end < start:
        raise InputError(_p(path, "end"), f"{end} is before the start {start}")
    route = d.get("route")
    return MedicationRecord(
        name,
        str(text or raw_name),
        classes,
        dose,
        None if route is None else normalise_route(str(_text(route, _p(path, "route")))),
        start,
        end,
        bool(_bool(d.get("ongoing", False), _p(path, "ongoing"), allow_none=False)),
        bool(_bool(d.get("not_taken", False), _p(path, "not_taken"), allow_none=False)),
        str(d.get("source") or path),
    )


def _event(o: Any, path: str) -> EventRecord:
    d = _keys(o, path, ("kind", "date", "end", "detail", "source"))
    kind = _text(d.get("kind"), _p(path, "kind"))
    assert kind is not None
    if kind not in EVENT_KINDS:
        raise InputError(
            _p(path, "kind"), f"unknown event {kind!r}; known: {', '.join(EVENT_KINDS)}"
        )
    return EventRecord(
        kind,
        _date(d.get("date"), _p(path, "date")),
        _date(d.get("end"), _p(path, "end")),
        str(d.get("detail") or ""),
        str(d.get("source") or path),
    )


def _score(o: Any, path: str) -> ScoreRecord:
    d = _keys(o, path, ("instrument", "value", "date", "source"))
    inst = _text(d.get("instrument"), _p(path, "instrument"))
    assert inst is not None
    if inst not in SCORES:
        raise InputError(
            _p(path, "instrument"), f"unknown score {inst!r}; known: {', '.join(SCORES)}"
        )
    v = _number(d.get("value"), _p(path, "value"))
    s = SCORES[inst]
    if not s.low <= v <= s.high:
        raise InputError(_p(path, "value"), f"outside the {s.label} range {s.low}–{s.high}")
    return ScoreRecord(
        inst, v, _date(d.get("date"), _p(path, "date"), required=True), str(d.get("source") or path)
    )


def _sledai(o: Any, path: str) -> SledaiRecord:
    d = _keys(o, path, ("date", "findings", "present", "absent", "rest_absent", "source"))
    rest = bool(_bool(d.get("rest_absent", False), _p(path, "rest_absent"), allow_none=False))
    findings: dict[str, bool | None] = {}
    if "findings" in d:
        f = d["findings"]
        if not isinstance(f, Mapping):
            raise InputError(_p(path, "findings"), "must map descriptor → true/false/null")
        for k, v in f.items():
            desc = sledai_mod.parse_descriptor(k, _p(path, "findings"))
            findings[desc.value] = _bool(v, _p(_p(path, "findings"), str(k)))
    for key, val in (("present", True), ("absent", False)):
        items = d.get(key, [])
        if not isinstance(items, list):
            raise InputError(_p(path, key), "must be a list of descriptors")
        for i, k in enumerate(items):
            desc = sledai_mod.parse_descriptor(k, _p(_p(path, key), i))
            if desc.value in findings:
                raise InputError(_p(_p(path, key), i), f"{desc.value} given twice")
            findings[desc.value] = val
    return SledaiRecord(
        _date(d.get("date"), _p(path, "date"), required=True),
        findings,
        rest,
        str(d.get("source") or path),
    )


def _bilag(o: Any, path: str) -> BilagRecord:
    d = _keys(o, path, ("date", "scheme", "grades", "source"))
    scheme = str(d.get("scheme") or "BILAG-2004")
    g = d.get("grades")
    if not isinstance(g, Mapping):
        raise InputError(_p(path, "grades"), "must map system → grade A–E (or null)")
    parsed = bilag_mod.parse_grades(g, scheme=scheme, field=_p(path, "grades"))
    grades = {k: (None if v is None else v.value) for k, v in parsed.items()}
    return BilagRecord(
        _date(d.get("date"), _p(path, "date"), required=True),
        grades,
        scheme,
        str(d.get("source") or path),
    )


def _classification(name: str, o: Any, path: str) -> ClassificationRecord:
    if name not in CLASSIFICATIONS or name == "eular_2019_or_acr_1997_sle":
        known = ", ".join(k for k in CLASSIFICATIONS if k != "eular_2019_or_acr_1997_sle")
        raise InputError(path, f"unknown classification {name!r}; known: {known}")
    d = _keys(
        o,
        path,
        (
            "met",
            "criteria",
            "rest_absent",
            "ana_ge_1_80",
            "age_at_onset_years",
            "muscle_biopsy",
            "better_explanation",
            "score",
            "date",
            "source",
        ),
    )
    criteria: dict[str, bool | None] | None = None
    if d.get("criteria") is not None:
        c = d["criteria"]
        if isinstance(c, list):
            criteria = {str(k): True for k in c}
            rest = True
        elif isinstance(c, Mapping):
            criteria = {str(k): _bool(v, _p(_p(path, "criteria"), str(k))) for k, v in c.items()}
            rest = False
        else:
            raise InputError(_p(path, "criteria"), "must be a list of criteria met or a mapping")
    else:
        rest = False
    rest = rest or bool(
        _bool(d.get("rest_absent", False), _p(path, "rest_absent"), allow_none=False)
    )
    age = d.get("age_at_onset_years")
    score = d.get("score")
    if score is not None and name != "iim_2017":
        raise InputError(_p(path, "score"), "a recorded score is only read for iim_2017")
    return ClassificationRecord(
        name,
        _bool(d.get("met"), _p(path, "met")),
        criteria,
        rest,
        _bool(d.get("ana_ge_1_80"), _p(path, "ana_ge_1_80")),
        None if age is None else _number(age, _p(path, "age_at_onset_years")),
        _bool(d.get("muscle_biopsy"), _p(path, "muscle_biopsy")),
        _bool(d.get("better_explanation", False), _p(path, "better_explanation")),
        None if score is None else _number(score, _p(path, "score")),
        _date(d.get("date"), _p(path, "date")),
        str(d.get("source") or path),
    )


def _attestations(v: Any, path: str) -> dict[str, Attestation]:
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise InputError(
            path, "must map attestation key → true / false / null or {value, by, note}"
        )
    out: dict[str, Attestation] = {}
    for k, a in v.items():
        p = _p(path, str(k))
        if isinstance(a, Mapping):
            ad = _keys(a, p, ("value", "by", "note"))
            out[str(k)] = Attestation(
                _bool(ad.get("value"), _p(p, "value")),
                None if ad.get("by") is None else str(ad["by"]),
                None if ad.get("note") is None else str(ad["note"]),
                p,
            )
        else:
            out[str(k)] = Attestation(_bool(a, p), source=p)
    return out


def _reviews(v: Any, path: str) -> dict[str, ReviewDecision]:
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise InputError(path, "must map criterion id → {status: met | not_met, by, note}")
    out: dict[str, ReviewDecision] = {}
    for k, r in v.items():
        p = _p(path, str(k))
        rd = _keys(r, p, ("status", "by", "note", "date"))
        status = rd.get("status")
        if status not in ("met", "not_met"):
            raise InputError(_p(p, "status"), f"must be 'met' or 'not_met', got {status!r}")
        out[str(k)] = ReviewDecision(
            status,
            None if rd.get("by") is None else str(rd["by"]),
            None if rd.get("note") is None else str(rd["note"]),
            _date(rd.get("date"), _p(p, "date")),
            p,
        )
    return out


def _history(v: Any, path: str) -> frozenset[str]:
    if v is None or v is False:
        return frozenset()
    if v is True:
        return frozenset(HISTORY_KINDS)
    if isinstance(v, list):
        items = v
    elif isinstance(v, Mapping):
        items = [k for k, b in v.items() if _bool(b, _p(path, str(k)), allow_none=False)]
    else:
        raise InputError(path, f"must be true, a list of {', '.join(HISTORY_KINDS)}, or a mapping")
    for i, k in enumerate(items):
        if k not in HISTORY_KINDS:
            raise InputError(_p(path, i), f"unknown kind {k!r}; known: {', '.join(HISTORY_KINDS)}")
    return frozenset(items)


def patient_record_from_json(data: Any) -> PatientRecord:
    """Build a record from the doseladder patient JSON (see ``docs/eligibility.md``)."""
    d = _keys(data, "", _TOP_KEYS)
    if "format" in d and d["format"] != "doseladder-patient":
        raise InputError("format", f"must be 'doseladder-patient', got {d['format']!r}")
    if "version" in d and d["version"] != 1:
        raise InputError("version", f"unsupported version {d['version']!r}; this reads 1")
    be = bl = None
    if d.get("birth_date") is not None:
        be, bl = birth_date_bounds(d["birth_date"], "birth_date")
    age = d.get("age_years")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or age < 0):
        raise InputError("age_years", f"must be a whole number of years, got {age!r}")
    sled = d.get("sledai", [])
    if isinstance(sled, Mapping):
        sled = [sled]
        sled_path = "sledai"
    else:
        sled_path = ""
    if not isinstance(sled, list):
        raise InputError("sledai", "must be a visit object or a list of them")
    classifications = d.get("classifications") or {}
    if not isinstance(classifications, Mapping):
        raise InputError("classifications", "must map a classification name → its data")
    notes = d.get("notes") or []
    return PatientRecord(
        id=None if d.get("id") is None else str(d["id"]),
        birth_earliest=be,
        birth_latest=bl,
        age_years=age,
        sex=_sex(d.get("sex"), "sex"),
        screening_date=_date(d.get("screening_date"), "screening_date"),
        consent_date=_date(d.get("consent_date"), "consent_date"),
        indication=_text(d.get("indication"), "indication", required=False),
        observations=tuple(
            _observation(o, f"observations[{i}]")
            for i, o in enumerate(_list(d, "observations", ""))
        ),
        serology=tuple(
            _serology(o, f"serology[{i}]") for i, o in enumerate(_list(d, "serology", ""))
        ),
        conditions=tuple(
            _condition(o, f"conditions[{i}]") for i, o in enumerate(_list(d, "conditions", ""))
        ),
        medications=tuple(
            _medication(o, f"medications[{i}]") for i, o in enumerate(_list(d, "medications", ""))
        ),
        events=tuple(_event(o, f"events[{i}]") for i, o in enumerate(_list(d, "events", ""))),
        scores=tuple(_score(o, f"scores[{i}]") for i, o in enumerate(_list(d, "scores", ""))),
        sledai=tuple(_sledai(o, sled_path or f"sledai[{i}]") for i, o in enumerate(sled)),
        bilag=tuple(_bilag(o, f"bilag[{i}]") for i, o in enumerate(_list(d, "bilag", ""))),
        classifications=tuple(
            _classification(str(k), v, f"classifications.{k}") for k, v in classifications.items()
        ),
        attestations=_attestations(d.get("attestations"), "attestations"),
        reviews=_reviews(d.get("reviews"), "reviews"),
        history_complete=_history(d.get("history_complete"), "history_complete"),
        source_format="json",
        notes=tuple(str(n) for n in notes) if isinstance(notes, list) else (str(notes),),
    )


# ------------------------------------------------------------------------------------ FHIR
def _codings(cc: Any) -> list[Mapping[str, Any]]:
    if not isinstance(cc, Mapping):
        return []
    cod = cc.get("coding", [])
    return [c for c in cod if isinstance(c, Mapping)] if isinstance(cod, list) else []


def _cc_text(cc: Any) -> str:
    if not isinstance(cc, Mapping):
        return ""
    parts = [str(cc["text"])] if isinstance(cc.get("text"), str) else []
    parts += [str(c["display"]) for c in _codings(cc) if isinstance(c.get("display"), str)]
    return " | ".join(parts)


def _code_in(cc: Any, system: str) -> list[str]:
    return [str(c["code"]) for c in _codings(cc) if c.get("system") == system and "code" in c]


def _dl_codes(cc: Any, kind: str) -> list[str]:
    return _code_in(cc, DOSELADDER_SYSTEM + kind)


def _fhir_date(r: Mapping[str, Any], keys: tuple[str, ...], path: str) -> date | None:
    for k in keys:
        if "." in k:
            outer, inner = k.split(".", 1)
            v = r.get(outer)
            if isinstance(v, Mapping) and v.get(inner) is not None:
                return parse_date(v[inner], _p(_p(path, outer), inner))
        elif r.get(k) is not None:
            return parse_date(r[k], _p(path, k))
    return None


def _fhir_unit(q: Mapping[str, Any]) -> str | None:
    code = q.get("code")
    if isinstance(code, str) and (q.get("system") in (None, UCUM_SYSTEM)):
        return code
    unit = q.get("unit")
    return unit if isinstance(unit, str) else (code if isinstance(code, str) else None)


def _fhir_quantity(q: Any, dim: Dimension, path: str, unitless_ok: bool = False) -> Quantity:
    if not isinstance(q, Mapping):
        raise InputError(path, "must be a Quantity object")
    unit = _fhir_unit(q)
    if unit is None and unitless_ok:
        unit = "ratio"
    unit_path = _p(path, "code" if isinstance(q.get("code"), str) else "unit")
    return _quantity(q.get("value"), unit, dim, _p(path, "value"), unit_path)


def _reference_range(
    r: Mapping[str, Any], dim: Dimension, default_unit: str | None, path: str
) -> tuple[Quantity | None, Quantity | None]:
    ranges = r.get("referenceRange")
    if not isinstance(ranges, list):
        return None, None
    for i, rr in enumerate(ranges):
        if not isinstance(rr, Mapping):
            continue
        rtype = _code_in(
            rr.get("type"), "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
        )
        if rtype and "normal" not in rtype:
            continue
        out: list[Quantity | None] = []
        for key in ("high", "low"):
            q = rr.get(key)
            if not isinstance(q, Mapping) or q.get("value") is None:
                out.append(None)
                continue
            unit = _fhir_unit(q) or default_unit
            p = _p(_p(_p(path, "referenceRange"), i), key)
            out.append(_quantity(q.get("value"), unit, dim, _p(p, "value"), _p(p, "code")))
        return out[0], out[1]
    return None, None


_SNOMED_RESULT = {
    "10828004": True,
    "260373001": True,
    "260385009": False,
    "260415000": False,
    "82334004": None,
}
_V3_INTERP = {
    "POS": True,
    "DET": True,
    "H": True,
    "HH": True,
    "A": True,
    "NEG": False,
    "ND": False,
    "N": False,
    "IND": None,
    "E": None,
}


def _fhir_serology(r: Mapping[str, Any], test: str, path: str) -> SerologyResult | None:
    positive: bool | Literal["?"] | None = "?"
    titer: int | None = None
    detail = ""
    vcc = r.get("valueCodeableConcept")
    if isinstance(vcc, Mapping):
        for c in _codings(vcc):
            if c.get("system") == SNOMED_SYSTEM and str(c.get("code")) in _SNOMED_RESULT:
                positive = _SNOMED_RESULT[str(c["code"])]
                break
        if positive == "?":
            positive = _result_word(_cc_text(vcc).split(" | ")[0]) if _cc_text(vcc) else "?"
        detail = _cc_text(vcc)
    elif isinstance(r.get("valueString"), str):
        s = r["valueString"]
        m = re.fullmatch(r"\s*1\s*:\s*(\d+)\s*", s)
        if m:
            titer = int(m.group(1))
            detail = s
        else:
            positive = _result_word(s)
            detail = s
    elif isinstance(r.get("valueBoolean"), bool):
        positive = r["valueBoolean"]
    elif isinstance(r.get("valueRatio"), Mapping):
        ratio = r["valueRatio"]
        num = (
            ratio.get("numerator", {}).get("value")
            if isinstance(ratio.get("numerator"), Mapping)
            else None
        )
        den = (
            ratio.get("denominator", {}).get("value")
            if isinstance(ratio.get("denominator"), Mapping)
            else None
        )
        if num == 1 and isinstance(den, int | Decimal) and den > 0:
            titer = int(den)
            detail = f"1:{titer}"
    if positive == "?":
        interp = r.get("interpretation")
        if isinstance(interp, list):
            for cc in interp:
                for c in _codings(cc):
                    code = str(c.get("code", "")).upper()
                    if code in _V3_INTERP:
                        positive = _V3_INTERP[code]
                        break
                if positive != "?":
                    break
    if positive == "?" and isinstance(r.get("valueQuantity"), Mapping):
        q = r["valueQuantity"]
        high = None
        ranges = r.get("referenceRange")
        if isinstance(ranges, list) and ranges and isinstance(ranges[0], Mapping):
            h = ranges[0].get("high")
            if isinstance(h, Mapping) and h.get("value") is not None:
                high = _number(h["value"], _p(path, "referenceRange[0].high.value"))
        if q.get("value") is not None and high is not None and q.get("comparator") is None:
            v = _number(q["value"], _p(path, "valueQuantity.value"))
            positive = v > high
            detail = f"{q.get('value')} {_fhir_unit(q) or ''} (reference ≤ {high})".strip()
    if positive == "?" and titer is not None:
        positive = True
    if positive == "?":
        return None
    return SerologyResult(
        test,
        positive,
        _fhir_date(
            r, ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"), path
        ),
        titer,
        detail,
        f"{path} (Observation/{r.get('id', '?')})",
    )


def _fhir_observation(r: Mapping[str, Any], path: str, rec: dict[str, Any]) -> None:
    if r.get("status") in ("entered-in-error", "cancelled"):
        return
    code = r.get("code")
    loinc = _code_in(code, LOINC_SYSTEM)
    measure = next((LOINC_MEASURES[c] for c in loinc if c in LOINC_MEASURES), None)
    measure = measure or next((c for c in _dl_codes(code, "measure") if c in MEASURES), None)
    test = next((LOINC_SEROLOGY[c] for c in loinc if c in LOINC_SEROLOGY), None)
    test = test or next((c for c in _dl_codes(code, "serology") if c in SEROLOGY_TESTS), None)
    score = next((c for c in _dl_codes(code, "score") if c in SCORES), None)
    classification = next(
        (
            c
            for c in _dl_codes(code, "classification")
            if c in CLASSIFICATIONS and c != "eular_2019_or_acr_1997_sle"
        ),
        None,
    )
    when = _fhir_date(
        r, ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"), path
    )
    src = f"{path} (Observation/{r.get('id', '?')})"
    if measure is not None:
        m = MEASURES[measure]
        vq = r.get("valueQuantity")
        if not isinstance(vq, Mapping) or vq.get("value") is None:
            rec["notes"].append(f"{src}: {m.label} without a numeric valueQuantity, ignored.")
            return
        if vq.get("comparator") is not None:
            rec["notes"].append(
                f"{src}: {m.label} reported as '{vq['comparator']} {vq.get('value')}' "
                "(a censored value), ignored."
            )
            return
        q = _fhir_quantity(vq, m.dimension, _p(path, "valueQuantity"), m.unitless_ok)
        _check_plausible(measure, q, _p(path, "valueQuantity.value"))
        uln, lln = _reference_range(r, m.dimension, _fhir_unit(vq), path)
        if when is None:
            rec["notes"].append(f"{src}: {m.label} has no date, ignored.")
            return
        rec["observations"].append(
            Observation(measure, q, when, uln, lln, src, loinc[0] if loinc else None)
        )
        return
    if test is not None:
        s = _fhir_serology(r, test, path)
        if s is None:
            rec["notes"].append(f"{src}: {SEROLOGY_TESTS[test]} result not readable, ignored.")
        else:
            rec["serology"].append(s)
        return
    if score is not None:
        v = (
            r.get("valueQuantity", {}).get("value")
            if isinstance(r.get("valueQuantity"), Mapping)
            else r.get("valueInteger")
        )
        if v is None or when is None:
            rec["notes"].append(f"{src}: score {score} without a value or date, ignored.")
            return
        val = _number(v, _p(path, "valueQuantity.value"))
        inst = SCORES[score]
        if not inst.low <= val <= inst.high:
            raise InputError(_p(path, "valueQuantity.value"), f"outside the {inst.label} range")
        rec["scores"].append(ScoreRecord(score, val, when, src))
        return
    if classification is not None:
        met = r.get("valueBoolean")
        if not isinstance(met, bool):
            raise InputError(
                _p(path, "valueBoolean"), "a classification result is valueBoolean true/false"
            )
        rec["classifications"].append(
            ClassificationRecord(classification, met, date=when, source=src)
        )
        return
    rec["unmapped"].append(_cc_text(code) or ", ".join(loinc) or "uncoded")


def _fhir_condition(r: Mapping[str, Any], path: str, rec: dict[str, Any]) -> None:
    ver = _code_in(
        r.get("verificationStatus"), "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    )
    if "entered-in-error" in ver:
        return
    code = r.get("code")
    key: str | None = next((c for c in _dl_codes(code, "condition") if c in CONDITIONS), None)
    codes: list[str] = []
    for c in _codings(code):
        system = str(c.get("system", ""))
        value = str(c.get("code", ""))
        codes.append(f"{system}|{value}")
        if key is None and "icd-10" in system.lower():
            key = condition_from_icd10(value)
        if key is None and system == SNOMED_SYSTEM:
            key = CONDITION_SNOMED.get(value)
    text = _cc_text(code)
    if key is None and text:
        key = condition_from_text(text)
    clin = _code_in(
        r.get("clinicalStatus"), "http://terminology.hl7.org/CodeSystem/condition-clinical"
    )
    active = (
        True
        if any(c in ("active", "recurrence", "relapse") for c in clin)
        else False
        if any(c in ("inactive", "remission", "resolved") for c in clin)
        else None
    )
    rec["conditions"].append(
        ConditionRecord(
            key,
            text,
            _fhir_date(r, ("onsetDateTime", "onsetPeriod.start"), path),
            _fhir_date(r, ("abatementDateTime", "abatementPeriod.end"), path),
            active,
            "refuted" in ver,
            tuple(codes),
            f"{path} (Condition/{r.get('id', '?')})",
        )
    )


_TIMING_CODES = {
    "QD": Fraction(1),
    "BID": Fraction(2),
    "TID": Fraction(3),
    "QID": Fraction(4),
    "QOD": Fraction(1, 2),
    "AM": Fraction(1),
    "PM": Fraction(1),
    "QAM": Fraction(1),
    "QPM": Fraction(1),
    "QHS": Fraction(1),
}
_PERIOD_DAYS = {"h": Fraction(1, 24), "d": Fraction(1), "wk": Fraction(7), "mo": Fraction(30)}


def _per_day(dosage: Mapping[str, Any], path: str, single_day: bool) -> Quantity | None:
    dose_q: Any = None
    dar = dosage.get("doseAndRate")
    if isinstance(dar, list) and dar and isinstance(dar[0], Mapping):
        dose_q = dar[0].get("doseQuantity")
        qpath = _p(_p(_p(path, "doseAndRate"), 0), "doseQuantity")
    if dose_q is None and isinstance(dosage.get("dose"), Mapping):  # MedicationAdministration
        dose_q = dosage["dose"]
        qpath = _p(path, "dose")
    if not isinstance(dose_q, Mapping):
        return None
    dose = _fhir_quantity(dose_q, Dimension.DRUG_MASS, qpath)
    timing = dosage.get("timing")
    per_day: Fraction | None = None
    if isinstance(timing, Mapping):
        rep = timing.get("repeat")
        if isinstance(rep, Mapping) and rep.get("period") is not None:
            unit = rep.get("periodUnit", "d")
            if unit not in _PERIOD_DAYS:
                raise InputError(
                    _p(_p(_p(path, "timing"), "repeat"), "periodUnit"),
                    f"unsupported period unit {unit!r}",
                )
            freq = _number(rep.get("frequency", 1), _p(path, "timing.repeat.frequency"))
            period = _number(rep["period"], _p(path, "timing.repeat.period")) * _PERIOD_DAYS[unit]
            if period <= 0:
                raise InputError(_p(path, "timing.repeat.period"), "must be positive")
            per_day = freq / period
        else:
            for c in _codings(timing.get("code")):
                if str(c.get("code", "")).upper() in _TIMING_CODES:
                    per_day = _TIMING_CODES[str(c["code"]).upper()]
                    break
    if per_day is None:
        if not single_day:
            return None
        per_day = Fraction(1)
    return Quantity(dose.value * per_day, dose.unit)


def _route(dosage: Mapping[str, Any]) -> str | None:
    text = _cc_text(dosage.get("route")).lower()
    for word, route in (
        ("intra-articular", "intra-articular"),
        ("intraarticular", "intra-articular"),
        ("oral", "oral"),
        ("mouth", "oral"),
        ("intravenous", "intravenous"),
        ("intramuscular", "intramuscular"),
        ("subcutaneous", "subcutaneous"),
        ("topical", "topical"),
        ("inhal", "inhaled"),
    ):
        if word in text:
            return route
    for c in _codings(dosage.get("route")):
        code = str(c.get("code", "")).upper()
        if code in ("PO", "ORAL"):
            return "oral"
        if code in ("IV",):
            return "intravenous"
        if code in ("IM",):
            return "intramuscular"
        if code in ("SC", "SQ"):
            return "subcutaneous"
    return normalise_route(text) if text else None


def _fhir_medication(
    r: Mapping[str, Any],
    path: str,
    rec: dict[str, Any],
    meds_by_ref: Mapping[str, Mapping[str, Any]],
) -> None:
    rtype = r.get("resourceType")
    status = r.get("status")
    if status in ("entered-in-error", "intended", "not-done"):
        return
    cc = r.get("medicationCodeableConcept")
    if cc is None and isinstance(r.get("medicationReference"), Mapping):
        ref = str(r["medicationReference"].get("reference", ""))
        target = meds_by_ref.get(ref) or meds_by_ref.get(ref.split("/")[-1])
        if target is None and ref.startswith("#"):
            for c in r.get("contained", []) if isinstance(r.get("contained"), list) else []:
                if isinstance(c, Mapping) and f"#{c.get('id')}" == ref:
                    target = c
        cc = None if target is None else target.get("code")
        if cc is None and isinstance(r["medicationReference"].get("display"), str):
            cc = {"text": r["medicationReference"]["display"]}
    text = _cc_text(cc)
    dl_drug = next((c for c in _dl_codes(cc, "drug") if c in DRUGS), None)
    name = dl_drug or (drug_from_text(text) if text else None)
    classes = classes_of(name) | frozenset(
        c for c in _dl_codes(cc, "drug-class") if c in DRUG_CLASSES
    )
    start = _fhir_date(r, ("effectivePeriod.start", "effectiveDateTime"), path)
    end = _fhir_date(r, ("effectivePeriod.end",), path)
    single = r.get("effectiveDateTime") is not None
    if single:
        end = start
    if start is not None and end is not None and end < start:
        raise InputError(_p(path, "effectivePeriod.end"), f"{end} is before the start {start}")
    dose = None
    route = None
    dosages = r.get("dosage")
    if rtype == "MedicationAdministration" and isinstance(dosages, Mapping):
        dosages = [dosages]
    if isinstance(dosages, list) and dosages and isinstance(dosages[0], Mapping):
        dpath = _p(path, "dosage") + ("[0]" if rtype != "MedicationAdministration" else "")
        dose = _per_day(dosages[0], dpath, single)
        route = _route(dosages[0])
    if name is None and not classes:
        rec["notes"].append(f"{path}: medication '{text or '?'}' not recognised (kept by text).")
    rec["medications"].append(
        MedicationRecord(
            name,
            text or (name or "?"),
            classes,
            dose,
            route,
            start,
            end,
            status == "active" and end is None and not single,
            status == "not-taken",
            f"{path} ({rtype}/{r.get('id', '?')})",
        )
    )


_NON_LIVE_WORDS = (
    "inactivated",
    "recombinant",
    "toxoid",
    "conjugate",
    "subunit",
    "mrna",
    "polysaccharide",
)


def _fhir_immunization(r: Mapping[str, Any], path: str, rec: dict[str, Any]) -> None:
    if r.get("status") not in (None, "completed"):
        return
    cc = r.get("vaccineCode")
    text = _cc_text(cc)
    name = None
    for c in _codings(cc):
        if "cvx" in str(c.get("system", "")).lower() and str(c.get("code")) in CVX_VACCINES:
            name = CVX_VACCINES[str(c["code"])]
    name = name or drug_from_text(text)
    classes = set(classes_of(name)) | {"vaccine"}
    if not classes & {"live_vaccine", "non_live_vaccine"} and any(
        w in text.lower() for w in _NON_LIVE_WORDS
    ):
        classes.add("non_live_vaccine")
    when = _fhir_date(r, ("occurrenceDateTime",), path)
    rec["medications"].append(
        MedicationRecord(
            name,
            text or "vaccine",
            frozenset(classes),
            None,
            None,
            when,
            when,
            False,
            False,
            f"{path} (Immunization/{r.get('id', '?')})",
        )
    )


def _fhir_procedure(r: Mapping[str, Any], path: str, rec: dict[str, Any]) -> None:
    if r.get("status") in ("entered-in-error", "not-done", "preparation"):
        return
    code = r.get("code")
    kind = next((c for c in _dl_codes(code, "event") if c in EVENT_KINDS), None)
    text = _cc_text(code)
    kind = kind or (event_from_text(text) if text else None)
    if kind is None:
        rec["unmapped"].append(f"procedure {text or '?'}")
        return
    start = _fhir_date(r, ("performedDateTime", "performedPeriod.start"), path)
    end = _fhir_date(r, ("performedPeriod.end",), path)
    rec["events"].append(
        EventRecord(kind, start, end, text, f"{path} (Procedure/{r.get('id', '?')})")
    )


def _fhir_loc(loc: tuple[Any, ...]) -> str:
    path = ""
    for item in loc:
        path = _p(path, item) if path else str(item)
    return path


_SUBJECT_ELEMENTS = frozenset({"subject", "patient"})


def _implied_subject(loc: tuple[Any, ...], kind: str) -> bool:
    """A missing ``subject`` / ``patient`` reference of an entry's resource: a screening Bundle
    is about its one Patient, so the reference R4 requires (Condition.subject,
    MedicationStatement.subject, Immunization.patient, ...) may be left out."""
    return (
        kind == "missing"
        and len(loc) == 4
        and loc[0] == "entry"
        and loc[2] == "resource"
        and loc[3] in _SUBJECT_ELEMENTS
    )


_READ_TYPES = frozenset(
    {
        "Patient",
        "Observation",
        "Condition",
        "MedicationStatement",
        "MedicationAdministration",
        "Medication",
        "Immunization",
        "Procedure",
    }
)


def _raise_validation(exc: Any, prefix: tuple[Any, ...]) -> None:
    errors = [e for e in exc.errors() if not _implied_subject((*prefix, *e["loc"]), e["type"])]
    if not errors:
        return
    first = errors[0]
    reason = str(first["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if first["type"] == "extra_forbidden":
        reason = "unknown element (not in the FHIR R4 resource definition)"
    elif first["type"] == "missing":
        reason = "required element is missing"
    more = len({tuple(e["loc"]) for e in errors}) - 1
    if more > 0:
        reason += f" (and {more} more problem{'s' if more > 1 else ''})"
    raise InputError(_fhir_loc((*prefix, *first["loc"])) or "Bundle", reason)


def validate_fhir_bundle(bundle: Mapping[str, Any]) -> None:
    """Parse and validate a FHIR R4 Bundle with ``fhir.resources`` (R4B models, see the module
    docstring): the Bundle and its entries, every resource's type, and in full every resource
    doseladder reads (Patient, Observation, Condition, MedicationStatement /
    MedicationAdministration, Medication, Immunization, Procedure; the others are listed in
    the record's notes and not read).

    Raises:
        InputError: naming the FHIR path of the first problem (``entry[3].resource.birthDate``),
            with "(and N more problems)" when the library found several in that resource.
    """
    import pydantic
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle

    entries = bundle.get("entry", [])
    shell = dict(bundle)
    if isinstance(entries, list):
        shell["entry"] = [
            {k: v for k, v in e.items() if k != "resource"} if isinstance(e, Mapping) else e
            for e in entries
        ]
    try:
        Bundle.model_validate(shell)
    except pydantic.ValidationError as exc:
        _raise_validation(exc, ())
    except (KeyError, ValueError, TypeError) as exc:  # the library's own refusals
        raise InputError("Bundle", f"not a valid FHIR R4 Bundle: {exc}") from None
    if not isinstance(entries, list):
        return
    for i, e in enumerate(entries):
        res = e.get("resource") if isinstance(e, Mapping) else None
        if not isinstance(res, Mapping) or not isinstance(res.get("resourceType"), str):
            continue
        rt = res["resourceType"]
        try:
            model = get_fhir_model_class(rt)
        except (ValueError, KeyError):
            raise InputError(
                f"entry[{i}].resource.resourceType", f"{rt!r} is not a FHIR R4 resource type"
            ) from None
        if rt not in _READ_TYPES:
            continue
        try:
            model.model_validate(dict(res))
        except pydantic.ValidationError as exc:
            _raise_validation(exc, ("entry", i, "resource"))
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"entry[{i}].resource", f"not a valid FHIR R4 {rt}: {exc}") from None


def patient_record_from_fhir(bundle: Any) -> PatientRecord:
    """Build a record from a FHIR R4 ``Bundle`` (see the module docstring); the Bundle is
    validated first (:func:`validate_fhir_bundle`)."""
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise InputError("resourceType", "must be 'Bundle'")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise InputError("entry", "must be a list")
    for i, e in enumerate(entries):
        if not isinstance(e, Mapping) or not isinstance(e.get("resource"), Mapping):
            raise InputError(f"entry[{i}]", "must have a resource")
        if not isinstance(e["resource"].get("resourceType"), str):
            raise InputError(f"entry[{i}].resource.resourceType", "is missing")
    validate_fhir_bundle(bundle)
    rec: dict[str, Any] = {
        k: []
        for k in (
            "observations",
            "classifications",
            "serology",
            "conditions",
            "medications",
            "events",
            "scores",
            "notes",
            "unmapped",
        )
    }
    resources: list[tuple[str, Mapping[str, Any]]] = []
    meds_by_ref: dict[str, Mapping[str, Any]] = {}
    for i, e in enumerate(entries):
        path = f"entry[{i}]"
        if not isinstance(e, Mapping) or not isinstance(e.get("resource"), Mapping):
            raise InputError(path, "must have a resource")
        res = e["resource"]
        rp = _p(path, "resource")
        if not isinstance(res.get("resourceType"), str):
            raise InputError(_p(rp, "resourceType"), "is missing")
        resources.append((rp, res))
        if res["resourceType"] == "Medication":
            if isinstance(e.get("fullUrl"), str):
                meds_by_ref[e["fullUrl"]] = res
            if res.get("id") is not None:
                meds_by_ref[f"Medication/{res['id']}"] = res
                meds_by_ref[str(res["id"])] = res
    patients = [(p, r) for p, r in resources if r["resourceType"] == "Patient"]
    if len(patients) > 1:
        raise InputError(patients[1][0], "a screening bundle holds exactly one Patient")
    pid = None
    be = bl = None
    sex: Literal["female", "male"] | None = None
    if patients:
        ppath, pat = patients[0]
        pid = None if pat.get("id") is None else str(pat["id"])
        if pat.get("birthDate") is not None:
            be, bl = birth_date_bounds(pat["birthDate"], _p(ppath, "birthDate"))
        gender = pat.get("gender")
        if gender is not None and gender not in ("male", "female", "other", "unknown"):
            raise InputError(_p(ppath, "gender"), f"not a FHIR gender: {gender!r}")
        sex = _sex(gender, _p(ppath, "gender"))
    else:
        rec["notes"].append("No Patient resource: birth date and sex unknown.")
    ignored: dict[str, int] = {}
    for path, r in resources:
        t = r["resourceType"]
        if t == "Observation":
            _fhir_observation(r, path, rec)
        elif t == "Condition":
            _fhir_condition(r, path, rec)
        elif t in ("MedicationStatement", "MedicationAdministration"):
            _fhir_medication(r, path, rec, meds_by_ref)
        elif t == "Immunization":
            _fhir_immunization(r, path, rec)
        elif t == "Procedure":
            _fhir_procedure(r, path, rec)
        elif t not in ("Patient", "Medication"):
            ignored[t] = ignored.get(t, 0) + 1
    notes: list[str] = list(rec["notes"])
    if rec["unmapped"]:
        notes.append(
            f"{len(rec['unmapped'])} coded item(s) not used by doseladder: "
            + "; ".join(sorted(set(rec["unmapped"])))[:500]
        )
    if ignored:
        notes.append(
            "Resources not read: " + ", ".join(f"{k} ×{n}" for k, n in sorted(ignored.items()))
        )
    history: set[str] = set()
    meta = bundle.get("meta")
    if isinstance(meta, Mapping) and isinstance(meta.get("tag"), list):
        for tag in meta["tag"]:
            if isinstance(tag, Mapping) and tag.get("system") == HISTORY_TAG_SYSTEM:
                if tag.get("code") not in HISTORY_KINDS:
                    raise InputError("meta.tag", f"unknown history kind {tag.get('code')!r}")
                history.add(str(tag["code"]))
    return PatientRecord(
        id=pid,
        birth_earliest=be,
        birth_latest=bl,
        sex=sex,
        observations=tuple(rec["observations"]),
        serology=tuple(rec["serology"]),
        conditions=tuple(rec["conditions"]),
        medications=tuple(rec["medications"]),
        events=tuple(rec["events"]),
        scores=tuple(rec["scores"]),
        classifications=tuple(rec["classifications"]),
        history_complete=frozenset(history),
        source_format="fhir",
        notes=tuple(notes),
    )


# ------------------------------------------------------------------------------- entry points
def patient_record_from_data(data: Any) -> PatientRecord:
    """A record from parsed JSON: FHIR when ``resourceType`` is ``Bundle``, else doseladder."""
    if isinstance(data, Mapping) and "resourceType" in data:
        if data["resourceType"] != "Bundle":
            raise InputError(
                "resourceType", f"a FHIR input must be a Bundle, got {data['resourceType']!r}"
            )
        return patient_record_from_fhir(data)
    return patient_record_from_json(data)


def _read_json(path: str | Path, what: str) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(p), f"{what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(p), f"cannot read {what}: {exc}") from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(str(p), f"not valid JSON: {exc.msg} (line {exc.lineno})") from None


def load_patient_record(path: str | Path) -> PatientRecord:
    """Read a patient record file (doseladder JSON or FHIR R4 Bundle, detected).

    Errors name the file and the JSON path: ``p.json: observations[2].unit: ...``.
    """
    p = Path(path)
    data = _read_json(p, "patient file")
    try:
        return patient_record_from_data(data)
    except InputError as exc:
        raise InputError(f"{p.name}: {exc.field}", exc.reason) from None


def merge_screening_inputs(record: PatientRecord, data: Any, *, source: str = "") -> PatientRecord:
    """Add screening inputs to a record (e.g. one read from FHIR): ``screening_date``,
    ``consent_date``, ``indication``, ``attestations``, ``reviews``, ``history_complete``.

    Attestations and reviews are merged (the inputs win on the same key); dates and the
    indication replace the record's; history kinds are added.
    """
    prefix = f"{source}: " if source else ""
    try:
        d = _keys(data, "", _INPUT_KEYS)
        changes: dict[str, Any] = {}
        for key in ("screening_date", "consent_date"):
            if d.get(key) is not None:
                changes[key] = _date(d[key], key)
        if d.get("indication") is not None:
            changes["indication"] = _text(d["indication"], "indication")
        changes["attestations"] = {
            **record.attestations,
            **_attestations(d.get("attestations"), "attestations"),
        }
        changes["reviews"] = {**record.reviews, **_reviews(d.get("reviews"), "reviews")}
        changes["history_complete"] = record.history_complete | _history(
            d.get("history_complete"), "history_complete"
        )
    except InputError as exc:
        raise InputError(f"{prefix}{exc.field}", exc.reason) from None
    return replace(record, **changes)


def load_screening_inputs(record: PatientRecord, path: str | Path) -> PatientRecord:
    """:func:`merge_screening_inputs` from a JSON file."""
    p = Path(path)
    return merge_screening_inputs(record, _read_json(p, "inputs file"), source=p.name)
