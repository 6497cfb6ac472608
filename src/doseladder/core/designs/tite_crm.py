"""TITE-CRM: the time-to-event CRM (Cheung & Chappell 2000) as dfcrm's ``titecrm`` computes it.

Source: R package dfcrm 0.2-2.1 (``cran/dfcrm`` @ 18891cc, ``R/dfcrm.R``: ``titecrm``,
``titesim``; spec ``dose-finding.md`` §6.4).  Model and fit are shared with the CRM
(:mod:`doseladder.core.designs.crm_model`); a patient whose DLT window is still open enters the
likelihood as ``(1 − w·p)`` with a weight w:

* ``scheme: linear`` -- w = follow-up / ``tox_window``;
* ``scheme: adaptive`` -- the piecewise-linear weight of Cheung & Chappell built on the
  observed DLT times (needs ``tox_time`` for every DLT);

weights are capped at 1 and patients with a DLT always count fully.  Follow-up at the decision
time ``now`` is ``min(now − entry_time, tox_window)``; patients who completed the window
without a DLT have weight 1.

Conduct (``titesim`` with ``restrict = TRUE``): the next patient gets dfcrm's recommended dose,
but never more than one level above the current dose; there is no waiting for pending
outcomes.  The optional stopping rules and ``max_n`` are those of the CRM
(:func:`doseladder.core.designs.crm.crm_decision`).  The final MTD is dfcrm's recommendation
on complete data (all weights 1), as ``titesim``'s ``finalobj``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from doseladder.core.decision import Decision
from doseladder.core.designs.arrays import ArrayDecision, DoseArrays, IntArray
from doseladder.core.designs.base import Design, check_prob
from doseladder.core.designs.crm import (
    CrmParameters,
    crm_decision,
    crm_selection,
    describe_crm,
    skeleton_table,
)
from doseladder.core.designs.crm_model import tite_weights
from doseladder.core.errors import InputError
from doseladder.core.selection import Selection
from doseladder.core.state import TrialState

__all__ = ["TITECRM", "tite_crm_data"]

SCHEMES = ("linear", "adaptive")


def tite_crm_data(
    state: TrialState, now: float | None, tox_window: float, scheme: str
) -> tuple[list[int], list[int], list[float], list[float]]:
    """Levels, DLT indicators, follow-up times and dfcrm weights of every patient at ``now``.

    The adaptive scheme needs the DLT times only to weigh patients still in follow-up: with
    every outcome known (every weight 1) a DLT without a time is accepted.
    """
    need_times = scheme == "adaptive" and any(q.tox is None for q in state.patients)
    levels: list[int] = []
    tox: list[int] = []
    followup: list[float] = []
    for i, q in enumerate(state.patients):
        levels.append(q.dose)
        if q.tox is True:
            tox.append(1)
            if q.tox_time is None:
                if need_times:
                    raise InputError(
                        f"patients[{i}].tox_time",
                        "the adaptive weight scheme needs the time of every DLT",
                    )
                followup.append(tox_window)
            else:
                followup.append(min(float(q.tox_time), tox_window))
        elif q.tox is False:
            tox.append(0)
            followup.append(tox_window)
        else:
            assert now is not None  # Design.check_state requires it with pending outcomes
            tox.append(0)
            followup.append(max(0.0, min(now - q.entry_time, tox_window)))
    weights = list(tite_weights(followup, tox, tox_window, scheme))
    return levels, tox, followup, weights


@dataclass(frozen=True)
class TITECRM(CrmParameters, Design):
    """TITE-CRM with dfcrm ``titecrm`` weights (spec §6.4).

    Attributes: those of :class:`~doseladder.core.designs.crm.CRM`, plus
        tox_window: DLT observation window (dfcrm ``obswin``), same time unit as entry times.
        scheme: ``linear`` (default) or ``adaptive`` weights.
    """

    name: ClassVar[str] = "tite-crm"
    target_kind: ClassVar[str] = "mtd"
    time_to_event: ClassVar[bool] = True

    num_doses: int
    target: float
    tox_window: float
    skeleton: tuple[float, ...] | None = None
    halfwidth: float | None = None
    prior_mtd: int | None = None
    model: str = "empiric"
    prior_sd: float = math.sqrt(1.34)
    intercept: float = 3.0
    scheme: str = "linear"
    cohort_size: int = 1
    max_n: int = 30
    start_dose: int = 1
    restrict: bool = True
    stop_tox_cutoff: float | None = None
    stop_n_mtd: int | None = None

    def __post_init__(self) -> None:
        self._validate_common()
        self._validate_crm()
        check_prob("tox_window", self.tox_window, 0.0, math.inf)
        if self.scheme not in SCHEMES:
            raise InputError("scheme", f"must be linear or adaptive, got {self.scheme!r}")

    def _decide(self, state: TrialState, now: float | None) -> Decision:
        """dfcrm ``titecrm`` fit with the weights at ``now``; ``titesim`` restriction."""
        levels, tox, followup, weights = tite_crm_data(
            state, now, float(self.tox_window), self.scheme
        )
        fit = self.fit(levels, tox, weights)
        dec = crm_decision(
            self,
            state,
            fit,
            levels,
            tox,
            weights,
            max_n=self.max_n,
            coherence=False,
            rule="tite_crm",
        )
        values = dict(dec.reason.values)
        values.update({"weights": list(weights), "followup": followup, "scheme": self.scheme})
        reason = type(dec.reason)(dec.reason.rule, dec.reason.message, values)
        return Decision(
            dec.action, dec.current_dose, dec.next_dose, reason, dec.eliminated, dec.steps
        )

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """The decision for many trials (:func:`~doseladder.core.designs.arrays.tite_crm.
        decide_tite_crm`)."""
        from doseladder.core.designs.arrays.tite_crm import decide_tite_crm

        return decide_tite_crm(self, data)

    def select_arrays(self, data: DoseArrays) -> IntArray:
        """The selection for many trials (:func:`~doseladder.core.designs.arrays.tite_crm.
        select_tite_crm`)."""
        from doseladder.core.designs.arrays.tite_crm import select_tite_crm

        return select_tite_crm(self, data)

    def select(self, state: TrialState) -> Selection:
        """dfcrm's recommendation on complete data (every weight 1)."""
        if isinstance(state, TrialState) and state.any_pending():
            # before check_state, which would ask for a decision time instead
            raise InputError(
                "state", "DLT outcomes are pending: the MTD is selected once every outcome is known"
            )
        self.check_state(state, None)
        levels = [q.dose for q in state.patients]
        tox = [1 if q.tox else 0 for q in state.patients]
        return crm_selection(self, state, self.fit(levels, tox), "tite_crm")

    def tables(self) -> dict[str, pd.DataFrame]:
        """The skeleton (and scaled doses)."""
        return {"skeleton": skeleton_table(self)}

    def describe(self) -> str:
        weights = (
            "the follow-up time divided by the window"
            if self.scheme == "linear"
            else "the adaptive weight of Cheung & Chappell (2000), built on the observed DLT times"
        )
        extra = (
            f" Late toxicities are handled as in the TITE-CRM (Cheung & Chappell, Biometrics "
            f"2000): the DLT window is {self.tox_window:g} time units, and a patient still in "
            f"follow-up contributes to the likelihood with a weight equal to {weights} (at most "
            "1; patients with a DLT count fully). Accrual is not suspended while outcomes are "
            "pending."
        )
        if self.restrict:
            extra += " The next dose is never more than one level above the current dose."
        return describe_crm(self, title="TITE-CRM", extra=extra, coherence=False)
