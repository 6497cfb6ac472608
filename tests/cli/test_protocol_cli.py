"""``doseladder protocol ...`` end to end: every command, --json, one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.protocols import library_dir

runner = CliRunner()
SEED000 = "str-p004-nct07143617"


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: object) -> dict[str, object]:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    data: dict[str, object] = json.loads(out)
    return data


def test_list() -> None:
    code, out, _ = run("protocol", "list")
    assert code == 0
    assert "str-p004-nct07143617: Exploratory Clinical Study on the Safety of STR-P004" in out
    data = run_json("protocol", "list")
    rows = data["protocols"]
    assert isinstance(rows, list) and len(rows) == 5
    seed0 = next(r for r in rows if r["name"] == SEED000)
    assert seed0["driving_indication"] == "SLE-ITP"
    assert seed0["doses"] == ["DL-1", "DL1", "DL2"]


def test_show_prints_the_rules() -> None:
    code, out, err = run("protocol", "show", SEED000)
    assert code == 0, err
    assert "If one or more DLTs occur in the first 3 subjects enrolled at DL1" in out
    assert "Flagged for review" in out
    assert "000-INC-01" not in out  # criteria only with --full
    code, full, _ = run("protocol", "show", library_dir() / f"{SEED000}.yaml", "--full")
    assert code == 0 and "000-INC-IIM.1" in full and "Visit schedule" in full
    data = run_json("protocol", "show", SEED000)
    assert data["plan"]["fallback"]["first_k"] == 3  # type: ignore[index]
    assert "falls back to DL-1" in str(data["rules_text"])


def test_validate(tmp_path: Path) -> None:
    code, out, _ = run("protocol", "validate", library_dir() / f"{SEED000}.yaml")
    assert code == 0
    assert out.startswith("ok: str-p004-nct07143617 (schema version 1): 3 dose level(s)")
    assert run_json("protocol", "validate", SEED000)["valid"] is True
    text = (library_dir() / f"{SEED000}.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("unit: mg/kg}", "unit: mg/lb}", 1), encoding="utf-8")
    code, out, err = run("protocol", "validate", bad)
    assert code == 2
    assert err.strip() == (
        "error: bad.yaml: doses[0].amount.unit: unknown unit 'mg/lb'; allowed: mg/kg, "
        "cells/kg, cells, mg/m2, mg"
    )
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("arg", ["no-such-protocol", "missing/file.yaml"])
def test_unknown_protocol_is_a_one_line_error(arg: str) -> None:
    code, _, err = run("protocol", "show", arg)
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_schedule() -> None:
    name = "tcr-t-cd19-bcma-sle-wuhan-union"
    code, out, err = run("protocol", "schedule", name, "--infusion-date", "2025-01-10")
    assert code == 0, err
    assert "2025-01-13" in out and "Month 12" in out
    data = run_json("protocol", "schedule", name, "--infusion-date", "2025-01-10")
    visits = data["visits"]
    assert isinstance(visits, list)
    eff = [v for v in visits if v["assessment"] == "efficacy"]
    assert [v["day"] for v in eff] == [30, 90, 180, 270, 360]
    code, _, err = run("protocol", "schedule", name, "--infusion-date", "10/01/2025")
    assert code == 2 and "--infusion-date" in err


def test_recommend_with_dose_labels(tmp_path: Path) -> None:
    csv = tmp_path / "patients.csv"
    csv.write_text(
        "id,dose,entry_day,tox,tox_day,eff,eff_day,indication\n"
        "1,DL1,0,1,9,,,SLE-ITP\n"
        "2,DL1,2,,,,,SLE-ITP\n"
        "3,2,4,,,,,\n",
        encoding="utf-8",
    )
    code, out, err = run("protocol", "recommend", SEED000, "--patients", csv, "--now", 12)
    assert code == 0, err
    assert "SLE-ITP (driving): ENROL at DL-1" in out
    assert "backup_fallback.fallback" in out
    assert "IIM (other): WAIT" in out
    data = run_json("protocol", "recommend", SEED000, "--patients", csv, "--now", 12)
    first = data["indications"][0]  # type: ignore[index]
    assert (first["dose_label"], first["reason"]["rule"]) == ("DL-1", "backup_fallback.fallback")
    assert data["fallback"]["run_in_dlts"] == 1  # type: ignore[index]


def test_recommend_errors_are_one_line(tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    csv.write_text("dose,entry_day,tox,indication\nDL7,0,0,SLE-ITP\n", encoding="utf-8")
    code, _, err = run("protocol", "recommend", SEED000, "--patients", csv, "--now", 40)
    assert code == 2 and "row 1, dose" in err and "DL7" in err
    csv.write_text("dose,entry_day,tox,eff,indication\nDL1,0,0,,SSc\n", encoding="utf-8")
    code, _, err = run("protocol", "recommend", SEED000, "--patients", csv, "--now", 40)
    assert code == 2 and "unknown indication 'SSc'" in err
    code, _, err = run(
        "protocol", "recommend", SEED000, "--patients", tmp_path / "none.csv", "--now", 1
    )
    assert code == 2 and "not found" in err
