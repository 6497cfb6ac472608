"""Builders for hand-built histories of the protocol-level rules (seed 000 layout).

Seed 000 (NCT07143617): levels 1 = DL-1 (backup), 2 = DL1 (start), 3 = DL2; TITE-BOIN12;
SLE-ITP drives; other indications SLE-other and IIM.
"""

from __future__ import annotations

from typing import Any

from doseladder.core.designs import TITEBOIN12
from doseladder.core.rules import (
    BackupFallback,
    EscalationPlan,
    OtherIndicationPolicy,
    PooledSafetyMonitor,
)
from doseladder.core.state import Patient, TrialState

LABELS = ("DL-1", "DL1", "DL2")
DLT_WINDOW = 28.0
EFF_WINDOW = 90.0
DL_M1, DL1, DL2 = 1, 2, 3


def seed000_design(**kwargs: Any) -> TITEBOIN12:
    args: dict[str, Any] = {
        "num_doses": 3,
        "start_dose": DL1,
        "tox_window": DLT_WINDOW,
        "eff_window": EFF_WINDOW,
        "max_n": 39,
    }
    args.update(kwargs)
    return TITEBOIN12(**args)


def seed000_plan(
    *,
    fallback: BackupFallback | str | None = "default",
    monitor: PooledSafetyMonitor | str | None = "default",
    policy: OtherIndicationPolicy | None = None,
    **kwargs: Any,
) -> EscalationPlan:
    fb = BackupFallback(run_in_dose=DL1, backup_dose=DL_M1) if fallback == "default" else fallback
    mon = PooledSafetyMonitor(target=0.35) if monitor == "default" else monitor
    assert not isinstance(fb, str) and not isinstance(mon, str)
    return EscalationPlan(
        kwargs.pop("design", seed000_design()),
        LABELS,
        indications=("SLE-ITP", "SLE-other", "IIM"),
        driving_indication="SLE-ITP",
        fallback=fb,
        safety_monitor=mon,
        other_indications=policy or OtherIndicationPolicy(),
        **kwargs,
    )


def P(
    dose: int,
    entry: float,
    tox: bool | None = False,
    eff: bool | None = False,
    ind: str | None = None,
    *,
    tox_time: float | None = None,
    eff_time: float | None = None,
) -> Patient:
    """A patient; ``tox_time``/``eff_time`` default to day 1 after entry for observed events."""
    if tox is True and tox_time is None:
        tox_time = 1.0
    if eff is True and eff_time is None:
        eff_time = 1.0
    return Patient(
        dose=dose,
        entry_time=entry,
        tox=tox,
        tox_time=tox_time,
        eff=eff,
        eff_time=eff_time,
        indication=ind,
    )


def S(*patients: Patient, num_doses: int = 3) -> TrialState:
    return TrialState(num_doses, tuple(patients))
