"""Dose levels in real units and per-patient amounts (core.dosing).

Sources: seeds 000 (mg/kg placeholders A/B/C), 001 (0.5-3×10^9 CAR+ NK cells; Flu 25-30 mg/m²,
Cy 250-300 mg/m² on D-5..D-3), 003 (1/3/5×10^5 cells/kg); spec clinical.md §4.5-4.6 worked
examples.
"""

from __future__ import annotations

import pytest

from doseladder.core.dosing import (
    Amount,
    DoseLevel,
    DoseUnit,
    LymphodepletionAgent,
    LymphodepletionRegimen,
    format_number,
)
from doseladder.core.errors import InputError


def test_placeholder_amount_cannot_be_computed() -> None:
    dl1 = DoseLevel("DL1", Amount(DoseUnit.MG_PER_KG, placeholder="B"))
    with pytest.raises(InputError) as err:
        dl1.for_patient(weight_kg=60)
    assert "dose DL1 amount is a placeholder 'B' not yet set" in str(err.value)
    assert err.value.field == "doses.DL1.amount"
    assert "B mg/kg (placeholder, not yet set)" in dl1.describe()
    assert not dl1.amount.is_set


def test_cells_per_kg_times_weight_spec_example() -> None:
    # spec clinical.md §4.6: 3×10^5/kg × 25 kg = 7.5×10^6 CAR-T cells
    dl2 = DoseLevel("DL2", Amount(DoseUnit.CELLS_PER_KG, value=3e5))
    amt = dl2.for_patient(weight_kg=25)
    assert (amt.low, amt.high, amt.unit) == (7.5e6, 7.5e6, "cells")
    assert not amt.is_range
    assert amt.describe() == "DL2: 7.5×10^6 cells (3×10^5 cells/kg × 25 kg)"


def test_mg_per_kg_needs_a_weight() -> None:
    dl = DoseLevel("DL1", Amount("mg/kg", value=0.5))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="weight_kg: dose DL1 is dosed per kg"):
        dl.for_patient()
    assert dl.for_patient(weight_kg=70).low == pytest.approx(35.0)


def test_absolute_cell_range_is_kept_per_patient() -> None:
    f01 = DoseLevel("F01", Amount(DoseUnit.CELLS, low=0.5e9, high=3e9))
    amt = f01.for_patient(weight_kg=80)  # weight is irrelevant for an absolute dose
    assert (amt.low, amt.high) == (0.5e9, 3e9)
    assert amt.is_range
    assert f01.amount.describe() == "5×10^8–3×10^9 cells"


def test_per_m2_needs_bsa_and_unit_must_be_stated() -> None:
    dl = DoseLevel("X", Amount(DoseUnit.MG_PER_M2, value=25))
    with pytest.raises(InputError, match="bsa_m2"):
        dl.for_patient(weight_kg=70)
    assert dl.for_patient(bsa_m2=1.8).low == pytest.approx(45.0)
    unknown = DoseLevel("DL1", Amount(None, placeholder="low dose"))
    with pytest.raises(InputError, match="placeholder"):
        unknown.for_patient(weight_kg=70)
    nounit = DoseLevel("DL1", Amount(None, value=1.0))
    with pytest.raises(InputError, match="no unit stated"):
        nounit.for_patient(weight_kg=70)
    assert "(unit not stated)" in nounit.describe()


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"value": 1.0, "placeholder": "A"},
        {"value": 1.0, "low": 1.0, "high": 2.0},
        {"low": 1.0},
        {"low": 3.0, "high": 2.0},
        {"value": -1.0},
        {"value": float("nan")},
        {"placeholder": "  "},
    ],
)
def test_amount_needs_exactly_one_valid_form(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        Amount(DoseUnit.MG, **kwargs)  # type: ignore[arg-type]


def test_unit_parsing() -> None:
    assert DoseUnit.parse("mg/m²") is DoseUnit.MG_PER_M2
    assert DoseUnit.parse(" mg/m^2 ") is DoseUnit.MG_PER_M2
    assert DoseUnit.parse("Cells/kg") is DoseUnit.CELLS_PER_KG
    with pytest.raises(InputError, match="unknown unit 'mg/lb'; allowed: mg/kg"):
        DoseUnit.parse("mg/lb")
    assert DoseUnit.MG_PER_M2.display == "mg/m²"
    assert DoseUnit.CELLS.per is None and DoseUnit.MG.total_unit == "mg"


def test_dose_level_needs_label_and_note_when_flagged() -> None:
    with pytest.raises(InputError, match="label"):
        DoseLevel(" ", Amount(DoseUnit.MG, value=1.0))
    with pytest.raises(InputError, match="review_note"):
        DoseLevel("DL1", Amount(DoseUnit.MG, value=1.0), needs_review=True)
    flagged = DoseLevel("DL1", Amount(DoseUnit.MG, value=1.0), needs_review=True, review_note="x")
    assert "REVIEW: x" in flagged.describe()
    assert flagged.to_dict()["amount"] == {"unit": "mg", "value": 1.0}


def seed001_regimen() -> LymphodepletionRegimen:
    return LymphodepletionRegimen(
        (
            LymphodepletionAgent("fludarabine", 25, 30, DoseUnit.MG_PER_M2, (-5, -4, -3)),
            LymphodepletionAgent("cyclophosphamide", 250, 300, DoseUnit.MG_PER_M2, (-3, -5, -4)),
        )
    )


def test_lymphodepletion_per_patient_spec_example() -> None:
    # spec clinical.md §4.5: BSA 1.5635 m²: Flu 25 mg/m² -> 39.1 mg/day, 117.3 mg in total;
    # Cy 250 mg/m² -> 390.9 mg/day
    flu, cy = seed001_regimen().for_patient(bsa_m2=1.5635)
    assert flu.daily_low == pytest.approx(39.0875)
    assert flu.total_low == pytest.approx(117.2625)
    assert flu.daily_high == pytest.approx(46.905)
    assert cy.daily_low == pytest.approx(390.875)
    assert cy.days == (-5, -4, -3)
    assert "39.1–46.9 mg per day on day −5 to day −3 (3 days), total 117–141 mg" in flu.describe()


def test_lymphodepletion_text_and_validation() -> None:
    reg = seed001_regimen()
    assert reg.days == (-5, -4, -3)
    text = reg.describe()
    assert "fludarabine 25–30 mg/m² per day on day −5 to day −3 (3 days)" in text
    assert "cyclophosphamide 250–300 mg/m²" in text
    with pytest.raises(InputError, match="bsa_m2"):
        reg.for_patient(weight_kg=70)
    with pytest.raises(InputError, match="repeated day"):
        LymphodepletionAgent("flu", 25, 30, DoseUnit.MG_PER_M2, (-5, -5))
    with pytest.raises(InputError, match="dosed in mg"):
        LymphodepletionAgent("flu", 25, 30, DoseUnit.CELLS, (-5,))
    with pytest.raises(InputError, match="listed twice"):
        LymphodepletionRegimen((reg.agents[0], reg.agents[0]))


@pytest.mark.parametrize(
    ("x", "text"),
    [(7.5e6, "7.5×10^6"), (0.5e9, "5×10^8"), (39.0875, "39.1"), (1e5, "1×10^5"), (250, "250")],
)
def test_format_number(x: float, text: str) -> None:
    assert format_number(x) == text
