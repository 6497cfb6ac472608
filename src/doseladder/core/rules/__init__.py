"""Protocol-level rules on top of the designs (spec ``dose-finding.md`` §5, issue #4).

* :mod:`~doseladder.core.rules.backup_fallback` -- start at DL1, fall back to DL-1 after early
  DLTs (seed 000);
* :mod:`~doseladder.core.rules.driving_indication` -- one indication drives dose finding, the
  others enrol at confirmed-safe doses (seed 000);
* :mod:`~doseladder.core.rules.deescalation_verdict` -- per design, whether the toxicity
  decision at a dose is not de-escalation (the confirmed-safe rule's core);
* :mod:`~doseladder.core.rules.safety_monitor` -- pooled toxicity monitoring across indications;
* :mod:`~doseladder.core.rules.staggering` -- sentinel staggering;
* :mod:`~doseladder.core.rules.plan` -- the :class:`EscalationPlan` that combines a design with
  these rules, and :func:`recommend`, the per-indication recommendation a conduct service calls.

Everything is pure: no I/O, no clock (``now`` is an argument), frozen dataclasses.
"""

from __future__ import annotations

from doseladder.core.rules.backfill import BackfillRule
from doseladder.core.rules.backup_fallback import BackupFallback, FallbackPhase, FallbackStatus
from doseladder.core.rules.deescalation_verdict import DeescalationRule, deescalation_rule
from doseladder.core.rules.driving_indication import (
    DoseSafety,
    DrivingIndication,
    OtherIndicationPolicy,
    dose_safety,
)
from doseladder.core.rules.plan import (
    EnrolStatus,
    EscalationPlan,
    IndicationRecommendation,
    IndicationRole,
    PlanRecommendation,
    recommend,
)
from doseladder.core.rules.safety_monitor import (
    DoseToxicity,
    PooledSafetyMonitor,
    SafetyMonitorResult,
)
from doseladder.core.rules.staggering import SentinelStaggering, StaggerCheck

__all__ = [
    "BackfillRule",
    "BackupFallback",
    "DeescalationRule",
    "DoseSafety",
    "DoseToxicity",
    "DrivingIndication",
    "EnrolStatus",
    "EscalationPlan",
    "FallbackPhase",
    "FallbackStatus",
    "IndicationRecommendation",
    "IndicationRole",
    "OtherIndicationPolicy",
    "PlanRecommendation",
    "PooledSafetyMonitor",
    "SafetyMonitorResult",
    "SentinelStaggering",
    "StaggerCheck",
    "deescalation_rule",
    "dose_safety",
    "recommend",
]
