"""Weighted isotonic (non-decreasing) regression by pool-adjacent-violators (PAVA).

The scalar :func:`pava` is the reference; :func:`pava_arrays` is the same algorithm, with the
same arithmetic, for many sequences at once (dose-major arrays, compiled in
:mod:`doseladder.core.isotonic_compiled`), used by every simulation kernel.

:func:`unimodal_fit` is the weighted least-squares unimodal fit with a given mode (the fit of
``Iso::ufit`` with ``lmode``), used by the ``phase12designs`` efficacy estimate of BOIN12's OBD
selection.

Used by BOIN's ``select.mtd`` (Liu & Yuan 2015; BOIN 2.7.2 ``R/select.mtd.R``) and by BOIN12's
OBD selection (Lin et al. 2020).  The weighted least-squares isotonic fit is unique, so the order
in which violators are pooled does not change the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["pava", "pava_arrays", "unimodal_fit"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def pava(values: Sequence[float], weights: Sequence[float] | None = None) -> list[float]:
    """Return the non-decreasing sequence closest to ``values`` in weighted least squares.

    >>> pava([0.1, 0.3, 0.2, 0.4])
    [0.1, 0.25, 0.25, 0.4]
    """
    n = len(values)
    w = [1.0] * n if weights is None else [float(x) for x in weights]
    if len(w) != n:
        raise ValueError("values and weights must have the same length")
    # blocks: (mean, weight, count)
    means, _, counts = _pava_blocks(values, w)
    out: list[float] = []
    for m, c in zip(means, counts, strict=True):
        out.extend([m] * c)
    return out


def _pava_blocks(
    values: Sequence[float], weights: Sequence[float]
) -> tuple[list[float], list[float], list[int]]:
    """PAVA's blocks (means, total weights, lengths), pooled in the order of :func:`pava`."""
    means: list[float] = []
    wts: list[float] = []
    counts: list[int] = []
    for v, wi in zip(values, weights, strict=True):
        means.append(float(v))
        wts.append(float(wi))
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            w2 = wts[-2] + wts[-1]
            m2 = (means[-2] * wts[-2] + means[-1] * wts[-1]) / w2
            c2 = counts[-2] + counts[-1]
            del means[-2:], wts[-2:], counts[-2:]
            means.append(m2)
            wts.append(w2)
            counts.append(c2)
    return means, wts, counts


def unimodal_fit(values: Sequence[float], weights: Sequence[float], mode: int) -> list[float]:
    """Return the weighted least-squares fit to ``values`` that is non-decreasing up to index
    ``mode`` (0-based) and non-increasing from it (the fit of R ``Iso::ufit(y, lmode, w)``).

    Each side is fitted by PAVA (the right side in reverse); then, while the top block of
    either side lies above the mode's value, the higher of the two is pooled into the mode.

    >>> unimodal_fit([0.1, 0.5, 0.3, 0.4, 0.2], [1, 1, 1, 1, 1], 1)
    [0.1, 0.5, 0.35, 0.35, 0.2]
    """
    n = len(values)
    if len(weights) != n:
        raise ValueError("values and weights must have the same length")
    if not 0 <= mode < n:
        raise ValueError(f"mode must be an index of values, got {mode}")
    left = _pava_blocks(values[:mode], weights[:mode])
    right = _pava_blocks(list(values[mode + 1 :])[::-1], list(weights[mode + 1 :])[::-1])
    top, top_w, top_c = float(values[mode]), float(weights[mode]), 1
    while True:
        lv = left[0][-1] if left[0] else -np.inf
        rv = right[0][-1] if right[0] else -np.inf
        if max(lv, rv) <= top:
            break
        side = left if lv >= rv else right
        m, wb, c = side[0].pop(), side[1].pop(), side[2].pop()
        top, top_w, top_c = (top * top_w + m * wb) / (top_w + wb), top_w + wb, top_c + c
    out: list[float] = []
    for m, c in zip(left[0], left[2], strict=True):
        out.extend([m] * c)
    out.extend([top] * top_c)
    for m, c in zip(right[0][::-1], right[2][::-1], strict=True):
        out.extend([m] * c)
    return out


def pava_arrays(values: FloatArray, weights: FloatArray, mask: BoolArray) -> FloatArray:
    """Pool-adjacent-violators for every trial (dose-major), in the core's order of operations.

    Column r is :func:`pava` of ``values[mask, r]`` with ``weights[mask, r]`` (positions where
    ``mask`` is False are skipped; their output is NaN).  The compiled
    :func:`~doseladder.core.isotonic_compiled.pava_columns` (imported here lazily, so the core's
    scalar functions never load Numba) pushes blocks in dose order and pools the last two while
    they violate the order, with the same arithmetic as :func:`pava`: results are bit-identical.
    """
    from doseladder.core.isotonic_compiled import pava_columns

    v = np.ascontiguousarray(values, dtype=np.float64)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    m = np.ascontiguousarray(mask, dtype=np.bool_)
    return np.asarray(pava_columns(v, w, m), dtype=np.float64)
