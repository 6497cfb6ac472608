"""The protocol file schema, version 1 (pydantic v2 models; unknown keys are errors).

A protocol file is a YAML (or JSON) mapping describing a whole trial; ``docs/protocols.md``
documents every key.  Top level::

    schema_version: 1              # required; this module reads version 1 only
    id: str-p004-nct07143617       # file identifier
    provenance: {...}              # seed file, registry ids, what the record is
    identifiers: {...}             # title, NCT id, sponsor, phase, status, enrolment, dates
    population: {...}              # ages, sex
    product: {...}                 # name, modality, route
    doses: [...]                   # labelled levels, lowest first, amounts in real units
    lymphodepletion: {...} | null  # agents, mg/m² ranges, days relative to infusion
    design: {...}                  # a core design (as in design files), dose labels allowed
    windows: {...}                 # DLT and efficacy assessment windows (days)
    dlt: {...} | null              # DLT definition: rules, exclusions, attribution
    response: [...]                # per indication: instrument and timing of response
    indications: [...]             # cohorts; at most one 'driving: true'
    rules: {...}                   # fallback, other indications, monitor, staggering, backfill
    criteria: [...]                # eligibility: id, category, scope, verbatim source text
    schedule: {...}                # assessments and timing rules; month convention
    review: [...]                  # every ambiguity of the source, with a note
    notes: "..."

Structural validation is here (types, required keys, allowed values, unknown keys); semantic
validation (labels that exist, the design's own parameter checks, unique ids, windows vs design)
is in :mod:`doseladder.protocols.loader`, which turns every failure into an
:class:`~doseladder.core.errors.InputError` whose field is the dotted path of the bad key
(``doses[2].amount.unit``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from doseladder.core.dosing import DoseUnit
from doseladder.core.errors import InputError

__all__ = [
    "SCHEMA_VERSION",
    "AmountModel",
    "AssessmentModel",
    "BackfillModel",
    "CriterionModel",
    "DLTExclusionModel",
    "DLTModel",
    "DLTRuleModel",
    "DoseModel",
    "FallbackModel",
    "IdentifiersModel",
    "IndicationModel",
    "LymphodepletionAgentModel",
    "LymphodepletionModel",
    "OtherIndicationsModel",
    "PopulationModel",
    "ProductModel",
    "ProtocolFile",
    "ProvenanceModel",
    "ResponseModel",
    "ReviewItemModel",
    "RulesModel",
    "SafetyMonitorModel",
    "ScheduleModel",
    "StaggeringModel",
    "TimingModel",
    "WindowsModel",
]

SCHEMA_VERSION = 1

DateLike = dt.date | str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Reviewable(_Model):
    needs_review: bool = False
    review_note: str | None = None

    @model_validator(mode="after")
    def _note_when_flagged(self) -> _Reviewable:
        if self.needs_review and not (self.review_note and self.review_note.strip()):
            raise ValueError("needs_review is true: give a review_note saying why")
        return self


class ProvenanceModel(_Model):
    """Where the protocol comes from."""

    seed_file: str
    registry: str | None = None
    registry_id: str | None = None
    record_last_updated: DateLike | None = None
    description: str | None = None


class IdentifiersModel(_Model):
    title: str
    short_name: str | None = None
    nct_id: str | None = None
    org_study_id: str | None = None
    sponsor: str | None = None
    collaborators: list[str] = []
    investigator: str | None = None
    phase: str | None = None
    status: str | None = None
    enrollment: int | None = Field(default=None, ge=1)
    start_date: DateLike | None = None
    primary_completion_date: DateLike | None = None
    completion_date: DateLike | None = None


class PopulationModel(_Model):
    min_age_years: float | None = Field(default=None, ge=0)
    max_age_years: float | None = Field(default=None, ge=0)
    sex: str | None = None
    healthy_volunteers: bool | None = None


class ProductModel(_Model):
    name: str
    modality: str | None = None
    route: str | None = None
    source_text: str | None = None


def _unit(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return DoseUnit.parse(value).value
    except InputError as exc:
        raise ValueError(exc.reason) from None


class AmountModel(_Model):
    """Exactly one of ``value``, ``placeholder``, or ``low`` and ``high``; ``unit`` required
    (``null`` when the source does not state it)."""

    unit: str | None
    value: float | None = Field(default=None, gt=0)
    placeholder: str | None = Field(default=None, min_length=1)
    low: float | None = Field(default=None, gt=0)
    high: float | None = Field(default=None, gt=0)

    _check_unit = field_validator("unit", mode="before")(_unit)

    @model_validator(mode="after")
    def _one_form(self) -> AmountModel:
        forms = sum(
            [
                self.value is not None,
                self.placeholder is not None,
                self.low is not None or self.high is not None,
            ]
        )
        if forms != 1:
            raise ValueError("give exactly one of value, placeholder, or low and high")
        if (self.low is None) != (self.high is None):
            raise ValueError("a range needs both low and high")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}")
        return self


class DoseModel(_Reviewable):
    label: str = Field(min_length=1)
    amount: AmountModel
    role: str | None = None
    source_text: str | None = None


class LymphodepletionAgentModel(_Model):
    name: str = Field(min_length=1)
    low: float = Field(gt=0)
    high: float = Field(gt=0)
    unit: str
    days: list[int] = Field(min_length=1)

    _check_unit = field_validator("unit", mode="before")(_unit)


class LymphodepletionModel(_Reviewable):
    agents: list[LymphodepletionAgentModel] = Field(min_length=1)
    source_text: str | None = None


class WindowsModel(_Reviewable):
    """Assessment windows in days after the infusion."""

    dlt_days: int = Field(gt=0)
    efficacy_days: int | None = Field(default=None, gt=0)
    source_text: str | None = None


Attribution = Literal["unrelated", "unlikely", "possible", "probable", "definite"]


class DLTExclusionModel(_Model):
    """An exception to the DLT rules (:class:`doseladder.core.clinical.dlt.DLTExclusion`):
    events meeting all the given conditions are not DLTs."""

    id: str = Field(min_length=1)
    terms: list[str] = []
    max_grade: int | None = Field(default=None, ge=1, le=5)
    onset_before_day: float | None = None
    duration_less_than_days: float | None = Field(default=None, gt=0)
    description: str = ""


class DLTRuleModel(_Model):
    """One DLT criterion (:class:`doseladder.core.clinical.dlt.DLTRule`).  Terms are CTCAE v5.0
    terms of the catalogue, laboratory terms, or CRS / ICANS (ASTCT)."""

    id: str = Field(min_length=1)
    min_grade: int = Field(ge=1, le=5)
    terms: list[str] = []
    exclude_terms: list[str] = []
    duration_days: float | None = Field(default=None, gt=0)
    duration_comparator: Literal[">", ">="] = ">"
    persists_beyond_day: float | None = Field(default=None, gt=0)
    attribution: list[Attribution] | None = None
    window_days: float | None = Field(default=None, gt=0)
    exclusions: list[DLTExclusionModel] = []
    description: str = ""


class DLTModel(_Reviewable):
    """The DLT definition; its window is ``windows.dlt_days`` (set once, there)."""

    attribution: list[Attribution] = Field(
        default=["possible", "probable", "definite"], min_length=1
    )
    rules: list[DLTRuleModel] = Field(min_length=1)
    exclusions: list[DLTExclusionModel] = []
    source_text: str | None = None


class ResponseModel(_Reviewable):
    """How one indication's response is decided
    (:class:`doseladder.core.clinical.response.ResponseDefinition`).  ``day`` defaults to
    ``windows.efficacy_days`` for ``timing: by_day`` (and must then be omitted)."""

    indication: str = Field(min_length=1)
    criterion: Literal["itp_response", "sri4", "doris", "lldas"]
    timing: Literal["by_day", "at_visit"]
    day: float | None = Field(default=None, gt=0)
    window_before: float = Field(default=0, ge=0)
    window_after: float = Field(default=0, ge=0)
    responder_values: list[str] = []
    params: dict[str, Any] = {}
    description: str = ""
    source_text: str | None = None


class IndicationModel(_Model):
    id: str = Field(min_length=1, pattern=r"^\S+$")
    name: str
    driving: bool = False
    source_text: str | None = None


class FallbackModel(_Model):
    run_in_dose: str | int
    backup_dose: str | int
    first_k: int = Field(default=3, ge=1)
    min_dlts: int = Field(default=1, ge=1)
    zero_dlt_branch: Literal["complete", "tite"] = "complete"
    reescalation: Literal["allowed", "blocked"] = "allowed"


class OtherIndicationsModel(_Model):
    min_complete: int = Field(default=3, ge=1)
    dose_cap: Literal["driving_current", "any_confirmed"] = "driving_current"
    max_n_per_indication: int | None = Field(default=None, ge=1)
    continue_after_driving_stop: bool = True
    # CRM / TITE-CRM only (core/rules/deescalation_verdict.py)
    crm_rule: Literal["recommended", "overdose_control"] = "recommended"
    crm_overdose_cutoff: float | None = Field(default=None, gt=0, lt=1)


class SafetyMonitorModel(_Model):
    target: float | None = Field(default=None, gt=0, lt=1)
    cutoff: float = Field(default=0.95, gt=0, lt=1)
    min_n: int = Field(default=3, ge=1)
    scope: Literal["all", "others"] = "all"
    action: Literal["flag", "close_others", "close_all"] = "close_others"


class StaggeringModel(_Model):
    days: float = Field(gt=0)
    sentinels: int = Field(default=1, ge=1)
    scope: Literal["all", "driving"] = "all"


class BackfillModel(_Reviewable):
    """Backfill cohorts (BF-BOIN, spec ``backfill.md``; BOIN designs).  ``min_dose`` may be a
    label; ``indications`` default to the driving indication (or every pooled one).
    ``cap_rule``: ``at_most`` (default: never more than ``n_cap`` subjects at a dose) or
    ``bfboin`` (the R package's ``<= n_cap`` before enrolling: a dose can reach ``n_cap + 1``);
    :mod:`doseladder.core.designs.backfill_cap`."""

    enabled: bool = True
    n_cap: int = Field(default=12, ge=1)
    cap_rule: Literal["at_most", "bfboin"] = "at_most"
    assign: Literal["highest", "lowest", "random"] = "highest"
    activity: Literal["dose", "dose_or_lower"] = "dose"
    min_dose: str | int | None = None
    indications: list[str] = []
    three_plus_three: bool = False
    source_text: str | None = None


class RulesModel(_Model):
    fallback: FallbackModel | None = None
    other_indications: OtherIndicationsModel | None = None
    safety_monitor: SafetyMonitorModel | None = None
    staggering: StaggeringModel | None = None
    complete_cohorts: bool = True
    max_total: int | None = Field(default=None, ge=1)
    backfill: BackfillModel | None = None


class CriterionModel(_Reviewable):
    """One criterion.  ``logic`` is its computable rule (syntax: ``docs/eligibility.md``,
    parsed and checked by :func:`doseladder.core.eligibility.parse.parse_logic` in the loader);
    ``attests: true`` marks a criterion the investigator attests.  At most one of the two."""

    id: str = Field(min_length=1)
    category: Literal["inclusion", "exclusion"]
    indications: list[str] = []
    source_text: str = Field(min_length=1)
    logic: dict[str, Any] | None = None
    attests: bool = False

    @model_validator(mode="after")
    def _logic_or_attests(self) -> CriterionModel:
        if self.logic is not None and self.attests:
            raise ValueError("give logic or attests: true, not both")
        return self


class TimingModel(_Model):
    """One timing rule: exactly one of ``days``, ``every_days`` (+ ``from_day``, ``to_day``),
    ``months``, ``every_months`` (+ ``from_month``, ``to_month``)."""

    days: list[int] | None = None
    every_days: int | None = Field(default=None, ge=1)
    from_day: int | None = None
    to_day: int | None = None
    months: list[int] | None = None
    every_months: int | None = Field(default=None, ge=1)
    from_month: int | None = Field(default=None, ge=0)
    to_month: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_form(self) -> TimingModel:
        forms = [
            self.days is not None,
            self.every_days is not None,
            self.months is not None,
            self.every_months is not None,
        ]
        if sum(forms) != 1:
            raise ValueError("give exactly one of days, every_days, months, every_months")
        if self.every_days is not None and (self.from_day is None or self.to_day is None):
            raise ValueError("every_days needs from_day and to_day")
        if self.every_days is None and (self.from_day is not None or self.to_day is not None):
            raise ValueError("from_day/to_day only go with every_days")
        if self.every_months is not None and (self.from_month is None or self.to_month is None):
            raise ValueError("every_months needs from_month and to_month")
        if self.every_months is None and (self.from_month is not None or self.to_month is not None):
            raise ValueError("from_month/to_month only go with every_months")
        return self


class AssessmentModel(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    timing: list[TimingModel] = Field(min_length=1)
    window_days: int | None = Field(default=None, ge=0)
    window_before: int | None = Field(default=None, ge=0)
    window_after: int | None = Field(default=None, ge=0)
    source_text: str | None = None

    @model_validator(mode="after")
    def _window(self) -> AssessmentModel:
        if self.window_days is not None and (
            self.window_before is not None or self.window_after is not None
        ):
            raise ValueError("give window_days (±) or window_before/window_after, not both")
        return self


class ScheduleModel(_Reviewable):
    month_length: int | Literal["calendar"] = 30
    follow_up_months: int | None = Field(default=None, ge=1)
    assessments: list[AssessmentModel] = []


class ReviewItemModel(_Model):
    id: str = Field(min_length=1)
    about: str = Field(min_length=1)
    note: str = Field(min_length=1)
    source_text: str | None = None


class ProtocolFile(_Model):
    """The whole file (schema version 1)."""

    schema_version: Literal[1]
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    provenance: ProvenanceModel
    identifiers: IdentifiersModel
    population: PopulationModel = PopulationModel()
    product: ProductModel | None = None
    doses: list[DoseModel] = Field(min_length=1)
    lymphodepletion: LymphodepletionModel | None = None
    design: dict[str, Any]
    windows: WindowsModel
    dlt: DLTModel | None = None
    indications: list[IndicationModel] = Field(min_length=1)
    response: list[ResponseModel] = []
    rules: RulesModel = RulesModel()
    criteria: list[CriterionModel] = []
    schedule: ScheduleModel = ScheduleModel()
    review: list[ReviewItemModel] = []
    notes: str | None = None
