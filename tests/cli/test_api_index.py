"""The API index (docs/api.md) names only things that exist, in modules the reference documents.

Every backticked ``doseladder.…`` name in the index's tables is imported; the module it is an
attribute of must be one that ``scripts/api-docs`` hands to pdoc, or a submodule of one (pdoc
documents a package's submodules; the top-level page without them).  Names marked † must also
be importable from the top level and be the very same object.  A renamed or removed function
fails here, before a user follows a dead link.
"""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

import doseladder

ROOT = Path(__file__).resolve().parents[2]
INDEX = ROOT / "docs" / "api.md"
API_DOCS = ROOT / "scripts" / "api-docs"
ROW = re.compile(r"^\|\s*`(doseladder(?:\.\w+)+)`\s*(†)?\s*\|", re.MULTILINE)


def _rows() -> list[tuple[str, bool]]:
    return [(m.group(1), bool(m.group(2))) for m in ROW.finditer(INDEX.read_text())]


def _documented_modules() -> list[str]:
    words = shlex.split(API_DOCS.read_text(), comments=True)
    return [w for w in words if re.fullmatch(r"doseladder(\.\w+)*", w)]


def _resolve(dotted: str) -> tuple[str, Any]:
    """(module, object) for ``package.module.attr[.attr]``: the attribute a user gets with
    ``from package.module import attr`` (a function shadows a submodule of the same name, as
    ``doseladder.simulate.compare`` does)."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        obj: Any = module
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            continue
        return ".".join(parts[:i]), obj
    raise AssertionError(f"{dotted}: not importable")


def test_the_index_lists_the_main_entry_points() -> None:
    names = {n for n, _ in _rows()}
    for expected in (
        "doseladder.simulate.simulate",
        "doseladder.simulate.compare",
        "doseladder.simulate.simulate_protocol",
        "doseladder.decide",
        "doseladder.core.rules.recommend",
        "doseladder.core.designs.BOIN",
    ):
        assert expected in names, expected


@pytest.mark.parametrize(("dotted", "top"), _rows(), ids=[n for n, _ in _rows()])
def test_each_indexed_name_exists_and_is_documented(dotted: str, top: bool) -> None:
    module, obj = _resolve(dotted)
    assert obj is not None
    assert callable(obj), f"{dotted} is not the function or class the index promises"
    documented = _documented_modules()
    # the top-level page is built without its subpackages ('!doseladder\..*')
    assert any(
        module == m or (m != "doseladder" and module.startswith(m + ".")) for m in documented
    ), f"{module} is not in the modules scripts/api-docs documents: {documented}"
    if top:
        short = dotted.rsplit(".", 1)[1]
        assert short in doseladder.__all__, short
        assert getattr(doseladder, short) is obj, short


def test_every_top_level_export_is_in_the_index() -> None:
    marked = {n.rsplit(".", 1)[1] for n, top in _rows() if top}
    assert set(doseladder.__all__) - {"__version__"} == marked
