"""Screen a patient record against a protocol's eligibility criteria.

:func:`screen` is the entry point (the CLI ``doseladder screen`` and the trial-conduct service
call it).  Per criterion it returns ``met`` / ``not_met`` / ``not_evaluable`` / ``needs_review``
with the values used and the reasons; overall a :class:`~.status.Verdict` that is ``eligible``
only when every applicable inclusion is met and every applicable exclusion is not met with
nothing unknown or under review (spec ``clinical.md`` §5.6).

Rules:

* The registry's age / sex limits (``protocol.population``) are checked as a first, synthetic
  inclusion criterion ``population`` (inclusive bounds in completed years).
* A criterion scoped to indications applies only when the patient is screened for one of them
  (the ``indication`` argument, else the record's, else the protocol's only indication).  When
  the indication is unknown and the protocol has several, scoped criteria are
  ``not_evaluable``.
* A criterion with ``logic`` evaluates it (:mod:`.evaluate`); one with ``attests`` (or with no
  logic at all) needs the investigator's attestation under its id.
* A criterion flagged ``needs_review`` (a known error or ambiguity of the seed text, spec
  §0.1) is ``needs_review`` — never evaluated as written.  Its logic (the suggested reading)
  is still evaluated and shown as ``suggested``.  A person's decision recorded for this
  patient (``reviews`` in the record) replaces the status, with the decision shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from doseladder.core.eligibility.evaluate import (
    DEFAULT_LOOKBACK_DAYS,
    Context,
    NodeResult,
    UsedValue,
    evaluate,
)
from doseladder.core.eligibility.logic import Age, AllOf, Attest, Node, SexIs, walk
from doseladder.core.eligibility.record import PatientRecord, ReviewDecision
from doseladder.core.eligibility.status import Status, Verdict, verdict_of
from doseladder.core.errors import InputError

__all__ = [
    "POPULATION_ID",
    "CriterionLike",
    "CriterionResult",
    "ProtocolLike",
    "ScreeningReport",
    "attestation_keys",
    "population_criterion",
    "screen",
]


class CriterionLike(Protocol):
    """What :func:`screen` needs of a criterion (:class:`doseladder.protocols.Criterion`)."""

    @property
    def id(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def indications(self) -> tuple[str, ...]: ...
    @property
    def source_text(self) -> str: ...
    @property
    def needs_review(self) -> bool: ...
    @property
    def review_note(self) -> str | None: ...
    @property
    def logic(self) -> Node | None: ...
    @property
    def attests(self) -> bool: ...


class IndicationLike(Protocol):
    @property
    def id(self) -> str: ...


class ProtocolLike(Protocol):
    """What :func:`screen` needs of a protocol (:class:`doseladder.protocols.Protocol`)."""

    @property
    def id(self) -> str: ...
    @property
    def criteria(self) -> Sequence[CriterionLike]: ...
    @property
    def indications(self) -> Sequence[IndicationLike]: ...


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """The result of one criterion for one patient.

    Attributes:
        status: ``None`` when the criterion does not apply to the indication screened for.
        structured: ``"logic"`` (computable rule), ``"attests"`` (investigator attests) or
            ``"unstructured"`` (no logic in the protocol file: read as an attestation).
        suggested: for a criterion flagged ``needs_review``, what its logic (the suggested
            reading) evaluates to — shown, never applied.
        decision: the review decision applied, if any.
        detail: the evaluated logic tree.
    """

    id: str
    category: str
    indications: tuple[str, ...]
    source_text: str
    status: Status | None
    structured: str
    reasons: tuple[str, ...] = ()
    values: tuple[UsedValue, ...] = ()
    missing: tuple[str, ...] = ()
    review_note: str | None = None
    suggested: Status | None = None
    decision: ReviewDecision | None = None
    detail: NodeResult | None = None

    @property
    def applicable(self) -> bool:
        return self.status is not None

    @property
    def satisfied(self) -> bool | None:
        """Does the patient pass this criterion?  Inclusion met / exclusion not met → ``True``;
        the opposite → ``False``; unknown → ``None``; not applicable → ``True``."""
        if self.status is None:
            return True
        t = self.status.truth
        if t is None:
            return None
        return t if self.category == "inclusion" else not t

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "indications": list(self.indications),
            "applicable": self.applicable,
            "status": None if self.status is None else self.status.value,
            "satisfied": self.satisfied,
            "structured": self.structured,
            "reasons": list(self.reasons),
            "values": [v.to_dict() for v in self.values],
            "missing": list(self.missing),
            "review_note": self.review_note,
            "suggested": None if self.suggested is None else self.suggested.value,
            "decision": None if self.decision is None else self.decision.to_dict(),
            "source_text": self.source_text,
            "detail": None if self.detail is None else self.detail.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ScreeningReport:
    """All criterion results and the overall verdict."""

    protocol_id: str
    patient_id: str | None
    screening_date: date
    indication: str | None
    verdict: Verdict
    results: tuple[CriterionResult, ...]
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    notes: tuple[str, ...] = ()

    def result(self, criterion_id: str) -> CriterionResult:
        for r in self.results:
            if r.id == criterion_id:
                return r
        raise InputError("criterion", f"unknown criterion {criterion_id!r}")

    def counts(self) -> dict[str, int]:
        """Applicable criteria by status (and ``not_applicable``)."""
        out = {s.value: 0 for s in Status}
        out["not_applicable"] = 0
        for r in self.results:
            out["not_applicable" if r.status is None else r.status.value] += 1
        return out

    def satisfied(self) -> dict[str, bool | None]:
        """Criterion id → does the patient pass it (see :attr:`CriterionResult.satisfied`)."""
        return {r.id: r.satisfied for r in self.results}

    def blocking(self) -> tuple[CriterionResult, ...]:
        """The criteria that make the patient not eligible (inclusion not met, exclusion met)."""
        return tuple(r for r in self.results if r.satisfied is False)

    def pending(self) -> tuple[CriterionResult, ...]:
        """The applicable criteria still unknown (not evaluable or needing review)."""
        return tuple(r for r in self.results if r.status is not None and not r.status.known)

    def summary(self) -> str:
        """One line: the verdict, the counts by category, what fails or is pending."""

        def part(category: str) -> str:
            rs = [r for r in self.results if r.category == category and r.status is not None]
            counts = {s: sum(r.status is s for r in rs) for s in Status}
            shown = ", ".join(f"{n} {s.label}" for s, n in counts.items() if n)
            return f"{len(rs)} {category} ({shown or 'none'})"

        na = sum(r.status is None for r in self.results)
        text = (
            f"Verdict: {self.verdict.value.upper()}: {part('inclusion')}; {part('exclusion')}"
            + (f"; {na} not applicable" if na else "")
            + "."
        )
        blocking = self.blocking()
        if blocking:
            text += " Failing: " + ", ".join(r.id for r in blocking) + "."
        pending = self.pending()
        if pending:
            text += " Pending: " + ", ".join(r.id for r in pending) + "."
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol_id,
            "patient": self.patient_id,
            "screening_date": self.screening_date.isoformat(),
            "indication": self.indication,
            "lookback_days": self.lookback_days,
            "verdict": self.verdict.value,
            "counts": self.counts(),
            "summary": self.summary(),
            "criteria": [r.to_dict() for r in self.results],
            "notes": list(self.notes),
        }


def attestation_keys(criterion: CriterionLike) -> tuple[str, ...]:
    """The attestation keys a criterion reads (its id for a whole-criterion attestation)."""
    if criterion.logic is None:
        return (criterion.id,)
    return tuple(n.key(criterion.id) for n in walk(criterion.logic) if isinstance(n, Attest))


def _resolve_indication(
    protocol: ProtocolLike, record: PatientRecord, indication: str | None
) -> str | None:
    ids = [i.id for i in protocol.indications]
    chosen = indication if indication is not None else record.indication
    if chosen is not None:
        if ids and chosen not in ids:
            raise InputError(
                "indication", f"{chosen!r} is not an indication of {protocol.id} ({', '.join(ids)})"
            )
        return chosen
    return ids[0] if len(ids) == 1 else None


def screen(
    protocol: ProtocolLike,
    record: PatientRecord,
    *,
    screening_date: date | None = None,
    indication: str | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> ScreeningReport:
    """Screen ``record`` against ``protocol``'s criteria.

    Args:
        protocol: a :class:`doseladder.protocols.Protocol` (or anything shaped like it).
        record: the patient record (:mod:`doseladder.io.patient_record` reads JSON / FHIR).
        screening_date: reference date of every look-back (default: the record's
            ``screening_date``).
        indication: the protocol indication (cohort) screened for (default: the record's; a
            protocol with one indication needs none).
        lookback_days: how far back a value "at screening" may be (default 28 days) when the
            criterion states no window.

    Raises:
        InputError: no screening date; an indication the protocol does not have; a cycle of
            criterion references.
    """
    sdate = screening_date if screening_date is not None else record.screening_date
    if sdate is None:
        raise InputError("screening_date", "give the screening date (the record has none)")
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, int) or lookback_days < 0:
        raise InputError("lookback_days", f"must be a non-negative integer, got {lookback_days!r}")
    ind = _resolve_indication(protocol, record, indication)
    by_id = {c.id: c for c in protocol.criteria}
    done: dict[str, CriterionResult] = {}
    in_progress: set[str] = set()

    def status_of(cid: str) -> Status | None:
        if cid not in by_id:
            raise InputError("criterion", f"reference to unknown criterion {cid!r}")
        return run(by_id[cid]).status

    def run(c: CriterionLike) -> CriterionResult:
        if c.id in done:
            return done[c.id]
        if c.id in in_progress:
            raise InputError(f"criteria.{c.id}", "criterion references form a cycle")
        in_progress.add(c.id)
        try:
            res = _criterion(c, record, sdate, ind, lookback_days, status_of)
        finally:
            in_progress.discard(c.id)
        done[c.id] = res
        return res

    results = _population(protocol, record, sdate, lookback_days) + tuple(
        run(c) for c in protocol.criteria
    )
    verdict = verdict_of(
        [r.status for r in results if r.status is not None and r.category == "inclusion"],
        [r.status for r in results if r.status is not None and r.category == "exclusion"],
    )
    notes: list[str] = list(record.notes)
    if ind is None and any(c.indications for c in protocol.criteria):
        notes.append(
            "No indication given: criteria specific to an indication are not evaluable "
            "(give the indication screened for)."
        )
    used = {k for c in protocol.criteria for k in attestation_keys(c)}
    for key in record.attestations:
        if key not in used:
            notes.append(f"Attestation {key!r} matches no attestation item of {protocol.id}.")
    for key in record.reviews:
        c = by_id.get(key)
        if c is None or not c.needs_review:
            notes.append(
                f"Review decision for {key!r} ignored: not a criterion of {protocol.id} "
                "flagged for review."
            )
    return ScreeningReport(
        protocol_id=protocol.id,
        patient_id=record.id,
        screening_date=sdate,
        indication=ind,
        verdict=verdict,
        results=results,
        lookback_days=lookback_days,
        notes=tuple(notes),
    )


POPULATION_ID = "population"
"""Id of the synthetic criterion built from the protocol's registry age / sex limits."""


