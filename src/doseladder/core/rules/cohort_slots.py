"""Cohorts and enrolment slots: how many patients a recorded decision lets in.

A protocol enrols in cohorts (spec ``dose-finding.md`` §5: "cohorts of 3"); a recorded
``enrol`` decision therefore opens one cohort's worth of *slots* at its dose:

* the design's cohort size, or the rest of a cohort already started at that dose (the trailing
  run of the cohort's latest patients at that dose, modulo the cohort size -- the same count the
  plan's cohort-completion rule uses);
* never more than any cap allows: the design's ``max_n`` for the driving or pooled cohort, the
  per-indication cap for another indication (``other_indications.max_n_per_indication``), and
  the trial-wide ``max_total`` over every indication.

A cohort's patients are the driving indication's (the driving cohort), one other indication's,
or everybody's (a pooled cohort).  A decision *escalates* when its dose is above every dose given
so far in its cohort; a trial that requires committee sign-off before escalation asks for it
then (21 CFR 312 safety review practice; the seed protocols' safety review committee).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from doseladder.core.state import Patient

if TYPE_CHECKING:  # pragma: no cover
    from doseladder.core.rules.plan import EscalationPlan

__all__ = ["cohort_patients", "cohort_slots", "describe_slots", "escalates", "trailing_run"]


def trailing_run(patients: Sequence[Patient], dose: int) -> int:
    """How many of the latest patients (in order) were treated at ``dose`` in a row."""
    run = 0
    for p in reversed(patients):
        if p.dose != dose:
            break
        run += 1
    return run


def cohort_patients(
    plan: EscalationPlan, patients: Sequence[Patient], indication: str | None, role: str
) -> list[Patient]:
    """The patients whose data form an indication's cohort.

    ``role``: ``"driving"`` (the driving indication's patients), ``"other"`` (the patients of
    ``indication``) or ``"pooled"`` (everybody).
    """
    if role == "other":
        return [p for p in patients if p.indication == indication]
    if role == "driving":
        return [p for p in patients if plan.is_driving(p)]
    return list(patients)


def escalates(cohort: Sequence[Patient], dose: int | None) -> bool:
    """Whether ``dose`` is above every dose given so far in the cohort (never for an empty
    cohort: the start dose is not an escalation)."""
    highest = max((p.dose for p in cohort), default=None)
    return dose is not None and highest is not None and dose > highest


def cohort_slots(
    plan: EscalationPlan,
    patients: Sequence[Patient],
    indication: str | None,
    role: str,
    dose: int | None,
) -> int:
    """Slots an ``enrol`` decision at ``dose`` opens for an indication's cohort (0 for none).

    ``patients``: every treated patient of the trial, in order of enrolment.
    """
    if dose is None:
        return 0
    size = int(plan.design.cohort_size)
    mine = cohort_patients(plan, patients, indication, role)
    slots = size
    if mine and mine[-1].dose == dose:
        run = trailing_run(mine, dose) % size
        if run:
            slots = size - run
    caps = []
    if role == "other":
        limit = plan.other_indications.max_n_per_indication
        if limit is not None:
            caps.append(limit - len(mine))
    else:
        caps.append(int(plan.design.max_n) - len(mine))
    if plan.max_total is not None:
        caps.append(plan.max_total - len(patients))
    return max(0, min([slots, *caps]))


def describe_slots(plan: EscalationPlan) -> str:
    """The slot rule as protocol text."""
    size = int(plan.design.cohort_size)
    return (
        f"Each recorded decision to enrol opens one cohort of {size} at its dose (or the rest "
        "of a cohort already started there), within the design's maximum sample size"
        + (f", the trial-wide cap of {plan.max_total}" if plan.max_total is not None else "")
        + "; enrolment beyond the open slots needs a new decision."
    )
