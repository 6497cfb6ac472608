"""Backfill slots (spec ``backfill.md`` §4, conduct: n_cap − patients at the dose): counted by
hand, and properties over random histories with backfill patients mixed in; escalation slots
and cohort completion ignore backfill patients."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.designs import BOIN
from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.core.rules import EscalationPlan
from doseladder.core.rules.cohort_slots import (
    backfill_cap,
    backfill_choice,
    backfill_slots,
    cohort_slots,
    describe_slots,
    trailing_run,
)
from doseladder.core.rules.plan import recommend
from doseladder.core.state import Patient, TrialState

LABELS = ("DL1", "DL2", "DL3", "DL4")


def pt(dose: int, *, bf: bool = False, tox: bool | None = False, eff: bool = False) -> Patient:
    return Patient(dose=dose, entry_time=0.0, tox=tox, eff=eff, backfill=bf)


def bf_plan(n_cap: int = 6, max_total: int | None = None, **kw: object) -> EscalationPlan:
    design = BFBOIN(num_doses=4, target=0.25, cohort_size=3, max_n=12, n_cap=n_cap, **kw)  # type: ignore[arg-type]
    return EscalationPlan(design, LABELS, max_total=max_total)


def test_slots_are_the_cap_minus_every_patient_at_the_dose() -> None:
    p = bf_plan(n_cap=6)
    pts = [pt(1)] * 3 + [pt(2)] * 3 + [pt(1, bf=True, tox=None)] * 2  # pending count too
    assert backfill_slots(p, pts, None, "pooled", [1]) == {1: 1}
    assert backfill_slots(p, pts, None, "pooled", [1, 2]) == {1: 1, 2: 3}
    assert backfill_slots(p, [pt(1)] * 7, None, "pooled", [1]) == {1: 0}  # never negative
    assert backfill_slots(p, pts, None, "pooled", []) == {}
    # the trial-wide cap limits them too
    capped = bf_plan(n_cap=6, max_total=9)
    assert backfill_slots(capped, pts, None, "pooled", [1, 2]) == {1: 1, 2: 1}


def test_a_plan_without_backfill_has_no_slots() -> None:
    plain = EscalationPlan(BOIN(num_doses=4, target=0.3), LABELS)
    assert backfill_cap(plain) is None
    assert backfill_slots(plain, [pt(1)] * 3, None, "pooled", [1]) == {}
    assert "Backfill" not in describe_slots(plain)
    assert backfill_cap(bf_plan(n_cap=7)) == 7
    assert "until 7 patients" in describe_slots(bf_plan(n_cap=7))


def test_the_choice_follows_the_rule_among_doses_with_a_slot() -> None:
    assert backfill_choice({1: 2, 2: 3}, 2, "highest") == 2
    assert backfill_choice({1: 2, 2: 0}, 2, "highest") == 1  # the design's pick is full
    assert backfill_choice({1: 0, 2: 3, 3: 1}, 1, "lowest") == 2
    assert backfill_choice({1: 2, 2: 3}, None, "random") is None
    assert backfill_choice({1: 0, 2: 0}, 2, "highest") is None
    assert backfill_choice({}, None, "highest") is None


def test_escalation_slots_and_the_trailing_run_skip_backfill_patients() -> None:
    p = bf_plan()
    esc = [pt(1)] * 3 + [pt(2)] * 2
    mixed = [pt(1)] * 3 + [pt(2), pt(1, bf=True), pt(2), pt(1, bf=True)]
    assert trailing_run(mixed, 2) == 2 and trailing_run(mixed, 1) == 0
    assert cohort_slots(p, mixed, None, "pooled", 2) == cohort_slots(p, esc, None, "pooled", 2)
    assert cohort_slots(p, mixed, None, "pooled", 2) == 1
    # the design's max_n counts escalation patients only
    full = [pt(1)] * 12 + [pt(1, bf=True)] * 5
    assert cohort_slots(p, [pt(1)] * 9 + [pt(1, bf=True)] * 5, None, "pooled", 2) == 3
    assert cohort_slots(p, full, None, "pooled", 2) == 0


@given(
    st.lists(st.tuples(st.integers(1, 4), st.booleans()), max_size=30),
    st.lists(st.integers(1, 4), max_size=4),
    st.integers(1, 15),
)
def test_backfill_slot_properties(
    history: list[tuple[int, bool]], opened: list[int], cap: int
) -> None:
    p = bf_plan(n_cap=cap)
    pts = [pt(d, bf=b) for d, b in history]
    slots = backfill_slots(p, pts, None, "pooled", opened)
    assert set(slots) == set(opened)
    for d, n in slots.items():
        at = sum(1 for q in pts if q.dose == d)
        assert n == max(0, cap - at)
        # taking every slot brings the dose to the cap, never beyond
        assert at + n == max(at, cap)
    # escalation slots are those of the history without its backfill patients
    esc = [q for q in pts if not q.backfill]
    for dose in (1, 2, 3, 4):
        assert cohort_slots(p, pts, None, "pooled", dose) == cohort_slots(
            p, esc, None, "pooled", dose
        )


def test_the_recommendation_reports_the_designs_open_doses_zero_based() -> None:
    p = bf_plan(n_cap=12)
    pts = [pt(1, eff=True)] * 3 + [pt(2, eff=True)] * 3 + [pt(3, tox=None)] * 3
    rec = recommend(p, TrialState(4, tuple(pts)), 1.0).driving
    design = p.design.decide(TrialState(4, tuple(pts)), 1.0)
    assert [j + 1 for j in rec.backfill_open] == design.reason.values["backfill_open"] == [1, 2]
    assert rec.backfill_dose is not None and rec.backfill_dose + 1 == 2
    assert rec.to_dict()["backfill_open"] == [0, 1]
    done = [pt(1)] * 3
    assert recommend(p, TrialState(4, tuple(done)), 1.0).driving.backfill_open == ()
