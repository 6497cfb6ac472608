"""Ascertainment: whether a patient's toxicity and efficacy outcomes are known or pending.

A dose-finding design decides on binary outcomes; in a running trial each outcome is either
*known* (observed, or ruled out) or *pending*.  These functions state, from what has been
recorded for one patient, which it is at a given decision time.  They hold the rule; the
conduct layer only gathers the records (days counted from the patient's infusion) and asks.

Toxicity (DLT), spec ``dose-finding.md`` §5 and ``clinical.md`` §3 (the DLT observation window):

* ``True`` at the earliest adjudicated DLT (time = days from infusion to onset, at least 0 and
  at most the follow-up);
* otherwise *pending* while the patient has not been infused, or while an adverse event flagged
  as a possible DLT awaits adjudication -- even after the window has ended;
* otherwise ``False`` once a window-completion adjudication says "no DLT", or once the DLT
  window has elapsed;
* otherwise *pending* (still within the window).

Efficacy (designs that use it), with non-responder imputation as usual in lupus trials
(spec ``clinical.md`` §4):

* ``True`` at the first responder assessment within ``[0, window]`` days of infusion;
* otherwise *pending* while the patient has not been infused;
* otherwise ``False`` after a final non-responder assessment, or once the efficacy window has
  elapsed without a response;
* otherwise *pending*.

The same rule is the one TITE designs use (Yuan, Lin, Li, Nie and Warren 2018, TITE-BOIN:
pending patients contribute their follow-up) and complete-data designs wait on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from doseladder.core.errors import InputError

__all__ = [
    "Ascertained",
    "OutcomeStatus",
    "ascertain_efficacy",
    "ascertain_toxicity",
    "describe_ascertainment",
]


class OutcomeStatus(StrEnum):
    """Why an outcome is known or pending."""

    #: observed (a DLT, a response) or ruled out (window elapsed, final assessment)
    KNOWN = "known"
    #: the patient has not been infused yet
    NOT_INFUSED = "not_infused"
    #: a possible DLT awaits adjudication (the window may have ended)
    AWAITING_ADJUDICATION = "awaiting_adjudication"
    #: the observation window is still running
    IN_WINDOW = "in_window"


@dataclass(frozen=True, slots=True)
class Ascertained:
    """An outcome at a decision time.

    Attributes:
        value: ``True`` / ``False`` when known, ``None`` when pending.
        time: days from infusion to the event (``True`` only), else ``None``.
        status: why it is known or pending.
    """

    value: bool | None
    time: float | None
    status: OutcomeStatus

    @property
    def pending(self) -> bool:
        return self.value is None


def _check_days(name: str, value: float) -> float:
    v = float(value)
    if v != v:  # NaN
        raise InputError(name, "must be a number")
    return v


def ascertain_toxicity(
    *,
    infused: bool,
    followup: float,
    window: float,
    dlt_onsets: Sequence[float] = (),
    awaiting_adjudication: int = 0,
    window_completed: bool = False,
) -> Ascertained:
    """The DLT outcome of one patient (see the module docstring).

    Args:
        infused: whether the patient has been infused.
        followup: days from infusion (or entry) to the decision time, ``>= 0``.
        window: the DLT observation window in days.
        dlt_onsets: days from infusion to the onset of each adjudicated DLT.
        awaiting_adjudication: adverse events flagged as possible DLTs not yet adjudicated.
        window_completed: a window-completion adjudication recorded "no DLT".
    """
    fu = _check_days("followup", followup)
    win = _check_days("window", window)
    if dlt_onsets:
        first = max(0.0, min(float(d) for d in dlt_onsets))
        return Ascertained(True, min(first, fu), OutcomeStatus.KNOWN)
    if not infused:
        return Ascertained(None, None, OutcomeStatus.NOT_INFUSED)
    if awaiting_adjudication > 0:
        return Ascertained(None, None, OutcomeStatus.AWAITING_ADJUDICATION)
    if window_completed or fu >= win:
        return Ascertained(False, None, OutcomeStatus.KNOWN)
    return Ascertained(None, None, OutcomeStatus.IN_WINDOW)


def ascertain_efficacy(
    *,
    infused: bool,
    followup: float,
    window: float,
    response_days: Sequence[float] = (),
    final_non_response: bool = False,
) -> Ascertained:
    """The efficacy outcome of one patient (see the module docstring).

    Args:
        infused: whether the patient has been infused.
        followup: days from infusion to the decision time.
        window: the efficacy window in days.
        response_days: days from infusion of each responder assessment (those outside
            ``[0, window]`` do not count).
        final_non_response: a final assessment recorded the patient as a non-responder.
    """
    fu = _check_days("followup", followup)
    win = _check_days("window", window)
    within = [float(d) for d in response_days if 0 <= d <= win] if infused else []
    if within:
        return Ascertained(True, min(max(0.0, min(within)), fu), OutcomeStatus.KNOWN)
    if not infused:
        return Ascertained(None, None, OutcomeStatus.NOT_INFUSED)
    if final_non_response or fu >= win:
        return Ascertained(False, None, OutcomeStatus.KNOWN)
    return Ascertained(None, None, OutcomeStatus.IN_WINDOW)


def describe_ascertainment(dlt_window: float, efficacy_window: float | None = None) -> str:
    """The rule as protocol text."""
    text = (
        f"A patient's DLT outcome is known once a DLT is adjudicated, or once the {dlt_window:g}-"
        "day DLT window has elapsed (or its completion is adjudicated) with no possible DLT "
        "awaiting adjudication; until then it is pending, and a possible DLT keeps it pending "
        "after the window until it is adjudicated."
    )
    if efficacy_window is not None:
        text += (
            f" Response is known at the first responder assessment within {efficacy_window:g} "
            "days of infusion, or as non-response after a final non-responder assessment or "
            "once that window has elapsed (non-responder imputation)."
        )
    return text + " (doseladder spec dose-finding.md §5; clinical.md §3-4.)"
