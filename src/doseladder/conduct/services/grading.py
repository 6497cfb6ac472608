"""From entered forms to the core's clinical grades, scores and calls (no storage here).

The conduct layer stores what was entered and asks the core (``doseladder.core.clinical``):

* an adverse event is a CTCAE v5.0 term; a laboratory term is graded from the value with its
  unit and the ULN/LLN/baseline (:func:`~doseladder.core.clinical.ctcae.grade_lab`); CRS and
  ICANS are graded by the ASTCT 2019 forms (:mod:`~doseladder.core.clinical.astct`); any other
  term takes the grade chosen from the term's definitions;
* the DLT call of a patient is proposed by the core's adjudication against the protocol's DLT
  definition (:func:`~doseladder.core.clinical.dlt.adjudicate`);
* an efficacy assessment is scored from its components (SLEDAI-2K findings, BILAG grades, PGA,
  platelet counts) and the response is computed by the instrument's rule.

Every core :class:`~doseladder.core.errors.InputError` becomes a :class:`ValidationError`
naming the form field (e.g. ``icans.ice``, ``lab.unit``), so bad input is a 422, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from doseladder.conduct.errors import ValidationError
from doseladder.core.clinical import astct, ctcae, ctcae_terms, itp, sledai, sri4
from doseladder.core.clinical import dlt as core_dlt
from doseladder.core.clinical import forms as core_forms
from doseladder.core.clinical.bilag import bilag_score
from doseladder.core.clinical.dlt import (
    TERM_CRS,
    TERM_ICANS,
    Attribution,
    DLTDefinition,
    DLTStatus,
    GradedEvent,
)
from doseladder.core.clinical.pga import pga
from doseladder.core.clinical.response import (
    ResponseCriterion,
    ResponseDefinition,
    score_response,
)
from doseladder.core.clinical.result import Assessment
from doseladder.core.errors import InputError

__all__ = [
    "ASTCT_SCALE",
    "CTCAE_SCALE",
    "INSTRUMENTS",
    "Graded",
    "Proposal",
    "Scored",
    "attribution_of",
    "dlt_definition",
    "grade_adverse_event",
    "lookup_term",
    "propose_dlt",
    "score_efficacy",
    "term_kind",
]

CTCAE_SCALE = "CTCAE v5.0"
ASTCT_SCALE = "ASTCT 2019"
T = TypeVar("T")

#: conduct's relatedness → the core's attribution levels.  The five core levels are accepted
#: as they are; the older four-level answers map to the nearest level ("related" without a
#: level is read as "probable").
_ATTRIBUTION = {
    "unrelated": Attribution.UNRELATED,
    "unlikely_related": Attribution.UNLIKELY,
    "possibly_related": Attribution.POSSIBLE,
    "related": Attribution.PROBABLE,
    **{a.value: a for a in Attribution},
}


def _core(prefix: str, fn: Callable[[], T]) -> T:
    """Run a core call; its :class:`InputError` becomes a 422 naming ``prefix.field``."""
    try:
        return fn()
    except InputError as exc:
        field = f"{prefix}.{exc.field}" if prefix else exc.field
        raise ValidationError(field, exc.reason) from None


# ----------------------------------------------------------------------- terms
def lookup_term(term: object) -> str:
    """The canonical CTCAE v5.0 spelling of ``term`` (case, spacing and aliases resolved by the
    core's catalogue :mod:`~doseladder.core.clinical.ctcae_terms`)."""
    if not isinstance(term, str) or not term.strip():
        raise ValidationError("term", "is required: a CTCAE v5.0 term")
    name: str = _core("", lambda: ctcae_terms.canonical_term(term, "term"))
    return name


def term_kind(term: str) -> str:
    """``crs``, ``icans``, ``lab`` or ``defined`` (a canonical term)."""
    kind = ctcae_terms.term_kind(term)
    if kind == ctcae_terms.TermKind.ASTCT:
        return "crs" if term == TERM_CRS else "icans"
    return "lab" if kind == ctcae_terms.TermKind.LAB else "defined"


def grade_definitions(term: str) -> Mapping[int, str]:
    """The grade → definition text of a non-laboratory term."""
    entry = ctcae_terms.CTCAE_TERMS.get(term)
    return entry.grades if entry is not None else {}


def term_catalogue() -> list[dict[str, Any]]:
    """Every term the service accepts with how it is graded (for pickers)."""
    out: list[dict[str, Any]] = [
        {"term": TERM_CRS, "kind": "crs", "scale": ASTCT_SCALE, "grades": {}},
        {"term": TERM_ICANS, "kind": "icans", "scale": ASTCT_SCALE, "grades": {}},
    ]
    out += [
        {"term": t.value, "kind": "lab", "scale": CTCAE_SCALE, "grades": {}} for t in ctcae.LabTerm
    ]
    out += [
        {"term": name, "kind": "defined", "scale": CTCAE_SCALE, "grades": dict(entry.grades)}
        for name, entry in sorted(ctcae_terms.CTCAE_TERMS.items())
    ]
    return out


# ---------------------------------------------------------------- adverse events
@dataclass(frozen=True)
class Graded:
    """An adverse event's grade and how it was obtained."""

    term: str
    grade: int
    scale: str
    grading: dict[str, Any]


def _number(field: str, value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValidationError(field, f"must be a number, got {value!r}")
    try:
        out = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValidationError(field, f"must be a number, got {value!r}") from None
    if not out.is_finite():
        raise ValidationError(field, "must be a finite number")
    if out < 0:
        raise ValidationError(field, "must not be negative")
    return out


def _mapping(field: str, value: object, allowed: Sequence[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(field, "must be a mapping of form fields")
    extra = sorted(set(map(str, value)) - set(allowed))
    if extra:
        raise ValidationError(
            f"{field}.{extra[0]}", f"unknown field; allowed: {', '.join(allowed)}"
        )
    return dict(value)


_ICE_ITEMS = (
    "orientation_year",
    "orientation_month",
    "orientation_city",
    "orientation_hospital",
    "objects_named",
    "follows_commands",
    "writes_sentence",
    "counts_backwards_by_10",
)


def _graded_value(field: str, a: Assessment[int], what: str) -> int:
    if not a.evaluable or a.value is None:
        missing = a.missing[0] if a.missing else ""
        reason = " ".join(a.reasons) or "not evaluable"
        raise ValidationError(f"{field}.{missing}" if missing else field, reason)
    if a.value == 0:
        raise ValidationError(
            field, f"the {what} gives grade 0 ({' '.join(a.reasons)}): not an adverse event"
        )
    return int(a.value)


def _form_for_core(kind: str, form: Mapping[str, Any], age: int | None) -> dict[str, Any]:
    """The service's form as :func:`~doseladder.core.clinical.forms.grade_event` reads it:
    ``death_due_to_*`` is ``death``; ICE/CAPD items are totalled by the core's
    :func:`~doseladder.core.clinical.astct.ice_score` / ``capd_total``; the patient's age
    fills an ICANS form without one; unset (``None``) optional fields are left out."""
    out = {k: v for k, v in form.items() if v is not None}
    if kind == "crs":
        if "death_due_to_crs" in out:
            out["death"] = out.pop("death_due_to_crs")
        if out.get("vasopressors") == []:
            del out["vasopressors"]
    if kind == "icans":
        if "death_due_to_icans" in out:
            out["death"] = out.pop("death_due_to_icans")
        items = out.pop("ice_items", None)
        if items is not None:
            if "ice" in out:
                raise ValidationError("icans.ice", "give the ICE score or its items, not both")
            mapping = _mapping("icans.ice_items", items, _ICE_ITEMS)
            a = _core(
                "icans.ice_items",
                lambda: astct.ice_score(**{k: mapping.get(k) for k in _ICE_ITEMS}),
            )
            out["ice"] = _graded_total("icans.ice_items", a)
        points = out.pop("capd_items", None)
        if points is not None:
            if "capd" in out:
                raise ValidationError("icans.capd", "give the CAPD total or its items, not both")
            a = _core("icans.capd_items", lambda: astct.capd_total(points))
            out["capd"] = _graded_total("icans.capd_items", a)
        if out.get("age_years") is None:
            if age is None:
                raise ValidationError(
                    "icans.age_years", "is required (the patient's age selects ICE or CAPD)"
                )
            out["age_years"] = age
    return out


def _graded_total(field: str, a: Assessment[int]) -> int:
    if not a.evaluable or a.value is None:
        missing = a.missing[0] if a.missing else ""
        raise ValidationError(f"{field}.{missing}" if missing else field, " ".join(a.reasons))
    return int(a.value)


def grade_adverse_event(
    term: object,
    *,
    grade: object = None,
    lab: object = None,
    crs: object = None,
    icans: object = None,
    age: int | None = None,
) -> Graded:
    """Grade an adverse event with the core's :func:`~doseladder.core.clinical.forms.grade_event`:
    computed for lab, CRS and ICANS terms, chosen from the definitions otherwise.

    A ``grade`` given with a form must equal the computed grade (otherwise a 422 on ``grade``
    saying what the form gives); a form given for a term it does not grade is refused; a form
    that gives grade 0 or no grade is refused naming the missing field.
    """
    name = lookup_term(term)
    kind = term_kind(name)
    forms = {"lab": lab, "crs": crs, "icans": icans}
    for key, value in forms.items():
        if value is not None and key != kind:
            raise ValidationError(key, f"does not apply to {name}")
    if grade is not None and (isinstance(grade, bool) or not isinstance(grade, int)):
        raise ValidationError("grade", f"must be an integer, got {grade!r}")
    entered = grade if isinstance(grade, int) else None
    if kind == "defined":
        if grade is None:
            raise ValidationError("grade", f"is required: choose the grade of {name}")
        chosen = _core("", lambda: core_forms.grade_event(name, {"grade": grade}))
        return Graded(
            name,
            int(grade),
            CTCAE_SCALE,
            {
                "method": "definition",
                "form": {"grade": grade},
                "definition": grade_definitions(name).get(int(grade)),
                "assessment": chosen.to_dict(),
            },
        )
    form = forms[kind]
    if form is None:
        what = {"lab": "the lab value", "crs": "the ASTCT CRS form", "icans": "the ICANS form"}
        raise ValidationError(kind, f"is required: {name} is graded from {what[kind]}")
    if not isinstance(form, Mapping):
        raise ValidationError(kind, "must be a mapping of form fields")
    core_form = _form_for_core(kind, form, age)
    try:
        a = core_forms.grade_event(name, core_form, entered)
    except InputError as exc:
        inner = "temperature_unit" if (kind, exc.field) == ("crs", "unit") else exc.field
        field = inner if inner in ("grade", "term") else f"{kind}.{inner}"
        raise ValidationError(field, exc.reason) from None
    what_text = {"lab": "lab value", "crs": "ASTCT CRS form", "icans": "ICANS form"}[kind]
    computed = _graded_value(kind, a, what_text)
    scale = CTCAE_SCALE if kind == "lab" else ASTCT_SCALE
    method = {"lab": "lab", "crs": "crs_form", "icans": "icans_form"}[kind]
    return Graded(
        name,
        computed,
        scale,
        {"method": method, "form": _jsonable(dict(form)), "assessment": a.to_dict()},
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def attribution_of(relatedness: str | None) -> Attribution | None:
    """The core's attribution level of a stored relatedness (``None``: not assessed)."""
    return None if relatedness is None else _ATTRIBUTION[relatedness]


# ------------------------------------------------------------------ DLT proposal
def dlt_definition(protocol: object) -> DLTDefinition | None:
    """The protocol's DLT definition (``None`` for design files and protocols without one)."""
    dlt = getattr(protocol, "dlt", None)
    return dlt if isinstance(dlt, DLTDefinition) else None


@dataclass(frozen=True)
class Proposal:
    """A proposed DLT call for one patient (see :class:`~doseladder.conduct.models.DLTProposal`).

    ``event_status`` maps each event id to ``met`` / ``pending`` / ``not_met`` (its own call).
    """

    status: str
    rule: str | None
    event_id: int | None
    dlt_day: float | None
    message: str
    assessment: dict[str, Any] | None
    event_status: dict[int, str]


class Event(NamedTuple):
    """An adverse event as the proposal sees it (days on the trial clock).

    A named tuple, not a frozen dataclass: one is built for each of the patient's
    unadjudicated events at every write about the patient, and a named tuple is built (and
    hashed, :data:`_GRADED`) about three times faster."""

    id: int
    term: str
    grade: int
    onset: date
    resolved: date | None
    relatedness: str | None


def _day(epoch: date, d: date) -> int:
    return (d - epoch).days


#: the core's event of each (trial epoch, :class:`Event`) built so far in this process (at most
#: :data:`_GRADED_KEPT`, about 0.5 kB each, then forgotten at once): a patient's
#: unadjudicated events are read again at every write about the patient, and building each
#: anew made every write cost time in proportion to the patient's history.  The key holds
#: every value the core's event is built from (the columns as stored: ints, strings, dates),
#: and both are frozen, so a kept one is the one built again.
_GRADED: dict[tuple[date, Event], GradedEvent] = {}
_GRADED_KEPT = 20_000


def _graded(epoch: date, ev: Event) -> GradedEvent:
    key = (epoch, ev)
    graded = _GRADED.get(key)
    if graded is None:
        graded = GradedEvent(
            term=ev.term,
            grade=ev.grade,
            onset_day=_day(epoch, ev.onset),
            resolution_day=None if ev.resolved is None else _day(epoch, ev.resolved),
            attribution=attribution_of(ev.relatedness),
            event_id=str(ev.id),
        )
        if len(_GRADED) >= _GRADED_KEPT:
            _GRADED.clear()
        _GRADED[key] = graded
    return graded


def propose_dlt(
    definition: DLTDefinition | None,
    *,
    epoch: date,
    infusion: date | None,
    now: datetime,
    events: Sequence[Event],
) -> Proposal:
    """The core's DLT call for a patient's not-yet-adjudicated events at ``now``."""
    if definition is None:
        return Proposal(
            "not_evaluable",
            None,
            None,
            None,
            "The protocol states no DLT definition: adjudicate by hand (an override with a "
            "reason).",
            None,
            {},
        )
    if infusion is None:
        return Proposal("not_evaluable", None, None, None, "No infusion date yet.", None, {})
    now_day = (now - datetime(epoch.year, epoch.month, epoch.day, tzinfo=UTC)).total_seconds()
    today = max(
        [now_day / 86400.0]
        + [float(_day(epoch, e.onset)) for e in events]
        + [float(_day(epoch, e.resolved)) for e in events if e.resolved is not None]
    )
    inf_day = _day(epoch, infusion)
    today = max(today, float(inf_day))
    graded = [_graded(epoch, e) for e in events]
    # each event's own call (the core's call on it alone at the same ``today``) comes from
    # the one adjudication of all of them
    p, calls = core_dlt.propose_dlt_with_calls(
        definition, graded, infusion_day=inf_day, today=today
    )
    per_event = {ev.id: call.value for ev, call in zip(events, calls, strict=True)}
    event_id = None
    if p.event is not None and p.event.get("event_id") is not None:
        event_id = int(str(p.event["event_id"]))
    message = " ".join(p.reasons)
    if p.rule_text:
        message += f" Rule: {p.rule_text}"
    return Proposal(
        status=DLTStatus(p.status).value,
        rule=p.rule_id,
        event_id=event_id,
        dlt_day=p.dlt_day,
        message=message,
        assessment=p.assessment.to_dict() | {"rule_text": p.rule_text},
        event_status=per_event,
    )


# ----------------------------------------------------------------------- efficacy
#: instruments scored from components, and whether they give a response (responder or not)
INSTRUMENTS = {
    "ITP response": True,
    "SRI-4": True,
    "DORIS": True,
    "LLDAS": True,
    "SLEDAI-2K": False,
    "BILAG-2004": False,
    "PGA": False,
}
#: instrument names of the protocol response criteria
CRITERION_INSTRUMENT = {
    ResponseCriterion.ITP: "ITP response",
    ResponseCriterion.SRI4: "SRI-4",
    ResponseCriterion.DORIS: "DORIS",
    ResponseCriterion.LLDAS: "LLDAS",
}


def response_definition(protocol: object, indication: str | None) -> ResponseDefinition | None:
    """The protocol's response definition for ``indication`` (``None`` if it has none)."""
    response_for = getattr(protocol, "response_for", None)
    if response_for is None or indication is None:
        return None
    try:
        found = response_for(indication)
    except InputError:
        return None
    return found if isinstance(found, ResponseDefinition) else None


@dataclass(frozen=True)
class Scored:
    """An efficacy assessment's score/response and the proposed responder status."""

    instrument: str
    components: dict[str, Any]
    assessment: dict[str, Any]
    proposed_responder: bool | None
    message: str


def _sledai_input(field: str, value: object, visit: date) -> Any:
    if isinstance(value, Mapping):
        findings = {str(k): v for k, v in value.items()}
        for k, v in findings.items():
            if v is not None and not isinstance(v, bool):
                raise ValidationError(f"{field}.{k}", "must be true, false or null")
        return _core(field, lambda: sledai.sledai_2k(findings, visit_date=None))
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be a SLEDAI-2K total (0-105) or the 24 findings")
    return value


def _protocol_response(
    definition: ResponseDefinition, instrument: object, comp: dict[str, Any], assessed_on: date
) -> Scored:
    expected = CRITERION_INSTRUMENT[definition.crit]
    if instrument is not None and instrument != expected:
        raise ValidationError(
            "instrument",
            f"the protocol decides {definition.indication} response by {expected}, not "
            f"{instrument!r}",
        )
    inputs = dict(comp)
    if definition.crit is ResponseCriterion.ITP:
        inputs.setdefault("bleeding", None)  # not recorded = not assessed
        inputs.setdefault("baseline_platelets", None)
    for key in ("sledai_baseline", "sledai_follow_up"):
        if isinstance(inputs.get(key), Mapping):
            inputs[key] = _sledai_input(f"components.{key}", inputs[key], assessed_on)
    for key, value in list(inputs.items()):
        if isinstance(value, float | int) and not isinstance(value, bool):
            inputs[key] = _number(f"components.{key}", value)
    a = _core("", lambda: score_response(definition, inputs))
    responder: bool | None = None
    if a.evaluable and a.value is not None:
        if definition.crit is ResponseCriterion.ITP:
            value = a.value.value if hasattr(a.value, "value") else a.value
            responder = str(value) in definition.responder_values
        else:
            responder = a.value is True
    message = " ".join(a.reasons) + f" Protocol rule: {definition.describe()}"
    if responder is None:
        message += " The response cannot be computed: override it with a reason."
    assessment = a.to_dict() | {"rule_text": definition.describe()}
    return Scored(expected, _jsonable(comp), assessment, responder, message)


def score_efficacy(
    instrument: object,
    components: object,
    *,
    assessed_on: date,
    definition: ResponseDefinition | None = None,
) -> Scored:
    """Score an efficacy assessment and compute its response: by the protocol's response
    definition for the patient's indication when there is one (its instrument and
    parameters), otherwise by the named instrument."""
    if not isinstance(components, Mapping):
        raise ValidationError("components", "must be a mapping of the instrument's components")
    comp = {str(k): v for k, v in components.items()}
    if definition is not None:
        return _protocol_response(definition, instrument, comp, assessed_on)
    if not isinstance(instrument, str) or instrument not in INSTRUMENTS:
        raise ValidationError(
            "instrument", f"must be one of {', '.join(INSTRUMENTS)}, got {instrument!r}"
        )
    if instrument in ("DORIS", "LLDAS"):
        raise ValidationError(
            "instrument", f"{instrument} needs the protocol's response definition"
        )
    a: Assessment[Any]
    responder: bool | None = None
    if instrument == "ITP response":
        _mapping("components", comp, ("platelets", "unit", "baseline_platelets", "bleeding"))
        if comp.get("platelets") is None:
            raise ValidationError("components.platelets", "is required")
        unit = comp.get("unit")
        if not isinstance(unit, str) or not unit.strip():
            raise ValidationError("components.unit", "is required with the platelet count")
        bleeding = comp.get("bleeding")
        if bleeding is not None and not isinstance(bleeding, bool):
            raise ValidationError("components.bleeding", "must be true, false or null")
        plt = _number("components.platelets", comp["platelets"])
        base = _number("components.baseline_platelets", comp.get("baseline_platelets"))
        a = _core(
            "components",
            lambda: itp.itp_response(plt, base, bleeding, unit=unit),
        )
        if a.evaluable and a.value is not None:
            responder = a.value in (itp.ItpResponse.CR, itp.ItpResponse.PR)
    elif instrument == "SRI-4":
        keys = (
            "sledai_baseline",
            "sledai_follow_up",
            "bilag_baseline",
            "bilag_follow_up",
            "pga_baseline",
            "pga_follow_up",
        )
        _mapping("components", comp, keys)
        bl = _sledai_input("components.sledai_baseline", comp.get("sledai_baseline"), assessed_on)
        fu = _sledai_input("components.sledai_follow_up", comp.get("sledai_follow_up"), assessed_on)
        a = _core(
            "components",
            lambda: sri4.sri4(
                sledai_baseline=bl,
                sledai_follow_up=fu,
                bilag_baseline=comp.get("bilag_baseline"),
                bilag_follow_up=comp.get("bilag_follow_up"),
                pga_baseline=_number("components.pga_baseline", comp.get("pga_baseline")),
                pga_follow_up=_number("components.pga_follow_up", comp.get("pga_follow_up")),
                sledai_variant=sledai.SledaiVariant.SLEDAI_2K,
            ),
        )
        if a.evaluable and a.value is not None:
            responder = bool(a.value)
    elif instrument == "SLEDAI-2K":
        _mapping("components", comp, ("findings",))
        findings = comp.get("findings")
        if not isinstance(findings, Mapping):
            raise ValidationError("components.findings", "must map descriptors to true/false")
        a = _sledai_input("components.findings", findings, assessed_on)
    elif instrument == "BILAG-2004":
        _mapping("components", comp, ("grades",))
        grades = comp.get("grades")
        if not isinstance(grades, Mapping):
            raise ValidationError("components.grades", "must map BILAG systems to grades A-E")
        a = _core("components.grades", lambda: bilag_score(dict(grades)))
    else:
        _mapping("components", comp, ("pga",))
        value = _number("components.pga", comp.get("pga"))
        if value is None:
            raise ValidationError("components.pga", "is required")
        a = _core("components", lambda: pga(value))
    message = " ".join(a.reasons)
    if INSTRUMENTS[instrument] and responder is None:
        message += " The response cannot be computed: confirm is not possible; override it."
    return Scored(instrument, _jsonable(comp), a.to_dict(), responder, message)
