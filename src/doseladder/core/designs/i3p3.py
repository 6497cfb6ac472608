"""i3+3 (Liu, Wang & Ji 2020) as ``FIND::get_decision_i3plus3`` tabulates it.

Source: ``oliviazhang0416/FIND`` @ 55c6fc5, ``R/get_decision_i3plus3.R`` and
``R/run_sim_i3plus3.R`` (spec ``dose-finding.md`` §6.2).  With EI = [ei_low, ei_high] and
p̂ = y/n at the current dose: p̂ < ei_low -> E; ei_low <= p̂ <= ei_high -> S; p̂ > ei_high ->
S if (y − 1)/n < ei_low, else D.  Exclusion: n >= 3 and Pr(p > target | y, n) > ``cutoff_eli``
(Beta(1, 1)) -> DU (de-escalate; the dose and all higher doses are excluded).  Conduct and
selection: :mod:`~doseladder.core.designs.interval_rules` (FIND's ``run_sim_i3plus3`` order).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from scipy.special import betainc

from doseladder.core.designs.base import Design, check_prob
from doseladder.core.designs.interval_rules import IntervalDesign
from doseladder.core.errors import InputError

__all__ = ["I3P3", "i3p3_letter"]


@lru_cache(maxsize=65536)
def i3p3_letter(n: int, y: int, target: float, ei_low: float, ei_high: float, cutoff: float) -> str:
    """E / S / D / DU of ``get_decision_i3plus3`` (DU only with n >= 3)."""
    if n >= 3 and 1.0 - betainc(y + 1, n - y + 1, target) > cutoff:
        return "DU"
    p_hat = y / n
    if p_hat < ei_low:
        return "E"
    if p_hat <= ei_high:
        return "S"
    return "S" if (y - 1) / n < ei_low else "D"


@dataclass(frozen=True)
class I3P3(IntervalDesign, Design):
    """i3+3 (spec §6.2).

    Attributes:
        num_doses, target, cohort_size, max_n, start_dose: common design parameters.
        ei_low, ei_high: the equivalence interval (default target − 0.05, target + 0.05);
            FIND requires each end at least 10% of the target away from it.
        cutoff_eli: exclusion cutoff on Pr(p > target | data) (FIND ``DU.pp`` = 0.95).
        n_earlystop: stop once the next dose has this many patients (100 = off).
    """

    name: ClassVar[str] = "i3+3"
    target_kind: ClassVar[str] = "mtd"
    rule_prefix: ClassVar[str] = "i3p3"

    num_doses: int
    target: float
    cohort_size: int = 3
    max_n: int = 30
    start_dose: int = 1
    ei_low: float | None = None
    ei_high: float | None = None
    cutoff_eli: float = 0.95
    n_earlystop: int = 100

    def __post_init__(self) -> None:
        self._validate_common()
        self._validate_interval()
        t = float(self.target)
        if self.ei_low is not None:
            check_prob("ei_low", self.ei_low, 0.0, t)
            if t - self.ei_low < 0.1 * t:
                raise InputError("ei_low", f"must be at most {0.9 * t:g} (10% below the target)")
        if self.ei_high is not None:
            check_prob("ei_high", self.ei_high, t, 1.0)
            if self.ei_high - t < 0.1 * t:
                raise InputError("ei_high", f"must be at least {1.1 * t:g} (10% above the target)")

    @property
    def ei(self) -> tuple[float, float]:
        lo = self.target - 0.05 if self.ei_low is None else float(self.ei_low)
        hi = self.target + 0.05 if self.ei_high is None else float(self.ei_high)
        return lo, hi

    def letter(self, n: int, y: int) -> str:
        lo, hi = self.ei
        return i3p3_letter(n, y, self.target, lo, hi, self.cutoff_eli)

    def explain(self, n: int, y: int, letter: str) -> str:
        lo, hi = self.ei
        head = f"At the current dose {y} of {n} patients had a DLT (rate {y / n:.3f})"
        if letter == "DU":
            return f"{head} and Pr(DLT rate > {self.target:g}) > {self.cutoff_eli:g}"
        if letter == "E":
            return f"{head}, below the equivalence interval [{lo:g}, {hi:g}]"
        if y / n <= hi:
            return f"{head}, inside the equivalence interval [{lo:g}, {hi:g}]"
        if letter == "S":
            return (
                f"{head}, above the equivalence interval [{lo:g}, {hi:g}], but one DLT fewer "
                f"({(y - 1) / n:.3f}) would be below it"
            )
        return f"{head}, above the equivalence interval [{lo:g}, {hi:g}] even with one DLT fewer"

    def describe(self) -> str:
        lo, hi = self.ei
        return (
            "i3+3 design. Dose finding uses the i3+3 design (Liu, Wang & Ji, J Biopharm Stat "
            f"2020). The target DLT rate is {self.target:g} with equivalence interval "
            f"[{lo:g}, {hi:g}]. After each cohort the observed DLT rate y/n at the current dose "
            "is compared with the interval: below -> escalate; inside -> stay; above -> stay if "
            "(y − 1)/n is below the interval, otherwise de-escalate. With at least 3 patients, "
            f"a dose with Pr(DLT rate > {self.target:g} | data) > {self.cutoff_eli:g} "
            "(Beta(1, 1) prior) is excluded with all higher doses; if the lowest dose is "
            f"excluded the trial stops with no dose selected. There are {self.num_doses} dose "
            f"levels; the trial starts at dose {self.start_dose}, treats cohorts of "
            f"{self.cohort_size} and enrols at most {self.max_n} patients. At the end the MTD "
            "is the dose whose isotonic estimate of the DLT rate is closest to the target."
        )
