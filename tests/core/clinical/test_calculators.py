"""Calculators (spec ``clinical.md`` §4.2–§4.7): worked examples, boundaries, missing, units."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from doseladder.core.clinical.calculators import (
    PREDNISONE_EQUIVALENTS,
    GlucocorticoidDose,
    Sex,
    bedside_schwartz,
    bsa_dubois,
    bsa_mosteller,
    cell_dose_per_kg,
    cell_dose_total,
    ckd_epi_2021,
    cockcroft_gault,
    egfr,
    lymphodepletion_dose,
    parse_sex,
    prednisone_equivalent,
)
from doseladder.core.clinical.units import (
    bilirubin,
    body_mass,
    creatinine,
    drug_mass,
    length,
)
from doseladder.core.errors import InputError


def kg(v: float | str) -> object:
    return body_mass(v, "kg")


def mgdl(v: float | str) -> object:
    return creatinine(v, "mg/dL")


def cm(v: float | str) -> object:
    return length(v, "cm")


# --------------------------------------------------------------------------- Cockcroft–Gault


@pytest.mark.parametrize(
    ("age", "weight", "scr", "sex", "expected"),
    [
        (65, 70, "1.4", "male", 52.1),  # §4.2 worked (superglobalcalculator)
        (45, 60, "0.9", "female", 74.8),  # §4.2 worked
    ],
)
def test_cockcroft_gault_worked_examples(
    age: int, weight: int, scr: str, sex: str, expected: float
) -> None:
    a = cockcroft_gault(age_years=age, weight=kg(weight), serum_creatinine=mgdl(scr), sex=sex)
    assert a.evaluable and a.unit == "mL/min"
    assert round(a.value, 1) == expected  # type: ignore[arg-type]
    assert any("actual body weight" in r for r in a.reasons)


def test_cockcroft_gault_umol_path_converts_first() -> None:
    # §4.2: 70 y M, 75 kg, 110 µmol/L → 58.6 with exact ÷88.4 (58.7 with the rounded F = 1.23)
    a = cockcroft_gault(
        age_years=70, weight=kg(75), serum_creatinine=creatinine(110, "µmol/L"), sex="M"
    )
    assert round(a.value, 1) == 58.6  # type: ignore[arg-type]
    # the same creatinine in either unit gives the identical number (one formula path)
    b = cockcroft_gault(age_years=50, weight=kg(80), serum_creatinine=mgdl("2.5"), sex="F")
    c = cockcroft_gault(
        age_years=50, weight=kg(80), serum_creatinine=creatinine(221, "µmol/L"), sex="F"
    )
    assert b.value == c.value


def test_cockcroft_gault_exactly_at_50_is_50() -> None:
    # seeds 001/004: CrCl ≥ 50 mL/min.  (140−60)×45/(72×1.0) = 50 exactly.
    a = cockcroft_gault(age_years=60, weight=kg(45), serum_creatinine=mgdl(1), sex="male")
    assert a.value == 50.0 and a.value >= 50  # type: ignore[operator]
    # (140−20)×31.5/(72×1.05) = 50 exactly; plain floats give 49.99999999999999 (fails ≥ 50)
    assert (140 - 20) * 31.5 / (72 * 1.05) < 50
    b = cockcroft_gault(age_years=20, weight=kg("31.5"), serum_creatinine=mgdl("1.05"), sex="M")
    assert b.value == 50.0 and b.value >= 50  # type: ignore[operator]
    # female: 100 × 72 × 0.85 / (72 × 1.7) = 50 exactly
    c = cockcroft_gault(age_years=40, weight=kg(72), serum_creatinine=mgdl("1.7"), sex="female")
    assert c.value == 50.0


def test_cockcroft_gault_missing_inputs_not_evaluable() -> None:
    a = cockcroft_gault(age_years=None, weight=kg(70), serum_creatinine=None, sex="M")
    assert not a.evaluable and a.value is None
    assert a.missing == ("age_years", "serum_creatinine")
    b = cockcroft_gault(age_years=50, weight=kg(70), serum_creatinine=mgdl(1), sex=None)
    assert b.value is None and b.missing == ("sex",)


def test_cockcroft_gault_wrong_units_rejected() -> None:
    with pytest.raises(InputError) as e:
        cockcroft_gault(age_years=50, weight=kg(70), serum_creatinine=1.0, sex="M")  # type: ignore[arg-type]
    assert e.value.field == "serum_creatinine"
    with pytest.raises(InputError) as e:
        cockcroft_gault(
            age_years=50, weight=kg(70), serum_creatinine=bilirubin(1, "mg/dL"), sex="M"
        )
    assert e.value.field == "serum_creatinine"
    with pytest.raises(InputError) as e:
        cockcroft_gault(age_years=50, weight=70, serum_creatinine=mgdl(1), sex="M")  # type: ignore[arg-type]
    assert e.value.field == "weight"
    with pytest.raises(InputError) as e:
        cockcroft_gault(age_years=50, weight=cm(70), serum_creatinine=mgdl(1), sex="M")  # type: ignore[arg-type]
    assert e.value.field == "weight"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"age_years": 17}, "age_years"),
        ({"age_years": 121}, "age_years"),
        ({"sex": "X"}, "sex"),
        ({"weight": body_mass(0, "kg")}, "weight"),
        ({"weight": body_mass(600, "kg")}, "weight"),
        ({"serum_creatinine": creatinine(0, "mg/dL")}, "serum_creatinine"),
        ({"serum_creatinine": creatinine(31, "mg/dL")}, "serum_creatinine"),
    ],
)
def test_cockcroft_gault_ranges(kwargs: dict, field: str) -> None:
    args = {"age_years": 50, "weight": kg(70), "serum_creatinine": mgdl(1), "sex": "M"}
    args.update(kwargs)
    with pytest.raises(InputError) as e:
        cockcroft_gault(**args)
    assert e.value.field == field


def test_cockcroft_gault_bmi_flag_and_floor() -> None:
    # §4.2: flag BMI > 30 (actual weight); BMI exactly 30 is not flagged
    at30 = cockcroft_gault(
        age_years=50, weight=kg(120), serum_creatinine=mgdl(1), sex="M", height=length(2, "m")
    )
    assert at30.inputs["bmi_kg_m2"] == 30.0 and not at30.needs_review
    over = cockcroft_gault(
        age_years=50, weight=kg("120.1"), serum_creatinine=mgdl(1), sex="M", height=length(2, "m")
    )
    assert over.needs_review
    floored = cockcroft_gault(
        age_years=50, weight=kg(72), serum_creatinine=mgdl("0.6"), sex="M", scr_floor_mg_dl=1
    )
    assert floored.value == 90.0  # (140−50)×72/(72×1)
    assert floored.inputs["scr_floor_mg_dl"] == 1.0


def test_sex_parsing() -> None:
    assert parse_sex("F") is Sex.FEMALE and parse_sex(" male ") is Sex.MALE
    assert parse_sex(None) is None
    with pytest.raises(InputError):
        parse_sex("unknown")


@given(
    st.integers(18, 100),
    st.decimals("30", "150", places=1),
    st.decimals("0.2", "15", places=2),
    st.decimals("0.2", "15", places=2),
    st.sampled_from(["male", "female"]),
)
def test_cockcroft_gault_monotone_in_creatinine(age, weight, s1, s2, sex) -> None:  # type: ignore[no-untyped-def]
    assume(s1 <= s2)
    a = cockcroft_gault(age_years=age, weight=kg(weight), serum_creatinine=mgdl(s1), sex=sex)
    b = cockcroft_gault(age_years=age, weight=kg(weight), serum_creatinine=mgdl(s2), sex=sex)
    assert a.value >= b.value  # type: ignore[operator]


@given(st.integers(18, 100), st.decimals("30", "150", places=1), st.decimals("0.2", "15", places=2))
def test_cockcroft_gault_female_is_085_male(age, weight, scr) -> None:  # type: ignore[no-untyped-def]
    m = cockcroft_gault(age_years=age, weight=kg(weight), serum_creatinine=mgdl(scr), sex="M")
    f = cockcroft_gault(age_years=age, weight=kg(weight), serum_creatinine=mgdl(scr), sex="F")
    assert f.value == pytest.approx(0.85 * m.value, rel=1e-15)  # type: ignore[operator]


# --------------------------------------------------------------------------- CKD-EPI 2021


@pytest.mark.parametrize(
    ("age", "scr", "sex", "expected"),
    [(55, "0.9", "female", 75.5), (40, "1.0", "male", 97.6)],  # §4.3 worked examples
)
def test_ckd_epi_worked_examples(age: int, scr: str, sex: str, expected: float) -> None:
    a = ckd_epi_2021(age_years=age, serum_creatinine=mgdl(scr), sex=sex)
    assert round(a.value, 1) == expected  # type: ignore[arg-type]
    assert a.unit == "mL/min/1.73m²"


def test_ckd_epi_at_kappa_both_branches_agree() -> None:
    # at SCr = κ both min/max terms are 1: eGFR = 142 × 0.9938^age (× 1.012 F)
    m = ckd_epi_2021(age_years=50, serum_creatinine=mgdl("0.9"), sex="M")
    assert m.value == pytest.approx(142 * 0.9938**50, rel=1e-14)
    f = ckd_epi_2021(age_years=50, serum_creatinine=mgdl("0.7"), sex="F")
    assert f.value == pytest.approx(142 * 0.9938**50 * 1.012, rel=1e-14)


def test_ckd_epi_adults_only_and_missing() -> None:
    with pytest.raises(InputError) as e:
        ckd_epi_2021(age_years=17, serum_creatinine=mgdl(1), sex="M")
    assert e.value.field == "age_years"
    a = ckd_epi_2021(age_years=40, serum_creatinine=None, sex="M")
    assert a.value is None and a.missing == ("serum_creatinine",)


@given(
    st.integers(18, 100),
    st.decimals("0.2", "15", places=2),
    st.decimals("0.2", "15", places=2),
    st.sampled_from(["male", "female"]),
)
def test_ckd_epi_monotone_in_creatinine(age, s1, s2, sex) -> None:  # type: ignore[no-untyped-def]
    assume(s1 < s2)
    a = ckd_epi_2021(age_years=age, serum_creatinine=mgdl(s1), sex=sex)
    b = ckd_epi_2021(age_years=age, serum_creatinine=mgdl(s2), sex=sex)
    assert a.value > b.value  # type: ignore[operator]


# --------------------------------------------------------------------------- bedside Schwartz


def test_schwartz_worked_examples_exact() -> None:
    # §4.4: 100 cm, 0.5 mg/dL → 82.6; 100 cm, 0.4 mg/dL → 103.25
    assert bedside_schwartz(height=cm(100), serum_creatinine=mgdl("0.5")).value == 82.6
    assert bedside_schwartz(height=cm(100), serum_creatinine=mgdl("0.4")).value == 103.25


def test_schwartz_umol_form_matches_k_36_5() -> None:
    # §4.4: µmol/L form k = 36.5 (0.413 × 88.4 = 36.5092)
    a = bedside_schwartz(height=cm(120), serum_creatinine=creatinine(50, "µmol/L"))
    assert a.value == pytest.approx(0.413 * 88.4 * 120 / 50, rel=1e-14)


def test_schwartz_range_and_missing() -> None:
    with pytest.raises(InputError):
        bedside_schwartz(height=cm(100), serum_creatinine=mgdl("0.5"), age_years="0.5")
    with pytest.raises(InputError):
        bedside_schwartz(height=cm(100), serum_creatinine=mgdl("0.5"), age_years=19)
    a = bedside_schwartz(height=None, serum_creatinine=mgdl("0.5"))
    assert a.value is None and a.missing == ("height",)


def test_egfr_picks_equation_by_age() -> None:
    # §4.4 spec for seed 003 (5–18 y): Schwartz < 18, CKD-EPI 2021 ≥ 18
    kid = egfr(age_years=17, serum_creatinine=mgdl("0.5"), height=cm(100))
    assert kid.instrument.startswith("Bedside Schwartz") and kid.value == 82.6
    adult = egfr(age_years=18, serum_creatinine=mgdl("0.9"), sex="F", height=cm(160))
    assert adult.instrument.startswith("CKD-EPI 2021")
    none = egfr(age_years=None, serum_creatinine=mgdl("0.5"))
    assert none.value is None and none.missing == ("age_years",)
    # a child without height is not evaluable (Schwartz needs height)
    assert egfr(age_years=10, serum_creatinine=mgdl("0.5")).missing == ("height",)


# --------------------------------------------------------------------------- BSA and dosing


def test_bsa_worked_examples() -> None:
    # §4.5: 170 cm / 70 kg → Mosteller 1.82, DuBois 1.81; 160 cm / 55 kg → 1.5635
    assert round(bsa_mosteller(height=cm(170), weight=kg(70)).value, 2) == 1.82  # type: ignore[arg-type]
    assert round(bsa_dubois(height=cm(170), weight=kg(70)).value, 2) == 1.81  # type: ignore[arg-type]
    assert round(bsa_mosteller(height=cm(160), weight=kg(55)).value, 4) == 1.5635  # type: ignore[arg-type]
    # a perfect square is exact: sqrt(144 × 100 / 3600) = 2
    assert bsa_mosteller(height=cm(144), weight=kg(100)).value == 2.0
    # inches/pounds give the same as cm/kg
    assert (
        bsa_mosteller(height=length(1, "m"), weight=body_mass(1, "lb")).value
        == bsa_mosteller(height=cm(100), weight=kg("0.45359237")).value
    )
    assert bsa_dubois(height=None, weight=kg(1)).missing == ("height",)


def test_lymphodepletion_worked_example() -> None:
    # §4.5 seed 001: 160 cm / 55 kg; Flu 25 mg/m² × 3 days; Cy 250 mg/m²
    bsa = bsa_mosteller(height=cm(160), weight=kg(55))
    flu = lymphodepletion_dose(drug="fludarabine", dose_mg_per_m2=25, bsa_m2=bsa, days=3)
    assert round(flu.value, 1) == 39.1  # type: ignore[arg-type]
    total = {c.item: c.points for c in flu.contributions}["total_dose_mg"]
    assert round(total, 1) == 117.3  # type: ignore[arg-type]
    cy = lymphodepletion_dose(drug="cyclophosphamide", dose_mg_per_m2=250, bsa_m2=bsa, days=3)
    assert round(cy.value, 1) == 390.9  # type: ignore[arg-type]


def test_lymphodepletion_cap_rounding_and_missing() -> None:
    a = lymphodepletion_dose(drug="flu", dose_mg_per_m2=30, bsa_m2="2.3", bsa_cap_m2=2)
    assert a.value == 60.0 and a.inputs["bsa_used_m2"] == 2.0
    b = lymphodepletion_dose(drug="flu", dose_mg_per_m2=30, bsa_m2="1.565", round_bsa_decimals=2)
    assert b.value == pytest.approx(30 * 1.57)  # half-up rounding of 1.565
    c = lymphodepletion_dose(
        drug="flu", dose_mg_per_m2=30, bsa_m2=bsa_mosteller(height=None, weight=kg(1))
    )
    assert c.value is None and c.missing == ("bsa_m2",)
    with pytest.raises(InputError):
        lymphodepletion_dose(drug="flu", dose_mg_per_m2=30, bsa_m2=1.5, days=0)


def test_cell_dose() -> None:
    # §4.6: 3×10⁵/kg × 25 kg = 7.5×10⁶ cells (seed 003)
    a = cell_dose_total(dose_per_kg="3e5", weight=kg(25))
    assert a.value == 7.5e6 and "7.5e+06" in a.reasons[0]
    assert cell_dose_per_kg(total_cells="7.5e6", weight=kg(25)).value == 3e5
    assert cell_dose_total(dose_per_kg=None, weight=kg(25)).missing == ("dose_per_kg",)
    with pytest.raises(InputError):
        cell_dose_total(dose_per_kg=0, weight=kg(25))


# --------------------------------------------------------------------------- prednisone-eq


@pytest.mark.parametrize(
    ("drug", "mg", "expected"),
    [
        ("methylprednisolone", 16, 20.0),  # §4.7 worked: meets ≤ 20
        ("dexamethasone", 4, 80 / 3),  # 26.7: fails ≤ 20
        ("hydrocortisone", 100, 25.0),
        ("methylprednisolone", 1000, 1250.0),  # pulse
        ("Prednisolone", 5, 5.0),
        ("dexamethasone", "0.75", 5.0),  # 0.75 × 20/3 is exactly 5
    ],
)
def test_prednisone_equivalent_worked(drug: str, mg: int | str, expected: float) -> None:
    a = prednisone_equivalent([GlucocorticoidDose(drug, drug_mass(mg, "mg"))])
    assert a.value == expected
    assert a.unit == "mg/day"


def test_prednisone_equivalent_sum_per_kg_and_units() -> None:
    a = prednisone_equivalent(
        [
            GlucocorticoidDose("prednisone", drug_mass(10, "mg"), route="oral"),
            GlucocorticoidDose("methylprednisolone", drug_mass(1, "g"), route="iv"),
        ],
        weight=kg(50),
    )
    assert a.value == 1260.0
    assert a.inputs["pred_eq_mg_per_kg_per_day"] == 25.2
    assert a.inputs["doses"][1]["route"] == "iv"
    # seed 003 "≥ 1 mg/kg/d": 50 mg/day at 50 kg is exactly 1
    b = prednisone_equivalent(
        [GlucocorticoidDose("prednisone", drug_mass(50, "mg"))], weight=kg(50)
    )
    assert b.inputs["pred_eq_mg_per_kg_per_day"] == 1.0


def test_prednisone_equivalent_missing_unknown_and_units() -> None:
    assert prednisone_equivalent(None).missing == ("doses",)
    assert prednisone_equivalent([]).value == 0.0
    with pytest.raises(InputError) as e:
        prednisone_equivalent([GlucocorticoidDose("betamethasone", drug_mass(1, "mg"))])
    assert e.value.field == "doses[0].drug"
    with pytest.raises(InputError) as e:
        prednisone_equivalent([GlucocorticoidDose("prednisone", 10)])  # type: ignore[arg-type]
    assert e.value.field == "doses[0].dose_per_day"
    # the factor table is a protocol parameter (spec §7 item 12)
    custom = dict(PREDNISONE_EQUIVALENTS, betamethasone="25/3")
    c = prednisone_equivalent(
        [GlucocorticoidDose("betamethasone", drug_mass("0.6", "mg"))], factors=custom
    )
    assert c.value == 5.0


def test_results_serialise() -> None:
    a = cockcroft_gault(
        age_years=65, weight=kg(70), serum_creatinine=mgdl("1.4"), sex="M", height=cm(170)
    )
    json.dumps(a.to_dict())
    json.dumps(
        prednisone_equivalent([GlucocorticoidDose("prednisone", drug_mass(5, "mg"))]).to_dict()
    )
