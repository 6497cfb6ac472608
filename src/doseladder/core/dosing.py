"""Dose levels in their real units, per-patient amounts, and lymphodepletion regimens.

A protocol's dose levels are not abstract indices: seed 000 (NCT07143617, STR-P004) gives
``DL-1 Amg/kg, DL1 Bmg/kg, DL2 Cmg/kg`` whose amounts are *placeholders* A/B/C that must stay
symbolic until the sponsor sets them; seed 003 (STEAM) gives 1×10⁵, 3×10⁵ and 5×10⁵ CAR-T
cells/kg; seed 001 (F01 CAR-NK) gives a *range* of absolute cells, 0.5–3×10⁹ CAR⁺ NK cells, after
lymphodepletion with fludarabine 25–30 mg/m² and cyclophosphamide 250–300 mg/m² on days −5 to −3
(seed files ``000_*.txt``, ``001_*.txt``, ``003_*.txt``; spec ``clinical.md`` §4.5–4.6).

This module is pure (no I/O): it models

* :class:`Amount` -- a fixed value, a symbolic placeholder, or a closed range, with a
  :class:`DoseUnit`;
* :class:`DoseLevel` -- a labelled level (``"DL1"``) with its amount;
* :func:`DoseLevel.for_patient` -- the amount for one patient: per-kg units are multiplied by
  the body weight, per-m² units by the body-surface area (BSA; computed elsewhere -- this module
  takes BSA as an input and does not choose a BSA formula), absolute units are returned as they
  are.  A placeholder raises :class:`~doseladder.core.errors.InputError` ("dose DL1 amount is a
  placeholder 'B' not yet set"): a symbolic dose can never be turned into a number;
* :class:`LymphodepletionRegimen` -- agents with mg/m² (or mg/kg) ranges and the days relative
  to the infusion (day 0), and the per-patient daily and total amounts.

Decisions (spec ``clinical.md`` §4.5-4.6 leave them open; documented in ``docs/protocols.md``):

* Amounts are floats; printed with 3 significant digits.  Per-kg doses use the *actual* body
  weight (spec §4.6 ``basis_weight: actual``); capping (e.g. a maximum weight or BSA) and renal
  dose adjustment of fludarabine are protocol-specific and not in any seed, so they are not
  modelled (spec §4.5 "NOT FOUND ... expose as parameters" -- they would be added here).
* A range amount stays a range per patient (low and high both scaled); choosing a point in the
  range is a protocol decision that no seed states.
* The infusion day is day 0; lymphodepletion days are negative (seed 001: "D-5~D-3").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from doseladder.core.errors import InputError

__all__ = [
    "AgentAmount",
    "Amount",
    "DoseLevel",
    "DoseUnit",
    "LymphodepletionAgent",
    "LymphodepletionRegimen",
    "PatientAmount",
    "format_amount",
    "format_number",
]


class DoseUnit(StrEnum):
    """Units of a dose amount.  ``per`` says what the amount is multiplied by per patient."""

    MG_PER_KG = "mg/kg"
    CELLS_PER_KG = "cells/kg"
    CELLS = "cells"
    MG_PER_M2 = "mg/m2"
    MG = "mg"

    @classmethod
    def parse(cls, text: str, field: str = "unit") -> DoseUnit:
        """Parse a unit, accepting ``mg/m²``/``mg/m^2`` for ``mg/m2``."""
        if isinstance(text, DoseUnit):
            return text
        if not isinstance(text, str):
            raise InputError(field, f"must be a unit string, got {text!r}")
        norm = text.strip().replace("²", "2").replace("^2", "2").replace(" ", "")
        for unit in cls:
            if norm.lower() == unit.value:
                return unit
        allowed = ", ".join(u.value for u in cls)
        raise InputError(field, f"unknown unit {text!r}; allowed: {allowed}")

    @property
    def per(self) -> str | None:
        """``"kg"`` (times weight), ``"m2"`` (times BSA) or ``None`` (absolute)."""
        if self in (DoseUnit.MG_PER_KG, DoseUnit.CELLS_PER_KG):
            return "kg"
        if self is DoseUnit.MG_PER_M2:
            return "m2"
        return None

    @property
    def total_unit(self) -> str:
        """The unit of the per-patient amount: ``"mg"`` or ``"cells"``."""
        return "cells" if self in (DoseUnit.CELLS, DoseUnit.CELLS_PER_KG) else "mg"

    @property
    def display(self) -> str:
        return "mg/m²" if self is DoseUnit.MG_PER_M2 else self.value


def format_number(x: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits; large/small values as ``a×10^b``."""
    if x == 0:
        return "0"
    exp = math.floor(math.log10(abs(x)))
    if -3 <= exp < 5:
        text = f"{x:.{max(digits - 1 - exp, 0)}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    mant = x / 10**exp
    m = f"{mant:.{digits - 1}f}".rstrip("0").rstrip(".")
    if m == "10":  # rounding carried over
        m, exp = "1", exp + 1
    return f"{m}×10^{exp}"


