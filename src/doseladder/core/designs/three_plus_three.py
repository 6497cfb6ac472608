"""The 3+3 design (Storer 1989) and the Korn et al. (1994) de-escalation variant.

Rules (source: dose-finding spec §6.1; R package ``escalation`` v0.2.3, ``R/three_plus_three.R``,
``get_three_plus_three(num_doses, allow_deescalate)``).  Cohorts of exactly 3 patients are
treated at the current dose d; decisions are made when the number of patients n_d at d
reaches 3 or 6:

* n_d = 3, 0 DLT: escalate to d+1, but stop with MTD = d when d is the top dose, or when d+1
  already has >= 6 patients or >= 2 DLTs.
* n_d = 3, 1 DLT: treat 3 more patients at d ("expand").
* n_d = 3, >= 2 DLT, or n_d = 6, >= 2 DLT: d is "too toxic".
* n_d = 6, <= 1 DLT: escalate, with the same stop conditions as above.
* too toxic, standard variant (``allow_deescalate=False``): stop, MTD = d-1 (none if d = 1).
* too toxic, Korn variant (``allow_deescalate=True``): if d = 1 stop with no MTD; otherwise if
  n_{d-1} < 6 de-escalate to d-1 and treat 3 more there; otherwise stop with MTD = the highest
  dose with >= 6 patients and <= 1 DLT (none if there is no such dose).

"Top dose needs 3": 0/3 at the top dose stops the trial and declares the top dose the MTD
without expanding it to 6 patients.  This is what the spec's first bullet says ("if d is top
dose ... stop, MTD = d" applies to the n_d = 3, 0 DLT case), what ``escalation`` does
(``if(last_dose == num_doses) { next_dose = last_dose; cont = FALSE }`` in the ``n_d == 3``
branch), and what the reference-results row "3+3 exact enumeration (top dose needs 3)" for
scenario S1 encodes (reproduced by :mod:`doseladder.core.exact_three_plus_three`).

Decisions of this module beyond the R code (documented in :meth:`ThreePlusThree.describe`):

* An incomplete cohort at the current dose (n_d not a multiple of 3) is completed at the same
  dose (``STAY``, rule ``three_plus_three.complete_cohort``), even while earlier patients of the
  cohort are still in follow-up: the 3+3 enrols a cohort of 3 at one dose and decides only on
  the complete cohort, so pending outcomes are never used.  With a complete cohort and any
  pending toxicity outcome, accrual is suspended (rule ``three_plus_three.pending``).
* A dose with >= 2 DLTs is eliminated together with every higher dose (``Decision.eliminated``)
  at the decision on a complete cohort; a dose already eliminated in the trial state blocks
  escalation like a dose with >= 2 DLTs.  As in escalation, an incomplete cohort is completed
  even when 2 DLTs are already observed in it (the message says so).
* Reaching ``max_n`` patients (default 6 per dose, which never binds) stops the trial with the
  *provisional* MTD (:func:`provisional_mtd`), rule ``max_n_reached``.
* More than 6 patients at the current dose is not a 3+3 history: :class:`InputError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from doseladder.core.decision import Action, Decision, Reason
from doseladder.core.designs.arrays.interface import ArrayDecision, DoseArrays, IntArray
from doseladder.core.designs.base import Design, check_int, check_prob
from doseladder.core.errors import InputError
from doseladder.core.estimates import tox_estimates
from doseladder.core.selection import Selection
from doseladder.core.state import TrialState

__all__ = ["ThreePlusThree", "declared_mtd", "provisional_mtd", "too_toxic_from"]

_COHORT = 3
_RULE = "three_plus_three"


def too_toxic_from(tox: Sequence[int], eliminated: frozenset[int] = frozenset()) -> int | None:
    """Lowest dose level that is too toxic (>= 2 DLTs observed) or already eliminated.

    Every dose at or above it is excluded from further treatment and from selection.
    """
    levels = [j + 1 for j, y in enumerate(tox) if y >= 2]
    levels.extend(eliminated)
    return min(levels) if levels else None


def provisional_mtd(
    n: Sequence[int], tox: Sequence[int], eliminated: frozenset[int] = frozenset()
) -> int | None:
    """MTD of an unfinished 3+3 history (doseladder convention, not in the R package).

    The highest dose the 3+3 rules have cleared for escalation -- 0 DLT in 3 patients or
    <= 1 DLT in 6 -- that lies below every dose declared too toxic (>= 2 DLTs) or eliminated;
    ``None`` when no dose is cleared.  Used when a trial is cut short by ``max_n`` and by
    :meth:`ThreePlusThree.select` on a history whose rules would continue.
    """
    limit = too_toxic_from(tox, eliminated)
    best: int | None = None
    for j, (nj, yj) in enumerate(zip(n, tox, strict=True)):
        dose = j + 1
        if limit is not None and dose >= limit:
            break
        if (nj == 3 and yj == 0) or (nj >= 6 and yj <= 1):
            best = dose
    return best


@dataclass(frozen=True)
class ThreePlusThree(Design):
    """The 3+3 design, as ``escalation::get_three_plus_three`` (dose-finding spec §6.1).

    Attributes:
        num_doses: number of dose levels J.
        allow_deescalate: ``False`` for the standard 3+3, ``True`` for the Korn et al. (1994)
            variant that de-escalates to confirm the dose below a too-toxic one with 6 patients.
        start_dose: dose level of the first cohort (1 = lowest, the usual 3+3).
        cohort_size: must be 3.
        max_n: maximum number of patients (a multiple of 3); default ``6 * num_doses``, which
            the 3+3 rules never reach.
        target: target DLT rate used only for reporting: the ``p_overdose`` column of the
            per-dose estimates in :meth:`select` is Pr(P(DLT) > target).  The 3+3 rules do
            not use it.
    """

    name: ClassVar[str] = "3+3"
    target_kind: ClassVar[str] = "mtd"

    num_doses: int
    allow_deescalate: bool = False
    start_dose: int = 1
    cohort_size: int = _COHORT
    max_n: int | None = None  # type: ignore[assignment]  # resolved in __post_init__
    target: float = 0.3

    def __post_init__(self) -> None:
        check_int("num_doses", self.num_doses, 1, 100)
        if self.max_n is None:
            object.__setattr__(self, "max_n", 6 * self.num_doses)
        self._validate_common()
        if not isinstance(self.allow_deescalate, bool):
            raise InputError(
                "allow_deescalate", f"must be true or false, got {self.allow_deescalate!r}"
            )
        if self.cohort_size != _COHORT:
            raise InputError(
                "cohort_size",
                f"the 3+3 design treats cohorts of exactly 3 patients, got {self.cohort_size}",
            )
        if self.n_max % _COHORT != 0 or self.n_max < _COHORT:
            raise InputError(
                "max_n", f"must be a positive multiple of the cohort size 3, got {self.n_max}"
            )
        check_prob("target", self.target)

    # ------------------------------------------------------------- helpers
    @property
    def n_max(self) -> int:
        """``max_n`` resolved to its default."""
        return self.max_n if self.max_n is not None else 6 * self.num_doses

    @property
    def variant(self) -> str:
        """``"standard"`` or ``"korn"`` (de-escalation allowed)."""
        return "korn" if self.allow_deescalate else "standard"

    # ------------------------------------------------------------- decisions
    def _decide(self, state: TrialState, now: float | None) -> Decision:
        counts = state.counts()
        dose = state.current_dose
        assert dose is not None  # non-empty state
        nd = counts.n[dose - 1]
        if sum(counts.tox_pending) > 0:
            values: dict[str, Any] = {
                "dose": dose,
                "n": nd,
                "pending": sum(counts.tox_pending),
                "pending_at_dose": counts.tox_pending[dose - 1],
            }
            if nd % _COHORT != 0 and sum(counts.n) < self.n_max:
                return Decision(
                    Action.STAY,
                    dose,
                    dose,
                    Reason(
                        f"{_RULE}.complete_cohort",
                        f"The cohort at dose {dose} has {nd % _COHORT} of 3 patients: treat the "
                        "next patient at the same dose (outcomes in follow-up are not used).",
                        values,
                    ),
                    eliminated=state.eliminated,
                )
            return Decision(
                Action.SUSPEND,
                dose,
                dose,
                Reason(
                    f"{_RULE}.pending",
                    f"{values['pending']} toxicity outcome(s) still pending: suspend accrual "
                    "until every patient of the cohort has completed the DLT window.",
                    values,
                ),
                eliminated=state.eliminated,
            )
        return self.decide_counts(counts.n, counts.tox, dose, state.eliminated)

    def decide_counts(
        self,
        n: Sequence[int],
        tox: Sequence[int],
        current_dose: int,
        eliminated: frozenset[int] = frozenset(),
    ) -> Decision:
        """The 3+3 step on complete per-dose counts (the single source of the rules).

        ``n[j]``/``tox[j]`` are patients and observed DLTs at dose level j+1; every outcome
        must be known.  :meth:`decide` and the exact enumeration
        (:mod:`doseladder.core.exact_three_plus_three`) both call this function.
        """
        j_max = self.num_doses
        d = current_dose
        nd, yd = n[d - 1], tox[d - 1]
        if nd > 2 * _COHORT:
            raise InputError(
                "patients",
                f"{nd} patients at dose {d}: a 3+3 treats at most 6 patients at a dose",
            )
        first_too_toxic = too_toxic_from(tox, eliminated)
        elim = eliminated
        if first_too_toxic is not None:
            elim = elim | frozenset(range(first_too_toxic, j_max + 1))
        base: dict[str, Any] = {"dose": d, "n": nd, "dlt": yd, "variant": self.variant}

        if nd % _COHORT != 0 or nd == 0:
            # As escalation (n_d < 3 or 3 < n_d < 6: carry on), the cohort is completed before
            # any decision, so an elimination implied by it waits for the cohort decision.
            note = (
                f" ({yd} DLTs already observed at dose {d}: it will be declared too toxic)"
                if yd >= 2
                else ""
            )
            decision = Decision(
                Action.STAY,
                d,
                d,
                Reason(
                    f"{_RULE}.complete_cohort",
                    f"The cohort at dose {d} has {nd % _COHORT} of 3 patients: "
                    f"complete it at the same dose{note}.",
                    base,
                ),
                eliminated=eliminated,
            )
        elif (nd == _COHORT and yd == 0) or (nd == 2 * _COHORT and yd <= 1):
            decision = self._escalate(n, tox, d, elim, base)
        elif nd == _COHORT and yd == 1:
            decision = Decision(
                Action.STAY,
                d,
                d,
                Reason(
                    f"{_RULE}.expand",
                    f"1 DLT in 3 patients at dose {d}: treat 3 more patients at dose {d}.",
                    base,
                ),
                eliminated=elim,
            )
        else:
            decision = self._too_toxic(n, tox, d, elim, base)

        if decision.action is not Action.STOP and sum(n) >= self.n_max:
            mtd = provisional_mtd(n, tox, elim)
            return Decision(
                Action.STOP,
                d,
                mtd,
                Reason(
                    "max_n_reached",
                    f"The maximum sample size {self.n_max} is reached: stop; provisional MTD "
                    f"{_dose_text(mtd)} (highest dose cleared by the 3+3 rules).",
                    {"n_total": sum(n), "max_n": self.n_max, "mtd": mtd},
                ),
                eliminated=elim,
                steps=(decision.reason,),
            )
        return decision

    def _escalate(
        self,
        n: Sequence[int],
        tox: Sequence[int],
        d: int,
        elim: frozenset[int],
        base: dict[str, Any],
    ) -> Decision:
        text = f"{base['dlt']} DLT in {base['n']} patients at dose {d}"
        if d == self.num_doses:
            return Decision(
                Action.STOP,
                d,
                d,
                Reason(
                    f"{_RULE}.stop_top_dose",
                    f"{text}, the top dose: stop; MTD = dose {d}.",
                    {**base, "mtd": d},
                ),
                eliminated=elim,
            )
        n_up, y_up = n[d], tox[d]
        if n_up >= 2 * _COHORT or y_up >= 2 or (d + 1) in elim:
            return Decision(
                Action.STOP,
                d,
                d,
                Reason(
                    f"{_RULE}.stop_mtd",
                    f"{text}; dose {d + 1} already has {y_up} DLT in {n_up} patients"
                    f"{' (eliminated)' if (d + 1) in elim else ''}: stop; MTD = dose {d}.",
                    {**base, "mtd": d, "n_next": n_up, "dlt_next": y_up},
                ),
                eliminated=elim,
            )
        return Decision(
            Action.ESCALATE,
            d,
            d + 1,
            Reason(f"{_RULE}.escalate", f"{text}: escalate to dose {d + 1}.", base),
            eliminated=elim,
        )

    def _too_toxic(
        self,
        n: Sequence[int],
        tox: Sequence[int],
        d: int,
        elim: frozenset[int],
        base: dict[str, Any],
    ) -> Decision:
        text = f"{base['dlt']} DLT in {base['n']} patients at dose {d}: too toxic"
        if not self.allow_deescalate or d == 1:
            mtd = d - 1 if d > 1 else None
            return Decision(
                Action.STOP,
                d,
                mtd,
                Reason(
                    f"{_RULE}.too_toxic",
                    f"{text}; stop; MTD = {_dose_text(mtd)}.",
                    {**base, "mtd": mtd},
                ),
                eliminated=elim,
            )
        if n[d - 2] < 2 * _COHORT:
            return Decision(
                Action.DEESCALATE,
                d,
                d - 1,
                Reason(
                    f"{_RULE}.deescalate",
                    f"{text}; dose {d - 1} has {n[d - 2]} patients (< 6): de-escalate and "
                    f"treat 3 more patients at dose {d - 1}.",
                    {**base, "n_below": n[d - 2]},
                ),
                eliminated=elim,
            )
        # Korn et al. 1994: "The MTD is then defined as the highest dose level (>= 1) in which
        # 6 patients have been treated with <= 1 instance of DLT" (quoted in escalation).
        ok = [
            j + 1
            for j, (nj, yj) in enumerate(zip(n, tox, strict=True))
            if nj >= 2 * _COHORT and yj <= 1 and (j + 1) not in elim
        ]
        mtd = max(ok) if ok else None
        return Decision(
            Action.STOP,
            d,
            mtd,
            Reason(
                f"{_RULE}.too_toxic",
                f"{text}; dose {d - 1} already has 6 patients: stop; MTD = {_dose_text(mtd)} "
                "(highest dose with 6 patients and at most 1 DLT).",
                {**base, "mtd": mtd, "n_below": n[d - 2]},
            ),
            eliminated=elim,
        )

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """:meth:`_decide` for many trials (:func:`~doseladder.core.designs.arrays.
        three_plus_three.decide_three_plus_three`)."""
        from doseladder.core.designs.arrays.three_plus_three import decide_three_plus_three

        return decide_three_plus_three(self, data)

    def select_arrays(self, data: DoseArrays) -> IntArray:
        """:meth:`select` for many trials (:func:`~doseladder.core.designs.arrays.
        three_plus_three.select_three_plus_three`)."""
        from doseladder.core.designs.arrays.three_plus_three import select_three_plus_three

        return select_three_plus_three(self, data)

    # ------------------------------------------------------------- selection
    def select(self, state: TrialState) -> Selection:
        """MTD declared by the 3+3 rules, with BOIN-style isotonic estimates per dose.

        On a history the rules have stopped, the MTD is the stop decision's dose.  On an
        unfinished history (or one with pending outcomes, which are ignored) it is the
        :func:`provisional_mtd` and the reason says so (rule ``three_plus_three.provisional``).
        Estimates come from :func:`doseladder.core.estimates.tox_estimates` on the patients
        with a known outcome; ``p_overdose`` uses ``self.target``.
        """
        self.check_state(state, None)
        known = TrialState(
            state.num_doses,
            tuple(p for p in state.patients if p.tox is not None),
            current_dose=state.current_dose,
            eliminated=state.eliminated,
        )
        counts = known.counts()
        estimates = tox_estimates(counts.n, counts.tox, self.target)
        n_pending = state.n_patients - known.n_patients
        if known.n_patients == 0 or known.current_dose is None:
            return Selection(
                "mtd",
                None,
                Reason(
                    f"{_RULE}.no_data",
                    "No patient with a known outcome: no MTD.",
                    {"n_pending": n_pending},
                ),
                estimates,
            )
        decision = self.decide_counts(counts.n, counts.tox, known.current_dose, known.eliminated)
        if decision.stopped and n_pending == 0:
            return Selection("mtd", decision.next_dose, decision.reason, estimates)
        mtd = provisional_mtd(counts.n, counts.tox, decision.eliminated)
        pending_text = f" ({n_pending} pending outcome(s) ignored)" if n_pending else ""
        return Selection(
            "mtd",
            mtd,
            Reason(
                f"{_RULE}.provisional",
                f"The 3+3 has not finished{pending_text}; provisional MTD = {_dose_text(mtd)} "
                "(highest dose with 0/3 or at most 1/6 DLTs below any too-toxic dose).",
                {
                    "mtd": mtd,
                    "n_pending": n_pending,
                    "next_rule": decision.reason.rule,
                    "next_dose": decision.next_dose,
                },
            ),
            estimates,
        )

    # ------------------------------------------------------------- reporting
    def tables(self) -> dict[str, pd.DataFrame]:
        """``decision_rules``: one row per (patients at the current dose, DLTs) with the action."""
        escalate = (
            "escalate to d+1; stop with MTD = d if d is the top dose or d+1 already has "
            ">= 6 patients or >= 2 DLTs"
        )
        if self.allow_deescalate:
            too_toxic = (
                "too toxic: stop with no MTD if d = 1; else de-escalate to d-1 if it has < 6 "
                "patients; else stop with MTD = highest dose with >= 6 patients and <= 1 DLT"
            )
        else:
            too_toxic = "too toxic: stop with MTD = d-1 (no MTD if d = 1)"
        rows: list[dict[str, Any]] = []
        for n_at in (3, 6):
            for dlt in range(n_at + 1):
                if (n_at == 3 and dlt == 0) or (n_at == 6 and dlt <= 1):
                    key, text = "escalate", escalate
                elif n_at == 3 and dlt == 1:
                    key, text = "expand", "treat 3 more patients at d"
                else:
                    key, text = "too_toxic", too_toxic
                rows.append(
                    {
                        "n_at_dose": n_at,
                        "dlt": dlt,
                        "decision": key,
                        "rule": f"{_RULE}.{key}",
                        "action": text,
                    }
                )
        return {"decision_rules": pd.DataFrame(rows)}

    def describe(self) -> str:
        """Protocol text for the 3+3 rules (dose-finding spec §6.1)."""
        j = self.num_doses
        if self.allow_deescalate:
            toxic = (
                "If the current dose d is too toxic (at least 2 DLTs in 3 or in 6 patients): when "
                "d is the lowest dose the trial stops and no dose is declared the MTD; when the "
                "next lower dose has fewer than 6 patients, 3 more patients are treated at the "
                "next lower dose; otherwise the trial stops and the MTD is the highest dose "
                "level at which 6 patients were treated with at most 1 DLT (Korn et al. 1994)."
            )
        else:
            toxic = (
                "If the current dose d is too toxic (at least 2 DLTs in 3 or in 6 patients) the "
                "trial stops and the MTD is the next lower dose d-1; no dose is declared the MTD "
                "when d is the lowest dose."
            )
        cap = (
            f" The trial also stops when {self.n_max} patients have been treated; the MTD is then "
            "the highest dose cleared by the rules (0 of 3 or at most 1 of 6 patients with a DLT) "
            "below any too-toxic dose."
            if self.n_max < 6 * j
            else ""
        )
        variant = "Korn et al. 1994 de-escalation" if self.allow_deescalate else "standard"
        sentences = [
            f"3+3 design ({variant} variant; Storer 1989) with {j} dose levels, starting at "
            f"dose level {self.start_dose}.",
            "Patients are treated in cohorts of 3, and the next cohort is enrolled only when "
            "every patient of the previous cohort has completed the DLT assessment window.",
            "After 3 patients at the current dose d: with 0 DLTs the next cohort is treated at "
            "d+1; with 1 DLT, 3 more patients are treated at d.",
            "After 6 patients at d: with at most 1 DLT the next cohort is treated at d+1.",
            "Escalation is replaced by stopping, with d declared the MTD, when d is the highest "
            "dose level (so 0 DLTs in 3 patients at the highest dose suffice to declare it the "
            "MTD) or when d+1 already has 6 patients or at least 2 DLTs.",
            toxic + cap,
            "Rules as in the R package escalation (get_three_plus_three).",
        ]
        return " ".join(sentences)


def declared_mtd(state: TrialState, *, allow_deescalate: bool = False) -> int | None:
    """The MTD declared by a stopped 3+3 history (``None`` when no dose is acceptable).

    Raises :class:`InputError` (field ``state``) when the 3+3 rules would not stop on this
    history (use :func:`provisional_mtd` for an unfinished trial).
    """
    design = ThreePlusThree(num_doses=state.num_doses, allow_deescalate=allow_deescalate)
    decision = design.decide(state)
    if not decision.stopped:
        raise InputError(
            "state",
            f"the 3+3 has not stopped (next: {decision.action.value} at dose "
            f"{decision.next_dose}, rule {decision.reason.rule})",
        )
    return decision.next_dose


def _dose_text(dose: int | None) -> str:
    return "none" if dose is None else f"dose {dose}"
