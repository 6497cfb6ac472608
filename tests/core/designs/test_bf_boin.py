"""BF-BOIN against the worked examples of the backfill spec (bfboin 0.1.1 branch code, §7)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core.decision import Action
from doseladder.core.designs.bf_boin import BFBOIN, assign_backfill, backfill_open
from doseladder.core.designs.boin import BOIN, b_e, b_elim
from doseladder.core.errors import InputError
from doseladder.core.state import Patient, TrialState

D = BFBOIN(num_doses=5, target=0.25, cohort_size=3, n_cap=12)


def esc(dose: int, outcomes: str, *, resp: int = 0) -> list[Patient]:
    """Escalation patients: T/N/P(ending); the first ``resp`` have a response."""
    return [
        Patient(
            dose=dose,
            tox=None if c == "P" else c == "T",
            eff=i < resp,
        )
        for i, c in enumerate(outcomes)
    ]


def bf(dose: int, outcomes: str) -> list[Patient]:
    return [Patient(dose=dose, tox=None if c == "P" else c == "T", backfill=True) for c in outcomes]


def test_spec_boundaries_for_target_025() -> None:
    # §7: b_e, b_d, b_elim for N = 1..12 (BOIN::get.boundary, target 0.25)
    assert [b_e(n, D.lambda_e) for n in range(1, 13)] == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2]
    assert [D._bd(n) for n in range(1, 13)] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4]
    assert [b_elim(n, 0.25) for n in range(1, 13)] == [
        None,
        None,
        3,
        3,
        3,
        4,
        4,
        4,
        5,
        5,
        6,
        6,
    ]


def test_h1_conflict_resolved_by_pooling() -> None:
    base = esc(1, "NNN") + esc(2, "NNN", resp=1)
    pend = TrialState(5, tuple(base + esc(3, "PPP")))
    dec = D.decide(pend)
    assert dec.action is Action.SUSPEND
    assert dec.reason.values["backfill_open"] == [2]  # only dose 2 has a response
    assert dec.reason.values["backfill_dose"] == 2
    # two backfill patients at dose 2 complete (1 DLT): dose 2 = 1/5 -> S; cohort 3 is 0/3
    done = TrialState(5, tuple(base + bf(2, "TN") + esc(3, "NNN")), current_dose=3)
    dec2 = D.decide(done)
    assert dec2.reason.values["categories"] == ["E", "S", "E"]
    assert dec2.reason.values["conflict_dose"] == 2
    assert (dec2.reason.values["pooled_y"], dec2.reason.values["pooled_n"]) == (1, 8)
    assert dec2.action is Action.ESCALATE and dec2.next_dose == 4
    # cohort 4 is 1/3 (D); dose 2 is now 2/7 (S): no conflict for D -> dose 3
    later = TrialState(
        5, tuple(base + bf(2, "TN") + esc(3, "NNN") + bf(2, "TN") + esc(4, "TNN")), current_dose=4
    )
    dec3 = D.decide(later)
    assert dec3.next_dose == 3 and dec3.action is Action.DEESCALATE


def test_h2_backfill_data_close_a_dose_and_force_a_two_level_drop() -> None:
    base = esc(1, "NNN", resp=1) + esc(2, "NNN")
    pend = TrialState(5, tuple(base + bf(2, "TTN") + esc(3, "PPP")), current_dose=3)
    assert D.decide(pend).reason.values["backfill_open"] == [1]  # dose 2 (2/6, D) closed
    stay = TrialState(5, tuple(base + bf(2, "TTNNT") + esc(3, "NNN")), current_dose=3)
    dec = D.decide(stay)  # dose 2 = 3/8 (D), cohort 0/3 -> conflict (a), pool 3/11
    assert dec.reason.values["pooled_y"] == 3 and dec.reason.values["pooled_n"] == 11
    assert dec.action is Action.STAY and dec.next_dose == 3
    base2 = esc(1, "NNN", resp=1) + esc(2, "NNN") + bf(1, "NNN")
    drop = TrialState(5, tuple(base2 + bf(2, "TTTTNN") + esc(3, "TNN")), current_dose=3)
    dec2 = D.decide(drop)  # dose 2 = 4/9, dose 3 = 1/3: pool 5/12 >= b_d(12) = 4
    assert dec2.reason.values["conflict_dose"] == 2
    assert dec2.next_dose == 1 and dec2.action is Action.DEESCALATE


@pytest.mark.parametrize(("n_bf", "is_open"), [(8, True), (9, True), (10, False)])
def test_h3_cap(n_bf: int, is_open: bool) -> None:
    pts = esc(1, "NNN") + esc(2, "NNN", resp=1) + bf(2, "N" * n_bf) + esc(3, "PPP")
    st_ = TrialState(5, tuple(pts), current_dose=3)
    assert (2 in backfill_open(D, st_, 3)) is is_open


@pytest.mark.parametrize(("tox1", "stops"), [(5, True), (4, False)])
def test_h3_stop_driven_by_backfill(tox1: int, stops: bool) -> None:
    dose1 = esc(1, "NNN", resp=1) + bf(1, "T" * tox1 + "N" * (6 - tox1))
    st_ = TrialState(5, tuple(dose1 + esc(2, "NNN")), current_dose=2)
    dec = D.decide(st_)
    if stops:
        assert dec.action is Action.STOP and dec.next_dose is None
    else:
        assert dec.next_dose == 1


def test_h4_elimination_at_the_current_dose() -> None:
    pts = esc(1, "NNN") + esc(2, "NNN") + esc(3, "NNN") + esc(4, "TTT")
    dec = D.decide(TrialState(5, tuple(pts)))
    assert dec.next_dose == 3 and dec.eliminated == frozenset({4, 5})


def test_incomplete_cohort_and_three_plus_three() -> None:
    st_ = TrialState(5, tuple(esc(1, "NN")))
    dec = D.decide(st_)
    assert dec.action is Action.STAY and dec.reason.rule == "bf_boin.complete_cohort"
    t33 = BFBOIN(num_doses=5, target=0.25, three_plus_three=True)
    pts = esc(1, "NNN") + esc(2, "TNN")
    assert D.decide(TrialState(5, tuple(pts))).next_dose == 1  # 1/3 >= b_d(3) = 1
    assert t33.decide(TrialState(5, tuple(pts))).next_dose == 2  # 1 DLT in 3: stay


def test_without_backfill_equals_boin() -> None:
    boin = BOIN(num_doses=5, target=0.25)
    rng = np.random.default_rng(5)
    for _ in range(40):
        pts: list[Patient] = []
        dose = 1
        elim: frozenset[int] = frozenset()
        for _c in range(8):
            pts += [Patient(dose=dose, tox=bool(rng.random() < 0.1 * dose)) for _ in range(3)]
            st_ = TrialState(5, tuple(pts), eliminated=elim)  # carried as in replay
            a, b = D.decide(st_), boin.decide(st_)
            elim = elim | a.eliminated
            assert (a.action, a.next_dose, a.eliminated) == (b.action, b.next_dose, b.eliminated)
            if a.action is Action.STOP or a.next_dose is None:
                break
            dose = a.next_dose


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    k=st.integers(2, 5),
    assign=st.sampled_from(["highest", "lowest", "random"]),
)
def test_backfill_patients_only_at_open_doses(seed: int, k: int, assign: str) -> None:
    """Event-driven trials: every backfill patient is placed at a dose that satisfies C1-C3
    (checked independently here) and is below the escalation dose and not eliminated."""
    design = BFBOIN(num_doses=k, target=0.25, backfill_assign=assign, n_cap=6, max_n=24)
    rng = np.random.default_rng(seed)
    p_tox = np.sort(rng.uniform(0, 0.6, k))
    pts: list[Patient] = []
    eliminated: frozenset[int] = frozenset()
    for _step in range(60):
        st_ = TrialState(k, tuple(pts), eliminated=eliminated)
        dec = design.decide(st_)
        eliminated = eliminated | dec.eliminated
        if dec.action is Action.STOP or dec.next_dose is None:
            break
        if dec.action is Action.SUSPEND:
            opened = dec.reason.values["backfill_open"]
            d = dec.current_dose
            assert d is not None
            for j in opened:
                # independent check of §4
                assert j < d and j not in eliminated
                assert any(q.dose == j and not q.backfill and q.eff for q in pts)
                assert sum(1 for q in pts if q.dose == j) <= design.n_cap
                nj = [q for q in pts if q.dose == j and q.tox is not None]
                n1 = [q for q in pts if q.dose == j + 1 and q.tox is not None]
                yj, yj1 = sum(q.tox is True for q in nj), sum(q.tox is True for q in n1)
                assert yj < design._bd(len(nj)) or yj + yj1 < design._bd(len(nj) + len(n1))
            if opened and rng.random() < 0.7:
                j = assign_backfill(opened, assign, float(rng.random()))
                assert j in opened
                pts.append(Patient(dose=j, tox=None, backfill=True))
            else:  # resolve pending outcomes
                pts = [
                    Patient(
                        dose=q.dose,
                        tox=bool(rng.random() < p_tox[q.dose - 1]) if q.tox is None else q.tox,
                        eff=q.eff,
                        backfill=q.backfill,
                    )
                    for q in pts
                ]
            continue
        nxt = dec.next_dose
        pts.append(Patient(dose=nxt, tox=None, eff=bool(rng.random() < 0.5), backfill=False))


def test_validation() -> None:
    for kwargs, field in [
        ({"n_cap": 0}, "n_cap"),
        ({"backfill_assign": "middle"}, "backfill_assign"),
        ({"three_plus_three": True, "target": 0.3}, "three_plus_three"),
        ({"cohort_size": 2}, "cohort_size"),
    ]:
        with pytest.raises(InputError) as err:
            BFBOIN(num_doses=4, **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field
