"""Typed, exact quantities for clinical values: a number always travels with its unit.

A :class:`Quantity` is a frozen ``(value, unit)`` pair whose unit belongs to a closed set of
units of one *dimension* (an analyte or a physical quantity).  Because the unit object knows
its dimension, a creatinine in µmol/L can never be read as mg/dL, nor a bilirubin in µmol/L as
a creatinine: functions check the dimension and raise :class:`~doseladder.core.errors.InputError`
naming the field when a value of the wrong dimension (or a bare number) is passed.

Values are held exactly as :class:`fractions.Fraction`.  A ``float`` is read through its
shortest decimal representation (``repr``), so ``6.7`` is exactly ``67/10`` and a value exactly
at a threshold compares as equal to it; conversions use exact rational factors, so unit
round-trips are exact.

Conversion factors (spec ``clinical.md`` §4.1):

* Creatinine: 1 mg/dL = 88.4 µmol/L [spec §4.1: renalcarematters.com Schwartz guide; check:
  seed 000 "2.5 mg/dL or 221 µmol/L" = 2.5 × 88.4].
* Bilirubin: 1 mg/dL = 17.1 µmol/L (the clinical-laboratory convention; the spec also quotes
  17.104 from the molar mass 584.66 g/mol [§4.1, W]).  The factor is the module constant
  :data:`BILIRUBIN_UMOL_PER_MG_DL`; CTCAE grading compares against ULN/baseline in the *same*
  unit, so the factor never enters a CTCAE grade.
* Haemoglobin: 10 g/dL = 100 g/L exactly [CTCAE v5 Anemia cells, spec §3.1/§4.1].  mmol/L is a
  member of the dimension but is *not* convertible (CTCAE gives its own mmol/L cut-offs, 6.2 and
  4.9 mmol/L, which are not an exact multiple of the g/L ones).
* Blood cell counts: 10⁹/L = 10³/µL = 10³/mm³; 1/µL = 10⁻³ × 10⁹/L [spec §4.1, admiral test
  header "CV unit is 10^3/uL (= SI unit)"].
* Mass: 1 lb = 0.45359237 kg (international avoirdupois pound, exact by definition).
* Length: 1 in = 2.54 cm (exact by definition).
* Temperature: °C = (°F − 32) × 5/9 (exact).
* Enzyme activity (ALT/AST): 1 µkat/L = 60 U/L (1 U = 1 µmol/min); IU/L = U/L.
* Immunoglobulin (IgG/IgA) mass concentration: 1 g/L = 100 mg/dL = 1000 mg/L.
* Drug mass: 1 g = 1000 mg = 10⁶ µg.
* Percentages (LVEF, SpO₂, FVC/DLCO % predicted): ``%`` only -- a fraction (0.55) is never
  read as a percentage.
* Dimensionless ratios (INR): ``ratio`` (UCUM ``1``, ``{INR}``).
* Coagulation times (APTT): 1 min = 60 s.
* Protein excretion (24-hour urine): 1 g/24 h = 1000 mg/24 h (UCUM ``g/(24.h)``, ``g/d``).
* Complement (C3/C4) mass concentration: 1 g/L = 100 mg/dL = 1000 mg/L.
* Creatinine clearance: mL/min (1 mL/s = 60 mL/min); BSA-normalised GFR: mL/min/1.73 m²
  (UCUM ``mL/min/{1.73_m2}``).  The two are different dimensions: a CrCl is never compared
  with an eGFR threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from doseladder.core.errors import InputError

__all__ = [
    "BILIRUBIN_UMOL_PER_MG_DL",
    "CREATININE_UMOL_PER_MG_DL",
    "Dimension",
    "NumberLike",
    "Quantity",
    "Unit",
    "bilirubin",
    "body_mass",
    "cell_count",
    "clearance",
    "coagulation_time",
    "compare",
    "complement",
    "creatinine",
    "drug_mass",
    "enzyme_activity",
    "gfr",
    "hemoglobin",
    "immunoglobulin",
    "length",
    "parse_unit",
    "percent",
    "protein_excretion",
    "ratio",
    "require_quantity",
    "temperature",
    "to_fraction",
]

NumberLike = int | float | Fraction | Decimal | str
"""Anything :func:`to_fraction` accepts; a ``str`` is a decimal (``"1.4"``) or ratio (``"7/5"``)."""

Comparator = Literal["<", "<=", ">", ">=", "==", "!="]

CREATININE_UMOL_PER_MG_DL = Fraction("88.4")
"""µmol/L per mg/dL of creatinine [spec clinical.md §4.1]."""

BILIRUBIN_UMOL_PER_MG_DL = Fraction("17.1")
"""µmol/L per mg/dL of bilirubin (clinical convention; spec §4.1 also quotes 17.104 [W])."""


def to_fraction(x: NumberLike, name: str = "value") -> Fraction:
    """Exact rational value of ``x``; floats are read through their shortest decimal ``repr``.

    Raises:
        InputError: ``x`` is a bool, not a number, NaN or infinite.
    """
    if isinstance(x, bool):
        raise InputError(name, f"must be a number, got a bool ({x!r})")
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise InputError(name, f"must be finite, got {x!r}")
        return Fraction(repr(x))
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise InputError(name, f"must be finite, got {x!r}")
        return Fraction(x)
    if isinstance(x, str):
        try:
            return Fraction(x.strip())
        except (ValueError, ZeroDivisionError):
            raise InputError(name, f"is not a number: {x!r}") from None
    raise InputError(name, f"must be a number, got {type(x).__name__}")


class Dimension(StrEnum):
    """What a quantity measures.  Units convert only within one dimension."""

    CREATININE = "creatinine concentration"
    BILIRUBIN = "bilirubin concentration"
    HEMOGLOBIN = "haemoglobin concentration"
    CELL_COUNT = "blood cell count"
    BODY_MASS = "body mass"
    LENGTH = "length"
    TEMPERATURE = "temperature"
    ENZYME_ACTIVITY = "enzyme activity (ALT/AST)"
    IMMUNOGLOBULIN = "immunoglobulin concentration"
    DRUG_MASS = "drug mass"
    PERCENT = "percentage"
    RATIO = "dimensionless ratio (INR)"
    COAGULATION_TIME = "coagulation time (APTT)"
    PROTEIN_EXCRETION = "protein excretion rate (24-hour urine)"
    COMPLEMENT = "complement concentration (C3/C4)"
    CLEARANCE = "creatinine clearance"
    GFR = "glomerular filtration rate (per 1.73 m²)"


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit of one dimension.

    ``canonical = value × factor + offset`` (offset only for temperature).  ``factor=None`` marks
    a unit that belongs to the dimension but has no exact conversion (haemoglobin mmol/L).
    """

    symbol: str
    dimension: Dimension
    factor: Fraction | None
    offset: Fraction = Fraction(0)
    aliases: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.symbol


