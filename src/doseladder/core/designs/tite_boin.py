"""TITE-BOIN: time-to-event BOIN for late-onset toxicity (Yuan, Lin, Li, Nie, Warren 2018).

Two forms (spec ``dose-finding.md`` §2):

* ``form="imputation"`` (default) -- the published TITE-BOIN rule (Yuan et al. 2018,
  Supplementary Appendix A eq. 4-5; spec §2.2).  Pending outcomes at the current dose are
  imputed by their posterior expected DLT probability:

      π̂ = (y + φ/2)/(r + 1)                                    (Beta(φ/2, 1−φ/2) prior)
      p̃ = [y + π̂/(1 − π̂)·(c − STFT)] / n

  and the order of rules is: elimination (on all n, pending counted as no DLT) -> plain BOIN if
  nothing is pending -> de-escalate if y >= b_d(n) whatever the pending outcomes -> suspend if
  c/n > ``max_pending`` -> "long-memory coherence": if y/n < φ escalate iff p̃ <= λe (else
  stay), if y/n >= φ de-escalate iff p̃ >= λd (else stay).  This reproduces all 640 states of
  Table 1 (φ = 0.2) and Table S1 (φ = 0.3) of the paper (spec §2.3).

* ``form="ess"`` -- the effective-sample-size variant of Lin & Yuan (2020) as coded in
  TITEgBOIN 0.4.0 ``R/next_TITE_QuasiBOIN.R`` (spec §2.4): elimination on n -> suspend if
  c > ``max_pending``·n -> p̂ = y/ESS with ESS = r + STFT compared with λe/λd (plain BOIN
  integer boundaries when nothing is pending).  As in that code, a de-escalation indicated at
  dose 1 while outcomes are pending suspends accrual (wait for the pending outcomes, which may
  eliminate dose 1) instead of treating more patients at dose 1.

Notation at the current dose: n treated, y observed DLTs, c pending (DLT outcome not yet
known), r = n − c complete, STFT = Σ_pending u_i/T with follow-up u_i = min(now − entry, T).

Decisions on open points ([A] in the spec):

* A patient whose outcome is still pending although the follow-up has reached the window
  (data not yet entered) stays pending (counts in c and in the suspension rule) but gets the
  full weight u_i/T = 1, so STFT ranges over [0, c]; such a patient then contributes no
  imputed DLT probability.
* ``block_escalation_few_complete`` (default ``False``) adds the rule of Lin & Yuan's own
  simulator (TITE-MAD ``get.oc.tite.R``: ``if(nobs<=2) ... pending=1``): an escalation while at
  most 2 patients at the current dose have complete data and some are pending becomes a
  suspension.  The simulator's other branch (n = 1 -> stay) is not adopted, because with
  complete data TITE-BOIN must equal BOIN.  The published decision tables do not use the rule,
  hence the default.
* With no pending outcome at the current dose the decision is exactly BOIN's (same rule ids,
  ``boin.*``); pending outcomes at other doses do not block a decision (they still count as
  treated patients for elimination).  Rule ids of decisions that used pending data are
  ``tite_boin.escalate`` / ``tite_boin.stay`` / ``tite_boin.deescalate`` /
  ``tite_boin.suspend``.
* Everything else (elimination, extra-safe stop, ``n_earlystop``, ``max_n``) is the BOIN
  framework of :func:`doseladder.core.designs.boin.boin_framework_decision`.  When the rule
  would suspend after the maximum sample size is reached the trial stops instead.
* At the end of the trial MTD selection waits for every pending outcome and then is BOIN's
  ``select.mtd`` (spec §2.2 step 7).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import pandas as pd

from doseladder.core.decision import Action, Decision, Reason
from doseladder.core.designs.arrays.interface import ArrayDecision, DoseArrays, IntArray
from doseladder.core.designs.base import Design, check_prob
from doseladder.core.designs.boin import (
    BoinBoundaries,
    Move,
    b_d,
    b_e,
    b_elim,
    boin_framework_decision,
    boin_lambdas,
    boin_move,
    boin_tables,
    boundary_values,
    describe_boin,
    select_boin_mtd,
    validate_boin_parameters,
)
from doseladder.core.errors import InputError
from doseladder.core.selection import Selection
from doseladder.core.state import TrialState

__all__ = [
    "TITEBOIN",
    "TiteRule",
    "ess_decision",
    "imputation_decision",
    "imputation_stft_cutoff",
    "tite_decision_table",
]

Code = Literal["E", "S", "D", "DE", "SUS"]


@dataclass(frozen=True, slots=True)
class TiteRule:
    """The TITE-BOIN rule at one dose, without the dose-range context.

    ``decision``: E escalate, S stay, D de-escalate, DE de-escalate and eliminate, SUS suspend.
    ``rule``: which step fired (``eliminate``, ``boin``, ``certain_deescalation``, ``suspend``,
    ``imputation``, ``ess``).  ``values``: the numbers used.
    """

    decision: Code
    rule: str
    values: dict[str, Any] = field(default_factory=dict)


def _check_state_numbers(n: int, y: int, c: int, stft: float) -> None:
    for name, v in (("n", n), ("y", y), ("c", c)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(name, f"must be a non-negative integer, got {v!r}")
    if n < 1:
        raise InputError("n", "at least one patient must have been treated")
    if y + c > n:
        raise InputError("c", f"y + c = {y + c} exceeds n = {n}")
    if not 0.0 <= stft <= c:
        raise InputError("stft", f"must be in [0, c] = [0, {c}], got {stft!r}")


def _common_steps(
    n: int, y: int, c: int, target: float, lambda_e: float, lambda_d: float, cutoff_eli: float
) -> TiteRule | None:
    """Elimination (on all n) and the plain-BOIN case without pending outcomes."""
    el = b_elim(n, target, cutoff_eli)
    be, bd = b_e(n, lambda_e), b_d(n, lambda_d, el)
    vals: dict[str, Any] = {"n": n, "y": y, "c": c, "b_e": be, "b_d": bd, "b_elim": el}
    if el is not None and y >= el:
        return TiteRule("DE", "eliminate", vals)
    if c == 0:
        code: Code = "E" if y <= be else ("D" if y >= bd else "S")
        return TiteRule(code, "boin", vals)
    return None


def imputation_decision(
    n: int,
    y: int,
    c: int,
    stft: float,
    *,
    target: float,
    lambda_e: float,
    lambda_d: float,
    cutoff_eli: float = 0.95,
    max_pending: float = 0.5,
) -> TiteRule:
    """TITE-BOIN (imputation form) decision at one dose for the state (n, y, c, STFT).

    Spec §2.2 (Yuan et al. 2018 Suppl. Appendix A eq. 4-5), rules 1-5 in that order.
    """
    _check_state_numbers(n, y, c, stft)
    first = _common_steps(n, y, c, target, lambda_e, lambda_d, cutoff_eli)
    if first is not None:
        return first
    el = b_elim(n, target, cutoff_eli)
    bd = b_d(n, lambda_d, el)
    vals: dict[str, Any] = {"n": n, "y": y, "c": c, "r": n - c, "stft": stft, "b_d": bd}
    if y >= bd:
        return TiteRule("D", "certain_deescalation", vals)
    if c > max_pending * n:
        return TiteRule("SUS", "suspend", {**vals, "max_pending": max_pending})
    r = n - c
    pi_hat = (y + target / 2) / (r + 1)
    p_tilde = (y + pi_hat / (1 - pi_hat) * (c - stft)) / n
    vals.update(pi_hat=pi_hat, p_tilde=p_tilde)
    if y / n < target:
        return TiteRule("E" if p_tilde <= lambda_e else "S", "imputation", vals)
    return TiteRule("D" if p_tilde >= lambda_d else "S", "imputation", vals)


def imputation_stft_cutoff(
    n: int, y: int, c: int, *, target: float, lambda_e: float, lambda_d: float
) -> float:
    """The STFT at which the imputation-form decision switches (spec §2.2 rule 5).

    For y/n < φ: escalate iff STFT >= c − (1−π̂)/π̂·(n·λe − y); for y/n >= φ: de-escalate iff
    STFT <= c − (1−π̂)/π̂·(n·λd − y), with π̂ = (y + φ/2)/(n − c + 1).
    """
    pi_hat = (y + target / 2) / (n - c + 1)
    lam = lambda_e if y / n < target else lambda_d
    return c - (1 - pi_hat) / pi_hat * (n * lam - y)


def ess_decision(
    n: int,
    y: int,
    c: int,
    stft: float,
    *,
    target: float,
    lambda_e: float,
    lambda_d: float,
    cutoff_eli: float = 0.95,
    max_pending: float = 0.5,
) -> TiteRule:
    """ESS-form decision at one dose (TITEgBOIN ``next_TITE_QuasiBOIN``; spec §2.4).

    Elimination on n; no pending -> BOIN; c > max_pending·n -> suspend; else p̂ = y/(r + STFT):
    escalate if p̂ <= λe, de-escalate if p̂ >= λd, otherwise stay.
    """
    _check_state_numbers(n, y, c, stft)
    first = _common_steps(n, y, c, target, lambda_e, lambda_d, cutoff_eli)
    if first is not None:
        return first
    vals: dict[str, Any] = {"n": n, "y": y, "c": c, "r": n - c, "stft": stft}
    if c > max_pending * n:
        return TiteRule("SUS", "suspend", {**vals, "max_pending": max_pending})
    ess = (n - c) + stft
    mu = y / ess
    vals.update(ess=ess, p_hat=mu)
    code: Code = "E" if mu <= lambda_e else ("D" if mu >= lambda_d else "S")
    return TiteRule(code, "ess", vals)


def _regions(
    n: int,
    y: int,
    c: int,
    *,
    form: str,
    target: float,
    lambda_e: float,
    lambda_d: float,
    cutoff_eli: float,
    max_pending: float,
    block_few_complete: bool,
) -> tuple[str, float | None, float | None]:
    """Decision code of a (n, y, c) state over STFT in [0, c] and its STFT thresholds.

    Returns (code, deescalate_if_stft_le, escalate_if_stft_ge).  Codes list the outcomes from
    low to high STFT joined by "/", e.g. "D/S" (de-escalate if STFT <= x, else stay) or "S/E"
    (stay unless STFT >= x, then escalate).
    """
    fn = imputation_decision if form == "imputation" else ess_decision
    kw: dict[str, Any] = {
        "target": target,
        "lambda_e": lambda_e,
        "lambda_d": lambda_d,
        "cutoff_eli": cutoff_eli,
        "max_pending": max_pending,
    }
    at0 = fn(n, y, c, 0.0, **kw)
    if at0.rule in ("eliminate", "boin", "certain_deescalation", "suspend"):
        return at0.decision, None, None  # does not depend on STFT
    r = n - c
    if form == "imputation":
        cut = imputation_stft_cutoff(n, y, c, target=target, lambda_e=lambda_e, lambda_d=lambda_d)
        if y / n < target:
            d_cut, e_cut = None, cut
        else:
            d_cut, e_cut = cut, None
    else:
        d_cut, e_cut = y / lambda_d - r, y / lambda_e - r
    lo = -math.inf if d_cut is None else d_cut  # de-escalate iff STFT <= lo
    hi = math.inf if e_cut is None else e_cut  # escalate iff STFT >= hi
    has_d = lo >= 0
    has_e = hi <= c
    has_s = (hi > 0) if lo < 0 else (lo < c and lo < hi)
    parts: list[str] = []
    if has_d:
        parts.append("D")
    if has_s:
        parts.append("S")
    if has_e:
        parts.append("SUS" if block_few_complete and r <= 2 else "E")
    several = len(parts) > 1
    d_le = d_cut if has_d and several else None
    e_ge = e_cut if has_e and several else None
    return "/".join(parts), d_le, e_ge


def tite_decision_table(
    *,
    target: float,
    cohort_size: int,
    n_max: int,
    p_saf: float | None = None,
    p_tox: float | None = None,
    cutoff_eli: float = 0.95,
    max_pending: float = 0.5,
    form: Literal["imputation", "ess"] = "imputation",
    block_escalation_few_complete: bool = False,
) -> pd.DataFrame:
    """Published-style TITE-BOIN decision table (Yuan et al. 2018 Table 1 / S1 layout).

    One row per attainable state (n, y DLTs, c pending), y + c <= n, for n = cohort_size,
    2·cohort_size, ... <= n_max.  Columns: ``n``, ``dlts``, ``pending``, ``decision`` (E, S, D,
    DE, SUS, or outcomes by increasing STFT such as ``"D/S"`` / ``"S/E"``),
    ``deescalate_if_stft_le`` and ``escalate_if_stft_ge`` (the STFT cut-offs where the
    decision depends on STFT, else NA) and ``description``.  The dose-specific rules (no
    de-escalation from dose 1 -- in the ESS form a suspension there while outcomes are
    pending --, eliminated doses, ``n_earlystop``, ``max_n``) are not part of the table.
    """
    phi1 = 0.6 * target if p_saf is None else p_saf
    phi2 = 1.4 * target if p_tox is None else p_tox
    lam_e, lam_d = boin_lambdas(target, phi1, phi2)
    names = {
        "E": "escalate",
        "S": "stay",
        "D": "de-escalate",
        "DE": "de-escalate & eliminate",
        "SUS": "suspend accrual",
    }
    rows = []
    for n in range(cohort_size, n_max + 1, cohort_size):
        for y in range(n + 1):
            for c in range(n - y + 1):
                code, d_le, e_ge = _regions(
                    n,
                    y,
                    c,
                    form=form,
                    target=target,
                    lambda_e=lam_e,
                    lambda_d=lam_d,
                    cutoff_eli=cutoff_eli,
                    max_pending=max_pending,
                    block_few_complete=block_escalation_few_complete,
                )
                parts = code.split("/")
                if len(parts) == 1:
                    text = names[code]
                else:
                    bits = []
                    if d_le is not None:
                        bits.append(f"{names['D']} if STFT <= {d_le:.2f}")
                    if e_ge is not None:
                        bits.append(f"{names[parts[-1]]} if STFT >= {e_ge:.2f}")
                    text = "; ".join(bits) + "; otherwise stay"
                rows.append((n, y, c, code, d_le, e_ge, text))
    frame = pd.DataFrame(
        rows,
        columns=[
            "n",
            "dlts",
            "pending",
            "decision",
            "deescalate_if_stft_le",
            "escalate_if_stft_ge",
            "description",
        ],
    )
    for col in ("deescalate_if_stft_le", "escalate_if_stft_ge"):
        frame[col] = frame[col].astype("Float64")
    return frame


# ------------------------------------------------------------------------- the design
@dataclass(frozen=True)
class TITEBOIN(BoinBoundaries, Design):
    """TITE-BOIN design (Yuan et al. 2018); BOIN's parameters plus the TITE ones.

    Attributes (beyond :class:`~doseladder.core.designs.boin.BOIN`'s):
        tox_window: DLT assessment window T (same time unit as entry times), > 0.
        form: ``"imputation"`` (published TITE-BOIN, spec §2.2) or ``"ess"`` (spec §2.4).
        max_pending: suspend accrual when more than this fraction of the patients at the
            current dose have pending outcomes (exactly this fraction is allowed).
        block_escalation_few_complete: TITE-MAD's extra rule (see the module docstring).
    """

    name: ClassVar[str] = "tite-boin"
    target_kind: ClassVar[str] = "mtd"
    time_to_event: ClassVar[bool] = True

    num_doses: int
    target: float
    tox_window: float
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
    form: Literal["imputation", "ess"] = "imputation"
    max_pending: float = 0.5
    block_escalation_few_complete: bool = False

    def __post_init__(self) -> None:
        self._validate_common()
        validate_boin_parameters(self)
        check_prob("tox_window", self.tox_window, 0.0, float("inf"))
        if self.form not in ("imputation", "ess"):
            raise InputError("form", f"must be 'imputation' or 'ess', got {self.form!r}")
        check_prob("max_pending", self.max_pending, 0.0, 1.0, open_lo=False, open_hi=True)
        if not isinstance(self.block_escalation_few_complete, bool):
            raise InputError(
                "block_escalation_few_complete",
                f"must be true or false, got {self.block_escalation_few_complete!r}",
            )

    # ---------------------------------------------------------------- interface
    def _decide(self, state: TrialState, now: float | None) -> Decision:
        """TITE-BOIN decision at the current dose at time ``now`` (spec §2.1-2.4)."""
        d = state.current_dose
        assert d is not None  # non-empty state
        counts = state.counts()
        T = float(self.tox_window)
        followups: list[float] = []
        for p in state.patients:
            if p.dose == d and p.tox is None:
                assert now is not None  # Design.check_state requires it with pending outcomes
                followups.append(min(now - p.entry_time, T) / T)
        stft = float(sum(followups))

        def move(dd: int, nn: int, yy: int) -> Move:
            return self._move(dd, nn, yy, len(followups), stft, followups)

        return boin_framework_decision(
            self,
            n=counts.n,
            y=counts.tox,
            current=d,
            prior_eliminated=state.eliminated,
            move=move,
        )

    def _move(self, d: int, n: int, y: int, c: int, stft: float, followups: list[float]) -> Move:
        if c == 0 or n == 0:
            return boin_move(self, d, n, y)
        kw: dict[str, Any] = {
            "target": self.target,
            "lambda_e": self.lambda_e,
            "lambda_d": self.lambda_d,
            "cutoff_eli": self.cutoff_eli,
            "max_pending": self.max_pending,
        }
        fn = imputation_decision if self.form == "imputation" else ess_decision
        res = fn(n, y, c, stft, **kw)
        r = n - c
        values: dict[str, Any] = {
            **boundary_values(self, n, y),
            **{k: v for k, v in res.values.items() if k not in ("c", "r")},
            "form": self.form,
            "pending": c,
            "complete": r,
            "stft": stft,
            "followup_fractions": followups,
        }
        head = (
            f"At dose {d}, {y} DLT(s) among {n} patients, {c} pending "
            f"(STFT = {stft:.3f}, {r} complete)"
        )
        if res.decision == "SUS":
            return Move(
                Action.SUSPEND,
                Reason(
                    "tite_boin.suspend",
                    (
                        f"{head}: more than {self.max_pending:g} of the patients at dose {d} "
                        f"have pending outcomes ({c}/{n}): suspend accrual at dose {d} until "
                        "more outcomes are known."
                    ),
                    {**values, "cause": "max_pending", "max_pending": self.max_pending},
                ),
            )
        if res.rule == "certain_deescalation":
            return Move(
                Action.DEESCALATE,
                Reason(
                    "tite_boin.deescalate",
                    (
                        f"{head}: the observed DLTs alone reach the de-escalation boundary "
                        f"({y} >= {res.values['b_d']}) whatever the pending outcomes: "
                        "de-escalate."
                    ),
                    values,
                ),
            )
        if self.form == "imputation":
            est = (
                f"imputed DLT rate p̃ = {res.values['p_tilde']:.4f} (π̂ = {res.values['pi_hat']:.4f})"
            )
        else:
            est = f"DLT rate y/ESS = {res.values['p_hat']:.4f} (ESS = {res.values['ess']:.3f})"
        bounds = f"λe = {self.lambda_e:.4f}, λd = {self.lambda_d:.4f}"
        if res.decision == "E":
            if self.block_escalation_few_complete and r <= 2:
                return Move(
                    Action.SUSPEND,
                    Reason(
                        "tite_boin.suspend",
                        (
                            f"{head}: {est} <= λe would escalate, but only {r} patient(s) at "
                            f"dose {d} have complete data: suspend accrual until more "
                            "outcomes are known."
                        ),
                        {**values, "cause": "few_complete"},
                    ),
                )
            return Move(
                Action.ESCALATE,
                Reason("tite_boin.escalate", f"{head}: {est} <= λe ({bounds}): escalate.", values),
            )
        if res.decision == "D":
            if self.form == "ess" and d == 1:
                return Move(
                    Action.SUSPEND,
                    Reason(
                        "tite_boin.suspend",
                        (
                            f"{head}: {est} >= λd at the lowest dose: suspend accrual until "
                            "the pending outcomes are known (TITEgBOIN rule)."
                        ),
                        {**values, "cause": "lowest_dose_deescalation"},
                    ),
                )
            return Move(
                Action.DEESCALATE,
                Reason(
                    "tite_boin.deescalate", f"{head}: {est} >= λd ({bounds}): de-escalate.", values
                ),
            )
        if self.form == "imputation" and y / n < self.target:
            why = f"{est} > λe = {self.lambda_e:.4f} (observed rate below the target)"
        elif self.form == "imputation":
            why = f"{est} < λd = {self.lambda_d:.4f} (observed rate at or above the target)"
        else:
            why = f"{est} lies between λe = {self.lambda_e:.4f} and λd = {self.lambda_d:.4f}"
        return Move(
            Action.STAY,
            Reason("tite_boin.stay", f"{head}: {why}: stay at dose {d}.", values),
        )

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """:meth:`_decide` for many trials (:func:`~doseladder.core.designs.arrays.tite_boin.
        decide_tite_boin`; ``data.patients`` holds each trial's decision time)."""
        from doseladder.core.designs.arrays.tite_boin import decide_tite_boin

        return decide_tite_boin(self, data)

    def select(self, state: TrialState) -> Selection:
        """BOIN ``select.mtd`` once every DLT outcome is known (spec §2.2 step 7)."""
        return select_boin_mtd(self, state)

    def select_arrays(self, data: DoseArrays) -> IntArray:
        """:meth:`select` for many trials (:func:`~doseladder.core.designs.arrays.tite_boin.
        select_tite_boin`)."""
        from doseladder.core.designs.arrays.tite_boin import select_tite_boin

        return select_tite_boin(self, data)

    def tables(self, n_max: int | None = None) -> dict[str, pd.DataFrame]:
        """BOIN boundary tables plus ``decision_table`` (:func:`tite_decision_table`) for
        n = cohort multiples up to ``n_max`` (default ``min(max_n, n_earlystop)``)."""
        out = boin_tables(self)
        out["decision_table"] = tite_decision_table(
            target=self.target,
            cohort_size=self.cohort_size,
            n_max=min(self.max_n, self.n_earlystop) if n_max is None else n_max,
            p_saf=self.phi_1,
            p_tox=self.phi_2,
            cutoff_eli=self.cutoff_eli,
            max_pending=self.max_pending,
            form=self.form,
            block_escalation_few_complete=self.block_escalation_few_complete,
        )
        return out

    def describe(self) -> str:
        """Protocol text: the BOIN rules plus the time-to-event rules."""
        text = describe_boin(self, title="TITE-BOIN")
        if self.form == "imputation":
            tite = (
                "Late-onset toxicity is handled by TITE-BOIN (Yuan, Lin, Li, Nie & Warren, "
                "Clin Cancer Res 2018). Each patient's DLT assessment window is "
                f"{self.tox_window:g} time units; a patient whose outcome is not yet known is "
                "pending and contributes the fraction of the window already followed "
                "(capped at 1). At the current dose with n patients, y observed DLTs, c "
                "pending patients and standardized total follow-up time STFT of the pending "
                "patients, the pending outcomes are imputed: π̂ = (y + φ/2)/(n − c + 1) and "
                "p̃ = [y + π̂/(1 − π̂)·(c − STFT)]/n. If the observed DLTs alone reach the "
                "de-escalation boundary, the dose is de-escalated; otherwise, if more than "
                f"{self.max_pending:g} of the patients at the current dose are pending, "
                "accrual is suspended until more outcomes are known; otherwise, if y/n < φ "
                "the dose is escalated when p̃ <= λe (else kept), and if y/n >= φ it is "
                "de-escalated when p̃ >= λd (else kept). Without pending outcomes the rules "
                "are exactly BOIN's."
            )
        else:
            tite = (
                "Late-onset toxicity is handled by the time-to-event BOIN design in its "
                "effective-sample-size form (Lin & Yuan, Biostatistics 2020; as implemented "
                "in the R package TITEgBOIN 0.4.0). Each patient's DLT assessment window is "
                f"{self.tox_window:g} time units. At the current dose the DLT rate is "
                "estimated by y/ESS with ESS = (patients with complete data) + STFT, the "
                "standardized total follow-up time of the pending patients (capped at 1 "
                "each), and compared with λe and λd. If more than "
                f"{self.max_pending:g} of the patients at the current dose are pending, "
                "accrual is suspended; a de-escalation indicated at the lowest dose while "
                "outcomes are pending also suspends accrual. Without pending outcomes the "
                "rules are exactly BOIN's."
            )
        if self.block_escalation_few_complete:
            tite += (
                " In addition, escalation is not allowed while at most 2 patients at the "
                "current dose have complete data and others are pending: accrual is "
                "suspended instead (Lin & Yuan's simulator rule)."
            )
        tite += (
            " Elimination and the safety stopping rules use all treated patients, counting "
            "pending outcomes as no DLT. The MTD is selected after every pending outcome is "
            "complete, by BOIN's select.mtd."
        )
        return f"{text}\n\n{tite}"
