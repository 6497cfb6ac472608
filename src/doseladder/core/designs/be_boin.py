"""BE-BOIN: BOIN with backfill and late-onset toxicity (Chen, Zhao, Takeda & Yuan, TIRS 2026).

Spec ``backfill.md`` §8.  BE-BOIN is BF-BOIN (:mod:`doseladder.core.designs.bf_boin`, whose
rule functions it calls: :func:`~doseladder.core.designs.bf_boin.conflict_anchor`,
:func:`~doseladder.core.designs.bf_boin.pooled_safe_dose`,
:func:`~doseladder.core.designs.bf_boin.backfill_open`,
:func:`~doseladder.core.designs.bf_boin.assign_backfill`) with the escalation rule of TITE-BOIN
(:func:`~doseladder.core.designs.tite_boin.imputation_decision`), so that the next cohort's dose
is decided when its first patient arrives, with pending patients imputed, instead of after the
whole cohort completes.  Reference: the public R function ``be_boin_simulate`` (arguments
``conflict_dose``, ``no_slot``, ``max_pending_ratio``, ``min_completed``, ``min_follow_up``,
``n_earlystop`` with the defaults used here) and [sFB] ``be_boin_simulate`` as summarised in
the spec.

At a decision time ``now`` (required when outcomes are pending):

* the escalation cohort is not full -> ``stay`` at d (the next patient joins it; no backfill);
* the cohort is full -> the next cohort's dose is decided at once:

  1. **Per-dose data**: every treated patient counts, backfill patients included, pending ones
     too: n_j treated, y_j observed DLTs, c_j pending, STFT_j = Σ min(now − entry, W)/W over
     the pending patients; the single-mean imputation of TITE-BOIN gives
     π̂_j = (y_j + φ/2)/(n_j − c_j + 1) and the imputed DLTs π̂_j/(1 − π̂_j)·(c_j − STFT_j);
     p̃_j = (y_j + imputed_j)/n_j (Chen et al. eq. 1), and a pool of doses lo..hi adds up the
     observed and imputed DLTs of each dose and divides by the patients treated (eq. 2).
  2. **Elimination** at every dose: y_j >= b_elim(n_j) (pending counted as no DLT, as
     TITE-BOIN) eliminates j and every higher dose; dose 1 eliminated stops the trial with no
     MTD; the current dose eliminated moves to the highest dose not eliminated.
  3. **Current dose**: TITE-BOIN's imputation rule with ``max_pending = max_pending_ratio``
     (de-escalate when the observed DLTs alone reach b_d; suspend when more than that fraction
     is pending; otherwise escalate / stay / de-escalate on p̃_d).  Its answer is the category
     of d (E / S / D).
  4. **Lower doses** j < d: category E if p̃_j <= λe, D if p̃_j >= λd, otherwise S (the
     estimate compared with the boundaries directly; with complete data this is BF-BOIN's
     count rule).
  5. **Conflict** (BF-BOIN §3, Table 2) with the anchor b* = the ``conflict_dose`` (``lowest``
     by default, Chen et al.; ``highest`` is bfboin's) conflicting dose; the pool b*..d decides:
     p̄ <= λe escalate, p̄ >= λd go to the highest k whose pool b*..k is below λd (else b* − 1,
     else dose 1), otherwise stay.  Without conflict, d's own decision.
  6. **Follow-up before escalation**: an escalation while patients at d are pending becomes a
     suspension unless every pending patient at d has been followed for at least
     ``min_follow_up``·W and at least ``min_completed`` patients at d are complete.
  7. A suspension opens backfill (§4 of the spec) with the imputed estimates in C2 (the dose
     alone, or pooled with the next higher dose, has p̄ < λd), the activity condition C1 and
     the cap C3 of BF-BOIN (read as its ``cap_rule`` says,
     :mod:`doseladder.core.designs.backfill_cap`); ``backfill_assign`` picks the dose.
     ``no_slot`` says what a simulation does with an arrival for whom no dose is open
     (``wait`` for the next decision or ``leave``); the decision itself reports the open doses.

``n_earlystop`` applies to the "stay" outcomes with n_d counting every patient treated at d.
The trial ends once ``max_n`` escalation patients are treated: while the last cohort is
pending backfill continues (suspend), then the trial stops.  The MTD is BOIN's ``select.mtd``
on escalation plus completed backfill data (BF-BOIN's selection, §5).

Decisions where the references are silent ([A]):

* Open points of ``docs/designs.md``: imputed counts enter C2 with the same π̂ prior as the
  escalation rule (the reference's "every estimate imputes the pending patients, backfilled
  ones included"); elimination uses the observed DLTs only, pending counted as no DLT.
* ``min_follow_up`` and ``min_completed`` apply to every escalation, including one reached by
  pooling, and look at the pending patients treated at d (backfill ones included).
* ``three_plus_three`` is refused (``be_boin_simulate`` fixes ``stay_on_1_of_3 = FALSE``).
* At dose 1 a de-escalation (D) means stay (with BOIN's extra-safe stop on complete data when
  ``extrasafe``), as in TITE-BOIN's framework.
* The array form is :mod:`doseladder.core.designs.arrays.be_boin`; the simulation
  (``simulate.kernels.bf_boin.simulate_be_boin``) runs both ``no_slot`` modes: ``leave`` turns
  an arrival with no open dose away, ``wait`` holds it until the trial's next event (see that
  module's docstring for how arrivals queue -- a decision of ours).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from doseladder.core.decision import Action, Decision, Reason
from doseladder.core.designs.arrays.interface import ArrayDecision, DoseArrays
from doseladder.core.designs.base import check_prob
from doseladder.core.designs.bf_boin import (
    ANCHORS,
    BFBOIN,
    BackfillTexts,
    BelowBd,
    _closure,
    _escalation_dose,
    assign_backfill,
    backfill_open,
    conflict_anchor,
    pooled_safe_dose,
)
from doseladder.core.designs.boin import b_elim, posterior_overdose
from doseladder.core.designs.tite_boin import imputation_decision
from doseladder.core.errors import InputError
from doseladder.core.state import TrialState

__all__ = ["BEBOIN", "DoseData", "dose_data", "imputed_dlts"]

NO_SLOT = ("wait", "leave")


def imputed_dlts(y: int, n: int, c: int, stft: float, target: float) -> float:
    """Expected DLTs among the c pending patients at one dose (TITE-BOIN single mean
    imputation: π̂/(1 − π̂)·(c − STFT), π̂ = (y + φ/2)/(n − c + 1)); 0 when nothing is pending."""
    if c == 0:
        return 0.0
    pi_hat = (y + target / 2) / (n - c + 1)
    return pi_hat / (1 - pi_hat) * (c - stft)


@dataclass(frozen=True)
class DoseData:
    """Per-dose data at a decision time (index j − 1): treated, observed DLTs, pending, STFT,
    and the follow-up fractions of the pending patients."""

    n: list[int]
    y: list[int]
    c: list[int]
    stft: list[float]
    followups: list[list[float]]
    imputed: list[float]

    def pooled(self, lo: int, hi: int) -> float:
        """p̄ over doses lo..hi (eq. 2): observed + imputed DLTs over patients treated; 0 when
        nobody is treated there."""
        nn = sum(self.n[lo - 1 : hi])
        if nn == 0:
            return 0.0
        return (sum(self.y[lo - 1 : hi]) + sum(self.imputed[lo - 1 : hi])) / nn


def dose_data(state: TrialState, now: float | None, window: float, target: float) -> DoseData:
    """:class:`DoseData` of every dose (every patient, backfill ones included)."""
    J = state.num_doses
    n, y, c = [0] * J, [0] * J, [0] * J
    fu: list[list[float]] = [[] for _ in range(J)]
    for p in state.patients:
        j = p.dose - 1
        n[j] += 1
        if p.tox is None:
            assert now is not None  # check_state requires it with pending outcomes
            c[j] += 1
            fu[j].append(min(max(now - p.entry_time, 0.0), window) / window)
        elif p.tox:
            y[j] += 1
    stft = [float(sum(f)) for f in fu]
    imp = [imputed_dlts(y[j], n[j], c[j], stft[j], target) for j in range(J)]
    return DoseData(n, y, c, stft, fu, imp)


@dataclass(frozen=True)
class BEBOIN(BFBOIN):
    """BE-BOIN (defaults of ``be_boin_simulate``: target 0.25, n_cap 12, n_earlystop 18).

    Attributes: BF-BOIN's (``tox_window`` is the DLT window W and is required by the rules),
    with ``n_earlystop`` defaulting to 18, plus
        conflict_dose: ``lowest`` (default, Chen et al. 2026) or ``highest`` (bfboin) anchor.
        no_slot: ``wait`` (default) or ``leave``: an arrival with no open backfill dose during
            a suspension waits or leaves (simulation only).
        max_pending_ratio: suspend when more than this fraction of the patients at d are
            pending (0.49: fewer than 51% complete).
        min_completed: escalation with pending patients at d needs this many complete (0).
        min_follow_up: escalation needs every pending patient at d followed >= this
            fraction of W (0.25).
    """

    name: ClassVar[str] = "be-boin"
    target_kind: ClassVar[str] = "mtd"
    time_to_event: ClassVar[bool] = True

    n_earlystop: int = 18
    conflict_dose: str = "lowest"
    no_slot: str = "wait"
    max_pending_ratio: float = 0.49
    min_completed: int = 0
    min_follow_up: float = 0.25

    def __post_init__(self) -> None:
        if self.three_plus_three is True:
            raise InputError(
                "three_plus_three", "is not part of BE-BOIN (be_boin_simulate: stay_on_1_of_3 off)"
            )
        super().__post_init__()
        if self.conflict_dose not in ANCHORS:
            raise InputError(
                "conflict_dose",
                f"must be one of {', '.join(ANCHORS)}, got {self.conflict_dose!r}",
            )
        if self.no_slot not in NO_SLOT:
            raise InputError(
                "no_slot", f"must be one of {', '.join(NO_SLOT)}, got {self.no_slot!r}"
            )
        check_prob("max_pending_ratio", self.max_pending_ratio, 0.0, 1.0, open_hi=False)
        if (
            isinstance(self.min_completed, bool)
            or not isinstance(self.min_completed, int)
            or self.min_completed < 0
        ):
            raise InputError(
                "min_completed", f"must be an integer >= 0, got {self.min_completed!r}"
            )
        check_prob("min_follow_up", self.min_follow_up, 0.0, 1.0, open_lo=False, open_hi=False)

    # ------------------------------------------------------------ helpers
    def _below_bd(self, data: DoseData) -> BelowBd:
        """C2 and the pooled rule on imputed estimates: p̄(lo..hi) < λd."""

        def below_bd(lo: int, hi: int) -> bool:
            return data.pooled(lo, hi) < self.lambda_d

        return below_bd

    def _category(self, data: DoseData, j: int) -> str:
        p = data.pooled(j, j)
        return "E" if p <= self.lambda_e else ("D" if p >= self.lambda_d else "S")

    def open_for_backfill(
        self, state: TrialState, current: int, now: float | None = None
    ) -> list[int]:
        """Doses open for backfill below ``current`` on imputed estimates at ``now``."""
        data = dose_data(state, now, float(self.tox_window), self.target)
        return backfill_open(self, state, current, self._below_bd(data))

    def backfill_texts(self, who: str = "patients") -> BackfillTexts:
        """BF-BOIN's texts with BE-BOIN's C2 (imputed estimates), ``no_slot`` and data use."""
        t = super().backfill_texts(who)
        one = who.removesuffix("s")
        c2 = (
            f"whose estimated DLT rate (every {one} treated there, pending outcomes imputed; "
            "alone, or pooled with the next higher dose) is below the de-escalation boundary "
            "(a dose that fails this closes every dose above it)"
        )
        return replace(
            t,
            when=(
                "While escalation is suspended (the current escalation cohort is full and "
                f"in follow-up), {who} who arrive may be treated at a lower dose that is open for "
                "backfill"
            ),
            conditions=(t.conditions[0], t.conditions[1], c2),
            no_slot=(
                f"when no dose is open, the arriving {one} "
                + ("waits for the next decision" if self.no_slot == "wait" else "is turned away")
            ),
            data=(
                f"Every treated {one}, backfill {who} included, counts at the dose given, with "
                "pending outcomes imputed (TITE-BOIN single mean imputation), in the escalation "
                "decision, the conflict pooling and the backfill safety condition; the MTD is "
                f"selected on escalation and completed backfill {who}"
            ),
            pooling=(
                "when the data of a lower dose conflict with those of the current dose, the "
                f"doses from the {self.conflict_dose} conflicting one up to the current one are "
                "pooled (observed plus imputed DLTs over the patients treated) and the pooled "
                "estimate is compared with the boundaries, which can de-escalate by more than one "
                "level"
            ),
        )

    # ------------------------------------------------------------ decide
    def _decide(self, state: TrialState, now: float | None) -> Decision:
        J = self.num_doses
        d = _escalation_dose(state) or self.start_dose
        eliminated = _closure(state.eliminated, J)
        esc = [p for p in state.patients if not p.backfill]
        k = len(esc) % self.cohort_size
        if k:
            return self._join_cohort(d, k, eliminated)
        data = dose_data(state, now, float(self.tox_window), self.target)
        n_esc = len(esc)
        if n_esc >= self.max_n and d not in eliminated:
            cohort = esc[-self.cohort_size :] if esc else []
            if any(p.tox is None for p in cohort):
                return self._suspend(
                    state,
                    d,
                    data,
                    eliminated,
                    "be_boin.final_follow_up",
                    f"{n_esc} escalation patients have been treated (max_n = {self.max_n}) and "
                    f"the last cohort at dose {d} is in DLT follow-up: no more escalation "
                    "patients",
                    {"cause": "max_n"},
                )
        dec = self._escalation(state, d, data, eliminated)
        if dec.action is Action.SUSPEND:
            return dec
        dec = self._cap(dec, n_esc)
        values = {**dec.reason.values, "backfill_open": [], "backfill_dose": None}
        return Decision(
            dec.action,
            dec.current_dose,
            dec.next_dose,
            Reason(dec.reason.rule, dec.reason.message, values),
            dec.eliminated,
            dec.steps,
        )

    def _suspend(
        self,
        state: TrialState,
        d: int,
        data: DoseData,
        eliminated: frozenset[int],
        rule: str,
        why: str,
        extra: dict[str, Any],
    ) -> Decision:
        opened = backfill_open(self, state, d, self._below_bd(data))
        dose = assign_backfill(opened, self.backfill_assign)
        where = (
            f"doses open for backfill: {', '.join(map(str, opened))}"
            + (f"; the next patient is backfilled at dose {dose}" if dose is not None else "")
            if opened
            else (
                "no dose is open for backfill: an arriving patient "
                + ("waits" if self.no_slot == "wait" else "is turned away")
            )
        )
        values = {
            **extra,
            "pending": data.c[d - 1],
            "backfill_open": opened,
            "backfill_dose": dose,
            "backfill_assign": self.backfill_assign,
            "no_slot": self.no_slot,
        }
        return Decision(
            Action.SUSPEND,
            d,
            d,
            Reason(rule, f"{why}: escalation waits; {where}.", values),
            eliminated,
        )

    def _escalation(
        self, state: TrialState, d: int, data: DoseData, eliminated: frozenset[int]
    ) -> Decision:
        J = self.num_doses
        n, y, c = data.n, data.y, data.c
        values: dict[str, Any] = {
            "n": n[:d],
            "y": y[:d],
            "pending": c[d - 1],
            "pending_by_dose": c[:d],
            "stft": data.stft[:d],
            "p_tilde": [round(data.pooled(j, j), 10) for j in range(1, d + 1)],
        }
        steps: list[Reason] = []

        def result(action: Action, nxt: int | None, rule: str, msg: str) -> Decision:
            return Decision(action, d, nxt, Reason(rule, msg, values), elim, tuple(steps))

        # 2. elimination at every dose (pending counted as no DLT)
        elim = eliminated
        for j in range(1, J + 1):
            el = b_elim(n[j - 1], self.target, self.cutoff_eli) if n[j - 1] else None
            if el is not None and y[j - 1] >= el:
                if j not in elim:
                    elim = elim | frozenset(range(j, J + 1))
                    steps.append(
                        Reason(
                            "be_boin.eliminate",
                            f"Dose {j} and all higher doses are eliminated ({y[j - 1]} DLTs of "
                            f"{n[j - 1]} treated >= {el}).",
                            {"dose": j, "b_elim": el},
                        )
                    )
                break
        if 1 in elim:
            return result(
                Action.STOP,
                None,
                "be_boin.eliminate",
                "Dose 1 is eliminated: stop the trial; no dose is selected.",
            )
        if d in elim:
            nxt = min(elim) - 1
            return result(
                Action.DEESCALATE,
                nxt,
                "be_boin.eliminate",
                f"Dose {d} is eliminated: go to dose {nxt}, the highest dose not eliminated.",
            )

        if n[d - 1] == 0:
            return result(
                Action.STAY,
                d,
                "be_boin.stay",
                f"No patient has been treated at dose {d} yet: the next cohort is treated there.",
            )
        # 3. the current dose: TITE-BOIN imputation rule
        res = imputation_decision(
            n[d - 1],
            y[d - 1],
            c[d - 1],
            min(data.stft[d - 1], float(c[d - 1])),
            target=self.target,
            lambda_e=self.lambda_e,
            lambda_d=self.lambda_d,
            cutoff_eli=self.cutoff_eli,
            max_pending=self.max_pending_ratio,
        )
        values["tite_rule"] = res.rule
        head = (
            f"At dose {d}, {y[d - 1]} DLT(s) among {n[d - 1]} patients, {c[d - 1]} pending "
            f"(p̃ = {data.pooled(d, d):.4f}, λe = {self.lambda_e:.4f}, λd = {self.lambda_d:.4f})"
        )
        if res.decision == "SUS":
            return self._suspend(
                state,
                d,
                data,
                elim,
                "be_boin.suspend",
                f"{head}; more than {self.max_pending_ratio:g} of the patients at dose {d} are "
                "pending",
                {**values, "cause": "max_pending_ratio"},
            )
        cat_d = {"E": "E", "S": "S", "D": "D", "DE": "D"}[res.decision]
        lower = [self._category(data, j) for j in range(1, d)]
        values["categories"] = [*lower, cat_d]
        head += f" (category {cat_d}; lower doses {''.join(lower) or '-'})"

        def stay_star(msg: str) -> Decision:
            if n[d - 1] >= self.n_earlystop:
                return result(
                    Action.STOP,
                    d,
                    "be_boin.n_earlystop",
                    f"{msg}: stay at dose {d}; {n[d - 1]} patients >= n_earlystop "
                    f"{self.n_earlystop}: stop the trial and select the MTD.",
                )
            return result(Action.STAY, d, "be_boin.stay", f"{msg}: stay at dose {d}.")

        def escalate_or_stay(msg: str) -> Decision:
            if d < J and (d + 1) not in elim:
                return self._follow_up_gate(
                    state,
                    data,
                    d,
                    elim,
                    result(
                        Action.ESCALATE, d + 1, "be_boin.escalate", f"{msg}: escalate to {d + 1}."
                    ),
                    msg,
                )
            why = "it is the highest dose" if d == J else f"dose {d + 1} is eliminated"
            return stay_star(f"{msg}; escalation is blocked ({why})")

        def dose1_stay(msg: str) -> Decision:
            if self.extrasafe:
                done = [p for p in state.patients if p.dose == 1 and p.tox is not None]
                n1, y1 = len(done), sum(1 for p in done if p.tox)
                if n1 >= 3 and posterior_overdose(n1, y1, self.target) > (
                    self.cutoff_eli - self.offset
                ):
                    return result(
                        Action.STOP,
                        None,
                        "be_boin.extrasafe_stop",
                        f"{msg}: extra-safe rule at the lowest dose: stop the trial, no MTD.",
                    )
            return stay_star(f"{msg}; dose 1 is the lowest dose")

        bstar = conflict_anchor(lower, cat_d, self.conflict_dose)
        if bstar is None:
            if cat_d == "E":
                return escalate_or_stay(head)
            if cat_d == "S":
                return stay_star(head)
            if d == 1:
                return dose1_stay(head)
            return result(
                Action.DEESCALATE, d - 1, "be_boin.deescalate", f"{head}: de-escalate to {d - 1}."
            )
        pooled = data.pooled(bstar, d)
        values.update({"conflict_dose": bstar, "pooled_p": round(pooled, 10)})
        msg = (
            f"{head}; conflict with dose {bstar} ({self.conflict_dose} conflicting dose): "
            f"pooled doses {bstar}..{d} give p̄ = {pooled:.4f}"
        )
        if pooled <= self.lambda_e:
            return escalate_or_stay(msg)
        if pooled >= self.lambda_d:
            kk = pooled_safe_dose(bstar, d, self._below_bd(data))
            if kk == d:
                return result(Action.STAY, d, "be_boin.pooled", f"{msg}: stay at dose {d}.")
            if kk is not None:
                return result(Action.DEESCALATE, kk, "be_boin.pooled", f"{msg}: go to dose {kk}.")
            nxt = max(bstar - 1, 1)
            if nxt == d:  # d = b* = 1 cannot conflict; kept for safety
                return dose1_stay(msg)
            return result(Action.DEESCALATE, nxt, "be_boin.pooled", f"{msg}: go to dose {nxt}.")
        return stay_star(msg)

    def _follow_up_gate(
        self,
        state: TrialState,
        data: DoseData,
        d: int,
        elim: frozenset[int],
        dec: Decision,
        msg: str,
    ) -> Decision:
        """Rule 6: escalation with pending patients at d needs follow-up and completions."""
        c = data.c[d - 1]
        if c == 0:
            return dec
        short = [f for f in data.followups[d - 1] if f < self.min_follow_up]
        complete = data.n[d - 1] - c
        if not short and complete >= self.min_completed:
            return dec
        why = (
            f"{len(short)} pending patient(s) at dose {d} have less than "
            f"{self.min_follow_up:g} of the DLT window of follow-up"
            if short
            else f"only {complete} patient(s) at dose {d} are complete (min_completed = "
            f"{self.min_completed})"
        )
        return self._suspend(
            state,
            d,
            data,
            elim,
            "be_boin.suspend",
            f"{msg}: escalation would follow, but {why}",
            {
                **dec.reason.values,
                "cause": "min_follow_up" if short else "min_completed",
                "would": "escalate",
            },
        )

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """The decision for many trials (:func:`~doseladder.core.designs.arrays.be_boin.
        decide_be_boin`)."""
        from doseladder.core.designs.arrays.be_boin import decide_be_boin

        return decide_be_boin(self, data)

    def describe(self) -> str:
        base = super().describe()
        return (
            f"{base}\n\nBE-BOIN (Chen, Zhao, Takeda & Yuan, TIRS 2026): the dose of each "
            "escalation cohort is decided when its first patient arrives, using TITE-BOIN's "
            "single mean imputation of the pending patients' DLTs (backfill patients "
            "included) at every dose, in the escalation decision, the conflict pooling and the "
            "backfill safety condition. Accrual to escalation is suspended when more than "
            f"{self.max_pending_ratio:g} of the patients at the current dose are pending, and "
            "escalation requires every pending patient at the current dose to have been "
            f"followed for at least {self.min_follow_up:g} of the DLT window"
            + (
                f" and at least {self.min_completed} complete patients"
                if self.min_completed
                else ""
            )
            + f". Conflicts are pooled from the {self.conflict_dose} conflicting dose. "
            f"The trial stops early when {self.n_earlystop} patients have been treated at a "
            "dose the rules stay at."
        )
