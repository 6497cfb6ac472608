"""Weighted isotonic (non-decreasing) regression by pool-adjacent-violators (PAVA).

Used by BOIN's ``select.mtd`` (Liu & Yuan 2015; BOIN 2.7.2 ``R/select.mtd.R``) and by BOIN12's
OBD selection (Lin et al. 2020).  The weighted least-squares isotonic fit is unique, so the order
in which violators are pooled does not change the result.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["pava"]


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
    means: list[float] = []
    wts: list[float] = []
    counts: list[int] = []
    for v, wi in zip(values, w, strict=True):
        means.append(float(v))
        wts.append(wi)
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            w2 = wts[-2] + wts[-1]
            m2 = (means[-2] * wts[-2] + means[-1] * wts[-1]) / w2
            c2 = counts[-2] + counts[-1]
            del means[-2:], wts[-2:], counts[-2:]
            means.append(m2)
            wts.append(w2)
            counts.append(c2)
    out: list[float] = []
    for m, c in zip(means, counts, strict=True):
        out.extend([m] * c)
    return out
