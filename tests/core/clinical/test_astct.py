"""ASTCT 2019 CRS / ICANS grading (spec ``clinical.md`` §2; worked examples §2.5)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.astct import (
    CerebralEdema,
    Consciousness,
    MotorFinding,
    OxygenSupport,
    Seizure,
    capd_total,
    crs_grade,
    icans_grade,
    icans_grade_adult,
    icans_grade_child,
    ice_score,
)
from doseladder.core.clinical.units import cell_count, temperature
from doseladder.core.errors import InputError


def T(v: float | str, unit: str = "°C") -> object:
    return temperature(v, unit)


# --------------------------------------------------------------------------- §2.5 CRS examples


def test_c1_fever_only() -> None:
    a = crs_grade(
        temperature_max=T("38.6"), fever_other_cause=False, hypotension=False, oxygen="none"
    )
    assert a.value == 1
    assert "fever" in a.reasons[-1]


def test_c2_fluids_and_low_flow() -> None:
    a = crs_grade(
        temperature_max=T("38.4"),
        fever_other_cause=False,
        hypotension=True,  # SBP 84 responding to a fluid bolus
        oxygen=OxygenSupport.NASAL_CANNULA,
        o2_flow_l_per_min=3,
    )
    assert a.value == 2


def test_c3_one_pressor_is_grade_3() -> None:
    a = crs_grade(
        temperature_max=T(39),
        fever_other_cause=False,
        vasopressors=["norepinephrine"],
        oxygen="nasal_cannula",
        o2_flow_l_per_min=2,
    )
    assert a.value == 3
    assert "hypotension" in a.reasons[-1] and "hypoxia" not in a.reasons[-1]


def test_c4_after_tocilizumab_vasopressin_not_second() -> None:
    a = crs_grade(
        temperature_max=T("37.2"),
        fever_masked_by_treatment=True,
        vasopressors=["norepinephrine", "vasopressin"],
        oxygen="none",
    )
    assert a.value == 3
    assert any("fever no longer required" in r for r in a.reasons)


def test_c5_bipap() -> None:
    a = crs_grade(
        temperature_max=T("38.2"), fever_other_cause=False, hypotension=False, oxygen="bipap"
    )
    assert a.value == 4


def test_c6_high_flow_by_rate() -> None:
    a = crs_grade(
        temperature_max=T("38.1"),
        fever_other_cause=False,
        hypotension=False,
        oxygen="nasal_cannula",
        o2_flow_l_per_min=8,
    )
    assert a.value == 3


# --------------------------------------------------------------------------- CRS boundaries


def crs(**kw: object) -> int | None:
    base: dict[str, object] = {
        "temperature_max": T(39),
        "fever_other_cause": False,
        "hypotension": False,
        "oxygen": "none",
    }
    if "vasopressors" in kw:
        base["hypotension"] = True
    base.update(kw)
    return crs_grade(**base).value  # type: ignore[arg-type]


def test_fever_threshold_is_ge_38() -> None:
    assert crs(temperature_max=T("38.0")) == 1
    assert crs(temperature_max=T("100.4", "°F")) == 1  # = 38.0 °C exactly
    assert crs(temperature_max=T("37.99")) == 0
    # hypotension or hypoxia without fever is not CRS
    assert crs(temperature_max=T("37.5"), vasopressors=["norepinephrine"]) == 0


def test_flow_boundary_6_l_min() -> None:
    # §2.1: low flow ≤ 6 L/min, high flow > 6 L/min
    assert crs(oxygen="nasal_cannula", o2_flow_l_per_min=6) == 2
    assert crs(oxygen="nasal_cannula", o2_flow_l_per_min="6.0") == 2
    assert crs(oxygen="nasal_cannula", o2_flow_l_per_min="6.1") == 3
    assert crs(oxygen="low_flow_nasal_cannula") == 2
    assert crs(oxygen="high_flow_nasal_cannula") == 3
    a = crs_grade(
        temperature_max=T(39),
        fever_other_cause=False,
        hypotension=False,
        oxygen="low_flow_nasal_cannula",
        o2_flow_l_per_min=10,
    )
    assert a.value == 3 and a.needs_review  # the flow decides; label conflict flagged


@pytest.mark.parametrize(
    ("oxygen", "grade"),
    [
        ("blow_by", 2),
        ("facemask", 3),
        ("non_rebreather", 3),
        ("venturi_mask", 3),
        ("cpap", 4),
        ("mechanical_ventilation", 4),
    ],
)
def test_oxygen_devices(oxygen: str, grade: int) -> None:
    assert crs(oxygen=oxygen) == grade


def test_vasopressor_counting() -> None:
    assert crs(vasopressors=["vasopressin"]) == 3
    assert crs(vasopressors=["Norepinephrine", "norepinephrine "]) == 3  # one agent
    assert crs(vasopressors=["norepinephrine", "phenylephrine"]) == 4
    assert crs(vasopressors=["norepinephrine", "phenylephrine", "vasopressin"]) == 4
    assert crs(hypotension=True) == 2
    with pytest.raises(InputError) as e:
        crs(hypotension=False, vasopressors=["norepinephrine"], temperature_max=T(39))
    assert e.value.field == "vasopressors"
    with pytest.raises(InputError):
        crs(vasopressors="norepinephrine")


def test_worst_domain_wins() -> None:
    # "a febrile patient on a single vasopressor and low-flow nasal cannula is grade 3"
    assert crs(vasopressors=["norepinephrine"], oxygen="low_flow_nasal_cannula") == 3
    assert crs(hypotension=True, oxygen="cpap") == 4


def test_fever_attribution_and_masking() -> None:
    assert crs(fever_other_cause=True, vasopressors=["norepinephrine"]) == 0
    a = crs_grade(temperature_max=T(39), hypotension=False, oxygen="none")
    assert not a.evaluable and a.missing == ("fever_other_cause",)
    b = crs_grade(
        temperature_max=T("36.8"), fever_masked_by_treatment=True, hypotension=False, oxygen="none"
    )
    assert b.value == 1 and b.needs_review  # masked, no hypotension/hypoxia


def test_crs_missing_inputs_use_bounds() -> None:
    # temperature unknown → not evaluable
    a = crs_grade(temperature_max=None, hypotension=False, oxygen="none")
    assert not a.evaluable and "temperature_max" in a.missing
    # flow unknown but a single pressor already gives 3 and nasal cannula gives at most 3
    b = crs_grade(
        temperature_max=T(39),
        fever_other_cause=False,
        vasopressors=["norepinephrine"],
        oxygen="nasal_cannula",
    )
    assert b.value == 3 and b.evaluable
    c = crs_grade(
        temperature_max=T(39), fever_other_cause=False, hypotension=False, oxygen="nasal_cannula"
    )
    assert not c.evaluable and c.missing == ("o2_flow_l_per_min",)
    # multiple pressors → 4 whatever the oxygen
    d = crs_grade(
        temperature_max=T(39),
        fever_other_cause=False,
        vasopressors=["norepinephrine", "epinephrine"],
        oxygen=None,
    )
    assert d.value == 4
    e = crs_grade(temperature_max=T(39), fever_other_cause=False, oxygen="none")
    assert not e.evaluable and e.missing == ("hypotension",)


def test_crs_death_and_bad_inputs() -> None:
    assert crs(death_due_to_crs=True) == 5
    with pytest.raises(InputError) as e:
        crs_grade(temperature_max=39, fever_other_cause=False)  # type: ignore[arg-type]
    assert e.value.field == "temperature_max"
    with pytest.raises(InputError):
        crs_grade(temperature_max=cell_count(1, "10^9/L"), fever_other_cause=False)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        crs(oxygen="helmet")
    with pytest.raises(InputError):
        crs(oxygen="facemask", o2_flow_l_per_min=10)


_O2_ORDER = ["none", "low_flow_nasal_cannula", "high_flow_nasal_cannula", "bipap"]


@given(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
def test_crs_monotone_in_support(o1: int, o2: int, p1: int, p2: int) -> None:
    pressors = [[], [], ["norepinephrine"], ["norepinephrine", "phenylephrine"]]

    def grade(o: int, p: int) -> int:
        return crs(oxygen=_O2_ORDER[o], hypotension=p >= 1, vasopressors=pressors[p])  # type: ignore[return-value]

    if o1 <= o2 and p1 <= p2:
        assert grade(o1, p1) <= grade(o2, p2)
    assert grade(o1, p1) == max(1, o1 + 1 if o1 else 1, p1 + 1 if p1 else 1)


# --------------------------------------------------------------------------- ICE


def test_ice_n1_worked_example() -> None:
    # §2.5 N1: year ✓ month ✓ city ✓ hospital ✗ (3) + names 3 (3) + command (1) + writes (1)
    # + counting ✗ (0) = 8
    a = ice_score(
        orientation_year=True,
        orientation_month=True,
        orientation_city=True,
        orientation_hospital=False,
        objects_named=3,
        follows_commands=True,
        writes_sentence=True,
        counts_backwards_by_10=False,
    )
    assert a.value == 8
    assert {c.item: c.points for c in a.contributions}["orientation"] == 3
    assert icans_grade_adult(ice=a, consciousness="alert").value == 1


def test_ice_missing_and_invalid() -> None:
    a = ice_score(
        orientation_year=True,
        orientation_month=True,
        orientation_city=True,
        orientation_hospital=None,
        objects_named=3,
        follows_commands=True,
        writes_sentence=True,
        counts_backwards_by_10=True,
    )
    assert not a.evaluable and a.missing == ("orientation_hospital",)
    with pytest.raises(InputError) as e:
        ice_score(
            orientation_year=True,
            orientation_month=True,
            orientation_city=True,
            orientation_hospital=True,
            objects_named=4,
            follows_commands=True,
            writes_sentence=True,
            counts_backwards_by_10=True,
        )
    assert e.value.field == "objects_named"
    # a not-evaluable ICE passed to ICANS counts as unknown
    assert not icans_grade_adult(ice=a, consciousness="alert").evaluable


# --------------------------------------------------------------------------- ICANS adult


@pytest.mark.parametrize(
    ("ice", "grade"), [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (1, 3), (0, 3)]
)
def test_ice_bands(ice: int, grade: int) -> None:
    # §2.3: ICE 7–9 → 1, 3–6 → 2, 0–2 → 3
    assert icans_grade_adult(ice=ice, consciousness="alert").value == grade


def test_n2_to_n5() -> None:
    # N2: ICE 3 + generalised seizure resolving rapidly → 3
    n2 = icans_grade_adult(ice=3, consciousness="alert", seizure=Seizure.RAPIDLY_RESOLVING)
    assert n2.value == 3 and "seizure" in n2.reasons[-1]
    # N3: ICE 0, awake, global aphasia → 3
    assert icans_grade_adult(ice=0, consciousness=Consciousness.ALERT).value == 3
    # N4: ICE 0, unarousable → 4
    n4 = icans_grade_adult(ice=0, consciousness=Consciousness.UNAROUSABLE)
    assert n4.value == 4 and "consciousness" in n4.reasons[-1]
    # N5: ICE 9, awake, focal oedema → 3 (worst domain)
    n5 = icans_grade_adult(ice=9, consciousness="alert", cerebral_edema=CerebralEdema.FOCAL)
    assert n5.value == 3 and "cerebral_edema" in n5.reasons[-1]


@pytest.mark.parametrize(
    ("kw", "grade"),
    [
        ({"consciousness": "awakens_spontaneously"}, 1),
        ({"consciousness": "awakens_to_voice"}, 2),
        ({"consciousness": "awakens_to_tactile"}, 3),
        ({"consciousness": "unarousable"}, 4),
        ({"seizure": "prolonged_or_repetitive"}, 4),
        ({"motor": MotorFinding.DEEP_FOCAL_WEAKNESS}, 4),
        ({"cerebral_edema": "diffuse_or_signs"}, 4),
        ({"death_due_to_icans": True}, 5),
    ],
)
def test_icans_domains(kw: dict, grade: int) -> None:
    args: dict = {"ice": 10, "consciousness": "alert"}
    args.update(kw)
    assert icans_grade_adult(**args).value == grade


def test_icans_missing_domains() -> None:
    # ICE unavailable: evaluable only if another domain already gives ≥ 3
    a = icans_grade_adult(ice=None, consciousness="alert")
    assert not a.evaluable and a.missing == ("ice",)
    b = icans_grade_adult(ice=None, consciousness="unarousable")
    assert b.value == 4
    c = icans_grade_adult(ice=None, consciousness="alert", seizure="rapidly_resolving")
    assert c.value == 3
    d = icans_grade_adult(ice=8, consciousness=None)
    assert not d.evaluable and d.missing == ("consciousness",)
    e = icans_grade_adult(ice=8, consciousness="alert", cerebral_edema=None)
    assert not e.evaluable and e.missing == ("cerebral_edema",)
    with pytest.raises(InputError):
        icans_grade_adult(ice=11, consciousness="alert")
    with pytest.raises(InputError):
        icans_grade_adult(ice=5, consciousness="drowsy")


@given(st.integers(0, 10), st.integers(0, 10))
def test_icans_monotone_in_ice(a: int, b: int) -> None:
    ga = icans_grade_adult(ice=a, consciousness="alert").value
    gb = icans_grade_adult(ice=b, consciousness="alert").value
    assert ga is not None and gb is not None
    if a <= b:
        assert ga >= gb


# --------------------------------------------------------------------------- ICANS children


def test_p1_p2_p3() -> None:
    # P1: 8 y, CAPD 10, awakens only to touch → 3
    p1 = icans_grade(age_years=8, capd=10, consciousness="awakens_to_tactile")
    assert p1.value == 3 and "CAPD" in p1.reasons[0]
    # P2: 8 y, CAPD 6, awakens to voice → 2
    assert icans_grade(age_years=8, capd=6, consciousness="awakens_to_voice").value == 2
    # P3: 13 y, ICE 5 → 2 (≥ 12 → ICE), not flagged
    p3 = icans_grade(age_years=13, ice=5, consciousness="alert")
    assert p3.value == 2 and not p3.needs_review


@pytest.mark.parametrize(
    ("capd", "loc", "grade"),
    [
        (0, "alert", 0),
        (1, "alert", 1),
        (8, "awakens_spontaneously", 1),
        (8, "awakens_to_voice", 2),
        (9, "alert", 3),  # CAPD ≥ 9 = positive
        (32, "alert", 3),
    ],
)
def test_capd_bands(capd: int, loc: str, grade: int) -> None:
    assert icans_grade_child(capd=capd, consciousness=loc).value == grade


def test_child_unable_and_dispatch_rules() -> None:
    assert icans_grade_child(capd=None, capd_unable=True, consciousness="unarousable").value == 4
    with pytest.raises(InputError):
        icans_grade_child(capd=5, capd_unable=True, consciousness="alert")
    # age exactly 12 → ICE, flagged (ASTCT "< 12" vs NCIt "12 and under")
    a12 = icans_grade(age_years=12, ice=9, consciousness="alert")
    assert a12.value == 1 and a12.needs_review
    assert icans_grade(age_years="11.9", capd=9, consciousness="alert").value == 3
    # developmental delay → CAPD at any age
    dd = icans_grade(age_years=15, capd=2, developmental_delay=True, consciousness="alert")
    assert dd.value == 1 and "Developmental delay" in dd.reasons[0]
    with pytest.raises(InputError) as e:
        icans_grade(age_years=8, ice=9, consciousness="alert")
    assert e.value.field == "ice"
    with pytest.raises(InputError) as e:
        icans_grade(age_years=30, capd=9, consciousness="alert")
    assert e.value.field == "capd"
    none = icans_grade(age_years=None, ice=9, consciousness="alert")
    assert none.missing == ("age_years",)
    # the CAPD age limit is a parameter
    assert icans_grade(age_years=12, capd=9, consciousness="alert", capd_below_age=13).value == 3


def test_capd_total() -> None:
    a = capd_total([1, 1, 1, 1, 1, 1, 1, 2])
    assert a.value == 9
    assert icans_grade(age_years=6, capd=a, consciousness="alert").value == 3
    assert capd_total(None).missing == ("item_points",)
    with pytest.raises(InputError):
        capd_total([1] * 7)
    with pytest.raises(InputError):
        capd_total([5] + [0] * 7)


def test_serialises() -> None:
    json.dumps(icans_grade(age_years=8, capd=10, consciousness="awakens_to_tactile").to_dict())
    json.dumps(crs_grade(temperature_max=T(39), fever_other_cause=False).to_dict())
