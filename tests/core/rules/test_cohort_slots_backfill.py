"""Backfill slots (spec ``backfill.md`` §4, conduct: the cap's room at the dose, ``n_cap`` −
patients with ``cap_rule: at_most``, ``n_cap + 1`` − patients with ``bfboin``): counted by hand,
and properties over random histories with backfill patients mixed in; the slots agree with the
design's C3; escalation slots and cohort completion ignore backfill patients."""

from __future__ import annotations

import pytest
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
    p = bf_plan(n_cap=6, cap_rule="at_most")
    pts = [pt(1)] * 3 + [pt(2)] * 3 + [pt(1, bf=True, tox=None)] * 2  # pending count too
    assert backfill_slots(p, pts, None, "pooled", [1]) == {1: 1}
    assert backfill_slots(p, pts, None, "pooled", [1, 2]) == {1: 1, 2: 3}
    assert backfill_slots(p, [pt(1)] * 7, None, "pooled", [1]) == {1: 0}  # never negative
    assert backfill_slots(p, pts, None, "pooled", []) == {}
    # the trial-wide cap limits them too
    capped = bf_plan(n_cap=6, max_total=9, cap_rule="at_most")
    assert backfill_slots(capped, pts, None, "pooled", [1, 2]) == {1: 1, 2: 1}


def test_bfboin_slots_let_a_dose_reach_n_cap_plus_one() -> None:
    p = bf_plan(n_cap=6, cap_rule="bfboin")  # the design's default
    assert bf_plan(n_cap=6).design == p.design
    pts = [pt(1)] * 3 + [pt(2)] * 3 + [pt(1, bf=True, tox=None)] * 2
    assert backfill_slots(p, pts, None, "pooled", [1, 2]) == {1: 2, 2: 4}
    assert backfill_slots(p, [pt(1)] * 6, None, "pooled", [1]) == {1: 1}
    assert backfill_slots(p, [pt(1)] * 7, None, "pooled", [1]) == {1: 0}


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ("at_most", "fewer than 7 patients"),
        ("bfboin", "at most 7 patients (escalation plus backfill, pending included) before"),
    ],
)
def test_the_slot_text_follows_the_cap_rule(rule: str, text: str) -> None:
    plan = bf_plan(n_cap=7, cap_rule=rule)
    assert text in describe_slots(plan)
    assert text in plan.design.describe()


def test_a_plan_without_backfill_has_no_slots() -> None:
    plain = EscalationPlan(BOIN(num_doses=4, target=0.3), LABELS)
    assert backfill_cap(plain) is None
    assert backfill_slots(plain, [pt(1)] * 3, None, "pooled", [1]) == {}
    assert "Backfill" not in describe_slots(plain)
    assert backfill_cap(bf_plan(n_cap=7)) == 7
    assert "Backfill patients do not take these slots" in describe_slots(bf_plan(n_cap=7))


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
    st.sampled_from(["at_most", "bfboin"]),
)
def test_backfill_slot_properties(
    history: list[tuple[int, bool]], opened: list[int], cap: int, rule: str
) -> None:
    p = bf_plan(n_cap=cap, cap_rule=rule)
    limit = cap if rule == "at_most" else cap + 1  # bfboin: "<= n_cap" before enrolling
    pts = [pt(d, bf=b) for d, b in history]
    slots = backfill_slots(p, pts, None, "pooled", opened)
    assert set(slots) == set(opened)
    for d, n in slots.items():
        at = sum(1 for q in pts if q.dose == d)
        assert n == max(0, limit - at)
        # taking every slot brings the dose to the limit, never beyond
        assert at + n == max(at, limit)
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


@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.booleans(), st.booleans(), st.booleans()),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 4),
    st.integers(1, 8),
    st.sampled_from(["at_most", "bfboin"]),
)
def test_the_slots_and_the_designs_cap_are_one_rule(
    history: list[tuple[int, bool, bool, bool]], current: int, cap: int, rule: str
) -> None:
    """A dose the design opens for backfill (its C3, which every simulation uses) has a slot
    in conduct, and a dose without a slot is never open: one reading of the cap."""
    p = bf_plan(n_cap=cap, cap_rule=rule)
    pts = tuple(pt(d, bf=b, tox=t, eff=e) for d, b, t, e in history)
    state = TrialState(4, pts)
    opened = p.design.open_for_backfill(state, current)  # type: ignore[attr-defined]
    slots = backfill_slots(p, pts, None, "pooled", [1, 2, 3, 4])
    for j in (1, 2, 3, 4):
        if j in opened:
            assert slots[j] > 0, (j, slots, opened)
        if slots[j] == 0:
            assert j not in opened
