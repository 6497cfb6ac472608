"""Eligibility screening: computable criteria, three-valued evaluation, and the verdict.

* :mod:`.logic` / :mod:`.parse` — the criterion logic model and its YAML syntax;
* :mod:`.record` — the typed patient record (read by :mod:`doseladder.io.patient_record`);
* :mod:`.evaluate` — per-node evaluation with the values used (clinical calculations from
  :mod:`doseladder.core.clinical`);
* :mod:`.status` — met / not met / not evaluable / needs review, Kleene combination, verdict;
* :mod:`.screen` — :func:`screen`, the entry point.

Spec ``clinical.md`` §0.1, §4, §5.6; ``docs/eligibility.md``.
"""

from __future__ import annotations

from doseladder.core.eligibility.dates import Window
from doseladder.core.eligibility.evaluate import DEFAULT_LOOKBACK_DAYS, NodeResult, UsedValue
from doseladder.core.eligibility.logic import Node
from doseladder.core.eligibility.parse import parse_logic
from doseladder.core.eligibility.record import (
    Attestation,
    BilagRecord,
    ClassificationRecord,
    ConditionRecord,
    EventRecord,
    MedicationRecord,
    Observation,
    PatientRecord,
    ReviewDecision,
    ScoreRecord,
    SerologyResult,
    SledaiRecord,
)
from doseladder.core.eligibility.screen import CriterionResult, ScreeningReport, screen
from doseladder.core.eligibility.status import Status, Verdict

__all__ = [
    "DEFAULT_LOOKBACK_DAYS",
    "Attestation",
    "BilagRecord",
    "ClassificationRecord",
    "ConditionRecord",
    "CriterionResult",
    "EventRecord",
    "MedicationRecord",
    "Node",
    "NodeResult",
    "Observation",
    "PatientRecord",
    "ReviewDecision",
    "ScoreRecord",
    "ScreeningReport",
    "SerologyResult",
    "SledaiRecord",
    "Status",
    "UsedValue",
    "Verdict",
    "Window",
    "parse_logic",
    "screen",
]
