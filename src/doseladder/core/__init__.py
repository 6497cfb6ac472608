"""The pure core of doseladder: designs, trial state, decisions and selection.

Nothing here reads files, clocks, databases or the environment.
"""

from __future__ import annotations

from doseladder.core.decision import Action, Decision, Reason
from doseladder.core.designs import (
    BOIN,
    BOIN12,
    DESIGNS,
    TITEBOIN,
    TITEBOIN12,
    Design,
    ThreePlusThree,
)
from doseladder.core.errors import InputError
from doseladder.core.selection import DoseEstimate, Selection
from doseladder.core.state import Patient, TrialState, parse_outcomes

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
    return design.select(state)
