"""Per-dose toxicity estimates as reported by BOIN's ``select.mtd`` (BOIN 2.7.2).

For each treated dose j (source: dose-finding spec §1.4, ``R/select.mtd.R``):

* point estimate p̂_j = (y_j + 0.05) / (n_j + 0.1), smoothed by weighted PAVA with weights
  1/var_j, var_j = (y_j+0.05)(n_j−y_j+0.05) / ((n_j+0.1)² (n_j+0.1+1));
* 95% credible interval: the 2.5% and 97.5% quantiles of Beta(y_j+0.05, n_j−y_j+0.05), each
  smoothed by PAVA with the same weights;
* ``p_overdose`` = Pr(p_j > target) under that Beta, smoothed by unweighted PAVA.

Untried doses get ``None``.  Decision: the R code indexes the interval vectors by dose number
rather than by position among treated doses, which only differs when an untried dose lies
between treated ones; we index by position (the evidently intended behaviour).
"""

from __future__ import annotations

from collections.abc import Sequence

from doseladder.core.isotonic import pava
from doseladder.core.selection import DoseEstimate

__all__ = ["tox_estimates"]


def tox_estimates(
    n: Sequence[int], y: Sequence[int], target: float | None = None
) -> tuple[DoseEstimate, ...]:
    """Isotonic toxicity estimates, 95% intervals and overdose probabilities per dose."""
    from scipy.stats import beta as beta_dist  # deferred: only a selection needs it

    if len(n) != len(y):
        raise ValueError("n and y must have the same length")
    tried = [j for j, nj in enumerate(n) if nj > 0]
    a = [y[j] + 0.05 for j in tried]
    b = [n[j] - y[j] + 0.05 for j in tried]
    phat = [ai / (n[j] + 0.1) for ai, j in zip(a, tried, strict=True)]
    var = [
        ai * bi / ((n[j] + 0.1) ** 2 * (n[j] + 0.1 + 1))
        for ai, bi, j in zip(a, b, tried, strict=True)
    ]
    w = [1.0 / v for v in var]
    est = pava(phat, w)
    lower = pava([float(beta_dist.ppf(0.025, ai, bi)) for ai, bi in zip(a, b, strict=True)], w)
    upper = pava([float(beta_dist.ppf(0.975, ai, bi)) for ai, bi in zip(a, b, strict=True)], w)
    over: list[float | None] = [None] * len(tried)
    if target is not None:
        over = list(
            pava([float(beta_dist.sf(target, ai, bi)) for ai, bi in zip(a, b, strict=True)])
        )
    by_dose = {j: k for k, j in enumerate(tried)}
    out: list[DoseEstimate] = []
    for j in range(len(n)):
        k = by_dose.get(j)
        if k is None:
            out.append(DoseEstimate(dose=j + 1, n=int(n[j]), n_tox=int(y[j])))
        else:
            out.append(
                DoseEstimate(
                    dose=j + 1,
                    n=int(n[j]),
                    n_tox=int(y[j]),
                    tox_est=est[k],
                    tox_lower=lower[k],
                    tox_upper=upper[k],
                    p_overdose=over[k],
                )
            )
    return tuple(out)
