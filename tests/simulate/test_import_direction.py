"""``simulate`` never imports ``io`` (``io`` builds simulate's scenario objects, so the reverse
edge would be an import cycle): no module of the package imports ``doseladder.io``, at the top
or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import doseladder.simulate

PACKAGE = Path(doseladder.simulate.__file__).parent


def _imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
    return names


def test_simulate_does_not_import_io() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    offending = {
        str(f.relative_to(PACKAGE)): name
        for f in files
        for name in _imported(ast.parse(f.read_text(encoding="utf-8")))
        if name == "doseladder.io" or name.startswith("doseladder.io.")
    }
    assert offending == {}


def test_the_check_sees_an_io_import() -> None:
    tree = ast.parse("def f():\n    from doseladder.io.design_file import load_mapping\n")
    assert "doseladder.io.design_file" in _imported(tree)
