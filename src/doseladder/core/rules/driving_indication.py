"""Driving indication: one cohort drives dose finding; others enrol at confirmed-safe doses.

Source: seed ``000_b1ded836ae083165.txt`` (NCT07143617, STR-P004): "This study will only make
dose escalation and OBD selection decisions based on the safety and efficacy data of SLE-ITP
subjects.  Subjects with other indications will only be enrolled at the confirmed safe dose
level of the SLE-ITP cohort (i.e., based on the DLT rate of the current dose group, the dose
adjustment decision is not to reduce the dose) and will not participate in dose escalation and
OBD selection decisions."  Formalisation: spec ``dose-finding.md`` §5.2 ([A], needs sign-off).

Decisions (parameters of :class:`OtherIndicationPolicy`):

* **Driving data only.**  The design sees only driving-cohort patients (``Patient.indication``
  equal to the driving indication, or ``None``): decisions, admissibility, suspension counts,
  sample-size caps (``max_n``, ``n_stop``, N*) and the OBD.  Other indications never count
  toward them; a trial-wide enrolment cap over all indications is the plan's ``max_total``.
* **Confirmed safe** at dose k means, on driving data at k:
  (a) at least ``min_complete`` (default 3) driving patients at k have a *known* DLT outcome
  (DLT observed or window completed) -- pending outcomes never count;
  (b) the toxicity decision at k on those patients is not de-escalation -- the design's own
  rule (:mod:`doseladder.core.rules.deescalation_verdict`): the DLT rate is below λd (BOIN
  family), fewer than 2 DLTs (3+3), the decision table says E or S (Keyboard, mTPI-2, i3+3),
  or, for the CRM and TITE-CRM, k is at or below the dose the CRM recommends on the driving
  cohort's known outcomes (``crm_rule: recommended``, default) or Pr(p_k > target) is at most
  ``crm_overdose_cutoff`` (``crm_rule: overdose_control``);
  (c) the driving design's current decision is not a toxicity de-escalation *from* k (rules
  ``*.deescalate``, ``*.eliminate``, ``*.too_toxic``, ``*.extrasafe_stop``), and k is not
  eliminated / inadmissible, not closed by the pooled safety monitor, and not above a fallback
  that has fired while the driving cohort stays below the run-in dose.
* **Which dose** (``dose_cap``): ``"driving_current"`` (default; spec §5.2: "assigned the current
  driver dose d if its decision != de-escalate, else the highest dose below d that satisfies
  the condition, else wait") -- the highest confirmed-safe dose at or below the driving cohort's
  current dose; ``"any_confirmed"`` -- the highest confirmed-safe dose.
* **CRM rule** (``crm_rule``, ``crm_overdose_cutoff``): which of the two CRM rules of (b) is
  used (refused for other designs); the reasons for the default are in
  :mod:`~doseladder.core.rules.deescalation_verdict`.
* **Caps**: ``max_n_per_indication`` (optional) per other indication.
* **When the driving cohort stops** for safety (no dose acceptable) other indications close;
  when it stops for its sample size they may still enrol at confirmed-safe doses
  (``continue_after_driving_stop``, default ``True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from doseladder.core.designs.base import Design, check_int
from doseladder.core.errors import InputError
from doseladder.core.rules.deescalation_verdict import (
    CRM_RULES,
    CrmRuleName,
    DeescalationRule,
    deescalation_rule,
)
from doseladder.core.state import Patient

__all__ = [
    "TOXICITY_DEESCALATION_RULES",
    "DoseSafety",
    "DrivingIndication",
    "OtherIndicationPolicy",
    "dose_safety",
]

DoseCap = Literal["driving_current", "any_confirmed"]

#: rule-name suffixes of design decisions that de-escalate because of toxicity
TOXICITY_DEESCALATION_RULES = ("deescalate", "eliminate", "too_toxic", "extrasafe_stop")


@dataclass(frozen=True, slots=True)
class DrivingIndication:
    """The indication whose data alone drive dose finding (seed 000: ``"SLE-ITP"``)."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("driving_indication", "must be a non-empty indication name")

    def is_driving(self, patient: Patient) -> bool:
        """``Patient.indication`` ``None`` counts as the driving indication."""
        return patient.indication is None or patient.indication == self.name

    def describe(self, others: Sequence[str] = ()) -> str:
        other_txt = f" ({', '.join(others)})" if others else ""
        return (
            f"Driving indication: only the data of {self.name} subjects drive dose escalation, "
            "admissibility, accrual suspension, the sample-size limits of the design and the "
            f"final dose selection. Subjects of other indications{other_txt} never count toward "
            "those decisions."
        )


