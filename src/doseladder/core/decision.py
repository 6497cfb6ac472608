"""The result of a dose decision: what to do next, and why (machine-readable)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = ["Action", "Decision", "Reason", "max_n_reason"]


class Action(StrEnum):
    """What the next cohort does relative to the current dose."""

    ESCALATE = "escalate"
    STAY = "stay"
    DEESCALATE = "de-escalate"
    STOP = "stop"  # the trial ends (see ``Decision.reason`` for why)
    SUSPEND = "suspend"  # accrual is suspended until pending outcomes resolve


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision was taken.

    Attributes:
        rule: a stable dotted identifier of the rule that fired, e.g. ``"boin.escalate"``,
            ``"boin.eliminate"``, ``"tite_boin.suspend"``, ``"boin12.exploration"``,
            ``"max_n_reached"``.
        message: one sentence of plain English with the numbers.
        values: the numbers the rule used (counts, estimates, boundaries), JSON-serialisable.
    """

    rule: str
    message: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "values": dict(self.values)}


def max_n_reason(total: int, max_n: int, rule_next_dose: int | None, **values: Any) -> Reason:
    """The reason to stop because the maximum sample size is reached (``total >= max_n``),
    shared by every design that stops there (BOIN family, BOIN12, Keyboard/mTPI-2/i3+3,
    CRM): the dose the rules would otherwise give is kept in ``rule_next_dose``; ``values``
    adds the firing design's own numbers."""
    return Reason(
        "max_n_reached",
        (
            f"The maximum sample size is reached ({total} >= {max_n} patients): stop "
            f"the trial (the rules would give dose {rule_next_dose})."
        ),
        {**values, "total_n": total, "max_n": max_n, "rule_next_dose": rule_next_dose},
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """A design's recommendation at one decision time.

    Attributes:
        action: escalate / stay / de-escalate / stop / suspend.
        current_dose: the dose the decision was made at (``None`` before the first patient).
        next_dose: the recommended dose for the next cohort (1-based).  When accrual is
            suspended it is the dose at which accrual resumes.  When the trial stops it is the
            dose the design would otherwise recommend (as ``recommended_dose`` in the R package
            escalation) or ``None`` when no dose is acceptable (stop for safety/futility).
        eliminated: every dose level eliminated after this decision (permanent).
        reason: the rule that fired and its numbers.
        steps: the reasons of intermediate rules that were evaluated and shaped the decision
            (e.g. an elimination that preceded a de-escalation), in order.
    """

    action: Action
    current_dose: int | None
    next_dose: int | None
    reason: Reason
    eliminated: frozenset[int] = frozenset()
    steps: tuple[Reason, ...] = ()

    @property
    def stopped(self) -> bool:
        return self.action is Action.STOP

    @property
    def suspended(self) -> bool:
        return self.action is Action.SUSPEND

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "current_dose": self.current_dose,
            "next_dose": self.next_dose,
            "eliminated": sorted(self.eliminated),
            "reason": self.reason.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
        }
