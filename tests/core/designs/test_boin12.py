"""BOIN12 (Lin et al. 2020) against the references of dose-finding spec §3.

Reference data (with provenance headers) in ``tests/core/designs/data/``:
``boin12_next_dose_vectors.csv`` (the 120 next-dose vectors of R package escalation's
``tests/testthat/test_boin12.R``, spec §3.8) and ``boin12_rds_table3.csv`` (spec §3.7).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta as beta_dist

from doseladder.core.decision import Action
from doseladder.core.designs.boin12 import (
    BOIN12,
    AdmissibilityMode,
    benchmark_utility,
    boin12_lambdas,
    boin12_next_dose,
    complete_summary,
    desirability,
    eff_elimination_boundary,
    elimination_table,
    inadmissible_doses,
    quasi_events,
    rds_table,
    tox_elimination_boundary,
)
from doseladder.core.errors import InputError
from doseladder.core.replay import replay_outcomes
from doseladder.core.state import Patient, TrialState

DATA = Path(__file__).parent / "data"


def _read(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


#: escalation test_boin12.R parameterisations (spec §3.8)
PARAMS: dict[str, dict[str, Any]] = {
    "1": {"max_n": 30},
    "2": {},
    "3": {"phi_t": 0.15, "phi_e": 0.4, "utilities": (100, 50, 30, 0), "c_t": 0.9, "c_e": 0.8},
}
VECTORS = _read("boin12_next_dose_vectors.csv")


# ------------------------------------------------------------------------ §3.2-3.3
def test_benchmark_utility_defaults() -> None:
    assert benchmark_utility(0.35, 0.25, (100, 40, 60, 0)) == pytest.approx(70.5, abs=1e-12)
    assert BOIN12(5).u_b == pytest.approx(70.5, abs=1e-12)


def test_boin_boundaries_at_phi_t() -> None:
    le, ld = boin12_lambdas(0.35)
    assert le == pytest.approx(0.276334, abs=1e-6)
    assert ld == pytest.approx(0.418908, abs=1e-6)


def test_untried_dose_desirability() -> None:
    assert desirability(0.0, 0, 70.5) == pytest.approx(0.295, abs=1e-12)


def test_quasi_events_default_utilities_depend_on_marginals_only() -> None:
    # (y1, y2, y3, y4) -> x = (u3·n_E + u2·(n − n_T))/100 when u1 + u4 = u2 + u3 (spec §3.3)
    cells = (2, 3, 1, 4)
    n, nt, ne = 10, 5, 3
    assert quasi_events(cells, (100, 40, 60, 0)) == pytest.approx((60 * ne + 40 * (n - nt)) / 100)


# ------------------------------------------------------------------------------ §3.4
ELIM_N = [3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36]
ELIM_TOX = [3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18]
ELIM_EFF: list[int | None] = [None, None, 0, 0, 1, 1, 2, 3, 3, 4, 4, 5]


def test_elimination_boundaries_spec_table() -> None:
    for n, t, e in zip(ELIM_N, ELIM_TOX, ELIM_EFF, strict=True):
        assert tox_elimination_boundary(n, 0.35, 0.95) == t
        assert eff_elimination_boundary(n, 0.25, 0.90) == e
    tab = BOIN12(5).tables()["elimination"]
    assert list(tab["n"]) == ELIM_N
    assert list(tab["tox_eliminate_if_at_least"]) == ELIM_TOX
    assert [None if pd.isna(v) else int(v) for v in tab["eff_eliminate_if_at_most"]] == ELIM_EFF


def test_elimination_needs_three_patients_and_three_dlts() -> None:
    # Yuan-group get.boundary.BOIN12: n >= 3 and `for(ntox in 3:n)` (spec §3.4)
    assert tox_elimination_boundary(2, 0.35, 0.95) is None
    assert eff_elimination_boundary(2, 0.25, 0.90) is None
    # φT = 0.15, c_T = 0.9: 2/3 has Pr(p > .15) = 0.988 but needs 3 DLTs
    assert tox_elimination_boundary(3, 0.15, 0.9) == 3
    assert elimination_table([3], 0.35, 0.25, 0.95, 0.9)["tox_eliminate_if_at_least"][0] == 3


def test_elimination_matches_posterior_probabilities() -> None:
    for n in range(3, 40):
        bt = tox_elimination_boundary(n, 0.35, 0.95)
        for y in range(n + 1):
            prob = 1 - beta_dist.cdf(0.35, 1 + y, 1 + n - y)
            assert (bt is not None and y >= bt) == (y >= 3 and prob >= 0.95)
        be = eff_elimination_boundary(n, 0.25, 0.9)
        for y in range(n + 1):
            prob = beta_dist.cdf(0.25, 1 + y, 1 + n - y)
            assert (be is not None and y <= be) == (prob >= 0.9)


def test_toxicity_inadmissibility_propagates_upwards() -> None:
    assert inadmissible_doses([False, True, False], [False, False, False]) == {2, 3}
    assert inadmissible_doses([False, False, False], [True, False, False]) == {1}
    assert inadmissible_doses([False] * 3, [False] * 3, {3}) == {3}


# ------------------------------------------------------------------------------ §3.7
def test_rds_table_matches_spec() -> None:
    ref = _read("boin12_rds_table3.csv")
    tab = BOIN12(5).tables()["rds"]
    assert len(tab) == len(ref) == 166
    got = {(int(r["n"]), int(r["n_tox"]), int(r["n_eff"])): r for r in tab.to_dict("records")}
    for row in ref:
        r = got[(int(row["n"]), int(row["n_tox"]), int(row["n_eff"]))]
        if row["rds"] == "E":
            assert r["eliminated"]
            assert math.isnan(float(r["rds"]))
        else:
            assert not r["eliminated"]
            pct = round(100 * float(r["desirability"]), 1)
            assert pct == pytest.approx(float(row["desirability_pct"]))
            assert float(r["rds"]) == pytest.approx(float(row["rds"]))


def test_rds_needs_marginal_utilities() -> None:
    with pytest.raises(InputError) as err:
        rds_table([3], 0.15, 0.4, (100, 50, 30, 0), 0.9, 0.8)
    assert err.value.field == "utilities"
    assert "rds" not in BOIN12(5, utilities=(100, 50, 30, 0)).tables()


def test_tables_shapes() -> None:
    tabs = BOIN12(5).tables(rds_sample_sizes=[0, 3])
    assert set(tabs) == {"elimination", "boundaries", "rds"}
    assert len(tabs["rds"]) == 1 + 16
    b = tabs["boundaries"]
    assert list(b["escalate_if_at_most"][:6]) == [0, 1, 2, 3, 4, 4]  # spec §1.2, φ = 0.35
    assert list(b["deescalate_if_at_least"][:6]) == [2, 3, 4, 6, 7, 8]
    with pytest.raises(InputError) as err:
        BOIN12(5).tables(rds_sample_sizes=[-3])
    assert err.value.field == "rds_sample_sizes[0]"


# ------------------------------------------------------------------------------ §3.8
@pytest.mark.parametrize("admissibility", ["permanent", "reevaluate"])
@pytest.mark.parametrize(
    "row", VECTORS, ids=[f"set{r['set']}-{r['outcomes'].replace(' ', '_')}" for r in VECTORS]
)
def test_next_dose_vectors(row: dict[str, str], admissibility: str) -> None:
    design = BOIN12(5, admissibility=admissibility, **PARAMS[row["set"]])  # type: ignore[arg-type]
    expected, cont = int(row["next_dose"]), row["continue"] == "TRUE"
    for decision in (
        design.decide(TrialState.from_outcomes(row["outcomes"], 5)),
        replay_outcomes(design, row["outcomes"]).decision,
    ):
        assert decision is not None
        assert decision.next_dose == expected
        assert (decision.action is not Action.STOP) == cont


def test_vector_count() -> None:
    assert len(VECTORS) == 120
    assert [sum(r["set"] == s for r in VECTORS) for s in "123"] == [11, 56, 53]


def test_published_example_stops_at_n30() -> None:
    outcomes = "1NNN 2NNB 3NEE 3NTN 4ETE 4NBE 4BNN 5BEN 5NBT 4NEN"
    dec = BOIN12(5, max_n=30).decide(TrialState.from_outcomes(outcomes, 5))
    assert dec.action is Action.STOP and dec.next_dose == 4
    assert dec.reason.rule == "max_n_reached"
    assert dec.steps[0].rule.startswith("boin12.")
    # with N = 36 the 12 patients at the recommended dose 4 stop the trial
    dec36 = BOIN12(5).decide(TrialState.from_outcomes(outcomes, 5))
    assert dec36.action is Action.STOP and dec36.next_dose == 4
    assert dec36.reason.rule == "n_stop_reached"
    assert BOIN12(5, n_stop=None).decide(TrialState.from_outcomes(outcomes, 5)).action is (
        Action.STAY
    )


def test_n_stop_dose_variants() -> None:
    # 12 patients at dose 1, the rules move to dose 2
    outcomes = "1NNN 1NNN 1NNN 1NNN"
    state = TrialState.from_outcomes(outcomes, 3)
    assert BOIN12(3, n_stop_dose="recommended").decide(state).action is Action.ESCALATE
    assert BOIN12(3, n_stop_dose="current").decide(state).action is Action.STOP
    assert BOIN12(3, n_stop_dose="any").decide(state).action is Action.STOP


# -------------------------------------------------------------------- individual rules
def test_rule_ids() -> None:
    d = BOIN12(5)

    def rule(outcomes: str) -> str:
        return d.decide(TrialState.from_outcomes(outcomes, 5)).reason.rule

    assert rule("1NNN 1NNN 1ENN") == "boin12.exploration"
    assert rule("1NNN 2NTT") == "boin12.deescalate"
    assert rule("1NNN 2ETN 2ETN") == "boin12.nstar_choice"
    assert rule("1NNN") == "boin12.choose_max_desirability"


def test_nstar_tie_rule() -> None:
    # identical data at doses 1 and 2 -> equal D in the 2-dose N* branch
    state = TrialState.from_outcomes("1ETN 1ETN 2ETN 2ETN", 4)
    assert BOIN12(4).decide(state).next_dose == 1
    assert BOIN12(4, nstar_tie="higher").decide(state).next_dose == 2


def test_deescalation_at_lowest_dose_and_no_admissible_dose() -> None:
    d = BOIN12(5)
    stay = d.decide(TrialState.from_outcomes("1NTT", 5))
    assert stay.action is Action.STAY and stay.next_dose == 1
    stop = d.decide(TrialState.from_outcomes("1TTT", 5))
    assert stop.action is Action.STOP and stop.next_dose is None
    assert stop.reason.rule == "boin12.no_admissible_dose"
    assert stop.eliminated == {1, 2, 3, 4, 5}
    down = d.decide(TrialState.from_outcomes("1NNN 2TTT", 5))
    assert down.next_dose == 1 and down.eliminated == {2, 3, 4, 5}
    assert (
        BOIN12(5, admissibility="reevaluate")
        .decide(TrialState.from_outcomes("1NNN 2TTT", 5))
        .eliminated
        == frozenset()
    )


def test_efficacy_eliminated_dose_is_skipped_upwards_only_if_treated() -> None:
    # dose 2 futile (0 responses in 9) is skipped: from dose 1 the next higher candidate is 3
    state = TrialState(
        4,
        TrialState.from_outcomes("1NNN 2NNN 2NNN 2NNN 1EEN", 4).patients,
        eliminated=frozenset(),
    )
    res = complete_summary(BOIN12(4), state)
    assert res.eff_fail == (False, True, False, False)
    dec = BOIN12(4).decide(state)
    assert dec.reason.values["candidates"] == [1, 3]
    assert dec.next_dose == 3  # D_1 = 0.236 < D_3 = 0.295 (untried)
    assert dec.eliminated == {2}
    # an untreated eliminated dose is never skipped
    nxt = boin12_next_dose(
        1,
        [3, 0, 0],
        0.0,
        [0.1, 0.3, 0.3],
        [True, False, True],
        lambda_e=0.27,
        lambda_d=0.42,
        n_star=6,
        exploration_n=9,
    )
    assert nxt.above is None and nxt.next_dose == 1


def test_pending_outcomes_suspend() -> None:
    state = TrialState(3, (Patient(1), Patient(1), Patient(1, tox=False, eff=None)))
    dec = BOIN12(3).decide(state)
    assert dec.action is Action.SUSPEND and dec.next_dose == 1
    assert dec.reason.rule == "boin12.pending"
    with pytest.raises(InputError):
        BOIN12(3).select(state)


def test_start_and_empty_selection() -> None:
    d = BOIN12(3, start_dose=2)
    assert d.decide(TrialState(3)).next_dose == 2
    assert d.select(TrialState(3)).dose is None


def test_reason_values_are_complete() -> None:
    dec = BOIN12(5).decide(TrialState.from_outcomes("1NNN 2ENT", 5))
    v = dec.reason.values
    for key in (
        "n",
        "n_tox",
        "n_eff",
        "p_hat",
        "lambda_e",
        "lambda_d",
        "candidates",
        "candidate_desirability",
        "desirability_by_dose",
        "admissible_by_dose",
    ):
        assert key in v
    assert v["n"] == 3 and v["n_tox"] == 1 and v["n_eff"] == 1
    assert dec.to_dict()["reason"]["rule"] == dec.reason.rule


# ------------------------------------------------------------------------- selection
def test_select_published_example() -> None:
    outcomes = "1NNN 2NNB 3NEE 3NTN 4ETE 4NBE 4BNN 5BEN 5NBT 4NEN"
    state = TrialState.from_outcomes(outcomes, 5)
    sel = BOIN12(5).select(state)
    assert sel.kind == "obd" and sel.dose == 4 and sel.mtd == 4
    est = {e.dose: e for e in sel.estimates}
    assert est[4].utility == pytest.approx(100 * (7.2 + 1) / 14)
    assert est[4].n_eff == 6 and est[4].admissible
    assert est[1].eff_est == pytest.approx(1 / 5)
    assert sel.to_frame()["selected"].sum() == 1
    # escalation's statistic: D, highest-dose MTD tie
    sel_d = BOIN12(5, obd_statistic="desirability").select(state)
    ds = [desirability(x, n, 70.5) for x, n in [(1.2, 3), (1.4, 3), (3.2, 6), (7.2, 12), (3.0, 6)]]
    assert sel_d.dose == 1 + max(range(4), key=lambda j: ds[j])


# ------------------------------------------------------------------------ validation
BAD = [
    ("num_doses", 0),
    ("phi_t", 0.9),
    ("phi_e", 1.0),
    ("utilities", (100, 40, 60)),
    ("utilities", (100, 40, 160, 0)),
    ("utilities", (40, 100, 60, 0)),
    ("c_t", 1.0),
    ("c_e", 0.0),
    ("n_star", 0),
    ("exploration_n", 0),
    ("cohort_size", 0),
    ("max_n", 0),
    ("n_stop", 0),
    ("n_stop_dose", "all"),
    ("start_dose", 9),
    ("prior_alpha", 0),
    ("prior_beta", -1.0),
    ("admissibility", "sometimes"),
    ("obd_statistic", "mean"),
    ("nstar_tie", "random"),
]


@pytest.mark.parametrize(("field", "value"), BAD)
def test_validation_names_the_field(field: str, value: object) -> None:
    kwargs: dict[str, Any] = {"num_doses": 5, field: value}
    with pytest.raises(InputError) as err:
        BOIN12(**kwargs)
    assert err.value.field.split("[")[0] == field
    assert field in str(err.value)


def test_round_trip_and_describe() -> None:
    d = BOIN12(4, phi_t=0.3, utilities=(100, 30, 50, 0), n_stop=None)
    params = {k: v for k, v in d.to_dict().items() if k != "design"}
    assert BOIN12(**params) == d
    text = d.describe()
    assert "Lin R" in text and "1393-1402" in text and "0.3" in text
    with pytest.raises(InputError) as err:
        d.decide(TrialState.from_outcomes("1NNN", 5))
    assert err.value.field == "num_doses"


# ------------------------------------------------------------------------ properties
_LETTERS = "NTEB"


@st.composite
def histories(draw: st.DrawFn, num_doses: int = 4) -> str:
    k = draw(st.integers(1, 8))
    toks = []
    for _ in range(k):
        d = draw(st.integers(1, num_doses))
        letters = draw(st.text(alphabet=_LETTERS, min_size=1, max_size=3))
        toks.append(f"{d}{letters}")
    return " ".join(toks)


@settings(max_examples=150, deadline=None)
@given(histories(), st.sampled_from(["permanent", "reevaluate"]))
def test_next_dose_admissible_and_no_skipping(outcomes: str, mode: AdmissibilityMode) -> None:
    design = BOIN12(4, admissibility=mode, max_n=1000, n_stop=None)
    state = TrialState.from_outcomes(outcomes, 4)
    dec = design.decide(state)
    summ = complete_summary(design, state)
    bad = inadmissible_doses(summ.tox_fail, summ.eff_fail)
    if dec.next_dose is None:
        assert dec.action is Action.STOP
        assert dec.reason.rule == "boin12.no_admissible_dose"
    else:
        assert dec.next_dose not in bad
        assert dec.next_dose <= max(state.tried()) + 1
    if mode == "permanent":
        assert dec.eliminated == bad


def test_current_dose_without_patients() -> None:
    base = TrialState.from_outcomes("1NNN", 3).patients
    dec = BOIN12(3).decide(TrialState(3, base, current_dose=2))
    assert dec.action is Action.STAY and dec.next_dose == 2
    assert dec.reason.rule == "boin12.no_data_at_current"
    down = BOIN12(3).decide(TrialState(3, base, current_dose=2, eliminated=frozenset({2, 3})))
    assert down.action is Action.DEESCALATE and down.next_dose == 1
    # an external elimination of dose 1 alone does not propagate upwards
    up = BOIN12(3).decide(TrialState(3, base, current_dose=1, eliminated=frozenset({1})))
    assert up.action is Action.ESCALATE and up.next_dose == 2
