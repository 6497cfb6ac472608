"""Typed quantities (spec ``clinical.md`` §4.1): exact conversions, wrong units rejected."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.units import (
    Dimension,
    Quantity,
    bilirubin,
    body_mass,
    cell_count,
    compare,
    creatinine,
    drug_mass,
    enzyme_activity,
    hemoglobin,
    immunoglobulin,
    length,
    parse_unit,
    require_quantity,
    temperature,
    to_fraction,
)
from doseladder.core.errors import InputError

# --------------------------------------------------------------------------- published factors


def test_creatinine_seed_000_pair_is_exact() -> None:
    # §4.1 / seed 000: "SCr > 2.5 mg/dL (221 µmol/L)" — 2.5 × 88.4 = 221.0 exactly
    q = creatinine(2.5, "mg/dL").to("µmol/L")
    assert q.value == 221
    assert creatinine(221, "µmol/L") == creatinine(2.5, "mg/dL")
    assert creatinine(221, "umol/L").to("mg/dL").value == Fraction(5, 2)


def test_bilirubin_factor_17_1() -> None:
    # §4.1: seed 004 "TBIL < 2.0 mg/dL" ≈ 34.2 µmol/L
    assert bilirubin(2, "mg/dL").to("µmol/L").value == Fraction("34.2")
    assert bilirubin("17.1", "µmol/L").to("mg/dL").value == 1


def test_haemoglobin_g_dl_to_g_l_and_mmol_not_convertible() -> None:
    # §4.1 / CTCAE Anemia cells: 10.0 g/dL = 100 g/L
    assert hemoglobin(10, "g/dL").to("g/L").value == 100
    assert hemoglobin(8, "g/dL") == hemoglobin(80, "g/L")
    with pytest.raises(InputError, match="no exact conversion"):
        hemoglobin("6.2", "mmol/L").to("g/L")
    with pytest.raises(InputError):
        _ = hemoglobin("6.2", "mmol/L") < hemoglobin(100, "g/L")
    assert hemoglobin("6.2", "mmol/L") != hemoglobin(100, "g/L")


@pytest.mark.parametrize(
    ("value", "unit", "expected_10_9_per_l"),
    [
        (1.5, "10^9/L", Fraction(3, 2)),
        (1.5, "x10^9/L", Fraction(3, 2)),
        (1.5, "×10⁹/L", Fraction(3, 2)),
        (1.5, "10*9/L", Fraction(3, 2)),
        (1.5, "10^3/µL", Fraction(3, 2)),  # admiral: 10^3/uL = SI unit
        (1.5, "10^3/uL", Fraction(3, 2)),
        (1.5, "10³/mm³", Fraction(3, 2)),
        (1500, "/µL", Fraction(3, 2)),
        (1500, "/mm3", Fraction(3, 2)),
        (1500, "cells/μL", Fraction(3, 2)),  # Greek mu
        (999, "/uL", Fraction(999, 1000)),
    ],
)
def test_cell_count_units(value: float, unit: str, expected_10_9_per_l: Fraction) -> None:
    # §4.1: 10⁹/L = 10³/µL = 10³/mm³
    assert cell_count(value, unit).to("10^9/L").value == expected_10_9_per_l


def test_temperature_offsets_are_exact() -> None:
    # CTCAE FN definition: 38.3 °C (101 °F), 38 °C (100.4 °F) — 100.4 °F is exactly 38 °C
    assert temperature("100.4", "°F").to("°C").value == 38
    assert temperature(101, "F").to("C").value == Fraction(1150, 30)  # 38.333…
    assert temperature(101, "°F") > temperature("38.3", "°C")
    assert temperature(38, "°C").to("°F").to("°C").value == 38
    assert temperature(-1, "°C").value == -1  # temperatures may be negative


def test_mass_length_enzyme_ig_drug() -> None:
    assert body_mass(1, "lb").to("kg").value == Fraction("0.45359237")
    assert body_mass(70, "kg").to("g").value == 70000
    assert length(1, "in").to("cm").value == Fraction("2.54")
    assert length("1.7", "m").to("cm").value == 170
    assert enzyme_activity(1, "µkat/L").to("U/L").value == 60
    assert enzyme_activity(40, "IU/L") == enzyme_activity(40, "U/L")
    assert immunoglobulin(4, "g/L").to("mg/dL").value == 400
    assert drug_mass(1, "g").to("mg").value == 1000
    assert drug_mass(750, "mcg").to("mg").value == Fraction(3, 4)


# --------------------------------------------------------------------------- wrong units


def test_unit_of_another_dimension_is_rejected() -> None:
    with pytest.raises(InputError) as e:
        creatinine(1, "g/L")
    assert e.value.field == "unit"
    with pytest.raises(InputError):
        cell_count(1, "mg/dL")
    with pytest.raises(InputError):
        parse_unit(parse_unit("mg/dL", Dimension.BILIRUBIN), Dimension.CREATININE)


def test_bilirubin_umol_is_not_creatinine_umol() -> None:
    # the same symbol in another dimension is another unit: never compared or converted
    cr = creatinine(100, "µmol/L")
    bi = bilirubin(100, "µmol/L")
    assert cr.unit is not bi.unit
    assert cr != bi
    with pytest.raises(InputError, match="cannot compare"):
        _ = cr < bi
    with pytest.raises(InputError):
        cr.to(bi.unit)


def test_require_quantity_names_the_field() -> None:
    with pytest.raises(InputError) as e:
        require_quantity(1.2, "serum_creatinine", Dimension.CREATININE)
    assert e.value.field == "serum_creatinine"
    assert "bare number" in e.value.reason
    with pytest.raises(InputError) as e:
        require_quantity(bilirubin(1, "mg/dL"), "serum_creatinine", Dimension.CREATININE)
    assert e.value.field == "serum_creatinine"
    assert require_quantity(None, "x", Dimension.CREATININE) is None
    with pytest.raises(InputError):
        require_quantity(None, "x", Dimension.CREATININE, allow_none=False)
    # an ambiguous symbol is refused; an unambiguous one is accepted
    with pytest.raises(InputError, match="ambiguous"):
        Quantity(1, "mg/dL")
    with pytest.raises(InputError, match="ambiguous"):
        Quantity(100, "µmol/L")
    with pytest.raises(InputError, match="unknown unit"):
        Quantity(1, "furlong")
    assert Quantity(70, "kg") == body_mass(70, "kg")
    assert Quantity("1.5", "10^9/L") == cell_count(1500, "/µL")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True, "abc", None, [1]])
def test_bad_numbers_rejected(bad: object) -> None:
    with pytest.raises(InputError):
        creatinine(bad, "mg/dL")  # type: ignore[arg-type]


def test_negative_rejected_except_temperature() -> None:
    with pytest.raises(InputError):
        cell_count(-0.1, "10^9/L")
    with pytest.raises(InputError):
        body_mass(-1, "kg")


# --------------------------------------------------------------------------- exactness


def test_floats_are_read_as_their_decimal() -> None:
    assert to_fraction(6.7) == Fraction(67, 10)
    assert to_fraction(Decimal("6.7")) == Fraction(67, 10)
    assert to_fraction("6.7") == Fraction(67, 10)
    assert to_fraction("7/5") == Fraction(7, 5)
    # 1.5 × 1.2 is 1.7999999999999998 in binary floating point; exact here
    uln = bilirubin(1.2, "mg/dL")
    assert uln.times(1.5) == bilirubin(1.8, "mg/dL")
    assert compare(bilirubin(1.8, "mg/dL"), ">=", uln.times(1.5))
    assert not compare(bilirubin(1.8, "mg/dL"), ">", uln.times(1.5))


def test_compare_operators_and_hash() -> None:
    a = creatinine(1, "mg/dL")
    b = creatinine("88.4", "µmol/L")
    assert compare(a, "==", b) and compare(a, "<=", b) and compare(a, ">=", b)
    assert not compare(a, "<", b) and not compare(a, ">", b) and not compare(a, "!=", b)
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    with pytest.raises(InputError):
        compare(a, "=>", b)  # type: ignore[arg-type]
    assert str(a) == "1 mg/dL"
    assert a.to_dict() == {"value": 1.0, "unit": "mg/dL"}


# --------------------------------------------------------------------------- properties

_CONVERTIBLE = [
    (creatinine, ("mg/dL", "µmol/L")),
    (bilirubin, ("mg/dL", "µmol/L")),
    (hemoglobin, ("g/L", "g/dL")),
    (cell_count, ("10^9/L", "10^3/µL", "/µL", "/mm³")),
    (body_mass, ("kg", "g", "lb")),
    (length, ("cm", "m", "in")),
    (temperature, ("°C", "°F")),
    (enzyme_activity, ("U/L", "µkat/L")),
    (immunoglobulin, ("mg/dL", "g/L", "mg/L")),
    (drug_mass, ("mg", "g", "µg")),
]

_values = st.fractions(min_value=0, max_value=10**6, max_denominator=10**6)


@given(st.sampled_from(_CONVERTIBLE), _values, st.data())
def test_round_trip_is_exact(dim_units: tuple, value: Fraction, data: st.DataObject) -> None:
    make, units = dim_units
    u1 = data.draw(st.sampled_from(units))
    u2 = data.draw(st.sampled_from(units))
    q = make(value, u1)
    back = q.to(u2).to(u1)
    assert back.value == q.value
    assert q.to(u2) == q


@given(st.sampled_from(_CONVERTIBLE), _values, _values, st.data())
def test_conversion_preserves_order(
    dim_units: tuple, v1: Fraction, v2: Fraction, data: st.DataObject
) -> None:
    make, units = dim_units
    u1 = data.draw(st.sampled_from(units))
    u2 = data.draw(st.sampled_from(units))
    a, b = make(v1, u1), make(v2, u1)
    assert (a < b) == (a.to(u2) < b.to(u2)) == (a < b.to(u2)) == (v1 < v2)