@dataclass(frozen=True, slots=True)
class _PopulationCriterion:
    id: str
    category: str
    indications: tuple[str, ...]
    source_text: str
    needs_review: bool
    review_note: str | None
    logic: Node | None
    attests: bool


def population_criterion(protocol: object) -> CriterionLike | None:
    """The registry's age (and sex) limits of ``protocol.population`` as an inclusion
    criterion (ClinicalTrials.gov "Ages Eligible": inclusive bounds in completed years), or
    ``None`` when the protocol states none.  Seed 001, for one, states its 18–65 years only
    there, not in its criteria."""
    pop = getattr(protocol, "population", None)
    if not isinstance(pop, Mapping):
        return None
    parts: list[Node] = []
    text: list[str] = []
    lo, hi = pop.get("min_age_years"), pop.get("max_age_years")
    for bound, op in ((lo, ">="), (hi, "<=")):
        if isinstance(bound, int | float) and not isinstance(bound, bool) and bound == int(bound):
            parts.append(Age(op, int(bound)))  # type: ignore[arg-type]
    if lo is not None or hi is not None:
        text.append(
            f"ages {'' if lo is None else f'{lo:g}'} to {'' if hi is None else f'{hi:g}'} years"
        )
    sex = str(pop.get("sex") or "").strip().lower()
    if sex in ("female", "male"):
        parts.append(SexIs(frozenset({sex})))
        text.append(f"sex {sex}")
    if not parts:
        return None
    logic: Node = parts[0] if len(parts) == 1 else AllOf(tuple(parts))
    return _PopulationCriterion(
        POPULATION_ID,
        "inclusion",
        (),
        "Registry eligibility (population): " + "; ".join(text),
        False,
        None,
        logic,
        False,
    )


