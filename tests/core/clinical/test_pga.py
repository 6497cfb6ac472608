"""PGA 0–3 validation and change (spec clinical.md §1.4)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.pga import exact_decimal, pga, pga_anchor, pga_change, validate_pga
from doseladder.core.errors import InputError


@pytest.mark.parametrize(("value", "expected"), [(0, "0"), (3, "3"), (1.3, "1.3"), ("2.5", "2.5")])
def test_valid_range_inclusive(value: object, expected: str) -> None:
    assert validate_pga(value) == Decimal(expected)


@pytest.mark.parametrize("value", [-0.1, 3.01, 10, "x", float("nan"), float("inf"), True, None])
def test_invalid_values_raise_naming_the_field(value: object) -> None:
    with pytest.raises(InputError) as e:
        validate_pga(value, "pga_follow_up")
    assert e.value.field == "pga_follow_up"


def test_missing_pga_is_not_evaluable() -> None:
    a = pga(None)
    assert a.value is None and not a.evaluable and a.missing == ("pga",)
    b = pga(1.5)
    assert b.value == 1.5 and b.evaluable


def test_change_is_exact() -> None:
    # 1.6 − 1.3 is 0.30000000000000004 in binary floating point; here it is exactly 0.3.
    a = pga_change(1.3, 1.6)
    assert a.value == 0.3
    assert pga_change(2.0, 1.5).value == -0.5
    assert pga_change(None, 1.0).missing == ("pga_baseline",)
    assert pga_change(1.0, None).value is None
    with pytest.raises(InputError) as e:
        pga_change(1.0, 4)
    assert e.value.field == "pga_follow_up"


@pytest.mark.parametrize(
    ("value", "label"),
    [(0, "none"), (1, "mild"), (2, "moderate"), (3, "severe"), (1.5, "between mild and moderate")],
)
def test_anchors(value: float, label: str) -> None:
    assert pga_anchor(value) == label


def test_exact_decimal_reads_floats_by_repr() -> None:
    assert exact_decimal(0.1, "x") == Decimal("0.1")
    assert exact_decimal(6.7, "x") == Decimal("6.7")
    with pytest.raises(InputError):
        exact_decimal([1], "x")


@given(st.integers(0, 30), st.integers(0, 30))
def test_change_in_tenths_matches_integer_arithmetic(a: int, b: int) -> None:
    change = pga_change(a / 10, b / 10).value
    assert change is not None
    assert Decimal(str(change)) == Decimal(b - a) / 10
