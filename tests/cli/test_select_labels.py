"""``doseladder select`` accepts a protocol and dose labels, as ``protocol recommend`` does."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from doseladder.cli.main import app

PROTOCOL = Path(__file__).resolve().parents[2] / "protocols" / "str-p004-nct07143617.yaml"
HEADER = "dose,entry_day,tox,tox_day,eff,eff_day,indication\n"
ROWS = [("DL1", ""), ("DL1", ""), ("DL-1", ""), ("DL-1", ""), ("DL2", "")]


def test_labels_give_the_same_selection_as_levels(tmp_path: Path) -> None:
    rows = [(lab, str(("DL-1", "DL1", "DL2").index(lab) + 1)) for lab, _ in ROWS]
    by_label = tmp_path / "labels.csv"
    by_level = tmp_path / "levels.csv"
    body = [(f"{i},{int(i == 1)},{5 if i == 1 else ''},1,30,") for i in range(len(rows))]
    by_label.write_text(HEADER + "".join(f"{r[0]},{b}\n" for r, b in zip(rows, body, strict=True)))
    by_level.write_text(HEADER + "".join(f"{r[1]},{b}\n" for r, b in zip(rows, body, strict=True)))
    runner = CliRunner()
    args = ["select", str(PROTOCOL), "--now", "200", "--json", "--patients"]
    a = runner.invoke(app, [*args, str(by_label)])
    b = runner.invoke(app, [*args, str(by_level)])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    assert json.loads(a.output) == json.loads(b.output)
    assert json.loads(a.output)["kind"] == "obd"


def test_an_unknown_label_is_one_line_naming_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("dose,entry_day,tox\nDL9,0,0\n")
    r = CliRunner().invoke(app, ["select", str(PROTOCOL), "--now", "200", "--patients", str(bad)])
    assert r.exit_code == 2
    assert "row 1, dose" in r.output and "DL-1, DL1, DL2" in r.output
