"""The shipped protocols' computable criteria: every criterion has logic or attests; the
known seed errors (spec clinical.md §0.1) are needs_review, never evaluated as written; the
logic schema reports bad keys by path; protocol-level boundaries."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from doseladder.core.eligibility import (
    ClassificationRecord,
    PatientRecord,
    ScoreRecord,
    Status,
    Verdict,
    screen,
)
from doseladder.core.eligibility.logic import Review, walk
from doseladder.core.eligibility.screen import POPULATION_ID
from doseladder.core.errors import InputError
from doseladder.io.patient_record import load_patient_record, load_screening_inputs
from doseladder.protocols import (
    Protocol,
    library_dir,
    list_protocols,
    load_shipped,
    protocol_from_dict,
)
from tests.core.eligibility.helpers import obs, record

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "doseladder" / "examples" / "patients"
SEED000 = library_dir() / "str-p004-nct07143617.yaml"

KNOWN_ERRORS = {
    # spec clinical.md §0 / §0.1 -- the criterion must come out needs_review
    "000-INC-03.1": "'2019 EULAR/1997 ACR': two criteria sets (§0 table)",
    "000-INC-03.2": "ITP response wording vs IWG (§0.1-4)",
    "000-INC-IIM.1": "IIM 'possible/definite' labels are 'probable' (§0.1-3)",
    "001-INC-08": "BVAS v3 'major items' (§0.1-6)",
    "002-INC-04": "lost '≥': SELENA-SLEDAI = 6, PGA = 1 (§0.1-1, §0.1-7)",
    "002-EXC-01": "lost '≥': prednisone = 100 mg/d for =14 days (§0.1-1)",
    "002-EXC-24": "lost '≥': donated blood for = 400 mL (§0.1-1)",
    "002-EXC-25": "lost '≥': =grade 2 bleeding (§0.1-1)",
    "003-INC-04": "'Asparagus cochinchinensis transase (AST)' (§0.1-5)",
}
LOST_SIGN = ("002-INC-04", "002-EXC-01", "002-EXC-24", "002-EXC-25", "003-INC-04", "001-INC-08")


@pytest.fixture(scope="module", params=list_protocols())
def protocol(request: pytest.FixtureRequest) -> Protocol:
    return load_shipped(request.param)


def test_every_criterion_has_logic_or_attests(protocol: Protocol) -> None:
    for c in protocol.criteria:
        assert c.structured in ("logic", "attests"), c.id
        assert (c.logic is None) == c.attests, c.id
        d = c.to_dict()
        assert d["attests"] == c.attests and (d["logic"] is None) == (c.logic is None)
        # review nodes only inside criteria flagged for review
        if c.logic is not None and any(isinstance(n, Review) for n in walk(c.logic)):
            assert c.needs_review, c.id


def test_known_errors_are_flagged_and_marked(protocol: Protocol) -> None:
    ids = {c.id for c in protocol.criteria}
    for cid in KNOWN_ERRORS.keys() & ids:
        c = protocol.criterion(cid)
        assert c.needs_review and c.review_note, cid
        if cid in LOST_SIGN:
            assert c.logic is not None and any(isinstance(n, Review) for n in walk(c.logic)), cid


def _rich_record(indication: str | None) -> PatientRecord:
    """A record that satisfies the suggested readings of the flagged criteria."""
    d = date(2025, 5, 28)
    return record(
        indication=indication,
        observations=(obs("ast", 40, "U/L", uln=40), obs("platelets", 30, "10^9/L")),
        scores=(
            ScoreRecord("selena_sledai", Fraction(6), d),
            ScoreRecord("pga", Fraction(1), d),
        ),
        classifications=(
            ClassificationRecord("iim_2017", score=Fraction("5.5"), muscle_biopsy=False),
            ClassificationRecord("eular_acr_2019_sle", met=True),
        ),
        history_complete=frozenset({"medications", "conditions", "events"}),
    )


@pytest.mark.parametrize("rich", [False, True])
def test_flagged_criteria_always_need_review(protocol: Protocol, rich: bool) -> None:
    for ind in protocol.indications:
        rec = _rich_record(ind.id) if rich else record(indication=ind.id)
        rep = screen(protocol, rec)
        for r in rep.results:
            if r.status is None or r.id == POPULATION_ID:
                continue
            c = protocol.criterion(r.id)
            if c.needs_review:
                assert r.status is Status.NEEDS_REVIEW, r.id
                assert r.suggested is not None
            if r.id in KNOWN_ERRORS:
                assert r.status is Status.NEEDS_REVIEW
        assert rep.verdict is not Verdict.ELIGIBLE


def test_selena_sledai_equal_sign_is_not_read_as_equality() -> None:
    p = load_shipped("tcr-t-cd19-bcma-sle-wuhan-union")
    for value in (5, 6, 7, 12):
        rec = record(scores=(ScoreRecord("selena_sledai", Fraction(value), date(2025, 5, 28)),))
        r = screen(p, rec).result("002-INC-04")
        assert r.status is Status.NEEDS_REVIEW
        assert any("never read as equality" in reason for reason in r.reasons)


def test_iim_cutoffs_are_evaluated_as_probable() -> None:
    p = load_shipped("str-p004-nct07143617")
    rec = record(
        indication="IIM",
        classifications=(
            ClassificationRecord("iim_2017", score=Fraction("5.5"), muscle_biopsy=False),
        ),
    )
    r = screen(p, rec).result("000-INC-IIM.1")
    assert r.status is Status.NEEDS_REVIEW
    assert r.detail is not None
    cls = r.detail.children[0]
    assert cls.status is Status.MET and "probable IIM" in cls.values[0].detail


# --------------------------------------------------------------------------- protocol boundaries
def _status(name: str, cid: str, rec: PatientRecord) -> Status | None:
    return screen(load_shipped(name), rec).result(cid).status


@pytest.mark.parametrize(
    ("born", "expect"),
    [
        (date(2007, 6, 2), Status.MET),  # 18 today
        (date(2007, 6, 3), Status.NOT_MET),  # 18 tomorrow
        (date(1955, 6, 3), Status.MET),  # 69, 70 tomorrow
        (date(1955, 6, 2), Status.NOT_MET),  # 70 today
    ],
)
def test_seed004_age_18_to_69_inclusive(born: date, expect: Status) -> None:
    rec = record(
        birth_earliest=born,
        birth_latest=born,
        classifications=(ClassificationRecord("eular_acr_2019_sle", met=True),),
    )
    assert _status("hn2301-nct06801119", "004-INC-01", rec) is expect


@pytest.mark.parametrize(
    ("born", "expect"),
    [
        (date(2020, 6, 2), Status.MET),  # 5 today
        (date(2020, 6, 3), Status.NOT_MET),
        (date(2006, 6, 3), Status.MET),  # 18, 19 tomorrow: "including threshold"
        (date(2006, 6, 2), Status.NOT_MET),
    ],
)
def test_seed003_age_5_to_18_inclusive(born: date, expect: Status) -> None:
    rec = record(birth_earliest=born, birth_latest=born)
    assert _status("steam-cd19-car-t-csle", "003-INC-01", rec) is expect


@pytest.mark.parametrize(
    ("value", "unit", "expect"),
    [
        ("10", "mg/dL", Status.NOT_MET),
        ("9.99", "mg/dL", Status.MET),
        ("0.1", "g/L", Status.NOT_MET),
        ("99", "mg/L", Status.MET),
    ],
)
def test_seed000_iga_below_10_mg_dl(value: str, unit: str, expect: Status) -> None:
    rec = record(observations=(obs("iga", value, unit),), indication="SLE-other")
    assert _status("str-p004-nct07143617", "000-EXC-07", rec) is expect


@pytest.mark.parametrize(
    ("alt", "expect"),
    [("100", Status.MET), ("100.1", Status.NOT_MET)],
)
def test_seed001_liver_function_at_uln_multiples(alt: str, expect: Status) -> None:
    rec = record(
        indication="SLE",
        observations=(
            obs("alt", alt, "U/L", uln=40),
            obs("ast", 40, "U/L", uln=40),
            obs("bilirubin", "1.8", "mg/dL", uln="1.2"),  # exactly 1.5 × ULN
        ),
    )
    assert _status("f01-car-nk-snc103", "001-INC-27", rec) is expect


def test_seed004_bilirubin_and_gilbert() -> None:
    def rec(value: str, gilbert: bool | None) -> PatientRecord:
        from doseladder.core.eligibility import ConditionRecord

        conditions = (
            ()
            if gilbert is None
            else ((ConditionRecord("gilbert_syndrome", "Gilbert", refuted=not gilbert),))
        )
        return record(observations=(obs("bilirubin", value, "mg/dL"),), conditions=conditions)

    p = load_shipped("hn2301-nct06801119")
    node = p.criterion("004-INC-07").logic
    assert node is not None
    from doseladder.core.eligibility.evaluate import Context, evaluate
    from doseladder.core.eligibility.logic import AllOf

    assert isinstance(node, AllOf)
    bili = node.children[10]
    for value, gilbert, expect in (
        ("1.99", None, Status.MET),
        ("2.0", False, Status.NOT_MET),  # < 2.0 is strict
        ("2.0", None, Status.NOT_EVALUABLE),  # Gilbert unknown decides
        ("2.9", True, Status.MET),
        ("3.0", True, Status.NOT_MET),
    ):
        res = evaluate(bili, Context(rec(value, gilbert), date(2025, 6, 2), "004-INC-07"))
        assert res.status is expect, (value, gilbert)


# ------------------------------------------------------------------------------- the examples
def test_example_patients() -> None:
    p = load_shipped("hn2301-nct06801119")
    ok = screen(p, load_patient_record(EXAMPLES / "hn2301-eligible-sle.json"))
    assert ok.verdict is Verdict.ELIGIBLE
    bad = screen(p, load_patient_record(EXAMPLES / "hn2301-alt-above-2.5-uln.json"))
    assert bad.verdict is Verdict.NOT_ELIGIBLE
    assert [r.id for r in bad.blocking()] == ["004-INC-07"]
    fhir = load_patient_record(EXAMPLES / "hn2301-fhir-bundle.json")
    alone = screen(p, fhir, screening_date=date(2025, 6, 2))
    assert alone.verdict is Verdict.INCOMPLETE
    assert alone.result("004-INC-05").status is Status.MET
    assert alone.result("004-INC-06").status is Status.MET
    full = screen(p, load_screening_inputs(fhir, EXAMPLES / "hn2301-fhir-inputs.json"))
    assert full.verdict is Verdict.ELIGIBLE
    # without the reviews the flagged criteria keep the verdict at needs_review
    data = ok.to_dict()
    assert data["verdict"] == "eligible"
    no_review = replace(load_patient_record(EXAMPLES / "hn2301-eligible-sle.json"), reviews={})
    assert screen(p, no_review).verdict is Verdict.NEEDS_REVIEW


# ------------------------------------------------------------------------------ the schema
@pytest.fixture
def base() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SEED000.read_text(encoding="utf-8"))
    return data


def _err(data: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as err:
        protocol_from_dict(data)
    return err.value


def test_logic_and_attests_together_is_an_error(base: dict[str, Any]) -> None:
    d = copy.deepcopy(base)
    d["criteria"][0]["logic"] = {"sex": "female"}
    e = _err(d)
    assert e.field == "criteria[0]" and "not both" in e.reason


def test_logic_errors_name_the_path(base: dict[str, Any]) -> None:
    d = copy.deepcopy(base)
    d["criteria"][1]["logic"] = {
        "all_of": [
            {"age": ">=", "years": 18},
            {"measure": "alt", "op": "<=", "value": 2, "unit": "kg"},
        ]
    }
    e = _err(d)
    assert e.field == "criteria[1].logic.all_of[1].unit"
    d = copy.deepcopy(base)
    d["criteria"][1]["logic"] = "age >= 18"
    assert _err(d).field == "criteria[1].logic"


@pytest.mark.parametrize(
    ("logic", "reason"),
    [
        ({"criterion": "000-INC-99"}, "unknown criterion"),
        ({"criterion": "000-INC-02"}, "itself"),
        ({"indication": ["SSc"]}, "unknown indication"),
        ({"review": "why"}, "needs_review: true"),
        ({"all_of": [{"attests": "x"}, {"attests": "x"}]}, "used twice"),
    ],
)
def test_cross_criterion_checks(base: dict[str, Any], logic: dict[str, Any], reason: str) -> None:
    d = copy.deepcopy(base)
    d["criteria"][1]["logic"] = logic
    e = _err(d)
    assert e.field == "criteria[1].logic" and reason in e.reason


def test_reference_cycle_is_an_error(base: dict[str, Any]) -> None:
    d = copy.deepcopy(base)
    d["criteria"][1]["logic"] = {"criterion": "000-INC-03"}
    d["criteria"][2]["logic"] = {"criterion": "000-INC-02"}
    assert "cycle" in _err(d).reason


def test_describe_shows_the_rules() -> None:
    text = load_shipped("hn2301-nct06801119").criteria_text()
    assert "RULE: all of: age ≥ 18 years at screening; age ≤ 69 years at screening" in text
    assert "RULE: investigator attests" in text


@pytest.mark.parametrize(
    ("born", "expect"),
    [
        (date(2007, 6, 2), Status.MET),
        (date(2007, 6, 3), Status.NOT_MET),
        (date(1959, 6, 3), Status.MET),  # 65, 66 tomorrow
        (date(1959, 6, 2), Status.NOT_MET),
    ],
)
def test_registry_age_limits_are_checked(born: date, expect: Status) -> None:
    """Seed 001 states its ages (18-65 years) only in the registry fields."""
    rep = screen(load_shipped("f01-car-nk-snc103"), record(birth_earliest=born, birth_latest=born))
    r = rep.result(POPULATION_ID)
    assert r.status is expect and r.category == "inclusion"
    assert r.source_text == "Registry eligibility (population): ages 18 to 65 years"
    if expect is Status.NOT_MET:
        assert rep.verdict is Verdict.NOT_ELIGIBLE
