"""SLEDAI-2K / SELENA-SLEDAI / clinical SLEDAI (spec clinical.md §1.1–§1.3)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.result import Assessment
from doseladder.core.clinical.sledai import (
    CLINICAL_DESCRIPTORS,
    DESCRIPTORS,
    SEROLOGICAL_DESCRIPTORS,
    Descriptor,
    Finding,
    FindingInput,
    SledaiVariant,
    clinical_sledai,
    findings_from_sets,
    selena_sledai,
    sledai,
    sledai_2k,
    sledai_at_least,
    sledai_total_and_clinical_at_least,
    sledai_variant_of,
)
from doseladder.core.errors import InputError

ALL = [d.value for d in Descriptor]


def present(*keys: str) -> dict[str, FindingInput]:
    return {d.value: v for d, v in findings_from_sets(keys, rest_absent=True).items()}


# --- weights (spec §1.1 table) --------------------------------------------------------------

SPEC_WEIGHTS = {
    "seizure": 8,
    "psychosis": 8,
    "obs": 8,
    "visual": 8,
    "cranial_nerve": 8,
    "lupus_headache": 8,
    "cva": 8,
    "vasculitis": 8,
    "arthritis": 4,
    "myositis": 4,
    "casts": 4,
    "haematuria": 4,
    "proteinuria": 4,
    "pyuria": 4,
    "rash": 2,
    "alopecia": 2,
    "mucosal_ulcers": 2,
    "pleurisy": 2,
    "pericarditis": 2,
    "low_complement": 2,
    "dsdna": 2,
    "fever": 1,
    "thrombocytopenia": 1,
    "leukopenia": 1,
}


@pytest.mark.parametrize(("key", "weight"), sorted(SPEC_WEIGHTS.items()))
def test_each_descriptor_scores_its_spec_weight(key: str, weight: int) -> None:
    # Spec §1.1: alopecia is 2 (a public calculator's 1 is wrong).
    assert DESCRIPTORS[Descriptor(key)].weight == weight
    a = sledai_2k(present(key))
    assert a.value == weight
    assert [c.item for c in a.contributions] == [key]
    assert a.contributions[0].points == weight


def test_24_descriptors_sum_to_105() -> None:
    # Spec §1.1: 8×8 + 6×4 + 7×2 + 3×1 = 105.
    assert len(DESCRIPTORS) == 24
    assert sum(d.weight for d in DESCRIPTORS.values()) == 105
    assert sledai_2k(present(*ALL)).value == 105
    assert sledai_2k(present()).value == 0
    assert clinical_sledai(present(*ALL)).value == 101  # spec §1.3 range 0–101
    assert {Descriptor.LOW_COMPLEMENT, Descriptor.DSDNA} == SEROLOGICAL_DESCRIPTORS
    assert len(CLINICAL_DESCRIPTORS) == 22


def test_worked_example_total_clinical_and_contributions() -> None:
    f = present("arthritis", "alopecia", "low_complement", "dsdna")
    a = sledai_2k(f)
    assert a.instrument == "SLEDAI-2K"
    assert a.value == 10 and a.evaluable and not a.missing
    assert {c.item: c.points for c in a.contributions} == {
        "arthritis": 4,
        "alopecia": 2,
        "low_complement": 2,
        "dsdna": 2,
    }
    assert a.inputs["variant"] == "SLEDAI-2K"
    assert a.inputs["window_days"] == 10
    c = clinical_sledai(f)
    assert c.instrument == "clinical SLEDAI-2K"
    assert c.value == 6  # 10 − 2 − 2
    json.dumps(a.to_dict())  # JSON-serialisable evidence


# --- seed 004 rule (spec §1.3, §5.6 worked example) ------------------------------------------


def test_seed_004_spec_example_serology_scored_clinical_below_4() -> None:
    # Spec §5.6: "SLEDAI-2K=6 (low complement 2, anti-dsDNA 2, alopecia 2); clinical=2 <4".
    f = present("low_complement", "dsdna", "alopecia")
    assert sledai_2k(f).value == 6
    assert clinical_sledai(f).value == 2
    r = sledai_total_and_clinical_at_least(f)
    assert r.value is False and r.evaluable


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("rash", "alopecia", "mucosal_ulcers"), True),  # 6, no serology
        (("rash", "alopecia", "fever"), False),  # 5 < 6
        (("arthritis", "low_complement"), True),  # 6, clinical 4 ≥ 4 (boundary)
        (("rash", "fever", "leukopenia", "low_complement", "dsdna"), True),  # 8, clinical 4
        (("arthritis", "fever", "low_complement"), True),  # 7, clinical 5
        (("rash", "alopecia", "low_complement"), True),  # 6, clinical 4
        (("rash", "fever", "low_complement", "dsdna"), False),  # 7, clinical 3 < 4
    ],
)
def test_seed_004_rule_boundaries(keys: tuple[str, ...], expected: bool) -> None:
    r = sledai_total_and_clinical_at_least(present(*keys))
    assert r.value is expected and r.evaluable
    assert r.inputs["total_min"] == 6 and r.inputs["clinical_min"] == 4


def test_seed_004_rule_rejects_clinical_min_above_total_min() -> None:
    with pytest.raises(InputError) as e:
        sledai_total_and_clinical_at_least(present(), total_min=4, clinical_min=6)
    assert e.value.field == "clinical_min"


# --- missing values ---------------------------------------------------------------------------


def test_unknown_descriptor_makes_total_not_evaluable() -> None:
    f = present("arthritis")
    f[Descriptor.SEIZURE] = None
    a = sledai_2k(f)
    assert a.value is None and not a.evaluable
    assert a.missing == ("findings.seizure",)
    assert [c.item for c in a.contributions] == ["arthritis"]  # evidence so far kept


def test_omitted_descriptor_is_unknown_not_absent() -> None:
    a = sledai_2k({"arthritis": True})
    assert a.value is None
    assert len(a.missing) == 23


def test_clinical_sledai_does_not_need_serology() -> None:
    f = {d: (d is Descriptor.RASH) for d in CLINICAL_DESCRIPTORS}
    c = clinical_sledai(f)
    assert c.value == 2 and c.evaluable
    assert sledai_2k(f).value is None  # the total needs serology


def test_attribution_unknown_is_missing_and_false_is_not_scored() -> None:
    f: dict[str, FindingInput] = present()
    f["pyuria"] = Finding(present=True, attributed_to_sle=None)
    a = sledai_2k(f)
    assert a.value is None and a.missing == ("findings.pyuria.attributed_to_sle",)
    f["pyuria"] = Finding(present=True, attributed_to_sle=False)  # e.g. urinary infection
    a = sledai_2k(f)
    assert a.value == 0
    assert any("not attributed to SLE" in r for r in a.reasons)


# --- threshold with partial data --------------------------------------------------------------


def test_at_least_decides_from_partial_data_only_when_certain() -> None:
    f: dict[Descriptor, bool | None] = {d: None for d in Descriptor}
    f[Descriptor.SEIZURE] = True
    r = sledai_at_least(f, 8)
    assert r.value is True and r.evaluable and not r.missing  # 8 ≥ 8 whatever the rest

    g = present()
    g[Descriptor.FEVER] = None
    g[Descriptor.RASH] = True
    assert sledai_at_least(g, 4).value is False  # at most 2 + 1 = 3 < 4
    assert sledai_at_least(g, 3).value is None  # 2 known, 3 possible
    assert sledai_at_least(g, 3).missing == ("findings.fever",)
    assert sledai_at_least(g, 2).value is True


@pytest.mark.parametrize(("threshold", "expected"), [(7, True), (8, True), (9, False)])
def test_at_least_boundary(threshold: int, expected: bool) -> None:
    f = present("arthritis", "rash", "alopecia")  # 8
    assert sledai_at_least(f, threshold).value is expected


def test_at_least_clinical() -> None:
    f = present("arthritis", "low_complement", "dsdna")
    assert sledai_at_least(f, 8).value is True
    assert sledai_at_least(f, 8, clinical=True).value is False


# --- window (spec §1.1.1) ----------------------------------------------------------------------

VISIT = date(2025, 3, 20)


@pytest.mark.parametrize(
    ("days_before", "window", "scores"),
    [
        (0, 10, True),
        (10, 10, True),  # "in the preceding 10 days" — inclusive
        (11, 10, False),
        (-1, 10, False),  # after the visit
        (30, 30, True),
        (31, 30, False),
    ],
)
def test_window_boundaries(days_before: int, window: int, scores: bool) -> None:
    f: dict[str, FindingInput] = present()
    f["vasculitis"] = Finding(present=True, evidence_date=VISIT - timedelta(days=days_before))
    a = sledai_2k(f, visit_date=VISIT, window_days=window)
    assert a.value == (8 if scores else 0)
    assert a.inputs["window_days"] == window
    assert a.inputs["visit_date"] == VISIT.isoformat()


def test_window_needs_evidence_date_when_visit_given() -> None:
    a = sledai_2k(present("rash"), visit_date=VISIT)
    assert a.value is None and a.missing == ("findings.rash.evidence_date",)


def test_evidence_date_without_visit_date_is_an_error() -> None:
    f: dict[str, FindingInput] = present()
    f["rash"] = Finding(present=True, evidence_date=VISIT)
    with pytest.raises(InputError) as e:
        sledai_2k(f)
    assert e.value.field == "visit_date"


@pytest.mark.parametrize("window", [0, 7, 28, True])
def test_window_must_be_10_or_30(window: int) -> None:
    with pytest.raises(InputError) as e:
        sledai_2k(present(), window_days=window)
    assert e.value.field == "window_days"


# --- measured descriptors: thresholds and units ------------------------------------------------


def measured(key: str, value: object, unit: str | None) -> Assessment[int]:
    f: dict[str, FindingInput] = present()
    f[key] = Finding(value=value, unit=unit)  # type: ignore[arg-type]
    return sledai_2k(f)


@pytest.mark.parametrize(
    ("key", "value", "unit", "points"),
    [
        # thrombocytopenia <100×10⁹/L (strict)
        ("thrombocytopenia", 100, "10^9/L", 0),
        ("thrombocytopenia", 99.9, "10^9/L", 1),
        ("thrombocytopenia", "99.99", "×10⁹/L", 1),
        ("thrombocytopenia", 99_000, "/µL", 1),
        ("thrombocytopenia", 100_000, "/uL", 0),
        ("thrombocytopenia", 99, "10^3/uL", 1),
        # leukopenia <3×10⁹/L
        ("leukopenia", 3.0, "10^9/L", 0),
        ("leukopenia", 2.99, "10^9/L", 1),
        ("leukopenia", 2_999, "cells/mm3", 1),
        # proteinuria >0.5 g/24 h
        ("proteinuria", 0.5, "g/24h", 0),
        ("proteinuria", 0.51, "g/24h", 4),
        ("proteinuria", 500, "mg/24h", 0),
        ("proteinuria", 501, "mg/day", 4),
        # haematuria / pyuria >5 cells/HPF
        ("haematuria", 5, "RBC/HPF", 0),
        ("haematuria", 6, "/HPF", 4),
        ("pyuria", 5, "WBC/HPF", 0),
        ("pyuria", 5.5, "WBC/HPF", 4),
        # fever >38 °C
        ("fever", 38.0, "°C", 0),
        ("fever", 38.1, "Cel", 1),
        ("fever", 100.4, "°F", 0),  # = 38.0 °C exactly
        ("fever", 100.5, "[degF]", 1),
        # arthritis ≥2 joints (default comparator)
        ("arthritis", 1, "joints", 0),
        ("arthritis", 2, "joints", 4),
        ("arthritis", 2, None, 4),
    ],
)
def test_measured_thresholds_are_exact(key: str, value: object, unit: str, points: int) -> None:
    a = measured(key, value, unit)
    assert a.value == points


@pytest.mark.parametrize(
    ("key", "value", "unit", "field"),
    [
        ("thrombocytopenia", 80, "g/L", "findings.thrombocytopenia.unit"),
        ("thrombocytopenia", 150_000, "10^9/L", "findings.thrombocytopenia.value"),  # /µL slip
        ("thrombocytopenia", -1, "10^9/L", "findings.thrombocytopenia.value"),
        ("thrombocytopenia", 80, None, "findings.thrombocytopenia.unit"),
        ("proteinuria", 0.6, "mg/dL", "findings.proteinuria.unit"),  # concentration ≠ g/24 h
        ("proteinuria", 600, "g/24h", "findings.proteinuria.value"),  # mg given as g
        ("pyuria", 10, "RBC/HPF", "findings.pyuria.unit"),
        ("fever", 101, "°C", "findings.fever.value"),  # °F given as °C
        ("arthritis", 2.5, "joints", "findings.arthritis.value"),
        ("leukopenia", float("nan"), "10^9/L", "findings.leukopenia.value"),
        ("leukopenia", True, "10^9/L", "findings.leukopenia.value"),
        ("seizure", 1, None, "findings.seizure.value"),  # not a measured descriptor
    ],
)
def test_wrong_units_and_values_raise_naming_the_field(
    key: str, value: object, unit: str | None, field: str
) -> None:
    with pytest.raises(InputError) as e:
        measured(key, value, unit)
    assert e.value.field == field


def test_arthritis_comparator_parameter_is_recorded() -> None:
    f: dict[str, FindingInput] = present()
    f["arthritis"] = Finding(value=2, unit="joints")
    assert sledai_2k(f).value == 4
    strict = sledai_2k(f, arthritis_comparator=">")
    assert strict.value == 0  # "more than 2 joints"
    assert strict.inputs["arthritis_comparator"] == ">"
    f["arthritis"] = Finding(value=3, unit="joints")
    assert sledai_2k(f, arthritis_comparator=">").value == 4
    with pytest.raises(InputError) as e:
        sledai_2k(f, arthritis_comparator="≥")
    assert e.value.field == "arthritis_comparator"


def test_present_contradicting_value_is_an_error() -> None:
    f: dict[str, FindingInput] = present()
    f["thrombocytopenia"] = Finding(present=True, value=150, unit="10^9/L")
    with pytest.raises(InputError) as e:
        sledai_2k(f)
    assert e.value.field == "findings.thrombocytopenia.present"


# --- invalid inputs ----------------------------------------------------------------------------


def test_unknown_key_alias_and_duplicates() -> None:
    with pytest.raises(InputError) as e:
        sledai_2k({"headache": True})
    assert e.value.field == "findings.headache"
    f: dict[str, bool | None] = {k.value: False for k in Descriptor}
    del f["haematuria"]
    f["hematuria"] = True  # alias
    assert sledai_2k(f).value == 4
    f["haematuria"] = True
    with pytest.raises(InputError) as e:
        sledai_2k(f)
    assert e.value.field == "findings.haematuria"


def test_non_boolean_status_is_an_error() -> None:
    f: dict[str, object] = dict.fromkeys(ALL, False)
    f["rash"] = "yes"
    with pytest.raises(InputError) as e:
        sledai_2k(f)  # type: ignore[arg-type]
    assert e.value.field == "findings.rash"
    with pytest.raises(InputError) as e:
        sledai_2k({**dict.fromkeys(ALL, False), "rash": Finding(present=1)})  # type: ignore[arg-type]
    assert e.value.field == "findings.rash.present"


def test_findings_from_sets_rejects_overlap() -> None:
    with pytest.raises(InputError) as e:
        findings_from_sets(["rash"], absent=["rash"])
    assert e.value.field == "absent.rash"
    with pytest.raises(InputError):
        findings_from_sets(["nonsense"])


def test_unknown_variant_is_an_error() -> None:
    with pytest.raises(InputError) as e:
        sledai(present(), variant="SLEDAI-2000")
    assert e.value.field == "variant"


# --- SELENA-SLEDAI (spec §1.2) -------------------------------------------------------------


def test_selena_same_weights_and_recorded_variant() -> None:
    f = present("arthritis", "rash", "low_complement")
    s = selena_sledai(f)
    assert s.value == sledai_2k(f).value == 8
    assert s.instrument == "SELENA-SLEDAI"
    assert s.inputs["variant"] == "SELENA-SLEDAI"
    assert not s.needs_review
    assert any("NOT FOUND" in r for r in s.reasons)
    assert sledai_variant_of(s) == (SledaiVariant.SELENA_SLEDAI, False)
    assert sledai_variant_of(clinical_sledai(f, variant="SELENA-SLEDAI")) == (
        SledaiVariant.SELENA_SLEDAI,
        True,
    )


@pytest.mark.parametrize("key", ["rash", "alopecia", "mucosal_ulcers", "proteinuria"])
def test_persistent_activity_scores_in_2k_not_in_selena(key: str) -> None:
    # Gladman 2002: SLEDAI-2K lets persistent activity score; SELENA (as specified) does not.
    f: dict[str, FindingInput] = present()
    f[key] = Finding(present=True, new_or_recurrent=False)
    k2 = sledai_2k(f)
    assert k2.value == DESCRIPTORS[Descriptor(key)].weight and not k2.needs_review
    se = selena_sledai(f)
    assert se.value == 0
    assert se.needs_review  # unconfirmed rule lowered the score (spec §7-1)


def test_new_or_recurrent_is_irrelevant_for_other_descriptors() -> None:
    f: dict[str, FindingInput] = present()
    f["arthritis"] = Finding(present=True, new_or_recurrent=False)
    assert selena_sledai(f).value == 4
    assert not selena_sledai(f).needs_review


def test_variant_of_rejects_other_assessments() -> None:
    with pytest.raises(InputError):
        sledai_variant_of(Assessment(instrument="PGA", value=1))


# --- properties --------------------------------------------------------------------------------

subsets = st.sets(st.sampled_from(list(Descriptor)))


@given(subsets, st.sampled_from(list(Descriptor)))
def test_adding_a_descriptor_never_lowers_the_score(s: set[Descriptor], extra: Descriptor) -> None:
    before = sledai_2k(present(*s)).value
    after = sledai_2k(present(*(s | {extra}))).value
    assert before is not None and after is not None
    assert after >= before
    assert after - before == (0 if extra in s else DESCRIPTORS[extra].weight)


@given(subsets)
def test_total_is_sum_of_weights_and_clinical_excludes_serology(s: set[Descriptor]) -> None:
    f = present(*s)
    total = sledai_2k(f).value
    clin = clinical_sledai(f).value
    assert total is not None and clin is not None
    assert total == sum(DESCRIPTORS[d].weight for d in s)
    assert clin == total - 2 * len(s & SEROLOGICAL_DESCRIPTORS)
    assert 0 <= clin <= total <= 105


@given(subsets, subsets, st.integers(min_value=0, max_value=110))
def test_partial_threshold_agrees_with_every_completion(
    known_present: set[Descriptor], unknown: set[Descriptor], threshold: int
) -> None:
    f: dict[Descriptor, bool | None] = {
        d: (None if d in unknown else d in known_present) for d in Descriptor
    }
    r = sledai_at_least(f, threshold)
    lo = sledai_2k({d: bool(v) for d, v in f.items()}).value
    hi = sledai_2k({d: (True if v is None else v) for d, v in f.items()}).value
    assert lo is not None and hi is not None
    if r.value is None:
        assert lo < threshold <= hi and r.missing
    else:
        assert r.evaluable
        assert r.value == (lo >= threshold) == (hi >= threshold)


@given(subsets, subsets)
def test_seed_004_rule_agrees_with_extreme_completions(
    known_present: set[Descriptor], unknown: set[Descriptor]
) -> None:
    f: dict[Descriptor, bool | None] = {
        d: (None if d in unknown else d in known_present) for d in Descriptor
    }

    def rule(g: dict[Descriptor, bool]) -> bool:
        total = sledai_2k(g).value
        clin = clinical_sledai(g).value
        assert total is not None and clin is not None
        return total >= 6 and (total == clin or clin >= 4)

    r = sledai_total_and_clinical_at_least(f)
    lo = rule({d: bool(v) for d, v in f.items()})
    hi = rule({d: (True if v is None else v) for d, v in f.items()})
    if r.value is None:
        assert (lo, hi) == (False, True)
    else:
        assert r.value == lo == hi


def test_set_of_present_descriptors_means_all_others_absent() -> None:
    a = sledai_2k({"arthritis", "rash"})
    assert a.value == 6
    assert a.inputs["findings_form"].startswith("list")
    assert sledai_2k(["seizure", Descriptor.FEVER]).value == 9
    assert sledai_2k(set()).value == 0
    with pytest.raises(InputError) as e:
        sledai_2k("rash")
    assert e.value.field == "findings"
    with pytest.raises(InputError) as e:
        sledai_2k({"rash", "nonsense"})
    assert e.value.field == "present.nonsense"
