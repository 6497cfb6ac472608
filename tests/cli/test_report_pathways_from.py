"""``doseladder report --pathways-from PATIENTS.csv``: the pathways start from the trial so far
(the patient table ``decide`` reads); their first decision is ``decide``'s on the same table and
every later one the design's on the state the path reaches."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.core import BOIN
from doseladder.core.state import _LETTERS, Patient, TrialState
from doseladder.io.patients_csv import read_patients_csv
from doseladder.reports import build_report
from doseladder.simulate.scenario import Scenario

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "doseladder" / "examples"
BOIN_FILE = EXAMPLES / "designs" / "boin.yaml"
CSV = "dose,entry_day,tox,tox_day\n1,1,0,\n1,2,0,\n1,3,0,\n2,40,0,\n2,41,1,5\n2,42,0,\n"


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


class _PathRows(HTMLParser):
    """The rows of the table after the "Dose-transition pathways" heading."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_h3 = False
        self._h3 = ""
        self._take = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "h3":
            self._in_h3, self._h3 = True, ""
        elif tag == "tr" and self._take:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3":
            self._in_h3 = False
            self._take = self._h3.strip() == "Dose-transition pathways"
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._take = False

    def handle_data(self, data: str) -> None:
        if self._in_h3:
            self._h3 += data
        if self._cell is not None:
            self._cell.append(data)


def test_report_pathways_start_from_the_patients_table(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("jinja2")
    csv = tmp_path / "patients.csv"
    csv.write_text(CSV)
    code, out, err = run("decide", BOIN_FILE, "--patients", csv, "--json")
    assert code == 0, err
    decided = json.loads(out)
    code, out, err = run(
        "report",
        BOIN_FILE,
        "--random-scenarios",
        1,
        "--trials",
        50,
        "--format",
        "html",
        "--pathway-cohorts",
        1,
        "--pathways-from",
        csv,
        "-o",
        tmp_path / "out",
        "--json",
    )
    assert code == 0, err
    html = Path(json.loads(out)["html"]).read_text(encoding="utf-8")
    assert "from the current state (6 patients treated)" in html
    parser = _PathRows()
    parser.feed(html)
    header, root, *children = parser.rows
    assert header[:2] == ["Path", "Cohort"] and root[0] == "(now)"
    assert root[4] == decided["action"] and root[5] == str(decided["next_dose"])
    # the next cohort is given at decide's next dose, with each of the 4 outcome sets
    nxt = decided["next_dose"]
    assert [r[0] for r in children] == [f"{nxt}{o}" for o in ("NNN", "NNT", "NTT", "TTT")]


def test_build_report_pathways_equal_the_designs_decisions(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    csv = tmp_path / "patients.csv"
    csv.write_text(CSV)
    design = BOIN(num_doses=4, target=0.3, max_n=18)
    state = TrialState(4, read_patients_csv(csv, labels=("DL1", "DL2", "DL3", "DL4")))
    content = build_report(
        design,
        [Scenario(p_tox=(0.1, 0.2, 0.3, 0.4), name="A")],
        20,
        1,
        pathway_cohorts=2,
        pathway_start=state,
    )
    paths = content.pathways
    assert paths.start == state and paths.root.decision == design.decide(state)
    checked = 0
    stack = [(paths.root, state)]
    while stack:
        node, st = stack.pop()
        for child in node.children:
            pts = [
                Patient(dose=child.dose, entry_time=0.0, tox=_LETTERS[c][0], eff=_LETTERS[c][1])
                for c in child.outcomes
            ]
            nxt = st.with_eliminated(node.decision.eliminated).with_patients(pts)
            assert design.decide(nxt) == child.decision, child.path
            checked += 1
            stack.append((child, nxt))
    assert checked == len(paths.nodes()) - 1 > 4
    assert content.pathway_table().caption.count("from the current state (6 patients") == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--now", "10"], "--now"),
        (["--pathways-from", "MISSING"], "--pathways-from"),
        (["--pathways-from", "BAD"], "patients.csv"),
    ],
)
def test_pathways_from_errors_name_the_option(tmp_path: Path, extra: list[str], field: str) -> None:
    bad = tmp_path / "patients.csv"
    bad.write_text("dose,entry_day,tox\n9,1,0\n")
    args = [
        str(tmp_path / "nope.csv") if a == "MISSING" else str(bad) if a == "BAD" else a
        for a in extra
    ]
    code, _, err = run("report", BOIN_FILE, "--trials", 10, "-o", tmp_path / "o", *args)
    assert code == 2 and err.startswith("error: ") and field in err, err
    assert len(err.strip().splitlines()) == 1
