"""Classification criteria (spec clinical.md §1.9 EULAR/ACR 2019, §1.10 ACR 1997, §4.10 IIM)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.classification import (
    ACR_1997_CRITERIA,
    EULAR_ACR_2019_CRITERIA,
    CriterionFinding,
    CriterionInput,
    IimCategory,
    acr_1997,
    eular_acr_2019,
    eular_acr_2019_score,
    iim_2017,
    sle_classified_by_either,
)
from doseladder.core.errors import InputError

KEYS_2019 = [c.key for c in EULAR_ACR_2019_CRITERIA]
WEIGHT = {c.key: c.weight for c in EULAR_ACR_2019_CRITERIA}
DOMAIN = {c.key: c.domain for c in EULAR_ACR_2019_CRITERIA}
CLINICAL = {c.key for c in EULAR_ACR_2019_CRITERIA if c.clinical}


def met(*keys: str) -> dict[str, CriterionInput]:
    return dict.fromkeys(keys, True)


# --- 2019 EULAR/ACR ---------------------------------------------------------------------------


def test_weights_match_spec_table_and_max_is_51() -> None:
    assert WEIGHT == {
        "fever": 2,
        "leukopenia": 3,
        "thrombocytopenia": 4,
        "autoimmune_haemolysis": 4,
        "delirium": 2,
        "psychosis": 3,
        "seizure": 5,
        "non_scarring_alopecia": 2,
        "oral_ulcers": 2,
        "subacute_cutaneous_or_discoid_lupus": 4,
        "acute_cutaneous_lupus": 6,
        "pleural_or_pericardial_effusion": 5,
        "acute_pericarditis": 6,
        "joint_involvement": 6,
        "proteinuria": 4,
        "renal_biopsy_class_ii_or_v": 8,
        "renal_biopsy_class_iii_or_iv": 10,
        "antiphospholipid_antibodies": 2,
        "low_c3_or_low_c4": 3,
        "low_c3_and_low_c4": 4,
        "anti_dsdna_or_anti_sm": 6,
    }
    # PMC8741517: maximum 51 = 2+4+5+6+6+6+10+2+4+6.
    assert eular_acr_2019_score(met(*KEYS_2019)).value == 51


@pytest.mark.parametrize(
    ("keys", "expected", "score"),
    [
        (("acute_cutaneous_lupus", "low_c3_and_low_c4"), True, 10),  # exactly 10
        (("acute_cutaneous_lupus", "low_c3_or_low_c4"), False, 9),
        (("renal_biopsy_class_iii_or_iv",), True, 10),  # one clinical criterion of 10
        (("anti_dsdna_or_anti_sm", "low_c3_and_low_c4"), False, 10),  # no clinical criterion
        (("joint_involvement", "anti_dsdna_or_anti_sm"), True, 12),
        # Only the highest criterion per domain counts: 6 + 2 + 2 → 6.
        (
            ("acute_cutaneous_lupus", "oral_ulcers", "non_scarring_alopecia", "low_c3_or_low_c4"),
            False,
            9,
        ),
        (("fever", "leukopenia", "thrombocytopenia", "autoimmune_haemolysis"), False, 6),
        (("fever", "thrombocytopenia", "seizure"), True, 11),
    ],
)
def test_eular_acr_2019_examples(keys: tuple[str, ...], expected: bool, score: int) -> None:
    r = eular_acr_2019(met(*keys), ana_ge_1_80=True, rest_absent=True)
    assert r.value is expected and r.evaluable
    assert eular_acr_2019_score(met(*keys), rest_absent=True).value == score
    assert sum(int(c.points or 0) for c in r.contributions) == score


def test_highest_per_domain_is_the_contribution() -> None:
    r = eular_acr_2019(
        met("acute_cutaneous_lupus", "oral_ulcers", "proteinuria", "renal_biopsy_class_ii_or_v"),
        ana_ge_1_80=True,
        rest_absent=True,
    )
    assert {c.item: c.points for c in r.contributions} == {
        "acute_cutaneous_lupus": 6,
        "renal_biopsy_class_ii_or_v": 8,
    }
    assert r.value is True
    assert any("not counted" in x for x in r.reasons)
    json.dumps(r.to_dict())


def test_entry_criterion() -> None:
    keys = met("renal_biopsy_class_iii_or_iv", "anti_dsdna_or_anti_sm")
    assert eular_acr_2019(keys, ana_ge_1_80=False, rest_absent=True).value is False
    r = eular_acr_2019(keys, ana_ge_1_80=None, rest_absent=True)
    assert r.value is None and r.missing == ("ana_ge_1_80",)
    # ANA unknown but the score cannot reach 10: not classified whatever ANA is.
    assert eular_acr_2019(met("fever"), ana_ge_1_80=None, rest_absent=True).value is False


def test_components_and_and_or_complement() -> None:
    def score(**kw: bool | None) -> int | None:
        return eular_acr_2019_score(dict(kw), rest_absent=True).value

    assert score(low_c3=True, low_c4=False) == 3
    assert score(low_c3=True, low_c4=True) == 4
    assert score(low_c3=True) == 3  # low_c4 absent (rest_absent)
    assert score(anti_sm=True) == 6
    assert score(anti_dsdna=True, anti_sm=True) == 6  # one domain
    assert score(discoid_lupus=True) == 4
    assert score(pericardial_effusion=True, acute_pericarditis=True) == 6
    assert score(lupus_anticoagulant=True, anticardiolipin=True) == 2
    with pytest.raises(InputError) as e:
        eular_acr_2019_score({"low_c3_or_low_c4": True, "low_c3": True})
    assert e.value.field == "criteria.low_c3_or_low_c4"
    with pytest.raises(InputError):
        eular_acr_2019_score({"low_c3_and_low_c4": True, "low_c3_or_low_c4": False})


def test_more_likely_explanation_is_not_counted() -> None:
    c: dict[str, CriterionInput] = {
        "renal_biopsy_class_iii_or_iv": True,
        "thrombocytopenia": CriterionFinding(True, more_likely_explanation=True),
    }
    assert eular_acr_2019_score(c, rest_absent=True).value == 10
    c["thrombocytopenia"] = CriterionFinding(True, more_likely_explanation=None)
    r = eular_acr_2019_score(c, rest_absent=True)
    assert r.value is None and r.missing == ("criteria.thrombocytopenia",)


def test_missing_criteria() -> None:
    # Known 8 with unknown criteria → not evaluable.
    c: dict[str, CriterionInput] = {k: False for k in KEYS_2019}
    c["renal_biopsy_class_ii_or_v"] = True
    c["fever"] = None
    r = eular_acr_2019(c, ana_ge_1_80=True)
    assert r.value is None and r.missing == ("criteria.fever",)
    # Known 10 with a clinical criterion: unknown criteria cannot undo it.
    r = eular_acr_2019(met("renal_biopsy_class_iii_or_iv"), ana_ge_1_80=True)
    assert r.value is True and r.evaluable
    # Score undetermined only where an unknown criterion outweighs the known one in a domain.
    d = {**dict.fromkeys(KEYS_2019, False), "acute_cutaneous_lupus": True, "oral_ulcers": None}
    assert eular_acr_2019_score(d).value == 6


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        ({"malar_rash": True}, "criteria.malar_rash"),
        ({"fever": "yes"}, "criteria.fever"),
        ({"fever": CriterionFinding("yes")}, "criteria.fever.present"),  # type: ignore[arg-type]
    ],
)
def test_invalid_2019_inputs(criteria: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        eular_acr_2019(criteria, ana_ge_1_80=True)  # type: ignore[arg-type]
    assert e.value.field == field


@given(st.sets(st.sampled_from(KEYS_2019)), st.sampled_from(KEYS_2019))
def test_2019_monotone_in_criteria_met(s: set[str], extra: str) -> None:
    before = eular_acr_2019(met(*s), ana_ge_1_80=True, rest_absent=True)
    after = eular_acr_2019(met(*s, extra), ana_ge_1_80=True, rest_absent=True)
    assert before.value is not None and after.value is not None
    assert after.value >= before.value
    s_before = eular_acr_2019_score(met(*s), rest_absent=True).value
    s_after = eular_acr_2019_score(met(*s, extra), rest_absent=True).value
    assert s_before is not None and s_after is not None
    assert s_before <= s_after <= 51


@given(st.sets(st.sampled_from(KEYS_2019)))
def test_2019_score_is_sum_of_domain_maxima(s: set[str]) -> None:
    by_domain: dict[str, int] = {}
    for k in s:
        by_domain[DOMAIN[k]] = max(by_domain.get(DOMAIN[k], 0), WEIGHT[k])
    r = eular_acr_2019(met(*s), ana_ge_1_80=True, rest_absent=True)
    score = sum(by_domain.values())
    assert eular_acr_2019_score(met(*s), rest_absent=True).value == score
    assert r.value == (score >= 10 and bool(s & CLINICAL))
    assert len(r.contributions) == len(by_domain)  # one per domain


# --- 1997 ACR ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("malar_rash", "oral_ulcers", "arthritis", "antinuclear_antibody"), True),  # exactly 4
        (("malar_rash", "oral_ulcers", "antinuclear_antibody"), False),
        # Serositis counts once although both sub-items are met.
        (("pleuritis", "pericarditis", "malar_rash", "antinuclear_antibody"), False),
        (("pleuritis", "pericarditis", "malar_rash", "antinuclear_antibody", "anti_dna"), True),
        (("leukopenia", "lymphopenia", "thrombocytopenia", "haemolytic_anaemia"), False),
    ],
)
def test_acr_1997(keys: tuple[str, ...], expected: bool) -> None:
    r = acr_1997(met(*keys), rest_absent=True)
    assert r.value is expected and r.evaluable
    assert all(c.points == 1 for c in r.contributions)


def test_acr_1997_missing_and_contradictions() -> None:
    c: dict[str, CriterionInput] = met("malar_rash", "oral_ulcers", "arthritis")
    r = acr_1997(c)
    assert r.value is None and len(r.missing) == 8
    assert acr_1997({**c, "antinuclear_antibody": True}).value is True
    # A sub-item known False with the other unknown leaves the criterion unknown.
    r = acr_1997({**met("malar_rash"), "pleuritis": False}, rest_absent=False)
    assert "criteria.serositis" in r.missing
    with pytest.raises(InputError) as e:
        acr_1997({"serositis": False, "pleuritis": True})
    assert e.value.field == "criteria.serositis"
    with pytest.raises(InputError) as e:
        acr_1997({"fever": True})
    assert e.value.field == "criteria.fever"


@given(st.sets(st.sampled_from([k for k, _l, _s in ACR_1997_CRITERIA])))
def test_acr_1997_is_count_ge_4(s: set[str]) -> None:
    assert acr_1997(met(*s), rest_absent=True).value is (len(s) >= 4)


def test_either_set_for_seed_000_is_flagged() -> None:
    e = eular_acr_2019(met("fever"), ana_ge_1_80=True, rest_absent=True)
    a = acr_1997(met("malar_rash", "oral_ulcers", "arthritis", "antinuclear_antibody"))
    r = sle_classified_by_either(e, a)
    assert r.value is True and r.needs_review
    n = sle_classified_by_either(e, acr_1997(met("malar_rash")))
    assert n.value is None and n.missing


# --- 2017 EULAR/ACR IIM (exact decimal sums) -------------------------------------------------


@pytest.mark.parametrize(
    ("items", "age", "biopsy", "expected"),
    [
        # 1.3 + 0.7 + 0.9 + 3.3 + 1.3 = 7.5 exactly (floats give 7.499999999999999).
        (
            (
                "proximal_upper_weakness",
                "legs_proximal_weaker",
                "gottron_sign",
                "elevated_muscle_enzymes",
            ),
            30,
            False,
            IimCategory.DEFINITE,
        ),
        # 1.5 + 3.8 + 1.4 = 6.7 exactly with biopsy (floats give 6.699999999999999).
        (("anti_jo1", "elevated_muscle_enzymes"), 30, True, IimCategory.PROBABLE),
        # Age ≥40 2.1 + heliotrope 3.1 = 5.2 < 5.3 → not IIM; 1.3 + 3.1 + 0.7 + 0.7 = 5.8.
        (("heliotrope_rash",), 45, False, IimCategory.NOT_IIM),
        (
            ("heliotrope_rash", "dysphagia", "proximal_upper_weakness"),
            20,
            False,
            IimCategory.PROBABLE,
        ),
        # Age <18 scores 0: 2.1 + 3.3 = 5.4 → possible (5.3–5.4); biopsy 3.1 + 1.7 + 1.9 = 6.7.
        (("gottron_papules", "gottron_sign"), 17, False, IimCategory.POSSIBLE),  # 5.4
        (
            (
                "biopsy_rimmed_vacuoles",
                "biopsy_endomysial_infiltrate",
                "biopsy_perifascicular_atrophy",
            ),
            10,
            True,
            IimCategory.PROBABLE,
        ),  # 6.7
    ],
)
def test_iim_2017_exact_cutoffs(
    items: tuple[str, ...], age: int, biopsy: bool, expected: IimCategory
) -> None:
    r = iim_2017(
        dict.fromkeys(items, True), age_at_onset_years=age, muscle_biopsy=biopsy, rest_absent=True
    )
    assert r.value is expected and r.evaluable


def test_iim_age_rows() -> None:
    def score(age: float) -> float:
        r = iim_2017(
            {"heliotrope_rash": True}, age_at_onset_years=age, muscle_biopsy=False, rest_absent=True
        )
        return sum(float(c.points or 0) for c in r.contributions)

    assert score(17.9) == 3.1
    assert score(18) == pytest.approx(4.4)
    assert score(39.9) == pytest.approx(4.4)
    assert score(40) == pytest.approx(5.2)


def test_iim_seed_000_label_is_corrected() -> None:
    # Seed 000 calls ≥5.5 without biopsy "possible IIM"; it is probable (≥55%) — spec §0.1-3.
    r = iim_2017(
        {"heliotrope_rash": True, "proximal_upper_weakness": True, "dysphagia": True},
        age_at_onset_years=20,
        muscle_biopsy=False,
        rest_absent=True,
    )
    assert r.value is IimCategory.PROBABLE and r.value.at_least_probable


def test_iim_missing_and_biopsy_rules() -> None:
    # No skin feature and no biopsy: a biopsy is needed to classify.
    r = iim_2017({"anti_jo1": True}, age_at_onset_years=50, muscle_biopsy=False, rest_absent=True)
    assert r.value is None and r.missing == ("muscle_biopsy",)
    # Unknown item that could change the category.
    r = iim_2017({"heliotrope_rash": True}, age_at_onset_years=50, muscle_biopsy=False)
    assert r.value is None and "items.anti_jo1" in r.missing
    r = iim_2017(
        {"gottron_sign": True}, age_at_onset_years=None, muscle_biopsy=False, rest_absent=True
    )
    assert r.value is None and r.missing == ("age_at_onset_years",)  # 3.3 … 5.4
    # Heliotrope 3.1 + at most 2.1 for age = 5.2 < 5.3: not IIM whatever the age.
    r = iim_2017(
        {"heliotrope_rash": True}, age_at_onset_years=None, muscle_biopsy=False, rest_absent=True
    )
    assert r.value is IimCategory.NOT_IIM and r.evaluable
    assert (
        iim_2017(
            {"heliotrope_rash": True},
            age_at_onset_years=50,
            muscle_biopsy=False,
            better_explanation=True,
        ).value
        is IimCategory.NOT_IIM
    )
    with pytest.raises(InputError) as e:
        iim_2017({"biopsy_rimmed_vacuoles": True}, age_at_onset_years=50, muscle_biopsy=False)
    assert e.value.field == "items.biopsy_rimmed_vacuoles"
    with pytest.raises(InputError) as e:
        iim_2017({}, age_at_onset_years=-1, muscle_biopsy=True)
    assert e.value.field == "age_at_onset_years"
    with pytest.raises(InputError) as e:
        iim_2017({"rash": True}, age_at_onset_years=30, muscle_biopsy=True)
    assert e.value.field == "items.rash"


def test_sets_of_met_criteria_mean_all_others_not_met() -> None:
    r = eular_acr_2019({"acute_cutaneous_lupus", "low_c3_and_low_c4"}, ana_ge_1_80=True)
    assert r.value is True and r.evaluable
    assert eular_acr_2019_score(["fever"]).value == 2
    assert acr_1997(criteria={"malar_rash", "oral_ulcers", "arthritis", "anti_sm"}).value is True
    assert acr_1997(["malar_rash"]).value is False
    i = iim_2017(items={"heliotrope_rash"}, age_at_onset_years=45, muscle_biopsy=False)
    assert i.value is IimCategory.NOT_IIM
    with pytest.raises(InputError) as e:
        eular_acr_2019("fever", ana_ge_1_80=True)
    assert e.value.field == "criteria"
