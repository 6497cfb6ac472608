"""DORIS 2021 remission (spec clinical.md §1.8)."""

from __future__ import annotations

import pytest

from doseladder.core.clinical.doris import doris_remission
from doseladder.core.clinical.sledai import clinical_sledai, findings_from_sets, sledai_2k
from doseladder.core.errors import InputError

BASE: dict[str, object] = {
    "clinical_sledai": 0,
    "pga": 0.4,
    "prednisone_eq_mg_per_day": 2.5,
    "maintenance_therapy_stable": True,
}


def run(**kw: object) -> bool | None:
    return doris_remission(**{**BASE, **kw}).value  # type: ignore[arg-type]


def test_remission() -> None:
    r = doris_remission(**BASE)  # type: ignore[arg-type]
    assert r.value is True and r.evaluable and not r.needs_review
    assert r.inputs["glucocorticoid_comparator"] == "<="


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"clinical_sledai": 1}, False),
        ({"pga": 0.5}, False),  # PhGA < 0.5 is strict
        ({"pga": 0.49}, True),
        ({"pga": "0.5"}, False),
        ({"prednisone_eq_mg_per_day": 5.01}, False),
        ({"prednisone_eq_mg_per_day": 4.99}, True),
        ({"maintenance_therapy_stable": False}, False),
    ],
)
def test_thresholds(kw: dict[str, object], expected: bool) -> None:
    assert run(**kw) is expected


def test_glucocorticoid_comparator_at_5_mg() -> None:
    # Table "<5" vs abstract "≤5" (spec §1.8, §7-4): default "≤5", flagged when it decides.
    r = doris_remission(**{**BASE, "prednisone_eq_mg_per_day": 5})  # type: ignore[arg-type]
    assert r.value is True and r.needs_review
    r = doris_remission(
        **{**BASE, "prednisone_eq_mg_per_day": 5, "glucocorticoid_comparator": "<"}  # type: ignore[arg-type]
    )
    assert r.value is False and r.needs_review
    assert r.inputs["glucocorticoid_comparator"] == "<"
    # Not flagged when another criterion already fails.
    assert not doris_remission(
        **{**BASE, "prednisone_eq_mg_per_day": 5, "pga": 1}  # type: ignore[arg-type]
    ).needs_review
    with pytest.raises(InputError) as e:
        run(glucocorticoid_comparator="≤")
    assert e.value.field == "glucocorticoid_comparator"


def test_serology_irrelevant() -> None:
    # "cSLEDAI = 0 … irrespective of serology" [DORIS 2021].
    f = findings_from_sets(["low_complement", "dsdna"], rest_absent=True)
    assert run(clinical_sledai=clinical_sledai(f)) is True
    full = sledai_2k(f)
    assert full.value == 4
    r = doris_remission(**{**BASE, "clinical_sledai": full})  # type: ignore[arg-type]
    assert r.value is True and r.inputs["clinical_sledai"] == 0
    g = findings_from_sets(["rash", "dsdna"], rest_absent=True)
    assert run(clinical_sledai=sledai_2k(g)) is False


def test_missing() -> None:
    r = doris_remission(**{**BASE, "pga": None})  # type: ignore[arg-type]
    assert r.value is None and r.missing == ("pga",)
    assert run(maintenance_therapy_stable=None) is None
    assert run(clinical_sledai=2, pga=None) is False  # decided by a failed criterion
    f = findings_from_sets([], unknown=["rash"], rest_absent=True)
    r = doris_remission(**{**BASE, "clinical_sledai": clinical_sledai(f)})  # type: ignore[arg-type]
    assert r.value is None and "findings.rash" in r.missing


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"clinical_sledai": 102}, "clinical_sledai"),
        ({"clinical_sledai": True}, "clinical_sledai"),
        ({"pga": -0.1}, "pga"),
        ({"prednisone_eq_mg_per_day": "five"}, "prednisone_eq_mg_per_day"),
        ({"maintenance_therapy_stable": 1}, "maintenance_therapy_stable"),
    ],
)
def test_invalid_inputs(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        run(**kw)
    assert e.value.field == field
