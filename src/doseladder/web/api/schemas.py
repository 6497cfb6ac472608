"""Request and response models of the JSON API.

Requests are validated strictly before any service is called: integers are integers (``true``
or ``"3"`` are refused), booleans are booleans, dates are ``YYYY-MM-DD``, identifiers are in
``1..2147483647``, text has a maximum length and no NUL or other control characters, and
unknown fields are refused.  The services then apply the clinical rules (dates not in the
future, criteria consistent with eligibility, the decided dose, ...), so every refusal names
the field and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from doseladder.conduct.plausibility import DLT_WINDOW_DAYS, EFFICACY_WINDOW_DAYS
from doseladder.conduct.security import Role
from doseladder.conduct.services.esignatures import PRINTED_NAME_MAX, PRINTED_NAME_MIN

__all__ = [
    "CLEAN",
    "MAX_ID",
    "STRIPPED",
    "TEXT_PATTERN",
    "WHOLE",
    "ErrorOut",
    "Text",
]

#: largest id accepted (PostgreSQL ``integer``)
MAX_ID = 2_147_483_647

#: the characters text may not contain: C0 controls other than tab, LF and CR, and DEL
_FORBIDDEN = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROL = re.compile(f"[{_FORBIDDEN}]")
#: the allowed characters ``str.strip()`` removes (spelled out: fuzzers read ``\\s`` variously)
_SPACE = r"\t\n\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: what :func:`_clean_text` accepts, stated in the OpenAPI document: no control characters
#: (lone surrogates, also refused, cannot be written in a pattern the fuzzers understand)
TEXT_PATTERN = f"^[^{_FORBIDDEN}]*$"


def _clean_text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _clean_json(value: Any, depth: int = 0) -> Any:
    """Refuse control characters/surrogates anywhere in a JSON value (keys too)."""
    if depth > 20:
        raise ValueError("is nested too deeply")
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        for k, v in value.items():
            _clean_text(str(k))
            _clean_json(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _clean_json(v, depth + 1)
    return value


def _date_only(value: Any) -> Any:
    if isinstance(value, datetime):
        raise ValueError("must be a date YYYY-MM-DD, not a timestamp")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise ValueError("must be a date YYYY-MM-DD")


def Text(max_length: int, min_length: int = 1) -> StringConstraints:
    """Length limits of a (strict) string; use with :data:`CLEAN`:
    ``Annotated[str, Text(64), CLEAN]``."""
    return StringConstraints(min_length=min_length, max_length=max_length, strict=True)


def text_pattern(min_length: int = 0) -> str:
    """:data:`TEXT_PATTERN`, and for ``min_length >= 2`` also that many characters once
    surrounding white space is stripped (the services strip text before checking its length,
    ``doseladder.conduct.services._common.text``)."""
    if min_length < 2:
        return TEXT_PATTERN
    ok, inner = f"[^{_FORBIDDEN}]", f"[^{_SPACE}{_FORBIDDEN}]"
    return f"^[{_SPACE}]*{inner}{ok}{{{min_length - 2},}}{inner}[{_SPACE}]*$"


@dataclass(frozen=True)
class _CleanText:
    """Refuses control characters and lone surrogates (:func:`_clean_text`) and states it in
    the JSON schema as :data:`TEXT_PATTERN` (``stripped``: text whose service strips it before
    checking the minimum length, :func:`text_pattern`)."""

    stripped: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_clean_text, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        minimum = int(out.get("minLength", 0)) if self.stripped else 0
        out["pattern"] = text_pattern(minimum)
        return out


#: refuses control characters and lone surrogates (PostgreSQL cannot store NUL)
CLEAN = _CleanText()
#: :data:`CLEAN` for text the service strips before checking its minimum length
STRIPPED = _CleanText(stripped=True)


def _whole_number(value: Any) -> Any:
    """A JSON number with no fraction (``3.0``) is an integer (JSON Schema's ``integer``);
    ``true``, ``"3"`` and ``3.5`` stay refused by the strict integer that follows."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


#: accepts ``3.0`` where an integer is asked (last in ``Annotated``: it runs first, and the
#: bounds before it stay ``minimum``/``maximum`` in the JSON schema)
WHOLE = BeforeValidator(_whole_number)


Id = Annotated[int, Strict(), Field(ge=1, le=MAX_ID), WHOLE]
IsoDate = Annotated[date, BeforeValidator(_date_only)]
StrictBool = Annotated[bool, Strict()]
Reason = Annotated[str, Text(2000, 3), STRIPPED]


def _json_value(depth: int) -> dict[str, Any]:
    """A JSON value whose strings and keys hold no control character, to ``depth`` levels
    (deeper values are left open: :func:`_clean_json` checks every level)."""
    clean = {"type": "string", "pattern": TEXT_PATTERN}
    if depth <= 0:
        return {}
    scalar: dict[str, Any] = {"type": ["number", "boolean", "null"]}
    inner = _json_value(depth - 1)
    return {
        "anyOf": [
            clean,
            scalar,
            {"type": "array", "items": inner},
            {
                "type": "object",
                "propertyNames": {"pattern": TEXT_PATTERN},
                "additionalProperties": inner,
            },
        ]
    }


#: the JSON schema of :data:`JsonObject` (what ``_clean_json`` refuses, stated two levels deep)
JSON_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": TEXT_PATTERN},
    "additionalProperties": _json_value(2),
}
JsonObject = Annotated[
    dict[str, Any], AfterValidator(_clean_json), WithJsonSchema(JSON_OBJECT_SCHEMA)
]
#: criterion id → met (ids: 1-64 characters, no control characters)
Criteria = Annotated[
    dict[Annotated[str, Text(64), CLEAN], StrictBool],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"minLength": 1, "maxLength": 64, "pattern": TEXT_PATTERN},
            "additionalProperties": {"type": "boolean"},
        }
    ),
]
Code = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
]
Relatedness = Literal[
    "definite",
    "probable",
    "possible",
    "unlikely",
    "unrelated",
    "related",
    "possibly_related",
    "unlikely_related",
]
Sex = Literal["F", "M", "U"]
Domain = Literal["DM", "EX", "AE", "RS"]
RoleName = Literal["admin", "statistician", "investigator", "data_manager", "monitor", "committee"]
assert set(RoleName.__args__) == {r.value for r in Role}  # type: ignore[attr-defined]


