"""Tests of the 3+3 design (dose-finding spec §6.1; escalation ``R/three_plus_three.R``)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core.decision import Action, Decision
from doseladder.core.designs.three_plus_three import (
    ThreePlusThree,
    declared_mtd,
    provisional_mtd,
    too_toxic_from,
)
from doseladder.core.errors import InputError
from doseladder.core.state import Patient, TrialState


def decide(outcomes: str, num_doses: int = 3, **kwargs: Any) -> Decision:
    design = ThreePlusThree(num_doses=num_doses, **kwargs)
    return design.decide(TrialState.from_outcomes(outcomes, num_doses))


def cohort(dose: int, dlt: int, start: float = 0.0) -> list[Patient]:
    return [Patient(dose=dose, entry_time=start + i, tox=i < dlt, eff=False) for i in range(3)]


# --------------------------------------------------------------------------- rules
# (outcomes, num_doses, allow_deescalate, action, next_dose, rule)
HISTORIES = [
    # standard variant
    ("1NN", 3, False, Action.STAY, 1, "three_plus_three.complete_cohort"),
    ("1NNN", 3, False, Action.ESCALATE, 2, "three_plus_three.escalate"),
    ("1NNT", 3, False, Action.STAY, 1, "three_plus_three.expand"),
    ("1NTT", 3, False, Action.STOP, None, "three_plus_three.too_toxic"),
    ("1TTT", 3, False, Action.STOP, None, "three_plus_three.too_toxic"),
    ("1NNT 1NNN", 3, False, Action.ESCALATE, 2, "three_plus_three.escalate"),
    ("1NNT 1NNT", 3, False, Action.STOP, None, "three_plus_three.too_toxic"),
    ("1NNN 2TTN", 3, False, Action.STOP, 1, "three_plus_three.too_toxic"),
    ("1NNN 2NTN 2NNN 3TTN", 3, False, Action.STOP, 2, "three_plus_three.too_toxic"),
    ("1NNN 2NTN 2NTN", 3, False, Action.STOP, 1, "three_plus_three.too_toxic"),
    ("1NNN 2NNN 3NNN", 3, False, Action.STOP, 3, "three_plus_three.stop_top_dose"),
    ("1NNN 2NNN 3TNN", 3, False, Action.STAY, 3, "three_plus_three.expand"),
    ("1NNN 2NNN 3TNN 3NNN", 3, False, Action.STOP, 3, "three_plus_three.stop_top_dose"),
    ("1NNN 2NNN 3TNN 3NTN", 3, False, Action.STOP, 2, "three_plus_three.too_toxic"),
    ("1NNN", 1, False, Action.STOP, 1, "three_plus_three.stop_top_dose"),
    ("1TTN", 1, False, Action.STOP, None, "three_plus_three.too_toxic"),
    # Korn et al. variant
    ("1NNN 2TTN", 3, True, Action.DEESCALATE, 1, "three_plus_three.deescalate"),
    ("1NNN 2TTN 1NNN", 3, True, Action.STOP, 1, "three_plus_three.stop_mtd"),
    ("1NNN 2TTN 1TNN", 3, True, Action.STOP, 1, "three_plus_three.stop_mtd"),
    ("1NNN 2TTN 1TTN", 3, True, Action.STOP, None, "three_plus_three.too_toxic"),
    ("1NTT", 3, True, Action.STOP, None, "three_plus_three.too_toxic"),
    ("1NNN 2NNN 3TTN 2NNT", 3, True, Action.STOP, 2, "three_plus_three.stop_mtd"),
    ("1NNN 2NNN 3TTN 2TNT", 3, True, Action.DEESCALATE, 1, "three_plus_three.deescalate"),
    ("1NNN 2NNN 3TTN 2TNT 1NNN", 3, True, Action.STOP, 1, "three_plus_three.stop_mtd"),
    ("1NNN 2NNN 3TTN 2TNT 1TTN", 3, True, Action.STOP, None, "three_plus_three.too_toxic"),
    ("1NNT 1NNN 2TTN", 3, True, Action.STOP, 1, "three_plus_three.too_toxic"),
    ("1NNT 1NNN 2NNT 2NNN 3TTT", 3, True, Action.STOP, 2, "three_plus_three.too_toxic"),
    ("1NNN 2NNN 3NNN", 3, True, Action.STOP, 3, "three_plus_three.stop_top_dose"),
    ("1NNN 2NNN 3NNT 3NNN", 3, True, Action.STOP, 3, "three_plus_three.stop_top_dose"),
]


@pytest.mark.parametrize(
    ("outcomes", "num_doses", "korn", "action", "next_dose", "rule"), HISTORIES
)
def test_hand_built_histories(
    outcomes: str, num_doses: int, korn: bool, action: Action, next_dose: int | None, rule: str
) -> None:
    d = decide(outcomes, num_doses, allow_deescalate=korn)
    assert (d.action, d.next_dose, d.reason.rule) == (action, next_dose, rule)
    assert d.current_dose == int(outcomes.split()[-1][0])
    assert d.reason.values["variant"] == ("korn" if korn else "standard")


def test_start_decision() -> None:
    design = ThreePlusThree(num_doses=4, start_dose=2)
    d = design.decide(TrialState(4))
    assert (d.action, d.next_dose, d.reason.rule) == (Action.STAY, 2, "start")


def test_reason_values_and_message() -> None:
    d = decide("1NNN 2NTN 2NNN 3TTN")
    assert d.reason.values["mtd"] == 2
    assert d.reason.values["n"] == 3 and d.reason.values["dlt"] == 2
    assert "too toxic" in d.reason.message and "dose 2" in d.reason.message
    assert d.to_dict()["reason"]["rule"] == "three_plus_three.too_toxic"


def test_too_toxic_dose_and_above_are_eliminated() -> None:
    assert decide("1NNN 2TTN", 4).eliminated == {2, 3, 4}
    assert decide("1NNN 2TTN", 4, allow_deescalate=True).eliminated == {2, 3, 4}
    assert decide("1NNN 2NTN").eliminated == frozenset()


def test_top_dose_needs_only_three() -> None:
    """0/3 at the top dose stops with the top dose as MTD (spec §6.1; reference S1 row)."""
    d = decide("1NNN 2NNN 3NNN")
    assert d.stopped and d.next_dose == 3
    assert d.reason.values["n"] == 3


def test_stop_mtd_when_next_dose_already_too_toxic_standard() -> None:
    # Out-of-sequence state (the standard 3+3 never returns): rules as in escalation.
    design = ThreePlusThree(num_doses=3)
    d = design.decide_counts((3, 3, 0), (0, 2, 0), 1)
    assert (d.action, d.next_dose, d.reason.rule) == (Action.STOP, 1, "three_plus_three.stop_mtd")
    d = design.decide_counts((3, 6, 0), (0, 1, 0), 1)
    assert (d.action, d.next_dose, d.reason.rule) == (Action.STOP, 1, "three_plus_three.stop_mtd")


def test_korn_start_above_lowest_dose() -> None:
    # de-escalation to an untried dose, then 0/3 there with the dose above too toxic
    d = decide("2TTN", 3, allow_deescalate=True, start_dose=2)
    assert (d.action, d.next_dose) == (Action.DEESCALATE, 1)
    d = decide("2TTN 1NNN", 3, allow_deescalate=True, start_dose=2)
    assert (d.action, d.next_dose, d.reason.rule) == (
        Action.STOP,
        1,
        "three_plus_three.stop_mtd",
    )


def test_standard_start_above_lowest_dose_follows_spec() -> None:
    # spec §6.1: too toxic -> stop, MTD = d-1, even if d-1 was never given
    d = decide("2TTN", 3, start_dose=2)
    assert (d.action, d.next_dose) == (Action.STOP, 1)


def test_korn_no_dose_qualifies() -> None:
    design = ThreePlusThree(num_doses=2, allow_deescalate=True)
    d = design.decide_counts((6, 3), (2, 2), 2)
    assert (d.action, d.next_dose, d.reason.rule) == (
        Action.STOP,
        None,
        "three_plus_three.too_toxic",
    )


def test_eliminated_dose_in_state_blocks_escalation() -> None:
    state = TrialState.from_outcomes("1NNN", 3).with_eliminated({2, 3})
    d = ThreePlusThree(num_doses=3).decide(state)
    assert (d.action, d.next_dose, d.reason.rule) == (Action.STOP, 1, "three_plus_three.stop_mtd")
    assert d.eliminated == {2, 3}


def test_incomplete_cohort_with_two_dlts_is_completed_first() -> None:
    d = decide("1TT")
    assert (d.action, d.next_dose, d.reason.rule) == (
        Action.STAY,
        1,
        "three_plus_three.complete_cohort",
    )
    assert d.eliminated == frozenset()
    assert "too toxic" in d.reason.message
    d = decide("1TTN")
    assert (d.action, d.next_dose, d.eliminated) == (Action.STOP, None, frozenset({1, 2, 3}))


def test_untried_current_dose_treats_a_cohort() -> None:
    state = TrialState(3, tuple(cohort(1, 0)), current_dose=2)
    d = ThreePlusThree(num_doses=3).decide(state)
    assert (d.action, d.next_dose, d.reason.rule) == (
        Action.STAY,
        2,
        "three_plus_three.complete_cohort",
    )


# --------------------------------------------------------------------------- pending
def test_pending_with_complete_cohort_suspends() -> None:
    pts = [*cohort(1, 0), Patient(2, 3.0), Patient(2, 4.0), Patient(2, 5.0, tox=None)]
    d = ThreePlusThree(num_doses=3).decide(TrialState(3, tuple(pts)), now=6.0)
    assert (d.action, d.next_dose, d.reason.rule) == (
        Action.SUSPEND,
        2,
        "three_plus_three.pending",
    )
    assert d.reason.values["pending"] == 1


def test_pending_in_incomplete_cohort_completes_cohort() -> None:
    pts = [*cohort(1, 0), Patient(2, 3.0, tox=None)]
    d = ThreePlusThree(num_doses=3).decide(TrialState(3, tuple(pts)), now=4.0)
    assert (d.action, d.next_dose, d.reason.rule) == (
        Action.STAY,
        2,
        "three_plus_three.complete_cohort",
    )


def test_pending_is_never_counted_as_no_dlt() -> None:
    # 0 observed DLT in 3 with one pending must not escalate
    pts = [Patient(1, 0.0), Patient(1, 1.0), Patient(1, 2.0, tox=None)]
    d = ThreePlusThree(num_doses=3).decide(TrialState(3, tuple(pts)))
    assert d.action is Action.SUSPEND


# --------------------------------------------------------------------------- max_n
def test_max_n_stops_with_provisional_mtd() -> None:
    d = decide("1NNN 2NNN", 3, max_n=6)
    assert (d.action, d.next_dose, d.reason.rule) == (Action.STOP, 2, "max_n_reached")
    assert [s.rule for s in d.steps] == ["three_plus_three.escalate"]
    d = decide("1NNN 2NNT", 3, max_n=6)
    assert (d.action, d.next_dose) == (Action.STOP, 1)
    # a rule-based stop wins over max_n
    d = decide("1NNN 2TTN", 3, max_n=6)
    assert d.reason.rule == "three_plus_three.too_toxic"


def test_default_max_n_is_six_per_dose() -> None:
    assert ThreePlusThree(num_doses=4).max_n == 24
    assert ThreePlusThree(num_doses=4).n_max == 24


def test_more_than_six_at_a_dose_is_rejected() -> None:
    with pytest.raises(InputError) as err:
        decide("1NNT 1NNN 1N")
    assert err.value.field == "patients"


# --------------------------------------------------------------------------- helpers
def test_provisional_mtd_and_too_toxic_from() -> None:
    assert provisional_mtd((3, 3, 0), (0, 1, 0)) == 1
    assert provisional_mtd((3, 6, 3), (0, 1, 2)) == 2
    assert provisional_mtd((6, 3, 0), (2, 0, 0)) is None
    assert provisional_mtd((3, 3, 0), (0, 0, 0), frozenset({2})) == 1
    assert provisional_mtd((0, 0), (0, 0)) is None
    assert too_toxic_from((0, 2, 3)) == 2
    assert too_toxic_from((0, 0, 0), frozenset({3})) == 3
    assert too_toxic_from((0, 1)) is None


def test_declared_mtd() -> None:
    assert declared_mtd(TrialState.from_outcomes("1NNN 2TTN", 3)) == 1
    assert declared_mtd(TrialState.from_outcomes("1TTN", 3)) is None
    state = TrialState.from_outcomes("1NNN 2TTN 1NNN", 3)
    assert declared_mtd(state, allow_deescalate=True) == 1
    with pytest.raises(InputError) as err:
        declared_mtd(TrialState.from_outcomes("1NNN", 3))
    assert err.value.field == "state"


# --------------------------------------------------------------------------- select
def test_select_on_a_stopped_trial() -> None:
    design = ThreePlusThree(num_doses=3)
    state = TrialState.from_outcomes("1NNN 2NTN 2NNN 3TTN", 3)
    sel = design.select(state)
    assert sel.kind == "mtd" and sel.dose == 2
    assert sel.reason.rule == "three_plus_three.too_toxic"
    assert [e.n for e in sel.estimates] == [3, 6, 3]
    assert [e.n_tox for e in sel.estimates] == [0, 1, 2]
    ests = [e.tox_est for e in sel.estimates if e.tox_est is not None]
    assert len(ests) == 3
    assert ests == sorted(ests)  # isotonic
    assert all(e.p_overdose is not None for e in sel.estimates)
    frame = sel.to_frame()
    assert frame.loc[frame["selected"], "dose"].tolist() == [2]


def test_select_reports_untried_doses_without_estimates() -> None:
    sel = ThreePlusThree(num_doses=4).select(TrialState.from_outcomes("1NNN 2TTT", 4))
    assert sel.dose == 1
    assert sel.estimates[2].tox_est is None and sel.estimates[3].n == 0


def test_select_unfinished_and_empty() -> None:
    design = ThreePlusThree(num_doses=3)
    sel = design.select(TrialState.from_outcomes("1NNN 2NTN", 3))
    assert (sel.dose, sel.reason.rule) == (1, "three_plus_three.provisional")
    assert sel.reason.values["next_rule"] == "three_plus_three.expand"
    sel = design.select(TrialState(3))
    assert (sel.dose, sel.reason.rule) == (None, "three_plus_three.no_data")


def test_select_ignores_pending() -> None:
    design = ThreePlusThree(num_doses=3)
    pts = [*cohort(1, 0), *cohort(2, 0, 3.0)[:2], Patient(2, 5.0, tox=None)]
    sel = design.select(TrialState(3, tuple(pts)))
    assert sel.dose == 1  # 2/2 known at dose 2 do not clear it
    assert sel.reason.values["n_pending"] == 1
    assert [e.n for e in sel.estimates] == [3, 2, 0]


def test_select_target_only_changes_overdose_probability() -> None:
    state = TrialState.from_outcomes("1NNN 2NTN 2NNN 3TTN", 3)
    a = ThreePlusThree(num_doses=3, target=0.2).select(state)
    b = ThreePlusThree(num_doses=3, target=0.4).select(state)
    assert a.dose == b.dose
    assert [e.tox_est for e in a.estimates] == [e.tox_est for e in b.estimates]
    assert a.estimates[0].p_overdose != b.estimates[0].p_overdose


# --------------------------------------------------------------------------- reporting
@pytest.mark.parametrize("korn", [False, True])
def test_decision_rules_table_matches_decide(korn: bool) -> None:
    design = ThreePlusThree(num_doses=3, allow_deescalate=korn)
    table = design.tables()["decision_rules"]
    assert list(table.columns) == ["n_at_dose", "dlt", "decision", "rule", "action"]
    assert len(table) == 4 + 7
    expected_action = {
        "escalate": Action.ESCALATE,
        "expand": Action.STAY,
        "too_toxic": Action.DEESCALATE if korn else Action.STOP,
    }
    rows: list[dict[Any, Any]] = table.to_dict(orient="records")
    for row in rows:
        # middle dose 2 of 3, dose 1 cleared with 3 patients, dose 3 untried
        d = design.decide_counts((3, row["n_at_dose"], 0), (0, row["dlt"], 0), 2)
        assert d.action is expected_action[row["decision"]], row
        assert d.reason.rule in (row["rule"], "three_plus_three.deescalate")


def test_describe_and_to_dict() -> None:
    std = ThreePlusThree(num_doses=5)
    korn = ThreePlusThree(num_doses=5, allow_deescalate=True, max_n=12)
    assert "3+3" in std.describe() and "Korn" not in std.describe()
    assert "Korn" in korn.describe() and "12 patients" in korn.describe()
    assert "highest dose level" in std.describe()
    d = korn.to_dict()
    assert d["design"] == "3+3"
    params = {k: v for k, v in d.items() if k != "design"}
    assert ThreePlusThree(**params) == korn
    assert ThreePlusThree.name == "3+3" and ThreePlusThree.target_kind == "mtd"


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"num_doses": 0}, "num_doses"),
        ({"num_doses": 2.5}, "num_doses"),
        ({"num_doses": 3, "cohort_size": 2}, "cohort_size"),
        ({"num_doses": 3, "cohort_size": 6}, "cohort_size"),
        ({"num_doses": 3, "start_dose": 4}, "start_dose"),
        ({"num_doses": 3, "start_dose": 0}, "start_dose"),
        ({"num_doses": 3, "max_n": 0}, "max_n"),
        ({"num_doses": 3, "max_n": 10}, "max_n"),
        ({"num_doses": 3, "max_n": "12"}, "max_n"),
        ({"num_doses": 3, "allow_deescalate": "yes"}, "allow_deescalate"),
        ({"num_doses": 3, "target": 1.5}, "target"),
        ({"num_doses": 3, "target": 0.0}, "target"),
    ],
)
def test_validation_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        ThreePlusThree(**kwargs)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_state_with_wrong_number_of_doses() -> None:
    with pytest.raises(InputError) as err:
        ThreePlusThree(num_doses=3).decide(TrialState.from_outcomes("1NNN", 4))
    assert err.value.field == "num_doses"


# --------------------------------------------------------------------------- invariants
@st.composite
def trials(draw: st.DrawFn) -> tuple[ThreePlusThree, list[bool]]:
    num_doses = draw(st.integers(1, 5))
    design = ThreePlusThree(
        num_doses=num_doses,
        allow_deescalate=draw(st.booleans()),
        start_dose=draw(st.integers(1, num_doses)),
    )
    outcomes = draw(st.lists(st.booleans(), min_size=0, max_size=12 * num_doses))
    return design, outcomes


@settings(max_examples=400, deadline=None)
@given(trials())
def test_invariants_along_trial_paths(trial: tuple[ThreePlusThree, list[bool]]) -> None:
    """Patients enter one at a time at the recommended dose; check every decision."""
    design, outcomes = trial
    j_max = design.num_doses
    state = TrialState(j_max)
    decision = design.decide(state)
    for t, tox in enumerate(outcomes):
        assert decision.next_dose is not None
        patient = Patient(decision.next_dose, float(t), tox=tox)
        state = state.with_patients([patient]).with_eliminated(decision.eliminated)
        decision = design.decide(state)
        counts = state.counts()
        nxt = decision.next_dose
        assert all(n <= 6 for n in counts.n)
        assert all(n % 3 == 0 for j, n in enumerate(counts.n) if j + 1 != state.current_dose)
        assert decision.eliminated >= state.eliminated  # permanent
        if nxt is not None:
            # never more than one above the highest dose tried; never skip on escalation
            assert nxt <= max(state.tried()) + 1
            assert nxt <= (state.current_dose or 0) + 1
            assert nxt not in decision.eliminated
            if decision.reason.rule != "three_plus_three.complete_cohort":
                # never a dose declared too toxic, nor one above it
                assert counts.tox[nxt - 1] < 2
                first_toxic = too_toxic_from(counts.tox)
                assert first_toxic is None or nxt < first_toxic
        if decision.stopped:
            assert design.select(state).dose == nxt
            break
    else:
        assert not decision.stopped
        if state.n_patients:
            assert design.select(state).reason.rule == "three_plus_three.provisional"

    # pending outcomes are never counted: the last patient's outcome becomes pending
    if state.n_patients:
        last = state.patients[-1]
        pending_state = TrialState(
            j_max,
            (*state.patients[:-1], Patient(last.dose, last.entry_time, tox=None, eff=None)),
            eliminated=state.eliminated,
        )
        d = design.decide(pending_state, now=float(len(outcomes)))
        assert d.action in (Action.SUSPEND, Action.STAY)
        assert d.next_dose == pending_state.current_dose
        assert d.eliminated == state.eliminated
        known_state = TrialState(
            j_max,
            state.patients[:-1],
            current_dose=pending_state.current_dose,
            eliminated=state.eliminated,
        )
        a, b = design.select(pending_state), design.select(known_state)
        assert a.dose == b.dose
        assert a.estimates == b.estimates
