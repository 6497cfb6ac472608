"""Compiled hot loops: Numba, cached on disk so no command pays compilation twice.

The simulation kernels' per-trial loops are compiled with :func:`compiled` (Numba's ``njit``
with ``cache=True``).  The first call of a function in a fresh install compiles it (the cost is
measured in ``benchmarks/`` and BENCHMARKS.md); later calls and later processes load the cached
code.  :func:`compiled_inline` inlines small per-trial rules into their callers;
:func:`compiled_without_refcounts` compiles a hot loop that allocates nothing without Numba's
reference counting (the BOIN12 and TITE-BOIN kernels).

Where the cache lives: Numba checks a cached function against its *own* source file only, not
against the files of the compiled functions it calls -- a kernel loop in
``simulate/kernels/`` that inlines a rule of ``core/designs/arrays/`` would keep running the old
rule after that file changed.  So, unless ``NUMBA_CACHE_DIR`` is set (then Numba's own rules
apply), the cache goes to a folder named after a stamp (path, size, modification time) of every
module holding compiled code (:data:`COMPILED_MODULES`): ``$XDG_CACHE_HOME/doseladder/numba/
<stamp>`` (``~/.cache`` by default).  Editing any of them starts a new folder (and compiles once);
an installed release keeps one stamp.

``NUMBA_DISABLE_JIT=1`` runs the very same functions as plain Python -- slow, but handy for a
debugger or coverage; results are identical.

Only the array rules (``core/designs/arrays``, ``core/isotonic_compiled.py``, imported lazily by
the designs' ``decide_arrays`` / ``select_arrays`` and by ``pava_arrays``) and the simulation
kernels import this module (and so Numba): the CLI's start-up and the core's scalar ``decide``
stay free of it (``tests/cli/test_startup.py``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from numba import config, njit

__all__ = ["compiled", "compiled_inline", "compiled_without_refcounts"]

F = TypeVar("F", bound=Callable[..., Any])

_PACKAGE = Path(__file__).resolve().parent
#: the modules (files or folders, relative to the package) that define compiled functions
COMPILED_MODULES = (
    "jit.py",
    "core/isotonic_compiled.py",
    "core/designs/arrays",
    "simulate/kernels",
)


def _stamp() -> str:
    digest = hashlib.sha256()
    for entry in COMPILED_MODULES:
        path = _PACKAGE / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            st = f.stat()
            digest.update(f"{f.relative_to(_PACKAGE)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


if not os.environ.get("NUMBA_CACHE_DIR"):
    _base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    config.CACHE_DIR = str(_base / "doseladder" / "numba" / _stamp())  # type: ignore[attr-defined]


def compiled(fn: F) -> F:
    """Compile ``fn`` in Numba's nopython mode, cached on disk, releasing the GIL."""
    return njit(cache=True, nogil=True)(fn)  # type: ignore[return-value]


def compiled_inline(fn: F) -> F:
    """:func:`compiled`, and inlined (at Numba's IR level) into the compiled functions that
    call it: for small per-trial rules called in a hot loop, where a call's cost (reference
    counting of every array argument) would exceed the rule's own work."""
    return njit(cache=True, nogil=True, inline="always")(fn)  # type: ignore[return-value]


def compiled_without_refcounts(fn: F) -> F:
    """:func:`compiled` without Numba's reference counting of arrays (its option
    ``_nrt=False``, which Numba uses for its own hot string functions): for a hot loop that
    allocates no array (it cannot: without the runtime there is no allocation), only reads and
    writes the arrays it is given.  Every array a compiled function passes to an inlined one,
    and every slice assignment, is otherwise counted with an atomic operation, several per
    decision in the simulation kernels, which costs more than the rule itself."""
    jit: Any = njit  # (the private option is not in Numba's type stubs)
    return jit(cache=True, nogil=True, _nrt=False)(fn)  # type: ignore[no-any-return]
