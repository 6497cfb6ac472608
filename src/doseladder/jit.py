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

Compilation in a child process (:func:`run_compiled`): LLVM's memory stays with the process
that compiled -- a simulation that compiled its kernel first peaks at ~0.55 GB instead of ~0.3 GB
(BENCHMARKS.md, issue #12 item 4).  So the simulation engine runs each block through
:func:`run_compiled`: the block runs in this process with compilation forbidden (Numba's
``numba:compile`` event, which Numba raises only after its on-disk cache missed); if a compiled
function is missing from the cache, a short-lived child process (``sys.executable``, the task
pickled on its stdin) runs the same block, compiling and writing the cache, and this process
then runs the block again, loading the code from disk.  The kernels are pure functions of their
task, so results are bit-identical whichever process compiled.  Details:

* concurrency: the compiling step holds a file lock (``compile.lock`` in the cache folder,
  POSIX ``flock``), so processes or Dask workers that miss the same kernel at once compile it
  once; a waiting process retries from the cache first.  (Numba writes its cache files by
  atomic rename; the lock only avoids compiling twice and losing an index entry.)
* failure: if the child cannot start, fails or times out, or its cache cannot be read back,
  this process compiles, as without the child (a warning is logged); a simulation never fails
  because of the child.
* opt-out: ``DOSELADDER_COMPILE_IN_CHILD=0`` (:data:`COMPILE_IN_CHILD_ENV`) compiles in the
  simulating process itself.
* ahead of time: ``doseladder compile`` fills the cache for given design files (default: the
  example designs).

Only the array rules (``core/designs/arrays``, ``core/isotonic_compiled.py``, imported lazily by
the designs' ``decide_arrays`` / ``select_arrays`` and by ``pava_arrays``), the simulation
kernels, and -- inside the functions that run blocks or ``doseladder compile`` -- the simulation
engine and the CLI import this module (and so Numba): the CLI's start-up and the core's scalar
``decide`` stay free of it (``tests/cli/test_startup.py``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from numba import config, njit
from numba.core import event

__all__ = [
    "COMPILE_IN_CHILD_ENV",
    "CompilationNeeded",
    "cache_folder",
    "compiled",
    "compiled_inline",
    "compiled_without_refcounts",
    "run_compiled",
    "run_compiled_how",
]

F = TypeVar("F", bound=Callable[..., Any])
A = TypeVar("A")
R = TypeVar("R")

_log = logging.getLogger(__name__)

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


def cache_folder() -> str:
    """The folder of the compiled-code cache (Numba's ``CACHE_DIR``)."""
    return str(config.CACHE_DIR)  # type: ignore[attr-defined]


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


# ------------------------------------------------------------ compilation in a child process
#: environment variable: ``0`` (or ``false`` / ``no`` / ``off``) compiles in the simulating
#: process itself instead of a child process
COMPILE_IN_CHILD_ENV = "DOSELADDER_COMPILE_IN_CHILD"
#: seconds a compile child may take before this process compiles by itself
CHILD_TIMEOUT_S = 900.0

How = Literal["cached", "compiled in a child process", "compiled in this process"]


class CompilationNeeded(RuntimeError):
    """Raised (inside :func:`run_compiled`) where Numba would compile: the cache missed."""


_guard = threading.local()


class _ForbidCompilation(event.Listener):
    """Raises :class:`CompilationNeeded` when Numba starts compiling (after its cache missed)
    in a thread that runs with compilation forbidden."""

    def on_start(self, event: event.Event) -> None:
        if getattr(_guard, "forbidden", False):
            dispatcher = event.data.get("dispatcher") if isinstance(event.data, dict) else None
            name = getattr(getattr(dispatcher, "py_func", None), "__qualname__", "?")
            raise CompilationNeeded(f"{name} is not in the compiled-code cache")

    def on_end(self, event: event.Event) -> None:
        pass


_listener: _ForbidCompilation | None = None
_listener_lock = threading.Lock()


@contextmanager
def _cache_only() -> Iterator[None]:
    """Compilation forbidden in this thread: a cache miss raises :class:`CompilationNeeded`."""
    global _listener
    with _listener_lock:
        if _listener is None:
            _listener = _ForbidCompilation()
            event.register("numba:compile", _listener)  # type: ignore[no-untyped-call]
    before = getattr(_guard, "forbidden", False)
    _guard.forbidden = True
    try:
        yield
    finally:
        _guard.forbidden = before


def _child_enabled() -> bool:
    value = os.environ.get(COMPILE_IN_CHILD_ENV, "1").strip().lower()
    return value not in ("0", "false", "no", "off")


@contextmanager
def _compile_lock() -> Iterator[None]:
    """An exclusive lock on ``compile.lock`` in the cache folder (none where ``fcntl`` or the
    folder is not available: compilation is then merely not serialised)."""
    try:
        import fcntl

        folder = Path(config.CACHE_DIR)  # type: ignore[attr-defined]
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / "compile.lock", "a+b")  # noqa: SIM115 - closed below
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # releases the lock


_CHILD = "from doseladder.jit import _child_main; _child_main()"


def _compile_in_child(fn: Callable[[A], Any], arg: A) -> str | None:
    """Run ``fn(arg)`` in a fresh Python process sharing this process's cache folder (which it
    fills); ``None`` on success, else why it failed."""
    try:
        payload = pickle.dumps((fn, arg))
    except Exception as exc:  # any pickling failure: compile here instead
        return f"cannot send the task: {exc}"
    env = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(config.CACHE_DIR),  # type: ignore[attr-defined]
        COMPILE_IN_CHILD_ENV: "0",
        # this very package first, so the child compiles (and caches) the same files, then
        # this process's import path, so the child unpickles what this process can import
        "PYTHONPATH": os.pathsep.join([str(_PACKAGE.parent), *filter(None, sys.path)]),
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-P", "-c", _CHILD],  # -P: not the working directory first
            input=payload,
            env=env,
            capture_output=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return f"exit status {proc.returncode}: {tail[0]}"
    return None


def _child_main() -> None:
    """Entry point of the compile child: run the pickled ``fn(arg)`` from stdin, discard the
    result (what matters is the cache it wrote)."""
    fn, arg = pickle.loads(sys.stdin.buffer.read())
    fn(arg)


def run_compiled_how(fn: Callable[[A], R], arg: A) -> tuple[R, How]:
    """:func:`run_compiled`, and how the compiled code was obtained."""
    try:
        with _cache_only():
            return fn(arg), "cached"
    except CompilationNeeded:
        if not _child_enabled():
            return fn(arg), "compiled in this process"
    with _compile_lock():
        try:  # another process may have compiled it while this one waited for the lock
            with _cache_only():
                return fn(arg), "cached"
        except CompilationNeeded:
            pass
        failure = _compile_in_child(fn, arg)
        if failure is None:
            try:
                with _cache_only():
                    return fn(arg), "compiled in a child process"
            except CompilationNeeded as exc:
                failure = f"the child's cache cannot be read back ({exc})"
        _log.warning("compiling in this process: the compile child failed: %s", failure)
        return fn(arg), "compiled in this process"


def run_compiled(fn: Callable[[A], R], arg: A) -> R:
    """``fn(arg)`` without compiling in this process: compiled code missing from the on-disk
    cache is compiled by a short-lived child process running ``fn(arg)`` too (see the module
    docstring).  ``fn`` must be a module-level function and ``arg`` picklable, and
    ``fn(arg)`` a pure function of ``arg`` that may run more than once (it is re-run after
    the child compiled)."""
    return run_compiled_how(fn, arg)[0]