def _u(
    symbol: str,
    dim: Dimension,
    factor: str | int | None,
    aliases: tuple[str, ...] = (),
    offset: Fraction = Fraction(0),
) -> Unit:
    return Unit(symbol, dim, None if factor is None else Fraction(factor), offset, aliases)


_D = Dimension
# The first unit of each dimension is its canonical unit.
_UNITS: dict[Dimension, tuple[Unit, ...]] = {
    _D.CREATININE: (
        _u("mg/dL", _D.CREATININE, 1),
        _u("µmol/L", _D.CREATININE, str(1 / CREATININE_UMOL_PER_MG_DL), ("micromol/l",)),
    ),
    _D.BILIRUBIN: (
        _u("mg/dL", _D.BILIRUBIN, 1),
        _u("µmol/L", _D.BILIRUBIN, str(1 / BILIRUBIN_UMOL_PER_MG_DL), ("micromol/l",)),
    ),
    _D.HEMOGLOBIN: (
        _u("g/L", _D.HEMOGLOBIN, 1),
        _u("g/dL", _D.HEMOGLOBIN, 10),
        _u("mmol/L", _D.HEMOGLOBIN, None),
    ),
    _D.CELL_COUNT: (
        _u("10^9/L", _D.CELL_COUNT, 1, ("x10^9/l", "10*9/l", "10e9/l", "x10e9/l", "x10*9/l")),
        _u(
            "10^3/µL",
            _D.CELL_COUNT,
            1,
            ("x10^3/ul", "10*3/ul", "10e3/ul", "x10e3/ul", "x10*3/ul", "k/ul", "thou/ul", "/nl"),
        ),
        _u("10^3/mm³", _D.CELL_COUNT, 1, ("x10^3/mm^3", "10^3/mm3", "x10^3/mm3", "10*3/mm3")),
        _u("/µL", _D.CELL_COUNT, "1/1000", ("cells/ul", "1/ul")),
        _u("/mm³", _D.CELL_COUNT, "1/1000", ("/mm3", "cells/mm^3", "cells/mm3", "1/mm3")),
    ),
    _D.BODY_MASS: (
        _u("kg", _D.BODY_MASS, 1),
        _u("g", _D.BODY_MASS, "1/1000"),
        _u("lb", _D.BODY_MASS, "0.45359237", ("lbs", "[lb_av]")),
    ),
    _D.LENGTH: (
        _u("cm", _D.LENGTH, 1),
        _u("m", _D.LENGTH, 100),
        _u("in", _D.LENGTH, "2.54", ("inch", "inches", "[in_i]")),
    ),
    _D.TEMPERATURE: (
        _u("°C", _D.TEMPERATURE, 1, ("c", "degc", "cel", "celsius")),
        _u(
            "°F",
            _D.TEMPERATURE,
            "5/9",
            ("f", "degf", "[degf]", "fahrenheit"),
            offset=Fraction(-160, 9),
        ),
    ),
    _D.ENZYME_ACTIVITY: (
        _u("U/L", _D.ENZYME_ACTIVITY, 1, ("iu/l", "[iu]/l")),
        _u("µkat/L", _D.ENZYME_ACTIVITY, 60),
    ),
    _D.IMMUNOGLOBULIN: (
        _u("mg/dL", _D.IMMUNOGLOBULIN, 1),
        _u("g/L", _D.IMMUNOGLOBULIN, 100),
        _u("mg/L", _D.IMMUNOGLOBULIN, "1/10"),
    ),
    _D.DRUG_MASS: (
        _u("mg", _D.DRUG_MASS, 1),
        _u("g", _D.DRUG_MASS, 1000),
        _u("µg", _D.DRUG_MASS, "1/1000", ("mcg",)),
    ),
    _D.PERCENT: (_u("%", _D.PERCENT, 1, ("percent", "pct")),),
    _D.RATIO: (_u("ratio", _D.RATIO, 1, ("1", "{ratio}", "{inr}", "inr", "{index}")),),
    _D.COAGULATION_TIME: (
        _u("s", _D.COAGULATION_TIME, 1, ("sec", "second", "seconds")),
        _u("min", _D.COAGULATION_TIME, 60, ("minute", "minutes")),
    ),
    _D.PROTEIN_EXCRETION: (
        _u("g/24h", _D.PROTEIN_EXCRETION, 1, ("g/(24.h)", "g/d", "g/day", "g/24hr")),
        _u("mg/24h", _D.PROTEIN_EXCRETION, "1/1000", ("mg/(24.h)", "mg/d", "mg/day", "mg/24hr")),
    ),
    _D.COMPLEMENT: (
        _u("mg/dL", _D.COMPLEMENT, 1),
        _u("g/L", _D.COMPLEMENT, 100),
        _u("mg/L", _D.COMPLEMENT, "1/10"),
    ),
    _D.CLEARANCE: (
        _u("mL/min", _D.CLEARANCE, 1),
        _u("mL/s", _D.CLEARANCE, 60),
    ),
    _D.GFR: (
        _u(
            "mL/min/1.73m²",
            _D.GFR,
            1,
            ("ml/min/1.73m2", "ml/min/1.73m^2", "ml/min/{1.73_m2}"),
        ),
    ),
}

