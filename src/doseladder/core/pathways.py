"""Dose-transition pathways: every outcome of the next cohorts and the decision after each.

As ``escalation::get_dose_paths`` (Brock 2019) and Yap C, Billingham LJ, Cheung YK, Craddock C,
O'Quigley J. Dose transition pathways: the missing link between complex dose-finding designs
and simple decision-making. Clin Cancer Res 2017;23:7440-7447.

From a trial state (the start of the trial by default) the next cohort is treated at the dose
the design recommends; each possible set of outcomes of its patients (order within a cohort
does not matter: ``NNT`` stands for one DLT in three) is appended and the design's own
:meth:`~doseladder.core.designs.base.Design.decide` is asked again, carrying eliminated doses
forward exactly as :mod:`doseladder.core.replay`.  A path ends early when the decision is to
stop or to suspend accrual.

Outcome letters are those of the outcome grammar (:mod:`doseladder.core.state`): ``N`` / ``T``
for phase I designs, ``N`` / ``T`` / ``E`` / ``B`` for designs that use efficacy.  New cohorts
are complete data; pending outcomes of the starting state stay pending and TITE designs decide
at ``now`` (required when the starting state has pending outcomes).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd

from doseladder.core.decision import Action, Decision
from doseladder.core.designs.base import Design, check_int
from doseladder.core.errors import InputError
from doseladder.core.rules.plan import EnrolStatus, EscalationPlan, recommend
from doseladder.core.state import _LETTERS, Patient, TrialState

__all__ = [
    "PathNode",
    "Pathways",
    "cohort_outcomes",
    "dose_paths",
    "plan_decision",
    "plan_paths",
]

#: hard limit on the number of enumerated nodes (keeps a request bounded)
MAX_NODES = 20_000


@dataclass(frozen=True, slots=True)
class PathNode:
    """One node of the pathway tree.

    Attributes:
        node_id: 0 for the root (the starting state), then in depth-first order.
        parent_id: the parent node (``None`` for the root).
        depth: number of cohorts added to the starting state (0 for the root).
        dose: dose level given to the cohort that led here (``None`` for the root).
        outcomes: that cohort's outcome letters, e.g. ``"NNT"`` (``""`` for the root).
        path: the added cohorts in the outcome grammar, e.g. ``"2NNN 3NNT"``.
        decision: the design's decision after this cohort.
        children: the nodes of the next cohort (empty when the path ends).
    """

    node_id: int
    parent_id: int | None
    depth: int
    dose: int | None
    outcomes: str
    path: str
    decision: Decision
    children: tuple[PathNode, ...] = ()

    def walk(self) -> Iterator[PathNode]:
        """This node and its descendants, depth first."""
        yield self
        for c in self.children:
            yield from c.walk()


@dataclass(frozen=True, slots=True)
class Pathways:
    """The pathway tree from a starting state, and its tidy table."""

    design: Design
    start: TrialState
    cohorts: int
    root: PathNode

    def nodes(self) -> list[PathNode]:
        return list(self.root.walk())

    def table(self) -> pd.DataFrame:
        """One row per node: id, parent, depth, cohort dose and outcomes, path, decision."""
        rows = [
            {
                "node": n.node_id,
                "parent": n.parent_id,
                "depth": n.depth,
                "cohort_dose": n.dose,
                "cohort_outcomes": n.outcomes,
                "path": n.path,
                "action": n.decision.action.value,
                "next_dose": n.decision.next_dose,
                "rule": n.decision.reason.rule,
            }
            for n in self.root.walk()
        ]
        frame = pd.DataFrame(rows)
        for col in ("parent", "cohort_dose", "next_dose"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def leaves(self) -> pd.DataFrame:
        """The complete paths (nodes without children), as path → decision."""
        t = self.table()
        has_child = set(t["parent"].dropna().astype(int))
        return t[~t["node"].isin(has_child)].reset_index(drop=True)


def cohort_outcomes(size: int, efficacy: bool) -> list[str]:
    """Every unordered outcome set of a cohort of ``size``: ``NNN, NNT, NTT, TTT`` (phase I) or
    the multisets of ``N, T, E, B`` (phase I/II)."""
    check_int("cohort_size", size, 1, 12)
    letters = "NTEB" if efficacy else "NT"
    return ["".join(c) for c in itertools.combinations_with_replacement(letters, size)]


def dose_paths(
    design: Design,
    state: TrialState | None = None,
    cohorts: int = 2,
    *,
    now: float | None = None,
    cohort_size: int | None = None,
) -> Pathways:
    """Enumerate the next ``cohorts`` (1-4) cohorts' outcomes and the decision after each.

    Args:
        design: any design.
        state: the starting trial state (default: no patient treated).
        cohorts: how many cohorts ahead.
        now: decision time, for TITE designs whose starting state has pending outcomes: new
            cohorts enter at ``now`` with complete outcomes and every decision is taken at
            ``now`` (the pending patients' follow-up is that of ``now``).
        cohort_size: patients per cohort (default: the design's ``cohort_size``).
    """
    if not isinstance(design, Design):
        raise InputError("design", "must be a Design")
    return _enumerate(design, design.decide, state, cohorts, now, cohort_size)


def plan_paths(
    plan: EscalationPlan,
    state: TrialState | None = None,
    cohorts: int = 2,
    *,
    now: float | None = None,
    cohort_size: int | None = None,
) -> Pathways:
    """:func:`dose_paths` under a protocol's escalation plan (driving or pooled cohort): each
    decision is :func:`doseladder.core.rules.plan.recommend`'s for the driving indication,
    so the backup-dose fallback, the safety monitor and cohort completion apply.  Enrol at a
    higher / the same / a lower dose maps to escalate / stay / de-escalate, wait to suspend and
    closed to stop; ``eliminated`` holds the doses closed to the driving cohort."""
    if not isinstance(plan, EscalationPlan):
        raise InputError("plan", "must be an EscalationPlan")

    def decide(st: TrialState, at: float | None) -> Decision:
        return plan_decision(plan, st, at)

    return _enumerate(plan.design, decide, state, cohorts, now, cohort_size)


def plan_decision(plan: EscalationPlan, state: TrialState, now: float | None) -> Decision:
    """The driving cohort's recommendation under ``plan`` as a :class:`Decision`."""
    rec = recommend(plan, state, now)
    drv = rec.driving
    current = state.patients[-1].dose if state.patients else None
    if drv.status is EnrolStatus.CLOSED:
        action = Action.STOP
    elif drv.status is EnrolStatus.WAIT:
        action = Action.SUSPEND
    elif current is None or drv.dose is None or drv.dose == current:
        action = Action.STAY
    else:
        action = Action.ESCALATE if drv.dose > current else Action.DEESCALATE
    return Decision(action, current, drv.dose, drv.reason, rec.eliminated, drv.steps)


def _enumerate(
    design: Design,
    decide: Callable[[TrialState, float | None], Decision],
    state: TrialState | None,
    cohorts: int,
    now: float | None,
    cohort_size: int | None,
) -> Pathways:
    num: int = design.num_doses
    start = TrialState(num) if state is None else state
    check_int("cohorts", cohorts, 1, 4)
    size: int = design.cohort_size if cohort_size is None else cohort_size
    sets = cohort_outcomes(size, design.uses_efficacy)
    total = sum(len(sets) ** k for k in range(cohorts + 1))
    if total > MAX_NODES:
        raise InputError(
            "cohorts",
            f"{cohorts} cohorts of {size} give {total} pathways (more than {MAX_NODES}); "
            "ask for fewer cohorts",
        )
    first = decide(start, now)
    t0 = max((p.entry_time for p in start.patients), default=-1.0) + 1.0
    last_cohort = max((p.cohort for p in start.patients if p.cohort is not None), default=-1)
    counter = itertools.count(1)

    def grow(
        st: TrialState, decision: Decision, depth: int, path: str, t: float, node_id: int
    ) -> tuple[PathNode, ...]:
        if depth >= cohorts or decision.action in (Action.STOP, Action.SUSPEND):
            return ()
        dose = decision.next_dose
        if dose is None:  # pragma: no cover - only stop decisions have no next dose
            return ()
        base = st.with_eliminated(decision.eliminated)
        out = []
        for letters in sets:
            patients = [
                Patient(
                    dose=dose,
                    entry_time=t + i if now is None else now,
                    tox=_LETTERS[c][0],
                    eff=_LETTERS[c][1],
                    cohort=last_cohort + depth + 1,
                )
                for i, c in enumerate(letters)
            ]
            nxt = base.with_patients(patients)
            dec = decide(nxt, now)
            token = f"{dose}{letters}"
            new_path = f"{path} {token}".strip()
            nid = next(counter)
            kids = grow(nxt, dec, depth + 1, new_path, t + size, nid)
            out.append(PathNode(nid, node_id, depth + 1, dose, letters, new_path, dec, kids))
        return tuple(out)

    children = grow(start, first, 0, "", t0, 0)
    root = PathNode(0, None, 0, None, "", "", first, children)
    return Pathways(design, start, cohorts, root)
