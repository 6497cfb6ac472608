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

Backfill patients (``Patient.backfill``, BF-BOIN: spec ``backfill.md`` §4) do not take
escalation slots: the trailing run and the design's ``max_n`` count escalation patients only
(the trial-wide ``max_total`` counts everybody).  A dose open for backfill has as many
*backfill slots* (:func:`backfill_slots`) as the cap leaves room for --
:func:`~doseladder.core.designs.backfill_cap.backfill_room` of the patients at that dose
(escalation and backfill, pending included), read with the trial's own ``cap_rule``
(``at_most``: ``n_cap`` − patients; ``bfboin``: ``n_cap + 1`` − patients, the reference
package's "≤ n_cap before enrolling") -- the same function the design's condition C3 and the
simulations use, never more than ``max_total`` leaves; the backfill patient goes to the dose the
design's assignment rule picks among the doses with a slot left (:func:`backfill_choice`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from doseladder.core.designs.backfill_cap import backfill_room, describe_cap
from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.core.state import Patient

if TYPE_CHECKING:  # pragma: no cover
    from doseladder.core.rules.plan import EscalationPlan

__all__ = [
    "backfill_cap",
    "backfill_choice",
    "backfill_design",
    "backfill_full",
    "backfill_patients",
    "backfill_slots",
    "cohort_patients",
    "cohort_slots",
    "describe_slots",
    "escalates",
    "trailing_run",
]


def trailing_run(patients: Sequence[Patient], dose: int) -> int:
    """How many of the latest escalation patients (in order) were treated at ``dose`` in a row
    (backfill patients in between are skipped: they belong to no escalation cohort)."""
    run = 0
    for p in reversed(patients):
        if p.backfill:
            continue
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
    esc = [p for p in mine if not p.backfill]
    slots = size
    if esc and esc[-1].dose == dose:
        run = trailing_run(esc, dose) % size
        if run:
            slots = size - run
    caps = []
    if role == "other":
        limit = plan.other_indications.max_n_per_indication
        if limit is not None:
            caps.append(limit - len(mine))
    else:
        caps.append(int(plan.design.max_n) - len(esc))
    if plan.max_total is not None:
        caps.append(plan.max_total - len(patients))
    return max(0, min([slots, *caps]))


def backfill_design(plan: EscalationPlan) -> BFBOIN | None:
    """The BF-BOIN design that decides the plan's backfill -- the protocol's backfill rule
    built into BF-BOIN, or a BF-BOIN / BE-BOIN design -- which carries ``n_cap`` and
    ``cap_rule`` (``None``: the plan has no backfill)."""
    design = plan.decision_design
    return design if isinstance(design, BFBOIN) else None


def backfill_cap(plan: EscalationPlan) -> int | None:
    """The plan's cap on patients at a backfill dose (``None``: the plan has no backfill)."""
    design = backfill_design(plan)
    return None if design is None else design.n_cap


def backfill_patients(
    plan: EscalationPlan,
    patients: Sequence[Patient],
    indication: str | None,
    role: str,
    levels: Sequence[int],
) -> dict[int, int]:
    """Patients of the cohort at each of ``levels`` (1-based; escalation and backfill, pending
    included): what the backfill cap counts."""
    mine = cohort_patients(plan, patients, indication, role)
    return {lv: sum(1 for p in mine if p.dose == lv) for lv in sorted(set(levels))}


def backfill_slots(
    plan: EscalationPlan,
    patients: Sequence[Patient],
    indication: str | None,
    role: str,
    open_levels: Sequence[int],
) -> dict[int, int]:
    """Backfill slots left at each dose open for backfill (1-based level -> slots, 0 = full).

    ``open_levels``: the 1-based doses the design opens for backfill now (the recommendation's
    0-based ``backfill_open`` plus one).  Slots = the cap's room
    (:func:`~doseladder.core.designs.backfill_cap.backfill_room` with the plan's ``n_cap`` and
    ``cap_rule``) for the patients of the cohort at that dose (:func:`backfill_patients`),
    within the trial-wide ``max_total``.
    """
    design = backfill_design(plan)
    if design is None or not open_levels:
        return {}
    total_left = plan.max_total - len(patients) if plan.max_total is not None else None
    out: dict[int, int] = {}
    for level, at in backfill_patients(plan, patients, indication, role, open_levels).items():
        left = backfill_room(at, design.n_cap, design.cap_rule)
        if total_left is not None:
            left = min(left, total_left)
        out[level] = max(0, left)
    return out


def backfill_full(
    plan: EscalationPlan,
    patients: Sequence[Patient],
    indication: str | None,
    role: str,
    below: int | None,
) -> dict[int, int]:
    """Doses below ``below`` (the escalation dose, 1-based) that the cap has closed to backfill
    (level -> patients there): the design's C3 fails there, whatever C1 and C2 say."""
    design = backfill_design(plan)
    if design is None or below is None or below <= 1:
        return {}
    at = backfill_patients(plan, patients, indication, role, range(1, below))
    return {lv: n for lv, n in at.items() if backfill_room(n, design.n_cap, design.cap_rule) == 0}


def backfill_choice(slots: dict[int, int], picked: int | None, assign: str | None) -> int | None:
    """The dose a backfill patient goes to (1-based), ``None`` if no dose has a slot or the
    rule is ``random`` (the caller draws among the doses with a slot left).

    ``picked``: the design's pick (1-based).  When that dose has no slot left, the same rule
    (``highest`` / ``lowest``) picks among the doses that have one.
    """
    free = sorted(d for d, n in slots.items() if n > 0)
    if not free:
        return None
    if picked is not None and picked in free:
        return picked
    if assign == "lowest":
        return free[0]
    if assign == "highest" or (assign is None and picked is not None):
        return free[-1]
    return None


def describe_slots(plan: EscalationPlan) -> str:
    """The slot rule as protocol text."""
    size = int(plan.design.cohort_size)
    return (
        f"Each recorded decision to enrol opens one cohort of {size} at its dose (or the rest "
        "of a cohort already started there), within the design's maximum sample size"
        + (f", the trial-wide cap of {plan.max_total}" if plan.max_total is not None else "")
        + "; enrolment beyond the open slots needs a new decision."
        + (
            " Backfill patients do not take these slots: while the escalation cohort is in "
            "follow-up, a backfill patient may be treated at a dose open for backfill "
            f"{describe_cap(bf.n_cap, bf.cap_rule)}."
            if (bf := backfill_design(plan)) is not None
            else ""
        )
    )
