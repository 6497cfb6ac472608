"""Entered grades checked against the form (ASTCT 2019 CRS, CTCAE v5.0 lab cut-offs)."""

from __future__ import annotations

import pytest

from doseladder.core.clinical.astct import crs_grade
from doseladder.core.clinical.ctcae import LabTerm, grade_lab
from doseladder.core.clinical.grading import check_entered_grade
from doseladder.core.clinical.units import cell_count, temperature
from doseladder.core.errors import InputError


def crs3() -> object:
    # ASTCT 2019 (Lee et al.): "a febrile patient on a single vasopressor and low-flow nasal
    # cannula is grade 3"
    return crs_grade(
        temperature_max=temperature("38.6", "°C"),
        fever_other_cause=False,
        hypotension=True,
        vasopressors=["norepinephrine"],
        oxygen="low_flow_nasal_cannula",
    )


def test_matching_or_absent_entered_grade_gives_the_form_grade() -> None:
    a = crs3()
    assert check_entered_grade(3, a) == 3  # type: ignore[arg-type]
    assert check_entered_grade(None, a) == 3  # type: ignore[arg-type]


def test_contradicting_grade_is_refused_naming_the_field() -> None:
    with pytest.raises(InputError) as e:
        check_entered_grade(2, crs3(), field="crs.grade")  # type: ignore[arg-type]
    assert e.value.field == "crs.grade"
    assert "contradicts" in e.value.reason and "grade 3" in e.value.reason


def test_lab_grade_at_ctcae_cut_off() -> None:
    # CTCAE v5.0 Neutrophil count decreased: grade 3 is <1.0 - 0.5 x10^9/L; 1.0 is grade 2
    a = grade_lab(LabTerm.NEUTROPHIL_COUNT_DECREASED, cell_count("1.0", "10^9/L"))
    assert check_entered_grade(2, a) == 2
    with pytest.raises(InputError):
        check_entered_grade(3, a)


def test_not_evaluable_form_names_the_missing_input() -> None:
    a = crs_grade(temperature_max=None, hypotension=False, oxygen="none")
    with pytest.raises(InputError) as e:
        check_entered_grade(1, a)
    assert e.value.field == "temperature_max"


@pytest.mark.parametrize("bad", [6, -1, True, 2.0])
def test_entered_grade_must_be_an_integer_0_to_5(bad: object) -> None:
    with pytest.raises(InputError) as e:
        check_entered_grade(bad, crs3())  # type: ignore[arg-type]
    assert e.value.field == "grade"
