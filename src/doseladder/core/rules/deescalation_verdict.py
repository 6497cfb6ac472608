"""Is the toxicity decision at a dose *not* de-escalation?  One rule per design family.

Seed 000 (STR-P004) enrols other indications only at a dose "confirmed safe" in the driving
cohort: "based on the DLT rate of the current dose group, the dose adjustment decision is not to
reduce the dose" (:mod:`doseladder.core.rules.driving_indication`; spec ``dose-finding.md``
§5.2).  This module says, for every design, what that decision is on the driving cohort's
patients with a *known* DLT outcome (n per dose, y DLTs among them).  Each rule is written once
here, as a readable scalar verdict with a reason (:meth:`DeescalationRule.verdicts`, used by
:func:`~doseladder.core.rules.driving_indication.dose_safety` and the protocol text) and as an
array verdict for many trials (:meth:`DeescalationRule.verdict_arrays`, used by the protocol
simulator's :func:`~doseladder.simulate.protocol.plan_rules.other_recommendation`); both call
the design's own decision function, and ``tests/core/rules/test_deescalation_verdict.py``
proves them equal (and equal to the design's table) by exact enumeration and random testing.

* **BOIN family** (BOIN, TITE-BOIN, BF-BOIN, BE-BOIN, BOIN12, TITE-BOIN12): the DLT rate y/n is
  below the design's de-escalation boundary λd (Liu & Yuan 2015; BOIN de-escalates when the
  observed rate is >= λd).  For the TITE designs the complete-case rate is at least the TITE
  estimate y/ESS, so it is never less conservative than the design's own movement rule.
* **3+3**: fewer than 2 DLTs (the 3+3 de-escalates / stops at >= 2 DLTs at a dose).
* **Keyboard, mTPI-2, i3+3**: the design's own decision table at (n, y) -- its ``letter(n, y)``
  (:mod:`doseladder.core.designs.interval_rules`) -- is E (escalate) or S (stay), not D or DU.
* **CRM, TITE-CRM**: the CRM has no local boundary; its decision at a dose depends on every
  dose's data through the model.  Two rules (``other_indications.crm_rule``):

  - ``"recommended"`` (default): the dose is at or below the dose the CRM recommends (dfcrm's
    ``mtd``: the dose whose posterior-mean DLT estimate is closest to the target) when the
    model is fitted to the driving cohort's known outcomes.  Reasons: it is the CRM's own
    decision read the way the other designs' rules are -- were k the current dose, the CRM
    would move to its recommended dose, and dfcrm's restrictions (no skipping, coherence) only
    limit *escalation*, so "the decision at k is not de-escalation" is exactly "k <= the
    recommended dose"; it needs no parameter of its own; and it agrees with the driving
    cohort's own dose finding (a dose the driving cohort may be treated at is never refused to
    the others for this reason).
  - ``"overdose_control"``: Pr(p_k > target | data) <= ``crm_overdose_cutoff`` (default
    0.25), the escalation-with-overdose-control criterion (Babb, Rogatko & Zacks, Stat Med
    1998).  Some statisticians prefer it because it accounts for the posterior uncertainty:
    the recommended dose's plug-in estimate can be at the target with a posterior probability
    near 1/2 of being above it.  It is more conservative for small cutoffs.

  Both fit the model to known outcomes only, every patient with full weight (also for the
  TITE-CRM, whose own decisions weight pending patients by follow-up): pending outcomes never
  count toward confirming a dose, as for the other designs, and dropping pending patients
  (who have no DLT so far) can only lower the recommended dose and raise the posterior
  probability of overdosing, never the reverse -- the rule is never less conservative than the
  design's movement rule.

A dose with no known outcome is never "not de-escalation" (the policy's ``min_complete``
requires at least one known outcome anyway).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from doseladder.core.designs.base import Design, check_prob
from doseladder.core.errors import InputError

if TYPE_CHECKING:
    from doseladder.core.designs.crm import CrmParameters
    from doseladder.core.designs.interval_rules import IntervalDesign

__all__ = [
    "CRM_RULES",
    "DEFAULT_OVERDOSE_CUTOFF",
    "DeescalationRule",
    "Verdict",
    "deescalation_rule",
]

CrmRuleName = Literal["recommended", "overdose_control"]
#: the values of ``other_indications.crm_rule`` (the first is the default)
CRM_RULES: tuple[CrmRuleName, ...] = ("recommended", "overdose_control")
#: ``crm_overdose_cutoff`` when not given (EWOC's customary feasibility bound, Babb et al. 1998)
DEFAULT_OVERDOSE_CUTOFF = 0.25

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_NO_DATA = "no driving subject with a known DLT outcome"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict at one dose: ``ok`` = the toxicity decision is not de-escalation; ``why``
    says why not (``"confirmed"`` when ok)."""

    ok: bool
    why: str