@dataclass(frozen=True, slots=True)
class OtherIndicationPolicy:
    """How non-driving indications are enrolled (module docstring).

    Attributes:
        min_complete: driving patients with a known DLT outcome needed at a dose before it can
            be confirmed safe (default 3).
        dose_cap: ``"driving_current"`` (default) or ``"any_confirmed"``.
        max_n_per_indication: maximum patients per other indication (``None`` = no cap).
        continue_after_driving_stop: whether other indications may still enrol after the
            driving design stopped for its sample size (never after a safety stop).
        crm_rule: CRM / TITE-CRM only: ``"recommended"`` (default) or ``"overdose_control"``
            (:mod:`~doseladder.core.rules.deescalation_verdict`).
        crm_overdose_cutoff: ``"overdose_control"`` only: the bound on Pr(p_k > target)
            (``None`` = 0.25).
    """

    min_complete: int = 3
    dose_cap: DoseCap = "driving_current"
    max_n_per_indication: int | None = None
    continue_after_driving_stop: bool = True
    crm_rule: CrmRuleName = "recommended"
    crm_overdose_cutoff: float | None = None

    def __post_init__(self) -> None:
        check_int("other_indications.min_complete", self.min_complete, 1, 1000)
        if self.dose_cap not in ("driving_current", "any_confirmed"):
            raise InputError(
                "other_indications.dose_cap",
                f"must be 'driving_current' or 'any_confirmed', got {self.dose_cap!r}",
            )
        if self.max_n_per_indication is not None:
            check_int("other_indications.max_n_per_indication", self.max_n_per_indication, 1)
        if not isinstance(self.continue_after_driving_stop, bool):
            raise InputError(
                "other_indications.continue_after_driving_stop", "must be true or false"
            )
        if self.crm_rule not in CRM_RULES:
            raise InputError(
                "other_indications.crm_rule",
                f"must be one of {', '.join(CRM_RULES)}, got {self.crm_rule!r}",
            )
        if self.crm_overdose_cutoff is not None and self.crm_rule != "overdose_control":
            raise InputError(
                "other_indications.crm_overdose_cutoff",
                "applies only with crm_rule: overdose_control",
            )

    def deescalation_rule(self, design: Design) -> DeescalationRule:
        """The rule (b) of the module docstring for ``design``: the design's own toxicity
        decision at a dose, with this policy's CRM options (refused for other designs)."""
        return deescalation_rule(
            design, crm_rule=self.crm_rule, crm_overdose_cutoff=self.crm_overdose_cutoff
        )

    def describe(
        self,
        driving: str = "driving",
        rule_text: str = "the design's own toxicity decision at the dose",
    ) -> str:
        which = (
            "the highest confirmed-safe dose at or below the driving cohort's current dose"
            if self.dose_cap == "driving_current"
            else "the highest confirmed-safe dose"
        )
        cap = (
            f" At most {self.max_n_per_indication} subjects are enrolled per other indication."
            if self.max_n_per_indication is not None
            else ""
        )
        after = (
            " If the driving cohort stops because its sample size is reached, the other "
            "indications may continue at confirmed-safe doses; if it stops for safety, they stop."
            if self.continue_after_driving_stop
            else " When the driving cohort stops, the other indications stop."
        )
        return (
            "Other indications: subjects of other indications are enrolled only at a dose "
            f"confirmed safe in the {driving} cohort, i.e. a dose at which at least "
            f"{self.min_complete} {driving} subjects have a known DLT outcome (pending outcomes "
            f"never count) and the toxicity decision is not to de-escalate ({rule_text}), "
            "that is not eliminated, not closed by the safety monitor, and from which the "
            f"{driving} cohort's current decision is not a de-escalation for toxicity. They are "
            f"offered {which}; if there is none they wait.{cap}{after}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_complete": self.min_complete,
            "dose_cap": self.dose_cap,
            "max_n_per_indication": self.max_n_per_indication,
            "continue_after_driving_stop": self.continue_after_driving_stop,
            "crm_rule": self.crm_rule,
            "crm_overdose_cutoff": self.crm_overdose_cutoff,
        }


@dataclass(frozen=True, slots=True)
class DoseSafety:
    """Confirmed-safe evaluation of one dose on driving data.

    ``n_known`` driving patients have a known DLT outcome, ``dlts`` of them a DLT; ``rate`` =
    dlts / n_known (``None`` without data).  ``confirmed`` is the verdict; ``why`` the first
    reason it fails (``"confirmed"`` when it does not).
    """

    dose: int
    label: str
    n: int
    n_known: int
    dlts: int
    rate: float | None
    confirmed: bool
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "dose": self.dose,
            "label": self.label,
            "n": self.n,
            "n_known": self.n_known,
            "dlts": self.dlts,
            "rate": self.rate,
            "confirmed": self.confirmed,
            "why": self.why,
        }


def dose_safety(
    design: Design,
    labels: Sequence[str],
    driving_patients: Sequence[Patient],
    policy: OtherIndicationPolicy,
    *,
    excluded: dict[int, str] | None = None,
) -> tuple[DoseSafety, ...]:
    """Per-dose confirmed-safe verdicts on the driving cohort's data.

    ``excluded`` maps doses to a reason they cannot be confirmed whatever the data (eliminated,
    closed by the monitor, de-escalated from by the current decision, above a fallback).
    """
    rule = policy.deescalation_rule(design)
    excl = excluded or {}
    n_known: list[int] = []
    y_known: list[int] = []
    at_dose: list[int] = []
    for k in range(1, len(labels) + 1):
        at = [p for p in driving_patients if p.dose == k]
        known = [p for p in at if p.tox is not None]
        at_dose.append(len(at))
        n_known.append(len(known))
        y_known.append(sum(p.tox is True for p in known))
    need = [
        k
        for k in range(1, len(labels) + 1)
        if k not in excl and n_known[k - 1] >= policy.min_complete
    ]
    verdicts = rule.verdicts(n_known, y_known) if need else ()
    out: list[DoseSafety] = []
    for k in range(1, len(labels) + 1):
        n, y = n_known[k - 1], y_known[k - 1]
        rate = y / n if n else None
        if k in excl:
            ok, why = False, excl[k]
        elif n < policy.min_complete:
            ok, why = (
                False,
                f"only {n} driving subject(s) with a known DLT outcome (< {policy.min_complete})",
            )
        else:
            ok, why = verdicts[k - 1].ok, verdicts[k - 1].why
        out.append(DoseSafety(k, labels[k - 1], at_dose[k - 1], n, y, rate, ok, why))
    return tuple(out)
