"""The common result type of clinical calculations: a value with its evidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

__all__ = ["Assessment", "Contribution"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Contribution:
    """One item that contributed to a score or a grade.

    Attributes:
        item: identifier of the descriptor/criterion/term (e.g. ``"arthritis"``).
        points: its contribution (``None`` when it is a condition rather than points).
        detail: plain-English explanation with the values used.
    """

    item: str
    points: float | int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "points": self.points, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Assessment(Generic[T]):
    """The result of a clinical calculation, grading or scoring.

    Attributes:
        instrument: what was computed, with its version (e.g. ``"SLEDAI-2K"``,
            ``"CTCAE v5.0: Platelet count decreased"``, ``"Cockcroft-Gault CrCl"``).
        value: the score / grade / category / quantity; ``None`` when not evaluable.
        unit: unit of ``value`` where it has one (e.g. ``"mL/min"``).
        evaluable: ``False`` when required inputs are missing (``missing`` says which).
        inputs: the inputs used, with their units, as given.
        contributions: items that contributed (descriptors with points, criteria met, ...).
        reasons: plain-English reasoning, one sentence per step.
        missing: names of required inputs that were missing.
        needs_review: the result must be confirmed by a person (e.g. a seed text is ambiguous).
    """

    instrument: str
    value: T | None
    unit: str | None = None
    evaluable: bool = True
    inputs: Mapping[str, Any] = field(default_factory=dict)
    contributions: tuple[Contribution, ...] = ()
    reasons: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    needs_review: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", MappingProxyType(dict(self.inputs)))
        if self.missing and self.evaluable:
            object.__setattr__(self, "evaluable", False)

    def to_dict(self) -> dict[str, Any]:
        value: Any = self.value
        if hasattr(value, "to_dict"):
            value = value.to_dict()
        elif hasattr(value, "value") and not isinstance(value, int | float | str):
            value = value.value  # enums
        return {
            "instrument": self.instrument,
            "value": value,
            "unit": self.unit,
            "evaluable": self.evaluable,
            "inputs": {k: _plain(v) for k, v in self.inputs.items()},
            "contributions": [c.to_dict() for c in self.contributions],
            "reasons": list(self.reasons),
            "missing": list(self.missing),
            "needs_review": self.needs_review,
        }


def _plain(v: Any) -> Any:
    if hasattr(v, "to_dict"):
        return v.to_dict()
    if isinstance(v, int | float | str | bool) or v is None:
        return v
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    return str(v)
