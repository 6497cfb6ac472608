"""The final dose selection of a stopped trial: the design's MTD / OBD on the driving cohort.

When the design has stopped, the dose to take forward is chosen by the design's own final
selection rule (:meth:`~doseladder.core.designs.base.Design.select`: BOIN's isotonic MTD,
BOIN12's OBD, the 3+3's MTD; estimates with 95% credible intervals) on the data of the cohort
that drives the design -- the driving indication, or every patient when the cohort is pooled.
Selection is made on complete data: while any of those patients' outcomes is pending, there is
no final selection (spec ``dose-finding.md`` §3.6; Liu and Yuan 2015; Lin, Zhou, Yuan 2020).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from doseladder.core.errors import InputError
from doseladder.core.selection import Selection
from doseladder.core.state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from doseladder.core.rules.plan import EscalationPlan

__all__ = ["driving_state", "final_selection", "pending_patients"]


def driving_state(plan: EscalationPlan, state: TrialState) -> TrialState:
    """The state of the cohort that drives the design (eliminations kept)."""
    kept = tuple(p for p in state.patients if plan.is_driving(p))
    return TrialState(state.num_doses, kept, eliminated=state.eliminated)


def pending_patients(plan: EscalationPlan, state: TrialState) -> tuple[int, ...]:
    """Indexes (in ``state.patients``) of driving patients with an outcome still pending."""
    eff = bool(plan.design.uses_efficacy)
    return tuple(
        i
        for i, p in enumerate(state.patients)
        if plan.is_driving(p) and (p.tox is None or (eff and p.eff is None))
    )


def final_selection(plan: EscalationPlan, state: TrialState) -> Selection:
    """The design's final selection on the driving cohort (complete data only)."""
    pending = pending_patients(plan, state)
    if pending:
        raise InputError(
            "state", f"{len(pending)} driving patient(s) with an outcome still pending"
        )
    return plan.design.select(driving_state(plan, state))
