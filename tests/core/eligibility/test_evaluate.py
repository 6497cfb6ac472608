"""Leaf evaluation: exact boundaries (≥ vs >), units, ULN multiples, missing data, windows."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.eligibility.record import (
    Attestation,
    BilagRecord,
    ClassificationRecord,
    ConditionRecord,
    EventRecord,
    MedicationRecord,
    Observation,
    ScoreRecord,
    SerologyResult,
    SledaiRecord,
)
from doseladder.core.eligibility.status import Status
from tests.core.eligibility.helpers import SCREEN, med, obs, q, record, run

M, N, E, R = Status.MET, Status.NOT_MET, Status.NOT_EVALUABLE, Status.NEEDS_REVIEW
D = date(2025, 5, 28)


def anc(value: object, unit: str = "10^9/L") -> Status:
    rec = record(observations=(obs("neutrophils", value, unit),))
    return run({"measure": "neutrophils", "op": ">=", "value": 1.5, "unit": "10^9/L"}, rec).status


# ----------------------------------------------------------------------------- thresholds
def test_ge_at_above_below() -> None:
    assert anc("1.5") is M
    assert anc("1.51") is M
    assert anc("1.49") is N
    assert anc(1500, "/µL") is M  # 1500/µL = 1.5×10⁹/L exactly
    assert anc(1499, "/uL") is N
    assert anc("1.5", "10*3/uL") is M


def test_strict_vs_non_strict_at_the_threshold() -> None:
    rec = record(observations=(obs("ck", 300, "U/L", uln=200),))
    assert run({"measure": "ck", "op": ">", "uln": 1.5}, rec).status is N  # 300 = 1.5 × 200
    assert run({"measure": "ck", "op": ">=", "uln": 1.5}, rec).status is M
    rec = record(observations=(obs("creatinine", "221", "µmol/L"),))  # = 2.5 mg/dL exactly
    assert run({"measure": "creatinine", "op": ">", "value": 2.5, "unit": "mg/dL"}, rec).status is N
    assert (
        run({"measure": "creatinine", "op": ">=", "value": 2.5, "unit": "mg/dL"}, rec).status is M
    )
    rec = record(observations=(obs("creatinine", "221.1", "µmol/L"),))
    assert run({"measure": "creatinine", "op": ">", "value": 2.5, "unit": "mg/dL"}, rec).status is M


def test_uln_multiples_are_exact_where_floats_are_not() -> None:
    # 3.0 × 1.1 = 3.3000000000000003 in binary floating point; exactly 3.3 here
    assert 3.3 < 3.0 * 1.1
    rec = record(observations=(obs("bilirubin", "3.3", "mg/dL", uln="1.1"),))
    assert run({"measure": "bilirubin", "op": "<", "uln": 3.0}, rec).status is N
    assert run({"measure": "bilirubin", "op": "<=", "uln": 3.0}, rec).status is M
    rec = record(observations=(obs("alt", 100, "U/L", uln=40),))
    assert run({"measure": "alt", "op": "<=", "uln": 2.5}, rec).status is M
    rec = record(observations=(obs("alt", "100.01", "U/L", uln=40),))
    assert run({"measure": "alt", "op": "<=", "uln": 2.5}, rec).status is N


def test_units_convert_exactly() -> None:
    # bilirubin 2.0 mg/dL = 34.2 µmol/L (17.1 µmol/L per mg/dL)
    for value, expect in (("34.2", N), ("34.19", M)):
        rec = record(observations=(obs("bilirubin", value, "µmol/L"),))
        node = {"measure": "bilirubin", "op": "<", "value": 2.0, "unit": "mg/dL"}
        assert run(node, rec).status is expect
    for value, expect in (("8.0", M), ("7.99", N)):
        rec = record(observations=(obs("hemoglobin", value, "g/dL"),))
        node = {"measure": "hemoglobin", "op": ">=", "value": 80, "unit": "g/L"}
        assert run(node, rec).status is expect
    # an ALT in µkat/L: 100 U/L = 5/3 µkat/L
    rec = record(observations=(obs("alt", Fraction(5, 3), "µkat/L", uln=Fraction(2, 3)),))
    assert run({"measure": "alt", "op": "<=", "uln": 2.5}, rec).status is M


def test_unit_without_exact_conversion_is_not_evaluable() -> None:
    rec = record(observations=(obs("hemoglobin", "5.0", "mmol/L"),))
    res = run({"measure": "hemoglobin", "op": ">=", "value": 80, "unit": "g/L"}, rec)
    assert res.status is E
    assert "no exact unit conversion" in res.reasons[0]
    assert res.missing == ("hemoglobin in a unit convertible to g/L",)


# ------------------------------------------------------------------------- missing / windows
def test_missing_value_or_limit_is_not_evaluable() -> None:
    res = run({"measure": "alt", "op": "<=", "uln": 2.5}, record())
    assert res.status is E and res.missing == ("alt within the 28-day screening look-back",)
    res = run(
        {"measure": "alt", "op": "<=", "uln": 2.5}, record(observations=(obs("alt", 30, "U/L"),))
    )
    assert res.status is E and res.missing == ("ULN of alt",)


def test_lookback_boundary_and_latest_value() -> None:
    start = SCREEN - timedelta(days=28)
    node = {"measure": "neutrophils", "op": ">=", "value": 1.5, "unit": "10^9/L"}
    assert run(node, record(observations=(obs("neutrophils", 2, "10^9/L", start),))).status is M
    old = obs("neutrophils", 2, "10^9/L", start - timedelta(days=1))
    res = run(node, record(observations=(old,)))
    assert res.status is E and "before the window start" in res.reasons[0]
    later = obs("neutrophils", 2, "10^9/L", SCREEN + timedelta(days=1))
    assert run(node, record(observations=(later,))).status is E
    # the latest value in the window decides
    rec = record(
        observations=(
            obs("neutrophils", 1, "10^9/L", D - timedelta(days=3)),
            obs("neutrophils", 2, "10^9/L", D),
        )
    )
    assert run(node, rec).status is M
    # explicit window and the lookback option
    assert run({**node, "within": {"days": 2}}, rec).status is E
    assert run(node, rec, lookback_days=3).status is E


def test_conflicting_results_on_one_day_need_review() -> None:
    rec = record(observations=(obs("neutrophils", 1, "10^9/L"), obs("neutrophils", 2, "10^9/L")))
    res = run({"measure": "neutrophils", "op": ">=", "value": 1.5, "unit": "10^9/L"}, rec)
    assert res.status is R


def test_any_value_in_a_history_window() -> None:
    node = {
        "measure": "urine_protein_24h",
        "op": ">",
        "value": 6,
        "unit": "g/24h",
        "which": "any",
        "within": {"weeks": 8},
    }
    high = obs("urine_protein_24h", 6500, "mg/24h", SCREEN - timedelta(weeks=8))
    low = obs("urine_protein_24h", 3, "g/24h", D)
    assert run(node, record(observations=(high, low))).status is M
    at = obs("urine_protein_24h", 6, "g/24h", D)
    assert run(node, record(observations=(at, low))).status is N
    outside = obs("urine_protein_24h", 7, "g/24h", SCREEN - timedelta(weeks=8, days=1))
    assert run(node, record(observations=(outside,))).status is E


def test_lln() -> None:
    rec = record(observations=(obs("c3", "0.9", "g/L", lln="0.9"),))
    assert run({"measure": "c3", "op": "<", "lln": 1}, rec).status is N
    mixed = Observation("c3", q("c3", "0.89", "g/L"), D, lln=q("c3", 90, "mg/dL"))
    assert run({"measure": "c3", "op": "<", "lln": 1}, record(observations=(mixed,))).status is M
    rec = record(observations=(obs("c3", "89", "mg/dL", lln=90),))
    assert run({"measure": "c3", "op": "<", "lln": 1}, rec).status is M


# ------------------------------------------------------------------------------- demographics
def test_age_on_the_birthday() -> None:
    node18 = {"age": ">=", "years": 18}
    rec = record(birth_earliest=date(2007, 6, 2), birth_latest=date(2007, 6, 2))
    assert run(node18, rec).status is M
    rec = record(birth_earliest=date(2007, 6, 3), birth_latest=date(2007, 6, 3))
    assert run(node18, rec).status is N
    node69 = {"age": "<=", "years": 69}
    rec = record(birth_earliest=date(1955, 6, 3), birth_latest=date(1955, 6, 3))
    assert run(node69, rec).status is M  # 69 until the day before the 70th birthday
    rec = record(birth_earliest=date(1955, 6, 2), birth_latest=date(1955, 6, 2))
    assert run(node69, rec).status is N
    assert (
        run(
            {"age": ">", "years": 18}, record(age_years=18, birth_earliest=None, birth_latest=None)
        ).status
        is N
    )


def test_age_partial_birth_date_and_consent() -> None:
    rec = record(birth_earliest=date(2007, 1, 1), birth_latest=date(2007, 12, 31))
    res = run({"age": ">=", "years": 18}, rec)
    assert res.status is E and "partial birth date" in res.reasons[0]
    assert run({"age": ">=", "years": 17}, rec).status is M
    rec = record(
        birth_earliest=date(2007, 6, 2),
        birth_latest=date(2007, 6, 2),
        consent_date=date(2025, 6, 1),
    )
    assert run({"age": ">=", "years": 18, "at": "consent"}, rec).status is N
    assert run({"age": ">=", "years": 18}, rec).status is M
    assert (
        run({"age": ">=", "years": 18}, record(birth_earliest=None, birth_latest=None)).status is E
    )


def test_sex_and_indication() -> None:
    assert run({"sex": "female"}, record()).status is M
    assert run({"sex": "male"}, record()).status is N
    assert run({"sex": "male"}, record(sex=None)).status is E
    assert run({"indication": ["SLE"]}, record(), indication="SLE").status is M
    assert run({"indication": ["IIM"]}, record(), indication="SLE").status is N
    assert run({"indication": ["IIM"]}, record()).status is E


# ---------------------------------------------------------------------------------- calculations
def test_cockcroft_gault_exact_boundary() -> None:
    node = {"calc": "crcl_cockcroft_gault", "op": ">=", "value": 50, "unit": "mL/min"}
    born = date(1985, 6, 2)  # 40 on the screening date

    def rec(scr: str, weight: str = "36") -> object:
        return record(
            sex="male",
            birth_earliest=born,
            birth_latest=born,
            observations=(obs("creatinine", scr, "mg/dL"), obs("weight", weight, "kg")),
        )

    assert run(node, rec("1.0")).status is M  # (140 − 40) × 36 / 72 = 50 exactly
    assert run(node, rec("1.01")).status is N
    res = run(node, record(observations=(obs("creatinine", "1.0", "mg/dL"),)))
    assert res.status is E and any("weight" in m for m in res.missing)
    # µmol/L gives the same answer as mg/dL (one formula path)
    r2 = record(
        sex="male",
        birth_earliest=born,
        birth_latest=born,
        observations=(obs("creatinine", "88.4", "µmol/L"), obs("weight", "36", "kg")),
    )
    assert run(node, r2).status is M


def test_egfr_by_age() -> None:
    node = {"calc": "egfr", "op": ">=", "value": 30, "unit": "mL/min/1.73m²"}
    child = record(
        birth_earliest=date(2015, 1, 1),
        birth_latest=date(2015, 1, 1),
        observations=(obs("creatinine", "0.5", "mg/dL"), obs("height", 100, "cm")),
    )
    res = run(node, child)
    assert res.status is M and "Schwartz" in res.values[-1].name
    no_height = record(
        birth_earliest=date(2015, 1, 1),
        birth_latest=date(2015, 1, 1),
        observations=(obs("creatinine", "0.5", "mg/dL"),),
    )
    assert run(node, no_height).status is E
    adult = record(observations=(obs("creatinine", "3.0", "mg/dL"),))
    res = run(node, adult)
    assert res.status is N and "CKD-EPI" in res.values[-1].name
    reported = record(observations=(obs("egfr_reported", 45, "mL/min/{1.73_m2}"),))
    assert run(node, reported).status is M


# ------------------------------------------------------------------------------------ scores
def test_reported_scores() -> None:
    node = {"score": "sledai_2k", "op": ">=", "value": 8}
    for v, expect in ((8, M), (7, N), (12, M)):
        rec = record(scores=(ScoreRecord("sledai_2k", Fraction(v), D),))
        assert run(node, rec).status is expect
    rec = record(scores=(ScoreRecord("haq_di", Fraction(1, 4), D),))
    assert run({"score": "haq_di", "op": ">=", "value": 0.25}, rec).status is M
    assert run(node, record()).status is E


def test_sledai_from_descriptors() -> None:
    node = {"score": "sledai_2k", "op": ">=", "value": 8}
    full = SledaiRecord(D, {"arthritis": True, "rash": True, "dsdna": True}, rest_absent=True)
    assert run(node, record(sledai=(full,))).status is M  # 4 + 2 + 2 = 8
    partial = SledaiRecord(D, {"arthritis": True, "rash": True})  # others unknown
    assert run(node, record(sledai=(partial,))).status is E
    enough = SledaiRecord(D, {"seizure": True})  # 8 points known
    assert run(node, record(sledai=(enough,))).status is M
    assert run({"score": "sledai_2k", "op": "<", "value": 8}, record(sledai=(full,))).status is N


def test_seed004_sledai_rule() -> None:
    node = {"sledai_total_and_clinical": {"total_min": 6, "clinical_min": 4}}

    def scores(total: int, clinical: int | None = None) -> object:
        s = [ScoreRecord("sledai_2k", Fraction(total), D)]
        if clinical is not None:
            s.append(ScoreRecord("clinical_sledai_2k", Fraction(clinical), D))
        return record(scores=tuple(s))

    assert run(node, scores(6, 6)).status is M  # no serology scored
    assert run(node, scores(6, 4)).status is M  # serology 2, clinical 4 ≥ 4
    assert run(node, scores(6, 2)).status is N  # serology 4, clinical 2 < 4
    assert run(node, scores(5, 5)).status is N
    assert run(node, scores(6)).status is E
    assert run(node, scores(8)).status is M  # clinical ≥ 8 − 4 = 4 whatever the serology
    sero_only = SledaiRecord(
        D, {"low_complement": True, "dsdna": True, "rash": True}, rest_absent=True
    )
    assert run(node, record(sledai=(sero_only,))).status is N  # 6 total, clinical 2


def test_bilag() -> None:
    node = {"bilag_a_or_b": {"min_a": 1, "min_b": 2}}
    all_d = dict.fromkeys(
        (
            "constitutional",
            "mucocutaneous",
            "neuropsychiatric",
            "musculoskeletal",
            "cardiorespiratory",
            "gastrointestinal",
            "ophthalmic",
            "renal",
            "haematological",
        ),
        "D",
    )
    assert run(node, record(bilag=(BilagRecord(D, {**all_d, "renal": "A"}),))).status is M
    assert run(node, record(bilag=(BilagRecord(D, {**all_d, "renal": "B"}),))).status is N
    two_b = {**all_d, "renal": "B", "musculoskeletal": "B"}
    assert run(node, record(bilag=(BilagRecord(D, two_b),))).status is M
    partial = {"renal": "B"}
    assert run(node, record(bilag=(BilagRecord(D, partial),))).status is E


def test_classifications() -> None:
    node = {"classification": "eular_acr_2019_sle"}
    c = ClassificationRecord(
        "eular_acr_2019_sle",
        criteria={"joint_involvement": True, "anti_dsdna": True},
        rest_absent=True,
        ana_ge_1_80=True,
    )
    assert run(node, record(classifications=(c,))).status is M
    c = ClassificationRecord(
        "eular_acr_2019_sle",
        criteria={"joint_involvement": True},
        rest_absent=True,
        ana_ge_1_80=True,
    )
    assert run(node, record(classifications=(c,))).status is N
    assert (
        run(
            node, record(classifications=(ClassificationRecord("eular_acr_2019_sle", met=True),))
        ).status
        is M
    )
    assert run(node, record()).status is E
    iim = {"classification": "iim_2017", "min_category": "probable"}
    for score, biopsy, expect in (
        ("5.5", False, M),
        ("5.4", False, N),
        ("6.7", True, M),
        ("6.6", True, N),
    ):
        rec = record(
            classifications=(
                ClassificationRecord("iim_2017", score=Fraction(score), muscle_biopsy=biopsy),
            )
        )
        assert run(iim, rec).status is expect, (score, biopsy)
    either = {"classification": "eular_2019_or_acr_1997_sle"}
    acr = ClassificationRecord("acr_1997_sle", met=True)
    assert run(either, record(classifications=(acr,))).status is M


def test_serology() -> None:
    ana = SerologyResult("ana", True, D, titer=80)
    assert run({"serology": "ana"}, record(serology=(ana,))).status is M
    assert run({"serology": "ana", "min_titer": 80}, record(serology=(ana,))).status is M
    assert run({"serology": "ana", "min_titer": 160}, record(serology=(ana,))).status is N
    neg = SerologyResult("hbsag", False, D)
    assert run({"serology": "hbsag"}, record(serology=(neg,))).status is N
    assert run({"serology": "hbsag", "result": "negative"}, record(serology=(neg,))).status is M
    assert run({"serology": "hbsag"}, record()).status is E
    ind = SerologyResult("hbsag", None, D)
    assert run({"serology": "hbsag"}, record(serology=(ind,))).status is E


def test_itp_entry() -> None:
    node = {"itp_platelet_entry": {"below": 50, "consecutive": 2}}
    counts = [(60, 1), (49, 2), (48, 3)]
    rec = record(
        observations=tuple(obs("platelets", v, "10^9/L", D - timedelta(days=d)) for v, d in counts)
    )
    assert run(node, rec).status is M
    counts = [(49, 1), (50, 2), (48, 3)]  # 50 is not < 50
    rec = record(
        observations=tuple(obs("platelets", v, "10^9/L", D - timedelta(days=d)) for v, d in counts)
    )
    assert run(node, rec).status is N


# ----------------------------------------------------------------------------------- history
def test_washout_windows_at_exact_day_boundaries() -> None:
    two_weeks = {"received": {"drugs": ["belimumab"]}, "within": {"weeks": 2}}
    edge = SCREEN - timedelta(days=14)
    last = med("belimumab", edge - timedelta(days=30), edge)
    assert run(two_weeks, record(medications=(last,))).status is M  # day 14: inside
    last = med("belimumab", edge - timedelta(days=30), edge - timedelta(days=1))
    rec = record(medications=(last,), history_complete=frozenset({"medications"}))
    assert run(two_weeks, rec).status is N  # day 15: outside
    rec = record(medications=(last,))
    assert run(two_weeks, rec).status is E  # history not declared complete
    one_month = {"received": {"classes": ["b_cell_targeted"]}, "within": {"months": 1}}
    rtx = med("rituximab", date(2025, 5, 2), date(2025, 5, 2))  # 2025-06-02 − 1 month
    assert run(one_month, record(medications=(rtx,))).status is M
    rtx = med("rituximab", date(2025, 5, 1), date(2025, 5, 1))
    rec = record(medications=(rtx,), history_complete=frozenset({"medications"}))
    assert run(one_month, rec).status is N


def test_exposure_periods() -> None:
    node = {"received": {"classes": ["jak_inhibitor"]}, "within": {"weeks": 12}}
    ongoing = med("tofacitinib", date(2024, 1, 1), ongoing=True)
    assert run(node, record(medications=(ongoing,))).status is M
    unknown_end = med("tofacitinib", date(2024, 1, 1))
    assert run(node, record(medications=(unknown_end,))).status is E
    started_in_window = med("baricitinib", SCREEN - timedelta(days=3))
    assert run(node, record(medications=(started_in_window,))).status is M
    future = med("baricitinib", SCREEN + timedelta(days=3))
    rec = record(medications=(future,), history_complete=frozenset({"medications"}))
    assert run(node, rec).status is N
    ever = {"received": {"classes": ["car_t"]}}
    assert run(ever, record(events=(EventRecord("car_t", date(2020, 1, 1)),))).status is M
    explicit = MedicationRecord("belimumab", "belimumab", frozenset(), not_taken=True)
    two_weeks = {"received": {"drugs": ["belimumab"]}, "within": {"weeks": 2}}
    assert run(two_weeks, record(medications=(explicit,))).status is N


def test_routes_and_vaccines() -> None:
    node = {
        "received": {"classes": ["glucocorticoid"]},
        "routes": ["intravenous", "intramuscular", "intra-articular"],
        "within": {"weeks": 4},
    }
    oral = med("prednisone", date(2025, 1, 1), ongoing=True, mg_per_day=5, route="oral")
    rec = record(medications=(oral,), history_complete=frozenset({"medications"}))
    assert run(node, rec).status is N
    iv = med("methylprednisolone", D, D, mg_per_day=500, route="intravenous")
    assert run(node, record(medications=(iv,))).status is M
    vaccine = {"received": {"classes": ["live_vaccine"]}, "within": {"weeks": 4}}
    unknown = MedicationRecord(None, "some vaccine", frozenset({"vaccine"}), start=D, end=D)
    rec = record(medications=(unknown,), history_complete=frozenset({"medications"}))
    assert run(vaccine, rec).status is E
    mmr = MedicationRecord(
        "measles-mumps-rubella vaccine",
        "MMR",
        frozenset({"vaccine", "live_vaccine"}),
        start=D,
        end=D,
    )
    assert run(vaccine, record(medications=(mmr,))).status is M


def test_events_and_diagnoses() -> None:
    node = {"event": ["dialysis", "plasma_exchange"], "within": {"months": 3}}
    assert run(node, record(events=(EventRecord("dialysis", date(2025, 3, 2)),))).status is M
    rec = record(
        events=(EventRecord("dialysis", date(2025, 3, 1)),), history_complete=frozenset({"events"})
    )
    assert run(node, rec).status is N
    since = {"diagnosis": "sle", "since": {"months": 6}}
    on_edge = ConditionRecord("sle", "SLE", onset=date(2024, 12, 2))
    assert run(since, record(conditions=(on_edge,))).status is M
    late = ConditionRecord("sle", "SLE", onset=date(2024, 12, 3))
    assert run(since, record(conditions=(late,))).status is N
    no_onset = ConditionRecord("sle", "SLE")
    assert run(since, record(conditions=(no_onset,))).status is E
    ln = ConditionRecord("lupus_nephritis", "LN", onset=date(2020, 1, 1))
    assert run(since, record(conditions=(ln,))).status is M  # lupus nephritis implies SLE
    assert run({"diagnosis": "asthma"}, record()).status is E
    complete = record(history_complete=frozenset({"conditions"}))
    assert run({"diagnosis": "asthma"}, complete).status is N
    refuted = ConditionRecord("asthma", "asthma", refuted=True)
    assert run({"diagnosis": "asthma"}, record(conditions=(refuted,))).status is N
    within = {"diagnosis": "malignancy", "within": {"years": 5}}
    old = ConditionRecord("malignancy", "BCC", onset=date(2010, 1, 1), abated=date(2010, 3, 1))
    rec = record(conditions=(old,), history_complete=frozenset({"conditions"}))
    assert run(within, rec).status is N


def test_glucocorticoid_totals() -> None:
    le30 = {"glucocorticoid": "<=", "mg_per_day": 30}
    pred = med("prednisone", date(2025, 1, 1), ongoing=True, mg_per_day=10, route="oral")
    mp = med("methylprednisolone", date(2025, 5, 1), ongoing=True, mg_per_day=16, route="oral")
    assert run(le30, record(medications=(pred, mp))).status is M  # 10 + 20 = 30 exactly
    assert (
        run({"glucocorticoid": "<", "mg_per_day": 30}, record(medications=(pred, mp))).status is N
    )
    dexa = med("dexamethasone", date(2025, 5, 1), ongoing=True, mg_per_day="0.75", route="oral")
    assert run(le30, record(medications=(pred, mp, dexa))).status is N  # + 5 = 35
    topical = med("hydrocortisone", date(2025, 5, 1), ongoing=True, mg_per_day=100, route="topical")
    assert run(le30, record(medications=(pred, topical))).status is M  # not systemic
    oral_only = {"glucocorticoid": ">=", "mg_per_day": 7.5, "routes": ["oral"]}
    assert run(oral_only, record(medications=(pred,))).status is M
    assert run(le30, record()).status is E
    assert run(le30, record(history_complete=frozenset({"medications"}))).status is M  # 0 mg
    no_dose = med("prednisone", date(2025, 1, 1), ongoing=True)
    assert run(le30, record(medications=(no_dose,))).status is E
    assert (
        run({"glucocorticoid": ">", "mg_per_day": 5}, record(medications=(pred, no_dose))).status
        is M
    )


def test_glucocorticoid_per_kg_and_runs() -> None:
    per_kg = {"glucocorticoid": ">=", "mg_per_kg_per_day": 1}
    pred = med("prednisone", date(2025, 1, 1), ongoing=True, mg_per_day=30)
    rec = record(medications=(pred,), observations=(obs("weight", 30, "kg"),))
    assert run(per_kg, rec).status is M
    rec = record(medications=(pred,), observations=(obs("weight", "30.1", "kg"),))
    assert run(per_kg, rec).status is N
    assert run(per_kg, record(medications=(pred,))).status is E
    run14 = {"glucocorticoid": ">=", "mg_per_day": 100, "within": {"weeks": 8}, "for_days": 14}
    start = date(2025, 4, 20)
    fourteen = med("prednisone", start, start + timedelta(days=13), mg_per_day=100)
    rec = record(medications=(fourteen,), history_complete=frozenset({"medications"}))
    assert run(run14, rec).status is M
    thirteen = med("prednisone", start, start + timedelta(days=12), mg_per_day=100)
    rec = record(medications=(thirteen,), history_complete=frozenset({"medications"}))
    assert run(run14, rec).status is N
    pulse = {"glucocorticoid": ">=", "mg_per_day": 500, "within": {"months": 1}}
    mp = med("methylprednisolone", date(2025, 5, 2), date(2025, 5, 2), mg_per_day=400)
    rec = record(medications=(mp,), history_complete=frozenset({"medications"}))
    assert run(pulse, rec).status is M  # 400 mg MP = 500 mg prednisone-equivalent


# --------------------------------------------------------------------------------- judgement
def test_attestations() -> None:
    rec = record(attestations={"T-01": Attestation(True), "T-01#consent": Attestation(False)})
    assert run({"attests": True}, rec).status is M
    assert run({"attests": "consent"}, rec).status is N
    res = run({"attests": "other"}, rec)
    assert res.status is E and res.missing == ("attestation T-01#other",)
    assert run({"attests": True}, record(attestations={"T-01": Attestation(None)})).status is E


def test_review_node_is_never_evaluated_as_written() -> None:
    node = {
        "review": "the '≥' sign was lost",
        "reading": {"score": "selena_sledai", "op": ">=", "value": 6},
    }
    for value in (5, 6, 7):
        rec = record(scores=(ScoreRecord("selena_sledai", Fraction(value), D),))
        res = run(node, rec)
        assert res.status is R
        assert res.children[0].informational
        assert res.children[0].status is (N if value < 6 else M)
    # combinations: a decided sibling still decides
    assert run({"any_of": [node, {"sex": "female"}]}, record()).status is M
    assert run({"all_of": [node, {"sex": "male"}]}, record()).status is N
    assert run({"all_of": [node, {"sex": "female"}]}, record()).status is R


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "=="])
def test_every_comparator_at_the_threshold(op: str) -> None:
    rec = record(observations=(obs("lvef", 40, "%"),))
    res = run({"measure": "lvef", "op": op, "value": 40, "unit": "%"}, rec)
    assert res.status is (M if op in ("<=", ">=", "==") else N)


@given(
    st.integers(-400, 30),
    st.integers(0, 200),
    st.integers(0, 120),
)
def test_washout_matches_a_day_by_day_check(start_offset: int, length: int, window: int) -> None:
    """Exposure in ``[screening − window days, screening]`` iff one dosing day lies in it."""
    start = SCREEN + timedelta(days=start_offset)
    end = start + timedelta(days=length)
    node = {"received": {"drugs": ["rituximab"]}, "within": {"days": window}}
    rec = record(
        medications=(med("rituximab", start, end),), history_complete=frozenset({"medications"})
    )
    days = {start + timedelta(days=i) for i in range(length + 1)}
    lo = SCREEN - timedelta(days=window)
    expect = any(lo <= d <= SCREEN for d in days)
    assert run(node, rec).status is (M if expect else N)


def test_undated_records_count_for_ever() -> None:
    undated = MedicationRecord("rituximab", "rituximab", frozenset({"b_cell_targeted"}))
    assert (
        run({"received": {"classes": ["b_cell_targeted"]}}, record(medications=(undated,))).status
        is M
    )
    node = {"received": {"classes": ["b_cell_targeted"]}, "within": {"months": 1}}
    assert run(node, record(medications=(undated,))).status is E
    assert run({"event": "hsct"}, record(events=(EventRecord("hsct", None),))).status is M


@given(
    st.decimals(min_value="0.01", max_value="20", places=2),
    st.decimals(min_value="0.1", max_value="5", places=1),
    st.sampled_from(["<", "<=", ">", ">=", "=="]),
)
def test_comparisons_are_exact_whatever_the_unit(value: object, uln: object, op: str) -> None:
    """A creatinine compared with k × ULN gives the exact rational answer, in mg/dL or in
    µmol/L (× 88.4), never a floating-point one."""
    v, u = Fraction(str(value)), Fraction(str(uln))
    k = Fraction(3, 2)
    exact = {"<": v < k * u, "<=": v <= k * u, ">": v > k * u, ">=": v >= k * u, "==": v == k * u}[
        op
    ]
    node = {"measure": "creatinine", "op": op, "uln": 1.5}
    mg = record(observations=(obs("creatinine", v, "mg/dL", uln=u),))
    umol = record(
        observations=(obs("creatinine", v * Fraction("88.4"), "µmol/L", uln=u * Fraction("88.4")),)
    )
    mixed = record(
        observations=(
            Observation(
                "creatinine",
                q("creatinine", v * Fraction("88.4"), "µmol/L"),
                D,
                uln=q("creatinine", u, "mg/dL"),
            ),
        )
    )
    for rec in (mg, umol, mixed):
        assert run(node, rec).status is (M if exact else N)
