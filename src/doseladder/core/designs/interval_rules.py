"""Shared conduct of the interval designs Keyboard, mTPI-2 and i3+3.

Each design supplies one pure function ``letter(n, y)`` giving the decision at the current dose
with n patients and y DLTs: ``E`` (escalate), ``S`` (stay), ``D`` (de-escalate) or ``DU``
(de-escalate; the dose is unacceptably toxic).  The conduct around it follows the simulators of
the authors' packages -- ``Keyboard::get.oc.kb`` (Keyboard 0.1.3) and ``FIND::run_sim_*``
(FIND @ 55c6fc5) -- which agree on everything but the place of the ``n_earlystop`` check:

1. (Keyboard) the current dose has >= ``n_earlystop`` patients -> stop and select the MTD.
2. Elimination: a dose with >= 3 patients whose data give Pr(p > target | y, n) >
   ``cutoff_eli`` (Beta(1, 1) prior) is eliminated with every higher dose; the lowest dose
   eliminated -> stop, no MTD.  (The packages test the current dose only; testing every dose,
   lowest first, is the same on any state their conduct can reach, and also covers doses
   eliminated in ``TrialState.eliminated``.)
3. ``extrasafe`` (Keyboard): at dose 1 with >= 3 patients, Pr(p_1 > target) > ``cutoff_eli −
   offset`` -> stop, no MTD.
4. Move: E -> d + 1 unless d is the top dose or d + 1 is eliminated (then stay); D/DU -> d − 1
   unless d = 1 (then stay); S -> stay.  A current dose eliminated earlier goes to the highest
   dose not eliminated.
5. (FIND) the next dose has >= ``n_earlystop`` patients -> stop and select the MTD.
6. ``max_n`` patients treated -> stop.

Final selection for all three is BOIN's/Keyboard's isotonic ``select.mtd``
(:func:`doseladder.core.select_mtd.select_mtd`; ``select.mtd.kb`` and FIND's ``select_mtd`` are
the same algorithm).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import pandas as pd

from doseladder.core.decision import Action, Decision, Reason, max_n_reason
from doseladder.core.designs.arrays.interface import ArrayDecision, DoseArrays, IntArray
from doseladder.core.designs.base import check_int, check_prob
from doseladder.core.designs.boin import posterior_overdose
from doseladder.core.errors import InputError
from doseladder.core.select_mtd import select_mtd
from doseladder.core.selection import Selection
from doseladder.core.state import TrialState

__all__ = [
    "LETTER_ACTION",
    "IntervalConduct",
    "IntervalDesign",
    "decision_table",
    "interval_decision",
    "interval_select",
    "letter_boundaries",
]

Letter = Literal["E", "S", "D", "DU"]
LETTER_ACTION = {"E": "escalate", "S": "stay", "D": "de-escalate", "DU": "de-escalate"}


@dataclass(frozen=True, slots=True)
class IntervalConduct:
    """Parameters of the shared conduct (see the module docstring)."""

    rule: str  # prefix of reason rules, e.g. "keyboard"
    num_doses: int
    target: float
    max_n: int
    cutoff_eli: float
    n_earlystop: int
    earlystop_first: bool  # Keyboard: before elimination; FIND: after the move
    extrasafe: bool = False
    offset: float = 0.05


def _closure(eliminated: Collection[int], J: int) -> frozenset[int]:
    return frozenset(range(min(eliminated), J + 1)) if eliminated else frozenset()


def interval_decision(
    c: IntervalConduct,
    *,
    n: Sequence[int],
    y: Sequence[int],
    current: int,
    prior_eliminated: Collection[int],
    letter: Callable[[int, int], str],
    explain: Callable[[int, int, str], str],
) -> Decision:
    """The decision after a cohort (module docstring, steps 1-6)."""
    J = c.num_doses
    d = current
    nd, yd = int(n[d - 1]), int(y[d - 1])
    total = int(sum(n))
    eliminated = _closure(prior_eliminated, J)
    steps: list[Reason] = []

    if c.earlystop_first and nd >= c.n_earlystop:
        return Decision(
            Action.STOP,
            d,
            d,
            Reason(
                f"{c.rule}.n_earlystop",
                (
                    f"{nd} patients have been treated at dose {d} (n_earlystop = "
                    f"{c.n_earlystop}): stop the trial and select the MTD."
                ),
                {"n": nd, "n_earlystop": c.n_earlystop, "dose": d},
            ),
            eliminated,
        )

    for j in range(1, J + 1):
        nj, yj = int(n[j - 1]), int(y[j - 1])
        if nj >= 3:
            prob = posterior_overdose(nj, yj, c.target)
            if prob > c.cutoff_eli:
                if j not in eliminated:
                    steps.append(
                        Reason(
                            f"{c.rule}.eliminate",
                            (
                                f"Dose {j} and all higher doses are eliminated: {yj} of {nj} "
                                f"patients had a DLT at dose {j}; Pr(DLT rate > {c.target:g}) "
                                f"= {prob:.3f} > {c.cutoff_eli:g}."
                            ),
                            {"dose": j, "n": nj, "y": yj, "posterior": prob},
                        )
                    )
                    eliminated = eliminated | _closure([j], J)
                break
    if 1 in eliminated:
        msg = (
            steps.pop().message
            if steps and steps[-1].values.get("dose") == 1
            else ("Dose 1 was eliminated earlier in the trial.")
        )
        return Decision(
            Action.STOP,
            d,
            None,
            Reason(
                f"{c.rule}.eliminate",
                f"{msg} The lowest dose is eliminated: stop the trial; no dose is selected.",
                {"dose": 1},
            ),
            eliminated,
            tuple(steps),
        )

    # get.oc.kb checks extra-safe only where the elimination boundary b_elim(n_1) exists,
    # i.e. where even y = n would eliminate
    if (
        c.extrasafe
        and d == 1
        and int(n[0]) >= 3
        and posterior_overdose(int(n[0]), int(n[0]), c.target) > c.cutoff_eli
    ):
        prob = posterior_overdose(int(n[0]), int(y[0]), c.target)
        cut = c.cutoff_eli - c.offset
        if prob > cut:
            return Decision(
                Action.STOP,
                d,
                None,
                Reason(
                    f"{c.rule}.extrasafe_stop",
                    (
                        f"Extra-safe rule: {y[0]} of {n[0]} patients had a DLT at dose 1 and "
                        f"Pr(DLT rate > {c.target:g}) = {prob:.3f} > {cut:g}: stop the trial, "
                        "no MTD."
                    ),
                    {"n": int(n[0]), "y": int(y[0]), "posterior": prob, "cutoff": cut},
                ),
                frozenset(range(1, J + 1)),
                tuple(steps),
            )

    values: dict[str, object] = {"n": nd, "y": yd, "dose": d}
    if d in eliminated:
        nxt = min(eliminated) - 1
        action = Action.DEESCALATE
        reason = Reason(
            f"{c.rule}.deescalate",
            f"Dose {d} is eliminated: de-escalate to dose {nxt}, the highest dose not eliminated.",
            {**values, "eliminated": sorted(eliminated)},
        )
    else:
        lt = letter(nd, yd) if nd > 0 else "S"
        values["decision"] = lt
        head = explain(nd, yd, lt) if nd > 0 else f"Nobody has been treated at dose {d} yet"
        if lt == "E" and d < J and (d + 1) not in eliminated:
            nxt, action, tail = d + 1, Action.ESCALATE, f"escalate to dose {d + 1}"
        elif lt == "E":
            why = "it is the highest dose" if d == J else f"dose {d + 1} is eliminated"
            nxt, action, tail = d, Action.STAY, f"escalation is blocked ({why}): stay at dose {d}"
        elif lt in ("D", "DU") and d > 1:
            nxt, action, tail = d - 1, Action.DEESCALATE, f"de-escalate to dose {d - 1}"
        elif lt in ("D", "DU"):
            nxt, action, tail = d, Action.STAY, "dose 1 is the lowest dose: stay at dose 1"
        else:
            nxt, action, tail = d, Action.STAY, f"stay at dose {d}"
        reason = Reason(f"{c.rule}.{action.value.replace('-', '')}", f"{head}: {tail}.", values)

    if not c.earlystop_first and int(n[nxt - 1]) >= c.n_earlystop:
        steps.append(reason)
        reason = Reason(
            f"{c.rule}.n_earlystop",
            (
                f"{int(n[nxt - 1])} patients have been treated at the next dose {nxt} "
                f"(n_earlystop = {c.n_earlystop}): stop the trial and select the MTD."
            ),
            {"n": int(n[nxt - 1]), "n_earlystop": c.n_earlystop, "dose": nxt},
        )
        action = Action.STOP
    if action is not Action.STOP and total >= c.max_n:
        steps.append(reason)
        reason = max_n_reason(total, c.max_n, nxt)
        action = Action.STOP
    return Decision(action, d, nxt, reason, eliminated, tuple(steps))


def interval_select(c: IntervalConduct, state: TrialState) -> Selection:
    """Isotonic ``select.mtd`` (Keyboard ``select.mtd.kb`` with ``c.extrasafe`` and
    ``c.offset``, FIND ``select_mtd``)."""
    if not isinstance(state, TrialState):
        raise InputError("state", "must be a TrialState")
    if state.num_doses != c.num_doses:
        raise InputError(
            "num_doses",
            f"the trial state has {state.num_doses} dose levels but the design has {c.num_doses}",
        )
    if state.any_pending():
        raise InputError(
            "state", "DLT outcomes are pending: the MTD is selected once every outcome is known"
        )
    counts = state.counts()
    return select_mtd(
        counts.n,
        counts.tox,
        c.target,
        cutoff_eli=c.cutoff_eli,
        extrasafe=c.extrasafe,
        offset=c.offset,
        eliminated=state.eliminated,
    )


def decision_table(letter: Callable[[int, int], str], n_max: int) -> pd.DataFrame:
    """Tidy decision table: one row per (n, y), y = 0..n, with the letter."""
    rows = [(n, y, letter(n, y)) for n in range(1, n_max + 1) for y in range(n + 1)]
    return pd.DataFrame(rows, columns=["n", "y", "decision"])


def letter_boundaries(letter: Callable[[int, int], str], n_max: int) -> pd.DataFrame:
    """``get.boundary.kb``-style boundaries derived from a letter function.

    escalate = largest y with E (−1 if none); deescalate = smallest y with D, else with DU;
    eliminate = smallest y with DU (NA if none).
    """
    rows = []
    for n in range(1, n_max + 1):
        col = [letter(n, y) for y in range(n + 1)]
        es = [y for y, lt in enumerate(col) if lt == "E"]
        ds = [y for y, lt in enumerate(col) if lt == "D"]
        dus = [y for y, lt in enumerate(col) if lt == "DU"]
        rows.append(
            (
                n,
                max(es) if es else -1,
                min(ds) if ds else (min(dus) if dus else None),
                min(dus) if dus else None,
            )
        )
    frame = pd.DataFrame(rows, columns=["n", "escalate", "deescalate", "eliminate"])
    for col_name in ("deescalate", "eliminate"):
        frame[col_name] = frame[col_name].astype("Int64")
    return frame


class IntervalDesign:
    """Mixin giving Keyboard, mTPI-2 and i3+3 their conduct, ``decide``, ``select`` and tables
    (complete data), written once here.

    A design defines ``letter(n, y)``, ``explain(n, y, letter)``, the class attributes
    ``rule_prefix`` (prefix of its reasons' rule names) and ``earlystop_first``, and, if it has
    selection options, ``_conduct_options()``.
    """

    #: prefix of the reasons' rule names ("keyboard", "mtpi2", "i3p3")
    rule_prefix: ClassVar[str]
    #: Keyboard checks its early stop before elimination; FIND's designs after the move
    earlystop_first: ClassVar[bool] = False

    num_doses: int
    target: float
    cohort_size: int
    max_n: int
    cutoff_eli: float
    n_earlystop: int

    def letter(self, n: int, y: int) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def explain(self, n: int, y: int, letter: str) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _conduct_options(self) -> dict[str, Any]:
        """Extra :class:`IntervalConduct` fields (Keyboard: ``extrasafe``, ``offset``)."""
        return {}

    def conduct(self) -> IntervalConduct:
        """The design's parameters of the shared conduct."""
        return IntervalConduct(
            rule=self.rule_prefix,
            num_doses=self.num_doses,
            target=self.target,
            max_n=self.max_n,
            cutoff_eli=self.cutoff_eli,
            n_earlystop=self.n_earlystop,
            earlystop_first=self.earlystop_first,
            **self._conduct_options(),
        )

    def _decide(self, state: TrialState, now: float | None) -> Decision:
        """The conduct on complete data (pending outcomes suspend accrual)."""
        return self._interval_decide(state)

    def select(self, state: TrialState) -> Selection:
        """Isotonic MTD selection: Keyboard's ``select.mtd.kb`` (with its ``extrasafe`` and
        ``offset``), FIND's ``select_mtd`` for mTPI-2 and i3+3 (as BOIN's ``select.mtd``)."""
        return interval_select(self.conduct(), state)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The boundaries derived from the letter table (Keyboard: ``get.boundary.kb``'s
        ``full_boundary_tab`` / ``boundary_tab``; FIND: from its E/S/D/DU table) and the letter
        table itself."""
        return self._interval_tables()

    def _interval_decide(self, state: TrialState) -> Decision:
        rule = self.rule_prefix
        d = state.current_dose
        assert d is not None
        counts = state.counts()
        pending = sum(counts.tox_pending)
        if pending:
            return Decision(
                Action.SUSPEND,
                d,
                d,
                Reason(
                    f"{rule}.pending",
                    (
                        f"{pending} patient(s) have a pending DLT outcome; the design decides "
                        "on complete data only: suspend accrual until every outcome is known."
                    ),
                    {"pending": pending},
                ),
                _closure(state.eliminated, self.num_doses),
            )
        return interval_decision(
            self.conduct(),
            n=counts.n,
            y=counts.tox,
            current=d,
            prior_eliminated=state.eliminated,
            letter=self.letter,
            explain=self.explain,
        )

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """The decision for many trials (:func:`~doseladder.core.designs.arrays.interval.
        decide_interval`)."""
        from doseladder.core.designs.arrays.interval import decide_interval

        return decide_interval(self, data)

    def select_arrays(self, data: DoseArrays) -> IntArray:
        """The selection for many trials (:func:`~doseladder.core.designs.arrays.interval.
        select_interval`)."""
        from doseladder.core.designs.arrays.interval import select_interval

        return select_interval(self, data)

    def _interval_tables(self) -> dict[str, pd.DataFrame]:
        n_max = min(self.max_n, self.n_earlystop)
        full = letter_boundaries(self.letter, n_max)
        by_cohort = full[full["n"] % self.cohort_size == 0].reset_index(drop=True)
        wide = decision_table(self.letter, n_max).pivot(index="y", columns="n", values="decision")
        wide = wide.reset_index()
        wide.columns = ["y", *[f"n={c}" for c in wide.columns[1:]]]
        return {
            "boundaries": full,
            "boundaries_by_cohort": by_cohort,
            "decisions": wide.fillna(""),
        }

    def _validate_interval(self) -> None:
        check_prob("target", self.target, 0.05, 0.6, open_lo=False, open_hi=False)
        check_prob("cutoff_eli", self.cutoff_eli, 0.5, 1.0)
        check_int("n_earlystop", self.n_earlystop, 1)