def _finite_positive(field: str, value: object, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(field, f"must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise InputError(field, f"must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Amount:
    """A dose amount: exactly one of a fixed ``value``, a ``placeholder`` symbol, or a range.

    Attributes:
        unit: the unit, or ``None`` when the source does not state it (seeds 002, 004); a
            ``None`` unit cannot be converted per patient.
        value: fixed amount.
        placeholder: a symbol that stands for an amount not yet set (seed 000: ``"A"``).
        low, high: a closed range ``low <= amount <= high`` (seed 001: 0.5–3×10⁹ cells).
    """

    unit: DoseUnit | None
    value: float | None = None
    placeholder: str | None = None
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.unit is not None and not isinstance(self.unit, DoseUnit):
            object.__setattr__(self, "unit", DoseUnit.parse(self.unit))
        forms = [
            self.value is not None,
            self.placeholder is not None,
            self.low is not None or self.high is not None,
        ]
        if sum(forms) != 1:
            raise InputError(
                "amount",
                "give exactly one of value, placeholder, or low and high "
                f"(got value={self.value!r}, placeholder={self.placeholder!r}, "
                f"low={self.low!r}, high={self.high!r})",
            )
        if self.value is not None:
            object.__setattr__(self, "value", _finite_positive("amount.value", self.value))
        if self.placeholder is not None and (
            not isinstance(self.placeholder, str) or not self.placeholder.strip()
        ):
            raise InputError("amount.placeholder", "must be a non-empty symbol such as 'A'")
        if forms[2]:
            if self.low is None or self.high is None:
                raise InputError("amount", "a range needs both low and high")
            lo = _finite_positive("amount.low", self.low)
            hi = _finite_positive("amount.high", self.high)
            if lo > hi:
                raise InputError("amount.low", f"low {lo:g} is above high {hi:g}")
            object.__setattr__(self, "low", lo)
            object.__setattr__(self, "high", hi)

    @property
    def kind(self) -> str:
        """``"value"``, ``"placeholder"`` or ``"range"``."""
        if self.value is not None:
            return "value"
        if self.placeholder is not None:
            return "placeholder"
        return "range"

    @property
    def is_set(self) -> bool:
        """Whether the amount is numeric (not a placeholder) and has a unit."""
        return self.placeholder is None and self.unit is not None

    def describe(self) -> str:
        """``"1×10^5 cells/kg"``, ``"B mg/kg (placeholder, not yet set)"``, ``"0.5–3×10^9 ..."``."""
        unit = self.unit.display if self.unit is not None else "(unit not stated)"
        if self.value is not None:
            return f"{format_number(self.value)} {unit}"
        if self.placeholder is not None:
            return f"{self.placeholder} {unit} (placeholder, not yet set)"
        assert self.low is not None and self.high is not None
        return f"{format_number(self.low)}–{format_number(self.high)} {unit}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"unit": self.unit.value if self.unit is not None else None}
        if self.value is not None:
            out["value"] = self.value
        elif self.placeholder is not None:
            out["placeholder"] = self.placeholder
        else:
            out["low"], out["high"] = self.low, self.high
        return out


def format_amount(low: float, high: float, unit: str) -> str:
    """``"7.5×10^6 cells"`` or ``"39.1–46.9 mg"``."""
    if low == high:
        return f"{format_number(low)} {unit}"
    return f"{format_number(low)}–{format_number(high)} {unit}"


@dataclass(frozen=True, slots=True)
class PatientAmount:
    """The amount for one patient.  ``low == high`` unless the level is a range.

    ``basis`` says how it was computed, e.g. ``"1×10^5 cells/kg × 25 kg"``.
    """

    label: str
    low: float
    high: float
    unit: str
    basis: str

    @property
    def is_range(self) -> bool:
        return self.low != self.high

    def describe(self) -> str:
        return f"{self.label}: {format_amount(self.low, self.high, self.unit)} ({self.basis})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "low": self.low,
            "high": self.high,
            "unit": self.unit,
            "basis": self.basis,
        }


def _scale(
    label: str, what: str, unit: DoseUnit, weight_kg: float | None, bsa_m2: float | None
) -> tuple[float, str]:
    """Multiplier for one patient and its text (``× 25 kg``)."""
    per = unit.per
    if per == "kg":
        if weight_kg is None:
            raise InputError(
                "weight_kg", f"{what} {label} is dosed per kg: a body weight is needed"
            )
        w = _finite_positive("weight_kg", weight_kg)
        return w, f" × {format_number(w)} kg"
    if per == "m2":
        if bsa_m2 is None:
            raise InputError("bsa_m2", f"{what} {label} is dosed per m²: a BSA is needed")
        b = _finite_positive("bsa_m2", bsa_m2)
        return b, f" × {format_number(b)} m²"
    return 1.0, ""


@dataclass(frozen=True, slots=True)
class DoseLevel:
    """One dose level of a protocol.

    Attributes:
        label: the protocol's name of the level (``"DL-1"``, ``"DL1"``), unique in a protocol.
        amount: the amount and its unit.
        role: free text such as ``"backup"`` or ``"start"`` (seed 000 calls DL-1 "a backup dose
            reduction group").
        source_text: the registry wording the level was read from (verbatim).
        needs_review: the amount/unit was not fully stated or looked wrong in the source.
        review_note: why.
    """

    label: str
    amount: Amount
    role: str | None = None
    source_text: str | None = None
    needs_review: bool = False
    review_note: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise InputError("label", "a dose level needs a non-empty label")
        if not isinstance(self.amount, Amount):
            raise InputError(f"doses.{self.label}.amount", "must be an Amount")
        if self.needs_review and not self.review_note:
            raise InputError(f"doses.{self.label}.review_note", "say why it needs review")

    def for_patient(
        self, *, weight_kg: float | None = None, bsa_m2: float | None = None
    ) -> PatientAmount:
        """The amount for one patient (weight in kg for per-kg units, BSA in m² for per-m²).

        Raises :class:`InputError` for a placeholder or an unstated unit, naming the level.
        """
        a = self.amount
        if a.placeholder is not None:
            raise InputError(
                f"doses.{self.label}.amount",
                f"dose {self.label} amount is a placeholder {a.placeholder!r} not yet set",
            )
        if a.unit is None:
            raise InputError(
                f"doses.{self.label}.amount.unit",
                f"dose {self.label} has no unit stated in the source; it cannot be computed",
            )
        factor, basis_tail = _scale(self.label, "dose", a.unit, weight_kg, bsa_m2)
        if a.value is not None:
            lo = hi = a.value * factor
        else:
            assert a.low is not None and a.high is not None
            lo, hi = a.low * factor, a.high * factor
        return PatientAmount(self.label, lo, hi, a.unit.total_unit, a.describe() + basis_tail)

    def describe(self) -> str:
        text = f"{self.label}: {self.amount.describe()}"
        if self.role:
            text += f" [{self.role}]"
        if self.needs_review:
            text += f" -- REVIEW: {self.review_note}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "amount": self.amount.to_dict(),
            "role": self.role,
            "source_text": self.source_text,
            "needs_review": self.needs_review,
            "review_note": self.review_note,
        }