_SUPERSCRIPTS = str.maketrans({"³": "^3", "⁶": "^6", "⁹": "^9"})


def _norm(symbol: str) -> str:
    s = symbol.strip().replace("µ", "u").replace("μ", "u").replace("×", "x")
    return s.replace(" ", "").translate(_SUPERSCRIPTS).lower()


_LOOKUP: dict[Dimension, dict[str, Unit]] = {}
for _dim, _units in _UNITS.items():
    _table: dict[str, Unit] = {}
    for _unit in _units:
        for _name in (_unit.symbol, *_unit.aliases):
            _table[_norm(_name)] = _unit
    _LOOKUP[_dim] = _table


_BY_SYMBOL: dict[str, list[Unit]] = {}
for _table in _LOOKUP.values():
    for _name, _unit in _table.items():
        if _unit not in _BY_SYMBOL.setdefault(_name, []):
            _BY_SYMBOL[_name].append(_unit)


def _unit_from_symbol(symbol: str) -> Unit:
    units = _BY_SYMBOL.get(_norm(symbol), [])
    if len(units) == 1:
        return units[0]
    if not units:
        raise InputError("unit", f"unknown unit {symbol!r}")
    dims = ", ".join(str(u.dimension) for u in units)
    raise InputError(
        "unit",
        f"{symbol!r} is ambiguous ({dims}); build the quantity with its dimension, e.g. "
        f"creatinine(1.2, 'mg/dL') or bilirubin(1.2, 'mg/dL')",
    )


