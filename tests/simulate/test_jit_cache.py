"""The compiled code's cache folder follows every module holding compiled code (Numba alone
checks a cached function against its own file only, so an inlined rule from another file
would go stale)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import doseladder
from doseladder import jit


def _copy_package(tmp: Path) -> Path:
    src = Path(doseladder.__file__).parent
    dst = tmp / "doseladder"
    for entry in jit.COMPILED_MODULES:
        path = src / entry
        target = dst / entry
        if path.is_dir():
            shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return dst


def test_stamp_changes_when_a_rule_module_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _copy_package(tmp_path)
    monkeypatch.setattr(jit, "_PACKAGE", package)
    before = jit._stamp()
    assert jit._stamp() == before  # a pure function of the files
    rule = package / "core" / "designs" / "arrays" / "boin.py"
    st = rule.stat()
    os.utime(rule, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    after = jit._stamp()
    assert after != before
    (package / "simulate" / "kernels" / "cohort_loop.py").write_text("# edited\n")
    assert jit._stamp() not in (before, after)
