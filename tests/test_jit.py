"""The compile decorators of ``doseladder.jit`` and compilation in a child process
(``run_compiled``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

import doseladder
from doseladder.jit import COMPILE_IN_CHILD_ENV, compiled_inline, compiled_without_refcounts


@compiled_inline
def _clip_add(a: np.ndarray, i: int, x: float) -> None:
    a[i] = min(a[i] + x, 1.0)


@compiled_without_refcounts
def _accumulate(a: np.ndarray, xs: np.ndarray) -> int:
    # arrays handed to an inlined function, as in the kernels' hot loops
    for k in range(xs.shape[0]):
        _clip_add(a, k % a.shape[0], xs[k])
    return int(a.shape[0])


def test_compiled_without_refcounts_runs_the_python_function() -> None:
    rng = np.random.default_rng(3)
    xs = rng.random(50) / 4
    fast, slow = np.zeros(7), np.zeros(7)
    assert _accumulate(fast, xs) == 7
    _accumulate.py_func(slow, xs)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(fast, slow)
    assert _accumulate.targetoptions["_nrt"] is False  # type: ignore[attr-defined]


# ------------------------------------------------------- compilation in a child process
#: a module with one compiled function, written to a temporary folder and used by fresh
#: processes (each test controls the compiled-code cache they share)
_PROBE_MODULE = """
import numpy as np
from doseladder.jit import compiled

@compiled
def sum_squares(xs):
    s = 0.0
    for x in xs:
        s += x * x
    return s

def run(n):
    return sum_squares(np.arange(n, dtype=np.float64) / 7.0)
"""

#: a fresh "simulating" process: runs the probe through run_compiled and reports how the
#: compiled function got into it (Numba's dispatcher statistics)
_PROBE_RUN = """
import json, sys
import jitprobe
from doseladder.jit import run_compiled_how
if len(sys.argv) > 1:
    sys.executable = sys.argv[1]  # e.g. a program that cannot start the child
result, how = run_compiled_how(jitprobe.run, 1000)
stats = jitprobe.sum_squares.stats
print(json.dumps({
    "result": result, "how": how,
    "hits": sum(stats.cache_hits.values()),
    "overloads": len(jitprobe.sum_squares.overloads),
}))
"""


def _probe(
    tmp_path: Path, cache: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    (tmp_path / "jitprobe.py").write_text(_PROBE_MODULE)
    src = Path(doseladder.__file__).resolve().parent.parent
    full_env = {k: v for k, v in os.environ.items() if k != COMPILE_IN_CHILD_ENV}
    full_env |= {
        "NUMBA_CACHE_DIR": str(cache),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(src)]),
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-c", _PROBE_RUN, *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def _expected() -> float:
    xs = np.arange(1000, dtype=np.float64) / 7.0
    s = 0.0
    for x in xs:
        s += x * x
    return s


def test_a_cold_cache_is_compiled_in_a_child_and_loaded_by_the_parent(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _result(_probe(tmp_path, cache))
    assert cold["how"] == "compiled in a child process"
    # the parent's function came from the cache the child wrote: it compiled nothing
    assert cold["hits"] == 1 and cold["overloads"] == 1
    assert cold["result"] == _expected()
    assert list(cache.rglob("*.nbi"))
    warm = _result(_probe(tmp_path, cache))
    assert warm["how"] == "cached" and warm["hits"] == 1
    assert warm["result"] == cold["result"]


def test_without_the_child_the_parent_compiles(tmp_path: Path) -> None:
    opted_out = _result(_probe(tmp_path, tmp_path / "c1", env={COMPILE_IN_CHILD_ENV: "0"}))
    assert opted_out["how"] == "compiled in this process"
    assert opted_out["hits"] == 0 and opted_out["overloads"] == 1
    assert opted_out["result"] == _expected()
    # a child that cannot start: the parent compiles, the run does not fail
    failed = _result(_probe(tmp_path, tmp_path / "c2", str(tmp_path / "no-such-python")))
    assert failed["how"] == "compiled in this process"
    assert failed["hits"] == 0 and failed["result"] == _expected()


def test_processes_missing_the_same_function_at_once_compile_it_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    procs = [_probe(tmp_path, cache) for _ in range(2)]
    results = [_result(p) for p in procs]
    # neither process compiled: one child did, the other process waited and loaded it
    assert all(r["hits"] == 1 and r["result"] == _expected() for r in results)
    assert sorted(r["how"] for r in results) == ["cached", "compiled in a child process"]
    assert _result(_probe(tmp_path, cache))["how"] == "cached"


def test_a_simulation_with_a_cold_cache_equals_the_in_process_one(tmp_path: Path) -> None:
    """The engine's blocks run through run_compiled: with an empty cache the kernel is
    compiled by a child and the simulating process loads it; the result is the one of a
    process that compiled it itself (opt-out, another empty cache) and of this process."""
    from doseladder.core.designs.boin import BOIN
    from doseladder.simulate.engine import simulate
    from doseladder.simulate.scenario import Scenario

    design = BOIN(target=0.3, num_doses=4, max_n=24)
    scenario = Scenario(p_tox=(0.05, 0.15, 0.3, 0.45))
    code = (
        "import json\n"
        "from doseladder.core.designs.boin import BOIN\n"
        "from doseladder.simulate.engine import simulate\n"
        "from doseladder.simulate.kernels import cohort_loop\n"
        "from doseladder.simulate.scenario import Scenario\n"
        "r = simulate(BOIN(target=0.3, num_doses=4, max_n=24),\n"
        "             Scenario(p_tox=(0.05, 0.15, 0.3, 0.45)), 3000, seed=5)\n"
        "hits = sum(cohort_loop._interval_trials.stats.cache_hits.values())\n"
        "print(json.dumps({'hits': hits, 'result': r.to_dict()}, sort_keys=True))\n"
    )
    src = Path(doseladder.__file__).resolve().parent.parent

    def run(cache: Path, **extra: str) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if k != COMPILE_IN_CHILD_ENV}
        env |= {"NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(src), **extra}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout
        return dict(json.loads(out.strip().splitlines()[-1]))

    via_child = run(tmp_path / "a")
    assert via_child["hits"] == 1  # the simulating process loaded the kernel, compiled nothing
    in_process = run(tmp_path / "b", **{COMPILE_IN_CHILD_ENV: "0"})
    assert in_process["hits"] == 0  # it compiled the kernel itself
    expected = json.dumps(in_process["result"], sort_keys=True)
    assert json.dumps(via_child["result"], sort_keys=True) == expected
    here = simulate(design, scenario, 3000, seed=5).to_dict()
    assert json.dumps(here, sort_keys=True) == expected
