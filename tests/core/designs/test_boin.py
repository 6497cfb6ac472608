"""Tests of the BOIN design (spec ``dose-finding.md`` §1; BOIN 2.7.2)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta as beta_dist

from doseladder.core.decision import Action, Decision
from doseladder.core.designs.boin import (
    BOIN,
    b_d,
    b_e,
    b_elim,
    boin_lambdas,
    boundary_table,
    extrasafe_stop_boundary,
)
from doseladder.core.errors import InputError
from doseladder.core.select_mtd import select_mtd
from doseladder.core.state import Patient, TrialState, parse_outcomes


def _row(text: str) -> list[int | None]:
    return [None if t == "NA" else int(t) for t in text.split()]


# Spec §1.2 [D: get.boundary(target, ncohort=10, cohortsize=3) run from the BOIN 2.7.2 source]:
# full n = 1..30 rows (escalate if y <=, de-escalate if y >=, eliminate if y >=) and λe, λd.
FULL_TABLES = {
    0.20: (
        0.157242,
        0.238462,
        "0 0 0 0 0 0 1 1 1 1 1 1 2 2 2 2 2 2 2 3 3 3 3 3 3 4 4 4 4 4",
        "1 1 1 1 2 2 2 2 3 3 3 3 4 4 4 4 5 5 5 5 6 6 6 6 6 7 7 7 7 8",
        "NA NA 2 3 3 3 4 4 4 5 5 5 5 6 6 6 7 7 7 7 8 8 8 8 9 9 9 9 10 10",
    ),
    0.25: (
        0.196801,
        0.298392,
        "0 0 0 0 0 1 1 1 1 1 2 2 2 2 2 3 3 3 3 3 4 4 4 4 4 5 5 5 5 5",
        "1 1 1 2 2 2 3 3 3 3 4 4 4 5 5 5 6 6 6 6 7 7 7 8 8 8 9 9 9 9",
        "NA NA 3 3 3 4 4 4 5 5 6 6 6 7 7 7 8 8 8 9 9 9 10 10 10 11 11 11 12 12",
    ),
    0.30: (
        0.236491,
        0.358519,
        "0 0 0 0 1 1 1 1 2 2 2 2 3 3 3 3 4 4 4 4 4 5 5 5 5 6 6 6 6 7",
        "1 1 2 2 2 3 3 3 4 4 4 5 5 6 6 6 7 7 7 8 8 8 9 9 9 10 10 11 11 11",
        "NA NA 3 3 4 4 5 5 5 6 6 7 7 8 8 8 9 9 9 10 10 11 11 11 12 12 12 13 13 14",
    ),
    0.35: (
        0.276334,
        0.418908,
        "0 0 0 1 1 1 1 2 2 2 3 3 3 3 4 4 4 4 5 5 5 6 6 6 6 7 7 7 8 8",
        "1 1 2 2 3 3 3 4 4 5 5 6 6 6 7 7 8 8 8 9 9 10 10 11 11 11 12 12 13 13",
        "NA NA 3 4 4 5 5 6 6 7 7 7 8 8 9 9 10 10 11 11 11 12 12 13 13 14 14 14 15 15",
    ),
}

# Spec §1.2 "Other targets" table [D]: n = 3, 6, ..., 18 (escalate, de-escalate, eliminate).
COHORT_TABLES = {
    0.20: ("0 0 1 1 2 2", "1 2 3 3 4 5", "2 3 4 5 6 7"),
    0.25: ("0 1 1 2 2 3", "1 2 3 4 5 6", "3 4 5 6 7 8"),
    0.30: ("0 1 2 2 3 4", "2 3 4 5 6 7", "3 4 5 7 8 9"),
    0.35: ("0 1 2 3 4 4", "2 3 4 6 7 8", "3 5 6 7 9 10"),
}


@pytest.mark.parametrize("target", sorted(FULL_TABLES))
def test_lambdas(target: float) -> None:
    lam_e, lam_d = FULL_TABLES[target][:2]
    design = BOIN(num_doses=5, target=target)
    assert design.lambda_e == pytest.approx(lam_e, abs=5e-7)
    assert design.lambda_d == pytest.approx(lam_d, abs=5e-7)
    assert boin_lambdas(target, 0.6 * target, 1.4 * target) == (design.lambda_e, design.lambda_d)


@pytest.mark.parametrize("target", sorted(FULL_TABLES))
def test_full_boundary_table(target: float) -> None:
    _, _, esc, des, eli = FULL_TABLES[target]
    table = BOIN(num_doses=5, target=target, max_n=30).tables()["boundaries"]
    assert list(table.columns) == ["n", "escalate", "deescalate", "eliminate"]
    assert list(table["n"]) == list(range(1, 31))
    assert list(table["escalate"]) == _row(esc)
    assert list(table["deescalate"]) == _row(des)
    assert [None if pd.isna(v) else int(v) for v in table["eliminate"]] == _row(eli)
    assert str(table["eliminate"].dtype) == "Int64"
    # the pure functions give the same numbers
    lam_e, lam_d = boin_lambdas(target, 0.6 * target, 1.4 * target)
    for n in range(1, 31):
        el = b_elim(n, target)
        assert el == _row(eli)[n - 1]
        assert b_e(n, lam_e) == _row(esc)[n - 1]
        assert b_d(n, lam_d, el) == _row(des)[n - 1]
    pd.testing.assert_frame_equal(boundary_table(target, 30), table)


@pytest.mark.parametrize("target", sorted(COHORT_TABLES))
def test_boundary_table_by_cohort(target: float) -> None:
    esc, des, eli = COHORT_TABLES[target]
    table = BOIN(num_doses=5, target=target, max_n=18).tables()["boundaries_by_cohort"]
    assert list(table["n"]) == [3, 6, 9, 12, 15, 18]
    assert list(table["escalate"]) == _row(esc)
    assert list(table["deescalate"]) == _row(des)
    assert list(table["eliminate"]) == _row(eli)


def test_tables_truncated_at_n_earlystop_and_stop_boundary_only_with_extrasafe() -> None:
    tabs = BOIN(num_doses=5, target=0.3, max_n=30, n_earlystop=12).tables()
    assert list(tabs["boundaries"]["n"]) == list(range(1, 13))
    assert list(tabs["boundaries_by_cohort"]["n"]) == [3, 6, 9, 12]
    assert "stop_lowest_dose" not in tabs


def test_extrasafe_stop_boundary() -> None:
    # Spec §1.2 [D]: φ = 0.30, cutoff 0.95 − 0.05 = 0.90, n = 1..30 at the lowest dose.
    expected = _row("NA NA 2 3 3 4 4 4 5 5 6 6 6 7 7 8 8 8 9 9 9 10 10 10 11 11 12 12 12 13")
    assert [extrasafe_stop_boundary(n, 0.3) for n in range(1, 31)] == expected
    tab = BOIN(num_doses=3, target=0.3, extrasafe=True).tables()["stop_lowest_dose"]
    assert list(tab.columns) == ["n", "stop"]
    assert [None if pd.isna(v) else int(v) for v in tab["stop"]] == expected


def test_b_d_exact_integer_guard_and_cap() -> None:
    # get.boundary.R: ceiling, except +1 when λd·n is within 1e-12 of an integer
    assert b_d(4, 0.25) == 2  # λd·n = 1 exactly -> 2, not 1
    assert b_d(3, 1 / 3) == 2  # 3·(1/3) = 1.0 in floating point
    assert b_d(10, 0.1 + 1e-14) == 2  # within the tolerance
    assert b_d(10, 0.1 + 1e-9) == 2  # ceil(1.00000001) = 2
    assert b_d(10, 0.15) == 2
    assert b_d(10, 0.9, elim=5) == 5  # capped at the elimination boundary
    assert b_d(10, 0.2, elim=5) == 3


def test_b_elim_definition() -> None:
    assert b_elim(1, 0.3) is None and b_elim(2, 0.3) is None
    # target 0.6, n = 3: even 3/3 gives Pr(p > 0.6) = 1 − 0.6^4 = 0.8704 <= 0.95 -> NA
    assert b_elim(3, 0.6) is None
    assert b_elim(3, 0.3) == 3  # 1 − 0.3^4 = 0.9919 > 0.95; 2/3 gives 0.9163


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"target": 0.04}, "target", "[0.05, 0.6]"),
        ({"target": 0.61}, "target", "[0.05, 0.6]"),
        ({"target": "0.3"}, "target", "number"),
        ({"p_saf": 0.28}, "p_saf", "0.9·target"),
        ({"p_saf": 0.31}, "p_saf", "(0, 0.3)"),
        ({"p_tox": 0.32}, "p_tox", "1.1·target"),
        ({"p_tox": 1.0}, "p_tox", "(0.3, 1)"),
        ({"cutoff_eli": 1.0}, "cutoff_eli", "(0.5, 1)"),
        ({"offset": 0.5}, "offset", "[0, 0.5)"),
        ({"n_earlystop": 0}, "n_earlystop", ">= 1"),
        ({"extrasafe": 1}, "extrasafe", "true or false"),
        ({"bound_mtd": "yes"}, "bound_mtd", "true or false"),
        ({"num_doses": 0}, "num_doses", "1..100"),
        ({"start_dose": 6}, "start_dose", "1..5"),
        ({"cohort_size": 0}, "cohort_size", "1..100"),
        ({"max_n": 0}, "max_n", "1..10000"),
    ],
)
def test_validation_names_the_field(kwargs: dict[str, object], field: str, fragment: str) -> None:
    params: dict[str, object] = {"num_doses": 5, "target": 0.3, **kwargs}
    with pytest.raises(InputError) as err:
        BOIN(**params)  # type: ignore[arg-type]
    assert err.value.field == field
    assert fragment in err.value.reason


def test_defaults_are_r_defaults() -> None:
    d = BOIN(num_doses=5, target=0.3)
    assert (d.cohort_size, d.max_n, d.start_dose, d.cutoff_eli, d.offset) == (3, 30, 1, 0.95, 0.05)
    assert (d.extrasafe, d.n_earlystop, d.bound_mtd) == (False, 100, False)
    assert d.phi_1 == pytest.approx(0.18) and d.phi_2 == pytest.approx(0.42)
    assert d.to_dict()["design"] == "boin"


# --------------------------------------------------------------------------- conduct
def _replay(design: BOIN, outcomes: str) -> list[Decision]:
    """Decide after each cohort; carry the eliminated doses of each decision forward."""
    state = TrialState(design.num_doses)
    decisions = []
    for cohort in parse_outcomes(outcomes):
        state = state.with_patients(cohort)
        decision = design.decide(state)
        decisions.append(decision)
        state = state.with_eliminated(decision.eliminated)
    return decisions


def test_jss_tutorial_conduct_sequence() -> None:
    # Spec §1.4 [S escalation tests/testthat/test_boin.R, "p.25 of Han, Pan, Zhang, Liu & Yuan
    # (2019)" = the JSS tutorial]: 5 doses, φ = 0.3.
    outcomes = "1NNN 2NNN 3NTT 2NTN 3NNN 3NNN 4TTT 3NTN 3NNT 3TNN"
    expected = [2, 3, 2, 3, 3, 4, 3, 3, 3, 3]
    design = BOIN(num_doses=5, target=0.3, max_n=60)
    decisions = _replay(design, outcomes)
    assert [d.next_dose for d in decisions] == expected
    assert [d.action for d in decisions] == [
        Action.ESCALATE,
        Action.ESCALATE,
        Action.DEESCALATE,
        Action.ESCALATE,
        Action.STAY,
        Action.ESCALATE,
        Action.DEESCALATE,
        Action.STAY,
        Action.STAY,
        Action.STAY,
    ]
    # 4TTT: 3/3 DLTs at dose 4 -> eliminate 4 and 5, then de-escalate
    elim = decisions[6]
    assert elim.eliminated == frozenset({4, 5})
    assert [s.rule for s in elim.steps] == ["boin.eliminate"]
    assert elim.steps[0].values["b_elim"] == 3
    assert elim.reason.rule == "boin.deescalate"
    assert all(d.eliminated == frozenset({4, 5}) for d in decisions[6:])
    # with max_n = 30 (BOIN's default) the last cohort reaches the maximum sample size
    last = _replay(BOIN(num_doses=5, target=0.3), outcomes)[-1]
    assert last.action is Action.STOP
    assert last.next_dose == 3
    assert last.reason.rule == "max_n_reached"
    assert last.steps[-1].rule == "boin.stay"


def _state(outcomes: str, num_doses: int = 5, **kw: object) -> TrialState:
    state = TrialState.from_outcomes(outcomes, num_doses)
    if kw:
        state = TrialState(num_doses, state.patients, **kw)  # type: ignore[arg-type]
    return state


def test_decision_reason_values() -> None:
    d = BOIN(num_doses=5, target=0.3)
    dec = d.decide(_state("1NNN 2NNN 3NTN"))
    assert dec.action is Action.STAY and dec.next_dose == 3 and dec.current_dose == 3
    v = dec.reason.values
    assert dec.reason.rule == "boin.stay"
    assert (v["n"], v["y"], v["b_e"], v["b_d"], v["b_elim"]) == (3, 1, 0, 2, 3)
    assert v["lambda_e"] == pytest.approx(0.236491, abs=1e-6)
    assert "1 of 3" in dec.reason.message


def test_start_dose_when_empty() -> None:
    dec = BOIN(num_doses=4, target=0.25, start_dose=2).decide(TrialState(4))
    assert dec.next_dose == 2 and dec.action is Action.STAY


def test_lowest_dose_eliminated_stops_without_mtd() -> None:
    dec = BOIN(num_doses=3, target=0.3).decide(_state("1TTT", 3))
    assert dec.action is Action.STOP
    assert dec.next_dose is None
    assert dec.reason.rule == "boin.eliminate"
    assert dec.eliminated == frozenset({1, 2, 3})
    # also when dose 1 was eliminated earlier (carried in the state)
    carried = BOIN(num_doses=3, target=0.3).decide(_state("1NNN", 3, eliminated=frozenset({1})))
    assert carried.action is Action.STOP and carried.next_dose is None


def test_extrasafe_stop() -> None:
    # 2/3 at dose 1, φ = 0.3: Pr(p > 0.3) = 0.9163 > 0.90 but not > 0.95
    plain = BOIN(num_doses=3, target=0.3).decide(_state("1NTT", 3))
    assert plain.action is Action.STAY and plain.reason.rule == "boin.stay"
    assert plain.reason.values["blocked"] == "lowest_dose"
    assert plain.steps[-1].rule == "boin.deescalate"
    safe = BOIN(num_doses=3, target=0.3, extrasafe=True).decide(_state("1NTT", 3))
    assert safe.action is Action.STOP and safe.next_dose is None
    assert safe.reason.rule == "boin.extrasafe_stop"
    assert safe.reason.values["stop_boundary"] == 2
    assert safe.eliminated == frozenset({1, 2, 3})


def test_escalation_into_eliminated_dose_is_stay() -> None:
    state = _state("1NNN 2NNN 3TTT 2NNN", 4, eliminated=frozenset({3}))
    dec = BOIN(num_doses=4, target=0.3).decide(state)
    assert dec.action is Action.STAY and dec.next_dose == 2
    assert dec.reason.values["blocked"] == "eliminated"
    assert dec.eliminated == frozenset({3, 4})
    # eliminations are recovered from the data even if the state does not carry them
    again = BOIN(num_doses=4, target=0.3).decide(_state("1NNN 2NNN 3TTT 2NNN", 4))
    assert (again.action, again.next_dose, again.eliminated) == (
        dec.action,
        dec.next_dose,
        dec.eliminated,
    )
    assert [s.rule for s in again.steps] == ["boin.eliminate", "boin.escalate"]


def test_highest_dose_escalation_is_stay() -> None:
    dec = BOIN(num_doses=2, target=0.3).decide(_state("1NNN 2NNN", 2))
    assert dec.action is Action.STAY and dec.next_dose == 2
    assert dec.reason.values["blocked"] == "highest_dose"


def test_current_dose_previously_eliminated_moves_down() -> None:
    state = _state("1NNN 2NNN 3NNN", 4, eliminated=frozenset({2}))
    dec = BOIN(num_doses=4, target=0.3).decide(state)
    assert dec.action is Action.DEESCALATE and dec.next_dose == 1


@pytest.mark.parametrize(
    ("outcomes", "num_doses", "stops"),
    [
        ("1NNN 1NNN 1NNN", 3, False),  # 0/9 escalates: no stop
        ("1NNN 2NTN 2NNT 2TNN", 3, True),  # 3/9 at dose 2: stay -> stop
        ("1NTT 1TNN 1NNT", 3, True),  # 4/9 at dose 1 would de-escalate below dose 1 -> stop
        ("1NNN 2NNN 2NNN 2NNN", 2, True),  # highest dose, would escalate -> stop
        ("1NNN 2NTT 2TTN 2NNN", 3, False),  # de-escalates from dose 2: no stop
    ],
)
def test_n_earlystop_2_7_2_semantics(outcomes: str, num_doses: int, stops: bool) -> None:
    design = BOIN(num_doses=num_doses, target=0.3, n_earlystop=9)
    dec = design.decide(_state(outcomes, num_doses))
    assert (dec.reason.rule == "boin.n_earlystop") is stops
    if stops:
        assert dec.action is Action.STOP and dec.next_dose == dec.current_dose
    # with n_earlystop off, the same state never stops
    assert (
        BOIN(num_doses=num_doses, target=0.3).decide(_state(outcomes, num_doses)).action
        is not Action.STOP
    )


def test_max_n_stop_keeps_rule_dose() -> None:
    dec = BOIN(num_doses=5, target=0.3, max_n=6).decide(_state("1NNN 2NNN"))
    assert dec.action is Action.STOP
    assert dec.next_dose == 3
    assert dec.reason.rule == "max_n_reached"
    assert dec.reason.values["rule_next_dose"] == 3
    assert dec.steps[-1].rule == "boin.escalate"


def test_pending_outcome_suspends() -> None:
    patients = (*TrialState.from_outcomes("1NNN", 3).patients, Patient(dose=2, tox=None))
    state = TrialState(3, patients)
    dec = BOIN(num_doses=3, target=0.3).decide(state)
    assert dec.action is Action.SUSPEND
    assert dec.reason.rule == "boin.pending"
    assert dec.next_dose == 2
    with pytest.raises(InputError) as err:
        BOIN(num_doses=3, target=0.3).select(state)
    assert err.value.field == "state"


def test_select_is_select_mtd() -> None:
    state = _state("1NNN 2NNN 3NTN 3NNN 3NNT 3TNN 3NNN 4TNT 4NTN 4NNN")
    design = BOIN(num_doses=5, target=0.3)
    sel = design.select(state)
    c = state.counts()
    assert sel == select_mtd(c.n, c.tox, 0.3)
    # dose 3: 3/15 (p̂ = 0.202), dose 4: 3/9 (p̂ = 0.335) -> dose 4 is closest to 0.3
    assert sel.kind == "mtd" and sel.dose == 4


def test_select_bound_mtd_and_extrasafe_passed_through() -> None:
    state = _state("1NNN 1NNN 2NTT 2NTN", 3)
    assert BOIN(num_doses=3, target=0.3).select(state).dose == 2
    assert BOIN(num_doses=3, target=0.3, bound_mtd=True).select(state).dose == 1
    es = _state("1NTT", 3)
    assert BOIN(num_doses=3, target=0.3).select(es).dose == 1
    assert BOIN(num_doses=3, target=0.3, extrasafe=True).select(es).dose is None


def test_describe_mentions_rules_and_numbers() -> None:
    text = BOIN(num_doses=5, target=0.3, extrasafe=True, n_earlystop=12).describe()
    assert "Liu & Yuan" in text and "2.7.2" in text
    assert "0.2365" in text and "0.3585" in text
    assert "n = 3 6 9 12" in text
    assert "<= 0 1 2 2" in text and ">= 2 3 4 5" in text
    assert "Extra-safe" in text and "n_earlystop" not in text  # plain English
    assert "12 patients" in text


# ------------------------------------------------------------------------ invariants
@st.composite
def _designs(draw: st.DrawFn) -> BOIN:
    num_doses = draw(st.integers(1, 6))
    return BOIN(
        num_doses=num_doses,
        target=draw(st.sampled_from([0.2, 0.25, 0.3, 0.35])),
        cohort_size=draw(st.integers(1, 3)),
        max_n=draw(st.integers(3, 36)),
        start_dose=draw(st.integers(1, num_doses)),
        extrasafe=draw(st.booleans()),
        n_earlystop=draw(st.sampled_from([100, 6, 9, 12])),
        bound_mtd=draw(st.booleans()),
    )


@settings(max_examples=200, deadline=None)
@given(design=_designs(), data=st.data())
def test_simulated_trials_respect_invariants(design: BOIN, data: st.DataObject) -> None:
    state = TrialState(design.num_doses)
    decision = design.decide(state)
    cohort_no = 0
    while not decision.stopped:
        assert decision.next_dose is not None
        dose = decision.next_dose
        tried = state.tried()
        # never eliminated, never more than one level above the highest tried dose
        assert dose not in decision.eliminated
        assert dose <= max(tried, default=design.start_dose - 1) + 1 or not tried
        outcomes = data.draw(
            st.lists(st.booleans(), min_size=design.cohort_size, max_size=design.cohort_size)
        )
        cohort = [Patient(dose=dose, tox=t, cohort=cohort_no) for t in outcomes]
        cohort_no += 1
        previous = decision.eliminated
        state = state.with_patients(cohort).with_eliminated(previous)
        decision = design.decide(state)
        assert decision.eliminated >= previous
        # upward closed
        if decision.eliminated:
            assert decision.eliminated == frozenset(
                range(min(decision.eliminated), design.num_doses + 1)
            )
        assert decision.action is not Action.SUSPEND
    if decision.next_dose is not None:
        assert decision.next_dose not in decision.eliminated
    sel = design.select(state)
    if sel.dose is not None:
        assert sel.dose in state.tried()
        assert sel.dose not in decision.eliminated
    if 1 in decision.eliminated:
        assert sel.dose is None


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_pending_never_counted(data: st.DataObject) -> None:
    design = BOIN(num_doses=3, target=0.3)
    outcomes = data.draw(st.lists(st.sampled_from([True, False, None]), min_size=1, max_size=12))
    state = TrialState(3, tuple(Patient(dose=1, tox=t) for t in outcomes))
    dec = design.decide(state)
    if None in outcomes:
        assert dec.action is Action.SUSPEND and dec.reason.rule == "boin.pending"
        assert dec.reason.values["pending"] == outcomes.count(None)
    else:
        assert dec.action is not Action.SUSPEND
        assert dec.reason.values["y"] == sum(bool(t) for t in outcomes)


# ------------------------------------------------- literal port of the get.oc trial loop
def _r_get_oc_trial(design: BOIN, tox: list[bool]) -> tuple[list[int], int | None]:
    """One trial of ``get.oc.R`` (BOIN 2.7.2) on a given patient-outcome sequence.

    Returns the dose of every cohort (1-based) and the selected MTD (``None`` for R's 99).
    """
    J, cs = design.num_doses, design.cohort_size
    npts = design.max_n
    table = boundary_table(design.target, npts, cutoff_eli=design.cutoff_eli)
    be = list(table["escalate"])
    bd = list(table["deescalate"])
    bel = [None if pd.isna(v) else int(v) for v in table["eliminate"]]
    y, n, elimi = [0] * J, [0] * J, [0] * J
    d = design.start_dose - 1
    earlystop = False
    doses: list[int] = []
    it = iter(tox)
    for _ in range(npts // cs):
        doses.append(d + 1)
        new = [next(it) for _ in range(cs)]
        if sum(n) + cs >= npts:
            nremain = npts - sum(n)
            y[d] += sum(new[:nremain])
            n[d] += nremain
            break
        y[d] += sum(new)
        n[d] += cs
        k = n[d] - 1
        el = bel[k]
        if el is not None:
            if y[d] >= el:
                elimi[d:] = [1] * (J - d)
                if d == 0:
                    earlystop = True
                    break
            if (
                design.extrasafe
                and d == 0
                and n[0] >= 3
                and 1 - beta_dist.cdf(design.target, y[0] + 1, n[0] - y[0] + 1)
                > design.cutoff_eli - design.offset
            ):
                earlystop = True
                break
        if n[d] >= design.n_earlystop and (
            (be[k] < y[d] < bd[k])
            or (d == 0 and y[d] >= bd[k])
            or ((d == J - 1 or elimi[d + 1] == 1) and y[d] <= be[k])
        ):
            break
        if y[d] <= be[k] and d != J - 1:
            if elimi[d + 1] == 0:
                d += 1
        elif y[d] >= bd[k] and d != 0:
            d -= 1
    if earlystop:
        return doses, None
    sel = select_mtd(
        n,
        y,
        design.target,
        cutoff_eli=design.cutoff_eli,
        extrasafe=design.extrasafe,
        offset=design.offset,
        bound_mtd=design.bound_mtd,
        p_tox=design.phi_2,
    )
    return doses, sel.dose


@settings(max_examples=300, deadline=None)
@given(
    num_doses=st.integers(1, 6),
    target=st.sampled_from([0.2, 0.25, 0.3, 0.35]),
    cohort_size=st.integers(1, 3),
    ncohort=st.integers(1, 12),
    extrasafe=st.booleans(),
    n_earlystop=st.sampled_from([100, 6, 9, 12]),
    p_tox=st.floats(0.0, 0.7),
    data=st.data(),
)
def test_conduct_matches_literal_port_of_get_oc(
    num_doses: int,
    target: float,
    cohort_size: int,
    ncohort: int,
    extrasafe: bool,
    n_earlystop: int,
    p_tox: float,
    data: st.DataObject,
) -> None:
    design = BOIN(
        num_doses=num_doses,
        target=target,
        cohort_size=cohort_size,
        max_n=ncohort * cohort_size,
        extrasafe=extrasafe,
        n_earlystop=n_earlystop,
    )
    # outcomes drawn with a DLT probability so that all regions of the rules are visited
    tox = data.draw(
        st.lists(
            st.floats(0, 1).map(lambda u: u < p_tox), min_size=design.max_n, max_size=design.max_n
        )
    )
    expected_doses, expected_mtd = _r_get_oc_trial(design, tox)

    state = TrialState(num_doses)
    decision = design.decide(state)
    doses: list[int] = []
    it = iter(tox)
    while True:
        assert decision.next_dose is not None
        dose = decision.next_dose
        doses.append(dose)
        cohort = [Patient(dose=dose, tox=next(it)) for _ in range(cohort_size)]
        state = state.with_patients(cohort).with_eliminated(decision.eliminated)
        decision = design.decide(state)
        if decision.stopped:
            break
    assert doses == expected_doses
    assert design.select(state).dose == expected_mtd
