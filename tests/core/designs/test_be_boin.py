"""BE-BOIN core rules on hand-worked states (spec backfill.md §8) and against BF-BOIN.

Target 0.25: λe = 0.1968, λd = 0.2984 (BOIN), φ/2 = 0.125 in the imputation prior.  Every
expected number below is worked by hand from the formulas in the module docstring."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from doseladder.core.decision import Action
from doseladder.core.designs.be_boin import BEBOIN, dose_data, imputed_dlts
from doseladder.core.designs.bf_boin import BFBOIN, backfill_open, conflict_anchor
from doseladder.core.designs.boin import b_elim
from doseladder.core.designs.registry import design_from_mapping
from doseladder.core.errors import InputError
from doseladder.core.state import Patient, TrialState

D = BEBOIN(num_doses=5, target=0.25, cohort_size=3, tox_window=1.0)
W = 1.0


def esc(dose: int, outcomes: str, *, resp: int = 0, entry: float = 0.0) -> list[Patient]:
    """Escalation patients: T/N/P(ending); the first ``resp`` have a response."""
    return [
        Patient(dose=dose, entry_time=entry, tox=None if c == "P" else c == "T", eff=i < resp)
        for i, c in enumerate(outcomes)
    ]


def bf(dose: int, outcomes: str, *, entry: float = 0.0) -> list[Patient]:
    return [
        Patient(dose=dose, entry_time=entry, tox=None if c == "P" else c == "T", backfill=True)
        for c in outcomes
    ]


def state(*groups: list[Patient]) -> TrialState:
    return TrialState(5, tuple(p for g in groups for p in g))


def test_boundaries_used() -> None:
    assert D.lambda_e == pytest.approx(0.1968, abs=1e-4)
    assert D.lambda_d == pytest.approx(0.2984, abs=1e-4)


def test_conflict_anchor_highest_and_lowest() -> None:
    assert conflict_anchor(["S", "D", "E", "D"], "E", "highest") == 4
    assert conflict_anchor(["S", "D", "E", "D"], "E", "lowest") == 1
    assert conflict_anchor(["S", "D", "E", "X"], "S", "lowest") == 2
    assert conflict_anchor(["S", "D", "E", "X"], "D", "highest") == 4
    assert conflict_anchor(["S", "S"], "S", "lowest") is None
    assert conflict_anchor(["E", "E"], "E", "highest") is None


def test_imputed_dlts_by_hand() -> None:
    # π̂ = (0 + 0.125)/(0 + 1) = 0.125; 0.125/0.875·(3 − 1.5) = 3/14
    assert imputed_dlts(0, 3, 3, 1.5, 0.25) == pytest.approx(3 / 14)
    # π̂ = (1 + 0.125)/(4 + 1) = 0.225; 0.225/0.775·2
    assert imputed_dlts(1, 6, 2, 0.0, 0.25) == pytest.approx(0.225 / 0.775 * 2)
    assert imputed_dlts(2, 5, 0, 0.0, 0.25) == 0.0


def test_suspension_when_more_than_49_percent_pending() -> None:
    s = state(esc(1, "NNN", resp=1), esc(2, "PPP", entry=1.0))
    dec = D.decide(s, now=1.5)
    assert dec.action is Action.SUSPEND
    v = dec.reason.values
    assert v["cause"] == "max_pending_ratio"
    assert v["backfill_open"] == [1] and v["backfill_dose"] == 1
    # p̃_2 = (0 + 3/14)/3 with STFT = 1.5
    assert v["p_tilde"][1] == pytest.approx(1 / 14)


@pytest.mark.parametrize(
    ("followed", "min_completed", "action", "cause"),
    [
        (0.5, 0, Action.ESCALATE, None),
        (0.1, 0, Action.SUSPEND, "min_follow_up"),
        (0.25, 0, Action.ESCALATE, None),  # exactly the minimum is enough
        (0.5, 3, Action.SUSPEND, "min_completed"),
    ],
)
def test_minimum_follow_up_before_escalation(
    followed: float, min_completed: int, action: Action, cause: str | None
) -> None:
    # dose 2: 2 complete without DLT, 1 pending (1/3 <= 0.49): π̂ = 0.125/3, p̃ <= 0.0145 <= λe
    design = BEBOIN(num_doses=5, tox_window=W, min_completed=min_completed)
    s = state(esc(1, "NNN"), esc(2, "NN"), esc(2, "P", entry=2.0))
    dec = design.decide(s, now=2.0 + followed * W)
    assert dec.action is action
    if action is Action.ESCALATE:
        assert dec.next_dose == 3
    else:
        assert dec.reason.values["cause"] == cause
        assert dec.reason.values["would"] == "escalate"


def test_conflict_anchor_lowest_differs_from_highest() -> None:
    # dose 1: 2/6 = 0.333 -> D; dose 2: 1/5 = 0.2 -> S; dose 3: 0/3 -> E: conflict (a)
    hist = state(esc(1, "NNN"), bf(1, "TTN"), esc(2, "NNN"), bf(2, "TN"), esc(3, "NNN"))
    low = D.decide(hist, now=10.0)
    # lowest b* = 1: pool 3/14 = 0.214 in (λe, λd) -> stay
    assert low.reason.values["conflict_dose"] == 1
    assert (low.action, low.next_dose) == (Action.STAY, 3)
    high = BEBOIN(num_doses=5, tox_window=W, conflict_dose="highest").decide(hist, now=10.0)
    # highest b* = 2: pool 1/8 = 0.125 <= λe -> escalate
    assert high.reason.values["conflict_dose"] == 2
    assert (high.action, high.next_dose) == (Action.ESCALATE, 4)


def test_pooled_two_level_drop() -> None:
    # dose 2: 3/6 = 0.5 (D), dose 3: 0/3 (E): b* = 2, pool 3/9 >= λd, 2 alone >= λd -> dose 1
    hist = state(esc(1, "NNN"), esc(2, "NNN"), bf(2, "TTT"), esc(3, "NNN"))
    dec = D.decide(hist, now=10.0)
    assert (dec.action, dec.next_dose, dec.reason.rule) == (Action.DEESCALATE, 1, "be_boin.pooled")


def test_elimination_at_a_lower_dose_counts_pending_as_no_dlt() -> None:
    # dose 2: 4 DLTs among 7 treated (one pending): b_elim(7) = 4 -> eliminate 2..5, go to 1
    assert b_elim(7, 0.25) == 4
    hist = state(esc(1, "NNN"), esc(2, "NNT"), bf(2, "TTT"), bf(2, "P", entry=9.9))
    hist = hist.with_patients([*hist.patients, *esc(3, "NNN")])
    dec = D.decide(hist, now=10.0)
    assert dec.eliminated == frozenset({2, 3, 4, 5})
    assert (dec.action, dec.next_dose) == (Action.DEESCALATE, 1)
    # with only 3 DLTs among the 7 nothing is eliminated
    hist2 = state(esc(1, "NNN"), esc(2, "NNN"), bf(2, "TTT"), bf(2, "P", entry=9.9))
    hist2 = hist2.with_patients([*hist2.patients, *esc(3, "NNN")])
    assert D.decide(hist2, now=10.0).eliminated == frozenset()


def test_dose_one_eliminated_stops() -> None:
    hist = state(esc(1, "TTT"))
    dec = D.decide(hist, now=5.0)
    assert dec.action is Action.STOP and dec.next_dose is None


@pytest.mark.parametrize(("followed", "opened"), [(0.0, []), (0.5, [1])])
def test_imputation_enters_backfill_safety(followed: float, opened: list[int]) -> None:
    # dose 1: 2/5 complete (p̃ 0.4 >= λd alone); dose 2: 3 pending, π̂ = 0.125:
    # pool 1..2 = (2 + 0.125/0.875·(3 − 3f))/8: f = 0 -> 0.3036 >= λd (closed),
    # f = 0.5 -> 0.2768 < λd (open).  BF-BOIN (complete data only: 2/5) keeps dose 1 closed.
    hist = state(esc(1, "NNN", resp=1), bf(1, "TT"), esc(2, "PPP", entry=1.0))
    dec = D.decide(hist, now=1.0 + followed * W)
    assert dec.action is Action.SUSPEND
    assert dec.reason.values["backfill_open"] == opened
    bf_design = BFBOIN(num_doses=5)
    assert backfill_open(bf_design, hist, 2) == []


def test_incomplete_cohort_joins_and_n_earlystop() -> None:
    dec = D.decide(state(esc(1, "NNN"), esc(2, "P", entry=1.0)), now=1.2)
    assert (dec.action, dec.next_dose, dec.reason.rule) == (
        Action.STAY,
        2,
        "bf_boin.complete_cohort",
    )
    # 18 patients at dose 2 with 4/18 = 0.22 (S): stay -> n_earlystop 18 stops
    hist = state(esc(1, "NNN"), esc(2, "NNN"), bf(2, "NNNNNNNNN"), esc(2, "TTT"), esc(2, "TNN"))
    dec = D.decide(hist, now=50.0)
    assert dec.reason.rule == "be_boin.n_earlystop" and dec.action is Action.STOP


def test_max_n_final_follow_up_then_stop() -> None:
    design = BEBOIN(num_doses=5, tox_window=W, max_n=6)
    pending = state(esc(1, "NNN", resp=1), esc(2, "NPP", entry=1.0))
    dec = design.decide(pending, now=1.5)
    assert dec.action is Action.SUSPEND and dec.reason.rule == "be_boin.final_follow_up"
    assert dec.reason.values["backfill_open"] == [1]
    done = design.decide(state(esc(1, "NNN", resp=1), esc(2, "NNN")), now=5.0)
    assert done.action is Action.STOP and done.reason.rule == "max_n_reached"


def test_dose_data_counts_backfill_and_pending() -> None:
    hist = state(esc(1, "NTN"), bf(1, "P", entry=2.0), esc(2, "PPN", entry=2.5))
    data = dose_data(hist, 3.0, 2.0, 0.25)
    assert data.n[:2] == [4, 3] and data.y[:2] == [1, 0] and data.c[:2] == [1, 2]
    assert data.stft[:2] == pytest.approx([0.5, 0.5])


def test_validation_names_the_field() -> None:
    cases = {
        "conflict_dose": {"conflict_dose": "middle"},
        "no_slot": {"no_slot": "queue"},
        "max_pending_ratio": {"max_pending_ratio": 1.5},
        "min_completed": {"min_completed": -1},
        "min_follow_up": {"min_follow_up": 2.0},
        "three_plus_three": {"three_plus_three": True},
    }
    for field, kw in cases.items():
        with pytest.raises(InputError) as exc:
            BEBOIN(num_doses=5, **kw)  # type: ignore[arg-type]
        assert exc.value.field == field
    d = design_from_mapping({"design": "be-boin", "num_doses": 4, "tox_window": 28})
    assert isinstance(d, BEBOIN) and d.n_earlystop == 18 and d.conflict_dose == "lowest"
    with pytest.raises(InputError) as exc:
        D.decide(state(esc(1, "PPP")))
    assert exc.value.field == "now"


def test_the_default_no_slot_wait_is_simulated_without_turning_anyone_away() -> None:
    """``no_slot: wait`` (D's default) runs through the kernel: arrivals with no open dose wait
    for the next event instead of being turned away (tests/simulate/kernels/test_be_boin.py
    replays such trials against the core)."""
    from doseladder.simulate.kernels import kernel_for
    from doseladder.simulate.latent import PatientDraws
    from doseladder.simulate.scenario import Scenario

    assert D.no_slot == "wait"
    kernel = kernel_for(D)
    draws = PatientDraws(Scenario(p_tox=(0.1,) * 5, p_eff=(0.3,) * 5), 1, 0, 0, 50, D.n_max)
    out = kernel(D, draws)
    assert out.turned_away is not None and int(out.turned_away.sum()) == 0
    assert int(out.n.sum()) > 0


def test_describe_and_tables() -> None:
    text = D.describe()
    assert "BE-BOIN" in text and "0.49" in text and "lowest" in text
    assert "boundaries" in D.tables()


# ------------------------------------------------------------ against BF-BOIN


@st.composite
def complete_histories(draw: st.DrawFn) -> tuple[TrialState, int]:
    """Complete-data histories: escalation cohorts of 3 with the last at d, backfill below d."""
    d = draw(st.integers(1, 5))
    pats: list[Patient] = []
    for j in range(1, d + 1):
        for _ in range(draw(st.integers(1 if j == d else 0, 3))):
            pats += esc(j, "".join(draw(st.sampled_from("NNT")) for _ in range(3)), resp=1)
        if j < d:
            pats += bf(
                j, "".join(draw(st.sampled_from("NNNT")) for _ in range(draw(st.integers(0, 9))))
            )
    # the last escalation cohort is at d
    last = [p for p in pats if p.dose == d and not p.backfill][-3:]
    rest = [p for p in pats if not any(p is q for q in last)]
    return TrialState(5, tuple(rest + last)), d


@settings(max_examples=300, deadline=None)
@given(complete_histories(), st.sampled_from(["highest", "lowest", "random"]))
def test_complete_data_highest_anchor_equals_bf_boin(
    hs: tuple[TrialState, int], assign: str
) -> None:
    """With every outcome known and the highest anchor, BE-BOIN's continuous rules are
    BF-BOIN's count rules, except where BE-BOIN eliminates at a lower dose (excluded)."""
    s, _ = hs
    n = [0] * 5
    y = [0] * 5
    for p in s.patients:
        n[p.dose - 1] += 1
        y[p.dose - 1] += bool(p.tox)
    assume(all(b_elim(n[j], 0.25) is None or y[j] < b_elim(n[j], 0.25) for j in range(5)))  # type: ignore[operator]
    be = BEBOIN(num_doses=5, conflict_dose="highest", backfill_assign=assign, max_n=100)
    bfd = BFBOIN(num_doses=5, backfill_assign=assign, n_earlystop=18, max_n=100)
    a, b = be.decide(s, now=100.0), bfd.decide(s)
    assert (a.action, a.next_dose) == (b.action, b.next_dose)
    assert a.eliminated == b.eliminated
    assert a.reason.values.get("conflict_dose") == b.reason.values.get("conflict_dose")
