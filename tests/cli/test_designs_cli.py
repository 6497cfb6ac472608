"""CLI for the comparator designs (CRM, TITE-CRM, Keyboard, mTPI-2, i3+3, BF-BOIN)."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doseladder.cli.main import app

DESIGNS = Path(str(files("doseladder.examples"))) / "designs"
runner = CliRunner()


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: object) -> dict[str, object]:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("name", ["crm", "tite-crm", "keyboard", "mtpi2", "i3+3", "bf-boin"])
def test_table_prints(name: str) -> None:
    code, out, err = run("table", DESIGNS / f"{name}.yaml")
    assert code == 0, err
    assert "==" in out


def test_crm_select_reports_mtd_ptox_posterior_mean(tmp_path: Path) -> None:
    # dfcrm man/crm.Rd example data (spec §6.4): MTD 2, beta-hat -0.21217
    design = tmp_path / "crm.yaml"
    design.write_text(
        "design: crm\nnum_doses: 6\ntarget: 0.2\n"
        "skeleton: [0.05, 0.10, 0.20, 0.35, 0.50, 0.70]\ncohort_size: 1\nmax_n: 30\n"
    )
    levels = [3, 4, 4, 3, 3, 4, 3, 2, 2, 2]
    tox = "NNTNNTTNNN"
    outcomes = " ".join(f"{lv}{t}" for lv, t in zip(levels, tox, strict=True))
    data = run_json("select", design, "--outcomes", outcomes)
    assert data["mtd"] == 2
    assert data["posterior_mean"] == pytest.approx(-0.21217, abs=5e-6)
    assert data["ptox"] == pytest.approx([0.0887, 0.1553, 0.2721, 0.4278, 0.5708, 0.7494], abs=5e-5)


def test_tite_crm_decide_with_pending_patients(tmp_path: Path) -> None:
    # dfcrm man/titecrm.Rd example as a patient table at day 500 (window 180)
    design = tmp_path / "tite.yaml"
    design.write_text(
        "design: tite-crm\nnum_doses: 6\ntarget: 0.2\ntox_window: 180\n"
        "skeleton: [0.05, 0.10, 0.20, 0.35, 0.50, 0.70]\n"
    )
    level = [3, 3, 3, 4, 4, 3, 2, 2, 2, 3]
    y = [0, 0, 1, 0, 1, 0, 0, 0, 0, 0]
    u = [178, 181, 168, 181, 24, 181, 179, 102, 42, 3]
    rows = ["dose,entry_day,tox,tox_day"]
    for lv, yy, uu in zip(level, y, u, strict=True):
        if yy:
            rows.append(f"{lv},300,yes,{uu}")
        elif uu >= 180:
            rows.append(f"{lv},{500 - uu},no,")
        else:
            rows.append(f"{lv},{500 - uu},,")
    csv = tmp_path / "patients.csv"
    csv.write_text("\n".join(rows) + "\n")
    data = run_json("decide", design, "--patients", csv, "--now", "500")
    assert data["mtd"] == 3 and data["next_dose"] == 3
    assert data["posterior_mean"] == pytest.approx(-0.13279, abs=5e-6)
    assert data["ptox"] == pytest.approx([0.0726, 0.1332, 0.2443, 0.3988, 0.5450, 0.7317], abs=5e-5)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("design: crm\nnum_doses: 3\ntarget: 0.3\n", "skeleton"),
        ("design: crm\nnum_doses: 3\ntarget: 0.3\nskeleton: [0.3, 0.2, 0.4]\n", "skeleton"),
        ("design: crm\nnum_doses: 3\ntarget: 0.3\nhalfwidth: 0.05\nprior_mtd: 9\n", "prior_mtd"),
        ("design: tite-crm\nnum_doses: 3\ntarget: 0.3\nskeleton: [0.1, 0.2, 0.3]\n", "tox_window"),
        ("design: crm\nnum_doses: 3\ntarget: 0.3\nskeleton: [0.1, 0.2, 0.3]\nbogus: 1\n", "bogus"),
    ],
)
def test_bad_design_files_give_one_line_errors(tmp_path: Path, text: str, field: str) -> None:
    f = tmp_path / "d.yaml"
    f.write_text(text)
    code, _out, err = run("table", f)
    assert code == 2
    line = err.strip()
    assert line.startswith(f"error: d.yaml: {field}") and "\n" not in line


def test_keyboard_table_json_matches_get_boundary_kb() -> None:
    data = run_json("table", DESIGNS / "keyboard.yaml")
    rows = data["tables"]["boundaries"]  # type: ignore[index]
    assert [r["escalate"] for r in rows[:12]] == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert [r["deescalate"] for r in rows[:12]] == [1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5]


@pytest.mark.parametrize(
    ("name", "outcomes", "next_dose"),
    [
        ("keyboard", "1NNN 2NTT", 1),
        ("mtpi2", "1NNN 1TTT", 1),
        ("i3+3", "1NNN 2NTN", 2),
    ],
)
def test_decide_and_select_interval_designs(name: str, outcomes: str, next_dose: int) -> None:
    data = run_json("decide", DESIGNS / f"{name}.yaml", "--outcomes", outcomes)
    assert data["next_dose"] == next_dose
    sel = run_json("select", DESIGNS / f"{name}.yaml", "--outcomes", outcomes)
    assert sel["kind"] == "mtd" and "mtd" in sel


def test_bf_boin_decide_reports_backfill_doses(tmp_path: Path) -> None:
    # spec backfill.md §7 H1: doses 1, 2 cleared, a response at dose 2, cohort at dose 3 pending
    csv = tmp_path / "p.csv"
    csv.write_text(
        "dose,entry_day,tox,eff,cohort\n"
        "1,0,no,no,escalation\n1,1,no,no,escalation\n1,2,no,no,escalation\n"
        "2,30,no,yes,escalation\n2,31,no,no,\n2,32,no,no,escalation\n"
        "3,61,,,escalation\n3,62,,,escalation\n3,63,,,escalation\n"
        "2,64,,,backfill\n"
    )
    data = run_json("decide", DESIGNS / "bf-boin.yaml", "--patients", csv, "--now", "70")
    assert data["action"] == "suspend" and data["current_dose"] == 3
    assert data["backfill_open"] == [2]


def test_patients_csv_rejects_unknown_cohort(tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    csv.write_text("dose,entry_day,tox,cohort\n1,0,no,expansion\n")
    code, _out, err = run("decide", DESIGNS / "bf-boin.yaml", "--patients", csv, "--now", "40")
    assert code == 2
    assert err.strip() == "error: p.csv: row 1, cohort: 'expansion' is not escalation or backfill"


def test_simulate_and_compare_tite_crm_and_bf_boin_in_time(tmp_path: Path) -> None:
    """``simulate`` shows the escalation/backfill split and the duration (text and JSON);
    ``compare`` runs BF-BOIN and TITE-CRM beside BOIN; accrual errors name the field."""
    sc = tmp_path / "s.yaml"
    sc.write_text(
        "p_tox: [0.05, 0.12, 0.25, 0.40, 0.55]\np_eff: [0.2, 0.3, 0.4, 0.5, 0.5]\n"
        "accrual: {type: uniform, rate: 0.1}\ntox_time: {model: weibull}\nname: A\n"
    )
    bf = DESIGNS / "bf-boin.yaml"
    code, out, err = run("simulate", bf, "--scenario", sc, "--trials", "200", "--no-progress")
    assert code == 0, err
    assert "mean_patients_backfill" in out and "total_backfill" in out and "duration" in out
    data = run_json("simulate", bf, "--scenario", sc, "--trials", "200", "--no-progress")
    per_dose = data["per_dose"]
    assert isinstance(per_dose, dict)
    assert per_dose["mean_patients_backfill"][-1] == 0  # never at the top dose
    trial = data["trial"]
    assert isinstance(trial, dict) and trial["duration"] > 28  # at least one 28-day window
    tc = run_json(
        "simulate",
        DESIGNS / "tite-crm.yaml",
        "--scenario",
        sc,
        "--trials",
        "100",
        "--no-progress",
    )
    assert isinstance(tc["trial"], dict) and tc["trial"]["total_n"] == 24
    code, out, err = run(
        "compare",
        bf,
        DESIGNS / "tite-crm.yaml",
        DESIGNS / "boin.yaml",
        "--scenario",
        sc,
        "--trials",
        "100",
    )
    assert code == 0, err
    bad = tmp_path / "bad.yaml"
    bad.write_text("p_tox: [0.05, 0.12, 0.25, 0.40, 0.55]\naccrual: {type: weekly, rate: 1}\n")
    code, _, err = run("simulate", bf, "--scenario", bad, "--trials", "10")
    assert code == 2 and "accrual.type" in err
