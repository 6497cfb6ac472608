"""``doseladder grade …``: values checked against the published definitions.

CTCAE v5.0 (NCI, 27 Nov 2017) laboratory cut-offs; ASTCT 2019 consensus (Lee et al., BBMT
2019;25:625) CRS and ICANS tables; SLEDAI-2K weights (Gladman 2002); seed 000 SLE-ITP response
categories.  Bad input: one line ``error: <field>: <reason>``, exit status 2.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from doseladder.cli.main import app

runner = CliRunner()


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, ["grade", *[str(a) for a in args]])
    return result.exit_code, result.stdout, result.stderr


def value(*args: object) -> Any:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    return json.loads(out)["value"]


def error(*args: object) -> tuple[str, str]:
    code, out, err = run(*args)
    assert code == 2, out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    field, reason = lines[0].removeprefix("error: ").split(": ", 1)
    return field, reason


# ----------------------------------------------------------------- CTCAE v5.0 laboratory
@pytest.mark.parametrize(
    ("term", "val", "lln", "grade"),
    [
        # Neutrophil count decreased: <LLN-1.5 / <1.5-1.0 / <1.0-0.5 / <0.5 (10^9/L)
        ("Neutrophil count decreased", "1.6", "1.8", 1),
        ("ANC", "1.2", "1.8", 2),
        ("ANC", "1.0", "1.8", 2),  # exactly 1.0 is not < 1.0
        ("ANC", "0.8", "1.8", 3),
        ("ANC", "0.49", "1.8", 4),
        # Platelet count decreased: <LLN-75 / <75-50 / <50-25 / <25
        ("PLT", "100", "150", 1),
        ("PLT", "74", "150", 2),
        ("PLT", "49", "150", 3),
        ("PLT", "24", "150", 4),
        # Lymphocyte count decreased: <LLN-0.8 / <0.8-0.5 / <0.5-0.2 / <0.2
        ("ALC", "0.6", "1.0", 2),
        ("ALC", "0.19", "1.0", 4),
        # White blood cell decreased: <LLN-3.0 / <3.0-2.0 / <2.0-1.0 / <1.0
        ("WBC", "2.5", "4.0", 2),
    ],
)
def test_ctcae_cytopenias(term: str, val: str, lln: str, grade: int) -> None:
    assert value("ctcae-lab", term, val, "--unit", "10^9/L", "--lln", lln) == grade


def test_ctcae_units_and_increasing_terms() -> None:
    # platelets 24 000 /µL = 24 ×10^9/L < 25 → grade 4
    assert value("ctcae-lab", "platelets", "24000", "--unit", "/uL") == 4
    # Anemia: Hgb <80 g/L → grade 3
    assert value("ctcae-lab", "Anemia", "75", "--unit", "g/L", "--lln", "120") == 3
    # ALT, baseline normal: >3.0-5.0 × ULN → grade 2 (130 U/L, ULN 40: 3.25 × ULN)
    assert value("ctcae-lab", "ALT", "130", "--unit", "U/L", "--uln", "40", "--baseline", "30") == 2
    # ALT >20 × ULN → grade 4
    assert value("ctcae-lab", "ALT", "900", "--unit", "U/L", "--uln", "40", "--baseline", "30") == 4
    # Creatinine >1.5-3.0 × ULN → grade 2 (2.0 mg/dL, ULN 1.2)
    assert (
        value(
            "ctcae-lab", "creatinine", "2.0", "--unit", "mg/dL", "--uln", "1.2", "--baseline", "0.9"
        )
        == 2
    )
    # no baseline above the ULN: not evaluable unless grade_by_uln is asked
    assert value("ctcae-lab", "ALT", "130", "--unit", "U/L", "--uln", "40") is None
    assert (
        value(
            "ctcae-lab",
            "ALT",
            "130",
            "--unit",
            "U/L",
            "--uln",
            "40",
            "--missing-baseline",
            "grade_by_uln",
        )
        == 2
    )


def test_ctcae_lab_text_output() -> None:
    code, out, _ = run("ctcae-lab", "ANC", "0.8", "--unit", "10^9/L")
    assert code == 0
    assert out.splitlines()[0] == "CTCAE v5.0: Neutrophil count decreased: 3"


def test_ctcae_lab_errors() -> None:
    assert error("ctcae-lab", "ANC", "0.8")[0] == "unit"  # a lab value without unit
    assert error("ctcae-lab", "ANC", "0.8", "--unit", "mg/dL")[0] == "unit"
    assert error("ctcae-lab", "ANC", "abc", "--unit", "10^9/L")[0] == "value"
    assert error("ctcae-lab", "Nausea", "1", "--unit", "10^9/L")[0] == "term"
    assert error("ctcae-lab", "Foo", "1", "--unit", "10^9/L")[0] == "term"


# ----------------------------------------------------------------- CTCAE v5.0 non-lab
def test_ctcae_term_catalogue() -> None:
    code, out, _ = run("ctcae")
    assert code == 0 and "Nausea (Gastrointestinal disorders): grades 1, 2, 3" in out
    code, out, _ = run("ctcae", "fever")
    assert "Grade 1: 38.0 - 39.0 degrees C (100.4 - 102.2 degrees F)" in out
    assert value("ctcae", "Vomiting", "--grade", "3") == 3
    field, reason = error("ctcae", "Nausea", "--grade", "4")
    assert field == "grade" and "no grade 4" in reason
    assert error("ctcae", "Bad vibes")[0] == "term"
    assert error("ctcae", "Platelet count decreased", "--grade", "3")[0] == "term"


# ----------------------------------------------------------------- ASTCT 2019 CRS
FEVER = ("--temperature", "38.5", "--no-fever-other-cause")


@pytest.mark.parametrize(
    ("args", "grade"),
    [
        ((*FEVER, "--no-hypotension", "--oxygen", "none"), 1),
        ((*FEVER, "--hypotension", "--oxygen", "none"), 2),
        ((*FEVER, "--no-hypotension", "--oxygen", "nasal_cannula", "--o2-flow", "6"), 2),
        ((*FEVER, "--vasopressor", "norepinephrine", "--oxygen", "none"), 3),
        ((*FEVER, "--no-hypotension", "--oxygen", "nasal_cannula", "--o2-flow", "8"), 3),
        # vasopressin never counts as a second vasopressor
        (
            (
                *FEVER,
                "--vasopressor",
                "norepinephrine",
                "--vasopressor",
                "vasopressin",
                "--oxygen",
                "none",
            ),
            3,
        ),
        (
            (
                *FEVER,
                "--vasopressor",
                "norepinephrine",
                "--vasopressor",
                "epinephrine",
                "--oxygen",
                "none",
            ),
            4,
        ),
        ((*FEVER, "--no-hypotension", "--oxygen", "bipap"), 4),
        # no fever (and no masking therapy): not CRS
        (("--temperature", "37.5", "--hypotension", "--oxygen", "facemask"), 0),
        (
            (
                "--temperature",
                "101.3",
                "--temp-unit",
                "F",
                "--no-fever-other-cause",
                "--no-hypotension",
                "--oxygen",
                "none",
            ),
            1,
        ),
        (
            (
                "--temperature",
                "37",
                "--fever-masked",
                "--vasopressor",
                "norepinephrine",
                "--oxygen",
                "none",
            ),
            3,
        ),
        (("--death",), 5),
    ],
)
def test_crs(args: tuple[str, ...], grade: int) -> None:
    assert value("crs", *args) == grade


def test_crs_grade_that_contradicts_the_form_is_refused() -> None:
    args = (*FEVER, "--vasopressor", "norepinephrine", "--oxygen", "low_flow_nasal_cannula")
    assert value("crs", *args, "--grade", "3") == 3
    field, reason = error("crs", *args, "--grade", "2")
    assert field == "grade" and "gives grade 3" in reason
    assert error("crs", "--temperature", "hot")[0] == "temperature"
    assert error("crs", *FEVER, "--oxygen", "helmet")[0] == "oxygen"


# ----------------------------------------------------------------- ASTCT 2019 ICANS
@pytest.mark.parametrize(
    ("args", "grade"),
    [
        (("--age", "40", "--ice", "10", "--consciousness", "alert"), 0),
        (("--age", "40", "--ice", "8", "--consciousness", "alert"), 1),  # ICE 7-9
        (("--age", "40", "--ice", "5", "--consciousness", "awakens_to_voice"), 2),  # ICE 3-6
        (("--age", "40", "--ice", "2", "--consciousness", "alert"), 3),  # ICE 0-2
        (("--age", "40", "--ice", "0", "--consciousness", "unarousable"), 4),
        (
            (
                "--age",
                "40",
                "--ice",
                "10",
                "--consciousness",
                "alert",
                "--seizure",
                "rapidly_resolving",
            ),
            3,
        ),
        (("--age", "40", "--ice", "10", "--consciousness", "alert", "--oedema", "focal"), 3),
        (
            (
                "--age",
                "40",
                "--ice",
                "10",
                "--consciousness",
                "alert",
                "--motor",
                "deep_focal_weakness",
            ),
            4,
        ),
        # children < 12: CAPD ≥ 9 → grade 3; unable to perform CAPD → grade 4
        (("--age", "8", "--capd", "10", "--consciousness", "alert"), 3),
        (("--age", "8", "--capd-unable", "--consciousness", "alert"), 4),
    ],
)
def test_icans(args: tuple[str, ...], grade: int) -> None:
    assert value("icans", *args) == grade


def test_icans_errors() -> None:
    field, reason = error("icans", "--age", "40", "--ice", "11", "--consciousness", "alert")
    assert field == "ice" and "0–10" in reason
    assert error("icans", "--age", "8", "--ice", "7", "--consciousness", "alert")[0] == "ice"
    assert error("icans", "--age", "40", "--ice", "7", "--consciousness", "sleepy")[0] == (
        "consciousness"
    )


# ----------------------------------------------------------------- SLEDAI-2K
SLEDAI_2K_WEIGHTS = {
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


def test_sledai_2k_weights() -> None:
    assert value("sledai", *SLEDAI_2K_WEIGHTS) == 105
    for item, weight in SLEDAI_2K_WEIGHTS.items():
        assert value("sledai", item) == weight, item
    assert value("sledai") == 0
    assert value("sledai", "arthritis", "dsdna", "low_complement") == 8
    code, out, _ = run("sledai", "seizure", "fever")
    assert code == 0 and out.splitlines()[0] == "SLEDAI-2K: 9"
    assert error("sledai", "headache_ish")[0] == "items"


# ----------------------------------------------------------------- SLE-ITP response
@pytest.mark.parametrize(
    ("args", "category"),
    [
        (("--platelets", "120"), "CR"),  # ≥ 100
        (("--platelets", "100"), "CR"),
        (("--platelets", "45", "--baseline", "20", "--no-bleeding"), "PR"),  # ≥ 2 × 20
        (("--platelets", "45", "--baseline", "25", "--no-bleeding"), "NR"),  # < 2 × 25
        (("--platelets", "45", "--baseline", "20", "--bleeding"), "NR"),
        (("--platelets", "29", "--baseline", "10", "--no-bleeding"), "NR"),  # < 30
        (("--platelets", "45000", "--baseline", "20000", "--unit", "/uL", "--no-bleeding"), "PR"),
    ],
)
def test_itp_response(args: tuple[str, ...], category: str) -> None:
    assert value("itp-response", *args) == category


def test_itp_response_series() -> None:
    code, out, err = run(
        "itp-response",
        "--series",
        "14:20,30:45,60:120",
        "--baseline",
        "20",
        "--no-bleeding",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "responder" and data["response_day"] == 30.0
    code, out, _ = run(
        "itp-response", "--series", "14:20,95:150", "--baseline", "20", "--no-bleeding"
    )
    assert code == 0 and "non_responder" in out.splitlines()[0]
    assert error("itp-response")[0] == "platelets"
    assert error("itp-response", "--platelets", "45", "--unit", "g/L")[0] == "platelets_unit"
    assert error("itp-response", "--series", "14-20")[0] == "series[0]"
