"""The five seed trials as shipped protocols: each loads, validates, and its rules read back as
text match the registry record (issue #4).  Their simulation is tested in
test_shipped_simulate.py.

Key facts per seed (seed files in /work/shared/seeds, provenance in each YAML file):

* 000 NCT07143617 STR-P004: TITE-BOIN12; DL-1 A mg/kg (backup), DL1 B mg/kg (start), DL2 C mg/kg;
  fallback to DL-1 on >= 1 DLT in the first 3 at DL1; SLE-ITP drives; 39 participants.
* 001 F01 CAR-NK: 0.5-3×10^9 CAR+ NK cells; Flu 25-30 mg/m², Cy 250-300 mg/m², D-5..D-3.
* 002 TCR-T: lost '≥' signs; PK every 3 days in month 1 then monthly to month 12; efficacy at
  months 1, 3, 6, 9, 12.
* 003 STEAM: 1, 3, 5 ×10^5 cells/kg from the lowest dose; ages 5-18.
* 004 NCT06801119 HN2301: three dose groups from the low dose, amounts not stated; 9 participants.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from doseladder.core.errors import InputError
from doseladder.core.rules import EnrolStatus, recommend
from doseladder.core.schedule import expand
from doseladder.core.state import Patient, TrialState
from doseladder.protocols import Protocol, list_protocols, load_shipped

NAMES = [
    "str-p004-nct07143617",
    "f01-car-nk-snc103",
    "tcr-t-cd19-bcma-sle-wuhan-union",
    "steam-cd19-car-t-csle",
    "hn2301-nct06801119",
]
SEEDS = Path("/work/shared/seeds")


def test_five_protocols_are_shipped() -> None:
    assert sorted(list_protocols()) == sorted(NAMES)


@pytest.fixture(scope="module", params=NAMES)
def protocol(request: pytest.FixtureRequest) -> Protocol:
    return load_shipped(request.param)


def test_loads_validates_and_renders(protocol: Protocol) -> None:
    text = protocol.describe()
    rules = protocol.rules_text()
    assert protocol.title in text
    assert rules in text
    assert "Escalation rules:" in rules
    for d in protocol.doses:
        assert d.label in rules
    assert protocol.plan.describe() in rules
    assert protocol.flagged(), "every seed has something to review"
    assert all(note for _, note in protocol.flagged())
    seed = protocol.provenance["seed_file"]
    assert re.fullmatch(r"00[0-4]_[0-9a-f]{16}\.txt", seed)
    assert seed in text
    # every criterion has an id, a category and its source text
    assert protocol.criteria
    assert len({c.id for c in protocol.criteria}) == len(protocol.criteria)


def test_criteria_are_verbatim_from_the_seed_record(protocol: Protocol) -> None:
    path = SEEDS / str(protocol.provenance["seed_file"])
    if not path.is_file():
        pytest.skip("seed records not available")
    record = path.read_text(encoding="utf-8")
    for c in protocol.criteria:
        assert c.source_text in record, c.id
    for d in protocol.doses:
        if d.source_text:
            assert d.source_text in record, d.label


# ------------------------------------------------------------------------------ seed 000
def test_seed000_rules_match_the_registry() -> None:
    p = load_shipped("str-p004-nct07143617")
    rules = p.rules_text()
    for fact in (
        "DL-1: A mg/kg (placeholder, not yet set) [backup dose reduction level]",
        "DL1: B mg/kg (placeholder, not yet set) [starting dose]",
        "DL2: C mg/kg (placeholder, not yet set)",
        "TITE-BOIN12",
        "the trial starts at DL1; DL-1 is a backup dose reduction level",
        "If one or more DLTs occur in the first 3 subjects enrolled at DL1",
        "falls back to DL-1",
        "continues with TITE-BOIN12 starting from DL-1",
        "only the data of SLE-ITP subjects drive dose escalation",
        "final dose selection",
        "enrolled only at a dose confirmed safe in the SLE-ITP cohort",
        "the toxicity decision is not to de-escalate",
        "DLT assessment window: 28 days",
        "efficacy assessment window: 90 days",
        "At most 39 subjects are enrolled in total",
    ):
        assert fact in rules, fact
    plan = p.plan
    assert plan.driving_indication == "SLE-ITP"
    assert plan.fallback is not None
    assert (plan.fallback.run_in_dose, plan.fallback.backup_dose) == (2, 1)
    assert (plan.fallback.first_k, plan.fallback.min_dlts) == (3, 1)
    assert plan.design.name == "tite-boin12" and plan.design.start_dose == 2
    with pytest.raises(InputError) as err:
        p.dose("DL1").for_patient(weight_kg=60)
    assert "dose DL1 amount is a placeholder 'B' not yet set" in str(err.value)


def test_seed000_flags_the_known_problems() -> None:
    p = load_shipped("str-p004-nct07143617")
    flagged = {c.id for c in p.criteria if c.needs_review}
    assert {"000-INC-03.1", "000-INC-03.2", "000-INC-IIM.1", "000-EXC-16"} <= flagged
    assert "probable" in p.criterion("000-INC-IIM.1").review_note  # type: ignore[operator]
    assert all(d.needs_review for d in p.doses)
    assert p.windows.needs_review
    assert {r.about for r in p.review} >= {"design", "rules.fallback", "rules.other_indications"}


def test_seed000_recommendation_from_a_hand_built_history() -> None:
    p = load_shipped("str-p004-nct07143617")
    hist = TrialState(
        3,
        (
            Patient(dose=2, entry_time=0, tox=True, tox_time=9, eff=None, indication="SLE-ITP"),
            Patient(dose=2, entry_time=2, tox=None, eff=None, indication="SLE-ITP"),
            Patient(dose=2, entry_time=4, tox=None, eff=None, indication="SLE-ITP"),
        ),
    )
    rec = recommend(p.plan, hist, now=10.0)
    assert (rec.driving.status, rec.driving.dose_label) == (EnrolStatus.ENROL, "DL-1")
    assert rec.for_indication("IIM").status is EnrolStatus.WAIT


# ------------------------------------------------------------------------------ seed 001
def test_seed001_doses_and_lymphodepletion() -> None:
    p = load_shipped("f01-car-nk-snc103")
    rules = p.rules_text()
    assert "F01: 5×10^8–3×10^9 cells" in rules
    assert "fludarabine 25–30 mg/m² per day on day −5 to day −3 (3 days)" in rules
    assert "cyclophosphamide 250–300 mg/m² per day on day −5 to day −3 (3 days)" in rules
    amt = p.dose("F01").for_patient(weight_kg=70)
    assert (amt.low, amt.high, amt.unit) == (0.5e9, 3e9, "cells")
    assert p.lymphodepletion is not None
    flu, cy = p.lymphodepletion.for_patient(bsa_m2=1.8)
    assert (flu.daily_low, flu.daily_high) == pytest.approx((45.0, 54.0))
    assert cy.total_high == pytest.approx(1620.0)
    assert p.plan.driving_indication is None
    assert [i.id for i in p.indications] == ["SLE", "AAV", "IIM", "dcSSc"]
    assert "Their data are pooled" in rules
    visits = expand(p.schedule, date(2024, 3, 10))
    assert [(v.assessment, v.day) for v in visits[:3]] == [
        ("lymphodepletion", -5),
        ("lymphodepletion", -4),
        ("lymphodepletion", -3),
    ]


# ------------------------------------------------------------------------------ seed 002
def test_seed002_lost_signs_are_flagged_never_read_as_equality() -> None:
    p = load_shipped("tcr-t-cd19-bcma-sle-wuhan-union")
    for cid in ("002-INC-04", "002-EXC-01", "002-EXC-24", "002-EXC-25"):
        c = p.criterion(cid)
        assert c.needs_review and "'≥'" in (c.review_note or ""), cid
        assert "=" in c.source_text  # the source text is kept as it is
    assert "SELENA-SLEDAI score = 6 points; PGA = 1 points" in p.criterion("002-INC-04").source_text
    assert any("0-72" in r.note for r in p.review)


def test_seed002_schedule_expands_to_dated_visits() -> None:
    p = load_shipped("tcr-t-cd19-bcma-sle-wuhan-union")
    day0 = date(2025, 1, 10)
    visits = expand(p.schedule, day0)
    pk = [v.day for v in visits if v.assessment == "pk"]
    assert pk == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30, *range(60, 361, 30)]
    eff = [v for v in visits if v.assessment == "efficacy"]
    assert [v.label for v in eff] == ["Month 1", "Month 3", "Month 6", "Month 9", "Month 12"]
    assert eff[-1].date == date(2026, 1, 5)
    assert visits[-1].assessment == "end_of_follow_up"
    with pytest.raises(InputError, match="placeholder"):
        p.doses[0].for_patient(weight_kg=60)


# ------------------------------------------------------------------------------ seed 003
def test_seed003_plain_escalation_in_cells_per_kg() -> None:
    p = load_shipped("steam-cd19-car-t-csle")
    rules = p.rules_text()
    for fact in (
        "DL1: 1×10^5 cells/kg",
        "DL2: 3×10^5 cells/kg",
        "DL3: 5×10^5 cells/kg",
        "3+3 design",
        "Dose finding starts at DL1",
    ):
        assert fact in rules, fact
    assert p.plan.design.name == "3+3" and p.plan.design.start_dose == 1
    amt = p.dose("DL2").for_patient(weight_kg=25)
    assert amt.low == 7.5e6 and amt.unit == "cells"
    assert "aspartate aminotransferase" in (p.criterion("003-INC-04").review_note or "")
    assert p.population["min_age_years"] == 5
    rec = recommend(p.plan, TrialState(3))
    assert (rec.driving.status, rec.driving.dose_label) == (EnrolStatus.ENROL, "DL1")


# ------------------------------------------------------------------------------ seed 004
def test_seed004_three_symbolic_levels_from_the_lowest() -> None:
    p = load_shipped("hn2301-nct06801119")
    rules = p.rules_text()
    assert "3+3 design" in rules and "Dose finding starts at DL1" in rules
    assert "At most 9 subjects are enrolled in total" in rules
    assert p.identifiers["nct_id"] == "NCT06801119"
    assert all(d.amount.placeholder for d in p.doses)
    assert all(d.amount.unit is None for d in p.doses)
    with pytest.raises(InputError, match="placeholder"):
        p.dose("DL3").for_patient(weight_kg=60)
