"""The CRM for many trials at once: :func:`decide_crm`, :func:`select_crm`.

The array form of ``CRM._decide`` / :func:`~doseladder.core.designs.crm.crm_decision` (dfcrm
``crmsim`` conduct) and ``CRM.select``.  The fit is
:func:`~doseladder.core.designs.crm_model.crm_fit_arrays`: the posterior mean by 512-point
Gauss-Legendre quadrature (exact to ~1e-9), where the scalar ``decide`` reproduces dfcrm's
``integrate`` (accurate to R's 1e-4 tolerance); the two give the same dose except at near-ties
of |p̂_j − target| (below 1e-3), which the conformance test allows.

The coherence rule needs each trial's last cohort: ``data.patients`` (patients in order of
entry, phantom dose J after the last one); the last cohort is the trailing
``(n − 1) mod cohort_size + 1`` patients, as the scalar rule without cohort numbers.

The ``stop_tox_cutoff`` safety rule (:func:`too_toxic`, the array form of step 3 of
:func:`~doseladder.core.designs.crm.crm_decision`): Pr(p_1 > target | data) from the same
quadrature as the fit (:func:`~doseladder.core.designs.crm_model.crm_tail_arrays`) compared
with the cutoff; the scalar rule integrates adaptively to 1e-10, so the two agree except when
the probability is within ~1e-6 of the cutoff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from doseladder.core.designs.arrays.interface import (
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP,
    SUSPEND,
    ArrayDecision,
    DoseArrays,
    IntArray,
    pick,
    upward,
)
from doseladder.core.errors import InputError

if TYPE_CHECKING:
    from doseladder.core.designs.crm import CRM, CrmParameters

__all__ = ["crm_conduct_arrays", "crm_fit_rule_arrays", "decide_crm", "select_crm", "too_toxic"]


def crm_fit_rule_arrays(
    design: CrmParameters,
    n: IntArray,
    y: IntArray,
    partial: tuple[IntArray, np.ndarray] | None = None,
) -> tuple[IntArray, np.ndarray | None]:
    """dfcrm's recommended dose (1-based) per trial and, when ``stop_tox_cutoff`` is set, the
    posterior Pr(p_1 > target | data) of the same fit (else None)."""
    above = (1, float(design.target)) if design.stop_tox_cutoff is not None else None
    _est, mtd, prob = design.tail_arrays(n, y, partial=partial, above=above)
    return mtd, prob


def too_toxic(design: CrmParameters, prob: np.ndarray | None, n: IntArray) -> np.ndarray:
    """``stop_tox_cutoff``: the lowest dose is too toxic -- Pr(p_1 > target | data) > cutoff --
    in trials with at least one patient (all false when the option is off)."""
    rows = n.shape[1]
    if design.stop_tox_cutoff is None or prob is None:
        return np.zeros(rows, dtype=bool)
    return np.asarray((prob > design.stop_tox_cutoff) & (n.sum(axis=0) > 0))


def last_cohort_fraction(design: CRM, data: DoseArrays) -> np.ndarray:
    """DLT fraction of each trial's last cohort (complete data)."""
    if data.patients is None:
        raise InputError("patients", "the CRM's coherence rule needs each trial's patients")
    pts = data.patients
    valid = pts.dose < data.num_doses
    total = valid.sum(axis=1)
    k = (np.maximum(total, 1) - 1) % design.cohort_size + 1
    col = np.arange(pts.dose.shape[1])[None, :]
    in_last = valid & (col >= (total - k)[:, None]) & (col < total[:, None])
    return np.asarray((pts.tox & in_last).sum(axis=1) / k, dtype=float)


def decide_crm(design: CRM, data: DoseArrays) -> ArrayDecision:
    """``CRM._decide`` for every trial with at least one patient."""
    d = data.current
    pending = data.tox_pending.sum(axis=0) > 0
    mtd, prob = crm_fit_rule_arrays(design, data.n, data.tox)
    nxt = mtd - 1
    if design.restrict:
        frac = last_cohort_fraction(design, data)
        cap = np.where(frac >= design.target, d, d + 1)
        nxt = np.minimum(nxt, cap)
    dec = crm_conduct_arrays(
        design, data, nxt, max_n=design.max_n, too_toxic=too_toxic(design, prob, data.n)
    )
    return ArrayDecision(
        np.where(pending, SUSPEND, dec.action).astype(np.int64),
        np.where(pending, d, dec.next_dose).astype(np.int64),
        np.where(pending[None, :], upward(data.eliminated), dec.eliminated),
        ~pending & dec.tox_deesc,
    )


def crm_conduct_arrays(
    design: CrmParameters,
    data: DoseArrays,
    nxt: IntArray,
    *,
    max_n: int,
    too_toxic: np.ndarray | None = None,
) -> ArrayDecision:
    """The dfcrm conduct around the model's next dose ``nxt`` (0-based, after the
    restriction), for CRM and TITE-CRM: the array form of steps 3-4 of
    :func:`~doseladder.core.designs.crm.crm_decision` -- cap below carried eliminations (stop
    when every dose is eliminated), the action, ``stop_n_mtd`` and ``max_n``; ``too_toxic``
    (:func:`too_toxic`) stops the trial first with no dose and every dose eliminated."""
    num, rows = data.num_doses, data.rows
    n, d = data.n, data.current
    prior_c = upward(data.eliminated)
    has_elim = prior_c.any(axis=0)
    first = np.argmax(prior_c, axis=0)
    capped = has_elim & (nxt >= first)
    all_gone = capped & (first == 0)
    nxt = np.where(capped, first - 1, nxt)
    action = np.where(nxt > d, ESCALATE, np.where(nxt < d, DEESCALATE, STAY))
    tox_rule = action == DEESCALATE
    total = n.sum(axis=0)
    if design.stop_n_mtd is not None:
        stop_n = pick(n, np.clip(nxt, 0, num - 1)) >= design.stop_n_mtd
    else:
        stop_n = np.zeros(rows, dtype=bool)
    stop_max = ~stop_n & (total >= max_n)
    action = np.where(stop_n | stop_max, STOP, action)
    tox_rule = tox_rule & ~stop_n & ~stop_max
    action = np.where(all_gone, STOP, action)
    nxt = np.where(all_gone, -1, nxt)
    tox_rule = tox_rule & ~all_gone
    elim = prior_c.copy()
    if too_toxic is not None:
        action = np.where(too_toxic, STOP, action)
        nxt = np.where(too_toxic, -1, nxt)
        tox_rule = tox_rule & ~too_toxic
        elim[:, too_toxic] = True
    return ArrayDecision(action.astype(np.int64), nxt.astype(np.int64), elim, np.asarray(tox_rule))


def select_crm(design: CrmParameters, data: DoseArrays) -> IntArray:
    """dfcrm's recommended dose on all data (1-based; 0 = none), capped below carried
    eliminations."""
    mtd, prob = crm_fit_rule_arrays(design, data.n, data.tox)
    prior_c = upward(data.eliminated)
    has_elim = prior_c.any(axis=0)
    first = np.argmax(prior_c, axis=0) + 1  # 1-based lowest eliminated
    out = np.where(has_elim & (mtd >= first), first - 1, mtd)
    out = np.where(too_toxic(design, prob, data.n), 0, out)
    return np.asarray(out, dtype=np.int64)
