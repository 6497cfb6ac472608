"""First-call cost of the compiled (Numba) kernels, and CPU-time timing.

:func:`first_call` runs ``setup`` then times ``call`` in two fresh processes sharing a new,
empty ``NUMBA_CACHE_DIR``: the first process compiles (and writes the on-disk cache), the
second loads the cached machine code -- what a later command pays.  Each figure is the wall
time of the first ``call`` (imports excluded; the import time is printed separately).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cpu_best_of(fn: Callable[[], object], repeat: int = 20) -> float:
    """Best CPU time (``time.process_time``) of ``repeat`` calls after a warm-up: less
    sensitive than wall time to other processes on a loaded machine."""
    fn()
    gc.collect()
    gc.disable()
    try:
        best = float("inf")
        for _ in range(repeat):
            t0 = time.process_time()
            fn()
            best = min(best, time.process_time() - t0)
    finally:
        gc.enable()
    return best


_PROBE = """
import json, time
t0 = time.perf_counter()
{setup}
t1 = time.perf_counter()
{call}
t2 = time.perf_counter()
{call}
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "first": t2 - t1, "second": t3 - t2}}))
"""


def first_call(setup: str, call: str) -> dict[str, dict[str, float]]:
    """{"compile": ..., "cached": ...}: import time, first call and second call (seconds) in a
    fresh process with an empty cache, then in another fresh process reading that cache."""
    code = _PROBE.format(setup=setup, call=call)
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        for label in ("compile", "cached"):
            res = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            out[label] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def print_first_call(name: str, setup: str, call: str) -> None:
    res = first_call(setup, call)
    for label, text in (("compile", "empty cache (compiles)"), ("cached", "cache on disk")):
        r = res[label]
        print(
            f"  {name}, fresh process, {text}: first call {r['first'] * 1e3:,.0f} ms, "
            f"second {r['second'] * 1e3:,.1f} ms (imports {r['import'] * 1e3:,.0f} ms)"
        )
