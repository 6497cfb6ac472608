"""BOIN's final MTD selection, ``select.mtd`` of BOIN 2.7.2 (``R/select.mtd.R``; spec §1.4).

Shared by BOIN, TITE-BOIN (after every pending outcome is complete, spec §2.2 step 7) and 3+3's
isotonic selection.  Algorithm, in the order of the R code:

1. Elimination is recomputed from the final data: the first dose j with n_j >= 3 and
   Pr(p_j > φ | y_j, n_j) > ``cutoff_eli`` under Beta(1, 1) eliminates j..J.  With
   ``extrasafe``, dose 1 meeting the ``cutoff_eli − offset`` rule eliminates every dose.
   (Doses passed in ``eliminated`` -- eliminations carried by the trial -- are excluded too,
   closed upwards; on data produced by the BOIN conduct this changes nothing.)
2. Dose 1 eliminated, or no non-eliminated dose treated -> no MTD (R's 99).
3. Admissible doses A = treated and not eliminated; p̂ = (y + 0.05)/(n + 0.1) with
   var = (y + 0.05)(n − y + 0.05)/((n + 0.1)²(n + 1.1)).
4. p̃ = PAVA(p̂, weights 1/var); 5. p̃_k += k·1e−10 (k = 1..|A|, ties broken upwards).
6. MTD = argmin |p̃ − φ| over A (first on ties).  7. ``bound_mtd``: only doses with
   p̃ <= λd qualify; none -> no MTD.

The per-dose estimates (isotonic p̂, 95% interval, Pr(overdose)) over all treated doses come
from :func:`doseladder.core.estimates.tox_estimates`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from scipy.special import betainc  # lighter than scipy.stats; 1 - betainc = beta.sf exactly

from doseladder.core.decision import Reason
from doseladder.core.errors import InputError
from doseladder.core.estimates import tox_estimates
from doseladder.core.isotonic import pava
from doseladder.core.selection import Selection

__all__ = ["select_mtd"]


def _lambda_d(target: float, p_tox: float) -> float:
    return math.log((1 - target) / (1 - p_tox)) / math.log(
        p_tox * (1 - target) / (target * (1 - p_tox))
    )


def _check_counts(n: Sequence[int], y: Sequence[int]) -> tuple[list[int], list[int]]:
    if len(n) != len(y):
        raise InputError("y", f"has {len(y)} entries but n has {len(n)}")
    if len(n) == 0:
        raise InputError("n", "needs at least one dose level")
    nn: list[int] = []
    yy: list[int] = []
    for j, (nj, yj) in enumerate(zip(n, y, strict=True)):
        for name, v in (("n", nj), ("y", yj)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InputError(f"{name}[{j}]", f"must be a non-negative integer, got {v!r}")
        if yj > nj:
            raise InputError(f"y[{j}]", f"{yj} DLTs exceed the {nj} patients treated")
        nn.append(int(nj))
        yy.append(int(yj))
    return nn, yy


def _overdose(n: int, y: int, target: float) -> float:
    return float(1.0 - betainc(y + 1, n - y + 1, target))


def select_mtd(
    n: Sequence[int],
    y: Sequence[int],
    target: float,
    *,
    cutoff_eli: float = 0.95,
    extrasafe: bool = False,
    offset: float = 0.05,
    bound_mtd: bool = False,
    p_tox: float | None = None,
    eliminated: Collection[int] = (),
) -> Selection:
    """``select.mtd(target, npts=n, ntox=y, cutoff.eli, extrasafe, offset, boundMTD, p.tox)``.

    Args:
        n: patients treated per dose (index 0 = dose 1).
        y: DLTs per dose.
        target: target DLT rate φ.
        cutoff_eli: elimination cutoff.
        extrasafe: apply the extra-safe rule at dose 1 with cutoff ``cutoff_eli − offset``.
        offset: see ``extrasafe``.
        bound_mtd: require the selected dose's isotonic estimate to be <= λd.
        p_tox: φ2 for λd (default 1.4·φ); used only with ``bound_mtd``.
        eliminated: dose levels (1-based) already eliminated during the trial.

    Returns:
        a :class:`Selection` of kind ``"mtd"``; ``dose`` is ``None`` when no dose is selected.
    """
    nn, yy = _check_counts(n, y)
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target < 1:
        raise InputError("target", f"must be in (0, 1), got {target!r}")
    J = len(nn)
    tox_p = 1.4 * target if p_tox is None else float(p_tox)
    lam_d = _lambda_d(target, tox_p)
    estimates = tox_estimates(nn, yy, target)

    # 1. elimination from the final data (+ carried-forward eliminations, closed upwards)
    elim = [False] * J
    elim_from: int | None = None
    for j in range(J):
        if nn[j] >= 3 and _overdose(nn[j], yy[j], target) > cutoff_eli:
            elim_from = j + 1
            break
    carried = [int(e) for e in eliminated if 1 <= int(e) <= J]
    if carried:
        elim_from = min(carried) if elim_from is None else min(elim_from, min(carried))
    if elim_from is not None:
        for j in range(elim_from - 1, J):
            elim[j] = True
    extrasafe_fired = False
    if extrasafe and nn[0] >= 3 and _overdose(nn[0], yy[0], target) > cutoff_eli - offset:
        elim = [True] * J
        extrasafe_fired = True
    elim_doses = [j + 1 for j in range(J) if elim[j]]

    base = {
        "target": target,
        "n": nn,
        "y": yy,
        "eliminated": elim_doses,
        "cutoff_eli": cutoff_eli,
    }

    # 2. nothing selectable
    if elim[0]:
        why = (
            f"the extra-safe rule eliminates every dose (Pr(DLT rate at dose 1 > {target:g}) > "
            f"{cutoff_eli:g} − {offset:g})"
            if extrasafe_fired
            else "dose 1 is eliminated as overly toxic"
        )
        return Selection(
            "mtd",
            None,
            Reason("select_mtd.none_eliminated", f"No MTD: {why}.", base),
            estimates,
        )
    adm = [j for j in range(J) if nn[j] > 0 and not elim[j]]
    if not adm:
        return Selection(
            "mtd",
            None,
            Reason(
                "select_mtd.none_treated",
                "No MTD: no patient was treated at a dose that is not eliminated.",
                base,
            ),
            estimates,
        )

    # 3.-5. weighted isotonic estimates with the tie-break
    a = [yy[j] + 0.05 for j in adm]
    b = [nn[j] - yy[j] + 0.05 for j in adm]
    phat = [ai / (nn[j] + 0.1) for ai, j in zip(a, adm, strict=True)]
    var = [
        ai * bi / ((nn[j] + 0.1) ** 2 * (nn[j] + 0.1 + 1))
        for ai, bi, j in zip(a, b, adm, strict=True)
    ]
    iso = pava(phat, [1.0 / v for v in var])
    iso = [v + (k + 1) * 1e-10 for k, v in enumerate(iso)]
    values = {
        **base,
        "admissible": [j + 1 for j in adm],
        "isotonic_estimates": iso,
    }

    # 6.-7. closest to the target (optionally among p̃ <= λd)
    candidates = list(range(len(adm)))
    if bound_mtd:
        values["lambda_d"] = lam_d
        candidates = [k for k in candidates if iso[k] <= lam_d]
        if not candidates:
            return Selection(
                "mtd",
                None,
                Reason(
                    "select_mtd.none_bound_mtd",
                    (
                        "No MTD: every admissible dose has an isotonic DLT estimate above "
                        f"λd = {lam_d:.4f} (boundMTD)."
                    ),
                    values,
                ),
                estimates,
            )
    best = min(candidates, key=lambda k: (abs(iso[k] - target), k))
    dose = adm[best] + 1
    message = (
        f"Dose {dose} is the MTD: its isotonic DLT estimate {iso[best]:.3f} is the closest to "
        f"the target {target:g} among the treated, non-eliminated doses "
        f"{', '.join(str(j + 1) for j in adm)}"
        + (f" with estimate <= λd = {lam_d:.4f}" if bound_mtd else "")
        + "."
    )
    return Selection(
        "mtd",
        dose,
        Reason("select_mtd.closest", message, {**values, "mtd": dose}),
        estimates,
    )
