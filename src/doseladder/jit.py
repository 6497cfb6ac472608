"""Compiled hot loops: Numba, cached on disk so no command pays compilation twice.

The simulation kernels' per-trial loops are compiled with :func:`compiled` (Numba's ``njit``
with ``cache=True``): the machine code is written next to the module's bytecode
(``__pycache__``) or, where that folder is not writable (a system-wide install), to Numba's
per-user cache folder; ``NUMBA_CACHE_DIR`` moves it.  The first call of a function in a fresh
install compiles it (the cost is measured in ``benchmarks/`` and BENCHMARKS.md); later calls
and later processes load the cached code.

``NUMBA_DISABLE_JIT=1`` runs the very same functions as plain Python -- slow, but handy for a
debugger or coverage; results are identical.

Only simulation modules import this module (and so Numba): the CLI's start-up stays free of it
(``tests/cli/test_startup.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from numba import njit

__all__ = ["compiled", "compiled_inline"]

F = TypeVar("F", bound=Callable[..., Any])


def compiled(fn: F) -> F:
    """Compile ``fn`` in Numba's nopython mode, cached on disk, releasing the GIL."""
    return njit(cache=True, nogil=True)(fn)  # type: ignore[return-value]


def compiled_inline(fn: F) -> F:
    """:func:`compiled`, and inlined (at Numba's IR level) into the compiled functions that
    call it: for small per-trial rules called in a hot loop, where a call's cost (reference
    counting of every array argument) would exceed the rule's own work."""
    return njit(cache=True, nogil=True, inline="always")(fn)  # type: ignore[return-value]