class DeescalationRule(ABC):
    """The toxicity decision of one design at every dose, on known outcomes (n, y per dose)."""

    @property
    @abstractmethod
    def text(self) -> str:
        """The rule in words, for the protocol text (completes "the toxicity decision is not to
        de-escalate (...)")."""

    @abstractmethod
    def verdicts(self, n: Sequence[int], y: Sequence[int]) -> tuple[Verdict, ...]:
        """The verdict at doses 1..J, given per dose the known outcomes ``n`` and DLTs ``y``."""

    @abstractmethod
    def verdict_arrays(self, n: IntArray, y: IntArray) -> BoolArray:
        """:meth:`verdicts`' ``ok`` for R trials at once: ``n``, ``y`` and the result are (J, R)
        dose-major arrays."""


def _check_counts(n: Sequence[int], y: Sequence[int]) -> None:
    if len(n) != len(y):
        raise InputError("y", "needs one DLT count per dose (as n)")
    for k, (nk, yk) in enumerate(zip(n, y, strict=True), start=1):
        if not 0 <= yk <= nk:
            raise InputError(f"y[{k}]", f"must be in 0..n = {nk}, got {yk}")


@dataclass(frozen=True, slots=True)
class BoundaryRule(DeescalationRule):
    """BOIN family: y/n < λd."""

    lambda_d: float

    @property
    def text(self) -> str:
        return f"DLT rate below the de-escalation boundary λd = {self.lambda_d:.4f}"

    def verdicts(self, n: Sequence[int], y: Sequence[int]) -> tuple[Verdict, ...]:
        _check_counts(n, y)
        out = []
        for nk, yk in zip(n, y, strict=True):
            if nk == 0:
                out.append(Verdict(False, _NO_DATA))
            elif yk / nk < self.lambda_d:
                out.append(Verdict(True, "confirmed"))
            else:
                out.append(Verdict(False, f"DLT rate {yk}/{nk} >= λd {self.lambda_d:.4f}"))
        return tuple(out)

    def verdict_arrays(self, n: IntArray, y: IntArray) -> BoolArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((n > 0) & ((y / n) < self.lambda_d), dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class ThreePlusThreeRule(DeescalationRule):
    """3+3: fewer than 2 DLTs."""

    @property
    def text(self) -> str:
        return "for the 3+3 design: fewer than 2 DLTs"

    def verdicts(self, n: Sequence[int], y: Sequence[int]) -> tuple[Verdict, ...]:
        _check_counts(n, y)
        return tuple(
            Verdict(False, _NO_DATA)
            if nk == 0
            else Verdict(True, "confirmed")
            if yk < 2
            else Verdict(False, f"{yk} DLTs (3+3 de-escalates at >= 2)")
            for nk, yk in zip(n, y, strict=True)
        )

    def verdict_arrays(self, n: IntArray, y: IntArray) -> BoolArray:
        return np.asarray((n > 0) & (y < 2), dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class IntervalTableRule(DeescalationRule):
    """Keyboard, mTPI-2, i3+3: the design's decision table at (n, y) is E or S."""

    design: IntervalDesign

    @property
    def _title(self) -> str:
        return {"keyboard": "Keyboard", "mtpi2": "mTPI-2", "i3+3": "i3+3"}.get(
            str(getattr(self.design, "name", "")), str(getattr(self.design, "name", ""))
        )

    @property
    def text(self) -> str:
        return (
            f"the {self._title} decision table at the dose's number of subjects with a known "
            "outcome and of DLTs says escalate (E) or stay (S), not de-escalate (D or DU)"
        )

    def verdicts(self, n: Sequence[int], y: Sequence[int]) -> tuple[Verdict, ...]:
        from doseladder.core.designs.interval_rules import LETTER_ACTION

        _check_counts(n, y)
        out = []
        for nk, yk in zip(n, y, strict=True):
            if nk == 0:
                out.append(Verdict(False, _NO_DATA))
                continue
            letter = self.design.letter(nk, yk)
            if letter in ("E", "S"):
                out.append(Verdict(True, "confirmed"))
            else:
                out.append(
                    Verdict(
                        False,
                        f"{yk} DLT(s) in {nk}: the {self._title} decision is "
                        f"{LETTER_ACTION[letter]} ({letter})",
                    )
                )
        return tuple(out)

    def verdict_arrays(self, n: IntArray, y: IntArray) -> BoolArray:
        from doseladder.core.designs.arrays.interval import LETTER_CODES, letter_codes

        codes = letter_codes(self.design, int(n.max(initial=1)))
        letters = codes[n, np.minimum(y, n)]
        return np.asarray((n > 0) & (letters <= LETTER_CODES["S"]), dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class CrmRule(DeescalationRule):
    """CRM, TITE-CRM: ``"recommended"`` or ``"overdose_control"`` (module docstring)."""

    design: CrmParameters
    rule: CrmRuleName
    cutoff: float

    @property
    def text(self) -> str:
        fitted = (
            "the CRM model fitted to the driving cohort's known DLT outcomes only, every such "
            "subject with full weight"
        )
        if self.rule == "recommended":
            return (
                "for the CRM: the dose is at or below the dose recommended by "
                f"{fitted}, i.e. the CRM would not de-escalate from it"
            )
        return (
            f"for the CRM: under {fitted}, the posterior probability that the DLT rate at the "
            f"dose exceeds the target {self.design.target:g} is at most {self.cutoff:g} "
            "(escalation with overdose control, Babb, Rogatko & Zacks 1998)"
        )

    def verdicts(self, n: Sequence[int], y: Sequence[int]) -> tuple[Verdict, ...]:
        _check_counts(n, y)
        if sum(n) == 0:
            return tuple(Verdict(False, _NO_DATA) for _ in n)
        levels = [k for k, nk in enumerate(n, start=1) for _ in range(nk)]
        tox = [int(i < yk) for nk, yk in zip(n, y, strict=True) for i in range(nk)]
        out: list[Verdict] = []
        if self.rule == "recommended":
            fit = self.design.fit(levels, tox)
            for k, nk in enumerate(n, start=1):
                if nk == 0:
                    out.append(Verdict(False, _NO_DATA))
                elif k <= fit.mtd:
                    out.append(Verdict(True, "confirmed"))
                else:
                    out.append(
                        Verdict(
                            False,
                            f"the CRM fitted to the known driving outcomes recommends dose "
                            f"{fit.mtd} (DLT estimate here {fit.ptox[k - 1]:.3f}, target "
                            f"{self.design.target:g}): it would de-escalate from this dose",
                        )
                    )
            return tuple(out)
        d = self.design
        for k, nk in enumerate(n, start=1):
            if nk == 0:
                out.append(Verdict(False, _NO_DATA))
                continue
            prob = d.prob_above(k, levels, tox)
            if prob > self.cutoff:
                out.append(
                    Verdict(
                        False,
                        f"Pr(DLT rate > {d.target:g} | known driving outcomes) = {prob:.3f} > "
                        f"{self.cutoff:g} (overdose control)",
                    )
                )
            else:
                out.append(Verdict(True, "confirmed"))
        return tuple(out)

    def verdict_arrays(self, n: IntArray, y: IntArray) -> BoolArray:
        d = self.design
        num = n.shape[0]
        dose_ix = np.arange(num)[:, None]
        if self.rule == "recommended":
            _est, mtd, _prob = d.tail_arrays(n, y)
            ok = dose_ix + 1 <= np.asarray(mtd)[None, :]
        else:
            ok = np.zeros(n.shape, dtype=np.bool_)
            for k in range(num):
                _est, _mtd, prob = d.tail_arrays(n, y, above=(k + 1, float(d.target)))
                assert prob is not None
                ok[k] = ~(np.asarray(prob) > self.cutoff)
        return np.asarray((n > 0) & ok, dtype=np.bool_)


def deescalation_rule(
    design: Design,
    *,
    crm_rule: str = "recommended",
    crm_overdose_cutoff: float | None = None,
) -> DeescalationRule:
    """The not-de-escalation rule of ``design`` (module docstring).

    ``crm_rule`` / ``crm_overdose_cutoff`` (``other_indications.crm_rule`` /
    ``.crm_overdose_cutoff``) choose the CRM's rule; they are refused for other designs, and
    the cutoff is refused unless the rule is ``"overdose_control"``.

    Raises:
        InputError: ``design`` for a design without a rule; ``other_indications.crm_rule`` /
            ``other_indications.crm_overdose_cutoff`` for options that do not apply.
    """
    from doseladder.core.designs.crm import CrmParameters
    from doseladder.core.designs.interval_rules import IntervalDesign
    from doseladder.core.designs.three_plus_three import ThreePlusThree

    if crm_rule not in CRM_RULES:
        raise InputError(
            "other_indications.crm_rule",
            f"must be one of {', '.join(CRM_RULES)}, got {crm_rule!r}",
        )
    if crm_overdose_cutoff is not None:
        check_prob("other_indications.crm_overdose_cutoff", crm_overdose_cutoff)
        if crm_rule != "overdose_control":
            raise InputError(
                "other_indications.crm_overdose_cutoff",
                "applies only with crm_rule: overdose_control",
            )
    if isinstance(design, CrmParameters):
        cutoff = DEFAULT_OVERDOSE_CUTOFF if crm_overdose_cutoff is None else crm_overdose_cutoff
        name: CrmRuleName = "recommended" if crm_rule == "recommended" else "overdose_control"
        return CrmRule(design, name, float(cutoff))
    if crm_rule != "recommended" or crm_overdose_cutoff is not None:
        raise InputError(
            "other_indications.crm_rule",
            f"applies to the CRM and TITE-CRM designs only, not {design.name!r}",
        )
    if isinstance(design, ThreePlusThree):
        return ThreePlusThreeRule()
    if isinstance(design, IntervalDesign):
        return IntervalTableRule(design)
    lam = getattr(design, "lambda_d", None)
    if isinstance(lam, float):
        return BoundaryRule(lam)
    raise InputError(
        "design",
        f"design {getattr(design, 'name', design)!r} has no rule for a dose's toxicity decision "
        "(needed to confirm doses safe for other indications)",
    )
