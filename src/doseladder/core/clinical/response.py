"""Per-indication response definitions and the proposed responder call.

A protocol defines, per indication, which instrument decides response and when
(:class:`ResponseDefinition`):

* ``itp_response`` — SLE-ITP CR / PR / NR (:func:`.itp.itp_response`, seed 000 wording);
* ``sri4`` — SRI-4 (:func:`.sri4.sri4`), ``doris`` — DORIS 2021 remission
  (:func:`.doris.doris_remission`), ``lldas`` — LLDAS (:func:`.lldas.lldas`).

Timing (days after the infusion, day 0):

* ``by_day`` — a responder when *any* assessment from day 0 to day ``day`` (inclusive) is a
  response ("ITP CR/PR by the efficacy window"); known as soon as one is, otherwise only once
  the day has passed;
* ``at_visit`` — the assessment at the visit ``day`` (within ``window_before`` /
  ``window_after`` days; the evaluable one nearest the visit day decides, a later one on
  ties).

:func:`score_response` runs the instrument with the definition's parameters (one place that
knows which core function scores which criterion); :func:`propose_response` turns the dated
assessments into the proposed call — responder, non-responder, not evaluable (the window has
passed without an evaluable assessment) or not yet known — with the rule and the assessment
that decided it.  The call is a proposal: a person confirms or overrides it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from doseladder.core.clinical.doris import doris_remission
from doseladder.core.clinical.itp import ItpResponse, itp_response
from doseladder.core.clinical.lldas import lldas
from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.clinical.sri4 import sri4
from doseladder.core.clinical.units import NumberLike, to_fraction
from doseladder.core.errors import InputError

__all__ = [
    "DatedAssessment",
    "ResponseCriterion",
    "ResponseDefinition",
    "ResponseProposal",
    "ResponseStatus",
    "ResponseTiming",
    "propose_response",
    "score_response",
]


class ResponseCriterion(StrEnum):
    """The instrument that decides response."""

    ITP = "itp_response"
    SRI4 = "sri4"
    DORIS = "doris"
    LLDAS = "lldas"


class ResponseTiming(StrEnum):
    BY_DAY = "by_day"
    AT_VISIT = "at_visit"


class ResponseStatus(StrEnum):
    RESPONDER = "responder"
    NON_RESPONDER = "non_responder"
    NOT_EVALUABLE = "not_evaluable"
    NOT_YET_KNOWN = "not_yet_known"


_SCORERS: dict[ResponseCriterion, Callable[..., Assessment[Any]]] = {
    ResponseCriterion.ITP: itp_response,
    ResponseCriterion.SRI4: sri4,
    ResponseCriterion.DORIS: doris_remission,
    ResponseCriterion.LLDAS: lldas,
}
_INSTRUMENT_PREFIX = {
    ResponseCriterion.ITP: "SLE-ITP response",
    ResponseCriterion.SRI4: "SRI-",
    ResponseCriterion.DORIS: "DORIS",
    ResponseCriterion.LLDAS: "LLDAS",
}
_NAMES = {
    ResponseCriterion.ITP: "SLE-ITP platelet response (seed 000: CR ≥100×10⁹/L; PR 30–100×10⁹/L, "
    "≥2× baseline, no bleeding)",
    ResponseCriterion.SRI4: "SRI-4",
    ResponseCriterion.DORIS: "DORIS 2021 remission",
    ResponseCriterion.LLDAS: "LLDAS (Franklyn 2016)",
}
_ITP_VALUES = frozenset(v.value for v in ItpResponse)


def _d(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}"


@dataclass(frozen=True, slots=True)
class ResponseDefinition:
    """How one indication's response is decided (every value a protocol parameter).

    Attributes:
        indication: the indication id it applies to.
        criterion: :class:`ResponseCriterion`.
        timing: :class:`ResponseTiming`.
        day: the "by" day or the visit day, in days after infusion.
        window_before, window_after: visit window (``at_visit`` only), days.
        responder_values: ITP categories that count as response (default CR and PR); the
            other criteria are yes/no and ``True`` is a response.
        params: keyword parameters passed to the instrument (e.g. ITP
            ``no_bleeding_required_for_cr``, SRI ``min_sledai_reduction``).
        description: protocol wording.
        needs_review, review_note: the definition is a choice the source does not state.
    """

    indication: str
    criterion: ResponseCriterion | str
    timing: ResponseTiming | str
    day: NumberLike
    window_before: NumberLike = 0
    window_after: NumberLike = 0
    responder_values: frozenset[str] = frozenset()
    params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    needs_review: bool = False
    review_note: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.indication, str) or not self.indication.strip():
            raise InputError("indication", "must be an indication id")
        try:
            crit = ResponseCriterion(self.criterion)
        except ValueError:
            valid = ", ".join(c.value for c in ResponseCriterion)
            raise InputError("criterion", f"{self.criterion!r} is not one of: {valid}") from None
        try:
            timing = ResponseTiming(self.timing)
        except ValueError:
            valid = ", ".join(t.value for t in ResponseTiming)
            raise InputError("timing", f"{self.timing!r} is not one of: {valid}") from None
        object.__setattr__(self, "criterion", crit)
        object.__setattr__(self, "timing", timing)
        if to_fraction(self.day, "day") <= 0:
            raise InputError("day", f"must be > 0 days after infusion, got {self.day!r}")
        for name in ("window_before", "window_after"):
            v = to_fraction(getattr(self, name), name)
            if v < 0:
                raise InputError(name, f"must be ≥ 0 days, got {getattr(self, name)!r}")
            if v and timing is ResponseTiming.BY_DAY:
                raise InputError(name, "a visit window applies to timing 'at_visit' only")
        values = self.responder_values
        if isinstance(values, str):
            raise InputError("responder_values", "must be a list of categories")
        values = frozenset(values)
        if crit is ResponseCriterion.ITP:
            values = values or frozenset({ItpResponse.CR.value, ItpResponse.PR.value})
            bad = sorted(values - _ITP_VALUES)
            if bad:
                raise InputError(
                    "responder_values", f"{bad} are not ITP categories ({sorted(_ITP_VALUES)})"
                )
        elif values:
            raise InputError(
                "responder_values", f"{crit.value} is yes/no: responder_values do not apply"
            )
        object.__setattr__(self, "responder_values", values)
        params = dict(self.params)
        accepted = set(inspect.signature(_SCORERS[crit]).parameters)
        for k in params:
            if not isinstance(k, str) or k not in accepted:
                raise InputError(
                    f"params.{k}",
                    f"not a parameter of {crit.value} (parameters: {', '.join(sorted(accepted))})",
                )
        object.__setattr__(self, "params", MappingProxyType(params))
        if self.needs_review and not (self.review_note and self.review_note.strip()):
            raise InputError("review_note", "needs_review is true: say why")

    @property
    def crit(self) -> ResponseCriterion:
        return ResponseCriterion(self.criterion)

    def window(self) -> tuple[Fraction, Fraction]:
        """First and last day (after infusion) whose assessments count, inclusive."""
        day = to_fraction(self.day)
        if self.timing == ResponseTiming.BY_DAY:
            return Fraction(0), day
        return day - to_fraction(self.window_before), day + to_fraction(self.window_after)

    def describe(self) -> str:
        crit = self.crit
        what = _NAMES[crit]
        if crit is ResponseCriterion.ITP:
            order = [v.value for v in ItpResponse if v.value in self.responder_values]
            what += f"; response = {' or '.join(order)}"
        if self.timing == ResponseTiming.BY_DAY:
            when = f"at any assessment from infusion to day {self.day}"
        else:
            lo, hi = self.window()
            when = f"at the day-{self.day} visit (days {_d(lo)}–{_d(hi)} after infusion)"
        text = f"Response ({self.indication}): {what}, {when}."
        if self.params:
            text += " Parameters: " + ", ".join(f"{k}={v}" for k, v in self.params.items()) + "."
        if self.description:
            text += f" {self.description}"
        if self.needs_review:
            text += f" REVIEW: {self.review_note}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "indication": self.indication,
            "criterion": self.crit.value,
            "timing": ResponseTiming(self.timing).value,
            "day": float(to_fraction(self.day)),
            "window_before": float(to_fraction(self.window_before)),
            "window_after": float(to_fraction(self.window_after)),
            "responder_values": sorted(self.responder_values),
            "params": dict(self.params),
            "description": self.description,
            "needs_review": self.needs_review,
            "review_note": self.review_note,
            "text": self.describe(),
        }


def score_response(
    definition: ResponseDefinition, components: Mapping[str, Any]
) -> Assessment[Any]:
    """Score one efficacy assessment with the definition's instrument and parameters.

    ``components`` are the instrument's keyword inputs (e.g. for ``itp_response``:
    ``platelets``, ``baseline_platelets``, ``bleeding``, ``unit``; for ``sri4``:
    ``sledai_baseline``, ``sledai_follow_up``, ``bilag_*``, ``pga_*``).

    Raises:
        InputError: a component that the protocol fixes (in ``params``) or that the
            instrument does not take (field ``components.<name>``), or the instrument's own
            input errors.
    """
    if not isinstance(definition, ResponseDefinition):
        raise InputError("definition", f"must be a ResponseDefinition, got {definition!r}")
    comps = dict(components)
    for k in comps:
        if k in definition.params:
            raise InputError(f"components.{k}", "is fixed by the protocol's response definition")
    fn = _SCORERS[definition.crit]
    accepted = set(inspect.signature(fn).parameters)
    for k in comps:
        if k not in accepted:
            raise InputError(
                f"components.{k}",
                f"not an input of {definition.crit.value} (inputs: {', '.join(sorted(accepted))})",
            )
    try:
        return fn(**comps, **definition.params)
    except TypeError as exc:  # a required input missing
        raise InputError("components", str(exc).split(") ", 1)[-1]) from None


@dataclass(frozen=True, slots=True)
class DatedAssessment:
    """One scored efficacy assessment and the study day it was made.

    Attributes:
        day: study day (same scale as the infusion day and ``today``).
        assessment: the instrument's result (e.g. from :func:`score_response`).
        assessment_id: optional identifier carried into the proposal.
    """

    day: NumberLike
    assessment: Assessment[Any]
    assessment_id: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseProposal:
    """The response call the service proposes, for a person to confirm or override.

    Attributes:
        status: :class:`ResponseStatus`.
        rule_text: the definition as protocol text (the rule that fired).
        deciding: ``{"index", "assessment_id", "day_after_infusion", "value", "instrument"}``
            of the assessment that decided, or ``None``.
        response_day: days after infusion of the deciding response (responder only).
        reasons: plain-English reasoning.
    """

    status: ResponseStatus
    indication: str
    rule_text: str
    deciding: Mapping[str, Any] | None
    response_day: float | None
    reasons: tuple[str, ...]
    contributions: tuple[Contribution, ...] = ()

    @property
    def eff(self) -> bool | None:
        """The core's ``Patient.eff``: responder → ``True``, non-responder → ``False``, else
        ``None`` (not yet known, or not evaluable — which a person resolves)."""
        if self.status is ResponseStatus.RESPONDER:
            return True
        if self.status is ResponseStatus.NON_RESPONDER:
            return False
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "indication": self.indication,
            "rule_text": self.rule_text,
            "deciding": None if self.deciding is None else dict(self.deciding),
            "response_day": self.response_day,
            "reasons": list(self.reasons),
            "contributions": [c.to_dict() for c in self.contributions],
        }


def _value_text(v: Any) -> str:
    return str(v.value) if isinstance(v, StrEnum) else str(v)


def propose_response(
    definition: ResponseDefinition,
    assessments: Sequence[DatedAssessment],
    *,
    infusion_day: NumberLike,
    today: NumberLike,
) -> ResponseProposal:
    """Propose the responder call for one patient (see the module docstring for timing).

    Args:
        definition: the indication's :class:`ResponseDefinition` (``Protocol.response``).
        assessments: the patient's scored assessments with their study days (any order).
        infusion_day: study day of the infusion.
        today: the data cut-off.

    Raises:
        InputError: ``today`` before the infusion; an assessment dated after ``today``; an
            assessment of another instrument than the definition's (``assessments[i]``).
    """
    if not isinstance(definition, ResponseDefinition):
        raise InputError("definition", f"must be a ResponseDefinition, got {definition!r}")
    infusion = to_fraction(infusion_day, "infusion_day")
    now = to_fraction(today, "today")
    if now < infusion:
        raise InputError("today", f"({_d(now)}) is before infusion_day ({_d(infusion)})")
    crit = definition.crit
    prefix = _INSTRUMENT_PREFIX[crit]
    rows: list[tuple[int, Fraction, DatedAssessment]] = []
    for i, da in enumerate(assessments):
        if not isinstance(da, DatedAssessment) or not isinstance(da.assessment, Assessment):
            raise InputError(f"assessments[{i}]", f"must be a DatedAssessment, got {da!r}")
        day = to_fraction(da.day, f"assessments[{i}].day")
        if day > now:
            raise InputError(f"assessments[{i}].day", f"({_d(day)}) is after today ({_d(now)})")
        if not da.assessment.instrument.startswith(prefix):
            raise InputError(
                f"assessments[{i}]",
                f"is a {da.assessment.instrument!r} assessment; {definition.indication} "
                f"response is decided by {crit.value}",
            )
        rows.append((i, day - infusion, da))
    lo, hi = definition.window()
    in_window = [(i, rel, da) for i, rel, da in rows if lo <= rel <= hi]
    evaluable = [
        r for r in in_window if r[2].assessment.evaluable and r[2].assessment.value is not None
    ]
    rule_text = definition.describe()
    elapsed = now - infusion

    def is_response(a: Assessment[Any]) -> bool:
        if crit is ResponseCriterion.ITP:
            return _value_text(a.value) in definition.responder_values
        return a.value is True

    def deciding(row: tuple[int, Fraction, DatedAssessment]) -> dict[str, Any]:
        i, rel, da = row
        return {
            "index": i,
            "assessment_id": da.assessment_id,
            "day_after_infusion": float(rel),
            "value": _value_text(da.assessment.value),
            "instrument": da.assessment.instrument,
        }

    contributions = tuple(
        Contribution(
            f"assessments[{i}]",
            None,
            f"day {_d(rel)} after infusion: "
            + (
                _value_text(da.assessment.value)
                if da.assessment.evaluable and da.assessment.value is not None
                else "not evaluable"
            )
            + ("" if lo <= rel <= hi else " (outside the response window)"),
        )
        for i, rel, da in rows
    )

    def out(
        status: ResponseStatus,
        reason: str,
        row: tuple[int, Fraction, DatedAssessment] | None = None,
    ) -> ResponseProposal:
        return ResponseProposal(
            status=status,
            indication=definition.indication,
            rule_text=rule_text,
            deciding=None if row is None else MappingProxyType(deciding(row)),
            response_day=(
                float(row[1]) if row is not None and status is ResponseStatus.RESPONDER else None
            ),
            reasons=(reason,),
            contributions=contributions,
        )

    window_txt = f"days {_d(lo)}–{_d(hi)} after infusion"
    if definition.timing == ResponseTiming.BY_DAY:
        hits = [r for r in evaluable if is_response(r[2].assessment)]
        if hits:
            first = min(hits, key=lambda r: (r[1], r[0]))
            return out(
                ResponseStatus.RESPONDER,
                f"Responder: {_value_text(first[2].assessment.value)} on day {_d(first[1])} "
                f"after infusion, within {window_txt}.",
                first,
            )
        if elapsed < hi:
            return out(
                ResponseStatus.NOT_YET_KNOWN,
                f"Not yet known: no response so far; assessments count until day {_d(hi)} "
                f"(today is day {_d(elapsed)} after infusion).",
            )
        if evaluable:
            last = max(evaluable, key=lambda r: (r[1], r[0]))
            return out(
                ResponseStatus.NON_RESPONDER,
                f"Non-responder: none of the {len(evaluable)} evaluable assessment(s) within "
                f"{window_txt} is a response (last: "
                f"{_value_text(last[2].assessment.value)} on day {_d(last[1])}).",
                last,
            )
        return out(
            ResponseStatus.NOT_EVALUABLE,
            f"Not evaluable: no evaluable assessment within {window_txt}, which has ended.",
        )
    # at_visit
    if evaluable:
        target = to_fraction(definition.day)
        best = min(evaluable, key=lambda r: (abs(r[1] - target), -r[1], r[0]))
        value = _value_text(best[2].assessment.value)
        if is_response(best[2].assessment):
            return out(
                ResponseStatus.RESPONDER,
                f"Responder: {value} at the day-{_d(target)} visit (assessed day {_d(best[1])}).",
                best,
            )
        return out(
            ResponseStatus.NON_RESPONDER,
            f"Non-responder: {value} at the day-{_d(target)} visit (assessed day {_d(best[1])}).",
            best,
        )
    if elapsed < hi:
        return out(
            ResponseStatus.NOT_YET_KNOWN,
            f"Not yet known: no evaluable assessment yet in the visit window ({window_txt}; "
            f"today is day {_d(elapsed)} after infusion).",
        )
    return out(
        ResponseStatus.NOT_EVALUABLE,
        f"Not evaluable: no evaluable assessment in the visit window ({window_txt}), which "
        "has ended.",
    )