def parse_unit(symbol: str | Unit, dimension: Dimension, name: str = "unit") -> Unit:
    """The unit of ``dimension`` spelled ``symbol`` (case, µ/μ/u and spacing insensitive).

    Raises:
        InputError: the symbol is not a unit of that dimension (the message lists the valid
            ones), or a :class:`Unit` of another dimension was given.
    """
    if isinstance(symbol, Unit):
        if symbol.dimension is not dimension:
            raise InputError(
                name, f"{symbol.symbol} is a unit of {symbol.dimension}, expected {dimension}"
            )
        return symbol
    if not isinstance(symbol, str):
        raise InputError(name, f"must be a unit symbol, got {type(symbol).__name__}")
    unit = _LOOKUP[dimension].get(_norm(symbol))
    if unit is None:
        valid = ", ".join(u.symbol for u in _UNITS[dimension])
        raise InputError(name, f"{symbol!r} is not a unit of {dimension} (valid: {valid})")
    return unit


def canonical_unit(dimension: Dimension) -> Unit:
    """The unit in which a dimension's thresholds are stated internally."""
    return _UNITS[dimension][0]


@dataclass(frozen=True, slots=True, eq=False)
class Quantity:
    """An exact value with an explicit unit.

    Build one with a dimension-specific constructor, which parses the unit within that
    dimension: ``creatinine(1.2, "mg/dL")``, ``cell_count(800, "/µL")``, ``body_mass(70, "kg")``.
    ``Quantity(value, unit)`` also works with a :class:`Unit` object, or with a unit symbol
    that belongs to exactly one dimension (``Quantity(70, "kg")``); an ambiguous symbol such as
    ``"mg/dL"`` or ``"µmol/L"`` (creatinine? bilirubin?) raises :class:`InputError`.

    Equality, ordering and hashing compare *magnitudes* exactly across units of one dimension
    (``creatinine(1, "mg/dL") == creatinine(88.4, "µmol/L")``).  Ordering quantities of
    different dimensions, or with a non-convertible unit, raises :class:`InputError`;
    ``==`` between different dimensions is simply ``False``.
    """

    value: Fraction
    unit: Unit

    def __init__(self, value: NumberLike, unit: Unit | str) -> None:
        if isinstance(unit, str):
            unit = _unit_from_symbol(unit)
        if not isinstance(unit, Unit):
            raise InputError("unit", f"must be a Unit (use a dimension constructor), got {unit!r}")
        v = to_fraction(value)
        if v < 0 and unit.dimension is not Dimension.TEMPERATURE:
            raise InputError("value", f"{unit.dimension} cannot be negative, got {float(v)!r}")
        object.__setattr__(self, "value", v)
        object.__setattr__(self, "unit", unit)

    @property
    def exact(self) -> Fraction:
        """The exact value (same as ``value``), in this quantity's unit."""
        return self.value

    @property
    def dimension(self) -> Dimension:
        return self.unit.dimension

    def to(self, unit: Unit | str) -> Quantity:
        """This quantity in another unit of the same dimension (exact).

        Raises:
            InputError: ``unit`` is not of this dimension, or no exact conversion exists.
        """
        target = parse_unit(unit, self.dimension)
        if target is self.unit:
            return self
        if target.factor is None or self.unit.factor is None:
            raise InputError(
                "unit",
                f"no exact conversion between {self.unit.symbol} and {target.symbol} for "
                f"{self.dimension}",
            )
        canonical = self.value * self.unit.factor + self.unit.offset
        return Quantity((canonical - target.offset) / target.factor, target)

    def canonical(self) -> Fraction:
        """The exact value in the dimension's canonical unit (first unit listed)."""
        return self.to(canonical_unit(self.dimension)).value

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        return f"Quantity({_fmt(self.value)}, {self.unit.symbol!r})"

    def __str__(self) -> str:
        return f"{_fmt(self.value)} {self.unit.symbol}"

    def to_dict(self) -> dict[str, object]:
        return {"value": float(self.value), "unit": self.unit.symbol}

    def _key(self, other: Quantity) -> tuple[Fraction, Fraction]:
        if not isinstance(other, Quantity):
            raise InputError("value", f"cannot compare a quantity with {type(other).__name__}")
        if other.dimension is not self.dimension:
            raise InputError(
                "value",
                f"cannot compare {self.dimension} ({self.unit.symbol}) with "
                f"{other.dimension} ({other.unit.symbol})",
            )
        if self.unit is other.unit:
            return self.value, other.value
        return self.canonical(), other.canonical()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        try:
            a, b = self._key(other)
        except InputError:
            return False
        return a == b

    def __hash__(self) -> int:
        try:
            return hash((self.dimension, self.canonical()))
        except InputError:
            return hash((self.dimension, self.unit.symbol, self.value))

    def __lt__(self, other: Quantity) -> bool:
        a, b = self._key(other)
        return a < b

    def __le__(self, other: Quantity) -> bool:
        a, b = self._key(other)
        return a <= b

    def __gt__(self, other: Quantity) -> bool:
        a, b = self._key(other)
        return a > b

    def __ge__(self, other: Quantity) -> bool:
        a, b = self._key(other)
        return a >= b

    def times(self, k: NumberLike) -> Quantity:
        """``k`` × this quantity, in the same unit (exact; e.g. ``uln.times(3)`` = 3×ULN)."""
        if self.unit.offset:
            raise InputError("value", f"cannot scale a {self.dimension}")
        return Quantity(self.value * to_fraction(k, "factor"), self.unit)


