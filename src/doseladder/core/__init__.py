"""The pure core of doseladder: designs, trial state, decisions and selection.

Nothing here reads files, clocks, databases or the environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from doseladder.core.decision import Action, Decision, Reason
from doseladder.core.errors import InputError
from doseladder.core.state import Patient, TrialState, parse_outcomes

if TYPE_CHECKING:
    from doseladder.core.designs import (
        BOIN,
        BOIN12,
        DESIGNS,
        TITEBOIN,
        TITEBOIN12,
        Design,
        ThreePlusThree,
    )
    from doseladder.core.selection import DoseEstimate, Selection

#: exported from :mod:`doseladder.core.designs`, imported on first use (the designs and
#: ``selection`` need SciPy and pandas; ``doseladder.core.errors`` and the CLI's start-up do not)
_FROM_DESIGNS = frozenset(
    {"BOIN", "BOIN12", "DESIGNS", "TITEBOIN", "TITEBOIN12", "Design", "ThreePlusThree"}
)


def __getattr__(name: str) -> Any:
    if name in _FROM_DESIGNS:
        from doseladder.core import designs

        return getattr(designs, name)
    if name in ("DoseEstimate", "Selection"):
        from doseladder.core import selection

        return getattr(selection, name)
    raise AttributeError(f"module 'doseladder.core' has no attribute {name!r}")


__all__ = [
    "BOIN",
    "BOIN12",
    "DESIGNS",
    "TITEBOIN",
    "TITEBOIN12",
    "Action",
    "Decision",
    "Design",
    "DoseEstimate",
    "InputError",
    "Patient",
    "Reason",
    "Selection",
    "ThreePlusThree",
    "TrialState",
    "decide",
    "parse_outcomes",
    "select",
]


def decide(design: Design, state: TrialState, now: float | None = None) -> Decision:
    """Next-dose decision of ``design`` for ``state`` at time ``now``."""
    return design.decide(state, now)


def select(design: Design, state: TrialState) -> Selection:
    """Final MTD/OBD selection of ``design`` on ``state`` (complete data)."""
    design.check_cohorts(state)
    return design.select(state)
