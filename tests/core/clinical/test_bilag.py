"""BILAG numeric scores, grade counts, "≥1 A or ≥2 B", new A/B (spec clinical.md §1.5, §0.1-2)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.bilag import (
    BILAG_2004_SYSTEMS,
    CLASSIC_SYSTEMS,
    BilagCounts,
    BilagScheme,
    GradeInput,
    NewBilagGrades,
    bilag_a_or_b_threshold,
    bilag_counts,
    bilag_new_grades,
    bilag_score,
)
from doseladder.core.errors import InputError

GRADES = "ABCDE"


def all_grade(g: str, systems: tuple[str, ...] = BILAG_2004_SYSTEMS) -> dict[str, GradeInput]:
    return dict.fromkeys(systems, g)


def with_(base: str = "E", **kw: str | None) -> dict[str, GradeInput]:
    out = all_grade(base)
    out.update(kw)
    return out


# --- numeric score (Yee 2010 / Classic) --------------------------------------------------------


@pytest.mark.parametrize(("grade", "points"), [("A", 12), ("B", 8), ("C", 1), ("D", 0), ("E", 0)])
def test_bilag_2004_weights(grade: str, points: int) -> None:
    # Yee 2010 [P]: A = 12, B = 8, C = 1, D = E = 0 (spec §1.5).
    a = bilag_score(with_("E", renal=grade))
    assert a.value == points


def test_bilag_2004_range_is_0_to_108_not_72() -> None:
    # Spec §0.1-2: 9 systems × 12 = 108; seed 002's 0–72 is the Classic maximum.
    assert bilag_score(all_grade("A")).value == 108
    assert bilag_score(all_grade("E")).value == 0
    assert BilagScheme.BILAG_2004.maximum == 108
    assert BilagScheme.CLASSIC.maximum == 72
    assert BilagScheme.CLASSIC_CRESSWELL_2009.maximum == 96


def test_worked_example_records_the_scheme() -> None:
    g = with_("D", renal="A", musculoskeletal="B", mucocutaneous="C", ophthalmic="E")
    a = bilag_score(g)
    assert a.value == 12 + 8 + 1
    assert "A=12, B=8, C=1" in a.instrument and "0–108" in a.instrument
    assert a.inputs["scheme"] == "BILAG-2004"
    assert {c.item: c.points for c in a.contributions} == {
        "renal": 12,
        "musculoskeletal": 8,
        "mucocutaneous": 1,
    }
    json.dumps(a.to_dict())


def test_classic_scheme_uses_classic_systems_and_weights() -> None:
    g = dict.fromkeys(CLASSIC_SYSTEMS, "E")
    g.update(vasculitis="A", renal="B", general="C")
    a = bilag_score(g, scheme=BilagScheme.CLASSIC)
    assert a.value == 9 + 3 + 1
    assert "0–72" in a.instrument and a.inputs["scheme"] == "Classic BILAG"
    assert bilag_score(g, scheme="Classic BILAG (Cresswell 2009)").value == 12 + 5 + 1
    assert bilag_score(dict.fromkeys(CLASSIC_SYSTEMS, "A"), scheme="Classic BILAG").value == 72
    with pytest.raises(InputError) as e:  # a BILAG-2004 system under the Classic scheme
        bilag_score({**g, "ophthalmic": "A"}, scheme=BilagScheme.CLASSIC)
    assert e.value.field == "grades.ophthalmic"


def test_missing_system_is_not_evaluable() -> None:
    g = with_("E", renal="A")
    del g["haematological"]
    a = bilag_score(g)
    assert a.value is None and not a.evaluable
    assert a.missing == ("grades.haematological",)
    g["haematological"] = None
    assert bilag_score(g).missing == ("grades.haematological",)


@pytest.mark.parametrize(
    ("grades", "field"),
    [
        ({"renal": "F"}, "grades.renal"),
        ({"renal": 1}, "grades.renal"),
        ({"kidney": "A"}, "grades.kidney"),
        ({"renal": True}, "grades.renal"),
    ],
)
def test_invalid_grades_name_the_field(grades: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        bilag_score(grades)  # type: ignore[arg-type]
    assert e.value.field == field


def test_grade_spelling_and_aliases() -> None:
    g: dict[str, GradeInput] = {s: "e" for s in BILAG_2004_SYSTEMS if s != "haematological"}
    g["hematological"] = " b "
    assert bilag_score(g).value == 8
    g["haematological"] = "B"
    with pytest.raises(InputError) as e:
        bilag_score(g)
    assert e.value.field == "grades.haematological"
    with pytest.raises(InputError) as e:
        bilag_score(g, scheme="BILAG-2005")
    assert e.value.field == "scheme"


# --- counts and the seed rule "≥1 A or ≥2 B" (seeds 000, 002) --------------------------------


def test_counts() -> None:
    a = bilag_counts(with_("D", renal="A", musculoskeletal="B", mucocutaneous="B", ophthalmic="E"))
    assert a.value == BilagCounts(a=1, b=2, c=0, d=5, e=1)
    assert a.to_dict()["value"] == {"A": 1, "B": 2, "C": 0, "D": 5, "E": 1}
    assert bilag_counts({"renal": "A"}).value is None


@pytest.mark.parametrize(
    ("grades", "expected"),
    [
        (with_("E", renal="A"), True),
        (with_("C", renal="B", musculoskeletal="B"), True),  # exactly 2 B
        (with_("C", renal="B"), False),  # 1 B only
        (with_("C"), False),
        (with_("D", renal="B", musculoskeletal="B", mucocutaneous="A"), True),
    ],
)
def test_a_or_two_b(grades: dict[str, GradeInput], expected: bool) -> None:
    r = bilag_a_or_b_threshold(grades)
    assert r.value is expected and r.evaluable
    assert all(c.item in grades for c in r.contributions)


def test_a_or_two_b_with_ungraded_systems() -> None:
    # Met from partial data as soon as the graded systems suffice …
    assert bilag_a_or_b_threshold({"renal": "A"}).value is True
    assert bilag_a_or_b_threshold({"renal": "B", "haematological": "B"}).value is True
    # … otherwise an ungraded system could be an A: not evaluable.
    r = bilag_a_or_b_threshold(with_("C", renal="B", ophthalmic=None))
    assert r.value is None and r.missing == ("grades.ophthalmic",)


def test_a_or_b_counts_are_parameters() -> None:
    g = with_("C", renal="B")
    assert bilag_a_or_b_threshold(g, min_b=1).value is True
    with pytest.raises(InputError) as e:
        bilag_a_or_b_threshold(g, min_a=0)
    assert e.value.field == "min_a"


# --- new A / new B (spec §1.6) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "follow_up", "new_a", "new_b"),
    [
        ("B", "A", 1, 0),
        ("C", "A", 1, 0),
        ("E", "A", 1, 0),
        ("A", "A", 0, 0),
        ("C", "B", 0, 1),
        ("D", "B", 0, 1),
        ("E", "B", 0, 1),
        ("B", "B", 0, 0),
        ("A", "B", 0, 0),  # improvement, not a new B
        ("A", "C", 0, 0),
    ],
)
def test_new_grades_convention(baseline: str, follow_up: str, new_a: int, new_b: int) -> None:
    r = bilag_new_grades(with_("D", renal=baseline), with_("D", renal=follow_up))
    assert isinstance(r.value, NewBilagGrades)
    assert (r.value.n_new_a, r.value.n_new_b) == (new_a, new_b)


def test_new_grade_definition_is_configurable() -> None:
    bl, fu = with_("D", renal="B"), with_("D", renal="A")
    r = bilag_new_grades(bl, fu, new_a_from={"C", "D", "E"})
    assert r.value is not None and r.value.n_new_a == 0
    assert r.inputs["new_a_from"] == ["C", "D", "E"]
    with pytest.raises(InputError) as e:
        bilag_new_grades(bl, fu, new_a_from=("X",))
    assert e.value.field == "new_a_from"


def test_new_grades_missing() -> None:
    bl = with_("D")
    fu = with_("D", renal=None)
    r = bilag_new_grades(bl, fu)
    assert r.value is None and r.missing == ("bilag_follow_up.renal",)
    # A baseline A cannot become a new A or new B: its missing follow-up does not matter.
    r = bilag_new_grades(with_("D", renal="A"), fu)
    assert r.value == NewBilagGrades((), ())


# --- properties ---------------------------------------------------------------------------------

grade_maps = st.fixed_dictionaries({s: st.sampled_from(GRADES) for s in BILAG_2004_SYSTEMS})
_SEVERITY = {"E": 0, "D": 0, "C": 1, "B": 2, "A": 3}


@given(grade_maps, st.sampled_from(BILAG_2004_SYSTEMS), st.sampled_from(GRADES))
def test_score_monotone_in_severity(g: dict[str, str], system: str, new: str) -> None:
    before = bilag_score(dict(g)).value
    after = bilag_score({**g, system: new}).value
    assert before is not None and after is not None
    if _SEVERITY[new] >= _SEVERITY[g[system]]:
        assert after >= before


@given(grade_maps)
def test_score_equals_weighted_counts(g: dict[str, str]) -> None:
    counts = bilag_counts(dict(g)).value
    assert counts is not None
    assert bilag_score(dict(g)).value == 12 * counts.a + 8 * counts.b + counts.c
    assert counts.a + counts.b + counts.c + counts.d + counts.e == 9
    assert bilag_a_or_b_threshold(dict(g)).value == (counts.a >= 1 or counts.b >= 2)
