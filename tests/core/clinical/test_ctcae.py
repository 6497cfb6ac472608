"""CTCAE v5.0 lab grading (spec ``clinical.md`` §3.1–§3.3).

Cut-offs: NCI CTCAE v5.0 as encoded in pharmaverse/admiral ``ncictcaev5.json`` (GRADE_n_CODE);
boundary vectors mirror admiral ``tests/testthat/test-derive_var_atoxgr.R`` (e.g. ANC exactly
1.0 → grade 2, 0.99 → grade 3 [spec §3.1]).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from doseladder.core.clinical.ctcae import (
    CTCAEVersion,
    LabTerm,
    MissingBaseline,
    assess_igg,
    grade_febrile_neutropenia,
    grade_infection,
    grade_lab,
    require_version,
)
from doseladder.core.clinical.units import (
    bilirubin,
    cell_count,
    creatinine,
    enzyme_activity,
    hemoglobin,
    immunoglobulin,
    temperature,
)
from doseladder.core.errors import InputError


def g(term: LabTerm, value: object, **kw: object) -> int | None:
    return grade_lab(term, value, **kw).value  # type: ignore[arg-type]


def c(v: float | str) -> object:
    return cell_count(v, "10^9/L")


# --------------------------------------------------------------------------- version


def test_only_v5_is_implemented() -> None:
    assert require_version("5.0") is CTCAEVersion.V5_0
    assert require_version("v5.0") is CTCAEVersion.V5_0
    for v in ("6.0", CTCAEVersion.V4_03, "v6.0"):
        with pytest.raises(InputError) as e:
            grade_lab(LabTerm.NEUTROPHIL_COUNT_DECREASED, c(1), version=v)
        assert e.value.field == "ctcae_version"
        assert "not implemented" in e.value.reason
    with pytest.raises(InputError, match="unknown CTCAE version"):
        require_version("7")
    a = grade_lab(LabTerm.NEUTROPHIL_COUNT_DECREASED, c(1))
    assert a.instrument == "CTCAE v5.0: Neutrophil count decreased"
    assert a.inputs["ctcae_version"] == "5.0"


# --------------------------------------------------------------------------- decreasing terms

_DECREASING_CASES = [
    # (term, cut-offs for grades 2, 3, 4 in 10^9/L)
    (LabTerm.NEUTROPHIL_COUNT_DECREASED, ("1.5", "1.0", "0.5")),
    (LabTerm.PLATELET_COUNT_DECREASED, ("75", "50", "25")),
    (LabTerm.LYMPHOCYTE_COUNT_DECREASED, ("0.8", "0.5", "0.2")),
    (LabTerm.WHITE_BLOOD_CELL_DECREASED, ("3.0", "2.0", "1.0")),
]


@pytest.mark.parametrize(("term", "cuts"), _DECREASING_CASES)
def test_decreasing_boundaries_are_strict(term: LabTerm, cuts: tuple[str, str, str]) -> None:
    # strict "<": exactly at a cut-off stays in the milder grade [admiral tests]
    from fractions import Fraction

    step = Fraction(1, 100)
    c2, c3, c4 = (Fraction(x) for x in cuts)
    assert g(term, c(c4 - step)) == 4
    assert g(term, c(c4)) == 3
    assert g(term, c(c3 - step)) == 3
    assert g(term, c(c3)) == 2
    assert g(term, c(c2 - step)) == 2
    lln = c(c2 + 1)
    assert g(term, c(c2), lln=lln) == 1
    assert g(term, c(c2 + 1), lln=lln) == 0  # exactly at the LLN is normal
    assert g(term, c(0)) == 4


def test_anc_admiral_vectors_and_units() -> None:
    t = LabTerm.NEUTROPHIL_COUNT_DECREASED
    assert g(t, c("1.0")) == 2
    assert g(t, c("0.99")) == 3
    assert g(t, cell_count(1000, "/µL")) == 2
    assert g(t, cell_count(999, "/mm³")) == 3
    assert g(t, cell_count("0.499", "10^3/µL")) == 4


def test_grade_1_needs_lln() -> None:
    t = LabTerm.NEUTROPHIL_COUNT_DECREASED
    a = grade_lab(t, c("1.8"))
    assert not a.evaluable and a.value is None and a.missing == ("lln",)
    # grades 2–4 need no LLN
    b = grade_lab(t, c("0.4"))
    assert b.evaluable and b.value == 4
    assert g(t, c("1.8"), lln=c("2.0")) == 1
    assert g(t, c("2.0"), lln=c("2.0")) == 0
    assert g(t, c("1.8"), lln=cell_count(1800, "/µL")) == 0


def test_anemia() -> None:
    t = LabTerm.ANEMIA
    lln = hemoglobin(120, "g/L")
    assert g(t, hemoglobin(100, "g/L"), lln=lln) == 1
    assert g(t, hemoglobin("99.9", "g/L")) == 2
    assert g(t, hemoglobin(80, "g/L")) == 2
    assert g(t, hemoglobin("7.99", "g/dL")) == 3
    assert g(t, hemoglobin(8, "g/dL")) == 2
    assert g(t, hemoglobin(120, "g/L"), lln=lln) == 0
    # grade 4 is clinical: life-threatening consequences
    assert g(t, hemoglobin(60, "g/L"), life_threatening=True) == 4
    # CTCAE's own mmol/L cells: < 6.2 → 2, < 4.9 → 3
    assert g(t, hemoglobin("4.9", "mmol/L")) == 2
    assert g(t, hemoglobin("4.89", "mmol/L")) == 3
    assert g(t, hemoglobin("6.19", "mmol/L")) == 2
    assert g(t, hemoglobin("6.2", "mmol/L"), lln=hemoglobin("7.4", "mmol/L")) == 1
    with pytest.raises(InputError) as e:
        grade_lab(t, hemoglobin("6.5", "mmol/L"), lln=lln)
    assert e.value.field == "lln"
    with pytest.raises(InputError) as e:
        grade_lab(LabTerm.NEUTROPHIL_COUNT_DECREASED, c(1), life_threatening=True)
    assert e.value.field == "life_threatening"


# --------------------------------------------------------------------------- ALT / AST

_U = "U/L"


def u(v: float | str) -> object:
    return enzyme_activity(v, _U)


@pytest.mark.parametrize("term", [LabTerm.ALT_INCREASED, LabTerm.AST_INCREASED])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (40, 0),  # = ULN
        ("40.1", 1),  # > ULN
        (120, 1),  # = 3×ULN: not > 3×
        ("120.1", 2),
        (200, 2),  # = 5×ULN
        ("200.1", 3),
        (800, 3),  # = 20×ULN
        ("800.1", 4),
    ],
)
def test_aminotransferase_baseline_normal(term: LabTerm, value: str, expected: int) -> None:
    # spec §3.1: baseline normal → multiples of ULN with ">"
    assert g(term, u(value), uln=u(40), baseline=u(20)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (60, 0),  # = baseline
        ("89.9", 0),  # < 1.5×baseline (90): grade 0 although > ULN
        (90, 1),  # = 1.5×baseline: "≥" for grade 1
        (180, 1),  # = 3×baseline
        ("180.1", 2),
        (300, 2),  # = 5×baseline
        ("300.1", 3),
        (1200, 3),  # = 20×baseline
        ("1200.1", 4),
    ],
)
def test_alt_baseline_abnormal(value: str, expected: int) -> None:
    # spec §3.1 / admiral: baseline abnormal (BL 60 > ULN 40) → multiples of baseline
    a = grade_lab(LabTerm.ALT_INCREASED, u(value), uln=u(40), baseline=u(60))
    assert a.value == expected
    assert "baseline abnormal" in a.reasons[0]


def test_alt_baseline_at_uln_is_normal_and_baseline_uln_override() -> None:
    # baseline exactly at the ULN is not abnormal
    assert g(LabTerm.ALT_INCREASED, u(55), uln=u(40), baseline=u(40)) == 1
    # the baseline sample's own ULN can be given (ULN 35 then → baseline 40 abnormal, and
    # 55 < 1.5 × 40 → grade 0)
    assert g(LabTerm.ALT_INCREASED, u(55), uln=u(40), baseline=u(40), baseline_uln=u(35)) == 0


def test_alt_missing_baseline_and_uln() -> None:
    t = LabTerm.ALT_INCREASED
    a = grade_lab(t, u(100), uln=u(40))
    assert not a.evaluable and a.missing == ("baseline",)
    assert "would be grade 1" in a.reasons[-1]
    # at or below ULN the baseline does not matter
    assert grade_lab(t, u(40), uln=u(40)).value == 0
    b = grade_lab(t, u(100), uln=u(40), missing_baseline=MissingBaseline.GRADE_BY_ULN)
    assert b.value == 1 and b.needs_review
    assert grade_lab(t, u(100)).missing == ("uln",)
    assert grade_lab(t, None, uln=u(40)).missing == ("value",)
    # µkat/L vs U/L is converted exactly: 2 µkat/L = 120 U/L = 3×ULN → grade 1
    assert g(t, enzyme_activity(2, "µkat/L"), uln=u(40), baseline=u(20)) == 1


# --------------------------------------------------------------------------- bilirubin


def test_bilirubin_float_trap() -> None:
    # 1.5 × 1.2 = 1.7999999999999998 in floats → 1.8 would wrongly be "> 1.5×ULN" (grade 2)
    assert 1.8 > 1.5 * 1.2
    t = LabTerm.BLOOD_BILIRUBIN_INCREASED
    mg = lambda v: bilirubin(v, "mg/dL")  # noqa: E731
    assert g(t, mg("1.8"), uln=mg("1.2"), baseline=mg("0.5")) == 1
    assert g(t, mg("1.81"), uln=mg("1.2"), baseline=mg("0.5")) == 2


def test_bilirubin_cells_and_units() -> None:
    t = LabTerm.BLOOD_BILIRUBIN_INCREASED
    mg = lambda v: bilirubin(v, "mg/dL")  # noqa: E731
    kw = {"uln": mg(1), "baseline": mg("0.5")}
    assert [
        g(t, mg(v), **kw) for v in ("1", "1.01", "1.5", "1.51", "3", "3.01", "10", "10.01")
    ] == [
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
    ]
    # value in µmol/L, ULN in mg/dL: 25.65 µmol/L = 1.5 mg/dL exactly = 1.5×ULN → grade 1
    assert g(t, bilirubin("25.65", "µmol/L"), **kw) == 1
    assert g(t, bilirubin("25.66", "µmol/L"), **kw) == 2
    # baseline abnormal: grade 1 is "> 1.0 × baseline"
    ab = {"uln": mg("1.2"), "baseline": mg(2)}
    assert [g(t, mg(v), **ab) for v in ("2", "2.01", "3", "3.01", "6", "6.01", "20", "20.01")] == [
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
    ]


# --------------------------------------------------------------------------- creatinine


def test_creatinine_uln_and_baseline_rules() -> None:
    t = LabTerm.CREATININE_INCREASED
    mg = lambda v: creatinine(v, "mg/dL")  # noqa: E731
    uln = mg(1)
    # ULN rule: > ULN 1, > 1.5× 2, > 3× 3, > 6× 4 (baseline high, so the ULN rule decides)
    vals = ("1", "1.01", "1.5", "1.51", "3", "3.01", "6", "6.01")
    assert [g(t, mg(v), uln=uln, baseline=mg(5)) for v in vals] == [0, 1, 1, 2, 2, 3, 3, 4]
    # baseline rule raises the grade: 0.8 > 1.5 × 0.5 → grade 2 though within normal range
    a = grade_lab(t, mg("0.8"), uln=uln, baseline=mg("0.5"))
    assert a.value == 2 and a.contributions[0].item == "baseline_multiple"
    assert g(t, mg("0.75"), uln=uln, baseline=mg("0.5")) == 0  # = 1.5×BL: not >
    assert g(t, mg("1.51"), uln=uln, baseline=mg("0.5")) == 3  # > 3×BL
    # µmol/L exactly at 3×ULN: 265.2 µmol/L = 3.0 mg/dL → not > 3× → grade 2
    assert g(t, creatinine("265.2", "µmol/L"), uln=uln, baseline=mg(1)) == 2


def test_creatinine_missing_baseline() -> None:
    t = LabTerm.CREATININE_INCREASED
    mg = lambda v: creatinine(v, "mg/dL")  # noqa: E731
    # ULN grade ≥ 3 cannot be changed by the baseline rule (max 3)
    a = grade_lab(t, mg("3.5"), uln=mg(1))
    assert a.evaluable and a.value == 3
    b = grade_lab(t, mg("1.2"), uln=mg(1))
    assert not b.evaluable and b.missing == ("baseline",)
    c2 = grade_lab(t, mg("1.2"), uln=mg(1), missing_baseline="grade_by_uln")
    assert c2.value == 1 and c2.needs_review
    assert grade_lab(t, mg("1.2")).missing == ("uln",)


# --------------------------------------------------------------------------- wrong inputs


def test_wrong_units_and_terms_rejected() -> None:
    with pytest.raises(InputError) as e:
        grade_lab(LabTerm.NEUTROPHIL_COUNT_DECREASED, creatinine(1, "mg/dL"))
    assert e.value.field == "value"
    with pytest.raises(InputError) as e:
        grade_lab(LabTerm.NEUTROPHIL_COUNT_DECREASED, 1.0)
    assert e.value.field == "value"
    with pytest.raises(InputError) as e:
        grade_lab(LabTerm.ALT_INCREASED, u(50), uln=c(40))
    assert e.value.field == "uln"
    with pytest.raises(InputError) as e:
        grade_lab(LabTerm.CREATININE_INCREASED, creatinine(1, "mg/dL"), uln=bilirubin(1, "mg/dL"))
    assert e.value.field == "uln"
    with pytest.raises(InputError) as e:
        grade_lab("Hyperglycemia", c(1))
    assert e.value.field == "term"
    with pytest.raises(InputError):
        grade_lab(LabTerm.ALT_INCREASED, u(50), uln=u(40), missing_baseline="guess")
    # the CTCAE name is accepted as the term
    assert grade_lab("Platelet count decreased", c(49)).value == 3


def test_serialises() -> None:
    a = grade_lab(LabTerm.ALT_INCREASED, u(100), uln=u(40), baseline=u(20))
    json.dumps(a.to_dict())


@given(st.decimals("0", "5", places=3), st.decimals("0", "5", places=3))
def test_anc_grade_monotone(a, b) -> None:  # type: ignore[no-untyped-def]
    assume(a <= b)
    lln = c("1.8")
    ga = g(LabTerm.NEUTROPHIL_COUNT_DECREASED, c(a), lln=lln)
    gb = g(LabTerm.NEUTROPHIL_COUNT_DECREASED, c(b), lln=lln)
    assert ga is not None and gb is not None and ga >= gb


@given(
    st.decimals("0", "2000", places=1),
    st.decimals("0", "2000", places=1),
    st.decimals("10", "200", places=0),
)
def test_alt_grade_monotone(a, b, bl) -> None:  # type: ignore[no-untyped-def]
    assume(a <= b)
    kw = {"uln": u(40), "baseline": u(bl)}
    assert g(LabTerm.ALT_INCREASED, u(a), **kw) <= g(LabTerm.ALT_INCREASED, u(b), **kw)  # type: ignore[operator]


# --------------------------------------------------------------------------- febrile neutropenia


def fn(**kw: object) -> object:
    return grade_febrile_neutropenia(**kw)  # type: ignore[arg-type]


def test_febrile_neutropenia_definition() -> None:
    # §3.2: ANC < 1.0 and (single T > 38.3 °C or sustained ≥ 38 °C for > 1 h)
    T = temperature
    a = grade_febrile_neutropenia(
        anc=c("0.9"), max_temperature=T("38.4", "°C"), sustained_ge_38_over_1h=None
    )
    assert a.value == 3 and not a.needs_review
    # exactly 38.3 is not "> 38.3"
    b = grade_febrile_neutropenia(
        anc=c("0.9"), max_temperature=T("38.3", "°C"), sustained_ge_38_over_1h=False
    )
    assert b.value == 0
    c3 = grade_febrile_neutropenia(
        anc=c("0.9"), max_temperature=T("38.3", "°C"), sustained_ge_38_over_1h=True
    )
    assert c3.value == 3
    # 101 °F = 38.33 °C > 38.3
    assert (
        grade_febrile_neutropenia(
            anc=cell_count(900, "/µL"), max_temperature=T(101, "°F"), sustained_ge_38_over_1h=None
        ).value
        == 3
    )
    # ANC exactly 1.0 is not < 1.0
    assert (
        grade_febrile_neutropenia(
            anc=c("1.0"), max_temperature=T(39, "°C"), sustained_ge_38_over_1h=True
        ).value
        == 0
    )


def test_febrile_neutropenia_missing_and_grades_4_5() -> None:
    T = temperature
    a = grade_febrile_neutropenia(
        anc=None, max_temperature=T(39, "C"), sustained_ge_38_over_1h=None
    )
    assert a.missing == ("anc",)
    b = grade_febrile_neutropenia(anc=c("0.5"), max_temperature=None, sustained_ge_38_over_1h=None)
    assert not b.evaluable and set(b.missing) == {"max_temperature", "sustained_ge_38_over_1h"}
    # not neutropenic: temperature not needed
    d = grade_febrile_neutropenia(anc=c(2), max_temperature=None, sustained_ge_38_over_1h=None)
    assert d.value == 0 and d.evaluable
    e = grade_febrile_neutropenia(
        anc=c("0.2"),
        max_temperature=T(39, "C"),
        sustained_ge_38_over_1h=None,
        life_threatening=True,
    )
    assert e.value == 4 and e.needs_review
    f = grade_febrile_neutropenia(
        anc=c("0.2"), max_temperature=T(39, "C"), sustained_ge_38_over_1h=None, death=True
    )
    assert f.value == 5
    with pytest.raises(InputError) as err:
        grade_febrile_neutropenia(
            anc=c("0.2"),
            max_temperature=39,
            sustained_ge_38_over_1h=None,  # type: ignore[arg-type]
        )
    assert err.value.field == "max_temperature"


# --------------------------------------------------------------------------- infections, IgG


def test_infection_generic_pattern_always_needs_review() -> None:
    assert grade_infection("Lung infection", anti_infective_route="oral").value == 2
    assert grade_infection("Lung infection", anti_infective_route="iv").value == 3
    assert grade_infection("Sepsis", anti_infective_route="iv", life_threatening=True).value == 4
    assert grade_infection("Sepsis", anti_infective_route="iv", death=True).value == 5
    r = grade_infection("Lung infection", anti_infective_route="none")
    assert r.value is None and not r.evaluable and r.needs_review
    for route in ("oral", "iv"):
        assert grade_infection("Lung infection", anti_infective_route=route).needs_review  # type: ignore[arg-type]
    assert grade_infection("Lung infection", anti_infective_route=None).missing == (
        "anti_infective_route",
    )
    with pytest.raises(InputError):
        grade_infection("Lung infection", anti_infective_route="im")  # type: ignore[arg-type]


def test_igg_flags_not_a_grade() -> None:
    mg = lambda v: immunoglobulin(v, "mg/dL")  # noqa: E731
    assert assess_igg(mg(400)).value == {"igg_lt_400": False, "igg_le_600": True}
    assert assess_igg(mg("399.9")).value == {"igg_lt_400": True, "igg_le_600": True}
    assert assess_igg(mg(600)).value == {"igg_lt_400": False, "igg_le_600": True}
    assert assess_igg(mg("600.1")).value == {"igg_lt_400": False, "igg_le_600": False}
    assert assess_igg(immunoglobulin(4, "g/L")).value == {"igg_lt_400": False, "igg_le_600": True}
    assert assess_igg(None).missing == ("igg",)
    assert "no IgG grade" in assess_igg(mg(300)).reasons[-1]
