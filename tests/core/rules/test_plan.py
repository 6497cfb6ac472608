"""EscalationPlan validation, cohort completion, caps, pooled indications, serialisation."""

from __future__ import annotations

import json

import pytest

from doseladder.core.designs import BOIN, BOIN12, ThreePlusThree
from doseladder.core.errors import InputError
from doseladder.core.rules import (
    BackupFallback,
    EnrolStatus,
    EscalationPlan,
    IndicationRole,
    recommend,
)
from doseladder.core.state import TrialState
from tests.core.rules.helpers import DL1, P, S, seed000_plan


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dose_labels": ("A", "B")}, "dose_labels"),
        ({"dose_labels": ("A", "A", "C")}, "dose_labels"),
        ({"driving_indication": "X", "indications": ("Y",)}, "driving_indication"),
        ({"fallback": BackupFallback(3, 1)}, "fallback.run_in_dose"),
        ({"fallback": BackupFallback(5, 1)}, "fallback.run_in_dose"),
        ({"max_total": 0}, "max_total"),
        ({"indications": ("A", "A")}, "indications"),
    ],
)
def test_invalid_plans(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"design": BOIN12(num_doses=3, start_dose=2)}
    args["dose_labels"] = ("A", "B", "C")
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        EscalationPlan(**args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_driving_indication_is_listed_first() -> None:
    plan = EscalationPlan(
        BOIN(num_doses=2, target=0.3), ("a", "b"), indications=("X", "D"), driving_indication="D"
    )
    assert plan.indications == ("D", "X")
    assert plan.level("b") == 2
    with pytest.raises(InputError, match="unknown dose label"):
        plan.level("z")


def test_a_started_cohort_is_completed() -> None:
    plan = EscalationPlan(BOIN(num_doses=3, target=0.3), ("A", "B", "C"))
    # complete-data BOIN after 1 patient without DLT would escalate; the cohort of 3 goes on
    rec = recommend(plan, S(P(1, 0, False)))
    assert (rec.driving.dose, rec.driving.reason.rule) == (1, "plan.complete_cohort")
    assert rec.driving_decision is not None and rec.driving_decision.next_dose == 2
    three = recommend(plan, S(P(1, 0), P(1, 1), P(1, 2)))
    assert (three.driving.dose, three.driving.reason.rule) == (2, "boin.escalate")
    # a de-escalation signal is never overridden by cohort completion
    two = recommend(plan, S(P(1, 0), P(1, 1), P(1, 2), P(2, 3, True), P(2, 4, True)))
    assert two.driving.dose == 1
    off = EscalationPlan(BOIN(num_doses=3, target=0.3), ("A", "B", "C"), complete_cohorts=False)
    assert recommend(off, S(P(1, 0, False))).driving.dose == 2


def test_trial_wide_cap_closes_every_indication() -> None:
    plan = seed000_plan(max_total=4)
    hist = S(P(DL1, 0), P(DL1, 1), P(DL1, 2), P(DL1, 40, ind="IIM"))
    rec = recommend(plan, hist, now=100.0)
    assert all(r.status is EnrolStatus.CLOSED for r in rec.indications)
    assert {r.reason.rule for r in rec.indications} == {"plan.max_total_reached"}


def test_pooled_indications_share_one_recommendation() -> None:
    plan = EscalationPlan(
        ThreePlusThree(num_doses=2), ("L", "H"), indications=("SLE", "AAV", "IIM")
    )
    hist = S(P(1, 0, ind="SLE"), P(1, 1, ind="AAV"), P(1, 2, ind="IIM"), num_doses=2)
    rec = recommend(plan, hist)
    assert [r.indication for r in rec.indications] == ["SLE", "AAV", "IIM"]
    assert {(r.role, r.status, r.dose) for r in rec.indications} == {
        (IndicationRole.POOLED, EnrolStatus.ENROL, 2)
    }
    assert rec.dose_safety == ()
    assert "Their data are pooled" in plan.describe()


def test_state_must_fit_the_plan() -> None:
    plan = seed000_plan()
    with pytest.raises(InputError, match="num_doses"):
        recommend(plan, TrialState(4))
    # the design needs a decision time once it is consulted with pending outcomes
    with pytest.raises(InputError, match="now"):
        recommend(plan, S(P(DL1, 0, False, None), P(DL1, 1, False), P(DL1, 2, False)), now=None)
    with pytest.raises(InputError, match="after the decision time"):
        recommend(plan, S(P(DL1, 10, None)), now=5.0)
    with pytest.raises(InputError, match="no indications"):
        recommend(
            EscalationPlan(BOIN(num_doses=1, target=0.3), ("X",)), S(P(1, 0, ind="A"), num_doses=1)
        )


def test_recommendation_serialises_to_json() -> None:
    rec = recommend(seed000_plan(), S(P(DL1, 0, True, None, tox_time=3)), now=5.0)
    data = json.loads(json.dumps(rec.to_dict()))
    assert data["indications"][0]["dose_label"] == "DL-1"
    assert data["fallback"]["fired"] is True
    assert data["safety_monitor"]["action"] == "close_others"
    assert json.loads(json.dumps(seed000_plan().to_dict()))["fallback"]["first_k"] == 3
    with pytest.raises(InputError, match="unknown indication"):
        rec.for_indication("nope")


def test_describe_lists_every_rule() -> None:
    text = seed000_plan().describe()
    for piece in (
        "Dose levels, lowest first: DL-1, DL1, DL2",
        "1 = DL-1, 2 = DL1, 3 = DL2",
        "TITE-BOIN12",
        "Backup dose and fallback",
        "Driving indication",
        "Pooled safety monitoring",
        "No sentinel staggering",
        "cohorts of 3",
    ):
        assert piece in text


def test_fallback_with_three_plus_three_is_refused() -> None:
    from doseladder.core.designs import ThreePlusThree
    from doseladder.core.errors import InputError
    from doseladder.core.rules.backup_fallback import BackupFallback

    with pytest.raises(InputError) as err:
        EscalationPlan(
            design=ThreePlusThree(num_doses=3, start_dose=2),
            dose_labels=("DL-1", "DL1", "DL2"),
            fallback=BackupFallback(run_in_dose=2, backup_dose=1),
        )
    assert err.value.field == "fallback"
