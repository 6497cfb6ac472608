"""LLDAS (Franklyn 2016; spec clinical.md §1.7)."""

from __future__ import annotations

import pytest

from doseladder.core.clinical.lldas import lldas
from doseladder.core.clinical.sledai import findings_from_sets, selena_sledai, sledai_2k
from doseladder.core.errors import InputError

BASE: dict[str, object] = {
    "sledai_2k": 4,
    "major_organ_activity": False,
    "haemolytic_anaemia": False,
    "gastrointestinal_activity": False,
    "new_activity_since_previous": False,
    "pga": 1,
    "prednisone_eq_mg_per_day": 7.5,
    "maintenance_therapy_standard_and_tolerated": True,
    "investigational_drug": False,
}


def run(**kw: object) -> bool | None:
    return lldas(**{**BASE, **kw}).value  # type: ignore[arg-type]


def test_all_criteria_met_at_exact_boundaries() -> None:
    # SLEDAI-2K ≤4, PGA ≤1, prednisone-eq ≤7.5 mg/day — all inclusive [Franklyn 2016].
    r = lldas(**BASE)  # type: ignore[arg-type]
    assert r.value is True and r.evaluable
    assert r.instrument == "LLDAS (Franklyn 2016)"
    assert [c.item for c in r.contributions] == [
        "sledai_2k_le_4",
        "no_major_organ_activity",
        "no_haemolytic_anaemia",
        "no_gastrointestinal_activity",
        "no_new_activity_since_previous",
        "pga_le_1",
        "prednisone_eq_le_7.5",
        "standard_tolerated_maintenance",
        "no_investigational_drug",
    ]


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"sledai_2k": 5}, False),
        ({"sledai_2k": 0}, True),
        ({"pga": 1.01}, False),
        ({"pga": "0.9"}, True),
        ({"prednisone_eq_mg_per_day": 7.51}, False),
        ({"prednisone_eq_mg_per_day": "7.50"}, True),
        ({"prednisone_eq_mg_per_day": 0}, True),
        ({"major_organ_activity": True}, False),
        ({"haemolytic_anaemia": True}, False),
        ({"gastrointestinal_activity": True}, False),
        ({"new_activity_since_previous": True}, False),
        ({"maintenance_therapy_standard_and_tolerated": False}, False),
        ({"investigational_drug": True}, False),
    ],
)
def test_each_criterion(kw: dict[str, object], expected: bool) -> None:
    assert run(**kw) is expected


def test_serology_allowed_but_renal_activity_not() -> None:
    # Serological activity is allowed within SLEDAI-2K ≤4 [PMC7719036] …
    sero = sledai_2k(findings_from_sets(["low_complement", "dsdna"], rest_absent=True))
    r = lldas(**{**BASE, "sledai_2k": sero, "major_organ_activity": None})  # type: ignore[arg-type]
    assert r.value is True
    # … but proteinuria alone (SLEDAI-2K 4) is renal = major organ activity.
    renal = sledai_2k(findings_from_sets(["proteinuria"], rest_absent=True))
    r = lldas(**{**BASE, "sledai_2k": renal, "major_organ_activity": None})  # type: ignore[arg-type]
    assert renal.value == 4 and r.value is False
    assert any("renal" in c.detail for c in r.contributions)
    # Fever (1 point) is a "major organ" item too; myositis is not.
    fever = sledai_2k(findings_from_sets(["fever"], rest_absent=True))
    assert run(sledai_2k=fever, major_organ_activity=None) is False
    myositis = sledai_2k(findings_from_sets(["myositis"], rest_absent=True))
    assert run(sledai_2k=myositis, major_organ_activity=None) is True


def test_explicit_major_activity_cannot_contradict_descriptors() -> None:
    renal = sledai_2k(findings_from_sets(["pyuria"], rest_absent=True))
    with pytest.raises(InputError) as e:
        run(sledai_2k=renal, major_organ_activity=False)
    assert e.value.field == "major_organ_activity"


def test_missing_values() -> None:
    r = lldas(**{**BASE, "pga": None})  # type: ignore[arg-type]
    assert r.value is None and r.missing == ("pga",)
    # A plain total >0 does not say which organs were active.
    r = lldas(**{**BASE, "sledai_2k": 2, "major_organ_activity": None})  # type: ignore[arg-type]
    assert r.value is None and r.missing == ("major_organ_activity",)
    # A total of 0 means no active descriptor at all.
    assert run(sledai_2k=0, major_organ_activity=None) is True
    # A failed criterion decides the answer even with missing data.
    assert run(sledai_2k=8, pga=None, prednisone_eq_mg_per_day=None) is False


def test_cell_therapy_flag() -> None:
    assert run(investigational_cell_therapy=True) is True  # default: does not count
    r = lldas(
        **{
            **BASE,
            "investigational_cell_therapy": True,
            "cell_therapy_counts_as_investigational": True,
        }  # type: ignore[arg-type]
    )
    assert r.value is False
    assert r.inputs["cell_therapy_counts_as_investigational"] is True
    assert run(cell_therapy_counts_as_investigational=True) is None  # not recorded


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"sledai_2k": 106}, "sledai_2k"),
        ({"sledai_2k": 3.0}, "sledai_2k"),
        ({"pga": 4}, "pga"),
        ({"prednisone_eq_mg_per_day": -1}, "prednisone_eq_mg_per_day"),
        ({"prednisone_eq_mg_per_day": 50_000}, "prednisone_eq_mg_per_day"),  # µg given as mg?
        ({"haemolytic_anaemia": "no"}, "haemolytic_anaemia"),
    ],
)
def test_invalid_inputs_name_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        run(**kw)
    assert e.value.field == field


def test_requires_sledai_2k_not_selena() -> None:
    s = selena_sledai(findings_from_sets([], rest_absent=True))
    with pytest.raises(InputError) as e:
        run(sledai_2k=s)
    assert e.value.field == "sledai_2k"
