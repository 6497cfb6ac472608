"""Replay a trial cohort by cohort through a design.

Eliminations are permanent: after each cohort the design decides on the cumulative data and
the doses it eliminated are carried into the next state, exactly as the R simulators
(``BOIN::get.oc``) keep their ``elim`` vector.  This is how an outcome string such as
``"1NNN 2NTB"`` is turned into the decision after its last cohort.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from doseladder.core.decision import Decision
from doseladder.core.designs.base import Design
from doseladder.core.state import Patient, TrialState, parse_outcomes

__all__ = ["Replay", "replay", "replay_outcomes"]


@dataclass(frozen=True, slots=True)
class Replay:
    """The final state and the decision taken after each cohort."""

    state: TrialState
    decisions: tuple[Decision, ...]

    @property
    def decision(self) -> Decision | None:
        """The decision after the last cohort (``None`` for an empty trial)."""
        return self.decisions[-1] if self.decisions else None


def replay(design: Design, cohorts: Iterable[Sequence[Patient]], num_doses: int) -> Replay:
    """Decide after every cohort, carrying eliminated doses forward."""
    state = TrialState(num_doses)
    decisions: list[Decision] = []
    for cohort in cohorts:
        state = state.with_patients(cohort)
        decision = design.decide(state)
        decisions.append(decision)
        state = state.with_eliminated(decision.eliminated)
    return Replay(state, tuple(decisions))


def replay_outcomes(design: Design, outcomes: str) -> Replay:
    """:func:`replay` for the outcome grammar, e.g. ``"1NNN 2NTB"``."""
    num_doses: int = design.num_doses
    return replay(design, parse_outcomes(outcomes), num_doses)
