"""BOIN12: utility-based Bayesian optimal interval phase I/II design (Lin et al. 2020).

Lin R, Zhou Y, Yan F, Li D, Yuan Y.  BOIN12: Bayesian optimal interval phase I/II trial design
for utility-based dose finding in immunotherapy and targeted therapies.  JCO Precis Oncol
2020;4:1393-1402.  The paper text was not available; every rule follows the spec
(``dose-finding.md`` §3), which intersects the authors' code and the reference implementations:

* escalation (Brock, ``brockk/escalation`` v0.2.3: ``R/boin12_logic.R``, ``R/boin12_rds.R``,
  ``R/select_boin12_obd.R``, ``tests/testthat/test_boin12.R``) -- edited by its authors for
  concordance with the paper and the MD Anderson BOIN12 app; its 120 app/paper next-dose test
  vectors (spec §3.8) are reproduced by this module;
* Yuan-group simulation code (``AdaptiveStagger_Reproduce`` ``get.boundary.BOIN12`` /
  ``Sim.func.BOIN12.R``; ``phase12designs`` ``oc_boin12``) and PKBOIN-12 (Sun et al.,
  ``fun_TITE_PKBOIN12*.R``), which share the same rule structure.

Pure functions (usable by the simulator and the tables):

* :func:`benchmark_utility` -- §3.2;  :func:`quasi_events`, :func:`desirability` -- §3.3;
* :func:`tox_elimination_boundary`, :func:`eff_elimination_boundary`,
  :func:`elimination_flags` -- §3.4;
* :func:`boin12_next_dose` -- the dose-assignment algorithm of §3.5 in its rule order;
* :func:`rds_table` -- §3.7;  OBD selection (§3.6) lives in :mod:`doseladder.core.select_obd`.

Decisions on points the sources leave open (spec §3.4-3.6, §8):

* **Admissibility** uses the Yuan-group integer elimination boundaries: no elimination before
  3 patients are treated at a dose, toxicity elimination needs at least 3 DLTs
  (``for(ntox in 3:n)`` in ``get.boundary.BOIN12``), cut-offs ``Pr >= c`` (escalation, spec
  §3.4).  Toxicity inadmissibility of a dose makes every higher dose inadmissible (monotone
  toxicity; Yuan-group ``elimi[d:ndose] = 1``); efficacy inadmissibility removes that dose only.
  Beta(1, 1) priors are used for admissibility as in all sources; ``prior_alpha`` /
  ``prior_beta`` are the prior of the quasi-binomial utility posterior only.
* ``admissibility="permanent"`` (default; Yuan-group code, recommended for conduct by spec
  §3.4): inadmissible doses are returned in ``Decision.eliminated`` and stay eliminated
  (``state.eliminated`` is honoured).  ``"reevaluate"`` (escalation): admissibility is
  recomputed from the current data at every decision and nothing is recorded as eliminated
  (externally eliminated doses in ``state.eliminated`` are still honoured).  On complete data
  the two give the same decisions (a dose's data change only while it is admissible and
  treated); they differ for TITE-BOIN12, whose estimates at a dose move as pending outcomes
  resolve.  Both reproduce all 120 test vectors of spec §3.8.
* **Candidates** around the current dose d are "below" = the highest admissible dose < d and
  "above" = the lowest admissible dose > d, skipping only *treated* inadmissible doses (never an
  untreated one) -- the Yuan-group / PKBOIN-12 convention; escalation uses d-1 and d+1.
* **De-escalation** goes to "below"; when there is none the current dose is kept if it is
  admissible, otherwise the trial stops with no dose.  escalation instead returns
  ``max(d-1, 1)`` without an admissibility check, and in the N* branch falls back to dose 1 when
  neither d-1 nor d is admissible; both can recommend an inadmissible dose, which this module
  never does (Yuan-group code: de-escalate to the highest non-eliminated lower dose, stay if
  none, stop if the current dose is eliminated).
* **Ties**: in the 3-dose branch the highest dose wins (escalation: "BOIN12 Shiny app resolves
  ties by choosing high doses"; PKBOIN ``+ (1:k)*1e-6``).  In the 2-dose N* branch sources
  differ (escalation ``which.max`` -> lower; PKBOIN -> current; Stagger -> random); the default
  ``nstar_tie="lower"`` follows escalation and is the conservative choice.
* **Stopping** at ``n_stop`` patients: escalation's tests stop when *any* dose has 12 patients
  (``stop_when_n_at_dose(n = 12, dose = "any")``), BOIN / ``oc_boin12`` check the *current* dose
  (``n[d] >= n.earlystop``), PKBOIN-12 stops when the *recommended* dose would exceed the limit.
  Default ``n_stop_dose="recommended"`` (do not add patients to a dose that already has
  ``n_stop``); the other two are options.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import beta as beta_dist
from scipy.stats import rankdata

from doseladder.core.decision import Action, Decision, Reason, max_n_reason
from doseladder.core.designs.arrays.interface import ArrayDecision, DoseArrays, IntArray
from doseladder.core.designs.base import Design, check_int, check_prob
from doseladder.core.designs.boin import boin_lambdas
from doseladder.core.errors import InputError
from doseladder.core.estimates import tox_estimates
from doseladder.core.select_obd import OBD_STATISTICS, ObdResult, select_obd
from doseladder.core.selection import DoseEstimate, Selection
from doseladder.core.state import Patient, TrialState

__all__ = [
    "BOIN12",
    "AdmissibilityMode",
    "DoseSummary",
    "NStopDose",
    "NextDose",
    "ObdStatistic",
    "TieRule",
    "benchmark_utility",
    "boin12_lambdas",
    "boin12_next_dose",
    "cell_counts",
    "complete_summary",
    "describe_boin12_paragraphs",
    "desirability",
    "desirability_values",
    "eff_elimination_boundary",
    "elimination_flags",
    "elimination_table",
    "expected_utility",
    "expected_utility_values",
    "inadmissible_doses",
    "prob_eff_below",
    "prob_eff_below_values",
    "prob_tox_above",
    "prob_tox_above_values",
    "quasi_events",
    "quasi_events_values",
    "rds_table",
    "tox_elimination_boundary",
]

Utilities = tuple[float, float, float, float]

#: no elimination before this many patients are treated at a dose (Yuan-group ``if(n < 3)``)
MIN_N_ELIMINATE = 3
#: toxicity elimination needs at least this many DLTs (``for(ntox in 3:n)``)
MIN_TOX_ELIMINATE = 3


# ----------------------------------------------------------------------- §3.2 - §3.3
def benchmark_utility(phi_t: float, phi_e: float, utilities: Sequence[float]) -> float:
    """Benchmark utility u_b (spec §3.2; escalation ``boin12_next_dose``; Stagger).

    ū = u1·φE(1−φT) + u2·(1−φT)(1−φE) + u3·φT·φE + u4·φT(1−φE) is the "highest unacceptable"
    utility (independent outcomes at the limits) and u_b = ū + (100 − ū)/2.  Defaults give
    ū = 41.0 and u_b = 70.5.
    """
    u1, u2, u3, u4 = (float(u) for u in utilities)
    u_bar = (
        u1 * phi_e * (1 - phi_t)
        + u2 * (1 - phi_t) * (1 - phi_e)
        + u3 * phi_t * phi_e
        + u4 * phi_t * (1 - phi_e)
    )
    return u_bar + (100.0 - u_bar) / 2.0


def quasi_events(cells: Sequence[float], utilities: Sequence[float]) -> float:
    """Quasi-binomial "responses" x = (u1·y1 + u2·y2 + u3·y3 + u4·y4)/100 (spec §3.3).

    ``cells`` = (y1, y2, y3, y4) = counts of (no tox, eff), (no tox, no eff), (tox, eff),
    (tox, no eff) -- escalation ``boin12_pbenchmark``.
    """
    y1, y2, y3, y4 = cells
    return float(quasi_events_values(y1, y2, y3, y4, utilities))


def quasi_events_values(
    y1: ArrayLike, y2: ArrayLike, y3: ArrayLike, y4: ArrayLike, utilities: Sequence[float]
) -> NDArray[np.float64]:
    """:func:`quasi_events` elementwise on arrays of the four cell counts (same operations)."""
    u1, u2, u3, u4 = utilities
    a1, a2, a3, a4 = (np.asarray(v) for v in (y1, y2, y3, y4))
    return np.asarray((u1 * a1 + u2 * a2 + u3 * a3 + u4 * a4) / 100.0, dtype=np.float64)


def expected_utility(p_tox: float, p_eff: float, utilities: Sequence[float]) -> float:
    """Expected utility (0-100) of one patient with independent Pr(tox) and Pr(eff).

    u1(1−pT)pE + u2(1−pT)(1−pE) + u3·pT·pE + u4·pT(1−pE) (TITE-BOIN12 AL, spec §4.2).
    """
    return float(expected_utility_values(p_tox, p_eff, utilities))


def expected_utility_values(
    p_tox: ArrayLike, p_eff: ArrayLike, utilities: Sequence[float]
) -> NDArray[np.float64]:
    """:func:`expected_utility` elementwise on arrays (same operations)."""
    u1, u2, u3, u4 = utilities
    pt, pe = np.asarray(p_tox), np.asarray(p_eff)
    return np.asarray(
        u1 * (1 - pt) * pe + u2 * (1 - pt) * (1 - pe) + u3 * pt * pe + u4 * pt * (1 - pe),
        dtype=np.float64,
    )


def desirability(
    x: float, n: float, u_b: float, prior_alpha: float = 1.0, prior_beta: float = 1.0
) -> float:
    """D = Pr(U > u_b/100 | data), U ~ Beta(α + x, β + n − x) (spec §3.3).

    ``1 - pbeta(u_b/100, α + x, β + n − x)`` as in escalation ``boin12_pbenchmark`` (which
    reports 100·D as ``utility()``).  An untried dose has D = 1 − u_b/100 with Beta(1, 1).
    """
    return float(desirability_values(x, n, u_b, prior_alpha, prior_beta))


def desirability_values(
    x: ArrayLike, n: ArrayLike, u_b: float, prior_alpha: float = 1.0, prior_beta: float = 1.0
) -> NDArray[np.float64]:
    """:func:`desirability` elementwise on arrays of x and n (the same operations, so the
    values are bit-identical; used by the array decision functions)."""
    xa, na = np.asarray(x), np.asarray(n)
    return np.asarray(
        beta_dist.sf(u_b / 100.0, prior_alpha + xa, prior_beta + na - xa), dtype=np.float64
    )


def boin12_lambdas(phi_t: float) -> tuple[float, float]:
    """BOIN boundaries (λe, λd) at φT with φ1 = 0.6·φT and φ2 = 1.4·φT (spec §1.2, §3.5).

    escalation calls ``BOIN::get.boundary(target = phi_t, ...)`` with its defaults.
    """
    return boin_lambdas(phi_t, 0.6 * phi_t, 1.4 * phi_t)


# ---------------------------------------------------------------------------- §3.4
def prob_tox_above(n_tox: float, n: float, phi_t: float) -> float:
    """Pr(p_T > φT | data) under Beta(1 + n_T, 1 + n − n_T) (escalation ``boin12_admissible``)."""
    return float(prob_tox_above_values(n_tox, n, phi_t))


def prob_tox_above_values(n_tox: ArrayLike, n: ArrayLike, phi_t: float) -> NDArray[np.float64]:
    """:func:`prob_tox_above` elementwise on arrays (same operations)."""
    y, m = np.asarray(n_tox), np.asarray(n)
    return np.asarray(beta_dist.sf(phi_t, 1.0 + y, 1.0 + m - y), dtype=np.float64)


def prob_eff_below(n_eff: float, n: float, phi_e: float) -> float:
    """Pr(p_E < φE | data) under Beta(1 + n_E, 1 + n − n_E) (escalation ``boin12_admissible``)."""
    return float(prob_eff_below_values(n_eff, n, phi_e))


def prob_eff_below_values(n_eff: ArrayLike, n: ArrayLike, phi_e: float) -> NDArray[np.float64]:
    """:func:`prob_eff_below` elementwise on arrays (same operations)."""
    y, m = np.asarray(n_eff), np.asarray(n)
    return np.asarray(beta_dist.cdf(phi_e, 1.0 + y, 1.0 + m - y), dtype=np.float64)


@lru_cache(maxsize=8192)
def tox_elimination_boundary(n: int, phi_t: float, c_t: float) -> int | None:
    """Eliminate for toxicity if n_T >= this at n patients (spec §3.4).

    The smallest y in 3..n with Pr(p_T > φT | y, n) >= c_T under Beta(1, 1); ``None`` when
    n < 3 or no such y exists (Yuan-group ``get.boundary.BOIN12``: ``for(ntox in 3:n)``).
    """
    if n < MIN_N_ELIMINATE:
        return None
    ys = np.arange(MIN_TOX_ELIMINATE, n + 1)
    probs = beta_dist.sf(phi_t, 1.0 + ys, 1.0 + n - ys)
    hit = np.nonzero(probs >= c_t)[0]
    return int(ys[hit[0]]) if hit.size else None


@lru_cache(maxsize=8192)
def eff_elimination_boundary(n: int, phi_e: float, c_e: float) -> int | None:
    """Eliminate for futility if n_E <= this at n patients (spec §3.4).

    The largest y in 0..n with Pr(p_E < φE | y, n) >= c_E under Beta(1, 1); ``None`` when
    n < 3 or no such y exists (Yuan-group ``for(neff in n:0)``).
    """
    if n < MIN_N_ELIMINATE:
        return None
    ys = np.arange(0, n + 1)
    probs = beta_dist.cdf(phi_e, 1.0 + ys, 1.0 + n - ys)
    hit = np.nonzero(probs >= c_e)[0]
    return int(ys[hit[-1]]) if hit.size else None


def elimination_flags(
    n: int,
    n_tox: float,
    n_eff: float,
    phi_t: float,
    phi_e: float,
    c_t: float,
    c_e: float,
) -> tuple[bool, bool]:
    """(toxicity-inadmissible, efficacy-inadmissible) for one dose on its own data (§3.4).

    ``n_tox`` / ``n_eff`` may be fractional (TITE-BOIN12's scaled counts p̂·n); with integer
    counts this is exactly "Pr(p_T > φT) >= c_T with >= 3 DLTs" / "Pr(p_E < φE) >= c_E", both
    only once ``n >= 3``.
    """
    bt = tox_elimination_boundary(n, phi_t, c_t)
    be = eff_elimination_boundary(n, phi_e, c_e)
    return (bt is not None and n_tox >= bt), (be is not None and n_eff <= be)


def elimination_table(
    sample_sizes: Sequence[int], phi_t: float, phi_e: float, c_t: float, c_e: float
) -> pd.DataFrame:
    """Integer elimination boundaries (spec §3.4 table) as a tidy frame.

    Columns ``n``, ``tox_eliminate_if_at_least``, ``eff_eliminate_if_at_most`` (nullable
    ``Int64``; NA = the dose cannot be eliminated at that n).
    """
    rows = [
        (
            int(n),
            tox_elimination_boundary(int(n), phi_t, c_t),
            eff_elimination_boundary(int(n), phi_e, c_e),
        )
        for n in sample_sizes
    ]
    frame = pd.DataFrame(
        rows, columns=["n", "tox_eliminate_if_at_least", "eff_eliminate_if_at_most"]
    )
    for col in ("tox_eliminate_if_at_least", "eff_eliminate_if_at_most"):
        frame[col] = frame[col].astype("Int64")
    return frame


def inadmissible_doses(
    tox_fail: Sequence[bool], eff_fail: Sequence[bool], eliminated: Collection[int] = ()
) -> frozenset[int]:
    """Dose levels (1-based) that are not admissible.

    A toxicity failure at dose k excludes k..J (monotone toxicity, Yuan-group
    ``elimi[d:ndose] = 1``); an efficacy failure excludes k only; ``eliminated`` (earlier or
    external eliminations) is added as is.
    """
    num = len(tox_fail)
    out = set(eliminated)
    for k in range(1, num + 1):
        if tox_fail[k - 1]:
            out.update(range(k, num + 1))
            break
    out.update(k for k in range(1, num + 1) if eff_fail[k - 1])
    return frozenset(out)


# ---------------------------------------------------------------------------- §3.5
@dataclass(frozen=True, slots=True)
class NextDose:
    """Outcome of :func:`boin12_next_dose`.

    ``rule`` is one of ``exploration``, ``deescalate``, ``nstar_choice``,
    ``choose_max_desirability``, ``no_admissible_dose``; ``next_dose`` is ``None`` only for
    ``no_admissible_dose``.  ``candidates`` are the admissible doses that were compared.
    """

    next_dose: int | None
    rule: str
    candidates: tuple[int, ...]
    below: int | None
    above: int | None


def _argmax(cands: Sequence[int], values: Sequence[float], *, highest: bool) -> int:
    best = max(values[c - 1] for c in cands)
    ties = [c for c in cands if values[c - 1] == best]
    return ties[-1] if highest else ties[0]


def boin12_next_dose(
    current: int,
    n: Sequence[int],
    p_tox: float,
    desirability: Sequence[float],
    admissible: Sequence[bool],
    *,
    lambda_e: float,
    lambda_d: float,
    n_star: int,
    exploration_n: int | None,
    nstar_tie: Literal["lower", "higher"] = "lower",
) -> NextDose:
    """The BOIN12 dose-assignment rules in their order (spec §3.5; escalation
    ``boin12_next_dose``: "based on Table 2 in paper PLUS dose exploration rule described in Supp
    Material top of p8"; same structure in Stagger and PKBOIN-12 ``TITE_PKBOIN12_one``).

    ``current`` is the current dose d (1-based, n_d > 0), ``p_tox`` the toxicity estimate at d
    (y/n, or the AL MLE for TITE-BOIN12), ``n`` patients per dose (pending included),
    ``desirability`` D per dose, ``admissible`` per dose.  "below" is the highest admissible dose
    < d; "above" the lowest admissible dose > d reached without passing an untreated dose.

    1. Exploration: n_d >= ``exploration_n``, p̂ < λd and "above" has never been used -> above.
    2. De-escalation: p̂ >= λd -> below; if none, d when admissible; else no admissible dose.
    3. N*: λe < p̂ < λd and n_d >= N* -> the admissible dose of {below, d} with the larger D
       (tie: ``nstar_tie``).
    4. Otherwise the admissible dose of {below, d, above} with the largest D, ties to the higher
       dose; none admissible -> no admissible dose (stop).
    """
    num = len(n)
    d = current
    n_d = int(n[d - 1])
    below = next((j for j in range(d - 1, 0, -1) if admissible[j - 1]), None)
    above: int | None = None
    for j in range(d + 1, num + 1):
        if admissible[j - 1]:
            above = j
            break
        if n[j - 1] == 0:  # never skip an untreated dose
            break
    here = admissible[d - 1]

    if (
        exploration_n is not None
        and n_d >= exploration_n
        and p_tox < lambda_d
        and above is not None
        and n[above - 1] == 0
    ):
        return NextDose(above, "exploration", (above,), below, above)
    if p_tox >= lambda_d:
        if below is not None:
            return NextDose(below, "deescalate", (below,), below, above)
        if here:
            return NextDose(d, "deescalate", (d,), below, above)
        return NextDose(None, "no_admissible_dose", (), below, above)
    if lambda_e < p_tox and n_d >= n_star:
        cands = tuple(c for c in (below, d if here else None) if c is not None)
        if not cands:
            return NextDose(None, "no_admissible_dose", (), below, above)
        pick = _argmax(cands, desirability, highest=nstar_tie == "higher")
        return NextDose(pick, "nstar_choice", cands, below, above)
    cands = tuple(c for c in (below, d if here else None, above) if c is not None)
    if not cands:
        return NextDose(None, "no_admissible_dose", (), below, above)
    pick = _argmax(cands, desirability, highest=True)
    return NextDose(pick, "choose_max_desirability", cands, below, above)


# ------------------------------------------------------------------- per-dose data
@dataclass(frozen=True, slots=True)
class DoseSummary:
    """What a BOIN12 decision uses, per dose (index 0 = dose 1).

    Attributes:
        n: patients treated (pending included).
        n_tox, n_eff: *observed* events (pending outcomes never count).
        p_tox: toxicity estimate used for movement (y/n; TITE-BOIN12: y / ESS), ``None`` when
            not estimable (untried, or zero effective sample size).
        x: quasi-binomial events (spec §3.3; TITE-BOIN12: with imputed pending outcomes).
        desirability: D per dose.
        tox_fail, eff_fail: the dose's own data meet the toxicity / futility elimination rule.
        extra: design-specific per-dose lists for the reason values (e.g. ESS).
    """

    n: tuple[int, ...]
    n_tox: tuple[int, ...]
    n_eff: tuple[int, ...]
    p_tox: tuple[float | None, ...]
    x: tuple[float, ...]
    desirability: tuple[float, ...]
    tox_fail: tuple[bool, ...]
    eff_fail: tuple[bool, ...]
    extra: Mapping[str, list[Any]]


def cell_counts(patients: Sequence[Patient], num_doses: int) -> list[list[int]]:
    """Per dose (y1, y2, y3, y4) over patients with *both* outcomes observed."""
    cells = [[0, 0, 0, 0] for _ in range(num_doses)]
    index = {(False, True): 0, (False, False): 1, (True, True): 2, (True, False): 3}
    for p in patients:
        if p.tox is None or p.eff is None:
            continue
        cells[p.dose - 1][index[(p.tox, p.eff)]] += 1
    return cells


def complete_summary(design: BOIN12, state: TrialState) -> DoseSummary:
    """:class:`DoseSummary` for complete data (spec §3.3-3.4)."""
    counts = state.counts()
    cells = cell_counts(state.patients, state.num_doses)
    u_b = design.u_b
    x = tuple(quasi_events(c, design.utilities) for c in cells)
    dvals = tuple(
        desirability(xj, nj, u_b, design.prior_alpha, design.prior_beta)
        for xj, nj in zip(x, counts.n, strict=True)
    )
    flags = [
        elimination_flags(nj, yt, ye, design.phi_t, design.phi_e, design.c_t, design.c_e)
        for nj, yt, ye in zip(counts.n, counts.tox, counts.eff, strict=True)
    ]
    return DoseSummary(
        n=counts.n,
        n_tox=counts.tox,
        n_eff=counts.eff,
        p_tox=tuple(
            (yt / nj) if nj > 0 else None for nj, yt in zip(counts.n, counts.tox, strict=True)
        ),
        x=x,
        desirability=dvals,
        tox_fail=tuple(f[0] for f in flags),
        eff_fail=tuple(f[1] for f in flags),
        extra={},
    )


# --------------------------------------------------------------------------- §3.7
def rds_table(
    sample_sizes: Sequence[int],
    phi_t: float,
    phi_e: float,
    utilities: Sequence[float],
    c_t: float,
    c_e: float,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
) -> pd.DataFrame:
    """The rank-based desirability score table (spec §3.7; escalation ``boin12_rds``).

    One row per (n, n_T, n_E) with n in ``sample_sizes``: ``desirability`` D, ``eliminated``
    (the outcome makes the dose inadmissible, §3.4) and ``rds`` = the rank of D among all
    admissible rows (average ranks on ties; NaN when eliminated).  Ranks order exactly as D,
    so the table is a conduct aid only.  Requires utilities with u1 + u4 = u2 + u3, for which x
    depends only on the marginal counts: x = (u2·n + (u4 − u2)·n_T + (u1 − u2)·n_E)/100
    (= (u3·n_E + u2·(n − n_T))/100 with the defaults); raises :class:`InputError` otherwise.
    """
    u1, u2, u3, u4 = (float(u) for u in utilities)
    if not math.isclose(u1 + u4, u2 + u3, rel_tol=0.0, abs_tol=1e-9):
        raise InputError(
            "utilities",
            "the RDS table needs u1 + u4 = u2 + u3 (utilities determined by the marginal "
            f"toxicity and efficacy counts), got {tuple(utilities)!r}",
        )
    u_b = benchmark_utility(phi_t, phi_e, utilities)
    rows: list[tuple[int, int, int, float, bool]] = []
    for n in sample_sizes:
        for nt in range(n + 1):
            for ne in range(n + 1):
                x = (u2 * n + (u4 - u2) * nt + (u1 - u2) * ne) / 100.0
                dv = desirability(x, n, u_b, prior_alpha, prior_beta)
                tf, ef = elimination_flags(n, nt, ne, phi_t, phi_e, c_t, c_e)
                rows.append((int(n), nt, ne, dv, tf or ef))
    frame = pd.DataFrame(rows, columns=["n", "n_tox", "n_eff", "desirability", "eliminated"])
    ok = ~frame["eliminated"]
    ranks = np.full(len(frame), np.nan)
    # rank on D rounded to 12 decimals so that equal x from different counts tie exactly
    ranks[ok.to_numpy()] = rankdata(np.round(frame.loc[ok, "desirability"].to_numpy(), 12))
    frame["rds"] = ranks
    return frame[["n", "n_tox", "n_eff", "desirability", "rds", "eliminated"]]


# ------------------------------------------------------------------------ the design
AdmissibilityMode = Literal["permanent", "reevaluate"]
ObdStatistic = Literal["posterior_mean", "desirability", "phase12designs"]
TieRule = Literal["lower", "higher"]
NStopDose = Literal["recommended", "current", "any"]


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(name, f"must be one of {', '.join(map(repr, allowed))}, got {value!r}")


@dataclass(frozen=True)
class BOIN12(Design):
    """BOIN12 phase I/II design (Lin et al. 2020).  Defaults: escalation ``get_boin12`` and the
    MD Anderson BOIN12 app V2.2.0.0 (spec §3.1).

    Attributes:
        num_doses: number of dose levels J.
        phi_t: φT, the highest acceptable toxicity rate; also the BOIN boundary target.
        phi_e: φE, the lowest acceptable efficacy rate.
        utilities: (u1, u2, u3, u4) = utilities of (no tox, eff), (no tox, no eff), (tox, eff),
            (tox, no eff) on 0..100; u1 must be the largest, u4 the smallest.
        c_t: toxicity elimination cut-off: inadmissible if Pr(p_T > φT | data) >= c_t.
        c_e: futility cut-off: inadmissible if Pr(p_E < φE | data) >= c_e.
        n_star: N*; with λe < p̂ < λd and n_d >= N* only {d-1, d} are compared.
        exploration_n: K; escalate to an untried next dose once n_d >= K and p̂ < λd
            (paper: "more than eight patients"); ``None`` disables the rule.
        cohort_size, max_n, start_dose: see :class:`Design` (app: 12 cohorts of 3).
        n_stop: stop once a dose (see ``n_stop_dose``) has this many patients; ``None`` = off.
        n_stop_dose: which dose ``n_stop`` refers to: ``"recommended"`` (the next dose),
            ``"current"`` (BOIN ``n.earlystop``) or ``"any"`` (escalation tests).
        prior_alpha, prior_beta: Beta prior of the quasi-binomial utility posterior.
        admissibility: ``"permanent"`` (eliminations carried forward) or ``"reevaluate"``.
        obd_statistic: final OBD criterion: ``"posterior_mean"`` (Yuan-group code, default),
            ``"desirability"`` (escalation ``select_boin12_obd``) or ``"phase12designs"`` (R
            package phase12designs: PAVA-smoothed toxicity, model-averaged unimodal efficacy
            estimate, utility of the estimates, lowest dose on ties); see
            :mod:`doseladder.core.select_obd`.
        nstar_tie: tie rule of the 2-dose N* branch, ``"lower"`` or ``"higher"``.
    """

    name: ClassVar[str] = "boin12"
    target_kind: ClassVar[str] = "obd"
    uses_efficacy: ClassVar[bool] = True

    num_doses: int
    phi_t: float = 0.35
    phi_e: float = 0.25
    utilities: Utilities = (100.0, 40.0, 60.0, 0.0)
    c_t: float = 0.95
    c_e: float = 0.90
    n_star: int = 6
    exploration_n: int | None = 9
    cohort_size: int = 3
    max_n: int = 36
    n_stop: int | None = 12
    n_stop_dose: NStopDose = "recommended"
    start_dose: int = 1
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    admissibility: AdmissibilityMode = "permanent"
    obd_statistic: ObdStatistic = "posterior_mean"
    nstar_tie: TieRule = "lower"

    def __post_init__(self) -> None:
        self._validate_common()
        check_prob("phi_t", self.phi_t, 0.05, 0.6, open_lo=False, open_hi=False)
        check_prob("phi_e", self.phi_e, 0.0, 1.0)
        self._validate_utilities()
        check_prob("c_t", self.c_t, 0.0, 1.0)
        check_prob("c_e", self.c_e, 0.0, 1.0)
        check_int("n_star", self.n_star, 1, 10_000)
        if self.exploration_n is not None:
            check_int("exploration_n", self.exploration_n, 1, 10_000)
        if self.n_stop is not None:
            check_int("n_stop", self.n_stop, 1, 10_000)
        _check_choice("n_stop_dose", self.n_stop_dose, ("recommended", "current", "any"))
        for name in ("prior_alpha", "prior_beta"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise InputError(name, f"must be a finite number > 0, got {value!r}")
        _check_choice("admissibility", self.admissibility, ("permanent", "reevaluate"))
        _check_choice("obd_statistic", self.obd_statistic, OBD_STATISTICS)
        _check_choice("nstar_tie", self.nstar_tie, ("lower", "higher"))

    def _validate_utilities(self) -> None:
        u = self.utilities
        if isinstance(u, str) or not isinstance(u, Sequence) or len(u) != 4:
            raise InputError(
                "utilities",
                f"must be 4 numbers (u1, u2, u3, u4) for (no tox, eff), (no tox, no eff), "
                f"(tox, eff), (tox, no eff), got {u!r}",
            )
        for i, v in enumerate(u):
            if (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not math.isfinite(v)
                or not 0 <= v <= 100
            ):
                raise InputError(f"utilities[{i}]", f"must be a number in [0, 100], got {v!r}")
        u1, u2, u3, u4 = (float(v) for v in u)
        if not (u4 <= u2 <= u1 and u4 <= u3 <= u1 and u4 < u1):
            raise InputError(
                "utilities",
                "need u4 <= u2 <= u1, u4 <= u3 <= u1 and u4 < u1 (efficacy without toxicity is "
                f"best, toxicity without efficacy worst), got {tuple(u)!r}",
            )
        object.__setattr__(self, "utilities", (u1, u2, u3, u4))

    # ------------------------------------------------------------------ derived
    @property
    def u_b(self) -> float:
        """Benchmark utility (spec §3.2; 70.5 with the defaults)."""
        return benchmark_utility(self.phi_t, self.phi_e, self.utilities)

    @property
    def lambda_e(self) -> float:
        """BOIN escalation boundary at φT (0.276334 for φT = 0.35)."""
        return boin12_lambdas(self.phi_t)[0]

    @property
    def lambda_d(self) -> float:
        """BOIN de-escalation boundary at φT (0.418908 for φT = 0.35)."""
        return boin12_lambdas(self.phi_t)[1]

    @property
    def _prefix(self) -> str:
        return self.name.replace("-", "_")

    # ---------------------------------------------------------------- interface
    def _decide(self, state: TrialState, now: float | None) -> Decision:
        """BOIN12 decision on complete data.

        While any toxicity or efficacy outcome is pending BOIN12 does not decide: accrual is
        suspended (rule ``boin12.pending``, next dose = current dose).
        """
        d = state.current_dose
        assert d is not None  # non-empty state
        counts = state.counts()
        pending_t, pending_e = sum(counts.tox_pending), sum(counts.eff_pending)
        if pending_t or pending_e:
            return Decision(
                Action.SUSPEND,
                d,
                d,
                Reason(
                    f"{self._prefix}.pending",
                    (
                        f"{pending_t} toxicity and {pending_e} efficacy outcome(s) are pending; "
                        "BOIN12 decides on complete data only: suspend accrual until every "
                        "outcome is known."
                    ),
                    {
                        "pending_tox": pending_t,
                        "pending_eff": pending_e,
                        "pending_tox_by_dose": list(counts.tox_pending),
                        "pending_eff_by_dose": list(counts.eff_pending),
                    },
                ),
                frozenset(state.eliminated),
            )
        return self._conclude(state, complete_summary(self, state))

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """:meth:`_decide` for many trials (:func:`~doseladder.core.designs.arrays.boin12.
        decide_boin12`)."""
        from doseladder.core.designs.arrays.boin12 import decide_boin12

        return decide_boin12(self, data)

    def select_arrays(self, data: DoseArrays) -> IntArray:
        """:meth:`select` for many trials (:func:`~doseladder.core.designs.arrays.boin12.
        select_boin12`)."""
        from doseladder.core.designs.arrays.boin12 import select_boin12

        return select_boin12(self, data)

    def _eliminated(self, state: TrialState, summary: DoseSummary) -> frozenset[int]:
        """Doses not admissible now (data-derived, plus ``state.eliminated``)."""
        return inadmissible_doses(summary.tox_fail, summary.eff_fail, state.eliminated)

    def _recorded(self, state: TrialState, inadmissible: frozenset[int]) -> frozenset[int]:
        """The eliminations a decision records: every inadmissible dose (``permanent``) or the
        state's (``reevaluate``)."""
        return inadmissible if self.admissibility == "permanent" else frozenset(state.eliminated)

    def _conclude(self, state: TrialState, summary: DoseSummary) -> Decision:
        """Apply §3.5 and the stopping rules to a :class:`DoseSummary` (shared with TITE)."""
        d = state.current_dose
        assert d is not None
        pre = self._prefix
        J = self.num_doses
        inadmissible = self._eliminated(state, summary)
        recorded = self._recorded(state, inadmissible)
        admissible = [j not in inadmissible for j in range(1, J + 1)]
        total = int(sum(summary.n))
        n_d = summary.n[d - 1]
        p_hat = summary.p_tox[d - 1]

        values: dict[str, Any] = {
            "dose": d,
            "n": n_d,
            "n_tox": summary.n_tox[d - 1],
            "n_eff": summary.n_eff[d - 1],
            "p_hat": p_hat,
            "lambda_e": self.lambda_e,
            "lambda_d": self.lambda_d,
            "n_star": self.n_star,
            "exploration_n": self.exploration_n,
            "u_b": self.u_b,
            "n_by_dose": list(summary.n),
            "x_by_dose": list(summary.x),
            "desirability_by_dose": list(summary.desirability),
            "admissible_by_dose": admissible,
            "inadmissible": sorted(inadmissible),
        }
        for key, vals in summary.extra.items():
            values[key] = list(vals)

        if n_d == 0 or p_hat is None:
            if admissible[d - 1]:
                reason = Reason(
                    f"{pre}.no_data_at_current",
                    f"No outcome information at dose {d} yet: treat the next cohort at dose {d}.",
                    values,
                )
                return self._finish(state, summary, d, d, reason, recorded, total)
            lower = next((j for j in range(d - 1, 0, -1) if admissible[j - 1]), None)
            if lower is None:
                reason = Reason(
                    f"{pre}.no_admissible_dose",
                    f"Dose {d} is not admissible and no lower dose is: stop the trial; no dose "
                    "is selected.",
                    values,
                )
                return Decision(Action.STOP, d, None, reason, recorded)
            reason = Reason(
                f"{pre}.deescalate",
                f"Dose {d} is not admissible and has no outcome information: go to dose "
                f"{lower}, the highest admissible lower dose.",
                values,
            )
            return self._finish(state, summary, d, lower, reason, recorded, total)

        res = boin12_next_dose(
            d,
            summary.n,
            p_hat,
            summary.desirability,
            admissible,
            lambda_e=self.lambda_e,
            lambda_d=self.lambda_d,
            n_star=self.n_star,
            exploration_n=self.exploration_n,
            nstar_tie=self.nstar_tie,
        )
        values["candidates"] = list(res.candidates)
        values["candidate_desirability"] = {
            str(c): summary.desirability[c - 1] for c in res.candidates
        }
        head = (
            f"At dose {d}: {summary.n_tox[d - 1]} toxicities and {summary.n_eff[d - 1]} "
            f"responses observed in {n_d} patients, toxicity estimate {p_hat:.3f} "
            f"(λe = {self.lambda_e:.4f}, λd = {self.lambda_d:.4f})"
        )
        cand_txt = ", ".join(
            f"dose {c}: D = {summary.desirability[c - 1]:.4f}" for c in res.candidates
        )
        if res.next_dose is None:
            reason = Reason(
                f"{pre}.no_admissible_dose",
                f"{head}. No admissible dose remains among the candidate doses: stop the "
                "trial; no dose is selected.",
                values,
            )
            return Decision(Action.STOP, d, None, reason, recorded)
        nd = res.next_dose
        if res.rule == "exploration":
            msg = (
                f"{head}. Dose exploration: {n_d} >= {self.exploration_n} patients at dose {d}, "
                f"toxicity estimate < λd and dose {nd} has never been used: go to dose {nd}."
            )
        elif res.rule == "deescalate":
            msg = f"{head}. The estimate is >= λd: de-escalate" + (
                f" to dose {nd}." if nd < d else f"; no admissible lower dose, so stay at dose {d}."
            )
        elif res.rule == "nstar_choice":
            msg = (
                f"{head}. λe < estimate < λd with {n_d} >= N* = {self.n_star} patients: choose "
                f"between the admissible doses at or below the current dose ({cand_txt}): "
                f"dose {nd}."
            )
        else:
            msg = (
                f"{head}. Choose the admissible dose with the largest desirability among the "
                f"next lower, the current and the next higher admissible dose ({cand_txt}; "
                f"ties go to the higher dose): dose {nd}."
            )
        reason = Reason(f"{pre}.{res.rule}", msg, values)
        return self._finish(state, summary, d, nd, reason, recorded, total)

    def _finish(
        self,
        state: TrialState,
        summary: DoseSummary,
        d: int,
        next_dose: int,
        reason: Reason,
        eliminated: frozenset[int],
        total: int,
    ) -> Decision:
        """Stopping for the maximum sample size and for ``n_stop`` (spec §3.5 step 5)."""
        if next_dose > d:
            action = Action.ESCALATE
        elif next_dose < d:
            action = Action.DEESCALATE
        else:
            action = Action.STAY
        if total >= self.max_n:
            stop = max_n_reason(total, self.max_n, next_dose)
            return Decision(Action.STOP, d, next_dose, stop, eliminated, (reason,))
        if self.n_stop is not None:
            n = summary.n
            if self.n_stop_dose == "recommended":
                hit = [next_dose] if n[next_dose - 1] >= self.n_stop else []
            elif self.n_stop_dose == "current":
                hit = [d] if n[d - 1] >= self.n_stop else []
            else:
                hit = [j for j in range(1, len(n) + 1) if n[j - 1] >= self.n_stop]
            if hit:
                which = {
                    "recommended": "the recommended dose",
                    "current": "the current dose",
                    "any": "a dose",
                }[self.n_stop_dose]
                stop = Reason(
                    "n_stop_reached",
                    (
                        f"{which.capitalize()} has reached {self.n_stop} patients "
                        f"(dose {hit[0]}: {n[hit[0] - 1]} patients): stop the trial "
                        f"(the rules would give dose {next_dose})."
                    ),
                    {
                        "n_stop": self.n_stop,
                        "n_stop_dose": self.n_stop_dose,
                        "doses": hit,
                        "n_by_dose": list(n),
                        "rule_next_dose": next_dose,
                    },
                )
                return Decision(Action.STOP, d, next_dose, stop, eliminated, (reason,))
        return Decision(action, d, next_dose, reason, eliminated)

    # ------------------------------------------------------------------ selection
    def select(self, state: TrialState) -> Selection:
        """OBD selection (spec §3.6) on complete data, with per-dose estimates.

        Admissible = not eliminated (``state.eliminated`` plus the §3.4 rules on the final data).
        Estimates: isotonic toxicity estimates and 95% intervals as BOIN ``select.mtd``
        (:func:`~doseladder.core.estimates.tox_estimates`); efficacy = posterior mean and 95%
        equal-tailed interval of Beta(1 + n_E, 1 + n − n_E); ``utility`` = the OBD statistic on
        0..100 (100·posterior mean utility, or 100·D).
        """
        if not isinstance(state, TrialState):
            raise InputError("state", "must be a TrialState")
        if state.num_doses != self.num_doses:
            raise InputError(
                "num_doses",
                f"the trial state has {state.num_doses} dose levels but the design has "
                f"{self.num_doses}",
            )
        if state.any_pending(efficacy=True):
            raise InputError(
                "state",
                "outcomes are pending: the OBD is selected once every toxicity and efficacy "
                "outcome is known",
            )
        summary = complete_summary(self, state)
        inadmissible = self._eliminated(state, summary)
        admissible = [j not in inadmissible for j in range(1, self.num_doses + 1)]
        res = select_obd(
            summary.n,
            summary.n_tox,
            summary.x,
            admissible,
            self.phi_t,
            u_b=self.u_b,
            statistic=self.obd_statistic,
            prior_alpha=self.prior_alpha,
            prior_beta=self.prior_beta,
            n_eff=summary.n_eff,
            utilities=self.utilities,
        )
        return Selection(
            "obd",
            res.dose,
            Reason(f"{self._prefix}.{res.rule}", res.message, _obd_values(res, admissible)),
            _estimates(summary, admissible, res, self.phi_t),
            mtd=res.mtd,
        )

    # --------------------------------------------------------------------- tables
    def tables(self, rds_sample_sizes: Sequence[int] | None = None) -> dict[str, pd.DataFrame]:
        """Decision tables as tidy frames.

        * ``elimination`` -- §3.4 integer boundaries for n = cohort multiples up to ``max_n``;
        * ``boundaries`` -- BOIN λe/λd at φT and the equivalent integer escalation /
          de-escalation boundaries for the same n;
        * ``rds`` -- §3.7 RDS table for ``rds_sample_sizes`` (default 0 and 1-3 cohorts, the
          set escalation labels "Table 3 in Lin et al."); omitted when u1 + u4 != u2 + u3.
        """
        ns = list(range(self.cohort_size, self.max_n + 1, self.cohort_size))
        out: dict[str, pd.DataFrame] = {
            "elimination": elimination_table(ns, self.phi_t, self.phi_e, self.c_t, self.c_e)
        }
        le, ld = self.lambda_e, self.lambda_d
        out["boundaries"] = pd.DataFrame(
            {
                "n": ns,
                "lambda_e": [le] * len(ns),
                "lambda_d": [ld] * len(ns),
                "escalate_if_at_most": [math.floor(le * n) for n in ns],
                "deescalate_if_at_least": [math.ceil(ld * n) for n in ns],
            }
        )
        sizes = (
            [0, self.cohort_size, 2 * self.cohort_size, 3 * self.cohort_size]
            if rds_sample_sizes is None
            else [int(s) for s in rds_sample_sizes]
        )
        for i, s in enumerate(sizes):
            check_int(f"rds_sample_sizes[{i}]", s, 0, 200)
        u1, u2, u3, u4 = self.utilities
        if math.isclose(u1 + u4, u2 + u3, rel_tol=0.0, abs_tol=1e-9):
            out["rds"] = rds_table(
                sizes,
                self.phi_t,
                self.phi_e,
                self.utilities,
                self.c_t,
                self.c_e,
                self.prior_alpha,
                self.prior_beta,
            )
        return out

    # ------------------------------------------------------------------- describe
    def describe(self) -> str:
        """Protocol text for BOIN12 with the numbers of this design."""
        return "\n\n".join(describe_boin12_paragraphs(self))


# --------------------------------------------------------------------------- helpers
def _obd_values(res: ObdResult, admissible: Sequence[bool]) -> dict[str, Any]:
    return {
        "statistic": res.statistic,
        "mtd": res.mtd,
        "tox_fitted": list(res.tox_fitted),
        "utility": list(res.utility),
        "admissible": list(admissible),
        "candidates": list(res.candidates),
    }


def _estimates(
    summary: DoseSummary, admissible: Sequence[bool], res: ObdResult, phi_t: float
) -> tuple[DoseEstimate, ...]:
    base = tox_estimates(summary.n, summary.n_tox, target=phi_t)
    out: list[DoseEstimate] = []
    for j, est in enumerate(base):
        n, ne = summary.n[j], summary.n_eff[j]
        if n > 0:
            a, b = 1.0 + ne, 1.0 + n - ne
            eff = (
                a / (a + b),
                float(beta_dist.ppf(0.025, a, b)),
                float(beta_dist.ppf(0.975, a, b)),
            )
            util = res.utility[j]
            out.append(
                replace(
                    est,
                    n_eff=ne,
                    eff_est=eff[0],
                    eff_lower=eff[1],
                    eff_upper=eff[2],
                    utility=None if util is None else 100.0 * util,
                    admissible=bool(admissible[j]),
                )
            )
        else:
            out.append(replace(est, n_eff=ne, admissible=bool(admissible[j])))
    return tuple(out)


def _fmt(values: Sequence[object]) -> str:
    return ", ".join("NA" if v is None or v is pd.NA else str(v) for v in values)


def describe_boin12_paragraphs(p: BOIN12) -> list[str]:
    """The protocol paragraphs of BOIN12 (TITE-BOIN12 adds its own)."""
    u1, u2, u3, u4 = p.utilities
    tab = p.tables()
    elim = tab["elimination"]
    bnd = tab["boundaries"]
    ns = list(elim["n"])
    esc_row = _fmt(list(bnd["escalate_if_at_most"]))
    des_row = _fmt(list(bnd["deescalate_if_at_least"]))
    stop_dose = {
        "recommended": "the recommended next dose",
        "current": "the current dose",
        "any": "any dose",
    }[p.n_stop_dose]
    tox = [None if pd.isna(v) else int(v) for v in elim["tox_eliminate_if_at_least"]]
    eff = [None if pd.isna(v) else int(v) for v in elim["eff_eliminate_if_at_most"]]
    paras = [
        (
            "Dose finding uses the BOIN12 design (Lin R, Zhou Y, Yan F, Li D, Yuan Y. BOIN12: "
            "Bayesian optimal interval phase I/II trial design for utility-based dose finding "
            "in immunotherapy and targeted therapies. JCO Precis Oncol 2020;4:1393-1402), which "
            "uses both toxicity and efficacy to find the optimal biological dose (OBD). "
            f"There are {p.num_doses} dose levels; the trial starts at dose {p.start_dose}, "
            f"treats cohorts of {p.cohort_size} and enrols at most {p.max_n} patients. The "
            f"highest acceptable toxicity rate is φT = {p.phi_t:g} and the lowest acceptable "
            f"efficacy rate is φE = {p.phi_e:g}."
        ),
        (
            "Each patient's outcome is scored with the utilities "
            f"{u1:g} (efficacy without toxicity), {u2:g} (neither), {u3:g} (both) and {u4:g} "
            "(toxicity without efficacy). At each dose the utility-weighted number of "
            "'responses' x = Σ utility/100 is modelled as quasi-binomial with a "
            f"Beta({p.prior_alpha:g}, {p.prior_beta:g}) prior, and the desirability of the dose "
            f"is D = Pr(utility > {p.u_b:g} | data), where the benchmark {p.u_b:g} lies halfway "
            "between the utility at the acceptability limits and 100."
        ),
        (
            "Admissibility: once at least 3 patients are treated at a dose, the dose is not "
            f"admissible if Pr(toxicity rate > {p.phi_t:g} | data) >= {p.c_t:g} (with at least "
            f"3 toxicities; this also excludes every higher dose) or Pr(efficacy rate < "
            f"{p.phi_e:g} | data) >= {p.c_e:g}, with Beta(1, 1) priors. With n = {_fmt(ns)} "
            f"patients: a dose is excluded for toxicity if the number of toxicities is >= "
            f"{_fmt(tox)}, and for futility if the number of responses is <= {_fmt(eff)} "
            "(NA: cannot be excluded). "
            + (
                "Excluded doses are never given again."
                if p.admissibility == "permanent"
                else "Admissibility is re-evaluated on the current data at every decision."
            )
        ),
        (
            "After each cohort, with p̂ the observed toxicity rate at the current dose d and "
            f"the BOIN boundaries λe = {p.lambda_e:.4f} and λd = {p.lambda_d:.4f} (target "
            f"{p.phi_t:g}; in counts: p̂ <= λe if toxicities <= {esc_row}, p̂ >= λd if "
            f">= {des_row} at the same n), the "
            "next dose is chosen in this order: "
            + (
                f"(1) if at least {p.exploration_n} patients have been treated at d, p̂ < λd "
                "and the next higher admissible dose has never been used, escalate to it; "
                if p.exploration_n is not None
                else ""
            )
            + "(2) if p̂ >= λd, de-escalate to the next lower admissible dose (stay at d if "
            "there is none and d is admissible); "
            f"(3) if λe < p̂ < λd and at least N* = {p.n_star} patients have been treated at "
            "d, choose between the next lower admissible dose and d the one with the larger "
            f"desirability (ties: the {p.nstar_tie} dose); "
            "(4) otherwise choose among the next lower, the current and the next higher "
            "admissible dose the one with the largest desirability (ties: the higher dose). "
            "If no candidate dose is admissible the trial stops and no dose is selected."
        ),
        (
            f"The trial stops when {p.max_n} patients have been treated"
            + (f" or when {stop_dose} has {p.n_stop} patients" if p.n_stop is not None else "")
            + ". "
            + (
                "The OBD is then selected among the admissible treated doses at or below the "
                "MTD: the toxicity rates are smoothed by isotonic regression, the MTD is the "
                f"dose whose estimate is closest to {p.phi_t:g}, and the OBD is the dose with "
                "the largest posterior mean utility (Yuan-group code)."
                if p.obd_statistic == "posterior_mean"
                else "The OBD is then selected among the admissible treated doses at or below "
                "the MTD (isotonic regression of the observed toxicity rates, the dose closest "
                f"to {p.phi_t:g}, highest on ties) as the dose with the largest desirability "
                "(R package escalation, select_boin12_obd)."
            )
        ),
    ]
    return paras
