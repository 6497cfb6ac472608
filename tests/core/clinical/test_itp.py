"""SLE-ITP response and entry rule (seed 000; spec clinical.md §4.8, §0.1-4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.itp import ItpResponse, itp_response, sle_itp_platelet_entry
from doseladder.core.errors import InputError

CR, PR, NR = ItpResponse.CR, ItpResponse.PR, ItpResponse.NR


@pytest.mark.parametrize(
    ("plt", "baseline", "bleeding", "expected"),
    [
        (100, 20, False, CR),  # CR ≥100 (inclusive)
        (100, None, None, CR),  # baseline and bleeding not needed for CR (seed wording)
        (150, 20, True, CR),  # seed: no bleeding condition for CR
        (99.9, 20, False, PR),  # PR range 30–<100
        (30, 15, False, PR),  # lower bound inclusive and exactly 2× baseline
        (30, 15.1, False, NR),  # below 2× baseline
        (29.9, 10, False, NR),  # below 30
        (60, 20, True, NR),  # bleeding in the PR range
        (0, 0, False, NR),
        (40, 0, False, PR),  # 2 × 0 = 0
    ],
)
def test_seed_000_wording(
    plt: float, baseline: float | None, bleeding: bool | None, expected: ItpResponse
) -> None:
    r = itp_response(plt, baseline, bleeding)
    assert r.value is expected and r.evaluable
    assert r.inputs["no_bleeding_required_for_cr"] is False


@pytest.mark.parametrize(
    ("plt", "bleeding", "expected"),
    [(150, False, CR), (150, True, NR), (100, True, NR), (150, None, None)],
)
def test_no_bleeding_required_for_cr_flag(
    plt: float, bleeding: bool | None, expected: ItpResponse | None
) -> None:
    r = itp_response(plt, 20, bleeding, no_bleeding_required_for_cr=True)
    assert r.value is expected
    if expected is None:
        assert r.missing == ("bleeding",)


def test_missing_values() -> None:
    r = itp_response(None, 20, False)
    assert r.value is None and r.missing == ("platelets",)
    r = itp_response(60, None, False)
    assert r.value is None and r.missing == ("baseline_platelets",)
    r = itp_response(60, None, None)
    assert r.missing == ("baseline_platelets", "bleeding")
    r = itp_response(60, 20, None)
    assert r.value is None and r.missing == ("bleeding",)
    # Decided despite missing inputs when they cannot matter:
    assert itp_response(60, None, True).value is NR
    assert itp_response(60, 40, None).value is NR  # 60 < 2 × 40
    assert itp_response(10, None, None).value is NR


def test_units() -> None:
    assert itp_response(100_000, 20_000, False, unit="/µL").value is CR
    assert itp_response(99_000, 40_000, False, unit="cells/uL").value is PR
    assert itp_response(99, 40_000, False, baseline_unit="/uL").value is PR
    assert itp_response(99, 40, False, unit="10^3/µL").value is PR
    assert itp_response(99, 40, False, unit="×10⁹/L").value is PR


@pytest.mark.parametrize(
    ("plt", "baseline", "unit", "baseline_unit", "field"),
    [
        (100, 20, "g/L", None, "platelets_unit"),
        (100, 20, "10^9/L", "mg/dL", "baseline_platelets_unit"),
        (150_000, 20, "10^9/L", None, "platelets"),  # /µL value labelled 10⁹/L
        (-5, 20, "10^9/L", None, "platelets"),
        (50, "abc", "10^9/L", None, "baseline_platelets"),
        (float("nan"), 20, "10^9/L", None, "platelets"),
    ],
)
def test_invalid_values_and_units(
    plt: object, baseline: object, unit: str, baseline_unit: str | None, field: str
) -> None:
    with pytest.raises(InputError) as e:
        itp_response(plt, baseline, False, unit=unit, baseline_unit=baseline_unit)  # type: ignore[arg-type]
    assert e.value.field == field


def test_bleeding_must_be_boolean() -> None:
    with pytest.raises(InputError) as e:
        itp_response(50, 10, "no")  # type: ignore[arg-type]
    assert e.value.field == "bleeding"


# --- entry: <50×10⁹/L on ≥2 consecutive tests ------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([45, 48], True),
        ([49.9, 49.9], True),
        ([60, 45, 48, 70], True),
        ([45, 60, 48], False),  # not consecutive
        ([50, 45], False),  # 50 is not <50
        ([45], False),
        ([], False),
        ([45, None, 48], None),  # the missing test decides
        ([45, None], None),
        ([60, None, 70], False),  # no run possible
        ([45, 48, None], True),
    ],
)
def test_entry_consecutive_rule(counts: list[float | None], expected: bool | None) -> None:
    r = sle_itp_platelet_entry(counts)
    assert r.value is expected
    assert r.evaluable is (expected is not None)


def test_entry_units_and_contributions() -> None:
    r = sle_itp_platelet_entry([60_000, 45_000, 48_000], unit="/uL")
    assert r.value is True
    assert [c.item for c in r.contributions] == ["counts[1]", "counts[2]"]
    with pytest.raises(InputError) as e:
        sle_itp_platelet_entry([45, 40_000])
    assert e.value.field == "counts[1]"
    with pytest.raises(InputError) as e:
        sle_itp_platelet_entry([45, 40], min_consecutive=0)
    assert e.value.field == "min_consecutive"


_ORDER = {NR: 0, PR: 1, CR: 2}


@given(
    st.integers(0, 3000).map(lambda x: x / 10),
    st.integers(0, 3000).map(lambda x: x / 10),
    st.integers(0, 800).map(lambda x: x / 10),
)
def test_more_platelets_never_worse(a: float, b: float, baseline: float) -> None:
    lo, hi = sorted((a, b))
    r_lo = itp_response(lo, baseline, False).value
    r_hi = itp_response(hi, baseline, False).value
    assert r_lo is not None and r_hi is not None
    assert _ORDER[r_hi] >= _ORDER[r_lo]
