"""CRM: the continual reassessment method (O'Quigley, Pepe & Fisher 1990) as dfcrm runs it.

Source: R package dfcrm 0.2-2.1 (``cran/dfcrm`` @ 18891cc, ``R/dfcrm.R``; spec
``dose-finding.md`` §6.4).  The model, the Bayesian fit and the recommended dose are
:mod:`doseladder.core.designs.crm_model`; this module adds the trial conduct of
``crmsim(..., restrict = TRUE)`` and the optional safety rules.

Conduct after each cohort at the current dose d (``crmsim``/``mtrials``, one-stage design):

1. Fit the model to every patient (posterior mean â); the model's dose is dfcrm's ``mtd``.
2. ``restrict`` (default true): if the DLT fraction of the last cohort is >= the target, the
   next dose is at most d (coherence: no escalation right after a toxic outcome); otherwise at
   most d + 1 (no skipping).  De-escalation is not restricted.
3. Optional safety rules (not in dfcrm; named options, off by default):
   ``stop_tox_cutoff`` -- stop with no MTD when Pr(p_1 > target | data) > cutoff (the
   lowest dose is too toxic; escalation's ``stop_when_too_toxic(dose = 1, tox_threshold =
   target, confidence = cutoff)``, the posterior probability integrated to 1e-10);
   ``stop_n_mtd`` -- stop when the next dose already has this many patients (escalation's
   ``stop_when_n_at_dose(n, dose = "recommended")``).
4. Stop at ``max_n`` patients.  The final MTD (:meth:`CRM.select`) is dfcrm's ``mtd`` of the
   fit on all data, without restrictions (``finalobj$mtd`` in ``crmsim``).

Decisions beyond dfcrm ([A]): the "last cohort" is the patients sharing the last patient's
cohort number, or (when patients carry no cohort number) the trailing ``(n − 1) mod
cohort_size + 1`` patients; complete data only (pending outcomes suspend accrual, as BOIN);
doses eliminated earlier in the trial (``TrialState.eliminated``) cap the next dose below them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from doseladder.core.decision import Action, Decision, Reason, max_n_reason
from doseladder.core.designs.arrays.interface import ArrayDecision, DoseArrays, IntArray
from doseladder.core.designs.base import Design, check_int, check_prob
from doseladder.core.designs.crm_model import (
    MODELS,
    CrmFit,
    crm_dosescaled,
    crm_fit,
    crm_tail_arrays,
    getprior,
    prob_dose_above,
)
from doseladder.core.errors import InputError
from doseladder.core.selection import DoseEstimate, Selection
from doseladder.core.state import Patient, TrialState

__all__ = ["CRM", "CrmParameters", "crm_selection", "last_cohort"]

_DEFAULT_SD = math.sqrt(1.34)


def last_cohort(patients: tuple[Patient, ...], cohort_size: int) -> tuple[Patient, ...]:
    """The patients of the most recent cohort (see the module docstring)."""
    if not patients:
        return ()
    last = patients[-1].cohort
    if last is not None:
        return tuple(p for p in patients if p.cohort == last)
    k = (len(patients) - 1) % cohort_size + 1
    return patients[-k:]


class CrmParameters:
    """Skeleton and model parameters shared by CRM and TITE-CRM (dfcrm arguments).

    ``skeleton`` (dfcrm ``prior``) or a calibration ``halfwidth`` + ``prior_mtd`` (dfcrm
    ``getprior(halfwidth, target, nu = prior_mtd, nlevel = num_doses, model, intcpt)``);
    ``model`` ``empiric`` | ``logistic``; ``prior_sd`` (``scale``); ``intercept`` (``intcpt``).
    """

    num_doses: int
    target: float
    skeleton: tuple[float, ...] | None
    halfwidth: float | None
    prior_mtd: int | None
    model: str
    prior_sd: float
    intercept: float
    restrict: bool
    stop_tox_cutoff: float | None
    stop_n_mtd: int | None

    @property
    def skeleton_values(self) -> tuple[float, ...]:
        """The skeleton used: given, or calibrated by ``getprior``."""
        if self.skeleton is not None:
            return tuple(float(v) for v in self.skeleton)
        assert self.halfwidth is not None and self.prior_mtd is not None
        return getprior(
            float(self.halfwidth),
            float(self.target),
            int(self.prior_mtd),
            self.num_doses,
            self.model,
            float(self.intercept),
        )

    def _validate_crm(self) -> None:
        check_prob("target", self.target, 0.0, 1.0)
        if self.model not in MODELS:
            raise InputError("model", f"must be one of {', '.join(MODELS)}, got {self.model!r}")
        for name in ("prior_sd", "intercept"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(name, f"must be a finite number, got {v!r}")
        if self.prior_sd <= 0:
            raise InputError("prior_sd", f"must be > 0, got {self.prior_sd!r}")
        if self.skeleton is not None:
            if self.halfwidth is not None or self.prior_mtd is not None:
                raise InputError(
                    "skeleton", "give either skeleton or halfwidth + prior_mtd, not both"
                )
            sk = self.skeleton
            if not isinstance(sk, tuple | list) or len(sk) != self.num_doses:
                raise InputError(
                    "skeleton", f"must be a list of {self.num_doses} probabilities (num_doses)"
                )
            for i, v in enumerate(sk):
                check_prob(f"skeleton[{i + 1}]", v)
            if any(float(b) <= float(a) for a, b in itertools.pairwise(sk)):
                raise InputError("skeleton", "must be strictly increasing")
            object.__setattr__(self, "skeleton", tuple(float(v) for v in sk))
        else:
            if self.halfwidth is None or self.prior_mtd is None:
                raise InputError("skeleton", "required (or a calibration: halfwidth and prior_mtd)")
            check_prob("halfwidth", self.halfwidth)
            check_int("prior_mtd", self.prior_mtd, 1, self.num_doses)
        sk_vals = self.skeleton_values  # validates the calibration
        if not all(0.0 < v < 1.0 for v in sk_vals) or any(
            b <= a for a, b in itertools.pairwise(sk_vals)
        ):
            raise InputError(
                "halfwidth", "the calibrated skeleton is not strictly increasing inside (0, 1)"
            )
        crm_dosescaled(sk_vals, self.model, float(self.intercept))  # logistic: x_j < 0
        if not isinstance(self.restrict, bool):
            raise InputError("restrict", f"must be true or false, got {self.restrict!r}")
        if self.stop_tox_cutoff is not None:
            check_prob("stop_tox_cutoff", self.stop_tox_cutoff)
        if self.stop_n_mtd is not None:
            check_int("stop_n_mtd", self.stop_n_mtd, 1)

    def fit(self, levels: list[int], tox: list[int], weights: list[float] | None = None) -> CrmFit:
        """dfcrm ``crm``/``titecrm`` fit on the given data."""
        return crm_fit(
            self.skeleton_values,
            self.target,
            levels,
            tox,
            weights,
            model=self.model,
            intercept=float(self.intercept),
            scale=float(self.prior_sd),
        )

    def prob_above(
        self,
        dose: int,
        levels: list[int],
        tox: list[int],
        weights: list[float] | None = None,
    ) -> float:
        """Posterior Pr(p_dose > target | data) under this model and prior (dfcrm's fit as in
        :meth:`fit`; :func:`~doseladder.core.designs.crm_model.prob_dose_above`)."""
        return prob_dose_above(
            self.skeleton_values,
            dose,
            self.target,
            levels,
            tox,
            weights,
            model=self.model,
            intercept=float(self.intercept),
            scale=float(self.prior_sd),
        )

    def tail_arrays(
        self,
        n: np.ndarray,
        y: np.ndarray,
        *,
        partial: tuple[np.ndarray, np.ndarray] | None = None,
        above: tuple[int, float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """:meth:`fit` (and, with ``above``, :meth:`prob_above`) for many trials at once
        (:func:`~doseladder.core.designs.crm_model.crm_tail_arrays` under this model and
        prior): posterior means, recommended doses (1-based), tail probabilities or None."""
        return crm_tail_arrays(
            self.skeleton_values,
            self.target,
            n,
            y,
            model=self.model,
            intercept=float(self.intercept),
            scale=float(self.prior_sd),
            partial=partial,
            above=above,
        )

    def fit_values(self, fit: CrmFit) -> dict[str, Any]:
        """JSON values of a fit: ``mtd``, ``ptox`` and the posterior mean of the parameter."""
        return {
            "mtd": fit.mtd,
            "ptox": list(fit.ptox),
            "posterior_mean": fit.estimate,
            "posterior_var": fit.post_var,
            "skeleton": list(self.skeleton_values),
            "model": self.model,
        }


def crm_decision(
    p: CrmParameters,
    state: TrialState,
    fit: CrmFit,
    levels: list[int],
    tox: list[int],
    weights: list[float] | None,
    *,
    max_n: int,
    coherence: bool,
    rule: str,
) -> Decision:
    """The dfcrm conduct around a fit (module docstring, steps 2-4), for CRM and TITE-CRM.

    ``coherence`` applies crmsim's last-cohort rule (TITE-CRM's ``titesim`` only caps at
    d + 1).
    """
    J = p.num_doses
    d = state.current_dose
    assert d is not None
    values = {**p.fit_values(fit), "current_dose": d}
    steps: list[Reason] = []
    eliminated = frozenset(state.eliminated)
    if eliminated:
        eliminated = frozenset(range(min(eliminated), J + 1))

    if p.stop_tox_cutoff is not None:
        prob = p.prob_above(1, levels, tox, weights)
        if prob > p.stop_tox_cutoff:
            return Decision(
                Action.STOP,
                d,
                None,
                Reason(
                    f"{rule}.stop_too_toxic",
                    (
                        f"The lowest dose is too toxic: Pr(DLT rate at dose 1 > {p.target:g} | "
                        f"data) = {prob:.3f} > {p.stop_tox_cutoff:g}: stop the trial; no dose "
                        "is selected."
                    ),
                    {**values, "prob_dose1_above_target": prob, "cutoff": p.stop_tox_cutoff},
                ),
                frozenset(range(1, J + 1)),
            )

    nxt = fit.mtd
    head = (
        f"The {p.model} CRM fit (posterior mean of the parameter {fit.estimate:.4f}) gives "
        f"DLT estimates {', '.join(f'{v:.3f}' for v in fit.ptox)}; the dose closest to the "
        f"target {p.target:g} is dose {fit.mtd}"
    )
    msg = head
    if p.restrict:
        cohort = last_cohort(state.patients, getattr(p, "cohort_size", 1))
        frac = sum(1 for q in cohort if q.tox is True) / len(cohort)
        if coherence and frac >= p.target and nxt > d:
            msg += (
                f"; but the last cohort's DLT fraction {frac:.3f} is >= the target "
                f"(coherence: no escalation after a toxic outcome)"
            )
            nxt = d
        elif nxt > d + 1:
            msg += f"; but doses may not be skipped (at most dose {d + 1})"
            nxt = d + 1
        values["last_cohort_dlt_fraction"] = frac
    if eliminated and nxt >= min(eliminated):
        cap = min(eliminated) - 1
        if cap < 1:
            return Decision(
                Action.STOP,
                d,
                None,
                Reason(
                    f"{rule}.eliminated",
                    "Every dose was eliminated earlier in the trial: stop; no dose is selected.",
                    values,
                ),
                eliminated,
            )
        msg += f"; dose {min(eliminated)} and above are eliminated (at most dose {cap})"
        nxt = cap
    values["next_dose"] = nxt
    if nxt > d:
        action, verb = Action.ESCALATE, f"escalate to dose {nxt}"
    elif nxt < d:
        action, verb = Action.DEESCALATE, f"de-escalate to dose {nxt}"
    else:
        action, verb = Action.STAY, f"stay at dose {d}"
    reason = Reason(f"{rule}.{action.value.replace('-', '')}", f"{msg}: {verb}.", values)
    n_at = sum(1 for q in state.patients if q.dose == nxt)
    total = state.n_patients
    if p.stop_n_mtd is not None and n_at >= p.stop_n_mtd:
        steps.append(reason)
        reason = Reason(
            f"{rule}.stop_n_mtd",
            (
                f"{n_at} patients have been treated at the recommended dose {nxt} "
                f"(stop_n_mtd = {p.stop_n_mtd}): stop the trial and select the MTD."
            ),
            {**values, "n_at_dose": n_at, "stop_n_mtd": p.stop_n_mtd},
        )
        action = Action.STOP
    if action is not Action.STOP and total >= max_n:
        steps.append(reason)
        reason = max_n_reason(total, max_n, nxt, **values)
        action = Action.STOP
    return Decision(action, d, nxt, reason, eliminated, tuple(steps))


def crm_selection(p: CrmParameters, state: TrialState, fit: CrmFit, rule: str) -> Selection:
    """Final MTD = dfcrm's ``mtd`` of the fit on all data; per-dose plug-in estimates."""
    counts = state.counts()
    J = p.num_doses
    ests = tuple(
        DoseEstimate(
            dose=j,
            n=counts.n[j - 1],
            n_tox=counts.tox[j - 1],
            tox_est=fit.ptox[j - 1],
            tox_lower=fit.ptox_lower[j - 1],
            tox_upper=fit.ptox_upper[j - 1],
        )
        for j in range(1, J + 1)
    )
    values = p.fit_values(fit)
    dose: int | None = fit.mtd
    if state.eliminated and fit.mtd >= min(state.eliminated):
        dose = min(state.eliminated) - 1 or None
    if p.stop_tox_cutoff is not None and state.n_patients:
        levels = [q.dose for q in state.patients]
        tox = [1 if q.tox else 0 for q in state.patients]
        prob = p.prob_above(1, levels, tox)
        values["prob_dose1_above_target"] = prob
        if prob > p.stop_tox_cutoff:
            dose = None
    if dose is None:
        message = "No dose is selected: the lowest dose is too toxic."
    else:
        message = (
            f"MTD = dose {dose}: the dose whose plug-in DLT estimate is closest to the target "
            f"{p.target:g} (dfcrm's recommended dose; posterior mean of the parameter "
            f"{fit.estimate:.4f})."
        )
    values["mtd"] = dose
    return Selection(
        "mtd",
        dose,
        Reason(f"{rule}.select", message, values),
        ests,
        details={"ptox": list(fit.ptox), "posterior_mean": fit.estimate},
    )