def _fmt(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    f = float(v)
    return repr(f) if Fraction(repr(f)) == v else f"{f:.6g}"


def compare(a: Quantity, op: Comparator, b: Quantity) -> bool:
    """Exact comparison ``a op b`` of two quantities of one dimension (units may differ)."""
    x, y = a._key(b)
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    if op == ">=":
        return x >= y
    if op == "==":
        return x == y
    if op == "!=":
        return x != y
    raise InputError("comparator", f"unknown comparator {op!r}")


def require_quantity(
    q: object,
    field_name: str,
    dimension: Dimension,
    *,
    allow_none: bool = True,
    convertible: bool = True,
) -> Quantity | None:
    """Check that ``q`` is a :class:`Quantity` of ``dimension`` (or ``None`` when allowed).

    Raises:
        InputError: naming ``field_name``: a bare number, a quantity of another dimension, or
            (with ``convertible``) a unit without an exact conversion.
    """
    if q is None:
        if allow_none:
            return None
        raise InputError(field_name, "is required")
    if not isinstance(q, Quantity):
        valid = ", ".join(u.symbol for u in _UNITS[dimension])
        raise InputError(
            field_name,
            f"must be a {dimension} with an explicit unit ({valid}), got {q!r}; "
            "a bare number is never read in an assumed unit",
        )
    if q.dimension is not dimension:
        raise InputError(
            field_name,
            f"expected a {dimension}, got a {q.dimension} ({q}); "
            f"valid units: {', '.join(u.symbol for u in _UNITS[dimension])}",
        )
    if convertible and q.unit.factor is None:
        raise InputError(field_name, f"{q.unit.symbol} cannot be converted exactly here")
    return q


def _make(dimension: Dimension, value: NumberLike, unit: str | Unit) -> Quantity:
    return Quantity(value, parse_unit(unit, dimension))


def creatinine(value: NumberLike, unit: str | Unit) -> Quantity:
    """Serum creatinine, ``"mg/dL"`` or ``"µmol/L"`` (1 mg/dL = 88.4 µmol/L)."""
    return _make(Dimension.CREATININE, value, unit)


def bilirubin(value: NumberLike, unit: str | Unit) -> Quantity:
    """Total bilirubin, ``"mg/dL"`` or ``"µmol/L"`` (1 mg/dL = 17.1 µmol/L)."""
    return _make(Dimension.BILIRUBIN, value, unit)


def hemoglobin(value: NumberLike, unit: str | Unit) -> Quantity:
    """Haemoglobin, ``"g/L"``, ``"g/dL"`` or ``"mmol/L"`` (mmol/L not convertible)."""
    return _make(Dimension.HEMOGLOBIN, value, unit)


def cell_count(value: NumberLike, unit: str | Unit) -> Quantity:
    """A blood cell count: ``"10^9/L"`` = ``"10^3/µL"`` = ``"10^3/mm³"``; ``"/µL"``, ``"/mm³"``."""
    return _make(Dimension.CELL_COUNT, value, unit)


def body_mass(value: NumberLike, unit: str | Unit) -> Quantity:
    """Body weight, ``"kg"``, ``"g"`` or ``"lb"``."""
    return _make(Dimension.BODY_MASS, value, unit)


def length(value: NumberLike, unit: str | Unit) -> Quantity:
    """Height/length, ``"cm"``, ``"m"`` or ``"in"``."""
    return _make(Dimension.LENGTH, value, unit)


def temperature(value: NumberLike, unit: str | Unit) -> Quantity:
    """Body temperature, ``"°C"`` or ``"°F"``."""
    return _make(Dimension.TEMPERATURE, value, unit)


def enzyme_activity(value: NumberLike, unit: str | Unit) -> Quantity:
    """ALT/AST activity, ``"U/L"`` (= IU/L) or ``"µkat/L"`` (1 µkat/L = 60 U/L)."""
    return _make(Dimension.ENZYME_ACTIVITY, value, unit)


def immunoglobulin(value: NumberLike, unit: str | Unit) -> Quantity:
    """Serum IgG/IgA/IgM, ``"mg/dL"``, ``"g/L"`` or ``"mg/L"``."""
    return _make(Dimension.IMMUNOGLOBULIN, value, unit)


def drug_mass(value: NumberLike, unit: str | Unit) -> Quantity:
    """A drug amount, ``"mg"``, ``"g"`` or ``"µg"``."""
    return _make(Dimension.DRUG_MASS, value, unit)


def percent(value: NumberLike, unit: str | Unit = "%") -> Quantity:
    """A percentage (LVEF, SpO₂, % predicted), ``"%"``."""
    return _make(Dimension.PERCENT, value, unit)


def ratio(value: NumberLike, unit: str | Unit = "ratio") -> Quantity:
    """A dimensionless ratio such as the INR (``"ratio"``; UCUM ``"1"``, ``"{INR}"``)."""
    return _make(Dimension.RATIO, value, unit)


def coagulation_time(value: NumberLike, unit: str | Unit) -> Quantity:
    """A clotting time such as the APTT, ``"s"`` or ``"min"``."""
    return _make(Dimension.COAGULATION_TIME, value, unit)


def protein_excretion(value: NumberLike, unit: str | Unit) -> Quantity:
    """24-hour urine protein, ``"g/24h"`` or ``"mg/24h"`` (UCUM ``g/(24.h)``, ``g/d``)."""
    return _make(Dimension.PROTEIN_EXCRETION, value, unit)


def complement(value: NumberLike, unit: str | Unit) -> Quantity:
    """Serum complement C3/C4, ``"mg/dL"``, ``"g/L"`` or ``"mg/L"``."""
    return _make(Dimension.COMPLEMENT, value, unit)


def clearance(value: NumberLike, unit: str | Unit = "mL/min") -> Quantity:
    """A creatinine clearance, ``"mL/min"`` or ``"mL/s"``."""
    return _make(Dimension.CLEARANCE, value, unit)


def gfr(value: NumberLike, unit: str | Unit = "mL/min/1.73m²") -> Quantity:
    """A BSA-normalised GFR, ``"mL/min/1.73m²"`` (UCUM ``mL/min/{1.73_m2}``)."""
    return _make(Dimension.GFR, value, unit)
