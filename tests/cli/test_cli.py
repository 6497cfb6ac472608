"""The command line end to end: every command, --json, and one-line errors for bad input."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doseladder.cli.main import app

EXAMPLES = Path(str(files("doseladder.examples")))
DESIGNS = EXAMPLES / "designs"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> object:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_table_json_has_plain_field_names() -> None:
    data = run_json("table", DESIGNS / "boin.yaml")
    rows = data["tables"]["boundaries"]  # type: ignore[index]
    row3 = next(r for r in rows if r["n"] == 3)
    assert (row3["escalate"], row3["deescalate"], row3["eliminate"]) == (0, 2, 3)
    assert next(r for r in rows if r["n"] == 1)["eliminate"] is None


@pytest.mark.parametrize("name", ["boin", "tite-boin", "boin12", "tite-boin12", "3+3"])
def test_every_example_design_prints_tables(name: str) -> None:
    code, out, err = run("table", DESIGNS / f"{name}.yaml")
    assert code == 0, err
    assert "==" in out


def test_decide_replays_the_jss_example() -> None:
    data = run_json(
        "decide",
        DESIGNS / "boin.yaml",
        "--outcomes",
        "1NNN 2NNN 3NTT 2NTN 3NNN 3NNN 4TTT 3NTN 3NNT 3TNN",
    )
    assert [h["next_dose"] for h in data["history"]] == [2, 3, 2, 3, 3, 4, 3, 3, 3, 3]  # type: ignore[index]
    assert data["action"] == "stop"  # type: ignore[index]  # N = 30 reached


def test_decide_from_patient_table_with_pending_outcomes() -> None:
    data = run_json(
        "decide",
        DESIGNS / "tite-boin12.yaml",
        "--patients",
        EXAMPLES / "patients" / "tite-boin12-day315.csv",
        "--now",
        "315",
    )
    assert data["current_dose"] == 3  # type: ignore[index]
    assert data["next_dose"] in (2, 3)  # type: ignore[index]
    assert "p_hat" in json.dumps(data) or "values" in data["reason"]  # type: ignore[index]


def test_select_json_names_mtd() -> None:
    data = run_json(
        "select", DESIGNS / "boin.yaml", "--outcomes", "1NNN 2NNN 3TTTTNNNNNNNNNNN 4TTTTNNNNN"
    )
    assert data["mtd"] == 3  # type: ignore[index]


def test_select_obd() -> None:
    data = run_json("select", DESIGNS / "boin12.yaml", "--outcomes", "1NNN 2NNB 3NEE 3NTN")
    assert data["kind"] == "obd" and "obd" in data  # type: ignore[operator]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["decide", "{boin}", "--outcomes", "1NNX"], "token 1 '1NNX'"),
        (["decide", "{boin}", "--outcomes", "9NNN"], "outside 1..5"),
        (["decide", "{boin}", "--outcomes", "0NNN"], "start at 1"),
        (["decide", "{boin}"], "give exactly one"),
        (["decide", "{missing}", "--outcomes", "1NNN"], "not found"),
        (["decide", "{bad_key}", "--outcomes", "1NNN"], "colour"),
        (["decide", "{bad_target}", "--outcomes", "1NNN"], "target"),
        (["decide", "{tite}", "--patients", "{future}", "--now", "10"], "entry_day"),
        (["decide", "{tite}", "--patients", "{late_tox}", "--now", "100"], "window"),
        (["decide", "{tite}", "--patients", "{nonnum}", "--now", "100"], "not a number"),
        (["decide", "{tite}", "--patients", "{early_no}", "--now", "20"], "leave it empty"),
        (["table", "{bad_yaml}"], "not valid YAML"),
    ],
)
def test_bad_input_gives_one_line_error(tmp_path: Path, args: list[str], needle: str) -> None:
    paths = {
        "boin": str(DESIGNS / "boin.yaml"),
        "tite": str(DESIGNS / "tite-boin.yaml"),
        "missing": str(tmp_path / "nope.yaml"),
        "bad_key": str(
            _write(tmp_path, "k.yaml", "design: boin\nnum_doses: 5\ntarget: 0.3\ncolour: red\n")
        ),
        "bad_target": str(_write(tmp_path, "t.yaml", "design: boin\nnum_doses: 5\ntarget: 0.9\n")),
        "bad_yaml": str(_write(tmp_path, "y.yaml", "design: [boin\n")),
        "future": str(_write(tmp_path, "f.csv", "dose,entry_day,tox\n1,50,\n")),
        "late_tox": str(_write(tmp_path, "l.csv", "dose,entry_day,tox,tox_day\n1,0,1,40\n")),
        "nonnum": str(_write(tmp_path, "n.csv", "dose,entry_day,tox\n1,abc,\n")),
        "early_no": str(_write(tmp_path, "e.csv", "dose,entry_day,tox\n1,10,0\n")),
    }
    code, out, err = run(*[a.format(**paths) for a in args])
    assert code == 2
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err + out


def test_simulate_json(tmp_path: Path) -> None:
    sc = _write(tmp_path, "s.yaml", "p_tox: [0.05, 0.1, 0.2, 0.3, 0.5]\nname: A\n")
    data = run_json(
        "simulate", DESIGNS / "boin.yaml", "--scenario", sc, "--trials", "2000", "--seed", "1"
    )
    assert len(data["per_dose"]["selection_pct"]) == 5  # type: ignore[index]
    assert {"mean_patients", "mean_dlt"} <= set(data["per_dose"])  # type: ignore[arg-type]
    assert data["seed"] == 1 and data["n_trials"] == 2000  # type: ignore[index]
    again = run_json(
        "simulate", DESIGNS / "boin.yaml", "--scenario", sc, "--trials", "2000", "--seed", "1"
    )
    assert again == data


def test_simulate_bad_scenario(tmp_path: Path) -> None:
    sc = _write(tmp_path, "s.yaml", "p_tox: [0.05, 0.1, 1.2, 0.3, 0.5]\n")
    code, _, err = run("simulate", DESIGNS / "boin.yaml", "--scenario", sc)
    assert code == 2 and "p_tox[2]" in err


def test_simulate_warns_on_non_monotone(tmp_path: Path) -> None:
    sc = _write(tmp_path, "s.yaml", "p_tox: [0.05, 0.3, 0.2, 0.3, 0.5]\n")
    code, _, err = run("simulate", DESIGNS / "boin.yaml", "--scenario", sc, "--trials", "100")
    assert code == 0 and "warning:" in err


def test_compare_two_designs(tmp_path: Path) -> None:
    sc = _write(
        tmp_path,
        "s.yaml",
        "scenarios:\n  low: {p_tox: [0.05, 0.1, 0.2, 0.3, 0.5]}\n"
        "  high: {p_tox: [0.2, 0.3, 0.4, 0.5, 0.6]}\n",
    )
    data = run_json(
        "compare", DESIGNS / "boin.yaml", DESIGNS / "3+3.yaml", "--scenario", sc, "--trials", "1000"
    )
    rows = data["per_dose"]  # type: ignore[index]
    assert {r["design"] for r in rows} == {"boin", "3+3"}
    assert {r["scenario"] for r in rows} == {"low", "high"}


def test_sweep_grid(tmp_path: Path) -> None:
    sc = _write(tmp_path, "s.yaml", "p_tox: [0.05, 0.1, 0.2, 0.3, 0.5]\nname: A\n")
    data = run_json(
        "sweep",
        DESIGNS / "boin.yaml",
        "--scenario",
        sc,
        "--grid",
        "target=0.25,0.3",
        "--grid",
        "cohort_size=1,3",
        "--trials",
        "500",
    )
    labels = {r["design"] for r in data["per_dose"]}  # type: ignore[index]
    assert labels == {
        "target=0.25,cohort_size=1",
        "target=0.25,cohort_size=3",
        "target=0.3,cohort_size=1",
        "target=0.3,cohort_size=3",
    }


@pytest.mark.parametrize(
    ("grid", "needle"),
    [("colour=1,2", "grid.colour"), ("target=0.9", "grid.target"), ("target", "parameter=value1")],
)
def test_sweep_bad_grid(tmp_path: Path, grid: str, needle: str) -> None:
    sc = _write(tmp_path, "s.yaml", "p_tox: [0.05, 0.1, 0.2, 0.3, 0.5]\n")
    code, _, err = run("sweep", DESIGNS / "boin.yaml", "--scenario", sc, "--grid", grid)
    assert code == 2 and needle in err, err


def test_patient_table_without_efficacy_column(tmp_path: Path) -> None:
    """No eff column: efficacy unknown (not 'no'), fine for a toxicity-only TITE design."""
    csv = _write(tmp_path, "p.csv", "dose,entry_day,tox,tox_day\n1,0,0,\n1,5,,\n1,10,,\n")
    data = run_json("decide", DESIGNS / "tite-boin.yaml", "--patients", csv, "--now", "40")
    assert data["current_dose"] == 1  # type: ignore[index]
    # for TITE-BOIN12 the unknown responses are pending, so efficacy is not counted as "no"
    data = run_json("decide", DESIGNS / "tite-boin12.yaml", "--patients", csv, "--now", "60")
    assert data["action"] == "suspend"  # type: ignore[index]


def test_table_n_max_limits_tite_boin_states() -> None:
    data = run_json("table", DESIGNS / "tite-boin.yaml", "--n-max", "6")
    rows = data["tables"]["decision_table"]  # type: ignore[index]
    assert {r["n"] for r in rows} == {3, 6}
    code, _, err = run("table", DESIGNS / "boin.yaml", "--n-max", "6")
    assert code == 2 and "--n-max" in err
