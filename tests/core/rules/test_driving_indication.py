"""Driving indication and other indications (seed 000; spec dose-finding.md §5.2).

Only SLE-ITP data drive the design; other indications enrol only at doses confirmed safe in the
SLE-ITP cohort ("based on the DLT rate of the current dose group, the dose adjustment decision
is not to reduce the dose"), never count toward its decisions, and are watched by the pooled
safety monitor.
"""

from __future__ import annotations

import pytest

from doseladder.core.designs import BOIN12, ThreePlusThree
from doseladder.core.errors import InputError
from doseladder.core.rules import (
    BackupFallback,
    DrivingIndication,
    EnrolStatus,
    EscalationPlan,
    IndicationRole,
    OtherIndicationPolicy,
    PooledSafetyMonitor,
    SentinelStaggering,
    recommend,
)
from tests.core.rules.helpers import DL1, DL2, DL_M1, P, S, seed000_design, seed000_plan

IND = ("SLE-ITP", "IIM")


def boin12_plan(**kwargs: object) -> EscalationPlan:
    design = kwargs.pop("design", BOIN12(num_doses=3))
    return EscalationPlan(
        design,  # type: ignore[arg-type]
        ("L1", "L2", "L3"),
        indications=IND,
        driving_indication="SLE-ITP",
        **kwargs,  # type: ignore[arg-type]
    )


def clear(dose: int, start: float, n: int = 3, ind: str | None = None) -> list[object]:
    return [P(dose, start + i, False, False, ind) for i in range(n)]


def test_other_indication_cannot_enrol_at_a_dose_whose_driving_decision_is_deescalate() -> None:
    hist = S(
        *clear(1, 0),  # type: ignore[arg-type]
        P(2, 10, True, False),
        P(2, 11, True, False),
        P(2, 12, False, False),
    )
    rec = recommend(boin12_plan(), hist)
    assert rec.driving_decision is not None
    assert rec.driving_decision.reason.rule == "boin12.deescalate"
    iim = rec.for_indication("IIM")
    assert iim.role is IndicationRole.OTHER
    # offered the highest confirmed-safe dose, not L2
    assert (iim.status, iim.dose, iim.dose_label) == (EnrolStatus.ENROL, 1, "L1")
    assert iim.reason.rule == "driving_indication.confirmed_safe"
    l2 = rec.dose_safety[1]
    assert not l2.confirmed
    assert (l2.n_known, l2.dlts) == (3, 2)


def test_offered_the_current_driving_dose_when_it_is_confirmed_safe() -> None:
    # 1 DLT in 3 at L2: rate 0.333 < λd 0.419, the decision there is not de-escalate
    hist = S(*clear(1, 0), P(2, 10, True, True), *clear(2, 11, 2))  # type: ignore[arg-type]
    rec = recommend(boin12_plan(), hist)
    iim = rec.for_indication("IIM")
    assert (iim.status, iim.dose) == (EnrolStatus.ENROL, 2)
    assert rec.dose_safety[1].confirmed and rec.dose_safety[1].rate == pytest.approx(1 / 3)


def test_nothing_confirmed_before_enough_driving_data() -> None:
    rec = recommend(boin12_plan(), S())
    assert rec.for_indication("IIM").status is EnrolStatus.WAIT
    assert rec.for_indication("IIM").reason.rule == "driving_indication.no_confirmed_dose"
    two = recommend(boin12_plan(), S(*clear(1, 0, 2)))  # type: ignore[arg-type]
    assert two.for_indication("IIM").status is EnrolStatus.WAIT
    assert "only 2 driving subject(s) with a known DLT outcome" in two.dose_safety[0].why


def test_pending_driving_outcomes_never_confirm_a_dose() -> None:
    hist = S(
        *clear(DL1, 0),  # type: ignore[arg-type]
        P(DL2, 40, None, None),
        P(DL2, 41, None, None),
        P(DL2, 42, None, None),
    )
    plan = seed000_plan()
    rec = recommend(plan, hist, now=50.0)
    iim = rec.for_indication("IIM")
    assert (iim.status, iim.dose_label) == (EnrolStatus.ENROL, "DL1")
    assert rec.dose_safety[DL2 - 1].n_known == 0 and not rec.dose_safety[DL2 - 1].confirmed


def test_dose_cap_driving_current_versus_any_confirmed() -> None:
    hist = S(*clear(1, 0), *clear(2, 10), *clear(1, 20))  # type: ignore[arg-type]
    assert recommend(boin12_plan(), hist).for_indication("IIM").dose == 1
    plan = boin12_plan(other_indications=OtherIndicationPolicy(dose_cap="any_confirmed"))
    assert recommend(plan, hist).for_indication("IIM").dose == 2


def test_other_indication_dlts_never_change_the_driving_decision_but_trigger_the_monitor() -> None:
    driving = [*clear(DL1, 0), P(DL2, 40, False, None), P(DL2, 41, False, None)]
    iim = [P(DL1, 50 + i, True, False, "IIM", tox_time=2) for i in range(6)]
    plan = seed000_plan(monitor=PooledSafetyMonitor(target=0.35, scope="all"))
    alone = recommend(plan, S(*driving), now=80.0)  # type: ignore[arg-type]
    mixed = recommend(plan, S(*driving, *iim), now=80.0)  # type: ignore[arg-type]
    assert mixed.driving_decision == alone.driving_decision
    a, m = alone.driving, mixed.driving
    assert (m.status, m.dose, m.reason) == (a.status, a.dose, a.reason)
    # pooled at DL1: 6 DLTs in 9 subjects with a known outcome -> flagged (with DL2)
    assert mixed.safety is not None and mixed.safety.flagged == frozenset({DL1, DL2})
    assert any(s.rule == "safety_monitor.triggered" for s in m.steps)
    other = mixed.for_indication("IIM")
    assert other.status is EnrolStatus.WAIT  # DL1 closed to other indications, DL-1 untried
    assert "closed by the pooled safety monitor" in other.reason.message
    # without the IIM subjects nothing is flagged and IIM may enrol at DL1
    assert alone.safety is not None and not alone.safety.triggered
    assert alone.for_indication("IIM").dose == DL1


