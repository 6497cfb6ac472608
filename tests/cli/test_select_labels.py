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


def _body(rows: list[tuple[str, str]]) -> str:
    lines = [
        f"{lab},{i},{int(i == 1)},{5 if i == 1 else ''},1,30," for i, (lab, _) in enumerate(rows)
    ]
    return HEADER + "".join(f"{x}\n" for x in lines)


def test_the_text_summary_names_the_doses_by_label(tmp_path: Path) -> None:
    from doseladder.protocols import load_protocol

    labels = load_protocol(PROTOCOL).dose_labels
    csv = tmp_path / "labels.csv"
    csv.write_text(_body(ROWS))
    args = ["select", str(PROTOCOL), "--now", "200", "--patients", str(csv)]
    runner = CliRunner()
    as_json = runner.invoke(app, [*args, "--json"])
    text = runner.invoke(app, args)
    assert as_json.exit_code == 0 and text.exit_code == 0, as_json.output + text.output
    result = json.loads(as_json.output)
    obd, mtd = result["obd"], result["mtd"]
    assert (result["obd_label"], result["mtd_label"]) == (labels[obd - 1], labels[mtd - 1])
    lines = text.output.splitlines()
    assert lines[0] == (
        f"OBD: {labels[obd - 1]} (dose level {obd}); MTD: {labels[mtd - 1]} (dose level {mtd})"
    )
    assert lines[1] == "Dose levels: " + ", ".join(
        f"{i} = {lab}" for i, lab in enumerate(labels, 1)
    )
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["dose", "label"])
    table = [line.split() for line in lines[header + 1 :]]
    assert [(int(r[0]), r[1]) for r in table] == list(enumerate(labels, 1))
    assert [r[-1] for r in table] == [str(i == obd) for i in range(1, len(labels) + 1)]


def test_a_design_file_still_prints_levels(tmp_path: Path) -> None:
    design = Path(__file__).resolve().parents[2] / "src/doseladder/examples/designs/boin.yaml"
    csv = tmp_path / "levels.csv"
    csv.write_text("dose,entry_day,tox\n" + "".join(f"1,{i},0\n" for i in range(3)))
    r = CliRunner().invoke(app, ["select", str(design), "--patients", str(csv)])
    assert r.exit_code == 0, r.output
    first = r.output.splitlines()[0]
    assert first.startswith("MTD: ") and "dose level" not in first and " label " not in r.output
