"""The logic syntax: every node kind, exact thresholds, and errors naming the path."""

from __future__ import annotations

from fractions import Fraction

import pytest

from doseladder.core.eligibility.logic import (
    AllOf,
    AtLeast,
    Attest,
    Glucocorticoid,
    MeasureCmp,
    Not,
    Review,
    walk,
)
from doseladder.core.eligibility.parse import KINDS, parse_logic
from doseladder.core.errors import InputError


def test_thresholds_are_exact_decimals() -> None:
    n = parse_logic({"measure": "creatinine", "op": "<=", "uln": 1.5})
    assert isinstance(n, MeasureCmp) and n.uln == Fraction(3, 2)
    n = parse_logic({"measure": "bilirubin", "op": "<", "value": 2.0, "unit": "mg/dL"})
    assert isinstance(n, MeasureCmp) and n.value is not None
    assert n.value.value == 2 and n.value.unit.symbol == "mg/dL"
    n = parse_logic({"measure": "neutrophils", "op": ">=", "value": "1.5", "unit": "10*9/L"})
    assert isinstance(n, MeasureCmp) and n.value is not None and n.value.value == Fraction(3, 2)


def test_round_trip_through_to_dict() -> None:
    data = {
        "all_of": [
            {"age": ">=", "years": 18},
            {"at_least": 2, "of": [{"serology": "ana"}, {"serology": "anti_dsdna"}]},
            {"not": {"attests": "pregnant", "text": "pregnant"}},
            {"glucocorticoid": ">=", "mg_per_day": 100, "within": {"weeks": 8}, "for_days": 14},
            {"review": "lost sign", "reading": {"score": "pga", "op": ">=", "value": 1}},
            {"received": {"classes": ["live_vaccine"]}, "within": {"days": 30}},
            {"classification": "iim_2017", "min_category": "probable"},
        ]
    }
    node = parse_logic(data)
    assert isinstance(node, AllOf)
    again = parse_logic(node.to_dict())
    assert again == node
    kinds = {type(x) for x in walk(node)}
    assert {AtLeast, Not, Attest, Glucocorticoid, Review} <= kinds
    assert "investigator attests: pregnant" in node.describe()


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        ({"measure": "alt", "op": "<="}, "logic", "exactly one of value"),
        ({"measure": "alt", "op": "=<", "uln": 2}, "logic.op", "must be one of"),
        ({"measure": "alt", "op": "<=", "value": 100}, "logic.unit", "never assumed"),
        (
            {"measure": "creatinine", "op": "<=", "value": 1, "unit": "g"},
            "logic.unit",
            "not a unit of creatinine",
        ),
        ({"measure": "alanine", "op": "<=", "uln": 2}, "logic.measure", "unknown measure"),
        (
            {"all_of": [{"age": ">=", "years": 18}, {"sex": "x"}]},
            "logic.all_of[1].sex[0]",
            "unknown sex",
        ),
        ({"any_of": []}, "logic.any_of", "non-empty list"),
        ({"age": ">=", "years": 18, "unit": "y"}, "logic.unit", "unknown key for a age node"),
        ({"age": ">=", "sex": "male"}, "logic", "exactly one of the keys"),
        ({"received": {"drugs": ["aspirin"]}}, "logic.received.drugs[0]", "unknown drug"),
        (
            {"event": "dialysis", "within": {"fortnights": 2}},
            "logic.within.fortnights",
            "unknown unit",
        ),
        ({"at_least": 3, "of": [{"serology": "ana"}]}, "logic.at_least", "exceeds"),
        ({"score": "pga", "op": ">=", "value": 4}, "logic.value", "range"),
        (
            {"classification": "acr_1997_sle", "min_category": "probable"},
            "logic.min_category",
            "iim_2017",
        ),
        ({"glucocorticoid": ">=", "mg_per_day": 100, "for_days": 14}, "logic.for_days", "within"),
        ({"measure": "ck", "op": ">", "uln": 1.5, "which": "any"}, "logic.which", "within"),
        ({"attests": "two words"}, "logic.attests", "no spaces"),
        (["all_of"], "logic", "must be a mapping"),
    ],
)
def test_errors_name_the_path(data: object, path: str, reason: str) -> None:
    with pytest.raises(InputError) as err:
        parse_logic(data, "logic")
    assert err.value.field == path
    assert reason in err.value.reason


def test_kinds_are_documented() -> None:
    assert "measure" in KINDS and "attests" in KINDS and "review" in KINDS