class In(BaseModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """Base of responses (built from ORM rows or service dicts)."""

    model_config = ConfigDict(from_attributes=True)


# ---------------------------------------------------------------------- errors
class ErrorDetail(BaseModel):
    """One problem with the request."""

    field: str
    reason: str


class ErrorOut(BaseModel):
    """The body of every error response.

    ``error`` is a stable code (``invalid``, ``unauthenticated``, ``forbidden``,
    ``not_found``, ``conflict``, ``internal``); ``field`` and ``reason`` say what was wrong with
    the input (``field`` is a dotted path such as ``body.grade`` for request validation).
    """

    error: str
    message: str
    field: str | None = None
    reason: str | None = None
    errors: list[ErrorDetail] | None = None


# ------------------------------------------------------------------------ auth
class LoginIn(In):
    username: Annotated[str, Text(64), CLEAN]
    password: Annotated[str, Text(1024), CLEAN]
    label: Annotated[str, Text(100), CLEAN] = "api"


class MeOut(Out):
    user_id: int | None
    username: str
    role: str
    site_id: int | None
    permissions: list[str]


class TokenOut(BaseModel):
    token: str
    token_id: int
    expires_at: datetime | None
    user: MeOut


class LogoutOut(BaseModel):
    revoked_token_id: int


# ------------------------------------------------------------------ sites/users
class SiteIn(In):
    code: Code
    name: Annotated[str, Text(200), CLEAN]


class SiteOut(Out):
    id: int
    code: str
    name: str
    active: bool
    created_at: datetime


class ReasonIn(In):
    reason: Reason


class UserIn(In):
    username: Code
    password: Annotated[str, Text(1024, 12), CLEAN]
    role: RoleName
    site_id: Id | None = None
    display_name: Annotated[str, Text(200), CLEAN] | None = None


class PasswordIn(In):
    new_password: Annotated[str, Text(1024, 12), CLEAN]
    old_password: Annotated[str, Text(1024), CLEAN] | None = None


class UserOut(Out):
    id: int
    username: str
    display_name: str | None
    role: str
    site_id: int | None
    active: bool
    created_at: datetime


# ---------------------------------------------------------------------- trials
def WindowDays(bounds: tuple[float, float]) -> Any:
    """A window in days: any positive number is well formed (checked here); the clinically
    plausible range ``bounds`` (from :mod:`doseladder.conduct.plausibility`, which the service
    enforces, naming the range) is stated in the OpenAPI document."""
    low, high = bounds
    return Annotated[
        float,
        Strict(),
        Field(gt=0, le=3650, json_schema_extra={"minimum": low, "maximum": high}),
    ]


def _shipped_names(schema: dict[str, Any]) -> None:
    """States the names of the shipped protocols (the library is the source) in the schema."""
    from doseladder.protocols.shipped import list_protocols

    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string":
            option["enum"] = list_protocols()


class _ProtocolSource(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={  # what _one_source checks: exactly one of the two, not null
            "oneOf": [
                {"required": ["protocol"], "properties": {"protocol": {"type": "object"}}},
                {
                    "required": ["shipped_protocol"],
                    "properties": {"shipped_protocol": {"type": "string"}},
                },
            ]
        },
    )

    protocol: JsonObject | None = Field(
        default=None,
        description="The design or protocol file as a JSON object (give this or shipped_protocol).",
    )
    shipped_protocol: Annotated[str, Text(100), CLEAN] | None = Field(
        default=None,
        description="Name of a protocol shipped with doseladder (GET /protocols).",
        json_schema_extra=_shipped_names,
    )
    source_text: Annotated[str, Text(1_000_000, 0), CLEAN] | None = None
    source_name: Annotated[str, Text(255), CLEAN] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> _ProtocolSource:
        if (self.protocol is None) == (self.shipped_protocol is None):
            raise ValueError("give exactly one of protocol and shipped_protocol")
        return self


class TrialIn(_ProtocolSource):
    code: Code
    title: Annotated[str, Text(300), CLEAN]
    epoch: IsoDate | None = None
    require_signoff_for_escalation: StrictBool | None = None
    dlt_window_days: WindowDays(DLT_WINDOW_DAYS) | None = None  # type: ignore[valid-type]
    efficacy_window_days: WindowDays(EFFICACY_WINDOW_DAYS) | None = None  # type: ignore[valid-type]
    sandbox: StrictBool = False


class AmendIn(_ProtocolSource):
    reason: Reason


class OpenIn(In):
    reason: Reason | None = None


class TrialSiteIn(In):
    site_id: Id


class TrialOut(Out):
    id: int
    code: str
    title: str
    status: str
    status_reason: str | None
    epoch: date
    require_signoff_for_escalation: bool
    dlt_window_days: float | None
    efficacy_window_days: float | None
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    sandbox: bool | None = None
    clock_offset_days: float | None = None


class TrialSiteOut(Out):
    id: int
    trial_id: int
    site_id: int
    activated_at: datetime


class ProtocolVersionOut(Out):
    id: int
    trial_id: int
    version: int
    kind: str
    content_sha256: str
    source_name: str | None
    reason: str | None
    amendment: bool
    created_at: datetime


class ShippedProtocolOut(BaseModel):
    name: str
    title: str
    design: str
    indications: list[str]


# -------------------------------------------------------------------- patients
class ScreeningIn(In):
    screened_on: IsoDate
    eligible: StrictBool
    criteria: Criteria | None = Field(
        default=None, description="Criterion id → met (every one must be met if eligible)."
    )
    notes: Annotated[str, Text(2000, 0), CLEAN] | None = None


class PatientIn(In):
    site_id: Id | None = None
    indication: Annotated[str, Text(64), CLEAN] | None = None
    study_id: Annotated[str, Text(32), CLEAN] | None = None
    sex: Sex | None = None
    age: Annotated[int, Strict(), Field(ge=0, le=120), WHOLE] | None = None
    screening: ScreeningIn | None = Field(
        default=None, description="Record the screening result in the same transaction."
    )


class ScreeningReportIn(In):
    record: JsonObject = Field(
        description="A patient record: doseladder patient JSON or a FHIR R4 Bundle."
    )
    screening_date: IsoDate | None = Field(
        default=None, description="Reference date of the look-backs (default: the record's)."
    )
    indication: Annotated[str, Text(64), CLEAN] | None = None


class ScreeningChanges(In):
    screened_on: IsoDate | None = None
    eligible: StrictBool | None = None
    criteria: Criteria | None = None
    notes: Annotated[str, Text(2000, 0), CLEAN] | None = None


class ScreeningCorrectionIn(In):
    changes: ScreeningChanges
    reason: Reason


DoseLevel = Annotated[int, Strict(), Field(ge=1, le=100), WHOLE]


Cohort = Literal["escalation", "backfill"]


class EnrolIn(In):
    """An enrolment into an escalation slot of the latest decision (``dose_level`` required:
    the decision's dose) or into a backfill slot (``cohort: backfill``, designs with backfill:
    ``dose_level`` is the dose the backfill rule assigns, or omitted to take it; omitted when
    the rule is ``random``: the service draws the dose)."""

    dose_level: DoseLevel | None = Field(
        None, description="The dose level (required for an escalation enrolment)."
    )
    decision_id: Id | None = None
    infusion_date: IsoDate | None = None
    cohort: Cohort = Field(
        "escalation",
        description="escalation: a slot of the latest decision; backfill: a backfill slot at "
        "a dose open for backfill now (409 when none is open, the dose is not open, its cap "
        "is reached or the design has no backfill).",
    )


class InfusionIn(In):
    infusion_date: IsoDate


class EnrolmentChanges(In):
    infusion_date: IsoDate | None = None
    dose_level: DoseLevel | None = None


class EnrolmentCorrectionIn(In):
    changes: EnrolmentChanges
    reason: Reason


class PatientOut(Out):
    id: int
    trial_id: int
    site_id: int
    study_id: str
    indication: str | None
    sex: str | None
    age: int | None
    registered_at: datetime


class VersionedOut(Out):
    id: int
    trial_id: int
    patient_id: int
    root_id: int | None
    supersedes_id: int | None
    version: int
    voided: bool
    change_reason: str | None
    entered_at: datetime
    entered_by_id: int | None


class ScreeningOut(VersionedOut):
    screened_on: date
    eligible: bool
    criteria: dict[str, Any] | None
    notes: str | None


class EnrolmentOut(VersionedOut):
    decision_id: int
    slot: int
    indication: str | None
    dose_level: int
    enrolled_at: datetime
    infusion_date: date | None
    # rows entered before backfill existed have no cohort: escalation
    cohort: Annotated[Cohort, BeforeValidator(lambda v: "escalation" if v is None else v)] = Field(
        "escalation", description="escalation (a slot of the decision) or backfill."
    )


class AdverseEventOut(VersionedOut):
    term: str
    grade: int
    onset_date: date
    resolved_date: date | None
    serious: bool
    relatedness: str | None
    dlt_candidate: bool
    grade_scale: str | None = None
    grading: dict[str, Any] | None = None


class EfficacyOut(VersionedOut):
    assessed_on: date
    instrument: str
    responder: bool
    final: bool
    measures: dict[str, Any] | None
    components: dict[str, Any] | None = None
    assessment: dict[str, Any] | None = None
    proposed_responder: bool | None = None
    call: str | None = None


class AdjudicationOut(VersionedOut):
    adverse_event_id: int | None
    is_dlt: bool
    onset_date: date | None
    rationale: str
    proposal_id: int | None = None
    call: str | None = None


class DLTProposalOut(Out):
    """The service's proposed DLT call for a patient (confirm or override it)."""

    id: int
    trial_id: int
    patient_id: int
    status: Literal["yes", "no", "not_yet_known", "not_evaluable"]
    rule: str | None
    adverse_event_id: int | None
    dlt_day: float | None
    message: str
    assessment: dict[str, Any] | None
    proposed_at: datetime
    proposed_by_id: int | None


class PatientRecordOut(BaseModel):
    patient: PatientOut
    screening: list[ScreeningOut]
    enrolment: list[EnrolmentOut]
    adverse_events: list[AdverseEventOut]
    efficacy: list[EfficacyOut]
    dlt_adjudications: list[AdjudicationOut]


class RegisteredOut(BaseModel):
    patient: PatientOut
    screening: ScreeningOut | None


# -------------------------------------------------------------------- outcomes
Grade = Annotated[int, Strict(), Field(ge=1, le=5), WHOLE]


Number = Annotated[float, Strict(), Field(ge=0, le=1e9, allow_inf_nan=False)]
UnitText = Annotated[str, Text(32), CLEAN]


class LabForm(In):
    """A laboratory value for a CTCAE lab term: the value, its unit, and the limits in the
    same unit (the ULN for increasing terms, the LLN for grade 1 of decreasing terms, the
    baseline for ALT/AST/bilirubin/creatinine)."""

    value: Number
    unit: UnitText
    lln: Number | None = None
    uln: Number | None = None
    baseline: Number | None = None
    baseline_uln: Number | None = None
    life_threatening: StrictBool | None = None


OxygenSupport = Literal[
    "none",
    "blow_by",
    "nasal_cannula",
    "low_flow_nasal_cannula",
    "high_flow_nasal_cannula",
    "facemask",
    "non_rebreather",
    "venturi_mask",
    "cpap",
    "bipap",
    "mechanical_ventilation",
]


class CrsForm(In):
    """The ASTCT 2019 CRS form: fever, hypotension and vasopressors, hypoxia and oxygen."""

    temperature_max: Annotated[float, Strict(), Field(ge=25, le=115)] | None = None
    temperature_unit: Literal["°C", "°F", "C", "F"] | None = None
    fever_other_cause: StrictBool | None = None
    fever_masked_by_treatment: StrictBool = False
    hypotension: StrictBool | None = None
    vasopressors: Annotated[list[Annotated[str, Text(64), CLEAN]], Field(max_length=10)] = []
    oxygen: OxygenSupport | None = None
    o2_flow_l_per_min: Annotated[float, Strict(), Field(ge=0, le=80)] | None = None
    death_due_to_crs: StrictBool = False


class IceItems(In):
    """The ICE score's items (10 points)."""

    orientation_year: StrictBool
    orientation_month: StrictBool
    orientation_city: StrictBool
    orientation_hospital: StrictBool
    objects_named: Annotated[int, Strict(), Field(ge=0, le=3), WHOLE]
    follows_commands: StrictBool
    writes_sentence: StrictBool
    counts_backwards_by_10: StrictBool


class IcansForm(In):
    """The ASTCT 2019 ICANS form: ICE score (≥ 12 years) or CAPD (children), consciousness,
    seizure, motor findings, cerebral oedema.  The age defaults to the patient's."""

    age_years: Annotated[int, Strict(), Field(ge=0, le=120), WHOLE] | None = None
    ice: Annotated[int, Strict(), Field(ge=0, le=10), WHOLE] | None = None
    ice_items: IceItems | None = None
    capd: Annotated[int, Strict(), Field(ge=0, le=32), WHOLE] | None = None
    capd_items: (
        Annotated[
            list[Annotated[int, Strict(), Field(ge=0, le=4), WHOLE]],
            Field(min_length=8, max_length=8),
        ]
        | None
    ) = None
    capd_unable: StrictBool = False
    developmental_delay: StrictBool = False
    consciousness: (
        Literal[
            "alert",
            "awakens_spontaneously",
            "awakens_to_voice",
            "awakens_to_tactile",
            "unarousable",
        ]
        | None
    ) = None
    seizure: Literal["none", "rapidly_resolving", "prolonged_or_repetitive"] | None = "none"
    motor: Literal["none", "deep_focal_weakness"] | None = "none"
    cerebral_edema: Literal["none", "focal", "diffuse_or_signs"] | None = "none"
    death_due_to_icans: StrictBool = False


class AdverseEventIn(In):
    """An adverse event: a CTCAE v5.0 term with ``lab`` (laboratory terms), ``crs`` / ``icans``
    (the ASTCT forms) or the chosen ``grade`` (other terms).  A ``grade`` given with a form
    must equal the grade the form computes."""

    term: Annotated[str, Text(200), CLEAN]
    grade: Grade | None = None
    lab: LabForm | None = None
    crs: CrsForm | None = None
    icans: IcansForm | None = None
    onset_date: IsoDate
    serious: StrictBool = False
    resolved_date: IsoDate | None = None
    relatedness: Relatedness | None = None
    dlt_candidate: StrictBool = False


class AdverseEventChanges(In):
    term: Annotated[str, Text(200), CLEAN] | None = None
    grade: Grade | None = None
    lab: LabForm | None = None
    crs: CrsForm | None = None
    icans: IcansForm | None = None
    onset_date: IsoDate | None = None
    resolved_date: IsoDate | None = None
    serious: StrictBool | None = None
    relatedness: Relatedness | None = None
    dlt_candidate: StrictBool | None = None


class AdverseEventCorrectionIn(In):
    changes: AdverseEventChanges
    reason: Reason


class EfficacyIn(In):
    assessed_on: IsoDate
    instrument: Annotated[str, Text(64), CLEAN]
    responder: StrictBool
    final: StrictBool = False
    measures: JsonObject | None = None


class EfficacyChanges(In):
    assessed_on: IsoDate | None = None
    instrument: Annotated[str, Text(64), CLEAN] | None = None
    responder: StrictBool | None = None
    final: StrictBool | None = None
    measures: JsonObject | None = None


class EfficacyCorrectionIn(In):
    changes: EfficacyChanges
    reason: Reason


class EfficacyComponentsIn(In):
    """An efficacy assessment entered as its components; the score and the response are
    computed and the response is proposed for confirmation.  When the protocol defines the
    response of the patient's indication, its instrument is used (``instrument`` may be left
    out; another one is refused) with the instrument's own inputs as components.

    ``components`` by instrument: ``ITP response``: ``platelets``, ``unit``,
    ``baseline_platelets``, ``bleeding``; ``SRI-4``: ``sledai_baseline``/``sledai_follow_up``
    (totals or the 24 SLEDAI-2K findings), ``bilag_baseline``/``bilag_follow_up`` (system →
    A-E), ``pga_baseline``/``pga_follow_up``; ``SLEDAI-2K``: ``findings``; ``BILAG-2004``:
    ``grades``; ``PGA``: ``pga``."""

    assessed_on: IsoDate
    instrument: (
        Literal["ITP response", "SRI-4", "DORIS", "LLDAS", "SLEDAI-2K", "BILAG-2004", "PGA"] | None
    ) = None
    components: JsonObject
    final: StrictBool = False


# -------------------------------------------------------------- lymphodepletion
LdDose = Annotated[
    float,
    Strict(),
    Field(
        gt=0,
        le=1e6,
        allow_inf_nan=False,
        description="The daily dose given, in the agent's unit (a JSON number).  The service "
        "stores it as an exact decimal and refuses more than 4 decimals and a dose outside "
        "0.25 × the regimen's low dose .. 1.5 × its high dose "
        "(``doseladder.conduct.services.lymphodepletion``).",
    ),
]


class LymphodepletionIn(In):
    """One administration of a lymphodepleting agent.  ``agent`` must be one of the protocol
    regimen's agents; ``given_on`` not before consent, not in the future on the trial clock,
    and (once the infusion date is recorded) within the agent's planned days around the
    infusion ± 7 days, before the infusion day when every planned day is; before the infusion
    is known, not before the enrolment.  ``unit`` may be left out (it is the agent's unit)."""

    agent: Annotated[str, Text(100), CLEAN]
    given_on: IsoDate
    dose: LdDose
    unit: Annotated[str, Text(20), CLEAN] | None = None
    note: Annotated[str, Text(2000), CLEAN] | None = None


class LymphodepletionChanges(In):
    agent: Annotated[str, Text(100), CLEAN] | None = None
    given_on: IsoDate | None = None
    dose: LdDose | None = None
    unit: Annotated[str, Text(20), CLEAN] | None = None
    note: Annotated[str, Text(2000), CLEAN] | None = None


class LymphodepletionCorrectionIn(In):
    changes: LymphodepletionChanges
    reason: Reason


class LymphodepletionOut(VersionedOut):
    """A recorded administration (``dose``: exact decimal text, in ``unit``)."""

    agent: str
    given_on: date
    dose: Decimal
    unit: str
    note: str | None


class ConfirmIn(In):
    reason: Annotated[str, Text(2000), CLEAN] | None = None


class DLTOverrideIn(In):
    is_dlt: StrictBool
    reason: Reason
    adverse_event_id: Id | None = None
    onset_date: IsoDate | None = None


class ResponseOverrideIn(In):
    responder: StrictBool
    reason: Reason


class TermOut(BaseModel):
    term: str
    kind: str
    scale: str
    grades: dict[str, str]


class AdjudicationIn(In):
    is_dlt: StrictBool
    rationale: Annotated[str, Text(4000, 3), STRIPPED]
    adverse_event_id: Id | None = None
    onset_date: IsoDate | None = None


class AdjudicationChanges(In):
    #: optional, but not null (the service refuses a null call)
    is_dlt: Annotated[StrictBool | None, WithJsonSchema({"type": "boolean"})] = None
    onset_date: IsoDate | None = None
    rationale: Annotated[str, Text(4000, 3), STRIPPED] | None = None


class AdjudicationCorrectionIn(In):
    changes: AdjudicationChanges
    reason: Reason


# ------------------------------------------------------------------- decisions
class BackfillDoseOut(BaseModel):
    dose: int = Field(description="1-based dose level open for backfill now.")
    dose_label: str | None
    patients: int = Field(
        description="Patients at this dose now (escalation and backfill, pending included)."
    )
    slots_left: int = Field(
        description="Backfill patients this dose may still take under the cap, for the patients "
        "there now (escalation and backfill, pending included): n_cap minus them with "
        "cap_rule at_most, n_cap + 1 minus them with cap_rule bfboin; 0 = the cap is reached."
    )


class BackfillFullOut(BaseModel):
    dose: int = Field(description="1-based dose level whose backfill cap is reached.")
    dose_label: str | None
    patients: int = Field(description="Patients at this dose (escalation and backfill).")


class BackfillOut(BaseModel):
    """Backfill now (designs with backfill, e.g. BF-BOIN)."""

    n_cap: int = Field(description="Cap on the patients at a backfill dose.")
    cap_rule: str = Field(
        description="How the cap reads: at_most (never more than n_cap patients at a dose) or "
        "bfboin (a dose takes backfill patients while it has <= n_cap, so up to n_cap + 1)."
    )
    cap_text: str = Field(description="The cap in words, as the protocol states it.")
    assign: str | None = Field(description="highest, lowest or random.")
    open: list[BackfillDoseOut] = Field(description="The doses open for backfill now.")
    full: list[BackfillFullOut] = Field(
        default_factory=list,
        description="Doses below the escalation dose closed to backfill by the cap.",
    )
    dose: int | None = Field(
        description="The dose the next backfill patient goes to (null: none has a slot, or "
        "random: drawn at enrolment)."
    )
    dose_label: str | None


class IndicationOut(BaseModel):
    indication: str | None
    role: str
    status: str
    next_dose: int | None
    dose_label: str | None
    current_dose: int | None
    rule: str
    message: str
    reason_values: dict[str, Any]
    steps: list[dict[str, Any]]
    available_at: float | str | None
    requires_signoff: bool
    slots: int
    backfill: BackfillOut | None = Field(
        None, description="Doses open for backfill and their slots (null: no backfill)."
    )


class EscalationSlotsOut(BaseModel):
    decision_id: int | None = Field(description="The latest decision (null: none recorded).")
    status: str | None
    dose: int | None
    dose_label: str | None
    slots: int
    slots_used: int
    slots_open: int


class SlotsOut(BaseModel):
    """Enrolment slots open now for one indication (the cohort is named in the enrolment)."""

    indication: str | None
    escalation: EscalationSlotsOut
    backfill: BackfillOut | None


class RecommendationOut(BaseModel):
    trial_id: int
    protocol_version_id: int
    protocol_version: int
    decision_time: datetime
    decision_day: float
    eliminated: list[int]
    indications: list[IndicationOut]
    plan: dict[str, Any]
    inputs: dict[str, Any]


class DecisionIn(In):
    indication: Annotated[str, Text(64), CLEAN] | None = None


class OverrideIn(In):
    dose_level: DoseLevel
    reason: Reason
    indication: Annotated[str, Text(64), CLEAN] | None = None
    slots: Annotated[int, Strict(), Field(ge=1, le=100), WHOLE] | None = None
    justification: Annotated[str, Text(4000)] | None = None


class ESignatureIn(In):
    """An electronic signature: the signer re-enters their password and prints their name."""

    password: Annotated[str, Text(200)]
    printed_name: Annotated[str, Text(PRINTED_NAME_MAX, PRINTED_NAME_MIN), STRIPPED]


class SignoffIn(ESignatureIn):
    approve: StrictBool
    comment: Reason


class SignatureOut(BaseModel):
    id: int
    subject_type: str
    subject_id: int
    meaning: str
    printed_name: str
    username: str
    role: str
    comment: str | None
    signed_at: datetime
    signed_by_id: int
    content_sha256: str
    valid: bool | None = None


class SignoffInfo(BaseModel):
    approved: bool
    comment: str
    signed_at: datetime
    signed_by_id: int | None


class DecisionOut(BaseModel):
    id: int
    trial_id: int
    seq: int
    indication: str | None
    source: str
    status: str
    current_dose: int | None
    next_dose: int | None
    dose_label: str | None
    recommended_status: str
    recommended_dose: int | None
    rule: str
    message: str
    override_reason: str | None
    eliminated: list[int]
    slots: int
    slots_used: int
    slots_open: int
    requires_signoff: bool
    signatures_required: int = 0
    justification: str | None = None
    signatures: list[SignatureOut] = []
    signoff: SignoffInfo | None
    latest: bool
    decision_time: datetime
    decision_day: float
    protocol_version_id: int
    engine_version: str
    inputs_sha256: str
    recorded_at: datetime
    recorded_by_id: int | None
    result: dict[str, Any]
    inputs: dict[str, Any]


class SignoffOut(Out):
    id: int
    trial_id: int
    decision_id: int
    approved: bool | None
    comment: str
    signed_at: datetime
    signed_by_id: int | None
    complete: bool = True
    signatures_required: int = 1
    signatures: list[SignatureOut] = []


class ReplayOut(BaseModel):
    decision_id: int
    ok: bool
    matches: bool
    inputs_intact: bool
    data_matches: bool
    stored: dict[str, Any]
    recomputed: dict[str, Any]
    differences: list[str]
    engine_version: str
    current_version: str


# ----------------------------------------------------------------------- audit
class VerifyOut(BaseModel):
    ok: bool
    events: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None
    data_problems: list[str]


class AuditEventOut(BaseModel):
    seq: int
    ts: datetime
    actor_user_id: int | None
    actor_username: str
    actor_role: str | None
    trial_id: int | None
    entity_type: str
    entity_id: str | None
    action: str
    reason: str | None
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    hash: str


# ------------------------------------------------------- administration, sandbox
class RoleIn(In):
    role: RoleName
    site_id: Id | None = None
    reason: Reason


class ReviewIn(In):
    note: Annotated[str, Text(2000), CLEAN] | None = None


class AccessReviewOut(BaseModel):
    user_id: int
    username: str
    display_name: str | None
    role: str
    site_id: int | None
    site_code: str | None
    active: bool
    created_at: datetime
    last_login: datetime | None
    last_reviewed_at: datetime | None
    last_reviewed_by: str | None


class ClockIn(In):
    days: Annotated[float, Strict(), Field(gt=0, le=3650)]
    reason: Reason


class ClockOut(BaseModel):
    trial_id: int
    sandbox: bool
    now: datetime
    offset_days: float
