"""The CLI starts without the heavy libraries; --json errors; a missing extra is named."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doseladder.cli import main as cli_main
from doseladder.cli.main import LAZY_COMMANDS, app

DESIGNS = Path(str(files("doseladder.examples"))) / "designs"
HEAVY = ("scipy", "pandas", "numba", "sqlalchemy", "fastapi", "dask", "matplotlib")


def _imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return {m.split(".")[0] for m in json.loads(out.strip().splitlines()[-1])}


def test_importing_the_cli_does_not_import_heavy_libraries() -> None:
    loaded = _imported_after("import doseladder.cli.main")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_lists_every_command_without_importing_them() -> None:
    code = (
        "from typer.testing import CliRunner\n"
        "from doseladder.cli.main import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(r.output)"
    )
    loaded = _imported_after(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    result = CliRunner().invoke(app, ["--help"])
    for name in [*LAZY_COMMANDS, "table", "decide", "select"]:
        assert name in result.output, name


def test_a_lazy_command_runs_and_has_its_own_help() -> None:
    result = CliRunner().invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0, result.output
    assert "--scenario" in result.output


def test_json_errors_are_json() -> None:
    result = CliRunner().invoke(
        app, ["decide", str(DESIGNS / "boin.yaml"), "--outcomes", "9NNN", "--json"]
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    err = json.loads(lines[0])["error"]
    assert err["field"] and "outside 1..5" in err["reason"]


@pytest.mark.parametrize(
    ("args", "extra", "module"),
    [
        (["serve"], "web", "fastapi"),
        (
            ["simulate", "{boin}", "--scenario", "{sc}", "--scheduler", "local"],
            "dask",
            "distributed",
        ),
    ],
)
def test_a_missing_extra_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], extra: str, module: str
) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def fake(name: str, *a: object, **k: object) -> object:
        return None if name == module else real(name, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    sc = tmp_path / "s.yaml"
    sc.write_text("p_tox: [0.05, 0.1, 0.2, 0.3, 0.5]\n")
    argv = [a.format(boin=DESIGNS / "boin.yaml", sc=sc) for a in args]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"doseladder[{extra}]" in lines[0]
    assert "Traceback" not in result.output


def test_lazy_registry_names_real_commands() -> None:
    """Every registry entry's module registers the command it is listed under."""
    for name in LAZY_COMMANDS:
        assert cli_main.app is app
        result = CliRunner().invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)


@pytest.mark.parametrize(
    ("args", "extra", "module"),
    [
        (["admin", "create-user", "alice", "--role", "admin"], "web", "sqlalchemy"),
        (["trial", "pack", "T1", "--format", "html"], "web", "sqlalchemy"),
        (["trial", "pack", "T1", "--format", "pdf"], "report", "typst"),
        (["report", "str-p004-nct07143617", "--format", "docx"], "report", "docx"),
        (["report", "str-p004-nct07143617", "--format", "html"], "report", "matplotlib"),
    ],
)
def test_commands_needing_an_extra_name_it_before_doing_anything(
    monkeypatch: pytest.MonkeyPatch, args: list[str], extra: str, module: str
) -> None:
    """The check comes first: no password prompt, no database, no simulation."""
    import importlib.util

    real = importlib.util.find_spec

    def fake(name: str, *a: object, **k: object) -> object:
        return None if name == module else real(name, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    error = json.loads(lines[0])["error"]
    assert f"doseladder[{extra}]" in error["reason"] and module in error["reason"], error
    assert result.stdout == ""


def test_decide_imports_only_its_design() -> None:
    """``doseladder decide`` on a BOIN design file imports neither scipy.stats nor pandas nor
    the other designs' modules (issue #12 item 5: decide under half a second)."""
    import subprocess
    import sys
    from pathlib import Path

    import doseladder

    boin = Path(doseladder.__file__).parent / "examples" / "designs" / "boin.yaml"
    code = "\n".join(
        [
            "import runpy, sys",
            f"sys.argv = ['doseladder', 'decide', {str(boin)!r}, '--outcomes', '1NNN']",
            "try:",
            "    runpy.run_module('doseladder', run_name='__main__')",
            "except SystemExit:",
            "    pass",
            "heavy = ('pandas', 'scipy.stats', 'numba')",
            "others = ('boin12', 'crm', 'tite_crm', 'keyboard', 'bf_boin', 'three_plus_three')",
            "print(sorted(m for m in sys.modules if m in heavy or (",
            "    m.startswith('doseladder.core.designs.') and m.rsplit('.', 1)[-1] in others)))",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "escalate" in out
    assert out.strip().splitlines()[-1] == "[]"