def test_monitor_close_all_is_the_only_way_other_data_reach_the_driving_cohort() -> None:
    driving = [*clear(DL1, 0), P(DL2, 40, False, None)]
    iim = [P(DL1, 50 + i, True, False, "IIM", tox_time=2) for i in range(6)]
    plan = seed000_plan(monitor=PooledSafetyMonitor(target=0.35, action="close_all"))
    rec = recommend(plan, S(*driving, *iim), now=80.0)  # type: ignore[arg-type]
    assert {DL1, DL2} <= rec.eliminated
    assert rec.driving.dose in (None, DL_M1)


def test_other_indications_do_not_count_toward_the_driving_sample_size() -> None:
    design = seed000_design(max_n=6)
    plan = seed000_plan(design=design, fallback=None)
    driving = [*clear(DL1, 0), *clear(DL1, 5)]
    others = [P(DL1, 40 + i, False, False, "SLE-other") for i in range(10)]
    few = recommend(plan, S(*driving[:3], *others), now=200.0)  # type: ignore[arg-type]
    assert few.driving.status is EnrolStatus.ENROL  # 3 driving subjects, 13 in total
    full = recommend(plan, S(*driving, *others), now=200.0)  # type: ignore[arg-type]
    assert full.driving.status is EnrolStatus.CLOSED
    assert full.driving.reason.rule == "max_n_reached"
    # stopped for its sample size, not for safety: other indications may continue
    assert full.for_indication("SLE-other").status is EnrolStatus.ENROL


def test_cap_per_other_indication() -> None:
    plan = boin12_plan(other_indications=OtherIndicationPolicy(max_n_per_indication=2))
    hist = S(*clear(1, 0), *clear(1, 5, 2, "IIM"))  # type: ignore[arg-type]
    rec = recommend(plan, hist)
    assert rec.for_indication("IIM").status is EnrolStatus.CLOSED
    assert rec.for_indication("IIM").reason.rule == "driving_indication.max_n_reached"


def test_driving_safety_stop_closes_other_indications() -> None:
    hist = S(P(1, 0, True, False), P(1, 1, True, False), P(1, 2, True, False))
    rec = recommend(boin12_plan(), hist)
    assert rec.driving.status is EnrolStatus.CLOSED
    iim = rec.for_indication("IIM")
    assert (iim.status, iim.reason.rule) == (
        EnrolStatus.CLOSED,
        "driving_indication.driving_stopped",
    )


def test_no_other_indication_enrolment_above_a_fired_fallback() -> None:
    # 1 DLT in 3 at DL1 (rate 0.33 < λd) but the fallback fired: DL1 is not confirmed safe
    hist = S(P(DL1, 0, True, False, tox_time=3), *clear(DL1, 1, 2))  # type: ignore[arg-type]
    rec = recommend(seed000_plan(), hist, now=40.0)
    assert rec.driving.dose == DL_M1
    assert rec.for_indication("IIM").status is EnrolStatus.WAIT
    assert "fallback rule fired" in rec.dose_safety[DL1 - 1].why


def test_patients_without_indication_are_driving_and_unknown_ones_are_rejected() -> None:
    rec = recommend(boin12_plan(), S(*clear(1, 0)))  # type: ignore[arg-type]
    assert rec.dose_safety[0].n_known == 3
    with pytest.raises(InputError) as err:
        recommend(boin12_plan(), S(P(1, 0, False, False, "SSc")))
    assert err.value.field == "patients[0].indication"
    assert "unknown indication 'SSc'" in str(err.value)


def test_three_plus_three_boundary_and_text() -> None:
    text = OtherIndicationPolicy().deescalation_rule(ThreePlusThree(num_doses=3)).text
    assert "fewer than 2 DLTs" in text
    plan = boin12_plan(design=ThreePlusThree(num_doses=3))
    hist = S(*clear(1, 0), P(2, 10, True, False), *clear(2, 11, 2))  # type: ignore[arg-type]
    rec = recommend(plan, hist)
    assert rec.for_indication("IIM").dose == 2  # 1 DLT: the 3+3 expands, it does not de-escalate


def test_describe_names_the_driving_indication() -> None:
    text = seed000_plan().describe()
    assert "only the data of SLE-ITP subjects drive dose escalation" in text
    assert "Subjects of other indications (SLE-other, IIM) never count toward" in text
    assert "at least 3 SLE-ITP subjects have a known DLT outcome" in text
    assert "λd = 0.4189" in text


def test_every_rule_describes_itself_without_arguments() -> None:
    texts = [
        OtherIndicationPolicy().describe(),
        DrivingIndication("SLE-ITP").describe(),
        BackupFallback(2, 1).describe(),
        PooledSafetyMonitor(target=0.3).describe(),
        SentinelStaggering(days=7).describe(),
    ]
    assert all(isinstance(t, str) and len(t) > 40 for t in texts)
    assert "dose level 2" in texts[2]
