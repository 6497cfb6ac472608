"""Sticky stops: once a recorded decision has stopped a cohort, it stays stopped.

The core's designs are stateless apart from eliminated doses, so after a stop they may say
"enrol" again as outcomes arrive or data are corrected (e.g. TITE-BOIN's ``n_earlystop`` once
pending outcomes resolve).  A trial that stopped does not restart by itself: a *stop* is a
recorded ``design`` decision with status ``closed`` (the design or the plan ended accrual);
once recorded, later recommendations of the indications it applies to are ``closed`` with rule
:data:`STOPPED_RULE` until an authorised user records an override for that indication.  Spec
``dose-finding.md`` §5 (a stopped design is not re-opened by the software; ICH E9 on
pre-specified stopping rules).

A stop applies to:

* its own decision key (the indication, or the pooled cohort ``None``);
* every indication when it is the trial-wide cap (``plan.max_total_reached``);
* the other indications when it is the driving indication's and the core's policy closes them
  (the design stopped with no acceptable dose, or ``continue_after_driving_stop`` is false);

unless an override was recorded for the indication after it (and, for a stop of another key,
unless that key's own later override lifted it).  The earliest stop in force is cited.
Decisions that only restate a stop (rule :data:`STOPPED_RULE`) are not stops themselves, and
``wait`` decisions are never sticky.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "STOPPED_RULE",
    "TRIAL_WIDE_RULES",
    "RecordedDecision",
    "describe_sticky_stops",
    "driving_stop_closes_others",
    "is_stop",
    "stop_message",
    "stops_in_force",
]

#: rule of a recommendation kept ``closed`` by a recorded stopping decision
STOPPED_RULE = "conduct.stopped"
#: plan rules that close every indication (trial-wide cap)
TRIAL_WIDE_RULES = frozenset({"plan.max_total_reached"})


@dataclass(frozen=True, slots=True)
class RecordedDecision:
    """What the stop rule needs from one recorded decision.

    Attributes:
        id / seq: the decision's id and sequence number within the trial.
        indication: its decision key (``None``: the pooled cohort).
        source: ``design`` or ``override``.
        status: ``enrol`` / ``wait`` / ``closed``.
        rule / message: the rule that decided and its reason.
        decision_time: ISO text of the decision time (cited).
        closes_others: for a driving indication's stop, whether the core's policy closes the
            other indications (:func:`driving_stop_closes_others`).
    """

    id: int
    seq: int
    indication: str | None
    source: str
    status: str
    rule: str
    message: str
    decision_time: str | None = None
    closes_others: bool = False


def is_stop(decision: RecordedDecision) -> bool:
    """Whether a recorded decision is a stop (a closed design decision, not a restatement)."""
    return (
        decision.source == "design"
        and decision.status == "closed"
        and decision.rule != STOPPED_RULE
    )


def driving_stop_closes_others(
    driving_decision: Mapping[str, Any] | None, continue_after_driving_stop: bool
) -> bool:
    """Whether a driving indication's recorded stop closes the other indications.

    ``driving_decision``: the plan's ``driving_decision`` as recorded (``action``,
    ``next_dose``).  A stop with no acceptable dose always closes them; a stop for the sample
    size only when ``continue_after_driving_stop`` is false.
    """
    if not isinstance(driving_decision, Mapping) or driving_decision.get("action") != "stop":
        return False
    return driving_decision.get("next_dose") is None or not continue_after_driving_stop


def stops_in_force(
    decisions: Sequence[RecordedDecision],
    keys: Sequence[str | None],
    driving: str | None,
) -> tuple[dict[str, Any], ...]:
    """The stops in force, one per decision key they close (see the module docstring).

    Args:
        decisions: the trial's recorded decisions, in ``seq`` order.
        keys: the decision keys (indications, or ``(None,)`` for a pooled cohort).
        driving: the driving indication (``None`` if there is none).

    Returns:
        dicts ``applies_to``, ``scope`` (``own`` / ``trial`` / ``driving``), ``decision_id``,
        ``seq``, ``indication``, ``rule``, ``message``, ``decision_time``.
    """
    lifted: dict[str | None, int] = {}
    for d in decisions:
        if d.source == "override":
            lifted[d.indication] = d.seq
    stops = [d for d in decisions if is_stop(d)]
    out: list[dict[str, Any]] = []
    for key in keys:
        for d in stops:
            if d.seq <= lifted.get(key, 0):
                continue
            if d.indication == key:
                scope = "own"
            elif d.seq <= lifted.get(d.indication, 0):
                continue  # lifted by an override of its own key
            elif d.rule in TRIAL_WIDE_RULES:
                scope = "trial"
            elif (
                driving is not None
                and key != driving
                and d.indication == driving
                and d.closes_others
            ):
                scope = "driving"
            else:
                continue
            out.append(
                {
                    "applies_to": key,
                    "scope": scope,
                    "decision_id": d.id,
                    "seq": d.seq,
                    "indication": d.indication,
                    "rule": d.rule,
                    "message": d.message,
                    "decision_time": d.decision_time,
                }
            )
            break
    return tuple(out)


def stop_message(stop: Mapping[str, Any], status: str, dose_label: str | None, rule: str) -> str:
    """The reason given while a stop keeps an indication closed, citing the stop and what the
    rules would give now (``status`` at ``dose_label`` by ``rule``)."""
    where = f" ({stop['indication']})" if stop["indication"] is not None else ""
    lead = {
        "own": "Enrolment was stopped by",
        "trial": "The trial-wide enrolment cap was reached at",
        "driving": "The driving indication's cohort stopped at",
    }[stop["scope"]]
    now_txt = status + (f" at {dose_label}" if dose_label else "")
    return (
        f"{lead} recorded decision #{stop['decision_id']} (seq {stop['seq']}{where}, "
        f"{stop['rule']}: {stop['message']}) -- enrolment stays closed until an authorised "
        f"user records an override. With the data now the rules would give {now_txt} "
        f"({rule})."
    )


def describe_sticky_stops() -> str:
    """The rule as protocol text."""
    return (
        "Once a decision that stops enrolment (the design's stopping rule, the maximum sample "
        "size, or the trial-wide cap) has been recorded, enrolment of the indications it "
        "applies to stays closed, whatever later data show, until an authorised user records "
        "an override with a reason. (doseladder spec dose-finding.md §5.)"
    )