# ---------------------------------------------------------------- lymphodepletion
@dataclass(frozen=True, slots=True)
class LymphodepletionAgent:
    """One lymphodepleting agent: a dose (per m² or per kg, possibly a range) on given days.

    Attributes:
        name: e.g. ``"fludarabine"``.
        low, high: dose range per day (equal for a single dose), in ``unit``.
        unit: :attr:`DoseUnit.MG_PER_M2` (seed 001) or :attr:`DoseUnit.MG_PER_KG`/``MG``.
        days: days relative to the infusion (day 0), e.g. ``(-5, -4, -3)``.
    """

    name: str
    low: float
    high: float
    unit: DoseUnit
    days: tuple[int, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("name", "an agent needs a name")
        if not isinstance(self.unit, DoseUnit):
            object.__setattr__(self, "unit", DoseUnit.parse(self.unit, f"{self.name}.unit"))
        if self.unit.total_unit != "mg":
            raise InputError(f"{self.name}.unit", "a lymphodepleting agent is dosed in mg")
        lo = _finite_positive(f"{self.name}.low", self.low)
        hi = _finite_positive(f"{self.name}.high", self.high)
        if lo > hi:
            raise InputError(f"{self.name}.low", f"low {lo:g} is above high {hi:g}")
        object.__setattr__(self, "low", lo)
        object.__setattr__(self, "high", hi)
        days = tuple(self.days)
        if not days:
            raise InputError(f"{self.name}.days", "give at least one day")
        for d in days:
            if isinstance(d, bool) or not isinstance(d, int):
                raise InputError(f"{self.name}.days", f"days must be integers, got {d!r}")
        if len(set(days)) != len(days):
            raise InputError(f"{self.name}.days", f"repeated day in {list(days)}")
        object.__setattr__(self, "days", tuple(sorted(days)))

    def describe(self) -> str:
        dose = format_amount(self.low, self.high, self.unit.display)
        return f"{self.name} {dose} per day on {_days_text(self.days)}"


def _day(d: int) -> str:
    return f"day {d}" if d >= 0 else f"day −{-d}"


def _days_text(days: tuple[int, ...]) -> str:
    if len(days) > 2 and list(days) == list(range(days[0], days[-1] + 1)):
        return f"{_day(days[0])} to {_day(days[-1])} ({len(days)} days)"
    return ", ".join(_day(d) for d in days)


@dataclass(frozen=True, slots=True)
class AgentAmount:
    """Per-patient amounts of one agent: per day and in total (daily × number of days)."""

    name: str
    daily_low: float
    daily_high: float
    total_low: float
    total_high: float
    days: tuple[int, ...]
    basis: str

    def describe(self) -> str:
        return (
            f"{self.name}: {format_amount(self.daily_low, self.daily_high, 'mg')} per day on "
            f"{_days_text(self.days)}, total {format_amount(self.total_low, self.total_high, 'mg')}"
            f" ({self.basis})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "daily_mg": [self.daily_low, self.daily_high],
            "total_mg": [self.total_low, self.total_high],
            "days": list(self.days),
            "basis": self.basis,
        }


@dataclass(frozen=True, slots=True)
class LymphodepletionRegimen:
    """Lymphodepleting chemotherapy before the infusion (seed 001: Flu/Cy on days −5 to −3).

    Attributes:
        agents: the agents in the order given by the protocol.
        source_text: the registry wording (verbatim).
    """

    agents: tuple[LymphodepletionAgent, ...]
    source_text: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "agents", tuple(self.agents))
        if not self.agents:
            raise InputError("lymphodepletion.agents", "give at least one agent")
        names = [a.name.lower() for a in self.agents]
        if len(set(names)) != len(names):
            raise InputError("lymphodepletion.agents", "an agent is listed twice")

    @property
    def days(self) -> tuple[int, ...]:
        """Every day on which an agent is given, sorted."""
        return tuple(sorted({d for a in self.agents for d in a.days}))

    def for_patient(
        self, *, bsa_m2: float | None = None, weight_kg: float | None = None
    ) -> tuple[AgentAmount, ...]:
        """Daily and total amounts per agent for one patient (spec ``clinical.md`` §4.5).

        ``daily_mg = dose × BSA`` (or × weight for mg/kg); total = daily × number of days.
        Worked example (spec §4.5): BSA 1.5635 m², fludarabine 25 mg/m² -> 39.1 mg/day,
        117.3 mg in total.
        """
        out = []
        for a in self.agents:
            factor, tail = _scale(a.name, "agent", a.unit, weight_kg, bsa_m2)
            k = len(a.days)
            out.append(
                AgentAmount(
                    a.name,
                    a.low * factor,
                    a.high * factor,
                    a.low * factor * k,
                    a.high * factor * k,
                    a.days,
                    format_amount(a.low, a.high, a.unit.display) + tail,
                )
            )
        return tuple(out)

    def describe(self) -> str:
        return "Lymphodepletion: " + "; ".join(a.describe() for a in self.agents) + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "agents": [
                {
                    "name": a.name,
                    "low": a.low,
                    "high": a.high,
                    "unit": a.unit.value,
                    "days": list(a.days),
                }
                for a in self.agents
            ],
            "source_text": self.source_text,
        }