def describe_crm(p: CrmParameters, *, title: str, extra: str = "", coherence: bool = True) -> str:
    """Protocol text for the CRM rules."""
    sk = ", ".join(f"{v:.4f}" for v in p.skeleton_values)
    if p.skeleton is None:
        calib = (
            f" The skeleton was calibrated by the indifference-interval method of Lee & Cheung "
            f"(2009) (dfcrm getprior) with half-width {p.halfwidth:g} around the target and "
            f"prior MTD at dose {p.prior_mtd}."
        )
    else:
        calib = ""
    model = (
        "the empiric (power) model p_j = s_j^exp(a)"
        if p.model == "empiric"
        else f"the one-parameter logistic model logit p_j = {p.intercept:g} + exp(a)·x_j with "
        f"x_j = logit(s_j) − {p.intercept:g}"
    )
    paras = [
        (
            f"{title} design. Dose finding uses the continual reassessment method (O'Quigley, "
            "Pepe & Fisher, Biometrics 1990) as implemented in the R package dfcrm 0.2-2.1 "
            f"(Cheung 2011). The target DLT rate is {p.target:g}; there are {p.num_doses} dose "
            f"levels with skeleton (prior DLT guesses) {sk}.{calib} The working model is "
            f"{model}, with a normal prior N(0, {p.prior_sd:.4g}²) on a."
        ),
        (
            "After each cohort the parameter is estimated by its posterior mean, computed by "
            "numerical integration, and the DLT rates are estimated by plugging it into the "
            "model. The recommended dose is the dose whose estimate is closest to the target "
            "(the highest dose if every estimate is at or below the target, the lowest if "
            "every estimate is at or above it)."
            + (
                " Dose skipping is not allowed (escalation by at most one level), and "
                "there is no escalation right after a cohort whose DLT fraction is at or above "
                "the target (dfcrm crmsim, restrict = TRUE)."
                if p.restrict and coherence
                else ""
            )
            + extra
        ),
    ]
    if p.stop_tox_cutoff is not None:
        paras.append(
            "Safety: the trial stops with no dose selected if the posterior probability that "
            f"the DLT rate at the lowest dose exceeds {p.target:g} is greater than "
            f"{p.stop_tox_cutoff:g}."
        )
    if p.stop_n_mtd is not None:
        paras.append(
            f"The trial stops early when {p.stop_n_mtd} patients have been treated at the "
            "recommended dose."
        )
    paras.append(
        "At the end of the trial the MTD is the dose recommended by the model fitted to all "
        "patients (without the escalation restrictions)."
    )
    return "\n\n".join(paras)


