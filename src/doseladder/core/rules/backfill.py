"""Backfill as a protocol rule: BF-BOIN's backfill cohorts switched on for a BOIN protocol.

Source: Zhao, Yuan, Korn & Freidlin, "Backfilling patients in phase I dose-escalation trials
using Bayesian optimal interval design (BOIN)", Clin Cancer Res 2024;30(4):673-9; rules as the
R package bfboin 0.1.1 (``R/bf_boin_oc.R``), written down in the spec ``backfill.md``; the
``min_dose`` option is ``min_backfill_dose`` of the bfboin fork yuxuanchn/bfboin @2871348.

The rule is *not* a second copy of BF-BOIN.  A protocol whose design is BOIN and whose
``rules.backfill`` is enabled decides with the BF-BOIN design built from the BOIN parameters
(:meth:`BackfillRule.design_for`), so every rule below is the one of
:mod:`doseladder.core.designs.bf_boin` (and of its array form):

* while the escalation cohort is in DLT follow-up, escalation waits and arriving patients may
  be treated at a lower dose open for backfill (§4: C1 a response at the dose -- or, with
  ``activity: dose_or_lower``, at or below it --, C2 completed data below the de-escalation
  boundary alone or pooled with the next dose, C3 the cap of ``n_cap`` patients read as
  ``cap_rule`` says); never at an
  eliminated dose, never at an untried dose (C1 needs an escalation patient there), never
  below ``min_dose``;
* backfill patients whose assessment is complete count in every escalation decision, including
  the conflict rule that pools doses and can de-escalate by more than one level (§3);
* ``max_n`` of the BOIN design is the *escalation* sample size; backfill patients come on top
  (the protocol's ``max_total`` caps both); the trial stops as BOIN's stopping rules say, with
  completed backfill data counted (§3, ``n_earlystop``);
* the MTD is BOIN's ``select.mtd`` on escalation plus completed backfill data (§5).

What the rule adds over the design: the patient-level choice of ``min_dose`` and the
indications whose patients may be backfilled (default: the driving indication, or every pooled
indication).  Time-to-event designs (BE-BOIN, spec §8) are not covered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from doseladder.core.designs.backfill_cap import check_cap_rule
from doseladder.core.designs.base import Design, check_int
from doseladder.core.designs.bf_boin import (
    ACTIVITY,
    ASSIGN,
    BFBOIN,
    BackfillTexts,
    assign_backfill,
)
from doseladder.core.designs.boin import BOIN, boin_parameters
from doseladder.core.errors import InputError

__all__ = ["BACKFILL_SOURCE", "BackfillRule", "backfill_choice"]

BACKFILL_SOURCE = (
    "Zhao Y, Yuan Y, Korn EL, Freidlin B. Backfilling patients in phase I dose-escalation "
    "trials using Bayesian optimal interval design (BOIN). Clin Cancer Res 2024;30(4):673-9; "
    "rules as implemented in the R package bfboin 0.1.1"
)


@dataclass(frozen=True)
class BackfillRule:
    """Backfill cohorts for a BOIN protocol (module docstring).

    Attributes:
        n_cap: the cap on patients (escalation plus enrolled backfill, pending included) at a
            backfill dose (bfboin ``n.cap``, default 12).
        cap_rule: how the cap reads (:mod:`doseladder.core.designs.backfill_cap`):
            ``at_most`` (default: never more than ``n_cap`` patients at a dose -- what a
            protocol's "cap of 12" means to sites and a DSMB, and what the conduct service's
            backfill slots enforce) or ``bfboin`` (the R package's test ``<= n_cap`` before
            enrolling, so a dose can reach ``n_cap + 1``; reproduces bfboin's OCs).  The BF-BOIN
            design built from the rule (:meth:`design_for`) carries it, so conduct, simulation
            and the protocol text all follow it.
        assign: which open dose a backfill patient gets: ``highest`` (default), ``lowest`` or
            ``random`` (uniform among the open doses, drawn by the caller).
        activity: condition C1: ``dose`` (a response of an escalation patient at the dose;
            bfboin) or ``dose_or_lower`` (at the dose or any lower dose; simFastBOIN).
        min_dose: lowest 1-based level at which patients may be backfilled (default 1).
        indications: indications whose patients may be backfilled; empty = the driving
            indication (or every pooled indication).
        three_plus_three: at the current dose, 1 DLT in 3 patients means stay (target 0.25;
            bfboin ``three.plus.three``).
    """

    n_cap: int = 12
    cap_rule: str = "at_most"
    assign: str = "highest"
    activity: str = "dose"
    min_dose: int = 1
    indications: tuple[str, ...] = ()
    three_plus_three: bool = False

    def __post_init__(self) -> None:
        check_int("n_cap", self.n_cap, 1)
        check_cap_rule(self.cap_rule)
        if self.assign not in ASSIGN:
            raise InputError("assign", f"must be one of {', '.join(ASSIGN)}, got {self.assign!r}")
        if self.activity not in ACTIVITY:
            raise InputError(
                "activity", f"must be one of {', '.join(ACTIVITY)}, got {self.activity!r}"
            )
        check_int("min_dose", self.min_dose, 1)
        inds = tuple(self.indications)
        object.__setattr__(self, "indications", inds)
        for i, name in enumerate(inds):
            if not isinstance(name, str) or not name.strip():
                raise InputError(f"indications[{i}]", "must be a non-empty indication name")
        if len(set(inds)) != len(inds):
            raise InputError("indications", "an indication is listed twice")
        if not isinstance(self.three_plus_three, bool):
            raise InputError("three_plus_three", "must be true or false")

    def check_plan(
        self,
        design: Design,
        num_doses: int,
        indications: Sequence[str],
        driving: str | None,
    ) -> None:
        """Raise :class:`InputError` when the rule does not fit the plan (field names are
        relative to ``backfill``)."""
        if not isinstance(design, BOIN):
            raise InputError(
                "design",
                f"backfill applies to BOIN protocols (BF-BOIN); the design is {design.name!r} "
                "(time-to-event backfill, BE-BOIN, is not available; a bf-boin design "
                "backfills by itself)",
            )
        if self.min_dose > num_doses:
            raise InputError("min_dose", f"level {self.min_dose} is outside 1..{num_doses}")
        known = tuple(indications)
        for i, name in enumerate(self.indications):
            if known and name not in known:
                raise InputError(
                    f"indications[{i}]", f"unknown indication {name!r}; known: {', '.join(known)}"
                )
            if not known:
                raise InputError(f"indications[{i}]", "the protocol names no indications")
            if driving is not None and name != driving:
                raise InputError(
                    f"indications[{i}]",
                    f"only the driving indication {driving!r} can be backfilled (backfill "
                    "patients' data enter the escalation decisions)",
                )
        self.design_for(design)  # the BF-BOIN parameter checks (cohort size >= 3, ...)

    def design_for(self, design: Design) -> BFBOIN:
        """The BF-BOIN design that decides for a BOIN protocol with this rule."""
        if not isinstance(design, BOIN):
            raise InputError("design", f"backfill applies to BOIN, not {design.name!r}")
        return _bf_design(design, self)

    def allows(self, indication: str | None, driving: str | None, pooled: Sequence[str]) -> bool:
        """Whether a patient of ``indication`` may be backfilled."""
        if self.indications:
            return indication in self.indications or (
                indication is None and driving is not None and driving in self.indications
            )
        if driving is not None:
            return indication is None or indication == driving
        return indication is None or not pooled or indication in pooled

    def texts(self, design: Design, labels: Sequence[str]) -> BackfillTexts:
        """The rule in words: the texts of the BF-BOIN design it decides with
        (:meth:`~doseladder.core.designs.bf_boin.BFBOIN.backfill_texts`, for subjects) plus the
        protocol's ``min_dose`` and backfilled indications -- one source for the protocol text
        and the report flowchart."""
        t = self.design_for(design).backfill_texts("subjects")
        where = f"at or above {labels[self.min_dose - 1]}, {t.conditions[0]}"
        only = (
            f" (only {', '.join(self.indications)} subjects are backfilled)"
            if self.indications
            else ""
        )
        return replace(t, when=t.when + only, conditions=(where, *t.conditions[1:]))

    def describe(self, labels: Sequence[str], design: Design | None = None) -> str:
        """The protocol text of the rule (``design``: the protocol's BOIN design; by default
        one with BOIN's defaults -- the texts do not depend on its boundaries)."""
        base = design if design is not None else BOIN(num_doses=len(labels), target=0.25)
        t = self.texts(base, labels)
        return (
            f"Backfill (BF-BOIN). {t.when}: a dose {', '.join((*t.conditions, t.cap_clause))}; "
            f"{t.assign}; {t.no_slot}. {t.data}; {t.pooling}. The BOIN sample size counts "
            "escalation subjects only; backfill subjects come on top of it."
            + (
                " One DLT in the first 3 subjects at the current dose means stay."
                if self.three_plus_three
                else ""
            )
            + f" Source: {BACKFILL_SOURCE}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_cap": self.n_cap,
            "cap_rule": self.cap_rule,
            "assign": self.assign,
            "activity": self.activity,
            "min_dose": self.min_dose,
            "indications": list(self.indications),
            "three_plus_three": self.three_plus_three,
        }


#: BF-BOIN parameters that come from the rule (the others are the BOIN design's)
_RULE_FIELDS = {
    "n_cap": "n_cap",
    "cap_rule": "cap_rule",
    "backfill_assign": "assign",
    "activity": "activity",
    "three_plus_three": "three_plus_three",
}

_BF_CACHE: dict[tuple[BOIN, BackfillRule], BFBOIN] = {}


def _bf_design(design: BOIN, rule: BackfillRule) -> BFBOIN:
    key = (design, rule)
    got = _BF_CACHE.get(key)
    if got is None:
        try:
            got = BFBOIN(
                **boin_parameters(design),
                n_cap=rule.n_cap,
                cap_rule=rule.cap_rule,
                backfill_assign=rule.assign,
                three_plus_three=rule.three_plus_three,
                activity=rule.activity,
            )
        except InputError as exc:
            field = _RULE_FIELDS.get(exc.field, f"design.{exc.field}")
            raise InputError(field, exc.reason) from None
        if len(_BF_CACHE) > 256:
            _BF_CACHE.clear()
        _BF_CACHE[key] = got
    return got


def backfill_choice(
    open_doses: Sequence[int], assign: str, min_dose: int, closed: frozenset[int]
) -> tuple[tuple[int, ...], int | None]:
    """The open doses (1-based, lowest first) at or above ``min_dose`` and not ``closed``, and
    the dose ``assign`` picks (:func:`~doseladder.core.designs.bf_boin.assign_backfill`;
    ``None`` for ``random``)."""
    kept = tuple(sorted(j for j in open_doses if j >= min_dose and j not in closed))
    return kept, assign_backfill(kept, assign)
