"""Dose-transition pathways (core.pathways): every path's decision is the design's own.

The reference is an independent route: the path is written in the outcome grammar, appended to
the starting history and replayed cohort by cohort (core.replay, eliminations carried forward);
its last decision must equal the pathway's.  Plus the published BOIN boundaries at n = 3
(Liu & Yuan 2015, target 0.3: escalate on 0/3, de-escalate on >= 2/3, eliminate on 3/3).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseladder.core import BOIN, BOIN12, TITEBOIN, TITEBOIN12, ThreePlusThree
from doseladder.core.decision import Action
from doseladder.core.designs.base import Design
from doseladder.core.errors import InputError
from doseladder.core.pathways import cohort_outcomes, dose_paths
from doseladder.core.replay import replay_outcomes
from doseladder.core.state import Patient, TrialState


@st.composite
def designs(draw: st.DrawFn) -> Design:
    kind = draw(st.sampled_from(["boin", "tite-boin", "boin12", "tite-boin12", "3+3"]))
    j = draw(st.integers(2, 6))
    start = draw(st.integers(1, j))
    if kind == "3+3":
        return ThreePlusThree(num_doses=j, start_dose=start)
    size = draw(st.integers(1, 3))
    max_n = size * draw(st.integers(2, 12))
    if kind in ("boin", "tite-boin"):
        target = draw(st.sampled_from([0.2, 0.25, 0.3, 0.33]))
        kw = dict(num_doses=j, target=target, cohort_size=size, max_n=max_n, start_dose=start)
        if kind == "boin":
            return BOIN(**kw, extrasafe=draw(st.booleans()))
        return TITEBOIN(**kw, tox_window=28.0)
    phi_t = draw(st.sampled_from([0.3, 0.35, 0.4]))
    phi_e = draw(st.sampled_from([0.2, 0.25, 0.3]))
    kw2 = dict(
        num_doses=j, phi_t=phi_t, phi_e=phi_e, cohort_size=size, max_n=max_n, start_dose=start
    )
    if kind == "boin12":
        return BOIN12(**kw2)
    return TITEBOIN12(**kw2, tox_window=28.0, eff_window=56.0)


def _history(design: Design, rng: random.Random, cohorts: int) -> str:
    """A random history the design itself could have produced (outcome grammar)."""
    letters = "NTEB" if design.uses_efficacy else "NT"
    tokens: list[str] = []
    for _ in range(cohorts):
        rep = replay_outcomes(design, " ".join(tokens))
        dec = rep.decision or design.decide(TrialState(design.num_doses))
        if dec.action in (Action.STOP, Action.SUSPEND) or dec.next_dose is None:
            break
        tokens.append(
            f"{dec.next_dose}" + "".join(rng.choice(letters) for _ in range(design.cohort_size))
        )
    return " ".join(tokens)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs(), st.integers(0, 4), st.integers(1, 2), st.randoms(use_true_random=False))
def test_every_path_decision_equals_decide_on_the_replayed_state(
    design: Design, history_cohorts: int, cohorts: int, rng: random.Random
) -> None:
    history = _history(design, rng, history_cohorts)
    rep = replay_outcomes(design, history)
    paths = dose_paths(design, rep.state, cohorts)
    nodes = paths.nodes()
    root, after = nodes[0].decision, rep.decision or design.decide(rep.state)
    assert (root.action, root.next_dose) == (after.action, after.next_dose)
    for node in nodes[1:]:
        ref = replay_outcomes(design, f"{history} {node.path}".strip()).decision
        assert ref is not None
        got = node.decision
        assert (got.action, got.next_dose, got.reason.rule, got.eliminated) == (
            ref.action,
            ref.next_dose,
            ref.reason.rule,
            ref.eliminated,
        ), node.path
    # the tree is complete: a node has children iff it is above the last level and its
    # decision lets the next cohort be treated
    per = len(cohort_outcomes(design.cohort_size, design.uses_efficacy))
    for node in nodes:
        open_ = node.decision.action not in (Action.STOP, Action.SUSPEND)
        expected = per if node.depth < cohorts and open_ else 0
        assert len(node.children) == expected
        for child in node.children:
            assert child.dose == node.decision.next_dose
    table = paths.table()
    assert len(table) == len(nodes)
    assert list(table["path"]) == [n.path for n in nodes]


def test_boin_first_cohort_matches_the_published_boundaries() -> None:
    paths = dose_paths(BOIN(num_doses=5, target=0.3, cohort_size=3, max_n=30), cohorts=1)
    got = {n.outcomes: (n.decision.action, n.decision.next_dose) for n in paths.nodes()[1:]}
    assert got["NNN"] == (Action.ESCALATE, 2)
    assert got["NNT"] == (Action.STAY, 1)  # 1/3 between floor(λe·3)=0 and ceil(λd·3)=2
    assert got["NTT"][1] == 1  # de-escalation at the lowest dose keeps dose 1
    assert got["TTT"][0] is Action.STOP and got["TTT"][1] is None  # dose 1 eliminated


def test_outcome_sets_are_unordered_multisets() -> None:
    assert cohort_outcomes(3, efficacy=False) == ["NNN", "NNT", "NTT", "TTT"]
    assert len(cohort_outcomes(3, efficacy=True)) == 20  # C(4 + 3 - 1, 3)


def test_tite_pathways_from_a_state_with_pending_outcomes_decide_at_now() -> None:
    design = TITEBOIN(num_doses=4, target=0.3, cohort_size=3, max_n=24, tox_window=30.0)
    start = TrialState(
        4,
        (
            Patient(1, 0.0, False),
            Patient(1, 1.0, False),
            Patient(1, 2.0, False),
            Patient(2, 40.0, None),
        ),
    )
    with pytest.raises(InputError, match="now"):
        dose_paths(design, start, 1)
    paths = dose_paths(design, start, 1, now=50.0)
    for node in paths.nodes()[1:]:
        assert all(p.entry_time == 50.0 for p in node_patients(node.path))
        state = start.with_eliminated(paths.root.decision.eliminated).with_patients(
            node_patients(node.path)
        )
        assert node.decision == design.decide(state, 50.0)


def node_patients(path: str) -> list[Patient]:
    dose, letters = int(path[0]), path[1:]
    table = {"N": (False, False), "T": (True, False), "E": (False, True), "B": (True, True)}
    return [Patient(dose, 50.0, table[c][0], eff=table[c][1], cohort=0 + 0) for c in letters]


def test_bad_arguments_name_the_field() -> None:
    design = BOIN(num_doses=3, target=0.3)
    with pytest.raises(InputError, match="cohorts"):
        dose_paths(design, cohorts=0)
    with pytest.raises(InputError, match="cohorts"):
        dose_paths(BOIN12(num_doses=3), cohorts=4)  # 20**4 paths


def test_plan_pathways_apply_the_backup_fallback_of_str_p004() -> None:
    """Seed 000: one or more DLTs in the first 3 subjects at DL1 -> fall back to DL-1."""
    from doseladder.core.pathways import plan_paths
    from doseladder.core.rules.plan import recommend
    from doseladder.core.state import parse_outcomes
    from doseladder.protocols import load_shipped

    plan = load_shipped("str-p004-nct07143617").plan
    paths = plan_paths(plan, cohorts=2)
    first = {n.outcomes: n for n in paths.root.children}
    assert paths.root.decision.next_dose == 2  # DL1
    for letters in ("NNT", "NTT", "TTT", "NNB", "EEB"):
        assert first[letters].decision.next_dose == 1, letters  # DL-1
        assert first[letters].decision.action is Action.DEESCALATE
    assert first["NNN"].decision.next_dose in (2, 3)
    # every node equals recommend() on the replayed history (eliminations carried forward)
    for node in paths.nodes()[1:]:
        state = TrialState(plan.num_doses)
        rec = None
        for cohort in parse_outcomes(node.path):
            state = state.with_patients(cohort)
            rec = recommend(plan, state)
            state = state.with_eliminated(rec.eliminated)
        assert rec is not None
        assert (node.decision.next_dose, node.decision.reason.rule) == (
            rec.driving.dose,
            rec.driving.reason.rule,
        )
