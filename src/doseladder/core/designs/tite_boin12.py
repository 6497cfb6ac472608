"""TITE-BOIN12: BOIN12 with late-onset toxicity and efficacy (Zhou et al. 2022).

Zhou Y, Lin R, Lee JJ, Li D, Wang L, Li R, Yuan Y.  TITE-BOIN12: A Bayesian phase I/II trial
design to find the optimal biological dose with late-onset toxicity and efficacy.  Stat Med
2022;41:1918-1931.  The paper body was not available; the approximated-likelihood (AL) method
follows the spec (``dose-finding.md`` §4.1-4.4): PKBOIN-12 author code (Sun et al.,
``fun_TITE_PK_update.R``, ``fun_TITE_PKBOIN12.R``, ``fun_TITE_BOIN12dec.R``) and the
mdanderson-stats summary of the paper (``docs/tite-boin12.md``).

At a decision time ``now``, per dose j and endpoint q in {T, E} (spec §4.2):

* pending patients get the follow-up weight w = min(now − entry, A_q)/A_q (uniform event time
  over the assessment window A_q, PKBOIN-12 ``fun_TITE_PK_update.R``);
* ESS_q,j = #observed events + #completed without event + Σ pending w;  p̂_q,j = y_q,j/ESS_q,j
  (MLE, no prior); pending outcomes are never counted as events;
* a pending endpoint is imputed by its conditional event probability
  π = p̂(1 − w)/(1 − p̂·w); toxicity and efficacy are treated as independent;
* x_j = Σ_i expected utility_i / 100 and D_j = 1 − pbeta(u_b/100, α + x_j, β + n_j − x_j) with
  n_j = every patient treated at j (pending included);
* movement compares p̂_T at the current dose with λe/λd and then applies the BOIN12 rules
  (:func:`~doseladder.core.designs.boin12.boin12_next_dose`) unchanged.

With no pending outcome every quantity above equals its BOIN12 counterpart exactly (the
observed part of x_j is computed by the same cell-count formula and the pending part is an
empty sum), so decisions reduce to BOIN12; this is tested.

Decisions on unresolved points (spec §4.2, §4.4, §8):

* Admissibility with pending data -- ``pending_admissibility``: ``"scaled"`` (default; PKBOIN-12
  ``fun_TITE_PKBOIN12dec.R`` / ``TITE_PKBOIN12_one``: compare p̂_T·n_j and p̂_E·n_j with the
  integer elimination boundaries at n_j, i.e. the *scaled counts*; the only author code found)
  or ``"ess"`` (mdanderson-stats: Beta(1 + y, 1 + ESS − y) posteriors with the BOIN12 cut-offs,
  at least 3 patients and, for toxicity, at least 3 observed DLTs).  The paper's supplement S7
  was not read by any source.
* Zero information: ESS = 0 at the current dose makes the MLE undefined -> accrual is
  suspended (mdanderson-stats).  At other doses the imputation falls back to PKBOIN-12's initial
  values p̂_T = φT/2, p̂_E = φE, and no elimination is possible without information.
* Suspension (spec §4.4, paper §2.2.3): accrual is suspended when *more than* ``max_pending``
  (default one half) of the patients at the current dose have a pending toxicity **or** a
  pending efficacy outcome (exactly one half is allowed).  It is checked before the dose rules;
  a suspension records the doses inadmissible on the current data, as the rules would.
  Option ``deescalate_on_observed``: when the observed toxicities at the current dose alone
  reach λd (y/n >= λd, pending patients counted toxicity-free) the rules are applied at once
  (they de-escalate) instead of suspending.  Once ``max_n`` patients are enrolled the
  trial stops instead (no further accrual to suspend); the final OBD is selected by
  :meth:`BOIN12.select` after every patient's outcomes are complete (spec §4.4).
* The paper's illustrative trial (Table 2) keeps dose 3 on day 315 although the AL estimate
  p̂_T = 3/7 >= λd implies de-escalation (spec §4.5, an open discrepancy); this implementation
  de-escalates, as the AL rule says.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from doseladder.core.decision import Action, Decision, Reason
from doseladder.core.designs.arrays.interface import ArrayDecision, DoseArrays
from doseladder.core.designs.base import check_int, check_prob
from doseladder.core.designs.boin12 import (  # the type names resolve the inherited fields
    BOIN12,
    AdmissibilityMode,  # noqa: F401
    DoseSummary,
    NStopDose,  # noqa: F401
    ObdStatistic,  # noqa: F401
    TieRule,  # noqa: F401
    Utilities,  # noqa: F401
    cell_counts,
    describe_boin12_paragraphs,
    desirability,
    elimination_flags,
    expected_utility,
    prob_eff_below,
    prob_tox_above,
    quasi_events,
)
from doseladder.core.errors import InputError
from doseladder.core.state import Patient, TrialState

__all__ = [
    "TITEBOIN12",
    "al_summary",
    "follow_up_weight",
    "follow_up_weights",
    "impute",
    "impute_values",
]

FloatArray = NDArray[np.float64]

PendingAdmissibility = Literal["scaled", "ess"]


def follow_up_weight(entry_time: float, now: float, window: float) -> float:
    """w = min(now − entry, A)/A for a pending patient (uniform event time over the window)."""
    return float(follow_up_weights(entry_time, now, window))


def follow_up_weights(entry_time: ArrayLike, now: ArrayLike, window: float) -> FloatArray:
    """:func:`follow_up_weight` elementwise on arrays (same operations)."""
    follow = np.maximum(np.asarray(now) - np.asarray(entry_time), 0.0)
    return np.asarray(np.minimum(follow, window) / window, dtype=np.float64)


def impute(p_hat: float, weight: float) -> float:
    """Conditional event probability of a pending endpoint: p̂(1 − w)/(1 − p̂·w) (spec §4.2)."""
    return float(impute_values(p_hat, weight))


def impute_values(p_hat: ArrayLike, weight: ArrayLike) -> FloatArray:
    """:func:`impute` elementwise on arrays (same operations; 0/0 gives NaN, no warning)."""
    p, w = np.asarray(p_hat), np.asarray(weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(p * (1.0 - w) / (1.0 - p * w), dtype=np.float64)


@dataclass(frozen=True)
class TITEBOIN12(BOIN12):
    """TITE-BOIN12 (Zhou et al. 2022), approximated-likelihood method.

    All BOIN12 parameters, plus:

    Attributes:
        tox_window: toxicity (DLT) assessment window A_T (> 0, same unit as entry times).
        eff_window: efficacy assessment window A_E (> 0).
        max_pending: suspend accrual when more than this fraction of the patients at the current
            dose have a pending toxicity or efficacy outcome (default 0.5 = "more than half").
        pending_admissibility: ``"scaled"`` (PKBOIN-12) or ``"ess"``; see the module docstring.
        deescalate_on_observed: when accrual would be suspended but the observed toxicities
            at the current dose alone reach the de-escalation boundary (y_d/n_d >= λd, every
            pending patient counted as toxicity-free), apply the rules at once -- which then
            de-escalate, since y_d/ESS_d >= y_d/n_d -- instead of suspending (default
            ``False``: suspend, as the paper).
    """

    name: ClassVar[str] = "tite-boin12"
    time_to_event: ClassVar[bool] = True

    tox_window: float = field(kw_only=True)
    eff_window: float = field(kw_only=True)
    max_pending: float = 0.5
    pending_admissibility: PendingAdmissibility = "scaled"
    deescalate_on_observed: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("tox_window", "eff_window"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise InputError(name, f"must be a finite number > 0, got {value!r}")
        check_prob("max_pending", self.max_pending, 0.0, 1.0, open_lo=False, open_hi=False)
        if self.pending_admissibility not in ("scaled", "ess"):
            raise InputError(
                "pending_admissibility",
                f"must be one of 'scaled', 'ess', got {self.pending_admissibility!r}",
            )
        if not isinstance(self.deescalate_on_observed, bool):
            raise InputError(
                "deescalate_on_observed",
                f"must be true or false, got {self.deescalate_on_observed!r}",
            )

    # ---------------------------------------------------------------- interface
    def _decide(self, state: TrialState, now: float | None) -> Decision:
        """TITE-BOIN12 decision at time ``now`` (suspension, then the BOIN12 rules).

        A suspension records the doses that are inadmissible on the current data (as a
        decision by the rules would, ``admissibility="permanent"``); with
        ``deescalate_on_observed`` the rules are applied instead of suspending when the
        observed toxicities at the current dose alone reach λd.
        """
        d = state.current_dose
        assert d is not None
        summary = al_summary(self, state, now)
        counts = state.counts()
        n_d = counts.n[d - 1]
        total = sum(counts.n)
        recorded = self._recorded(state, self._eliminated(state, summary))
        observed_deesc = (
            self.deescalate_on_observed and n_d > 0 and counts.tox[d - 1] / n_d >= self.lambda_d
        )
        if n_d > 0 and total < self.max_n and not observed_deesc:
            pt, pe = counts.tox_pending[d - 1], counts.eff_pending[d - 1]
            values: dict[str, Any] = {
                "dose": d,
                "n": n_d,
                "pending_tox": pt,
                "pending_eff": pe,
                "max_pending": self.max_pending,
                "now": now,
            }
            if pt / n_d > self.max_pending or pe / n_d > self.max_pending:
                return Decision(
                    Action.SUSPEND,
                    d,
                    d,
                    Reason(
                        "tite_boin12.suspend",
                        (
                            f"At dose {d}, {pt} of {n_d} patients have a pending toxicity and "
                            f"{pe} a pending efficacy outcome: more than {self.max_pending:g} "
                            "of the patients are pending, so accrual is suspended until more "
                            "outcomes are known."
                        ),
                        values,
                    ),
                    recorded,
                )
            ess_t = summary.extra["ess_tox_by_dose"][d - 1]
            ess_e = summary.extra["ess_eff_by_dose"][d - 1]
            if ess_t == 0 or ess_e == 0:
                return Decision(
                    Action.SUSPEND,
                    d,
                    d,
                    Reason(
                        "tite_boin12.no_information",
                        (
                            f"At dose {d} the effective sample size is zero (toxicity ESS "
                            f"{ess_t:g}, efficacy ESS {ess_e:g}): the estimate is undefined, "
                            "so accrual is suspended until follow-up accrues."
                        ),
                        {**values, "ess_tox": ess_t, "ess_eff": ess_e},
                    ),
                    recorded,
                )
        return self._conclude(state, summary)

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """:meth:`_decide` for many trials (:func:`~doseladder.core.designs.arrays.tite_boin12.
        decide_tite_boin12`; ``data.patients`` holds each trial's decision time)."""
        from doseladder.core.designs.arrays.tite_boin12 import decide_tite_boin12

        return decide_tite_boin12(self, data)

    def tables(self, rds_sample_sizes: Sequence[int] | None = None) -> dict[str, pd.DataFrame]:
        """BOIN12's tables plus ``pending_decisions`` (:meth:`pending_table`)."""
        out = super().tables(rds_sample_sizes)
        out["pending_decisions"] = self.pending_table()
        return out

    def pending_table(self, cohorts: int = 2, followed: float = 0.5) -> pd.DataFrame:
        """Decisions by observed and pending counts, taken by :meth:`decide` itself.

        The situation tabulated: every patient so far is at the start dose (the first
        ``cohorts`` cohorts); ``n`` patients, of whom ``pending`` have both outcomes pending
        after following ``followed`` of the toxicity window (so a fraction
        ``followed · tox_window / eff_window`` of the efficacy window), and among the others
        ``dlt`` observed DLTs and ``responses`` observed responses (any overlap: a patient with
        both counts as ``B``, listed with DLTs first).  Columns: the decision and next dose.
        """
        check_int("cohorts", cohorts, 1, 4)
        check_prob("followed", followed, 0.0, 1.0, open_lo=False)
        d = self.start_dose
        now = float(self.tox_window)
        entry_pending = now - followed * float(self.tox_window)
        rows: list[dict[str, Any]] = []
        for n in range(self.cohort_size, self.cohort_size * cohorts + 1, self.cohort_size):
            for pending in range(n + 1):
                done = n - pending
                for dlt in range(done + 1):
                    for resp in range(done + 1):
                        pts = []
                        for i in range(done):
                            pts.append(Patient(d, 0.0, tox=i < dlt, eff=i >= done - resp, cohort=0))
                        pts += [
                            Patient(d, entry_pending, tox=None, eff=None, cohort=1)
                            for _ in range(pending)
                        ]
                        state = TrialState(self.num_doses, tuple(pts))
                        dec = self.decide(state, now if pending else None)
                        rows.append(
                            {
                                "n": n,
                                "pending": pending,
                                "dlt": dlt,
                                "responses": resp,
                                "decision": dec.action.value,
                                "next_dose": dec.next_dose,
                                "rule": dec.reason.rule,
                            }
                        )
        frame = pd.DataFrame(rows)
        frame["next_dose"] = frame["next_dose"].astype("Int64")
        return frame

    def describe(self) -> str:
        """Protocol text for TITE-BOIN12 with the numbers of this design."""
        paras = [
            para.replace(
                "with p̂ the observed toxicity rate at the current dose d",
                "with p̂ the estimated toxicity rate (observed toxicities divided by the "
                "toxicity effective sample size) at the current dose d",
            )
            for para in describe_boin12_paragraphs(self)
        ]
        paras[0] = paras[0].replace(
            "Dose finding uses the BOIN12 design",
            "Dose finding uses the TITE-BOIN12 design (Zhou Y, Lin R, Lee JJ, Li D, Wang L, "
            "Li R, Yuan Y. TITE-BOIN12: A Bayesian phase I/II trial design to find the optimal "
            "biological dose with late-onset toxicity and efficacy. Stat Med "
            "2022;41:1918-1931), the time-to-event extension of the BOIN12 design",
            1,
        )
        paras.insert(
            3,
            (
                f"Late-onset outcomes: toxicity is assessed over {self.tox_window:g} and efficacy "
                f"over {self.eff_window:g} time units after treatment, and the next cohort may "
                "be treated before every outcome is known (approximated-likelihood method). A "
                "patient still in follow-up contributes the fraction of the window completed "
                "to the effective sample size of each endpoint; the toxicity and efficacy "
                "rates at a dose are estimated as observed events divided by the effective "
                "sample size, and each pending outcome is imputed by its probability of still "
                "occurring, p(1 − w)/(1 − p·w) with w the fraction of the window completed. "
                "The desirability uses these imputed outcomes and every treated patient; the "
                "movement rules use the estimated toxicity rate. Admissibility with pending "
                + (
                    "outcomes compares the estimated rates times the number of treated "
                    "patients with the boundaries above."
                    if self.pending_admissibility == "scaled"
                    else "outcomes uses Beta(1 + events, 1 + effective sample size − events) "
                    "posteriors."
                )
                + f" Accrual is suspended while more than {self.max_pending:g} of the patients "
                "at the current dose have a pending toxicity or efficacy outcome. After the "
                "last patient every outcome is followed to completion and the OBD is selected "
                "on complete data as in BOIN12."
            ),
        )
        return "\n\n".join(paras)


def _endpoint_prob(observed: bool | None, weight: float, p_hat: float) -> float:
    """Event probability of one endpoint: 0/1 when observed, else the imputation π."""
    if observed is None:
        return impute(p_hat, weight)
    return 1.0 if observed else 0.0


def al_summary(design: TITEBOIN12, state: TrialState, now: float | None) -> DoseSummary:
    """Per-dose AL statistics at time ``now`` as a BOIN12 :class:`DoseSummary` (spec §4.2).

    ``extra`` carries the per-dose ESS, MLEs and pending counts for the reason values.
    """
    J = state.num_doses
    counts = state.counts()
    cells = cell_counts(state.patients, J)
    # per dose: number with an observed outcome and the pending weights, per endpoint
    obs_t, obs_e = [0] * J, [0] * J
    w_t: list[list[float]] = [[] for _ in range(J)]
    w_e: list[list[float]] = [[] for _ in range(J)]
    # patients with at least one pending endpoint: (tox, w_tox, eff, w_eff)
    pend: list[list[tuple[bool | None, float, bool | None, float]]] = [[] for _ in range(J)]
    for p in state.patients:
        k = p.dose - 1
        wt = we = 0.0
        if p.tox is None:
            assert now is not None  # Design.check_state requires it
            wt = follow_up_weight(p.entry_time, now, design.tox_window)
            w_t[k].append(wt)
        else:
            obs_t[k] += 1
        if p.eff is None:
            assert now is not None
            we = follow_up_weight(p.entry_time, now, design.eff_window)
            w_e[k].append(we)
        else:
            obs_e[k] += 1
        if p.tox is None or p.eff is None:
            pend[k].append((p.tox, wt, p.eff, we))
    ess_t = [float(obs_t[k]) + math.fsum(w_t[k]) for k in range(J)]
    ess_e = [float(obs_e[k]) + math.fsum(w_e[k]) for k in range(J)]
    p_t = [counts.tox[k] / ess_t[k] if ess_t[k] > 0 else None for k in range(J)]
    p_e = [counts.eff[k] / ess_e[k] if ess_e[k] > 0 else None for k in range(J)]

    x: list[float] = []
    for k in range(J):
        ptk, pek = p_t[k], p_e[k]
        pt = ptk if ptk is not None else design.phi_t / 2.0
        pe = pek if pek is not None else design.phi_e
        contrib: list[float] = []
        for tox, wt, eff, we in pend[k]:
            pi_t = _endpoint_prob(tox, wt, pt)
            pi_e = _endpoint_prob(eff, we, pe)
            contrib.append(expected_utility(pi_t, pi_e, design.utilities) / 100.0)
        base = quasi_events(cells[k], design.utilities)
        x.append(base + math.fsum(contrib) if contrib else base)

    dvals = tuple(
        desirability(x[k], counts.n[k], design.u_b, design.prior_alpha, design.prior_beta)
        for k in range(J)
    )
    tox_fail: list[bool] = []
    eff_fail: list[bool] = []
    for k in range(J):
        n, yt, ye = counts.n[k], counts.tox[k], counts.eff[k]
        if design.pending_admissibility == "scaled":
            st = yt * n / ess_t[k] if ess_t[k] > 0 else 0.0
            se = ye * n / ess_e[k] if ess_e[k] > 0 else math.inf
            tf, ef = elimination_flags(
                n, st, se, design.phi_t, design.phi_e, design.c_t, design.c_e
            )
        else:
            tf = (
                n >= 3
                and yt >= 3
                and ess_t[k] > 0
                and prob_tox_above(yt, ess_t[k], design.phi_t) >= design.c_t
            )
            ef = (
                n >= 3 and ess_e[k] > 0 and prob_eff_below(ye, ess_e[k], design.phi_e) >= design.c_e
            )
        tox_fail.append(tf)
        eff_fail.append(ef)

    extra: dict[str, list[Any]] = {
        "ess_tox_by_dose": ess_t,
        "ess_eff_by_dose": ess_e,
        "p_hat_tox_by_dose": list(p_t),
        "p_hat_eff_by_dose": list(p_e),
        "pending_tox_by_dose": list(counts.tox_pending),
        "pending_eff_by_dose": list(counts.eff_pending),
    }
    return DoseSummary(
        n=counts.n,
        n_tox=counts.tox,
        n_eff=counts.eff,
        p_tox=tuple(p_t),
        x=tuple(x),
        desirability=dvals,
        tox_fail=tuple(tox_fail),
        eff_fail=tuple(eff_fail),
        extra=extra,
    )
