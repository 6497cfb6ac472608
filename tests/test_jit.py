"""The compile decorators of ``doseladder.jit``."""

from __future__ import annotations

import numpy as np

from doseladder.jit import compiled_inline, compiled_without_refcounts


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