@dataclass(frozen=True)
class CRM(CrmParameters, Design):
    """CRM with dfcrm semantics (spec §6.4).

    Attributes:
        num_doses, target, cohort_size, max_n, start_dose: common design parameters.
        skeleton: prior DLT guesses (dfcrm ``prior``), strictly increasing; or
        halfwidth, prior_mtd: calibrate the skeleton with ``getprior``.
        model: ``empiric`` (default) or ``logistic``.
        prior_sd: SD of the normal prior on the parameter (dfcrm ``scale``, default √1.34).
        intercept: logistic intercept (dfcrm ``intcpt``, default 3).
        restrict: crmsim's no-skipping and coherence restrictions (default true).
        stop_tox_cutoff: stop if Pr(p_1 > target) exceeds this (off by default).
        stop_n_mtd: stop once the recommended dose has this many patients (off by default).
    """

    name: ClassVar[str] = "crm"
    target_kind: ClassVar[str] = "mtd"

    num_doses: int
    target: float
    skeleton: tuple[float, ...] | None = None
    halfwidth: float | None = None
    prior_mtd: int | None = None
    model: str = "empiric"
    prior_sd: float = _DEFAULT_SD
    intercept: float = 3.0
    cohort_size: int = 3
    max_n: int = 30
    start_dose: int = 1
    restrict: bool = True
    stop_tox_cutoff: float | None = None
    stop_n_mtd: int | None = None

    def __post_init__(self) -> None:
        self._validate_common()
        self._validate_crm()

    def _data(self, state: TrialState) -> tuple[list[int], list[int]]:
        return [q.dose for q in state.patients], [1 if q.tox else 0 for q in state.patients]

    def _decide(self, state: TrialState, now: float | None) -> Decision:
        """dfcrm crmsim conduct on complete data (pending outcomes suspend accrual)."""
        d = state.current_dose
        assert d is not None
        pending = sum(1 for q in state.patients if q.tox is None)
        if pending:
            return Decision(
                Action.SUSPEND,
                d,
                d,
                Reason(
                    "crm.pending",
                    (
                        f"{pending} patient(s) have a pending DLT outcome; the CRM decides on "
                        "complete data only: suspend accrual until every outcome is known."
                    ),
                    {"pending": pending},
                ),
                frozenset(range(min(state.eliminated), self.num_doses + 1))
                if state.eliminated
                else frozenset(),
            )
        levels, tox = self._data(state)
        fit = self.fit(levels, tox)
        return crm_decision(
            self, state, fit, levels, tox, None, max_n=self.max_n, coherence=True, rule="crm"
        )

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """The decision for many trials (:func:`~doseladder.core.designs.arrays.crm.
        decide_crm`)."""
        from doseladder.core.designs.arrays.crm import decide_crm

        return decide_crm(self, data)

    def select_arrays(self, data: DoseArrays) -> IntArray:
        """The selection for many trials (:func:`~doseladder.core.designs.arrays.crm.
        select_crm`)."""
        from doseladder.core.designs.arrays.crm import select_crm

        return select_crm(self, data)

    def select(self, state: TrialState) -> Selection:
        """dfcrm's recommended dose on all (complete) data, with ``ptox`` and â."""
        self.check_state(state, None)
        if state.any_pending():
            raise InputError(
                "state", "DLT outcomes are pending: the MTD is selected once every outcome is known"
            )
        levels, tox = self._data(state)
        return crm_selection(self, state, self.fit(levels, tox), "crm")

    def tables(self) -> dict[str, pd.DataFrame]:
        """The skeleton (and, for the logistic model, the scaled doses)."""
        return {"skeleton": skeleton_table(self)}

    def describe(self) -> str:
        return describe_crm(self, title="CRM")


def skeleton_table(p: CrmParameters) -> pd.DataFrame:
    """One row per dose: skeleton value and dfcrm's scaled dose."""
    sk = p.skeleton_values
    ds = crm_dosescaled(sk, p.model, float(p.intercept))
    return pd.DataFrame(
        {"dose": range(1, len(sk) + 1), "skeleton": list(sk), "dosescaled": [float(v) for v in ds]}
    )
