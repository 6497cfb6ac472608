"""CTCAE v5.0 non-laboratory term catalogue, checked against the published definitions
(NCI CTCAE v5.0, 27 Nov 2017)."""

from __future__ import annotations

import pytest

from doseladder.core.clinical.ctcae import LabTerm
from doseladder.core.clinical.ctcae_terms import (
    CTCAE_TERMS,
    TermKind,
    all_term_names,
    canonical_term,
    grade_term,
    lookup_term,
    term_kind,
)
from doseladder.core.clinical.dlt import TERM_CRS, TERM_ICANS
from doseladder.core.errors import InputError

# Which grades exist ("–" cells absent), from the CTCAE v5.0 document.
PUBLISHED_GRADES = {
    "Fever": (1, 2, 3, 4, 5),
    "Nausea": (1, 2, 3),
    "Vomiting": (1, 2, 3, 4, 5),
    "Febrile neutropenia": (3, 4, 5),
    "Hypoxia": (2, 3, 4, 5),
    "Hypotension": (1, 2, 3, 4, 5),
    "Fatigue": (1, 2, 3),
    "Headache": (1, 2, 3),
    "Rash maculo-papular": (1, 2, 3),
    "Tumor lysis syndrome": (3, 4, 5),
    "Acute kidney injury": (3, 4, 5),
    "Death NOS": (5,),
}


@pytest.mark.parametrize(("term", "grades"), PUBLISHED_GRADES.items())
def test_grades_that_exist(term: str, grades: tuple[int, ...]) -> None:
    assert CTCAE_TERMS[term].grade_numbers == grades


def test_published_wording() -> None:
    assert CTCAE_TERMS["Fever"].grades[1] == "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F)"
    assert CTCAE_TERMS["Fever"].grades[4] == ">40.0 degrees C (>104.0 degrees F) for >24 hrs"
    assert "ANC <1000/mm3" in CTCAE_TERMS["Febrile neutropenia"].grades[3]
    assert CTCAE_TERMS["Diarrhea"].grades[3].startswith("Increase of >=7 stools per day")
    assert CTCAE_TERMS["Hypoxia"].grades[3].startswith("Decreased oxygen saturation at rest")


def test_grade_term_quotes_the_definition() -> None:
    a = grade_term("nausea", 2)
    assert a.value == 2
    assert a.instrument == "CTCAE v5.0: Nausea"
    assert "Oral intake decreased" in a.reasons[0]
    assert a.inputs["soc"] == "Gastrointestinal disorders"


def test_grade_that_does_not_exist_is_refused() -> None:
    with pytest.raises(InputError) as e:
        grade_term("Nausea", 4)
    assert e.value.field == "grade" and "defined grades: 1, 2, 3" in e.value.reason
    with pytest.raises(InputError):
        grade_term("Febrile neutropenia", 2)


def test_unknown_term_names_term() -> None:
    with pytest.raises(InputError) as e:
        grade_term("Bad vibes", 2)
    assert e.value.field == "term" and "unknown CTCAE term" in e.value.reason


def test_lab_and_astct_terms_are_not_chosen() -> None:
    with pytest.raises(InputError) as e:
        lookup_term("Platelet count decreased")
    assert "laboratory term" in e.value.reason
    with pytest.raises(InputError) as e:
        grade_term(TERM_CRS, 3)
    assert "ASTCT" in e.value.reason
    assert term_kind("platelet count decreased") == TermKind.LAB
    assert term_kind("ICANS") == TermKind.ASTCT
    assert term_kind("Diarrhoea") == TermKind.CHOSEN
    assert canonical_term("hypogammaglobulinaemia") == "Immune system disorders - Other, specify"


def test_hypogammaglobulinaemia_is_flagged_not_a_ctcae_term() -> None:
    a = grade_term("Hypogammaglobulinemia", 2)
    assert a.needs_review


def test_catalogue_covers_every_event_kind() -> None:
    names = all_term_names()
    assert TERM_CRS in names and TERM_ICANS in names
    assert all(t.value in names for t in LabTerm)
    assert len(set(n.casefold() for n in names)) == len(names)
    for t in CTCAE_TERMS.values():
        assert t.grades and set(t.grades) <= {1, 2, 3, 4, 5}
        assert t.needs_review == bool(t.review_note)
        assert t.name in t.describe()
