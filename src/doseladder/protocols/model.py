"""The typed :class:`Protocol`: a whole trial as frozen objects, and its readable text.

Built by :mod:`doseladder.protocols.loader` from a validated protocol file.  Everything the
platform needs downstream hangs off it: ``.plan`` (the
:class:`~doseladder.core.rules.plan.EscalationPlan` that ``recommend`` uses), ``.doses``,
``.lymphodepletion``, ``.windows``, ``.dlt`` (the
:class:`~doseladder.core.clinical.dlt.DLTDefinition`), ``.response`` (one
:class:`~doseladder.core.clinical.response.ResponseDefinition` per indication that has one),
``.indications``, ``.criteria``, ``.schedule`` and the ``.review`` list of every ambiguity
found in the source record.  ``describe()`` renders the
whole protocol as text; ``rules_text()`` the dose-finding part only (issue #4: "renders its
escalation rules as readable text").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from doseladder.core.clinical.dlt import Attribution, DLTDefinition
from doseladder.core.clinical.response import ResponseDefinition
from doseladder.core.dosing import DoseLevel, LymphodepletionRegimen
from doseladder.core.eligibility.logic import Node
from doseladder.core.errors import InputError
from doseladder.core.rules.plan import EscalationPlan
from doseladder.core.schedule import VisitSchedule

__all__ = [
    "AssessmentWindows",
    "Criterion",
    "Indication",
    "Protocol",
    "ReviewItem",
]


@dataclass(frozen=True, slots=True)
class Criterion:
    """One eligibility criterion: the source text verbatim, and its computable rule.

    Attributes:
        id: stable identifier, e.g. ``000-INC-03.2`` (seed, category, the record's numbering).
        category: ``"inclusion"`` or ``"exclusion"``.
        indications: the indications it applies to (empty = every indication).
        source_text: the registry wording, verbatim (typos and lost signs included).
        needs_review: the text is ambiguous or wrong in the source (spec ``clinical.md`` §0.1).
        review_note: what is wrong and the suggested reading -- never applied silently.
        logic: the computable rule (:mod:`doseladder.core.eligibility.logic`); screened by
            :func:`doseladder.core.eligibility.screen`.
        attests: the investigator attests the criterion (the text does not allow computation).
    """

    id: str
    category: Literal["inclusion", "exclusion"]
    source_text: str
    indications: tuple[str, ...] = ()
    needs_review: bool = False
    review_note: str | None = None
    logic: Node | None = None
    attests: bool = False

    @property
    def structured(self) -> str:
        """``"logic"``, ``"attests"`` or ``"unstructured"``."""
        if self.logic is not None:
            return "logic"
        return "attests" if self.attests else "unstructured"

    def rule_text(self) -> str:
        """The computable rule, or who decides, as one line."""
        if self.logic is not None:
            return self.logic.describe()
        if self.attests:
            return "investigator attests"
        return "not structured (read as an investigator attestation)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "indications": list(self.indications),
            "source_text": self.source_text,
            "needs_review": self.needs_review,
            "review_note": self.review_note,
            "logic": None if self.logic is None else self.logic.to_dict(),
            "attests": self.attests,
        }


@dataclass(frozen=True, slots=True)
class Indication:
    """A cohort by indication; ``id`` is what patient tables use in their ``indication``
    column."""

    id: str
    name: str
    driving: bool = False
    source_text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "driving": self.driving,
            "source_text": self.source_text,
        }


@dataclass(frozen=True, slots=True)
class AssessmentWindows:
    """DLT and efficacy assessment windows in days after the infusion."""

    dlt_days: int
    efficacy_days: int | None = None
    needs_review: bool = False
    review_note: str | None = None
    source_text: str | None = None

    def describe(self) -> str:
        text = f"DLT assessment window: {self.dlt_days} days after the infusion"
        if self.efficacy_days is not None:
            text += f"; efficacy assessment window: {self.efficacy_days} days"
        text += "."
        if self.needs_review:
            text += f" REVIEW: {self.review_note}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "dlt_days": self.dlt_days,
            "efficacy_days": self.efficacy_days,
            "needs_review": self.needs_review,
            "review_note": self.review_note,
            "source_text": self.source_text,
        }


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """An ambiguity or error of the source record, and what the file does about it."""

    id: str
    about: str
    note: str
    source_text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "about": self.about,
            "note": self.note,
            "source_text": self.source_text,
        }


def _freeze(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(data))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Protocol:
    """A whole trial protocol (see the module docstring).

    ``identifiers``, ``provenance``, ``population`` and ``product`` are read-only mappings of
    the file's sections (free-form registry facts).
    """

    id: str
    schema_version: int
    provenance: Mapping[str, Any]
    identifiers: Mapping[str, Any]
    population: Mapping[str, Any]
    product: Mapping[str, Any] | None
    doses: tuple[DoseLevel, ...]
    lymphodepletion: LymphodepletionRegimen | None
    plan: EscalationPlan
    windows: AssessmentWindows
    indications: tuple[Indication, ...]
    criteria: tuple[Criterion, ...]
    schedule: VisitSchedule
    schedule_review: str | None = None
    review: tuple[ReviewItem, ...] = ()
    notes: str | None = None
    source: str | None = None
    dlt: DLTDefinition | None = None
    dlt_review: str | None = None
    dlt_source_text: str | None = None
    response: tuple[ResponseDefinition, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "provenance", _freeze(self.provenance))
        object.__setattr__(self, "identifiers", _freeze(self.identifiers))
        object.__setattr__(self, "population", _freeze(self.population))
        if self.product is not None:
            object.__setattr__(self, "product", _freeze(self.product))

    # ------------------------------------------------------------------ lookups
    @property
    def title(self) -> str:
        return str(self.identifiers.get("title", self.id))

    @property
    def dose_labels(self) -> tuple[str, ...]:
        return tuple(d.label for d in self.doses)

    @property
    def driving_indication(self) -> Indication | None:
        return next((i for i in self.indications if i.driving), None)

    def dose(self, label: str) -> DoseLevel:
        for d in self.doses:
            if d.label == label:
                return d
        raise InputError("dose", f"unknown dose label {label!r}; known: {self.dose_labels}")

    def response_for(self, indication: str) -> ResponseDefinition | None:
        """The response definition of ``indication`` (``None`` when the protocol has none)."""
        if indication not in {i.id for i in self.indications}:
            known = ", ".join(i.id for i in self.indications)
            raise InputError("indication", f"unknown indication {indication!r}; known: {known}")
        return next((r for r in self.response if r.indication == indication), None)

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise InputError("criterion", f"unknown criterion {criterion_id!r}")

    def flagged(self) -> tuple[tuple[str, str], ...]:
        """Every item flagged for review: ``(where, note)`` pairs, in file order."""
        out: list[tuple[str, str]] = []
        for d in self.doses:
            if d.needs_review and d.review_note:
                out.append((f"dose {d.label}", d.review_note))
        if self.windows.needs_review and self.windows.review_note:
            out.append(("windows", self.windows.review_note))
        if self.dlt_review:
            out.append(("dlt", self.dlt_review))
        for resp in self.response:
            if resp.needs_review and resp.review_note:
                out.append((f"response {resp.indication}", resp.review_note))
        if self.schedule_review:
            out.append(("schedule", self.schedule_review))
        for c in self.criteria:
            if c.needs_review and c.review_note:
                out.append((f"criterion {c.id}", c.review_note))
        for r in self.review:
            out.append((f"review {r.id} ({r.about})", r.note))
        return tuple(out)

    # -------------------------------------------------------------------- text
    def identification_text(self) -> str:
        ids = self.identifiers
        lines = [self.title]
        parts = []
        for key, name in (
            ("short_name", "short name"),
            ("nct_id", "NCT"),
            ("org_study_id", "org study id"),
            ("phase", "phase"),
            ("status", "status"),
            ("enrollment", "enrolment"),
            ("start_date", "start"),
            ("completion_date", "completion"),
            ("sponsor", "sponsor"),
        ):
            value = ids.get(key)
            if value is not None:
                parts.append(f"{name}: {_jsonable(value)}")
        if parts:
            lines.append("; ".join(parts) + ".")
        prov = self.provenance
        reg = prov.get("registry_id") or "no registry id in the record"
        lines.append(f"Source: seed record {prov.get('seed_file')} ({reg}).")
        pop = self.population
        if pop.get("min_age_years") is not None or pop.get("max_age_years") is not None:
            lo, hi = pop.get("min_age_years"), pop.get("max_age_years")
            ages = f"{lo:g}" if lo is not None else "?"
            ages += f"–{hi:g} years" if hi is not None else "+ years"
            lines.append(f"Population: ages {ages}; sex {pop.get('sex') or 'not stated'}.")
        if self.product is not None:
            prod = self.product
            bits = [str(prod.get("name"))]
            if prod.get("modality"):
                bits.append(f"modality: {prod['modality']}")
            if prod.get("route"):
                bits.append(f"route: {prod['route']}")
            lines.append("Product: " + "; ".join(bits) + ".")
        return "\n".join(lines)

    def indications_text(self) -> str:
        lines = ["Indications:"]
        for ind in self.indications:
            role = " (driving indication)" if ind.driving else ""
            lines.append(f"- {ind.id}: {ind.name}{role}")
        return "\n".join(lines)

    def doses_text(self) -> str:
        lines = ["Dose levels (lowest first):"]
        lines += [f"- {d.describe()}" for d in self.doses]
        if self.lymphodepletion is not None:
            lines.append(self.lymphodepletion.describe())
        else:
            lines.append("Lymphodepletion: not stated in the source record.")
        return "\n".join(lines)

    def rules_text(self) -> str:
        """The escalation rules as protocol text: doses, windows and the plan."""
        return "\n\n".join(
            [self.doses_text(), self.windows.describe(), "Escalation rules:", self.plan.describe()]
        )

    def dlt_text(self) -> str:
        """The DLT definition as protocol text: window, attribution, each rule's text."""
        d = self.dlt
        if d is None:
            return "DLT definition: not given in the protocol file."
        att = ", ".join(a.value for a in Attribution if a in d.attribution)
        lines = [
            f"DLT definition: an adverse event with onset from day 0 (infusion) to day "
            f"{d.window_days} inclusive, attributed to the treatment as {att}, is a DLT when "
            "it meets any rule below.  CRS and ICANS are graded by ASTCT 2019, other events "
            "by CTCAE v5.0."
        ]
        lines += [f"- {r.describe()}" for r in d.rules]
        lines += [f"- {e.describe()}" for e in d.exclusions]
        if self.dlt_source_text:
            lines.append(f"Source text: {self.dlt_source_text.strip()}")
        if self.dlt_review:
            lines.append(f"REVIEW: {self.dlt_review}")
        return "\n".join(lines)

    def response_text(self) -> str:
        """Each indication's response definition as protocol text."""
        lines = ["Response definitions:"]
        for ind in self.indications:
            r = next((x for x in self.response if x.indication == ind.id), None)
            lines.append(
                f"- {r.describe()}"
                if r is not None
                else f"- Response ({ind.id}): not defined in the protocol file."
            )
        return "\n".join(lines)

    def criteria_text(self) -> str:
        inc = [c for c in self.criteria if c.category == "inclusion"]
        exc = [c for c in self.criteria if c.category == "exclusion"]
        flagged = sum(c.needs_review for c in self.criteria)
        lines = [
            f"Eligibility: {len(inc)} inclusion and {len(exc)} exclusion criteria "
            f"({flagged} flagged for review)."
        ]
        for title, group in (("Inclusion", inc), ("Exclusion", exc)):
            if not group:
                continue
            lines.append(f"{title} criteria:")
            for c in group:
                scope = f" [{', '.join(c.indications)}]" if c.indications else ""
                lines.append(f"- {c.id}{scope}: {c.source_text}")
                lines.append(f"  RULE: {c.rule_text()}")
                if c.needs_review:
                    lines.append(f"  REVIEW: {c.review_note}")
        return "\n".join(lines)

    def review_text(self) -> str:
        items = self.flagged()
        if not items:
            return "Nothing flagged for review."
        lines = [f"Flagged for review ({len(items)}):"]
        lines += [f"- {where}: {note}" for where, note in items]
        return "\n".join(lines)

    def describe(self) -> str:
        """The whole protocol as readable text."""
        parts = [
            self.identification_text(),
            self.indications_text(),
            self.rules_text(),
            self.dlt_text(),
            self.response_text(),
            self.criteria_text(),
            self.schedule.describe()
            + (f"\nREVIEW: {self.schedule_review}" if self.schedule_review else ""),
            self.review_text(),
        ]
        if self.notes:
            parts.append(f"Notes: {self.notes.strip()}")
        return "\n\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the plan, doses, criteria, flags)."""
        return {
            "id": self.id,
            "schema_version": self.schema_version,
            "title": self.title,
            "provenance": _jsonable(self.provenance),
            "identifiers": _jsonable(self.identifiers),
            "population": _jsonable(self.population),
            "product": _jsonable(self.product) if self.product is not None else None,
            "doses": [d.to_dict() for d in self.doses],
            "lymphodepletion": (
                self.lymphodepletion.to_dict() if self.lymphodepletion is not None else None
            ),
            "windows": self.windows.to_dict(),
            "dlt": None
            if self.dlt is None
            else {
                "window_days": self.dlt.window_days,
                "attribution": sorted(a.value for a in self.dlt.attribution),
                "rules": [{"id": r.id, "text": r.describe()} for r in self.dlt.rules],
                "exclusions": [{"id": e.id, "text": e.describe()} for e in self.dlt.exclusions],
                "text": self.dlt_text(),
                "needs_review": self.dlt_review is not None,
                "review_note": self.dlt_review,
            },
            "response": [r.to_dict() for r in self.response],
            "indications": [i.to_dict() for i in self.indications],
            "plan": self.plan.to_dict(),
            "criteria": [c.to_dict() for c in self.criteria],
            "review": [r.to_dict() for r in self.review],
            "flagged": [{"where": w, "note": n} for w, n in self.flagged()],
        }
