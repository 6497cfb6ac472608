"""TITE-CRM for many trials at once: :func:`decide_tite_crm`, :func:`select_tite_crm`.

The array form of ``TITECRM._decide`` (dfcrm ``titecrm`` fit, ``titesim`` conduct) and
``TITECRM.select``.  Each trial's patients at its decision time come in ``data.patients``
(:class:`~doseladder.core.designs.arrays.PatientArrays`): a patient's DLT outcome is known at
``now`` when ``tox_at <= now`` (``tox_at`` = entry + DLT time, or entry + ``tox_window``
without DLT); patients with a known outcome have weight 1, the others (no DLT seen yet) the
dfcrm weight of their follow-up ``min(now − entry, tox_window)`` -- linear, or the adaptive
weight of :func:`~doseladder.core.designs.crm_model.tite_weights`, written here for arrays and
tested equal to it.  The fit is :func:`~doseladder.core.designs.crm_model.crm_fit_arrays`
with those partial weights (posterior mean by Gauss-Legendre quadrature; the scalar fit is
dfcrm's ``integrate``, so the two agree except at near-ties of |p̂_j − target|).

Conduct (shared with the CRM, :func:`~doseladder.core.designs.arrays.crm.crm_conduct_arrays`):
the recommended dose, at most one level above the current dose when ``restrict``; never
suspends; ``stop_tox_cutoff`` (Pr(p_1 > target | data) with the same TITE weights, as the
scalar rule), ``stop_n_mtd`` and ``max_n`` stop the trial.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from doseladder.core.designs.arrays.crm import (
    crm_conduct_arrays,
    crm_fit_rule_arrays,
    select_crm,
    too_toxic,
)
from doseladder.core.designs.arrays.interface import (
    ArrayDecision,
    DoseArrays,
    FloatArray,
    IntArray,
)
from doseladder.core.errors import InputError

if TYPE_CHECKING:
    from doseladder.core.designs.tite_crm import TITECRM

__all__ = ["adaptive_weight_arrays", "decide_tite_crm", "select_tite_crm", "tite_crm_weights"]


def adaptive_weight_arrays(followup: FloatArray, support: FloatArray, obswin: float) -> FloatArray:
    """Cheung & Chappell's adaptive weights of patients without a DLT, row by row.

    ``followup``: (R, P) follow-up times; ``support``: (R, Z) each trial's DLT times (``inf``
    padding).  The formulas of :func:`~doseladder.core.designs.crm_model.tite_weights`
    (linear when a trial has no DLT), capped at 1.
    """
    s = np.sort(support, axis=1)
    z = np.isfinite(s).sum(axis=1)[:, None]
    zf = z.astype(np.float64)
    width = s.shape[1]
    u = followup
    if width == 0:
        return np.minimum(u / obswin, 1.0)
    m = (s[:, None, :] <= u[:, :, None]).sum(axis=2)  # (R, P)
    sf = np.where(np.isfinite(s), s, obswin)

    def at(k: IntArray) -> FloatArray:
        return np.take_along_axis(sf, np.clip(k, 0, width - 1), axis=1)

    t1 = at(np.zeros_like(m))
    tm = at(m - 1)
    tm1 = at(m)
    tz = at(z - 1 + np.zeros_like(m))
    with np.errstate(divide="ignore", invalid="ignore"):
        w0 = u / t1 / (zf + 1)
        wz = (zf + (u - tz) / (obswin - tz)) / (zf + 1)
        wm = (m + (u - tm) / (tm1 - tm)) / (zf + 1)
    w = np.where(m == 0, w0, np.where(m == z, np.where(u >= obswin, 1.0, wz), wm))
    w = np.where(z == 0, u / obswin, w)
    return np.asarray(np.minimum(w, 1.0), dtype=np.float64)


def tite_crm_weights(
    design: TITECRM, data: DoseArrays
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Full-weight counts ``n``, ``y`` (J, R) and the partial patients' doses and weights
    (R, P; compressed to the largest number of partial patients of a trial, weight 0 =
    padding) at each trial's decision time."""
    if data.patients is None:
        raise InputError("patients", "the TITE-CRM needs each trial's patients and times")
    pts = data.patients
    num, rows = data.num_doses, data.rows
    obswin = float(design.tox_window)
    valid = pts.dose < num
    now = pts.now[:, None]
    known = valid & (pts.tox_at <= now)
    dlt = known & pts.tox
    partial = valid & ~known
    r_idx = np.repeat(np.arange(rows), pts.dose.shape[1]).reshape(pts.dose.shape)
    dose_c = np.where(valid, pts.dose, 0)
    n = np.zeros((num, rows), dtype=np.int64)
    y = np.zeros((num, rows), dtype=np.int64)
    np.add.at(n, (dose_c[known], r_idx[known]), 1)
    np.add.at(y, (dose_c[dlt], r_idx[dlt]), 1)
    follow = np.clip(now - pts.entry, 0.0, obswin)
    if design.scheme == "linear":
        w = follow / obswin
    else:
        support = np.where(dlt, np.minimum(pts.tox_at - pts.entry, obswin), np.inf)
        w = adaptive_weight_arrays(follow, support, obswin)
    # compress the partial patients to the left
    order = np.argsort(~partial, axis=1, kind="stable")
    width = int(partial.sum(axis=1).max()) if rows else 0
    order = order[:, :width]
    keep = np.take_along_axis(partial, order, axis=1)
    pdose = np.where(keep, np.take_along_axis(dose_c, order, axis=1), 0)
    pw = np.where(keep, np.take_along_axis(np.minimum(w, 1.0), order, axis=1), 0.0)
    return n, y, pdose.astype(np.int64), np.asarray(pw, dtype=np.float64)


def decide_tite_crm(design: TITECRM, data: DoseArrays) -> ArrayDecision:
    """``TITECRM._decide`` for every trial with at least one patient."""
    n, y, pdose, pw = tite_crm_weights(design, data)
    mtd, prob = crm_fit_rule_arrays(design, n, y, partial=(pdose, pw))
    nxt = mtd - 1
    if design.restrict:
        nxt = np.minimum(nxt, data.current + 1)
    return crm_conduct_arrays(
        design, data, nxt, max_n=design.max_n, too_toxic=too_toxic(design, prob, data.n)
    )


def select_tite_crm(design: TITECRM, data: DoseArrays) -> IntArray:
    """dfcrm's recommendation on complete data (every weight 1), as the CRM's."""
    return select_crm(design, data)
