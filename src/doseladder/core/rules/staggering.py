"""Sentinel staggering: the first patient(s) of a new dose are observed before the next.

Issue #4: "Optional sentinel staggering (first patient of a new dose observed N days before the
next)".  Spec ``clinical.md`` §3.5 cites an autoimmune cell-therapy phase I (NCT07488546) whose
"first subject per cohort [is] observed >= 14 days before the next is dosed".  None of the five
seed records states a stagger, so no shipped protocol enables it (flagged in each file's review
list); spec ``dose-finding.md`` §5.1.1 notes that TITE conduct usually has none.

Rule: at a dose with k patients already treated (counting every indication, or only the
driving cohort with ``scope="driving"``), if 1 <= k <= ``sentinels`` the next patient at that
dose may be treated no earlier than ``days`` after the k-th patient's treatment.  With the
default ``sentinels = 1`` only the first patient is a sentinel; ``sentinels = 3`` staggers the
whole first cohort of 3.  The wait is a time rule only: an outcome observed during the wait is
used by the design at the next decision, which may change the dose (e.g. the fallback rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from doseladder.core.designs.base import check_int
from doseladder.core.errors import InputError
from doseladder.core.state import Patient

__all__ = ["SentinelStaggering", "StaggerCheck"]

StaggerScope = Literal["all", "driving"]


@dataclass(frozen=True, slots=True)
class StaggerCheck:
    """Result for one dose: whether the next patient must wait, and until when."""

    dose: int
    treated: int
    wait: bool
    available_at: float | None

    def values(self) -> dict[str, Any]:
        return {
            "dose": self.dose,
            "treated_at_dose": self.treated,
            "wait": self.wait,
            "available_at": self.available_at,
        }


@dataclass(frozen=True, slots=True)
class SentinelStaggering:
    """Observe each of the first ``sentinels`` patients at a new dose ``days`` before the next.

    Attributes:
        days: observation interval (same time unit as entry times -- days in protocols).
        sentinels: number of staggered patients at the start of each dose (default 1).
        scope: count patients of ``"all"`` indications (default) or only the ``"driving"`` one.
    """

    days: float
    sentinels: int = 1
    scope: StaggerScope = "all"

    def __post_init__(self) -> None:
        d = self.days
        if isinstance(d, bool) or not isinstance(d, int | float) or not d > 0 or d != d:
            raise InputError("staggering.days", f"must be a number > 0, got {d!r}")
        check_int("staggering.sentinels", self.sentinels, 1, 100)
        if self.scope not in ("all", "driving"):
            raise InputError("staggering.scope", f"must be 'all' or 'driving', got {self.scope!r}")

    def check(self, dose: int, patients: Sequence[Patient], now: float | None) -> StaggerCheck:
        """Whether the next patient at ``dose`` must wait (``patients`` already in scope)."""
        at = sorted(p.entry_time for p in patients if p.dose == dose)
        k = len(at)
        if 1 <= k <= self.sentinels:
            ready = at[-1] + float(self.days)
            if now is None:
                raise InputError("now", "a decision time is required for sentinel staggering")
            if now < ready:
                return StaggerCheck(dose, k, True, ready)
        return StaggerCheck(dose, k, False, None)

    def describe(self, labels: Sequence[str] | None = None) -> str:
        who = "the first patient" if self.sentinels == 1 else f"each of the first {self.sentinels}"
        scope = "" if self.scope == "all" else " of the driving indication"
        return (
            f"Sentinel staggering: at every dose level, {who} treated at that level{scope} is "
            f"observed for {self.days:g} days before the next patient is treated at the same "
            "level."
        )

    def to_dict(self) -> dict[str, Any]:
        return {"days": self.days, "sentinels": self.sentinels, "scope": self.scope}
