"""Sandbox trials: rehearse a trial or train a site without touching real data.

A trial is created as a sandbox (``trials.create_trial(..., sandbox=True)``) and stays one; a
real trial never becomes a sandbox.  A sandbox trial

* is marked on every page of the web interface (a banner),
* is left out of exports unless they are asked for it (``include_sandbox``),
* has a clock an administrator may advance (:func:`advance_clock`, audited with a reason):
  decisions, and the latest date a clinical record may carry, then use the advanced clock
  (:func:`doseladder.conduct.services._common.trial_now`, the one trial clock every service
  uses).  Real trials use the real clock and refuse any clock change.

Record timestamps (when something was entered, the audit trail) stay on the real clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, Forbidden, ValidationError
from doseladder.conduct.models import Trial
from doseladder.conduct.security import Actor, Permission, Role
from doseladder.conduct.services import _common as c

__all__ = [
    "MAX_ADVANCE_DAYS",
    "TrialClock",
    "advance_clock",
    "check_export",
    "is_sandbox",
    "sandbox_trial_ids",
    "trial_clock",
]

#: the most one advance may move a sandbox clock (ten years)
MAX_ADVANCE_DAYS = 3650


@dataclass(frozen=True, slots=True)
class TrialClock:
    """A trial's clock as the services see it."""

    trial_id: int
    sandbox: bool
    now: datetime
    offset_days: float

    @property
    def today(self) -> str:
        return self.now.date().isoformat()


def is_sandbox(trial: Trial) -> bool:
    """Whether ``trial`` is a sandbox trial (trials created before sandboxes existed are not)."""
    return bool(trial.sandbox)


def trial_clock(session: Session, trial: Trial) -> TrialClock:
    """The trial's current time (:func:`~doseladder.conduct.services._common.trial_now`)."""
    return TrialClock(
        trial_id=trial.id,
        sandbox=is_sandbox(trial),
        now=c.trial_now(session, trial),
        offset_days=float(trial.clock_offset_days or 0.0) if is_sandbox(trial) else 0.0,
    )


def advance_clock(
    session: Session, actor: Actor, trial_id: int, *, days: object, reason: str
) -> TrialClock:
    """Advance a sandbox trial's clock by ``days`` (1..3650; whole or fractional days).

    Only administrators; audited with the reason (the trial row's ``clock_offset_days``
    old → new).  A real trial refuses (:class:`Conflict`): it always runs on the real clock.
    The clock never goes back.
    """
    c.begin(session, actor, Permission.MANAGE_TRIAL)
    if actor.role is not Role.ADMIN:
        raise Forbidden("only an administrator may advance a sandbox trial's clock")
    step = c.number("days", days)
    if not 0 < step <= MAX_ADVANCE_DAYS:
        raise ValidationError("days", f"must be more than 0 and at most {MAX_ADVANCE_DAYS}")
    why = c.reason_text(reason)
    trial = c.lock_trial(session, trial_id)
    if not is_sandbox(trial):
        raise Conflict(
            f"trial {trial.code} is a real trial: it runs on the real clock, which cannot be "
            "changed (only sandbox trials have an adjustable clock)",
            field="days",
        )
    with audit.reason(session, why):
        trial.clock_offset_days = float(trial.clock_offset_days or 0.0) + step
    session.flush()
    return trial_clock(session, trial)


def sandbox_trial_ids(session: Session) -> frozenset[int]:
    """The ids of every sandbox trial (left out of exports unless asked)."""
    return frozenset(session.scalars(select(Trial.id).where(Trial.sandbox.is_(True))))


def check_export(trial: Trial, *, include_sandbox: bool) -> None:
    """Refuse to export a sandbox trial unless the export asks for sandbox trials."""
    if is_sandbox(trial) and not include_sandbox:
        raise Conflict(
            f"trial {trial.code} is a sandbox trial: exports leave it out unless asked "
            "(include_sandbox=true)",
            field="include_sandbox",
        )
