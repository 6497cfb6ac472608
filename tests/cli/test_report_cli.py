"""``doseladder report`` and ``doseladder table PROTOCOL`` end to end; ``simulate-protocol``'s
text output (standard errors, no NaN) and scenario lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.protocols import library_dir, load_shipped

runner = CliRunner()
SEED000 = "str-p004-nct07143617"
EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "doseladder" / "examples"


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_table_accepts_a_shipped_protocol_and_a_protocol_file() -> None:
    design = load_shipped(SEED000).plan.design
    for arg in (SEED000, library_dir() / f"{SEED000}.yaml"):
        code, out, err = run("table", arg, "--json")
        assert code == 0, err
        data = json.loads(out)
        assert data["design"] == json.loads(json.dumps(design.to_dict()))
        assert set(data["tables"]) == set(design.tables())
    code, out, _ = run("table", SEED000)
    assert "== pending_decisions ==" in out


def test_table_unknown_subject_is_one_line_error() -> None:
    code, _, err = run("table", "no-such-protocol")
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_report_from_a_design_with_random_scenarios(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("jinja2")
    out_dir = tmp_path / "out"
    code, out, err = run(
        "report",
        EXAMPLES / "designs" / "boin.yaml",
        "--random-scenarios",
        2,
        "--trials",
        100,
        "--seed",
        4,
        "--format",
        "html",
        "-o",
        out_dir,
        "--json",
    )
    assert code == 0, err
    files = json.loads(out)
    html = Path(files["html"]).read_text()
    assert "R1" in html and "R2" in html and "Dose-transition pathways" in html


def test_report_errors_are_one_line(tmp_path: Path) -> None:
    design = EXAMPLES / "designs" / "boin.yaml"
    code, _, err = run("report", design, "--format", "html,odt", "-o", tmp_path)
    assert code == 2 and err.strip().startswith("error: --format:")
    code, _, err = run("report", design, "-o", tmp_path)
    assert code == 2 and err.strip().startswith("error: --scenarios:")
    bad = tmp_path / "s.yaml"
    bad.write_text("scenarios: [{p_tox: [0.1, 0.2]}]\n")
    code, _, err = run("report", design, "--scenarios", bad, "-o", tmp_path)
    assert code == 2 and "p_tox" in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.glob("report.*"))  # bad input changes nothing


def test_simulate_protocol_text_has_standard_errors_and_no_nan() -> None:
    code, out, err = run("simulate-protocol", SEED000, "--trials", 200, "--seed", 1)
    assert code == 0, err
    assert "nan" not in out.lower()
    assert "selected % (SE)" in out and "patients (SE)" in out
    assert "fallback_fired_pct" in out
    line = next(x for x in out.splitlines() if "fallback_fired_pct" in x)
    assert "(" in line and ")" in line  # value (SE)


def test_simulate_protocol_runs_every_scenario_of_a_list(tmp_path: Path) -> None:
    src = yaml.safe_load((library_dir() / "scenarios" / "str-p004-report.yaml").read_text())
    src["scenarios"] = src["scenarios"][:2]
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(src))
    code, out, err = run(
        "simulate-protocol", SEED000, "--scenario", path, "--trials", 100, "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert [d["scenario"]["name"] for d in data] == ["S1-example", "S2-DL1-toxic"]


def test_simulate_and_compare_accept_random_scenarios() -> None:
    boin = EXAMPLES / "designs" / "boin.yaml"
    args = ("simulate", boin, "--random-scenarios", 2, "--trials", 200, "--seed", 9, "--json")
    code, out, err = run(*args)
    assert code == 0, err
    data = json.loads(out)
    assert [d["scenario"]["name"] for d in data] == ["R1", "R2"]
    assert run(*args)[1] == out  # seeded: the same scenarios and results
    code, out, err = run(
        "compare",
        boin,
        boin,
        "--random-scenarios",
        2,
        "--trials",
        100,
        "--json",
    )
    assert code == 0, err
    assert {r["scenario"] for r in json.loads(out)["per_dose"]} == {"R1", "R2"}
    code, _, err = run("simulate", boin, "--trials", 100)
    assert code == 2 and err.strip().startswith("error: --scenario:")


def test_paths_from_the_trial_so_far() -> None:
    boin = EXAMPLES / "designs" / "boin.yaml"
    code, out, err = run("paths", boin, "--outcomes", "1NNN 2NTN", "--cohorts", 1, "--json")
    assert code == 0, err
    rows = json.loads(out)["paths"]
    assert rows[0]["path"] == "" and rows[0]["next_dose"] == 2
    assert {r["path"] for r in rows[1:]} == {"2NNN", "2NNT", "2NTT", "2TTT"}
    code, out, err = run("paths", SEED000, "--cohorts", 1)
    assert code == 0, err
    assert "2NNT: de-escalate → DL-1  [backup_fallback.fallback]" in out
    code, _, err = run("paths", boin, "--outcomes", "9NNN")
    assert code == 2 and err.startswith("error: ")
