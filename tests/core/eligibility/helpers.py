"""Builders for eligibility tests: records, observations, a minimal protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from doseladder.core.clinical.units import Quantity, drug_mass, parse_unit
from doseladder.core.eligibility.evaluate import Context, NodeResult, evaluate
from doseladder.core.eligibility.parse import parse_logic
from doseladder.core.eligibility.record import (
    Attestation,
    MedicationRecord,
    Observation,
    PatientRecord,
)
from doseladder.core.eligibility.vocab import MEASURES, classes_of
from doseladder.protocols.model import Criterion

SCREEN = date(2025, 6, 2)


def q(measure: str, value: Any, unit: str) -> Quantity:
    return Quantity(value, parse_unit(unit, MEASURES[measure].dimension))


def obs(
    measure: str,
    value: Any,
    unit: str,
    when: date = date(2025, 5, 28),
    uln: Any = None,
    lln: Any = None,
) -> Observation:
    return Observation(
        measure,
        q(measure, value, unit),
        when,
        None if uln is None else q(measure, uln, unit),
        None if lln is None else q(measure, lln, unit),
        source=f"test:{measure}",
    )


def med(
    name: str,
    start: date | None,
    end: date | None = None,
    *,
    ongoing: bool = False,
    mg_per_day: Any = None,
    route: str | None = None,
) -> MedicationRecord:
    dose = None if mg_per_day is None else drug_mass(mg_per_day, "mg")
    return MedicationRecord(
        name, name, classes_of(name), dose, route, start, end, ongoing, False, f"test:{name}"
    )


def record(**kw: Any) -> PatientRecord:
    base: dict[str, Any] = {
        "id": "T1",
        "birth_earliest": date(1988, 3, 14),
        "birth_latest": date(1988, 3, 14),
        "sex": "female",
        "screening_date": SCREEN,
    }
    base.update(kw)
    return PatientRecord(**base)


def attest(**values: bool | None) -> dict[str, Attestation]:
    return {k.replace("__", "#"): Attestation(v) for k, v in values.items()}


def run(logic: Any, rec: PatientRecord, *, criterion_id: str = "T-01", **ctx: Any) -> NodeResult:
    node = parse_logic(logic, "logic")
    return evaluate(node, Context(rec, ctx.pop("screening_date", SCREEN), criterion_id, **ctx))


@dataclass
class Ind:
    id: str


@dataclass
class FakeProtocol:
    id: str
    criteria: list[Criterion]
    indications: list[Ind] = field(default_factory=lambda: [Ind("SLE")])


def crit(
    cid: str,
    category: str,
    logic: Any = None,
    *,
    attests: bool = False,
    needs_review: bool = False,
    indications: tuple[str, ...] = (),
) -> Criterion:
    return Criterion(
        cid,
        category,  # type: ignore[arg-type]
        f"text of {cid}",
        indications,
        needs_review,
        "a known error" if needs_review else None,
        None if logic is None else parse_logic(logic, cid),
        attests,
    )
