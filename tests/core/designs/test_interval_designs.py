"""Keyboard, mTPI-2 and i3+3 against their published/package tables, and conduct invariants."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta as beta_dist

from doseladder.core.decision import Action
from doseladder.core.designs.i3p3 import I3P3
from doseladder.core.designs.keyboard import Keyboard, keyboard_boundaries
from doseladder.core.designs.mtpi2 import MTPI2
from doseladder.core.errors import InputError
from doseladder.core.replay import replay_outcomes
from doseladder.core.state import Patient, TrialState

DATA = Path(__file__).parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


# ------------------------------------------------------------------ Keyboard
@pytest.mark.parametrize("target", [0.30, 0.25])
def test_keyboard_boundaries_match_get_boundary_kb(target: float) -> None:
    ref = {
        r["row"]: r["values"].split()
        for r in _rows("keyboard_boundaries.csv")
        if float(r["target"]) == target
    }
    got = [keyboard_boundaries(n, target) for n in range(1, 13)]
    assert [str(g[0]) for g in got] == ref["escalate"]
    assert [str(g[1]) for g in got] == ref["deescalate"]
    assert ["NA" if g[2] is None else str(g[2]) for g in got] == ref["eliminate"]


def test_keyboard_table_frame() -> None:
    tabs = Keyboard(num_doses=5, target=0.3).tables()
    full = tabs["boundaries"]
    assert list(full["escalate"][:12]) == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert list(tabs["boundaries_by_cohort"]["n"]) == list(range(3, 31, 3))


@settings(max_examples=40, deadline=None)
@given(
    target=st.floats(0.15, 0.5),
    ml=st.floats(0.02, 0.1),
    mr=st.floats(0.02, 0.1),
    n=st.integers(1, 40),
)
def test_keyboard_boundaries_ordered_and_elimination_exact(
    target: float, ml: float, mr: float, n: int
) -> None:
    be, bd, belim = keyboard_boundaries(n, target, ml, mr)
    assert bd is None or be < bd
    if belim is not None:
        assert bd is not None and bd <= belim
    # elimination boundary = first y with Pr(p > target) > 0.95 (independent: scipy.stats)
    probs = beta_dist.sf(target, np.arange(n + 1) + 1, n - np.arange(n + 1) + 1)
    hits = np.nonzero(probs > 0.95)[0]
    assert belim == (int(hits[0]) if hits.size else None)


# ------------------------------------------------------------------ i3+3
def test_i3p3_decision_table() -> None:
    design = I3P3(num_doses=5, target=0.3, ei_low=0.25, ei_high=0.35)
    for row in _rows("i3p3_decision_table.csv"):
        n = int(row["n"])
        assert [design.letter(n, y) for y in range(n + 1)] == row["decisions"].split(), n


def test_i3p3_rules_in_words() -> None:
    d = I3P3(num_doses=3, target=0.25, ei_low=0.2, ei_high=0.3)
    assert d.letter(3, 1) == "S"  # 1/3 above EI but 0/3 below it
    assert d.letter(6, 2) == "S"  # 2/6 = .333 > .3 but 1/6 = .167 < .2
    assert d.letter(6, 3) == "D"
    with pytest.raises(InputError) as err:
        I3P3(num_doses=3, target=0.3, ei_low=0.29)
    assert err.value.field == "ei_low"


# ------------------------------------------------------------------ mTPI-2
@pytest.mark.parametrize("row", _rows("mtpi2_guo2017_fig3.csv"), ids=lambda r: r["outcomes"])
def test_mtpi2_matches_guo_2017_figure_3(row: dict[str, str]) -> None:
    design = MTPI2(num_doses=5, target=0.3, max_n=100)
    dec = replay_outcomes(design, row["outcomes"]).decision
    assert dec is not None
    expected = None if row["next_dose"] == "NA" else int(row["next_dose"])
    if expected is None:
        assert dec.action is Action.STOP and dec.next_dose is None
    else:
        assert dec.next_dose == expected and dec.action is not Action.STOP
    admissible = "".join("0" if j in dec.eliminated else "1" for j in range(1, 6))
    assert admissible == row["admissible"]


def test_mtpi2_table_coincides_with_keyboard_for_target_03() -> None:
    # spec §6.3 [D]: identical boundaries for n <= 12 (elimination from n = 3 in FIND)
    m = MTPI2(num_doses=3, target=0.3).tables()["boundaries"]
    for n in range(1, 13):
        be, bd, belim = keyboard_boundaries(n, 0.3)
        row = m[m["n"] == n].iloc[0]
        assert (row["escalate"], row["deescalate"]) == (be, bd)
        if n >= 3:
            assert row["eliminate"] == belim


# ------------------------------------------------------------------ conduct
DESIGNS = {
    "keyboard": lambda k, t, c: Keyboard(num_doses=k, target=t, cohort_size=c, max_n=10 * c),
    "mtpi2": lambda k, t, c: MTPI2(num_doses=k, target=t, cohort_size=c, max_n=10 * c),
    "i3+3": lambda k, t, c: I3P3(num_doses=k, target=t, cohort_size=c, max_n=10 * c),
}


@settings(max_examples=60, deadline=None)
@given(
    which=st.sampled_from(sorted(DESIGNS)),
    k=st.integers(2, 6),
    target=st.sampled_from([0.2, 0.25, 0.3, 0.33]),
    cohort=st.integers(1, 3),
    seed=st.integers(0, 2**31),
)
def test_conduct_invariants(which: str, k: int, target: float, cohort: int, seed: int) -> None:
    design = DESIGNS[which](k, target, cohort)
    rng = np.random.default_rng(seed)
    probs = np.sort(rng.uniform(0.0, 0.9, k))
    state = TrialState(k)
    dose = 1
    for c in range(10):
        ys = rng.random(cohort) < probs[dose - 1]
        state = state.with_patients([Patient(dose=dose, tox=bool(t), cohort=c) for t in ys])
        dec = design.decide(state)
        state = state.with_eliminated(dec.eliminated)
        if dec.next_dose is None:
            assert dec.action is Action.STOP and 1 in dec.eliminated
            break
        assert dec.next_dose <= max(state.tried()) + 1  # never skip an untried dose
        assert dec.next_dose not in dec.eliminated  # never assign an eliminated dose
        assert abs(dec.next_dose - dose) <= 1
        if dec.action is Action.STOP:
            break
        dose = dec.next_dose
    sel = design.select(state)
    assert sel.dose is None or sel.dose not in state.eliminated


def test_keyboard_earlystop_and_extrasafe() -> None:
    d = Keyboard(num_doses=3, target=0.3, n_earlystop=9, max_n=60)
    dec = replay_outcomes(d, "1NNN 2NNN 3NNN 3NNN 3NTN").decision
    assert (
        dec is not None and dec.action is Action.STOP and dec.reason.rule == "keyboard.n_earlystop"
    )
    safe = Keyboard(num_doses=3, target=0.3, extrasafe=True)
    dec2 = replay_outcomes(safe, "1TTN").decision
    assert dec2 is not None and dec2.action is Action.STOP
    assert dec2.reason.rule == "keyboard.extrasafe_stop"


def test_pending_suspends_and_validation() -> None:
    d = Keyboard(num_doses=3, target=0.3)
    st_ = TrialState(3, (Patient(dose=1, tox=None),))
    assert d.decide(st_, 1.0).action is Action.SUSPEND
    with pytest.raises(InputError) as err:
        Keyboard(num_doses=3, target=0.3, margin_left=0.4)
    assert err.value.field == "margin_left"
    with pytest.raises(InputError) as err2:
        MTPI2(num_doses=3, target=0.7)
    assert err2.value.field == "target"
