"""``doseladder screen`` end to end: text and --json, JSON and FHIR input, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.protocols import library_dir

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "doseladder" / "examples" / "patients"
SEED004 = "hn2301-nct06801119"
ELIGIBLE = EXAMPLES / "hn2301-eligible-sle.json"


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_eligible_patient_text() -> None:
    code, out, err = run("screen", SEED004, ELIGIBLE)
    assert code == 0, err
    assert "Patient HN2301-DEMO-01, screened on 2025-06-02 for SLE" in out
    assert "004-INC-07      inclusion MET" in out
    assert out.rstrip().splitlines()[-1].startswith("Verdict: ELIGIBLE")


def test_failing_lab_and_json() -> None:
    code, out, _ = run("screen", SEED004, EXAMPLES / "hn2301-alt-above-2.5-uln.json")
    assert code == 0
    assert "ALT 120 U/L on 2025-05-28 not ≤ 2.5 × ULN (40 U/L) = 100 U/L." in out
    assert "Failing: 004-INC-07." in out
    code, out, _ = run("screen", library_dir() / f"{SEED004}.yaml", ELIGIBLE, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["verdict"] == "eligible" and data["protocol"] == SEED004
    c = next(x for x in data["criteria"] if x["id"] == "004-INC-07")
    assert c["status"] == "met" and c["structured"] == "logic"
    alt = next(v for v in c["values"] if v["name"] == "ALT")
    assert alt["value"] == "28 U/L" and alt["detail"] == "ULN 40 U/L"


def test_fhir_bundle_with_inputs_and_date() -> None:
    bundle = EXAMPLES / "hn2301-fhir-bundle.json"
    code, out, _ = run("screen", SEED004, bundle, "--date", "2025-06-02", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["verdict"] == "incomplete"
    pending = {
        c["id"] for c in data["criteria"] if c["status"] in ("not_evaluable", "needs_review")
    }
    assert "004-EXC-09" in pending
    code, out, _ = run("screen", SEED004, bundle, "--inputs", EXAMPLES / "hn2301-fhir-inputs.json")
    assert code == 0 and "Verdict: ELIGIBLE" in out
    code, out, _ = run("screen", SEED004, ELIGIBLE, "--date", "2025-09-30")
    assert code == 0 and "Verdict: INCOMPLETE" in out  # the May labs are outside the look-back
    code, out, _ = run(
        "screen", SEED004, ELIGIBLE, "--date", "2025-09-30", "--lookback-days", "200"
    )
    assert "Verdict: ELIGIBLE" in out


def test_verbose_and_indications() -> None:
    code, out, _ = run("screen", "str-p004-nct07143617", ELIGIBLE, "--indication", "IIM", "-v")
    assert code == 0
    assert "000-INC-03.2" in out and "n/a" in out  # SLE-ITP criteria do not apply to IIM
    assert "NEEDS REVIEW" in out


def test_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    code, _, err = run("screen", SEED004, ELIGIBLE, "--date", "2025-13-01")
    assert code == 2 and err.strip() == "error: --date: '2025-13-01' is not a YYYY-MM-DD date"
    code, _, err = run("screen", SEED004, tmp_path / "none.json")
    assert code == 2 and "patient file not found" in err
    bad = tmp_path / "bad.json"
    data = json.loads(ELIGIBLE.read_text(encoding="utf-8"))
    data["observations"][0]["unit"] = "mg/dL"
    bad.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = run("screen", SEED004, bad)
    assert code == 2
    assert err.startswith(
        "error: bad.json: observations[0].unit: 'mg/dL' is not a unit of blood cell count"
    )
    assert len(err.strip().splitlines()) == 1
    code, _, err = run("screen", SEED004, ELIGIBLE, "--indication", "IIM")
    assert code == 2 and "not an indication" in err
    code, _, err = run("screen", "no-such-protocol", ELIGIBLE)
    assert code == 2 and "no shipped protocol" in err
    no_date = tmp_path / "nodate.json"
    data = json.loads(ELIGIBLE.read_text(encoding="utf-8"))
    del data["screening_date"]
    no_date.write_text(json.dumps(data), encoding="utf-8")
    code, out, _ = run("screen", SEED004, no_date)
    assert code == 0 and "No screening date given: today's date" in out


def test_protocol_show_lists_the_rules() -> None:
    code, out, _ = run("protocol", "show", SEED004, "--full")
    assert code == 0 and "RULE: SLEDAI-2K ≥ 6 and, if low complement / anti-dsDNA scored" in out
