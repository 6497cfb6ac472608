"""Protocol simulation with backfill (BOIN + ``rules.backfill``): every simulated evaluation
equals ``recommend`` -- status, dose, the doses open for backfill and the assignment -- and
every backfill patient is at a dose open for backfill at its enrolment (spec ``backfill.md``)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.io.scenario_file import load_protocol_scenario
from doseladder.protocols import Protocol, library_dir, protocol_from_dict
from doseladder.simulate.protocol import ProtocolSetup, simulate_protocol, simulate_protocol_block
from tests.simulate.test_protocol import check_against_core, scen

EXAMPLE = library_dir() / "examples" / "str-p004-backfill-example.yaml"
BASE: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
SCENARIO = library_dir() / "scenarios" / "str-p004-nct07143617.yaml"


def proto(design: dict[str, Any] | None = None, rules: dict[str, Any] | None = None) -> Protocol:
    data = copy.deepcopy(BASE)
    data["design"].update(design or {})
    for key, value in (rules or {}).items():
        old = data["rules"].get(key)
        data["rules"][key] = {**old, **value} if isinstance(value, dict) and old else value
    return protocol_from_dict(data)


def test_example_equals_recommend_and_backfills() -> None:
    setup = ProtocolSetup.from_protocol(proto(), load_protocol_scenario(SCENARIO))
    seen = check_against_core(setup, 250, seed=5)
    assert seen["backfill_open"] > 0 and seen["backfilled"] > 0
    for rule in ("driving:bf_boin.backfill", "driving:bf_boin.escalate", "driving:bf_boin.stay"):
        assert seen[rule] > 0, rule


VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "lowest, no fallback, start at DL-1": (
        {"start_dose": "DL-1", "target": 0.25},
        {"fallback": None, "backfill": {"assign": "lowest", "min_dose": "DL-1"}},
        {"drv": (0.05, 0.2, 0.45), "eff": (0.5, 0.6, 0.7), "extra": 50.0},
    ),
    "random, activity at or below, small cap": (
        {"start_dose": "DL-1", "target": 0.25},
        {
            "fallback": None,
            "backfill": {"assign": "random", "activity": "dose_or_lower", "n_cap": 4},
        },
        {"drv": (0.1, 0.25, 0.5), "eff": (0.6, 0.3, 0.2), "rate": 0.1},
    ),
    "three-plus-three, min dose DL1, fixed accrual": (
        {"target": 0.25},
        {"backfill": {"three_plus_three": True, "min_dose": "DL1"}},
        {"kind": "fixed", "rate": 0.08, "orate": 0.05, "drv": (0.1, 0.2, 0.35)},
    ),
    "toxic: pooled de-escalation and safety stops": (
        {"start_dose": "DL-1", "target": 0.25},
        {"fallback": None, "max_total": None},
        {"drv": (0.3, 0.45, 0.6), "eff": (0.8, 0.8, 0.8), "rate": 0.1, "extra": 100.0},
    ),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variants_equal_recommend(name: str) -> None:
    design, rules, sc = VARIANTS[name]
    setup = ProtocolSetup.from_protocol(proto(design, rules), scen(**sc))
    seen = check_against_core(setup, 150, seed=13)
    assert seen["backfill_open"] > 0, seen


def test_pooled_indications_with_restricted_backfill_equal_recommend() -> None:
    data = copy.deepcopy(BASE)
    for ind in data["indications"]:
        ind.pop("driving", None)
    data["rules"]["other_indications"] = None
    data["rules"]["safety_monitor"] = None
    data["rules"]["fallback"] = None
    data["design"]["start_dose"] = "DL-1"
    data["rules"]["backfill"]["indications"] = ["SLE-ITP", "IIM"]
    p = protocol_from_dict(data)
    assert p.plan.driving_indication is None
    setup = ProtocolSetup.from_protocol(p, scen(eff=(0.6, 0.6, 0.6), rate=0.05, orate=0.05))
    seen = check_against_core(setup, 200, seed=21)
    assert seen["backfilled"] > 0
    blk = simulate_protocol_block(setup, 21, 0, 200)
    # SLE-other (index 1) is never backfilled; the others are
    assert not (blk.bf & (blk.ind == 1)).any()
    assert (blk.bf & (blk.ind == 0)).any() and (blk.bf & (blk.ind == 2)).any()


def test_result_splits_escalation_and_backfill() -> None:
    p = proto({"start_dose": "DL-1"}, {"fallback": None})
    res = simulate_protocol(p, load_protocol_scenario(SCENARIO), 600, seed=3)
    drv = res.per_dose[res.per_dose["indication"] == "SLE-ITP"]
    np.testing.assert_allclose(
        drv["mean_patients_escalation"] + drv["mean_patients_backfill"], drv["mean_patients"]
    )
    np.testing.assert_allclose(
        drv["mean_dlt_escalation"] + drv["mean_dlt_backfill"], drv["mean_dlt"]
    )
    # never backfilled at the top dose (backfill is below the escalation dose)
    assert drv["mean_patients_backfill"].iloc[-1] == 0.0
    assert res.metric("backfill_n", "SLE-ITP") == pytest.approx(drv["mean_patients_backfill"].sum())
    assert res.metric("backfill_n", "SLE-ITP") > 0.5
    assert res.metric("duration") > 0
    # other indications have no backfill columns' values
    oth = res.per_dose[res.per_dose["indication"] == "IIM"]
    assert oth["mean_patients_backfill"].isna().all()


def test_backfill_patients_in_blocks_are_below_the_escalation_dose() -> None:
    """Block level: every backfill patient is below the dose of the latest escalation patient
    enrolled before it, and at a dose an escalation patient was treated at before."""
    setup = ProtocolSetup.from_protocol(proto(), load_protocol_scenario(SCENARIO))
    blk = simulate_protocol_block(setup, 9, 0, 300)
    num = setup.plan.num_doses
    n_bf = 0
    for t in range(blk.n_trials):
        esc_doses: list[int] = []
        for c in range(blk.dose.shape[1]):
            d = int(blk.dose[t, c])
            if d >= num:
                continue
            if blk.bf[t, c]:
                n_bf += 1
                assert esc_doses and d < esc_doses[-1]
                assert d in esc_doses
            else:
                esc_doses.append(d)
    assert n_bf > 0


def test_random_assignment_is_reproducible_and_differs_from_highest() -> None:
    sc = scen(drv=(0.05, 0.1, 0.2), eff=(0.7, 0.7, 0.7), rate=0.1)
    a = simulate_protocol(proto(rules={"backfill": {"assign": "random"}}), sc, 400, seed=2)
    b = simulate_protocol(proto(rules={"backfill": {"assign": "random"}}), sc, 400, seed=2)
    assert a.per_dose.equals(b.per_dose)
    h = simulate_protocol(proto(), sc, 400, seed=2)
    bf_a = a.per_dose["mean_patients_backfill"].iloc[:3].to_numpy()
    bf_h = h.per_dose["mean_patients_backfill"].iloc[:3].to_numpy()
    assert not np.allclose(bf_a, bf_h)


@settings(max_examples=12, deadline=None)
@given(
    assign=st.sampled_from(["highest", "lowest", "random"]),
    activity=st.sampled_from(["dose", "dose_or_lower"]),
    min_dose=st.sampled_from(["DL-1", "DL1", "DL2"]),
    n_cap=st.integers(3, 12),
    cap_rule=st.sampled_from(["at_most", "bfboin"]),
    target=st.sampled_from([0.25, 0.3, 0.35]),
    fallback=st.booleans(),
    complete_cohorts=st.booleans(),
    p_tox=st.lists(st.floats(0.0, 0.7), min_size=3, max_size=3).map(sorted),
    p_eff=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
    rate=st.sampled_from([0.03, 0.1, 0.3]),
    seed=st.integers(0, 2**20),
)
def test_random_backfill_protocols_equal_recommend(
    assign: str,
    activity: str,
    min_dose: str,
    n_cap: int,
    cap_rule: str,
    target: float,
    fallback: bool,
    complete_cohorts: bool,
    p_tox: list[float],
    p_eff: list[float],
    rate: float,
    seed: int,
) -> None:
    """Random rule parameters and truths: the simulation's every evaluation (status, dose,
    open doses, assignment) equals ``recommend`` on the rebuilt history."""
    rules: dict[str, Any] = {
        "backfill": {
            "assign": assign,
            "activity": activity,
            "min_dose": min_dose,
            "n_cap": n_cap,
            "cap_rule": cap_rule,
        },
        "complete_cohorts": complete_cohorts,
    }
    design: dict[str, Any] = {"target": target}
    if not fallback:
        rules["fallback"] = None
        design["start_dose"] = "DL-1"
    sc = scen(drv=tuple(p_tox), eff=tuple(p_eff), rate=rate, extra=30.0)
    setup = ProtocolSetup.from_protocol(proto(design, rules), sc)
    check_against_core(setup, 40, seed=seed)
