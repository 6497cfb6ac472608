"""``doseladder simulate-protocol`` end to end: names and files, --json, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.protocols import library_dir

runner = CliRunner()
SEED000 = "str-p004-nct07143617"


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_shipped_name_with_its_example_scenario() -> None:
    code, out, err = run("simulate-protocol", SEED000, "--trials", 300, "--seed", 3)
    assert code == 0, err
    assert "protocol str-p004-nct07143617" in out
    assert "fallback_fired_pct" in out and "SLE-ITP" in out and "IIM" in out


def test_file_and_scenario_json_reproducible(tmp_path: Path) -> None:
    proto = library_dir() / "steam-cd19-car-t-csle.yaml"
    sc = library_dir() / "scenarios" / "steam-cd19-car-t-csle.yaml"
    args = ("simulate-protocol", proto, "--scenario", sc, "--trials", 400, "--seed", 5, "--json")
    code, out, err = run(*args)
    assert code == 0, err
    data = json.loads(out)
    assert data["n_trials"] == 400 and data["seed"] == 5
    assert data["protocol"]["id"] == "steam-cd19-car-t-csle"
    assert {r["indication"] for r in data["per_dose"]} == {"cSLE"}
    metrics = {(r["indication"], r["metric"]) for r in data["trial"]}
    assert ("trial", "correct_mtd_pct") in metrics
    assert run(*args)[1] == out  # same seed, same output
    code, out2, err = run(*args[:-1], "--workers", 2)
    assert out2.strip()
    assert code == 0, err


def test_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    code, _, err = run("simulate-protocol", SEED000, "--scenario", tmp_path / "none.yaml")
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("indications: {SLE-ITP: {p_tox: [0.1, 0.2, 1.5], accrual: {rate: 0.1}}}\n")
    code, _, err = run("simulate-protocol", SEED000, "--scenario", bad)
    assert code == 2
    assert err.strip() == (
        "error: bad.yaml: indications.SLE-ITP.p_tox[2]: must be a probability in [0, 1], got 1.5"
    )
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("indications: {SLE: {p_tox: [0.1, 0.2, 0.3], accrual: {rate: 0.1}}}\n")
    code, _, err = run("simulate-protocol", SEED000, "--scenario", wrong)
    assert code == 2 and "indications.SLE-ITP: missing" in err
    code, _, err = run("simulate-protocol", "no-such-protocol")
    assert code == 2 and err.startswith("error: ")
    data = yaml.safe_load((library_dir() / f"{SEED000}.yaml").read_text())
    data["id"] = "my-own-trial"
    proto = tmp_path / "mine.yaml"
    proto.write_text(yaml.safe_dump(data))
    code, _, err = run("simulate-protocol", proto)  # no example scenario for it
    assert code == 2 and "give --scenario" in err


def test_backfill_split_in_the_text_table() -> None:
    """With a backfill rule the per-dose table says how many patients and DLTs of each dose
    were backfilled, and those agree with the JSON; without one the columns are absent."""
    proto = library_dir() / "examples" / "str-p004-backfill-example.yaml"
    sc = library_dir() / "scenarios" / "str-p004-nct07143617.yaml"
    args = ("simulate-protocol", proto, "--scenario", sc, "--trials", 300, "--seed", 2)
    code, out, err = run(*args)
    assert code == 0, err
    assert "of which backfill" in out and "backfill DLTs" in out
    code, js, err = run(*args, "--json")
    assert code == 0, err
    rows = [r for r in json.loads(js)["per_dose"] if r["indication"] == "SLE-ITP"]
    lines = [ln.split() for ln in out.splitlines() if ln.strip().startswith("SLE-ITP driving")]
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        assert line[2] == row["label"]
        assert float(line[-2]) == round(row["mean_patients_backfill"], 2)
        assert float(line[-1]) == round(row["mean_dlt_backfill"], 2)
    assert sum(r["mean_patients_backfill"] for r in rows) > 0
    code, plain, err = run("simulate-protocol", SEED000, "--trials", 200, "--seed", 3)
    assert code == 0, err
    assert "of which backfill" not in plain
