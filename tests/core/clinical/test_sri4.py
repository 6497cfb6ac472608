"""SRI-4 (spec clinical.md §1.6; Furie 2009; seed 002 secondary outcome)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.bilag import BILAG_2004_SYSTEMS, GradeInput
from doseladder.core.clinical.sledai import (
    Descriptor,
    clinical_sledai,
    findings_from_sets,
    selena_sledai,
    sledai_2k,
)
from doseladder.core.clinical.sri4 import sri4
from doseladder.core.errors import InputError

STABLE: dict[str, GradeInput] = dict.fromkeys(BILAG_2004_SYSTEMS, "D")


def grades(**kw: str | None) -> dict[str, GradeInput]:
    return {**STABLE, **kw}


def run(**kw: object) -> bool | None:
    args: dict[str, object] = {
        "sledai_baseline": 10,
        "sledai_follow_up": 6,
        "bilag_baseline": STABLE,
        "bilag_follow_up": STABLE,
        "pga_baseline": 1.3,
        "pga_follow_up": 1.5,
    }
    args.update(kw)
    return sri4(**args).value  # type: ignore[arg-type]


def test_responder_at_exact_boundaries() -> None:
    r = sri4(
        sledai_baseline=10,
        sledai_follow_up=6,  # reduction exactly 4
        bilag_baseline=grades(renal="A"),
        bilag_follow_up=grades(renal="B"),  # improvement, no new grade
        pga_baseline=1.0,
        pga_follow_up=1.29,  # increase 0.29 < 0.3
    )
    assert r.value is True and r.evaluable
    assert r.instrument == "SRI-4 (SELENA-SLEDAI)"  # Furie 2009 default variant
    assert r.inputs["sledai_variant"] == "SELENA-SLEDAI"
    items = {c.item: c.points for c in r.contributions}
    assert items["sledai_reduction"] == 4
    assert items["pga_increase"] == 0.29


@pytest.mark.parametrize(
    ("baseline", "follow_up", "expected"),
    [(10, 6, True), (10, 7, False), (4, 0, True), (3, 0, False), (105, 101, True)],
)
def test_sledai_reduction_ge_4(baseline: int, follow_up: int, expected: bool) -> None:
    assert run(sledai_baseline=baseline, sledai_follow_up=follow_up) is expected


@pytest.mark.parametrize(
    ("bl", "fu", "expected"),
    [
        (1.3, 1.6, False),  # increase exactly 0.3 fails (1.6 − 1.3 is not 0.30000000000000004)
        (1.3, 1.59, True),
        (0.0, 0.3, False),
        (0.7, 1.0, False),
        (2.0, 0.0, True),
        ("1.1", "1.4", False),
        (1.1, 1.3, True),
    ],
)
def test_pga_increase_strictly_below_0_3(bl: object, fu: object, expected: bool) -> None:
    assert run(pga_baseline=bl, pga_follow_up=fu) is expected


@pytest.mark.parametrize(
    ("bl", "fu", "expected"),
    [
        (grades(), grades(renal="A"), False),  # new A
        (grades(), grades(renal="B"), True),  # one new B allowed
        (grades(), grades(renal="B", haematological="B"), False),  # two new B
        (grades(renal="B"), grades(renal="A"), False),  # B → A is a new A
        (grades(renal="A"), grades(renal="A"), True),  # persisting A is not new
        (grades(renal="B", ophthalmic="B"), grades(renal="B", ophthalmic="B"), True),
    ],
)
def test_bilag_component(
    bl: dict[str, GradeInput], fu: dict[str, GradeInput], expected: bool
) -> None:
    assert run(bilag_baseline=bl, bilag_follow_up=fu) is expected


def test_missing_data_not_evaluable_when_it_could_matter() -> None:
    r = sri4(
        sledai_baseline=10,
        sledai_follow_up=6,
        bilag_baseline=STABLE,
        bilag_follow_up=STABLE,
        pga_baseline=1.0,
        pga_follow_up=None,
    )
    assert r.value is None and not r.evaluable
    assert r.missing == ("pga_follow_up",)

    r = sri4(
        sledai_baseline=None,
        sledai_follow_up=2,
        bilag_baseline=STABLE,
        bilag_follow_up=STABLE,
        pga_baseline=1.0,
        pga_follow_up=1.0,
    )
    assert r.value is None and r.missing == ("sledai_baseline",)

    r = sri4(
        sledai_baseline=10,
        sledai_follow_up=4,
        bilag_baseline=STABLE,
        bilag_follow_up=grades(renal=None),
        pga_baseline=1.0,
        pga_follow_up=1.0,
    )
    assert r.value is None and r.missing == ("bilag_follow_up.renal",)


def test_missing_data_cannot_rescue_a_failed_component() -> None:
    # Spec §5.6 three-valued logic: a failed component decides "not met".
    r = sri4(
        sledai_baseline=10,
        sledai_follow_up=8,  # reduction 2
        bilag_baseline=None,
        bilag_follow_up=None,
        pga_baseline=None,
        pga_follow_up=None,
    )
    assert r.value is False and r.evaluable
    # Baseline SLEDAI 3: no follow-up value could give a reduction of 4.
    assert run(sledai_baseline=3, sledai_follow_up=None) is False


def test_variant_is_recorded_and_must_match() -> None:
    f10 = findings_from_sets(["arthritis", "rash", "low_complement", "dsdna"], rest_absent=True)
    f6 = findings_from_sets(["rash", "low_complement", "dsdna"], rest_absent=True)
    r = sri4(
        sledai_baseline=sledai_2k(f10),
        sledai_follow_up=sledai_2k(f6),
        bilag_baseline=STABLE,
        bilag_follow_up=STABLE,
        pga_baseline=1,
        pga_follow_up=1,
    )
    assert r.value is True
    assert r.instrument == "SRI-4 (SLEDAI-2K)"
    with pytest.raises(InputError) as e:
        sri4(
            sledai_baseline=sledai_2k(f10),
            sledai_follow_up=selena_sledai(f6),
            bilag_baseline=STABLE,
            bilag_follow_up=STABLE,
            pga_baseline=1,
            pga_follow_up=1,
        )
    assert e.value.field == "sledai_follow_up"
    with pytest.raises(InputError) as e:
        run(sledai_baseline=sledai_2k(f10), sledai_variant="SELENA-SLEDAI")
    assert e.value.field == "sledai_variant"
    with pytest.raises(InputError) as e:
        run(sledai_baseline=clinical_sledai(f10))
    assert e.value.field == "sledai_baseline"
    assert sri4(
        sledai_baseline=10,
        sledai_follow_up=6,
        bilag_baseline=STABLE,
        bilag_follow_up=STABLE,
        pga_baseline=1,
        pga_follow_up=1,
        sledai_variant="SLEDAI-2K",
    ).instrument == ("SRI-4 (SLEDAI-2K)")


def test_not_evaluable_sledai_assessment_is_missing() -> None:
    f = findings_from_sets(["arthritis"], unknown=[Descriptor.SEIZURE], rest_absent=True)
    r = sri4(
        sledai_baseline=10,
        sledai_follow_up=sledai_2k(f),
        bilag_baseline=STABLE,
        bilag_follow_up=STABLE,
        pga_baseline=1,
        pga_follow_up=1,
    )
    assert r.value is None
    assert "sledai_follow_up" in r.missing and "findings.seizure" in r.missing


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"sledai_baseline": 106}, "sledai_baseline"),
        ({"sledai_follow_up": -1}, "sledai_follow_up"),
        ({"sledai_baseline": True}, "sledai_baseline"),
        ({"sledai_baseline": 8.0}, "sledai_baseline"),
        ({"pga_baseline": 3.5}, "pga_baseline"),
        ({"bilag_follow_up": {"renal": "X"}}, "bilag_follow_up.renal"),
        ({"sledai_variant": "SLEDAI"}, "sledai_variant"),
        ({"min_sledai_reduction": 0}, "min_sledai_reduction"),
    ],
)
def test_invalid_inputs_name_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        run(**kw)
    assert e.value.field == field


def test_sri_n_variants() -> None:
    r = sri4(
        sledai_baseline=12,
        sledai_follow_up=6,
        bilag_baseline=STABLE,
        bilag_follow_up=STABLE,
        pga_baseline=1,
        pga_follow_up=1,
        min_sledai_reduction=6,
    )
    assert r.instrument.startswith("SRI-6") and r.value is True
    assert run(sledai_baseline=12, sledai_follow_up=7, min_sledai_reduction=6) is False


# --- properties ---------------------------------------------------------------------------------


@given(st.integers(0, 30), st.integers(0, 30))
def test_pga_component_is_exact_in_tenths(bl: int, fu: int) -> None:
    assert run(pga_baseline=bl / 10, pga_follow_up=fu / 10) is (fu - bl < 3)


@given(st.integers(0, 105), st.integers(0, 105), st.integers(0, 105))
def test_larger_reduction_never_loses_response(bl: int, fu: int, better_fu: int) -> None:
    if better_fu > fu:
        fu, better_fu = better_fu, fu
    if run(sledai_baseline=bl, sledai_follow_up=fu):
        assert run(sledai_baseline=bl, sledai_follow_up=better_fu)


@given(
    st.integers(0, 105),
    st.integers(0, 105),
    st.sampled_from([None, 0.5, 1.0, 2.9]),
    st.sampled_from([None, 0.5, 1.0, 2.9]),
)
def test_partial_answer_agrees_with_completions(
    bl: int, fu: int, p_bl: float | None, p_fu: float | None
) -> None:
    r = run(sledai_baseline=bl, sledai_follow_up=fu, pga_baseline=p_bl, pga_follow_up=p_fu)
    completions = {
        run(
            sledai_baseline=bl,
            sledai_follow_up=fu,
            pga_baseline=p_bl if p_bl is not None else a,
            pga_follow_up=p_fu if p_fu is not None else b,
        )
        for a in (0, 1.5, 3)
        for b in (0, 1.5, 3)
    }
    if r is not None:
        assert completions == {r}
