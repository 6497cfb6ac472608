"""TITE-BOIN12 (Zhou et al. 2022), approximated-likelihood method, dose-finding spec §4.

The worked numbers at day 315 of the paper's illustrative trial (spec §4.5) are [D] in the spec
and agree with the secondary source; the calendar is in
``tests/core/designs/data/tite_boin12_paper_calendar.csv`` (provenance in its header).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core.decision import Action
from doseladder.core.designs.boin12 import BOIN12, AdmissibilityMode, inadmissible_doses
from doseladder.core.designs.tite_boin12 import (
    TITEBOIN12,
    PendingAdmissibility,
    al_summary,
    follow_up_weight,
    impute,
)
from doseladder.core.errors import InputError
from doseladder.core.replay import replay_outcomes
from doseladder.core.selection import Selection
from doseladder.core.state import Patient, TrialState

DATA = Path(__file__).parent / "data"
A_T, A_E = 45.0, 60.0


def _calendar() -> list[dict[str, str]]:
    with open(DATA / "tite_boin12_paper_calendar.csv", newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def state_at(now: float, num_doses: int = 5) -> TrialState:
    """What is known on day ``now``: events seen by then, windows completed, else pending."""
    patients = []
    for r in _calendar():
        entry = float(r["entry"])
        if entry > now:
            continue

        def status(
            flag: str, day: str, window: float, entry: float = entry
        ) -> tuple[bool | None, float | None]:
            if flag == "1" and entry + float(day) <= now:
                return True, float(day)
            if flag == "0" and entry + window <= now:
                return False, None
            return None, None

        tox, tox_time = status(r["dlt"], r["dlt_day"], A_T)
        eff, eff_time = status(r["eff"], r["eff_day"], A_E)
        patients.append(Patient(int(r["dose"]), entry, tox, tox_time, eff, eff_time, cohort=None))
    return TrialState(num_doses, tuple(patients))


def _same_selection(a: Selection, b: Selection) -> bool:
    return (a.kind, a.dose, a.mtd, a.estimates, a.reason.message, dict(a.reason.values)) == (
        b.kind,
        b.dose,
        b.mtd,
        b.estimates,
        b.reason.message,
        dict(b.reason.values),
    ) and a.reason.rule.replace("tite_boin12.", "boin12.") == b.reason.rule


def design(**kw: Any) -> TITEBOIN12:
    return TITEBOIN12(5, tox_window=A_T, eff_window=A_E, max_n=18, **kw)


# ------------------------------------------------------------------- paper example
def test_day_315_worked_numbers() -> None:
    state = state_at(315)
    s = al_summary(design(), state, 315)
    ess_t, ess_e = s.extra["ess_tox_by_dose"], s.extra["ess_eff_by_dose"]
    assert ess_t[2] == pytest.approx(14 / 3, abs=1e-12)
    assert s.p_tox[2] == pytest.approx(3 / 7, abs=1e-12)
    assert ess_e[2] == pytest.approx(4.5, abs=1e-12)
    assert s.extra["p_hat_eff_by_dose"][2] == pytest.approx(0.444444, abs=1e-6)
    # patient 14 (entry 295) and 15 (entry 305)
    p_t, p_e = 3 / 7, 4 / 9
    assert impute(p_t, 20 / 45) == pytest.approx(0.294118, abs=1e-6)
    assert impute(p_e, 20 / 60) == pytest.approx(0.347826, abs=1e-6)
    assert impute(p_t, 10 / 45) == pytest.approx(0.368421, abs=1e-6)
    assert impute(p_e, 10 / 60) == pytest.approx(0.400000, abs=1e-6)
    assert s.x[2] == pytest.approx(2.983680, abs=1e-6)
    assert s.n[2] == 6
    assert s.desirability[2] == pytest.approx(0.1172, abs=5e-5)
    assert s.x[1] == pytest.approx(1.4) and s.desirability[1] == pytest.approx(0.1558, abs=5e-5)
    assert s.x[3] == pytest.approx(0.4) and s.desirability[3] == pytest.approx(0.0224, abs=5e-5)


def test_day_315_decision_deescalates() -> None:
    # p̂_T = 3/7 >= λd = 0.4189: the AL rule de-escalates to dose 2 (the paper's illustration
    # keeps dose 3 -- the open discrepancy of spec §4.5)
    dec = design().decide(state_at(315), now=315)
    assert dec.action is Action.DEESCALATE and dec.next_dose == 2
    assert dec.reason.rule == "tite_boin12.deescalate"
    assert dec.reason.values["p_hat"] == pytest.approx(3 / 7)


LEDGER = [  # day, current dose, n, pending tox, pending eff, DLTs, responses (spec §4.5)
    (71, 1, 3, 0, 1, 0, 0),
    (142, 2, 3, 0, 1, 1, 1),
    (213, 3, 3, 0, 1, 1, 1),
    (284, 4, 3, 0, 1, 2, 0),
    (315, 3, 6, 2, 2, 2, 2),
    (396, 3, 9, 0, 0, 3, 5),
]


@pytest.mark.parametrize("row", LEDGER, ids=[str(r[0]) for r in LEDGER])
def test_observation_ledger(row: tuple[int, ...]) -> None:
    day, dose, n, pt, pe, yt, ye = row
    state = state_at(day)
    c = state.counts()
    assert state.current_dose == dose
    k = dose - 1
    assert (c.n[k], c.tox_pending[k], c.eff_pending[k], c.tox[k], c.eff[k]) == (n, pt, pe, yt, ye)


def test_paper_path_until_day_284() -> None:
    # [D] the AL rule reproduces the paper's moves 1 -> 2 -> 3 -> 4 -> 3
    expected = {71: 2, 142: 3, 213: 4, 284: 3}
    for day, nxt in expected.items():
        assert design().decide(state_at(day), now=day).next_dose == nxt


def test_day_396_stops_and_selects() -> None:
    state = state_at(396)
    assert not state.any_pending(efficacy=True)
    d = design()
    dec = d.decide(state, now=396)
    assert dec.action is Action.STOP and dec.reason.rule == "max_n_reached"
    sel = d.select(state)
    assert _same_selection(sel, BOIN12(5, max_n=18).select(state))
    assert sel.dose == 3


# ---------------------------------------------------------------- weights, suspension
def test_follow_up_weight() -> None:
    assert follow_up_weight(10.0, 30.0, 40.0) == 0.5
    assert follow_up_weight(10.0, 100.0, 40.0) == 1.0
    assert follow_up_weight(10.0, 10.0, 40.0) == 0.0
    assert impute(0.4, 1.0) == 0.0 and impute(0.4, 0.0) == 0.4


def _cohort(
    dose: int, entry: float, tox: bool | None, eff: bool | None, k: int = 3
) -> list[Patient]:
    return [Patient(dose, entry, tox, None, eff, None) for _ in range(k)]


def test_suspension_more_than_half_pending() -> None:
    d = TITEBOIN12(3, tox_window=30, eff_window=60)
    done = _cohort(1, 0.0, False, False)
    # 3 of 6 pending efficacy at dose 1: exactly one half -> no suspension
    half = TrialState(3, (*done, *_cohort(1, 50.0, False, None)))
    assert d.decide(half, now=100).action is not Action.SUSPEND
    # 4 of 6 pending toxicity -> suspend
    more = TrialState(3, (*done[:2], *_cohort(1, 90.0, None, None, 4)))
    dec = d.decide(more, now=100)
    assert dec.action is Action.SUSPEND and dec.next_dose == 1
    assert dec.reason.rule == "tite_boin12.suspend"
    assert (
        TITEBOIN12(3, tox_window=30, eff_window=60, max_pending=1.0).decide(more, now=100).action
        is not Action.SUSPEND
    )


def test_suspension_reports_eliminations_on_the_current_data() -> None:
    """Dose 2 has 5 observed DLTs in 6 (eliminated: >= 5 at n = 6 with φT = 0.35, c_T = 0.95)
    while 4 of 6 patients at the current dose 1 are pending: the suspension lists dose 2 (and
    everything above it) as eliminated, as a decision by the rules would."""
    d = TITEBOIN12(3, tox_window=30, eff_window=60)
    dose2 = [Patient(2, 0.0, True, 1.0, False, None) for _ in range(5)] + [
        Patient(2, 0.0, False, None, False, None)
    ]
    pend1 = [Patient(1, 10.0, False, None, False, None) for _ in range(2)] + [
        Patient(1, 90.0, None, None, None, None) for _ in range(4)
    ]
    state = TrialState(3, (*dose2, *pend1))
    dec = d.decide(state, now=100.0)
    assert dec.action is Action.SUSPEND
    assert dec.eliminated == frozenset({2, 3})
    assert dec.eliminated == frozenset(d._eliminated(state, al_summary(d, state, 100.0)))
    # reevaluate: nothing recorded, as the rules record nothing
    re = TITEBOIN12(3, tox_window=30, eff_window=60, admissibility="reevaluate")
    assert re.decide(state, now=100.0).eliminated == frozenset()


def test_deescalate_on_observed_instead_of_suspending() -> None:
    """At dose 2, 3 observed DLTs among 6 patients (3/6 = 0.5 >= λd = 0.419) with 4 pending:
    the default suspends; the option de-escalates at once.  With 2 DLTs (0.33 < λd) the
    option changes nothing."""
    done = [Patient(1, 0.0, False, None, False, None) for _ in range(3)]

    def at_dose2(dlts: int) -> TrialState:
        pts = [Patient(2, 50.0, True, 1.0, None, None) for _ in range(dlts)]
        pts += [Patient(2, 50.0, False, None, False, None) for _ in range(2 - min(dlts, 2))]
        pts += [Patient(2, 95.0, None, None, None, None) for _ in range(6 - len(pts))]
        return TrialState(3, (*done, *pts))

    base = TITEBOIN12(3, tox_window=30, eff_window=60)
    opt = TITEBOIN12(3, tox_window=30, eff_window=60, deescalate_on_observed=True)
    state = at_dose2(3)
    assert state.counts().tox[1] / 6 >= base.lambda_d
    assert base.decide(state, now=100.0).action is Action.SUSPEND
    dec = opt.decide(state, now=100.0)
    assert dec.action is Action.DEESCALATE and dec.next_dose == 1
    low = at_dose2(2)
    assert low.counts().tox[1] / 6 < base.lambda_d
    assert opt.decide(low, now=100.0) == base.decide(low, now=100.0)
    assert base.decide(low, now=100.0).action is Action.SUSPEND


def test_zero_information_guard() -> None:
    d = TITEBOIN12(3, tox_window=30, eff_window=60, max_pending=1.0)
    state = TrialState(3, (*_cohort(1, 0.0, False, False), *_cohort(2, 100.0, None, None)))
    dec = d.decide(state, now=100.0)
    assert dec.action is Action.SUSPEND and dec.reason.rule == "tite_boin12.no_information"


def test_now_required_when_pending() -> None:
    state = TrialState(3, tuple(_cohort(1, 0.0, None, False)))
    with pytest.raises(InputError) as err:
        TITEBOIN12(3, tox_window=30, eff_window=60).decide(state)
    assert err.value.field == "now"


def test_pending_admissibility_conventions() -> None:
    # dose 1: 6 patients, 4 DLTs observed, 2 pending with 10% follow-up (ESS_T = 4.2)
    pats = [Patient(1, 0.0, True, 1.0, False, None) for _ in range(4)] + [
        Patient(1, 97.0, None, None, False, None) for _ in range(2)
    ]
    state = TrialState(3, tuple(pats))
    scaled = al_summary(TITEBOIN12(3, tox_window=30, eff_window=30, max_pending=1.0), state, 100.0)
    ess = al_summary(
        TITEBOIN12(3, tox_window=30, eff_window=30, max_pending=1.0, pending_admissibility="ess"),
        state,
        100.0,
    )
    assert scaled.extra["ess_tox_by_dose"][0] == pytest.approx(4.2)
    # scaled count 4·6/4.2 = 5.71 >= 5 (boundary at n = 6) -> eliminated
    assert scaled.tox_fail[0]
    # Pr(p > .35 | Beta(5, 1.2)) = 0.97 >= 0.95 -> eliminated as well; with 3 DLTs it differs
    assert ess.tox_fail[0]
    pats3 = (
        [Patient(1, 0.0, True, 1.0, False, None) for _ in range(3)]
        + [Patient(1, 0.0, False, None, False, None)]
        + [Patient(1, 97.0, None, None, False, None) for _ in range(2)]
    )
    state3 = TrialState(3, tuple(pats3))
    a = al_summary(TITEBOIN12(3, tox_window=30, eff_window=30), state3, 100.0)
    b = al_summary(
        TITEBOIN12(3, tox_window=30, eff_window=30, pending_admissibility="ess"), state3, 100.0
    )
    assert not a.tox_fail[0]  # 3·6/4.2 = 4.29 < 5
    assert not b.tox_fail[0]  # Pr(p > .35 | Beta(4, 2.2)) < 0.95


def test_permanent_elimination_is_carried() -> None:
    d = TITEBOIN12(3, tox_window=30, eff_window=60)
    state = TrialState(3, tuple(_cohort(1, 0.0, False, False)), eliminated=frozenset({3}))
    dec = d.decide(state, now=200.0)
    assert 3 in dec.eliminated
    assert dec.next_dose == 2


# ------------------------------------------------------------------------ validation
BAD = [
    ("tox_window", 0),
    ("eff_window", -1.0),
    ("tox_window", float("inf")),
    ("max_pending", 1.5),
    ("pending_admissibility", "beta"),
    ("deescalate_on_observed", "yes"),
    ("phi_t", 0.0),
]


@pytest.mark.parametrize(("field", "value"), BAD)
def test_validation_names_the_field(field: str, value: object) -> None:
    kwargs: dict[str, Any] = {"num_doses": 3, "tox_window": 30, "eff_window": 60, field: value}
    with pytest.raises(InputError) as err:
        TITEBOIN12(**kwargs)
    assert err.value.field == field


def test_windows_are_required() -> None:
    with pytest.raises(TypeError):
        TITEBOIN12(3)  # type: ignore[call-arg]


def test_describe_and_round_trip() -> None:
    d = TITEBOIN12(3, tox_window=28, eff_window=90)
    text = d.describe()
    assert "Zhou Y" in text and "Lin R" in text and "28" in text and "90" in text
    params = {k: v for k, v in d.to_dict().items() if k != "design"}
    assert TITEBOIN12(**params) == d
    assert d.to_dict()["design"] == "tite-boin12"


# ------------------------------------------------------------------------ properties
@st.composite
def outcome_strings(draw: st.DrawFn, num_doses: int = 4) -> str:
    k = draw(st.integers(1, 8))
    return " ".join(
        f"{draw(st.integers(1, num_doses))}{draw(st.text(alphabet='NTEB', min_size=1, max_size=3))}"
        for _ in range(k)
    )


@settings(max_examples=150, deadline=None)
@given(
    outcome_strings(),
    st.sampled_from(["permanent", "reevaluate"]),
    st.sampled_from(["scaled", "ess"]),
    st.sampled_from([0.15, 0.25, 0.35]),
    st.one_of(st.none(), st.floats(0, 1000)),
)
def test_complete_data_reduces_to_boin12(
    outcomes: str,
    mode: AdmissibilityMode,
    pend: PendingAdmissibility,
    phi_t: float,
    now: float | None,
) -> None:
    common: dict[str, Any] = {"admissibility": mode, "phi_t": phi_t, "max_n": 12}
    b = BOIN12(4, **common)
    t = TITEBOIN12(4, tox_window=30, eff_window=60, pending_admissibility=pend, **common)
    state = TrialState.from_outcomes(outcomes, 4)
    if now is not None and now < state.patients[-1].entry_time:
        now = None
    db, dt = b.decide(state), t.decide(state, now=now)
    assert (dt.action, dt.next_dose, dt.eliminated) == (db.action, db.next_dose, db.eliminated)
    assert dt.reason.rule.replace("tite_boin12.", "boin12.") == db.reason.rule
    for key, value in db.reason.values.items():
        assert dt.reason.values[key] == value
    assert _same_selection(t.select(state), b.select(state))
    rb, rt = replay_outcomes(b, outcomes), replay_outcomes(t, outcomes)
    assert [(d.action, d.next_dose, d.eliminated) for d in rt.decisions] == [
        (d.action, d.next_dose, d.eliminated) for d in rb.decisions
    ]


@st.composite
def tite_states(draw: st.DrawFn) -> tuple[TrialState, float]:
    num = 4
    k = draw(st.integers(1, 12))
    entries = sorted(draw(st.lists(st.floats(0, 200), min_size=k, max_size=k)))
    statuses = st.sampled_from([True, False, None])
    patients = tuple(
        Patient(draw(st.integers(1, num)), e, draw(statuses), None, draw(statuses), None)
        for e in entries
    )
    now = entries[-1] + draw(st.floats(0, 100))
    return TrialState(num, patients), now


@settings(max_examples=200, deadline=None)
@given(
    tite_states(), st.sampled_from(["scaled", "ess"]), st.sampled_from(["permanent", "reevaluate"])
)
def test_tite_properties(
    data: tuple[TrialState, float], pend: PendingAdmissibility, mode: AdmissibilityMode
) -> None:
    state, now = data
    d = TITEBOIN12(
        4,
        tox_window=30,
        eff_window=60,
        max_pending=1.0,
        max_n=100,
        n_stop=None,
        pending_admissibility=pend,
        admissibility=mode,
    )
    s = al_summary(d, state, now)
    c = state.counts()
    # pending outcomes are never counted as events
    assert s.n_tox == c.tox and s.n_eff == c.eff
    for k in range(4):
        assert s.extra["ess_tox_by_dose"][k] <= c.n[k] + 1e-12
        assert c.tox[k] <= s.extra["ess_tox_by_dose"][k] + 1e-12
        assert 0.0 <= s.x[k] <= c.n[k] + 1e-9
    dec = d.decide(state, now=now)
    bad = inadmissible_doses(s.tox_fail, s.eff_fail)
    if dec.next_dose is not None and dec.action is not Action.SUSPEND:
        assert dec.next_dose not in bad
        assert dec.next_dose <= max(state.tried()) + 1
    if dec.next_dose is None:
        assert dec.reason.rule == "tite_boin12.no_admissible_dose"
