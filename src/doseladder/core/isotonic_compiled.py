"""Compiled pool-adjacent-violators (the vectorised form of :func:`doseladder.core.isotonic.pava`).

:func:`pava_masked` is the scalar :func:`~doseladder.core.isotonic.pava` on the positions of a
mask, with the same pushing/pooling order and the same arithmetic (so results are
bit-identical); :func:`pava_columns` applies it to every column of dose-major arrays.  Compiled
with :func:`doseladder.jit.compiled` (Numba), so this module is imported lazily by
:func:`doseladder.core.isotonic.pava_arrays` and by the compiled selections -- the core's
scalar functions (and the CLI's ``decide``) never load Numba.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from doseladder.jit import compiled, compiled_inline

__all__ = ["pava_columns", "pava_masked"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@compiled_inline
def pava_masked(work: FloatArray, mask: BoolArray, blocks: NDArray[np.int64]) -> None:
    """PAVA of ``work[0][mask]`` with weights ``work[1][mask]`` into ``work[4]`` (NaN where
    not ``mask``).

    ``work`` is a (5, J) array (values, weights, then scratch for the block means and weights,
    then the result) and ``blocks`` (J,) scratch for the block lengths: few arrays, so that a
    compiled call costs little.  Blocks are pushed in order and the last two pooled while they
    violate the order: ``(m1 w1 + m2 w2) / (w1 + w2)``, as :func:`~doseladder.core.isotonic.pava`.
    """
    top = 0
    num = work.shape[1]
    for j in range(num):
        if not mask[j]:
            continue
        work[2, top] = work[0, j]
        work[3, top] = work[1, j]
        blocks[top] = 1
        top += 1
        while top > 1 and work[2, top - 2] > work[2, top - 1]:
            w2 = work[3, top - 2] + work[3, top - 1]
            m2 = (work[2, top - 2] * work[3, top - 2] + work[2, top - 1] * work[3, top - 1]) / w2
            work[2, top - 2] = m2
            work[3, top - 2] = w2
            blocks[top - 2] += blocks[top - 1]
            top -= 1
    block = 0
    used = 0
    for j in range(num):
        if not mask[j]:
            work[4, j] = np.nan
            continue
        if used == blocks[block]:
            block += 1
            used = 0
        work[4, j] = work[2, block]
        used += 1


@compiled
def pava_columns(values: FloatArray, weights: FloatArray, mask: BoolArray) -> FloatArray:
    """:func:`pava_masked` of every column of dose-major ``(J, R)`` arrays."""
    num, cols = values.shape
    out = np.empty((num, cols))
    work = np.empty((5, num))
    m = np.empty(num, dtype=np.bool_)
    blocks = np.empty(num, dtype=np.int64)
    for r in range(cols):
        for j in range(num):
            work[0, j] = values[j, r]
            work[1, j] = weights[j, r]
            m[j] = mask[j, r]
        pava_masked(work, m, blocks)
        for j in range(num):
            out[j, r] = work[4, j]
    return out
