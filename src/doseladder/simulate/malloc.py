"""Keep NumPy's temporaries in the heap of simulation processes (glibc only).

The kernels allocate and free many arrays of 0.1-10 MB per block.  With glibc's defaults each
one above the mmap threshold is mapped and unmapped again, and freed heap is trimmed back to
the OS: a worker then spends as much time in the kernel (page faults) as in NumPy -- which made
two Dask workers slower than one process.  Raising ``M_MMAP_THRESHOLD`` and
``M_TRIM_THRESHOLD`` keeps that memory in the process for reuse.

:data:`MALLOC_ENV` is the same setting as environment variables, for processes started by
others (Dask's nanny sets them before spawning its worker: ``distributed.nanny.pre-spawn-environ``;
on a SLURM cluster export them in the job script).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["MALLOC_ENV", "tune_malloc"]

_THRESHOLD = 256 * 1024 * 1024  # 256 MB: every kernel temporary stays in the heap
#: glibc reads these at process start-up
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(_THRESHOLD),
    "MALLOC_TRIM_THRESHOLD_": str(2 * _THRESHOLD),
}
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False


def tune_malloc() -> bool:
    """Apply the thresholds to this process (once); ``False`` where glibc is not available.

    Changes only how freed memory is kept for reuse, never results.
    """
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, 2 * _THRESHOLD)
    )
    _done = ok
    return ok
