"""Backup dose with fallback: start at DL1, fall back to DL-1 after early DLTs (seed 000).

Source: seed ``000_b1ded836ae083165.txt`` (NCT07143617, STR-P004): "plans to set 3 dose groups:
DL-1 Amg/kg, DL1 Bmg/kg, DL2 Cmg/kg, where DL-1 is a backup dose reduction group, and the
starting dose group is DL1.  If one or more DLTs occur in the first 3 subjects enrolled in DL1,
the study will fallback to the backup dose reduction group and implement the TITE-BOIN12 dose
escalation and expansion strategy starting from the DL-1 dose group."  Formalisation: spec
``dose-finding.md`` §5.1 (all [A], needing protocol sign-off).

Semantics (dose levels are 1-based indices into the protocol's ordered levels, so for seed 000
DL-1 = 1, DL1 = 2, DL2 = 3):

1. **Run-in.**  The first ``first_k`` (3) driving-cohort patients treated at ``run_in_dose``
   (DL1) form the run-in.  Until ``first_k`` are enrolled (and the rule has not fired) the next
   patient goes to the run-in dose; the design is not consulted.
2. **Trigger.**  As soon as ``min_dlts`` (1) DLTs are *observed* among the run-in patients
   (spec §5.1.2: "a DLT can be observed while others are pending") the rule fires; pending
   outcomes never count as DLTs.
3. **Fallback.**  Once fired, the next patient is treated at ``backup_dose`` (DL-1).  From the
   first patient at the backup dose on, the design (TITE-BOIN12) runs from there on *all*
   driving data: the run-in patients' data are kept (spec §5.1.3: they count in n, x, D,
   admissibility and the final OBD selection).
4. **0-DLT branch** (``zero_dlt_branch``; spec §5.1.2 asks to decide):
   ``"complete"`` (default) -- the rule is passed only when it can no longer fire, i.e. when
   fewer than ``min_dlts`` DLTs can still occur among the run-in patients: with
   ``min_dlts = 1`` every run-in patient must have *completed* the DLT window without a DLT.
   While it can still fire, accrual waits at the run-in dose.  The registry wording "if one or
   more DLTs occur in the first 3 subjects" can only be answered "no" once all three are
   complete, hence the conservative default.
   ``"tite"`` -- once ``first_k`` run-in patients are enrolled the design acts on pending data
   (TITE-BOIN12's own suspension rule applies); the trigger stays live while any run-in outcome
   is pending, and if it fires later the next patient still goes to the backup dose.
5. **Re-escalation** (``reescalation``; spec §5.1.3): ``"allowed"`` (default) -- after the
   fallback the design may return to DL1 by its own rules (the record says the TITE-BOIN12
   "dose escalation and expansion strategy" starts from DL-1, which implies escalation from
   DL-1 is possible; note 1 DLT in 3 at DL1 gives p̂ = 0.33 < λd = 0.419, so BOIN12 may go back).
   ``"blocked"`` -- the run-in dose and every higher dose are closed for the rest of the trial
   (given to the design as eliminated doses, so they are also excluded from the OBD).

The rule uses driving-cohort patients only (seed 000: decisions use SLE-ITP data only); the
plan (:mod:`doseladder.core.rules.plan`) passes them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from doseladder.core.designs.base import check_int
from doseladder.core.errors import InputError
from doseladder.core.state import Patient

__all__ = ["BackupFallback", "FallbackPhase", "FallbackStatus"]

ZeroDltBranch = Literal["complete", "tite"]
Reescalation = Literal["allowed", "blocked"]


class FallbackPhase(StrEnum):
    """Where the trial stands with respect to the fallback rule."""

    RUN_IN = "run_in"  # fewer than first_k run-in patients enrolled, rule not fired
    AWAITING = "awaiting"  # run-in enrolled, rule can still fire: wait ("complete" branch)
    PASSED = "passed"  # the rule can no longer fire (or "tite" branch with run-in enrolled)
    TRIGGERED = "triggered"  # fired, no patient yet at the backup dose: go to the backup dose
    APPLIED = "applied"  # fired and the backup dose has been used: the design runs


@dataclass(frozen=True, slots=True)
class FallbackStatus:
    """The rule's evaluation on the driving-cohort history.

    ``run_in_n`` patients form the run-in so far (at most ``first_k``), with ``run_in_dlts``
    observed DLTs and ``run_in_pending`` pending DLT outcomes.
    """

    phase: FallbackPhase
    run_in_n: int
    run_in_dlts: int
    run_in_pending: int
    fired: bool

    def values(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value,
            "run_in_n": self.run_in_n,
            "run_in_dlts": self.run_in_dlts,
            "run_in_pending": self.run_in_pending,
            "fired": self.fired,
        }


@dataclass(frozen=True, slots=True)
class BackupFallback:
    """Start at ``run_in_dose``; fall back to ``backup_dose`` after early DLTs (seed 000).

    Attributes:
        run_in_dose: 1-based level of the start dose (seed 000: DL1 = 2).
        backup_dose: 1-based level of the backup dose, below the run-in dose (DL-1 = 1).
        first_k: how many of the first run-in patients are watched (seed 000: 3).
        min_dlts: DLTs among them that trigger the fallback (seed 000: "one or more" = 1).
        zero_dlt_branch: ``"complete"`` or ``"tite"`` (module docstring, item 4).
        reescalation: ``"allowed"`` or ``"blocked"`` (module docstring, item 5).
    """

    run_in_dose: int
    backup_dose: int
    first_k: int = 3
    min_dlts: int = 1
    zero_dlt_branch: ZeroDltBranch = "complete"
    reescalation: Reescalation = "allowed"

    def __post_init__(self) -> None:
        check_int("fallback.run_in_dose", self.run_in_dose, 1)
        check_int("fallback.backup_dose", self.backup_dose, 1)
        if self.backup_dose >= self.run_in_dose:
            raise InputError(
                "fallback.backup_dose",
                f"the backup dose (level {self.backup_dose}) must be below the run-in dose "
                f"(level {self.run_in_dose})",
            )
        check_int("fallback.first_k", self.first_k, 1, 100)
        check_int("fallback.min_dlts", self.min_dlts, 1, self.first_k)
        if self.zero_dlt_branch not in ("complete", "tite"):
            raise InputError(
                "fallback.zero_dlt_branch",
                f"must be 'complete' or 'tite', got {self.zero_dlt_branch!r}",
            )
        if self.reescalation not in ("allowed", "blocked"):
            raise InputError(
                "fallback.reescalation",
                f"must be 'allowed' or 'blocked', got {self.reescalation!r}",
            )

    def check_doses(self, num_doses: int) -> None:
        """Raise unless both levels exist among ``num_doses`` levels."""
        for name in ("run_in_dose", "backup_dose"):
            level = getattr(self, name)
            if level > num_doses:
                raise InputError(
                    f"fallback.{name}", f"dose level {level} is outside 1..{num_doses}"
                )

    def evaluate(self, patients: Sequence[Patient]) -> FallbackStatus:
        """Evaluate the rule on the driving-cohort patients (in order of entry)."""
        run_in = [p for p in patients if p.dose == self.run_in_dose][: self.first_k]
        n = len(run_in)
        dlts = sum(p.tox is True for p in run_in)
        pending = sum(p.tox is None for p in run_in)
        if dlts >= self.min_dlts:
            used_backup = any(p.dose <= self.backup_dose for p in patients)
            phase = FallbackPhase.APPLIED if used_backup else FallbackPhase.TRIGGERED
            return FallbackStatus(phase, n, dlts, pending, True)
        # largest number of DLTs that may still occur in the run-in
        possible = dlts + pending + (self.first_k - n)
        if possible < self.min_dlts:
            return FallbackStatus(FallbackPhase.PASSED, n, dlts, pending, False)
        if n < self.first_k:
            return FallbackStatus(FallbackPhase.RUN_IN, n, dlts, pending, False)
        if self.zero_dlt_branch == "tite":
            return FallbackStatus(FallbackPhase.PASSED, n, dlts, pending, False)
        return FallbackStatus(FallbackPhase.AWAITING, n, dlts, pending, False)

    def run_in_past_window(self, patients: Sequence[Patient], now: float, window: float) -> int:
        """Run-in patients whose DLT outcome is still pending although their follow-up
        (``now`` − entry) has reached the DLT ``window``: the window is over and only the
        assessment of the outcome (e.g. adjudication of a possible DLT) is awaited."""
        run_in = [p for p in patients if p.dose == self.run_in_dose][: self.first_k]
        return sum(p.tox is None and now - p.entry_time >= window for p in run_in)

    def blocked_doses(self, num_doses: int, status: FallbackStatus) -> frozenset[int]:
        """Doses closed by the rule: with ``reescalation="blocked"`` after it fired."""
        if status.fired and self.reescalation == "blocked":
            return frozenset(range(self.run_in_dose, num_doses + 1))
        return frozenset()

    def describe(self, labels: Sequence[str] | None = None, design_name: str = "the design") -> str:
        """Protocol text of the rule (with the protocol's dose labels when given)."""

        def lab(level: int) -> str:
            return labels[level - 1] if labels is not None else f"dose level {level}"

        run, back = lab(self.run_in_dose), lab(self.backup_dose)
        dlt_txt = "one or more DLTs" if self.min_dlts == 1 else f"{self.min_dlts} or more DLTs"
        text = (
            f"Backup dose and fallback: the trial starts at {run}; {back} is a backup dose "
            f"reduction level. If {dlt_txt} occur in the first {self.first_k} subjects enrolled "
            f"at {run} (the run-in), the trial falls back to {back} as soon as the DLT "
            f"is observed and continues with {design_name} starting from {back}; the data of "
            f"the {run} run-in subjects are kept and used in every later decision and in the "
            "final dose selection. Pending outcomes never count as DLTs."
        )
        if self.zero_dlt_branch == "complete":
            text += (
                f" The first {self.first_k} subjects at {run} are treated without waiting for "
                "each other's outcomes; no further subject is enrolled until the rule is "
                f"resolved, i.e. until every run-in subject has completed the DLT window "
                f"without the rule firing, after which {design_name} continues from {run} "
                "with the run-in data."
            )
        else:
            text += (
                f" Once the first {self.first_k} subjects at {run} are enrolled, {design_name} "
                "decides on the data available, including pending outcomes; if a run-in DLT "
                f"is observed later, the next subject is still treated at {back}."
            )
        if self.reescalation == "allowed":
            text += (
                f" After a fallback, re-escalation to {run} and above follows the rules of "
                f"{design_name}."
            )
        else:
            text += f" After a fallback, {run} and every higher level are closed."
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_in_dose": self.run_in_dose,
            "backup_dose": self.backup_dose,
            "first_k": self.first_k,
            "min_dlts": self.min_dlts,
            "zero_dlt_branch": self.zero_dlt_branch,
            "reescalation": self.reescalation,
        }
