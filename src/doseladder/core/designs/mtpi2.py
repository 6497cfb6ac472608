"""mTPI-2 (Guo, Wang, Ji, Ji & Lin 2017) as ``FIND::get_decision_mtpi2`` tabulates it.

Source: ``oliviazhang0416/FIND`` @ 55c6fc5, ``R/get_decision_mtpi2.R`` (spec
``dose-finding.md`` §6.3).  The equivalence interval EI = [target − epsilon1, target +
epsilon2]; [0, EI_low) and (EI_high, 1] are tiled by intervals of the same width ε = ε1 + ε2
(the outermost ones truncated at 0 and 1; cut points rounded to 3 decimals as in FIND).  With a
Beta(1 + y, 1 + n − y) posterior the unit probability mass UPM = Pr(interval) / width is
computed for every interval; the first interval with the largest UPM decides: its midpoint below
EI -> E, inside -> S, above -> D.  Pr(p > target | y, n) > ``cutoff_eli`` with n >= 3 -> DU
(FIND tabulates from n = 3).  Conduct and selection: :mod:`~doseladder.core.designs.interval_rules`
(FIND ``run_sim_mtpi2`` order: ``n_earlystop`` checked at the next dose after the move).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from scipy.special import betainc

from doseladder.core.designs.base import Design, check_prob
from doseladder.core.designs.interval_rules import IntervalDesign

__all__ = ["MTPI2", "mtpi2_intervals", "mtpi2_letter"]

_SQRT_EPS = math.sqrt(2.220446049250313e-16)


def _r_seq(start: float, stop: float, by: float) -> list[float]:
    """R's ``seq(from, to, by)`` for by > 0 (``from + (0:n)*by``, clipped at ``to``)."""
    if stop < start:
        return []
    n = int((stop - start) / by + 1e-10)
    return [min(start + k * by, stop) for k in range(n + 1)]


@lru_cache(maxsize=256)
def mtpi2_intervals(ei_low: float, ei_high: float) -> tuple[tuple[float, float], ...]:
    """The (start, end) intervals of ``get_decision_mtpi2``."""
    eps = ei_high - ei_low
    if abs(ei_low % eps) < _SQRT_EPS:
        li = list(zip(_r_seq(0.0, ei_low - eps, eps), _r_seq(eps, ei_low, eps), strict=False))
    else:
        first = ei_low - math.ceil(ei_low / eps) * eps
        li = list(
            zip(_r_seq(first, ei_low - eps, eps), _r_seq(first + eps, ei_low, eps), strict=False)
        )
    if abs((1 - ei_high) % eps) < _SQRT_EPS:
        hi = list(zip(_r_seq(ei_high, 1 - eps, eps), _r_seq(ei_high + eps, 1.0, eps), strict=False))
    else:
        last = ei_high + math.ceil((1 - ei_high) / eps) * eps
        hi = list(
            zip(_r_seq(ei_high, last - eps, eps), _r_seq(ei_high + eps, last, eps), strict=False)
        )
    ivs = [list(p) for p in (*li, (ei_low, ei_high), *hi)]
    ivs[0][0] = 0.0
    ivs[-1][1] = 1.0
    return tuple((round(a, 3), round(b, 3)) for a, b in ivs)


@lru_cache(maxsize=65536)
def mtpi2_letter(
    n: int, y: int, target: float, ei_low: float, ei_high: float, cutoff: float
) -> str:
    """E / S / D / DU of ``get_decision_mtpi2`` (DU only with n >= 3)."""
    if n >= 3 and 1.0 - betainc(y + 1, n - y + 1, target) > cutoff:
        return "DU"
    ivs = mtpi2_intervals(ei_low, ei_high)
    upm = [(betainc(1 + y, 1 + n - y, b) - betainc(1 + y, 1 + n - y, a)) / (b - a) for a, b in ivs]
    best = upm.index(max(upm))  # which.max: the first maximum
    mid = (ivs[best][0] + ivs[best][1]) / 2
    if mid < ei_low:
        return "E"
    if mid > ei_high:
        return "D"
    return "S"


@dataclass(frozen=True)
class MTPI2(IntervalDesign, Design):
    """mTPI-2 (spec §6.3).

    Attributes:
        num_doses, target, cohort_size, max_n, start_dose: common design parameters.
        epsilon1, epsilon2: EI = [target − epsilon1, target + epsilon2] (0.05 each).
        cutoff_eli: exclusion cutoff on Pr(p > target | data) (0.95).
        n_earlystop: stop once the next dose has this many patients (100 = off).
    """

    name: ClassVar[str] = "mtpi2"
    target_kind: ClassVar[str] = "mtd"
    rule_prefix: ClassVar[str] = "mtpi2"

    num_doses: int
    target: float
    cohort_size: int = 3
    max_n: int = 30
    start_dose: int = 1
    epsilon1: float = 0.05
    epsilon2: float = 0.05
    cutoff_eli: float = 0.95
    n_earlystop: int = 100

    def __post_init__(self) -> None:
        self._validate_common()
        self._validate_interval()
        check_prob("epsilon1", self.epsilon1, 0.0, float(self.target))
        check_prob("epsilon2", self.epsilon2, 0.0, 1.0 - float(self.target))

    def letter(self, n: int, y: int) -> str:
        return mtpi2_letter(
            n,
            y,
            self.target,
            self.target - self.epsilon1,
            self.target + self.epsilon2,
            self.cutoff_eli,
        )

    def explain(self, n: int, y: int, letter: str) -> str:
        lo, hi = self.target - self.epsilon1, self.target + self.epsilon2
        where = {"E": "below", "S": "inside", "D": "above", "DU": "above"}[letter]
        return (
            f"At the current dose {y} of {n} patients had a DLT; the interval with the largest "
            f"unit probability mass lies {where} the equivalence interval [{lo:g}, {hi:g}]"
            + (
                f" and Pr(DLT rate > {self.target:g}) > {self.cutoff_eli:g}"
                if letter == "DU"
                else ""
            )
        )

    def describe(self) -> str:
        lo, hi = self.target - self.epsilon1, self.target + self.epsilon2
        return (
            "mTPI-2 design. Dose finding uses the modified toxicity probability interval "
            "design mTPI-2 (Guo et al., Contemp Clin Trials 2017) with the rules of the R "
            f"package FIND. The target DLT rate is {self.target:g} with equivalence interval "
            f"[{lo:g}, {hi:g}]; the intervals below and above it have the same width. After "
            "each cohort the posterior (Beta(1, 1) prior) unit probability mass of every "
            "interval is computed at the current dose: escalate if the largest lies below the "
            "equivalence interval, stay if it is the equivalence interval, de-escalate if "
            "above. With at least 3 patients, a dose with Pr(DLT rate > target | data) > "
            f"{self.cutoff_eli:g} is excluded with all higher doses; if the lowest dose is "
            "excluded the trial stops with no dose selected. There are "
            f"{self.num_doses} dose levels; the trial starts at dose {self.start_dose}, treats "
            f"cohorts of {self.cohort_size} and enrols at most {self.max_n} patients. At the "
            "end the MTD is the dose whose isotonic estimate of the DLT rate is closest to "
            "the target."
        )
