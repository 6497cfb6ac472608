"""Pooled toxicity monitoring across indications (BOIN-style elimination boundary).

Seed 000 (``000_b1ded836ae083165.txt``, NCT07143617) lets subjects of other indications enrol
only at doses confirmed safe in the driving (SLE-ITP) cohort, and says they "will not
participate in dose escalation and OBD selection decisions".  It does not say what happens to
their toxicities.  Spec ``dose-finding.md`` §5.2 advises ("strongly advised for CAR-T/NK
safety") a configurable pooled safety rule, e.g. the BOIN elimination boundary on pooled data.

Rule: per dose, over the patients in ``scope`` (``"all"`` indications pooled, default, or only
the ``"others"``) whose DLT outcome is *known* (a DLT observed, or the DLT window completed
without one -- pending outcomes never count, neither as DLT nor as patients), with y DLTs in n
such patients, the dose is flagged when

    n >= min_n  and  Pr(p_DLT > target | y, n) > cutoff,   p_DLT ~ Beta(a + y, b + n − y),

with a = b = 1 and cutoff 0.95 as BOIN's elimination rule (spec §1.2 / §7: strict ">" 0.95,
n >= 3).  A flagged dose flags every higher dose (monotone toxicity).

``action`` says what a flag does (the plan applies it):

* ``"flag"`` -- report only (for the safety review committee); no automatic effect;
* ``"close_others"`` (default) -- flagged doses are closed to the non-driving indications; the
  driving cohort's decisions are untouched, as seed 000 requires ("will not participate in dose
  escalation ... decisions");
* ``"close_all"`` -- flagged doses are closed to every indication and given to the driving
  design as eliminated (this lets other indications' DLTs change the driving decisions, which
  seed 000's wording excludes -- choose it only by protocol amendment).

Every trigger is reported in the plan's recommendation with its numbers, whatever the action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from scipy.stats import beta as beta_dist

from doseladder.core.designs.base import check_int, check_prob
from doseladder.core.errors import InputError
from doseladder.core.state import Patient

__all__ = ["DoseToxicity", "PooledSafetyMonitor", "SafetyMonitorResult"]

MonitorScope = Literal["all", "others"]
MonitorAction = Literal["flag", "close_others", "close_all"]


@lru_cache(maxsize=4096)
def _prob_above(y: int, n: int, target: float, a: float, b: float) -> float:
    return float(beta_dist.sf(target, a + y, b + n - y))


@dataclass(frozen=True, slots=True)
class DoseToxicity:
    """Pooled DLT data at one dose (patients with a known DLT outcome only)."""

    dose: int
    n: int
    dlts: int
    pending: int
    prob_above_target: float | None
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "dose": self.dose,
            "n": self.n,
            "dlts": self.dlts,
            "pending": self.pending,
            "prob_above_target": self.prob_above_target,
            "flagged": self.flagged,
        }


@dataclass(frozen=True, slots=True)
class SafetyMonitorResult:
    """The monitor on the current data: per-dose tallies and the flagged doses (closed upward)."""

    per_dose: tuple[DoseToxicity, ...]
    flagged: frozenset[int]
    action: MonitorAction

    @property
    def triggered(self) -> bool:
        return bool(self.flagged)

    def closed_for_others(self) -> frozenset[int]:
        return self.flagged if self.action in ("close_others", "close_all") else frozenset()

    def closed_for_driving(self) -> frozenset[int]:
        return self.flagged if self.action == "close_all" else frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "flagged": sorted(self.flagged),
            "per_dose": [d.to_dict() for d in self.per_dose],
        }


@dataclass(frozen=True, slots=True)
class PooledSafetyMonitor:
    """Pooled DLT monitoring (module docstring).

    Attributes:
        target: the DLT rate not to be exceeded (BOIN's φ; the plan's design φ by default).
        cutoff: flag when Pr(p_DLT > target | data) > cutoff.
        min_n: patients with a known DLT outcome needed before a dose can be flagged.
        scope: ``"all"`` (pool every indication, default) or ``"others"``.
        action: ``"flag"``, ``"close_others"`` (default) or ``"close_all"``.
        prior_a, prior_b: Beta prior of the DLT rate.
    """

    target: float
    cutoff: float = 0.95
    min_n: int = 3
    scope: MonitorScope = "all"
    action: MonitorAction = "close_others"
    prior_a: float = 1.0
    prior_b: float = 1.0

    def __post_init__(self) -> None:
        check_prob("safety_monitor.target", self.target)
        check_prob("safety_monitor.cutoff", self.cutoff)
        check_int("safety_monitor.min_n", self.min_n, 1, 1000)
        if self.scope not in ("all", "others"):
            raise InputError(
                "safety_monitor.scope", f"must be 'all' or 'others', got {self.scope!r}"
            )
        if self.action not in ("flag", "close_others", "close_all"):
            raise InputError(
                "safety_monitor.action",
                f"must be 'flag', 'close_others' or 'close_all', got {self.action!r}",
            )
        for name in ("prior_a", "prior_b"):
            check_prob(f"safety_monitor.{name}", getattr(self, name), 0.0, 1000.0)

    def boundary(self, n: int) -> int | None:
        """Smallest number of DLTs in ``n`` known outcomes that flags a dose (None: none)."""
        if n < self.min_n:
            return None
        for y in range(n + 1):
            if _prob_above(y, n, self.target, self.prior_a, self.prior_b) > self.cutoff:
                return y
        return None

    def evaluate(
        self, num_doses: int, patients: Sequence[Patient], driving: Sequence[bool]
    ) -> SafetyMonitorResult:
        """Evaluate on ``patients``; ``driving[i]`` says whether patient i is driving-cohort."""
        n = [0] * num_doses
        y = [0] * num_doses
        pend = [0] * num_doses
        for p, is_driving in zip(patients, driving, strict=True):
            if self.scope == "others" and is_driving:
                continue
            k = p.dose - 1
            if p.tox is None:
                pend[k] += 1
                continue
            n[k] += 1
            y[k] += p.tox is True
        per: list[DoseToxicity] = []
        lowest: int | None = None
        for k in range(num_doses):
            prob = (
                _prob_above(y[k], n[k], self.target, self.prior_a, self.prior_b)
                if n[k] > 0
                else None
            )
            flag = n[k] >= self.min_n and prob is not None and prob > self.cutoff
            if flag and lowest is None:
                lowest = k + 1
            per.append(DoseToxicity(k + 1, n[k], y[k], pend[k], prob, flag))
        flagged = frozenset(range(lowest, num_doses + 1)) if lowest is not None else frozenset()
        return SafetyMonitorResult(tuple(per), flagged, self.action)

    def describe(self, max_n: int = 12) -> str:
        scope = (
            "all subjects (pooled across every indication)"
            if self.scope == "all"
            else "the subjects of the non-driving indications"
        )
        bounds = []
        for n in range(self.min_n, max_n + 1):
            b = self.boundary(n)
            bounds.append(f"{n}: {'NA' if b is None else b}")
        effect = {
            "flag": "the dose is reported to the safety review committee; no automatic action",
            "close_others": (
                "the dose and every higher dose are closed to the non-driving indications; "
                "the driving cohort's decisions are not affected"
            ),
            "close_all": "the dose and every higher dose are closed to every indication",
        }[self.action]
        return (
            f"Pooled safety monitoring: DLTs of {scope} are monitored at each dose. Counting "
            "only subjects whose DLT outcome is known (pending outcomes never count), a dose "
            f"is flagged when at least {self.min_n} such subjects have been treated and "
            f"Pr(DLT rate > {self.target:g} | data) > {self.cutoff:g} under a "
            f"Beta({self.prior_a:g}, {self.prior_b:g}) prior; a flagged dose flags every "
            f"higher dose. When a dose is flagged, {effect}. Flag if the number of DLTs is at "
            f"least (subjects: DLTs) {', '.join(bounds)}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "cutoff": self.cutoff,
            "min_n": self.min_n,
            "scope": self.scope,
            "action": self.action,
            "prior_a": self.prior_a,
            "prior_b": self.prior_b,
        }
