"""Vectorised building blocks shared by the kernels."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["isotonic_minmax", "take_at_dose"]


def take_at_dose(
    values: NDArray[np.generic], rows: NDArray[np.intp], dose: NDArray[np.intp], k: NDArray[np.intp]
) -> NDArray[np.generic]:
    """``values[rows, dose, k]`` -- the latent outcome of the k-th patient at a dose."""
    return values[rows, dose, k]


def isotonic_minmax(est: NDArray[np.float64], weight: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted isotonic regression of each row, exactly, without a per-row loop.

    Uses the min-max characterisation p̃_j = max_{a ≤ j} min_{b ≥ j} Av(a, b), where Av is the
    weighted mean over positions a..b.  Positions with weight 0 are ignored (their output is
    meaningless); this equals PAVA on the subsequence of positive-weight positions.  O(J²)
    array operations for J columns, which is cheap for dose-finding (J ≤ ~12).
    """
    out = est.copy()
    pos = weight > 0
    # rows already non-decreasing over their positive-weight positions need no pooling
    running = np.maximum.accumulate(np.where(pos, est, -np.inf), axis=1)
    bad = (pos & (est < running)).any(axis=1)
    if bad.any():
        out[bad] = _minmax(est[bad], weight[bad])
    return out


def _minmax(est: NDArray[np.float64], weight: NDArray[np.float64]) -> NDArray[np.float64]:
    nrow, j = est.shape
    cw = np.concatenate([np.zeros((nrow, 1)), np.cumsum(weight, axis=1)], axis=1)
    cwx = np.concatenate([np.zeros((nrow, 1)), np.cumsum(weight * est, axis=1)], axis=1)
    out = np.empty_like(est)
    for col in range(j):
        best = np.full(nrow, -np.inf)
        for a in range(col + 1):
            worst = np.full(nrow, np.inf)
            for b in range(col, j):
                w = cw[:, b + 1] - cw[:, a]
                with np.errstate(invalid="ignore", divide="ignore"):
                    av = np.where(
                        w > 0, (cwx[:, b + 1] - cwx[:, a]) / np.where(w > 0, w, 1.0), np.inf
                    )
                worst = np.minimum(worst, av)
            # a window starting at a zero-weight block that is empty up to col gives +inf
            best = np.maximum(best, np.where(np.isinf(worst), -np.inf, worst))
        out[:, col] = best
    return out
