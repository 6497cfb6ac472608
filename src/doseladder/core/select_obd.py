"""BOIN12's final optimal-biological-dose (OBD) selection (spec ``dose-finding.md`` §3.6).

Shared by BOIN12 and TITE-BOIN12 (which selects on complete data once every outcome is known).
Two published variants, chosen by ``statistic``:

``"posterior_mean"`` -- the design authors' code (Yuan group: ``AdaptiveStagger_Reproduce``
``Sim.func.BOIN12.R``; PKBOIN-12 ``fun_TITE_PKBOIN12_OBD.R``), which agrees with the MD Anderson
app help ("isotonicizes posterior toxicity means, identifies the dose nearest the toxicity
limit as the MTD, and maximizes posterior mean utility among admissible doses at or below that
MTD"):

1. p̂_j = y_j/n_j for treated doses, φT for untried doses (placeholder);
   p̃ = PAVA(p̂, weights 1/[(y+0.05)(n−y+0.05)/((n+0.1)²(n+1.1))]) + 0.001·j.
2. MTD = argmin_j |p̃_j − φT| (first minimum).
3. Û_j = (α + x_j)/(α + β + n_j), the posterior mean of the quasi-Beta utility (PKBOIN:
   ``(ubar + 1)/(n + 2)``); excluded (−∞) for untried and inadmissible doses.
4. OBD = argmax_{j <= MTD} Û_j (first maximum, R ``which.max``).

``"desirability"`` -- R package escalation ``select_boin12_obd``: unweighted PAVA of the
observed toxicity rates of the treated doses, MTD = the treated dose whose fitted rate is
closest to φT (the *highest* on an exact tie), OBD = the dose at or below the MTD with the
largest D_j = Pr(U_j > u_b/100 | data) (first maximum).  escalation compares every dose at or
below the MTD, including untried and inadmissible ones; here, as in the Yuan-group variant and
the mdanderson-stats port, only treated admissible doses can be selected.

``"phase12designs"`` -- the final selection of the R package phase12designs (``oc_boin12``),
for users who need to reproduce its operating characteristics:

1. p̃T_j = PAVA((y_j + 0.05)/(n_j + 0.1), weights n_j + 0.1) + 0.001·j over every dose (an
   untried dose enters with 0.5).
2. p̃E = a smoothed efficacy estimate (phase12designs ``peestimate``): for every mode m the
   unimodal fit f_m of (yE_j + 0.05)/(n_j + 0.1) with weights n_j + 0.5 and its mode at m
   (:func:`~doseladder.core.isotonic.unimodal_fit`, ``Iso::ufit``); the fits are averaged with
   weights proportional to their binomial likelihoods Π_j Bin(yE_j; n_j, f_m,j), then
   + 0.01·j.
3. Û_j = expected utility of (p̃T_j, p̃E_j) under independence (0..1; with the default
   utilities 0.6·p̃E + 0.4·(1 − p̃T), the package's ``u1 * pE + (1 - pT) * u2``).
4. MTD = argmin_j |p̃T_j − φT| over every dose (first minimum); OBD = argmax of Û over the
   treated admissible doses at or below the MTD.  Ties go to the lowest dose, as R's
   ``which.max`` does in the package's final selection (its random tie-breaking is in the
   escalation rule, not here), so the rule is deterministic.  Where the package would pick an
   excluded dose (every dose up to the MTD untried or eliminated: its utility -100 is then the
   maximum), no OBD is selected here.

In every variant no dose is selected when no treated dose is admissible, or when every
treated admissible dose lies above the MTD.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy.stats import beta as beta_dist

from doseladder.core.errors import InputError
from doseladder.core.isotonic import pava, unimodal_fit

__all__ = ["OBD_STATISTICS", "ObdResult", "select_obd", "smoothed_efficacy"]

#: the final OBD criteria (``BOIN12.obd_statistic``)
OBD_STATISTICS = ("posterior_mean", "desirability", "phase12designs")


@dataclass(frozen=True, slots=True)
class ObdResult:
    """Result of :func:`select_obd`.

    Attributes:
        dose: the OBD (1-based) or ``None``.
        mtd: the isotonic MTD bounding the OBD (``None`` when nothing was treated).
        tox_fitted: the fitted toxicity rates used to find the MTD (``None`` where not used).
        utility: the OBD statistic per dose on 0..1 (posterior mean utility or D; ``None`` for
            untried doses).
        candidates: treated admissible doses at or below the MTD.
        statistic: the variant used.
        rule: ``"obd"`` or ``"no_obd"``.
        message: one plain-English sentence with the numbers.
    """

    dose: int | None
    mtd: int | None
    tox_fitted: tuple[float | None, ...]
    utility: tuple[float | None, ...]
    candidates: tuple[int, ...]
    statistic: str
    rule: str
    message: str


def _weights(n: Sequence[int], y: Sequence[int]) -> list[float]:
    return [
        1.0 / ((yj + 0.05) * (nj - yj + 0.05) / ((nj + 0.1) ** 2 * (nj + 0.1 + 1)))
        for nj, yj in zip(n, y, strict=True)
    ]


def _binom_pmf(k: int, n: int, p: float) -> float:
    """Bin(k; n, p) (R ``dbinom``; 1 for n = 0)."""
    return math.comb(n, k) * p**k * (1.0 - p) ** (n - k)


def smoothed_efficacy(n: Sequence[int], n_eff: Sequence[int]) -> list[float]:
    """phase12designs' smoothed efficacy estimate (``peestimate``, step 2 of the module text):
    the likelihood-weighted average over the mode m of the unimodal fits, plus 0.01·j."""
    num = len(n)
    raw = [(e + 0.05) / (k + 0.1) for k, e in zip(n, n_eff, strict=True)]
    w = [k + 0.5 for k in n]
    fits = [unimodal_fit(raw, w, m) for m in range(num)]
    lik = [math.prod(_binom_pmf(n_eff[j], n[j], f[j]) for j in range(num)) for f in fits]
    total = sum(lik)
    return [
        sum(lik[m] * fits[m][j] for m in range(num)) / total + 0.01 * (j + 1) for j in range(num)
    ]


def select_obd(
    n: Sequence[int],
    n_tox: Sequence[int],
    x: Sequence[float],
    admissible: Sequence[bool],
    phi_t: float,
    *,
    u_b: float,
    statistic: Literal["posterior_mean", "desirability", "phase12designs"] = "posterior_mean",
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
    n_eff: Sequence[int] | None = None,
    utilities: Sequence[float] | None = None,
) -> ObdResult:
    """Select the OBD from per-dose counts (index 0 = dose 1).

    ``n`` patients, ``n_tox`` observed toxicities, ``x`` quasi-binomial events (spec §3.3),
    ``admissible`` per dose (spec §3.4, eliminations included), ``phi_t`` the toxicity limit,
    ``u_b`` the benchmark utility (for the ``"desirability"`` statistic); ``n_eff`` responses
    per dose and ``utilities`` (u1..u4) are needed by ``"phase12designs"`` only.
    """
    num = len(n)
    if not (len(n_tox) == len(x) == len(admissible) == num) or num == 0:
        raise InputError("n", "n, n_tox, x and admissible must have one entry per dose level")
    if statistic not in OBD_STATISTICS:
        raise InputError(
            "statistic", f"must be one of {', '.join(OBD_STATISTICS)}, got {statistic!r}"
        )
    if statistic == "phase12designs" and (n_eff is None or utilities is None):
        raise InputError("n_eff", "the phase12designs rule needs n_eff and utilities")
    tried = [j for j in range(num) if n[j] > 0]
    if not tried:
        return ObdResult(
            None,
            None,
            (None,) * num,
            (None,) * num,
            (),
            statistic,
            "no_obd",
            "No patient has been treated: no OBD.",
        )

    fitted: list[float | None] = [None] * num
    if statistic == "posterior_mean":
        phat = [n_tox[j] / n[j] if n[j] > 0 else phi_t for j in range(num)]
        smooth = pava(phat, _weights(n, n_tox))
        for j in range(num):
            fitted[j] = smooth[j] + 0.001 * (j + 1)
        dist = [abs(float(f) - phi_t) for f in fitted if f is not None]
        mtd = dist.index(min(dist)) + 1
        util: list[float | None] = [
            (prior_alpha + x[j]) / (prior_alpha + prior_beta + n[j]) if n[j] > 0 else None
            for j in range(num)
        ]
    elif statistic == "phase12designs":
        assert n_eff is not None and utilities is not None
        if len(n_eff) != num:
            raise InputError("n_eff", "n_eff must have one entry per dose level")
        smooth = pava([(n_tox[j] + 0.05) / (n[j] + 0.1) for j in range(num)], [k + 0.1 for k in n])
        for j in range(num):
            fitted[j] = smooth[j] + 0.001 * (j + 1)
        dist = [abs(float(f) - phi_t) for f in fitted if f is not None]
        mtd = dist.index(min(dist)) + 1
        from doseladder.core.designs.boin12 import expected_utility  # (imports this module)

        p_eff = smoothed_efficacy(n, n_eff)
        util = [
            expected_utility(float(fitted[j] or 0.0), p_eff[j], utilities) / 100.0
            if n[j] > 0
            else None
            for j in range(num)
        ]
    else:
        smooth = pava([n_tox[j] / n[j] for j in tried])
        for k, j in enumerate(tried):
            fitted[j] = smooth[k]
        dist = [abs(s - phi_t) for s in smooth]
        best = min(dist)
        mtd = tried[max(k for k, v in enumerate(dist) if v == best)] + 1
        util = [
            float(beta_dist.sf(u_b / 100.0, prior_alpha + x[j], prior_beta + n[j] - x[j]))
            if n[j] > 0
            else None
            for j in range(num)
        ]

    cands = tuple(j + 1 for j in range(mtd) if n[j] > 0 and admissible[j])
    what = {
        "posterior_mean": "posterior mean utility",
        "desirability": "desirability D",
        "phase12designs": "utility of the smoothed estimates",
    }[statistic]
    fit_txt = ", ".join(f"{f:.3f}" if f is not None else "NA" for f in fitted)
    if not cands:
        return ObdResult(
            None,
            mtd,
            tuple(fitted),
            tuple(util),
            (),
            statistic,
            "no_obd",
            (
                f"Isotonic toxicity estimates ({fit_txt}) give MTD = dose {mtd}; no treated "
                f"admissible dose at or below the MTD: no OBD is selected."
            ),
        )
    cand_util = {c: u for c in cands if (u := util[c - 1]) is not None}
    best_u = max(cand_util.values())
    obd = next(c for c, u in cand_util.items() if u == best_u)
    util_txt = ", ".join(f"dose {c}: {u:.4f}" for c, u in cand_util.items())
    return ObdResult(
        obd,
        mtd,
        tuple(fitted),
        tuple(util),
        cands,
        statistic,
        "obd",
        (
            f"Isotonic toxicity estimates ({fit_txt}) give MTD = dose {mtd}; among the treated "
            f"admissible doses at or below it the {what} is largest at dose {obd} "
            f"({util_txt})."
        ),
    )
