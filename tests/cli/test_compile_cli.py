"""``doseladder compile``: fills the compiled-code cache (in a child process) ahead of time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from typer.testing import CliRunner

import doseladder
from doseladder.cli.main import app
from doseladder.jit import COMPILE_IN_CHILD_ENV

DESIGNS = Path(str(files("doseladder.examples"))) / "designs"


def _compile(cache: Path, *args: str) -> dict[str, object]:
    src = Path(doseladder.__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != COMPILE_IN_CHILD_ENV}
    env |= {"NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-m", "doseladder", "compile", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out))


def test_compile_fills_the_cache_once(tmp_path: Path) -> None:
    design = str(DESIGNS / "boin.yaml")
    first = _compile(tmp_path, design)
    assert first["cache"] == str(tmp_path)
    (row,) = first["designs"]  # type: ignore[misc]
    assert (row["file"], row["design"], row["how"]) == (
        design,
        "boin",
        "compiled in a child process",
    )
    assert list(tmp_path.rglob("*.nbi"))
    (again,) = _compile(tmp_path, design)["designs"]  # type: ignore[misc]
    assert again["how"] == "cached"


def test_compile_rejects_a_bad_design_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("design: no-such-design\n")
    result = CliRunner().invoke(app, ["compile", str(bad)])
    assert result.exit_code == 2
    assert "no-such-design" in result.stderr