def _population(
    protocol: object, record: PatientRecord, sdate: date, lookback_days: int
) -> tuple[CriterionResult, ...]:
    c = population_criterion(protocol)
    if c is None:
        return ()
    return (_criterion(c, record, sdate, None, lookback_days, lambda _id: None),)


def _criterion(
    c: CriterionLike,
    record: PatientRecord,
    sdate: date,
    indication: str | None,
    lookback_days: int,
    status_of: Any,
) -> CriterionResult:
    def result(status: Status | None, structured: str, **kw: Any) -> CriterionResult:
        return CriterionResult(
            c.id,
            c.category,
            tuple(c.indications),
            c.source_text,
            status,
            structured,
            review_note=c.review_note if c.needs_review else None,
            **kw,
        )

    if c.indications:
        if indication is None:
            return result(
                Status.NOT_EVALUABLE,
                "logic" if c.logic is not None else "attests",
                reasons=(
                    f"Applies to {', '.join(c.indications)} only; the indication screened for "
                    "is not given.",
                ),
                missing=("indication",),
            )
        if indication not in c.indications:
            return result(
                None,
                "logic" if c.logic is not None else "attests",
                reasons=(f"Not applicable: applies to {', '.join(c.indications)} only.",),
            )
    ctx = Context(record, sdate, c.id, indication, lookback_days, status_of)
    if c.logic is not None:
        structured = "logic"
        node: Node = c.logic
    else:
        structured = "attests" if c.attests else "unstructured"
        node = Attest(None, "the criterion as written")
    detail = evaluate(node, ctx)
    status = detail.status
    decisive = detail.decisive_reasons()
    reasons = list(decisive) + [r for r in detail.leaf_reasons() if r not in decisive]
    if structured == "unstructured":
        reasons.insert(
            0, "No structured logic in the protocol: read as an investigator attestation."
        )
    suggested: Status | None = None
    decision: ReviewDecision | None = None
    if c.needs_review:
        suggested = status
        decision = record.reviews.get(c.id)
        if decision is not None:
            status = Status(decision.status)
            who = f" by {decision.by}" if decision.by else ""
            reasons.insert(
                0,
                f"Resolved by review{who}: {decision.status.replace('_', ' ')}"
                + (f" ({decision.note})" if decision.note else "")
                + f"; the criterion's logic gave {suggested.label}.",
            )
        else:
            status = Status.NEEDS_REVIEW
            reasons.insert(
                0,
                f"Flagged for review, not evaluated as written: {c.review_note} "
                f"(the suggested reading gives {suggested.label}).",
            )
    return result(
        status,
        structured,
        reasons=tuple(reasons),
        values=detail.all_values(),
        missing=detail.all_missing() if not status.known else (),
        suggested=suggested,
        decision=decision,
        detail=detail,
    )
