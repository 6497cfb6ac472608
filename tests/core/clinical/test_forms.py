"""``grade_event``: one adverse event graded from its form, checked against the published
definitions (CTCAE v5.0 cut-offs, ASTCT 2019 tables)."""

from __future__ import annotations

import pytest

from doseladder.core.clinical.forms import grade_event
from doseladder.core.errors import InputError


def test_lab_term_grade_is_computed() -> None:
    # CTCAE v5.0 Platelet count decreased: <50-25 ×10^9/L → grade 3
    a = grade_event("Platelet count decreased", {"value": 30, "unit": "10^9/L", "lln": 150})
    assert a.value == 3
    a = grade_event("ANC", {"value": "400", "unit": "/uL"})  # 0.4 ×10^9/L < 0.5 → grade 4
    assert a.value == 4


def test_crs_and_icans_forms() -> None:
    # ASTCT 2019: fever + hypotension without vasopressors → grade 2
    form = {
        "temperature_max": 38.4,
        "fever_other_cause": False,
        "hypotension": True,
        "oxygen": "none",
    }
    assert grade_event("CRS", form).value == 2
    # fever + a single vasopressor → grade 3 (the STR-P004 possible-DLT CRS)
    form3 = {**form, "vasopressors": ["norepinephrine"]}
    assert grade_event("Cytokine release syndrome", form3, entered_grade=3).value == 3
    # ICE 3-6 → grade 2
    icans = {"age_years": 45, "ice": 4, "consciousness": "alert"}
    assert grade_event("ICANS", icans).value == 2


def test_chosen_grade_term() -> None:
    assert grade_event("Fever", {"grade": 2}).value == 2
    assert grade_event("Fever", {}, entered_grade=1).value == 1


@pytest.mark.parametrize(
    ("term", "form", "entered", "field"),
    [
        ("Bad vibes", {}, None, "term"),
        ("ANC", {"value": 0.4}, None, "unit"),  # a lab value without unit
        ("ANC", {"unit": "10^9/L"}, None, "value"),
        ("ANC", {"value": 0.4, "unit": "mg/dL"}, None, "unit"),
        ("ANC", {"value": "x", "unit": "10^9/L"}, None, "value"),
        ("ANC", {"value": 0.4, "unit": "10^9/L", "colour": "red"}, None, "colour"),
        ("ICANS", {"age_years": 45, "ice": 11, "consciousness": "alert"}, None, "ice"),
        (
            "CRS",
            {
                "temperature_max": 38.4,
                "fever_other_cause": False,
                "hypotension": True,
                "oxygen": "none",
            },
            3,
            "grade",
        ),  # contradicts the form (grade 2)
        ("CRS", {"vasopressors": "norepinephrine"}, None, "vasopressors"),
        ("Nausea", {"grade": 4}, None, "grade"),  # no grade 4 in CTCAE v5.0
        ("Nausea", {}, None, "grade"),
        ("Nausea", {"grade": 2}, 3, "grade"),
    ],
)
def test_bad_input_names_the_field(
    term: str, form: dict[str, object], entered: int | None, field: str
) -> None:
    with pytest.raises(InputError) as e:
        grade_event(term, form, entered)
    assert e.value.field == field
