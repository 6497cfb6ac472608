"""BF-BOIN: BOIN with backfill cohorts (Zhao, Yuan, Korn & Freidlin, Clin Cancer Res 2024).

Rules follow the R package bfboin 0.1.1 (``R/bf_boin_oc.R``: ``sim.one.trial``), as written
down in ``/work/shared/spec/backfill.md`` (section numbers below refer to it).  The BOIN
boundaries b_e, b_d and b_elim are those of :mod:`doseladder.core.designs.boin`.

Patients carry ``Patient.backfill``: escalation patients form cohorts of ``cohort_size`` at the
current dose d; backfill patients are treated at lower doses while the escalation cohort is in
follow-up.  At a decision time the design answers one of:

* the escalation cohort is not full -> ``stay`` at d (the next patient joins it);
* the cohort is full and an outcome in it is pending -> ``suspend`` escalation; arriving
  patients may be backfilled at the doses open for backfill (§4), reported in
  ``reason.values["backfill_open"]`` with the dose ``backfill_assign`` picks;
* the cohort is complete -> the escalation decision (§3) on escalation patients plus backfill
  patients whose assessment is complete (pending backfill patients are left out).

§3, categories of each dose j <= d (complete data N_j, Y_j): E if Y <= b_e(N), else X if
Y >= b_elim(N), else D if Y >= b_d(N), else S (``three_plus_three``: at the current dose 1 DLT
of 3 is S).  Without conflict with the lower doses, BOIN's move; a conflict -- (a) d is E and
some lower dose is not E, or (b) d is S/D/X and some lower dose is D/X -- pools the data from
b* (the highest conflicting dose) to d and decides on the pool (§3).  Only X at the current dose
eliminates (d and above).  ``n_earlystop`` applies to the "stay" outcomes (N_d counts completed
backfill patients).  The trial stops once ``max_n`` *escalation* patients have been treated and
decided on (backfill patients come on top, as bfboin's ``ncohort × cohortsize``).

§4, a dose j < d is open for backfill when (C1) an escalation patient at j has a response
(``activity = "dose"``; the simFastBOIN variant ``"dose_or_lower"`` accepts a response at j or
any lower dose), (C2) the completed data at j satisfy Y_j < b_d(N_j), or the pool of j and j + 1
does (a dose failing C2 closes itself and every dose above it), and (C3) escalation plus
enrolled backfill patients at j (pending included) are within the cap
(:mod:`doseladder.core.designs.backfill_cap`: ``cap_rule: bfboin``, the default, tests
``<= n_cap`` before enrolling as bfboin does, so a dose can reach ``n_cap + 1``; ``at_most``
never lets a dose exceed ``n_cap``); never an eliminated dose.

Final MTD: BOIN's ``select.mtd`` on escalation plus completed backfill data (§5).

Decisions beyond bfboin ([A]): a next dose that would be eliminated (possible only through
pooling after an X at d) is replaced by the highest dose not eliminated; escalation patients
are grouped into cohorts by count (every ``cohort_size`` escalation patients).  BF-BOIN itself
eliminates doses only when a cohort completes, but a protocol can eliminate the escalation dose
while its cohort is incomplete (a pooled safety monitor, an elimination carried from elsewhere):
then the cohort is not filled at the eliminated dose -- the next escalation patient goes to the
highest dose below that is not eliminated (``bf_boin.current_eliminated``), or the trial stops
when there is none (an eliminated dose never takes another patient).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from doseladder.core.decision import Action, Decision, Reason
from doseladder.core.designs.arrays.interface import ArrayDecision, DoseArrays, IntArray
from doseladder.core.designs.backfill_cap import (
    cap_allows,
    cap_limit,
    cap_summary,
    check_cap_rule,
    describe_cap,
)
from doseladder.core.designs.base import Design, check_prob
from doseladder.core.designs.boin import (
    BoinBoundaries,
    b_d,
    b_e,
    b_elim,
    boin_tables,
    describe_boin,
    posterior_overdose,
    validate_boin_parameters,
)
from doseladder.core.errors import InputError
from doseladder.core.select_mtd import select_mtd
from doseladder.core.selection import Selection
from doseladder.core.state import Patient, TrialState

__all__ = [
    "BFBOIN",
    "BackfillTexts",
    "assign_backfill",
    "backfill_open",
    "complete_counts",
    "conflict_anchor",
    "pooled_safe_dose",
]

ASSIGN = ("highest", "lowest", "random")
ACTIVITY = ("dose", "dose_or_lower")
ANCHORS = ("highest", "lowest")

#: ``below_bd(lo, hi)``: the pooled data of doses lo..hi lie below the de-escalation boundary
BelowBd = Callable[[int, int], bool]


def conflict_anchor(lower: Sequence[str], cat_d: str, anchor: str = "highest") -> int | None:
    """b* of §3 (Table 2 of the paper): the conflicting lower dose that anchors the pool.

    ``lower`` holds the categories (E/S/D/X) of doses 1..d-1, ``cat_d`` the current dose's.
    A conflict is (a) ``cat_d`` E and some lower dose not E, or (b) ``cat_d`` S/D/X and some
    lower dose D/X.  ``anchor`` picks the ``highest`` conflicting dose (bfboin, BF-BOIN) or the
    ``lowest`` (BE-BOIN, Chen et al. 2026).  None: no conflict.
    """
    if cat_d == "E":
        cands = [j for j, c in enumerate(lower, start=1) if c != "E"]
    else:
        cands = [j for j, c in enumerate(lower, start=1) if c in ("D", "X")]
    if not cands:
        return None
    return max(cands) if anchor == "highest" else min(cands)


def pooled_safe_dose(bstar: int, d: int, below_bd: BelowBd) -> int | None:
    """The highest k in [b*, d] whose pool b*..k lies below the de-escalation boundary (§3);
    None when there is none."""
    for k in range(d, bstar - 1, -1):
        if below_bd(bstar, k):
            return k
    return None


def complete_counts(patients: Sequence[Patient], num_doses: int) -> tuple[list[int], list[int]]:
    """N_j and Y_j: escalation patients and backfill patients with a known DLT outcome."""
    n = [0] * num_doses
    y = [0] * num_doses
    for p in patients:
        if p.tox is None:
            continue
        n[p.dose - 1] += 1
        y[p.dose - 1] += p.tox is True
    return n, y


def assign_backfill(open_doses: Sequence[int], rule: str, u: float | None = None) -> int | None:
    """The backfill dose: highest / lowest open dose, or ``open[floor(u·k)]`` for ``random``."""
    if not open_doses:
        return None
    ordered = sorted(open_doses)
    if rule == "highest":
        return ordered[-1]
    if rule == "lowest":
        return ordered[0]
    if u is None:
        return None  # random: drawn by the caller
    return ordered[min(int(u * len(ordered)), len(ordered) - 1)]


@dataclass(frozen=True)
class BackfillTexts:
    """The backfill rules in words, one source for ``describe()`` and the report flowchart.

    Attributes:
        when: when a patient may be backfilled (a sentence without the final stop).
        conditions: what makes a dose open for backfill, each a clause that follows "a dose"
            (placement, C1 activity, C2 safety); the cap C3 is ``cap_clause``.
        cap_clause: C3 as such a clause
            (:func:`~doseladder.core.designs.backfill_cap.describe_cap`).
        assign: which open dose the patient gets.
        no_slot: what happens to an arrival when no dose is open.
        data: how backfill data enter the escalation decisions and the selection.
        pooling: how conflicting data of a lower dose are pooled with the current dose's.
        cap: the cap in a few words (:func:`~doseladder.core.designs.backfill_cap.cap_summary`).
    """

    when: str
    conditions: tuple[str, ...]
    cap_clause: str
    assign: str
    no_slot: str
    data: str
    pooling: str
    cap: str


@dataclass(frozen=True)
class BFBOIN(BoinBoundaries, Design):
    """BF-BOIN (bfboin 0.1.1 defaults: target 0.25, n_cap 12).

    Attributes: BOIN's (``num_doses``, ``target``, ``cohort_size``, ``max_n`` = escalation
    sample size, ``start_dose``, ``p_saf``, ``p_tox``, ``cutoff_eli``, ``extrasafe``,
    ``offset``, ``n_earlystop``, ``bound_mtd``) plus
        n_cap: cap on escalation + enrolled backfill patients at a backfill dose (12).
        cap_rule: how the cap reads (:mod:`~doseladder.core.designs.backfill_cap`): ``bfboin``
            (default: a dose stays open while it has ``<= n_cap`` patients, so it can reach
            ``n_cap + 1``; reproduces bfboin's operating characteristics) or ``at_most``
            (never more than ``n_cap`` patients at a dose).
        backfill_assign: ``highest`` (default), ``lowest`` or ``random`` open dose.
        three_plus_three: at the current dose, 1 DLT in 3 patients means stay (target 0.25).
        tox_window: DLT assessment window (time unit of entry times; used by simulation and
            to validate patient tables).
        activity: ``dose`` (bfboin) or ``dose_or_lower`` (simFastBOIN) for condition C1.
    """

    name: ClassVar[str] = "bf-boin"
    backfill_cohorts: ClassVar[bool] = True
    target_kind: ClassVar[str] = "mtd"

    num_doses: int
    target: float = 0.25
    cohort_size: int = 3
    max_n: int = 30
    start_dose: int = 1
    p_saf: float | None = None
    p_tox: float | None = None
    cutoff_eli: float = 0.95
    extrasafe: bool = False
    offset: float = 0.05
    n_earlystop: int = 100
    bound_mtd: bool = False
    n_cap: int = 12
    cap_rule: str = "bfboin"
    backfill_assign: str = "highest"
    three_plus_three: bool = False
    tox_window: float = 1.0
    activity: str = "dose"

    def __post_init__(self) -> None:
        self._validate_common()
        validate_boin_parameters(self)
        if self.cohort_size < 3:
            raise InputError("cohort_size", "must be >= 3 for BF-BOIN (bfboin)")
        if isinstance(self.n_cap, bool) or not isinstance(self.n_cap, int) or self.n_cap < 1:
            raise InputError("n_cap", f"must be an integer >= 1, got {self.n_cap!r}")
        check_cap_rule(self.cap_rule)
        if self.backfill_assign not in ASSIGN:
            raise InputError(
                "backfill_assign",
                f"must be one of {', '.join(ASSIGN)}, got {self.backfill_assign!r}",
            )
        if not isinstance(self.three_plus_three, bool):
            raise InputError("three_plus_three", "must be true or false")
        if self.three_plus_three and not math.isclose(self.target, 0.25):
            raise InputError("three_plus_three", "applies to target 0.25 only (bfboin)")
        check_prob("tox_window", self.tox_window, 0.0, math.inf)
        if self.activity not in ACTIVITY:
            raise InputError("activity", f"must be one of {', '.join(ACTIVITY)}")

    # ------------------------------------------------------------ boundaries
    def _be(self, n: int) -> int:
        return b_e(n, self.lambda_e)

    def _bd(self, n: int) -> int:
        return b_d(n, self.lambda_d, b_elim(n, self.target, self.cutoff_eli))

    def _belim(self, n: int) -> int | None:
        return b_elim(n, self.target, self.cutoff_eli)

    def category(self, n: int, y: int, *, current: bool = False) -> str:
        """E / X / D / S of §3 for one dose."""
        if current and self.three_plus_three and n == 3 and y == 1:
            return "S"
        if y <= self._be(n):
            return "E"
        el = self._belim(n)
        if el is not None and y >= el:
            return "X"
        if y >= self._bd(n):
            return "D"
        return "S"

    # ------------------------------------------------------------ backfill
    def open_for_backfill(self, state: TrialState, current: int) -> list[int]:
        """Doses open for backfill below ``current`` (§4)."""
        return backfill_open(self, state, current)

    # ------------------------------------------------------------ decide
    def _decide(self, state: TrialState, now: float | None) -> Decision:
        d = _escalation_dose(state)
        J = self.num_doses
        eliminated = _closure(state.eliminated, J)
        esc = [p for p in state.patients if not p.backfill]
        if d is None:  # only backfill patients: start escalation
            d = self.start_dose
        k = len(esc) % self.cohort_size
        cohort = esc[-k:] if k else esc[-self.cohort_size :]
        if k:  # cohort not full
            return self._join_cohort(d, k, eliminated)
        pending = [p for p in cohort if p.tox is None]
        if pending:
            opened = backfill_open(self, state, d)
            dose = assign_backfill(opened, self.backfill_assign)
            where = (
                f"doses open for backfill: {', '.join(map(str, opened))}"
                + (f"; the next patient is backfilled at dose {dose}" if dose is not None else "")
                if opened
                else "no dose is open for backfill: an arriving patient cannot be treated"
            )
            return Decision(
                Action.SUSPEND,
                d,
                d,
                Reason(
                    "bf_boin.backfill",
                    (
                        f"{len(pending)} patient(s) of the escalation cohort at dose {d} are in "
                        f"DLT follow-up: escalation waits; {where}."
                    ),
                    {
                        "pending": len(pending),
                        "backfill_open": opened,
                        "backfill_dose": dose,
                        "backfill_assign": self.backfill_assign,
                    },
                ),
                eliminated,
            )
        dec = self._escalation_decision(state, d, eliminated)
        values = {**dec.reason.values, "backfill_open": [], "backfill_dose": None}
        reason = Reason(dec.reason.rule, dec.reason.message, values)
        return Decision(
            dec.action, dec.current_dose, dec.next_dose, reason, dec.eliminated, dec.steps
        )

    def _join_cohort(self, d: int, k: int, eliminated: frozenset[int]) -> Decision:
        """The escalation cohort at ``d`` has ``k`` of ``cohort_size`` patients: the next
        patient joins it."""
        if d in eliminated:
            # eliminated from outside the design while its cohort fills (module docstring)
            below = max((j for j in range(1, d) if j not in eliminated), default=None)
            text = (
                f"Dose {d} was eliminated while its escalation cohort had {k} of "
                f"{self.cohort_size} patients: "
            )
            values = {"cohort_n": k, "backfill_open": [], "backfill_dose": None}
            if below is None:
                return Decision(
                    Action.STOP,
                    d,
                    None,
                    Reason(
                        "bf_boin.current_eliminated",
                        text + "no lower dose remains, the trial stops.",
                        values,
                    ),
                    eliminated,
                )
            return Decision(
                Action.DEESCALATE,
                d,
                below,
                Reason(
                    "bf_boin.current_eliminated",
                    text + f"the next escalation patient is treated at dose {below}.",
                    values,
                ),
                eliminated,
            )
        return Decision(
            Action.STAY,
            d,
            d,
            Reason(
                "bf_boin.complete_cohort",
                (
                    f"The escalation cohort at dose {d} has {k} of {self.cohort_size} "
                    "patients: the next patient joins it (no backfill)."
                ),
                {"cohort_n": k, "backfill_open": [], "backfill_dose": None},
            ),
            eliminated,
        )

    def _escalation_decision(
        self, state: TrialState, d: int, eliminated: frozenset[int]
    ) -> Decision:
        """§3 on complete data (escalation + completed backfill)."""
        J = self.num_doses
        n, y = complete_counts(state.patients, J)
        cats = [self.category(n[j - 1], y[j - 1], current=(j == d)) for j in range(1, d + 1)]
        cat_d = cats[-1]
        lower = cats[:-1]
        n_esc = sum(1 for p in state.patients if not p.backfill)
        values: dict[str, Any] = {
            "n_complete": n[:d],
            "y_complete": y[:d],
            "categories": cats,
        }
        steps: list[Reason] = []
        head = (
            f"At dose {d}, {y[d - 1]} of {n[d - 1]} patients with complete follow-up had a DLT "
            f"(category {cat_d}; lower doses {''.join(lower) or '-'})"
        )

        def result(
            action: Action, nxt: int | None, rule: str, msg: str, elim: frozenset[int]
        ) -> Decision:
            return Decision(action, d, nxt, Reason(rule, msg, values), elim, tuple(steps))

        def stay_star(msg: str, elim: frozenset[int]) -> Decision:
            if n[d - 1] >= self.n_earlystop:
                return result(
                    Action.STOP,
                    d,
                    "bf_boin.n_earlystop",
                    f"{msg}: stay at dose {d}; {n[d - 1]} patients >= n_earlystop "
                    f"{self.n_earlystop}: stop the trial and select the MTD.",
                    elim,
                )
            return result(Action.STAY, d, "bf_boin.stay", f"{msg}: stay at dose {d}.", elim)

        def escalate_or_stay(msg: str, elim: frozenset[int]) -> Decision:
            if d < J and (d + 1) not in elim:
                return result(
                    Action.ESCALATE,
                    d + 1,
                    "bf_boin.escalate",
                    f"{msg}: escalate to dose {d + 1}.",
                    elim,
                )
            why = "it is the highest dose" if d == J else f"dose {d + 1} is eliminated"
            return stay_star(f"{msg}; escalation is blocked ({why})", elim)

        def dose1_stop_rule() -> bool:
            el = self._belim(n[0])
            if el is not None and y[0] >= el:
                return True
            if self.extrasafe:
                esc1 = [
                    p
                    for p in state.patients
                    if p.dose == 1 and not p.backfill and p.tox is not None
                ]
                n1, y1 = len(esc1), sum(1 for p in esc1 if p.tox)
                return (
                    n1 >= 3
                    and posterior_overdose(n1, y1, self.target) > self.cutoff_eli - self.offset
                )
            return False

        elim = eliminated
        if d == 1:
            if cat_d == "E":
                dec = escalate_or_stay(head, elim)
            elif cat_d == "S":
                dec = stay_star(head, elim)
            elif cat_d == "X":
                return result(
                    Action.STOP,
                    None,
                    "bf_boin.eliminate",
                    f"{head}: dose 1 reaches the elimination boundary: stop the trial; no dose is "
                    "selected.",
                    frozenset(range(1, J + 1)),
                )
            elif self.extrasafe:
                if n[0] >= 3 and posterior_overdose(n[0], y[0], self.target) > (
                    self.cutoff_eli - self.offset
                ):
                    return result(
                        Action.STOP,
                        None,
                        "bf_boin.extrasafe_stop",
                        f"{head}: extra-safe rule at the lowest dose: stop the trial, no MTD.",
                        frozenset(range(1, J + 1)),
                    )
                dec = result(Action.STAY, 1, "bf_boin.stay", f"{head}: stay at dose 1.", elim)
            else:
                dec = stay_star(f"{head}; dose 1 is the lowest dose", elim)
            return self._cap(dec, n_esc)

        # d > 1
        if cat_d == "X":
            elim = elim | frozenset(range(d, J + 1))
            steps.append(
                Reason(
                    "bf_boin.eliminate",
                    f"Dose {d} and all higher doses are eliminated ({y[d - 1]} of {n[d - 1]}).",
                    {"dose": d},
                )
            )
        conflict = conflict_anchor(lower, cat_d, "highest")

        if conflict is None:
            if cat_d == "E":
                dec = escalate_or_stay(head, elim)
            elif cat_d == "S":
                dec = stay_star(head, elim)
            else:
                dec = result(
                    Action.DEESCALATE,
                    d - 1,
                    "bf_boin.deescalate",
                    f"{head}: de-escalate to dose {d - 1}.",
                    elim,
                )
            return self._cap(dec, n_esc)

        bstar = conflict
        np_ = sum(n[bstar - 1 : d])
        yp = sum(y[bstar - 1 : d])
        values.update({"conflict_dose": bstar, "pooled_n": np_, "pooled_y": yp})
        pooled = f"{head}; conflict with dose {bstar}: pooled doses {bstar}..{d} give {yp} of {np_}"
        if yp <= self._be(np_):
            dec = escalate_or_stay(pooled, elim)
        elif yp >= self._bd(np_):
            target_k = pooled_safe_dose(bstar, d, _count_pool(self, n, y))
            if target_k is not None:
                act = Action.STAY if target_k == d else Action.DEESCALATE
                dec = result(
                    act, target_k, "bf_boin.pooled", f"{pooled}: go to dose {target_k}.", elim
                )
            elif bstar - 1 >= 1:
                dec = result(
                    Action.DEESCALATE,
                    bstar - 1,
                    "bf_boin.pooled",
                    f"{pooled}: go to dose {bstar - 1}.",
                    elim,
                )
            elif dose1_stop_rule():
                return result(
                    Action.STOP,
                    None,
                    "bf_boin.eliminate",
                    f"{pooled}; dose 1 is too toxic: stop the trial; no dose is selected.",
                    frozenset(range(1, J + 1)),
                )
            else:
                dec = result(
                    Action.DEESCALATE, 1, "bf_boin.pooled", f"{pooled}: go to dose 1.", elim
                )
        else:
            dec = stay_star(pooled, elim)
        return self._cap(dec, n_esc)

    def _cap(self, dec: Decision, n_esc: int) -> Decision:
        """Never an eliminated next dose; stop at ``max_n`` escalation patients."""
        nxt = dec.next_dose
        if nxt is not None and dec.eliminated and nxt >= min(dec.eliminated):
            nxt = min(dec.eliminated) - 1
            if nxt < 1:
                return Decision(
                    Action.STOP, dec.current_dose, None, dec.reason, dec.eliminated, dec.steps
                )
            d = dec.current_dose or nxt
            action = Action.DEESCALATE if nxt < d else Action.STAY
            dec = Decision(action, dec.current_dose, nxt, dec.reason, dec.eliminated, dec.steps)
        if dec.action is not Action.STOP and n_esc >= self.max_n:
            reason = Reason(
                "max_n_reached",
                (
                    f"{n_esc} escalation patients have been treated (max_n = {self.max_n}): stop "
                    f"the trial (the rules would give dose {dec.next_dose})."
                ),
                {**dec.reason.values, "rule_next_dose": dec.next_dose},
            )
            return Decision(
                Action.STOP,
                dec.current_dose,
                dec.next_dose,
                reason,
                dec.eliminated,
                (*dec.steps, dec.reason),
            )
        return dec

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """The decision for many trials (:func:`~doseladder.core.designs.arrays.bf_boin.
        decide_bf_boin`)."""
        from doseladder.core.designs.arrays.bf_boin import decide_bf_boin

        return decide_bf_boin(self, data)

    def select_arrays(self, data: DoseArrays) -> IntArray:
        """The selection for many trials (:func:`~doseladder.core.designs.arrays.bf_boin.
        select_bf_boin`)."""
        from doseladder.core.designs.arrays.bf_boin import select_bf_boin

        return select_bf_boin(self, data)

    @property
    def n_max(self) -> int:
        """The most patients a trial can enrol: ``max_n`` escalation patients plus at most
        :func:`~doseladder.core.designs.backfill_cap.cap_limit` at each dose below the top one
        (``n_cap + 1`` under ``cap_rule: bfboin``, ``n_cap`` under ``at_most``)."""
        return self.max_n + cap_limit(self.n_cap, self.cap_rule) * (self.num_doses - 1)

    # ------------------------------------------------------------ select etc.
    def select(self, state: TrialState) -> Selection:
        """BOIN ``select.mtd`` on escalation + completed backfill data (§5)."""
        self.check_state(state, None)
        if any(p.tox is None for p in state.patients if not p.backfill):
            raise InputError(
                "state",
                "escalation DLT outcomes are pending: the MTD is selected once they are known",
            )
        n, y = complete_counts(state.patients, self.num_doses)
        return select_mtd(
            n,
            y,
            self.target,
            cutoff_eli=self.cutoff_eli,
            extrasafe=self.extrasafe,
            offset=self.offset,
            bound_mtd=self.bound_mtd,
            p_tox=self.phi_2,
            eliminated=state.eliminated,
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """BOIN boundaries (``get.boundary``) used by every BF-BOIN rule; with
        ``three_plus_three`` the boundaries table adds ``deescalate_at_current``: the
        de-escalation boundary of the category at the current dose, where 1 DLT in 3 means
        stay (the pooled conflict rules keep BOIN's ``deescalate``)."""
        tables = boin_tables(self)
        if self.three_plus_three:
            b = tables["boundaries"].copy()
            cur = b["deescalate"].copy()
            at3 = (b["n"] == 3) & (cur == 1)
            cur[at3] = 2
            pos = list(b.columns).index("deescalate") + 1
            b.insert(pos, "deescalate_at_current", cur)
            tables = {**tables, "boundaries": b}
        return tables

    def backfill_texts(self, who: str = "patients") -> BackfillTexts:
        """The backfill rules in words (:class:`BackfillTexts`; ``who``: patients /
        subjects)."""
        one = who.removesuffix("s")
        responded = (
            f"at which an escalation {one} has responded"
            if self.activity == "dose"
            else f"at which, or below which, an escalation {one} has responded"
        )
        pick = {
            "highest": "the highest open dose",
            "lowest": "the lowest open dose",
            "random": "an open dose chosen at random (each open dose equally likely)",
        }[self.backfill_assign]
        return BackfillTexts(
            when=(
                f"While the {who} of the current escalation cohort are in DLT follow-up, "
                f"escalation waits, and {who} who arrive meanwhile may be treated at a lower dose "
                "that is open for backfill"
            ),
            conditions=(
                "below the current escalation dose and not eliminated",
                responded,
                f"whose {who} with complete DLT follow-up (alone, or pooled with the next higher "
                "dose) show a DLT rate below the de-escalation boundary (a dose that fails this "
                "closes every dose above it)",
            ),
            cap_clause=describe_cap(self.n_cap, self.cap_rule, who),
            assign=f"the {one} is treated at {pick}",
            no_slot=(
                f"when no dose is open, the arriving {one} cannot be backfilled (turned away)"
            ),
            data=(
                f"Backfill {who} whose DLT follow-up is complete count in every escalation "
                "decision and in the MTD selection (pending ones are left out)"
            ),
            pooling=(
                "when the data of a lower dose conflict with those of the current dose, the "
                "doses from the conflicting one up to the current one are pooled and the BOIN "
                "boundaries are applied to the pool, which can de-escalate by more than one level"
            ),
            cap=cap_summary(self.n_cap, self.cap_rule, who),
        )

    def describe(self) -> str:
        base = describe_boin(self, title="BF-BOIN")
        t = self.backfill_texts()
        extra = (
            "Backfill (Zhao et al., Clin Cancer Res 2024; R package bfboin 0.1.1). "
            f"{t.when}: a dose {', '.join((*t.conditions, t.cap_clause))}; {t.assign}; "
            f"{t.no_slot}. "
            f"{t.data}; {t.pooling}. The escalation sample size is "
            f"{self.max_n}; backfill patients come on top of it."
            + (
                " One DLT in the first 3 patients at the current dose means stay."
                if self.three_plus_three
                else ""
            )
        )
        return f"{base}\n\n{extra}"


def _closure(eliminated: frozenset[int], J: int) -> frozenset[int]:
    return frozenset(range(min(eliminated), J + 1)) if eliminated else frozenset()


def _escalation_dose(state: TrialState) -> int | None:
    """The dose of the latest escalation patient (``state.current_dose`` if set explicitly)."""
    esc = [p for p in state.patients if not p.backfill]
    if not esc:
        return state.current_dose
    last = esc[-1].dose
    cur = state.current_dose
    # TrialState defaults current_dose to the last patient, who may be a backfill patient
    if cur is not None and state.patients and state.patients[-1].backfill:
        return last
    return cur if cur is not None else last


def _count_pool(p: BFBOIN, n: Sequence[int], y: Sequence[int]) -> BelowBd:
    """``below_bd`` on counts: ΣY < b_d(ΣN) over doses lo..hi (BF-BOIN's complete data)."""

    def below_bd(lo: int, hi: int) -> bool:
        return sum(y[lo - 1 : hi]) < p._bd(sum(n[lo - 1 : hi]))

    return below_bd


def backfill_open(
    p: BFBOIN, state: TrialState, current: int, below_bd: BelowBd | None = None
) -> list[int]:
    """Doses open for backfill below ``current`` (spec §4: C1 activity, C2 safety, C3 cap).

    ``below_bd`` is the C2 test of a pool of doses; by default BF-BOIN's on complete counts
    (BE-BOIN passes its imputed estimates)."""
    J = p.num_doses
    if below_bd is None:
        n, y = complete_counts(state.patients, J)
        below_bd = _count_pool(p, n, y)
    enrolled = [0] * J
    responded = [False] * J
    for q in state.patients:
        enrolled[q.dose - 1] += 1
        if not q.backfill and q.eff is True:
            responded[q.dose - 1] = True
    eliminated = _closure(frozenset(state.eliminated), J)
    # C2: the lowest failing dose closes itself and all above
    safe_upto = current - 1
    for j in range(1, current):
        if not (below_bd(j, j) or below_bd(j, j + 1)):
            safe_upto = j - 1
            break
    out = []
    for j in range(1, safe_upto + 1):
        if j in eliminated:
            break
        active = responded[j - 1] if p.activity == "dose" else any(responded[:j])
        if active and cap_allows(enrolled[j - 1], p.n_cap, p.cap_rule):
            out.append(j)
    return out
