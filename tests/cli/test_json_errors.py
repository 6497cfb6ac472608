"""With ``--json`` every error is one line of JSON on stderr (one case per command family).

Each case is a real mistake a user makes -- a domain error caught by the command (bad outcome,
unknown protocol, missing file) or a usage error caught by the parser (missing argument,
invalid option value, unknown sub-command) -- and the test asserts the JSON names the field
that is wrong.  The same invocations without ``--json`` must not print JSON (so the test
would fail if the JSON came from somewhere other than the ``--json`` switch).
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doseladder.cli.main import app

DESIGN = str(Path(str(files("doseladder.examples"))) / "designs" / "boin.yaml")
MISSING = "/nonexistent/design.yaml"

#: (family, argv without --json, text the error's field must contain)
CASES = [
    ("decide", ["decide", DESIGN, "--outcomes", "9NNN"], "dose"),
    ("decide (usage)", ["decide"], "design_file"),
    (
        "decide (bad int)",
        ["decide", DESIGN, "--outcomes", "1NNN", "--current-dose", "x"],
        "--current-dose",
    ),
    ("table", ["table", MISSING], MISSING),
    ("select", ["select", DESIGN, "--outcomes", "1NNX"], "outcomes"),
    ("simulate", ["simulate", DESIGN, "--scenario", MISSING], MISSING),
    ("simulate (range)", ["simulate", DESIGN, "--trials", "0"], "--trials"),
    ("compare", ["compare", DESIGN], "--scenario"),
    ("sweep (usage)", ["sweep", DESIGN], "--scenario"),
    ("protocol", ["protocol", "show", "no-such-protocol"], "protocol"),
    ("protocol (unknown sub-command)", ["protocol", "nosuch"], "protocol"),
    ("simulate-protocol", ["simulate-protocol", "no-such-protocol"], "protocol"),
    ("screen (usage)", ["screen"], "protocol"),
    ("grade", ["grade", "ctcae", "No such term"], "term"),
    ("report", ["report", "no-such-protocol"], "no-such-protocol"),
    ("paths", ["paths", MISSING], MISSING),
    ("trial (usage)", ["trial", "pack"], "trial"),
    ("admin (usage)", ["admin", "create-user"], "username"),
    ("unknown command", ["no-such-command"], "doseladder"),
]


@pytest.mark.parametrize(("family", "argv", "field"), CASES, ids=[c[0] for c in CASES])
def test_error_with_json_is_one_json_line(family: str, argv: list[str], field: str) -> None:
    result = CliRunner().invoke(app, [*argv, "--json"])
    assert result.exit_code == 2, (family, result.output, result.exception)
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    error = json.loads(lines[0])["error"]
    assert set(error) == {"field", "reason"}
    assert field.lower() in error["field"].lower(), error
    assert error["reason"].strip(), error


@pytest.mark.parametrize(("family", "argv", "field"), CASES[:3], ids=[c[0] for c in CASES[:3]])
def test_error_without_json_is_not_json(family: str, argv: list[str], field: str) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, (family, result.output)
    with pytest.raises(ValueError):
        json.loads(result.stderr.strip().splitlines()[-1])
