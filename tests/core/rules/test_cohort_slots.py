"""Cohort slots: counted by hand from the rule text, and properties over random histories."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.designs import BOIN
from doseladder.core.rules import EscalationPlan, OtherIndicationPolicy
from doseladder.core.rules.cohort_slots import (
    cohort_patients,
    cohort_slots,
    describe_slots,
    escalates,
    trailing_run,
)
from doseladder.core.state import Patient


def pt(dose: int, ind: str | None = None) -> Patient:
    return Patient(dose=dose, entry_time=0.0, tox=False, indication=ind)


def plan(**kw: object) -> EscalationPlan:
    design = BOIN(num_doses=3, target=0.3, cohort_size=3, max_n=int(kw.pop("max_n", 12)))  # type: ignore[call-overload]
    return EscalationPlan(design, ("A", "B", "C"), **kw)  # type: ignore[arg-type]


def test_trailing_run_counts_the_latest_patients_at_a_dose() -> None:
    pts = [pt(1), pt(2), pt(2), pt(1), pt(1)]
    assert trailing_run(pts, 1) == 2 and trailing_run(pts, 2) == 0 and trailing_run([], 1) == 0


def test_a_started_cohort_is_completed_and_a_new_one_is_whole() -> None:
    p = plan()
    assert cohort_slots(p, [], None, "pooled", 1) == 3
    assert cohort_slots(p, [pt(1)], None, "pooled", 1) == 2
    assert cohort_slots(p, [pt(1)] * 3, None, "pooled", 1) == 3
    assert cohort_slots(p, [pt(1)] * 4, None, "pooled", 2) == 3
    assert cohort_slots(p, [pt(1)] * 3, None, "pooled", None) == 0


def test_caps_limit_the_slots() -> None:
    assert cohort_slots(plan(max_n=4), [pt(1)] * 3, None, "pooled", 2) == 1
    assert cohort_slots(plan(max_total=5), [pt(1)] * 4, None, "pooled", 2) == 1
    p = plan(
        indications=("X", "Y"),
        driving_indication="X",
        other_indications=OtherIndicationPolicy(max_n_per_indication=2),
    )
    pts = [pt(1, "X"), pt(1, "Y")]
    assert cohort_slots(p, pts, "Y", "other", 1) == 1
    assert [q.indication for q in cohort_patients(p, pts, "X", "driving")] == ["X"]
    assert len(cohort_patients(p, pts, None, "pooled")) == 2


def test_escalation_is_above_every_dose_given() -> None:
    assert escalates([pt(1), pt(2)], 3) and not escalates([pt(1), pt(2)], 2)
    assert not escalates([], 3) and not escalates([pt(1)], None)


@given(
    doses=st.lists(st.integers(1, 3), max_size=15),
    dose=st.integers(1, 3),
    max_n=st.integers(1, 20),
)
def test_slots_properties(doses: list[int], dose: int, max_n: int) -> None:
    p = plan(max_n=max_n)
    pts = [pt(d) for d in doses]
    n = cohort_slots(p, pts, None, "pooled", dose)
    assert 0 <= n <= 3
    assert len(pts) + n <= max(max_n, len(pts))
    # taking the slots completes a cohort at that dose (unless a cap stopped it)
    if n and len(pts) + n < max_n:
        assert trailing_run([*pts, *[pt(dose)] * n], dose) % 3 == 0


def test_describes_itself() -> None:
    assert "one cohort of 3" in describe_slots(plan())
