"""Protocol simulation of BE-BOIN (``design: be-boin``; spec ``backfill.md`` §8).

* Every simulated evaluation -- each driving arrival, each re-evaluation of a waiting arrival,
  each turned-away arrival under ``no_slot: leave`` -- equals the core's ``recommend`` on the
  rebuilt history (status, dose, doses open for backfill, the assignment), for the example and
  for hypothesis-drawn BE-BOIN parameters (both ``no_slot`` modes).
* Per-trial invariants read from the simulated trials themselves: never an untried dose
  skipped, never a dose eliminated at enrolment, a backfill patient only below the escalation
  dose, at a dose an escalation patient was treated at, open for backfill; turned away only
  while escalation is suspended and nothing is open.
* The protocol's driving cohort equals the BE-BOIN *design* simulation (``doseladder
  simulate`` on the equivalent design file) trial by trial on the same seed where the two
  models coincide (one indication, same accrual, ``no_slot: wait``, deterministic
  assignment): same patients, doses, entry times and backfill flags; the design kernel's
  final analysis (bfboin §5: backfill patients still pending when the last escalation cohort
  completes are dropped) applied to the protocol's patients gives the kernel's counts and
  selection.  With ``no_slot: leave`` or ``random`` assignment the two draw the extra
  arrivals / uniforms in a different order (the design kernel from block-wide streams in the
  order its loop meets them), so they agree in distribution: checked within Monte-Carlo error.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.core.designs.arrays import DoseArrays
from doseladder.core.designs.be_boin import BEBOIN
from doseladder.core.errors import InputError
from doseladder.io.design_file import load_design
from doseladder.io.scenario_file import load_protocol_scenario
from doseladder.protocols import Protocol, library_dir, load_protocol, protocol_from_dict
from doseladder.simulate.engine import simulate
from doseladder.simulate.protocol import (
    CLOSE_CAP,
    CLOSE_SAFETY,
    ProtocolBlock,
    ProtocolSetup,
    TraceStep,
    simulate_protocol,
    simulate_protocol_block,
)
from doseladder.simulate.protocol.plan_rules import ENROL, WAIT
from doseladder.simulate.protocol.scenario import ProtocolScenario
from doseladder.simulate.results import TrialArrays
from tests.simulate.test_protocol import check_against_core, scen

EXAMPLE = library_dir() / "examples" / "str-p004-backfill-example.yaml"
BASE: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
BE_DESIGN: dict[str, Any] = {"design": "be-boin", "start_dose": "DL1", "target": 0.3, "max_n": 30}


def be_data(design: dict[str, Any] | None = None, rules: dict[str, Any] | None = None) -> Any:
    """The backfill example with the BE-BOIN design (the BOIN backfill rule removed: BE-BOIN
    backfills by itself); ``design`` updates the design, ``rules`` the rules."""
    data = copy.deepcopy(BASE)
    data["design"] = {**BE_DESIGN, **(design or {})}
    data["rules"].pop("backfill")
    for key, value in (rules or {}).items():
        old = data["rules"].get(key)
        data["rules"][key] = {**old, **value} if isinstance(value, dict) and old else value
    return data


def be_proto(design: dict[str, Any] | None = None, rules: dict[str, Any] | None = None) -> Protocol:
    return protocol_from_dict(be_data(design, rules))


def single_indication(design: dict[str, Any]) -> Protocol:
    """One indication (SLE-ITP), no fallback, no other-indication rules, no efficacy window
    (responses seen at the end of the DLT window, as bfboin and the BE-BOIN kernel)."""
    data = be_data(design)
    data["rules"] = {"complete_cohorts": True}
    data["indications"] = [dict(data["indications"][0])]
    data["indications"][0].pop("driving", None)
    data["response"] = []
    data["criteria"] = [
        c for c in data["criteria"] if not set(c.get("indications") or []) - {"SLE-ITP"}
    ]
    data["windows"]["efficacy_days"] = None
    return protocol_from_dict(data)


def one_truth(p_tox: list[float], p_eff: list[float], rate: float) -> ProtocolScenario:
    truth = {"p_tox": p_tox, "p_eff": p_eff, "accrual": {"type": "poisson", "rate": rate}}
    return ProtocolScenario.from_dict({"indications": {"SLE-ITP": truth}})


# ------------------------------------------------------------------ equal to recommend
@pytest.mark.parametrize("no_slot", ["wait", "leave"])
def test_example_equals_recommend(no_slot: str) -> None:
    p = be_proto({"no_slot": no_slot}, {"max_total": None})
    sc = scen(drv=(0.05, 0.2, 0.4), eff=(0.5, 0.6, 0.7), rate=0.1)
    setup = ProtocolSetup.from_protocol(p, sc)
    seen = check_against_core(setup, 150, seed=3)
    for rule in (
        "driving:be_boin.suspend",
        "driving:be_boin.escalate",
        "driving:be_boin.final_follow_up",
        "driving:backup_fallback.run_in",
        "backfilled",
    ):
        assert seen[rule] > 0, rule


def test_shipped_example_equals_recommend() -> None:
    """``protocols/examples/str-p004-be-boin-example.yaml`` (the BE-BOIN counterpart of the
    backfill example) under seed 000's illustrative scenario."""
    p = load_protocol(library_dir() / "examples" / "str-p004-be-boin-example.yaml")
    assert isinstance(p.plan.design, BEBOIN) and p.plan.backfill is None
    sc = load_protocol_scenario(library_dir() / "scenarios" / "str-p004-nct07143617.yaml")
    seen = check_against_core(ProtocolSetup.from_protocol(p, sc), 200, seed=5)
    for rule in ("driving:be_boin.escalate", "driving:backup_fallback.fallback", "backfilled"):
        assert seen[rule] > 0, rule


@pytest.mark.parametrize("no_slot", ["wait", "leave"])
def test_toxic_fast_accrual_equals_recommend(no_slot: str) -> None:
    """Many pending backfill patients at toxic doses: the doses open for backfill are BE-BOIN's
    (C2 on imputed estimates), which differ here from BF-BOIN's complete-data C2."""
    p = be_proto({"no_slot": no_slot, "start_dose": "DL-1"}, {"max_total": None, "fallback": None})
    sc = scen(drv=(0.2, 0.35, 0.5), eff=(0.9, 0.9, 0.9), rate=1.0)
    seen = check_against_core(ProtocolSetup.from_protocol(p, sc), 150, seed=3)
    for rule in ("driving:be_boin.suspend", "driving:be_boin.deescalate", "backfilled"):
        assert seen[rule] > 0, rule


def _escalations_with_pending(blk: ProtocolBlock) -> int:
    """Escalation patients treated above the previous escalation dose while an escalation
    patient at that dose still had a pending DLT outcome."""
    count = 0
    for t in range(blk.n_trials):
        esc = [c for c in range(int(blk.count[t])) if not blk.bf[t, c]]
        for a, b in pairwise(esc):
            prev = blk.dose[t, a]
            if blk.dose[t, b] > prev:
                at_prev = [c for c in esc if c < b and blk.dose[t, c] == prev]
                count += bool((blk.rt[t, at_prev] > blk.entry[t, b]).any())
    return count


def test_be_boin_decides_with_its_own_rules_not_bf_boin() -> None:
    """BE-BOIN escalates while outcomes at the current dose are pending (imputation);
    BF-BOIN (the same protocol with BOIN + rules.backfill) never does: the protocol path
    decides with BE-BOIN's rules, not BF-BOIN's."""
    sc = scen(drv=(0.05, 0.1, 0.2), eff=(0.5, 0.6, 0.7), rate=0.1)
    be = ProtocolSetup.from_protocol(be_proto({"start_dose": "DL-1"}, {"fallback": None}), sc)
    data = copy.deepcopy(BASE)
    data["design"].update({"start_dose": "DL-1", "target": 0.3, "max_n": 30})
    data["rules"]["fallback"] = None
    bf = ProtocolSetup.from_protocol(protocol_from_dict(data), sc)
    assert _escalations_with_pending(simulate_protocol_block(be, 1, 0, 200)) > 20
    assert _escalations_with_pending(simulate_protocol_block(bf, 1, 0, 200)) == 0


_BOOL = st.booleans()


@settings(max_examples=14, deadline=None)
@given(
    no_slot=st.sampled_from(["wait", "leave"]),
    assign=st.sampled_from(["highest", "lowest", "random"]),
    activity=st.sampled_from(["dose", "dose_or_lower"]),
    conflict_dose=st.sampled_from(["lowest", "highest"]),
    max_pending_ratio=st.sampled_from([0.1, 0.25, 0.49, 0.75, 1.0]),
    min_completed=st.integers(0, 3),
    min_follow_up=st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]),
    n_cap=st.integers(3, 12),
    target=st.sampled_from([0.25, 0.3, 0.35]),
    n_earlystop=st.sampled_from([6, 9, 18]),
    extrasafe=_BOOL,
    fallback=_BOOL,
    cap=_BOOL,
    p_tox=st.lists(st.floats(0.0, 0.7), min_size=3, max_size=3).map(sorted),
    p_eff=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
    rate=st.sampled_from([0.03, 0.1, 0.3, 1.0]),
    seed=st.integers(0, 2**20),
)
def test_random_be_boin_protocols_equal_recommend_and_keep_invariants(
    no_slot: str,
    assign: str,
    activity: str,
    conflict_dose: str,
    max_pending_ratio: float,
    min_completed: int,
    min_follow_up: float,
    n_cap: int,
    target: float,
    n_earlystop: int,
    extrasafe: bool,
    fallback: bool,
    cap: bool,
    p_tox: list[float],
    p_eff: list[float],
    rate: float,
    seed: int,
) -> None:
    """Random BE-BOIN parameters (every option), truths and accrual: every evaluation equals
    ``recommend`` on the rebuilt history, and the per-trial invariants hold."""
    design: dict[str, Any] = {
        "no_slot": no_slot,
        "backfill_assign": assign,
        "activity": activity,
        "conflict_dose": conflict_dose,
        "max_pending_ratio": max_pending_ratio,
        "min_completed": min_completed,
        "min_follow_up": min_follow_up,
        "n_cap": n_cap,
        "target": target,
        "n_earlystop": n_earlystop,
        "extrasafe": extrasafe,
    }
    rules: dict[str, Any] = {"max_total": 39 if cap else None}
    if not fallback:
        rules["fallback"] = None
        design["start_dose"] = "DL-1"
    sc = scen(drv=tuple(p_tox), eff=tuple(p_eff), rate=rate, extra=30.0)
    setup = ProtocolSetup.from_protocol(be_proto(design, rules), sc)
    check_against_core(setup, 30, seed=seed)
    check_invariants(setup, 60, seed)


# ------------------------------------------------------------------ invariants
def check_invariants(setup: ProtocolSetup, n: int, seed: int) -> None:
    """Per-dose invariants on the simulated trials and their trace (independent of the core).

    * escalation never skips an untried dose: an escalation patient's dose is at most one
      above every dose treated before (the first at the start or run-in dose);
    * no patient is enrolled at a dose eliminated at that moment (the eliminations after the
      evaluation that enrolled it, i.e. the next evaluation's carried set, or the final one);
    * a backfill patient is below the latest escalation patient's dose, at a dose an
      escalation patient was treated at (C1 needs one), at or above ``min_dose`` (1), and at a
      dose the simulator listed as open for backfill;
    * an arrival is turned away only under ``no_slot: leave``, while the decision waits and
      nothing is open for it.
    """
    trace: list[TraceStep] = []
    blk = simulate_protocol_block(setup, seed, 0, n, trace)
    num = setup.plan.num_doses
    design = setup.plan.decision_design
    assert isinstance(design, BEBOIN)
    start = design.start_dose - 1
    if setup.plan.fallback is not None:
        start = setup.plan.fallback.run_in_dose - 1
    # enrolments seen in the trace, and the carried eliminations after each evaluation
    steps: dict[int, list[tuple[int, np.ndarray, int, bool]]] = defaultdict(list)
    for step in trace:
        if step.kind != "driving":
            continue
        for k, tt in enumerate(step.rows):
            t = int(tt)
            at = -1 if step.backfilled_at is None else int(step.backfilled_at[k])
            enrolled = at >= 0 or int(step.status[k]) == ENROL
            dose = at if at >= 0 else int(step.dose[k])
            steps[t].append(
                (int(step.column), step.carried[:, k], dose if enrolled else -1, at >= 0)
            )
            if at >= 0:
                assert step.backfill_open is not None and step.backfill_open[at, k]
            if step.turned_away is not None and step.turned_away[k]:
                assert design.no_slot == "leave"
                assert int(step.status[k]) == WAIT and at < 0
                assert step.backfill_open is not None and not step.backfill_open[:, k].any()
            elif step.turned_away is None:
                assert design.no_slot == "wait"
    for t in range(blk.n_trials):
        if blk.close_kind[t] == CLOSE_CAP:
            continue  # the trial-wide cap rewinds the carried eliminations
        seq = steps[t]
        esc: list[int] = []
        for s, (col, _carried, dose, is_bf) in enumerate(seq):
            if dose < 0:
                continue
            after = seq[s + 1][1] if s + 1 < len(seq) else blk.carried[:, t]
            assert not after[dose], (t, col, dose)  # never an eliminated dose
            assert int(blk.dose[t, col]) == dose and bool(blk.bf[t, col]) == is_bf
            if is_bf:
                assert esc and dose < esc[-1] and dose in esc, (t, col, dose, esc)
            else:
                top = max(esc) if esc else start - 1
                assert dose <= max(top + 1, start), (t, col, dose, esc)  # no untried skipped
                esc.append(dose)
        assert int(blk.count[t]) == sum(1 for x in seq if x[2] >= 0)
        assert (blk.dose[t, : int(blk.count[t])] < num).all()


# ------------------------------------------------------------------ vs the design simulation
def kernel_cut(blk: ProtocolBlock, design: BEBOIN) -> dict[str, np.ndarray]:
    """The design kernel's final analysis (bfboin §5) on the protocol's patients: escalation
    patients plus backfill patients complete when the last escalation cohort completes; the
    selection on those counts (none after a safety stop)."""
    num, size = design.num_doses, design.cohort_size
    present = blk.dose < num
    esc = present & ~blk.bf
    n_esc = esc.sum(axis=1)
    m = np.where(n_esc % size > 0, n_esc % size, size)
    rank = np.cumsum(esc, axis=1)
    last = esc & (rank > (n_esc - m)[:, None])
    end = np.where(last, blk.rt, -np.inf).max(axis=1)
    keep = esc | (present & blk.bf & (blk.rt <= end[:, None]))

    def per_dose(mask: np.ndarray) -> np.ndarray:
        return np.stack([(mask & (blk.dose == j)).sum(axis=1) for j in range(num)], axis=1)

    n, y = per_dose(keep), per_dose(keep & blk.tb)
    cur = np.zeros(blk.n_trials, dtype=np.int64)  # select_arrays reads counts and eliminations
    sel = design.select_arrays(
        DoseArrays.complete(np.ascontiguousarray(n.T), np.ascontiguousarray(y.T), cur, blk.carried)
    )
    sel = np.where(blk.close_kind == CLOSE_SAFETY, 0, sel)
    return {"n": n, "tox": y, "n_backfill": per_dose(keep & blk.bf), "selected": sel}


def design_run(p: Protocol, sc: ProtocolScenario, n: int, seed: int, tmp: Path) -> TrialArrays:
    """``doseladder simulate`` on the design file equivalent to the protocol's design."""
    path = tmp / "be-boin.yaml"
    path.write_text(yaml.safe_dump(p.plan.design.to_dict()), encoding="utf-8")
    design = load_design(path)
    assert design == p.plan.design
    truth = sc.truth("SLE-ITP")
    res = simulate(design, truth.as_scenario(sc.tox_time, sc.eff_time), n, seed, keep_trials=True)
    assert res.trials is not None
    return res.trials


@pytest.mark.parametrize(
    ("design", "truth", "rate"),
    [
        ({"start_dose": "DL-1"}, ([0.05, 0.2, 0.4], [0.5, 0.6, 0.7]), 0.1),
        (
            {"start_dose": "DL-1", "backfill_assign": "lowest", "min_follow_up": 0.5},
            ([0.1, 0.3, 0.5], [0.7, 0.4, 0.6]),
            0.3,
        ),
        (
            {"target": 0.25, "conflict_dose": "highest", "max_pending_ratio": 0.75},
            ([0.02, 0.1, 0.25], [0.3, 0.5, 0.7]),
            0.05,
        ),
    ],
)
def test_protocol_equals_design_simulation_trial_by_trial(
    design: dict[str, Any], truth: tuple[list[float], list[float]], rate: float, tmp_path: Path
) -> None:
    p = single_indication(design)
    sc = one_truth(*truth, rate)
    n, seed = 1500, 4
    blk = simulate_protocol_block(ProtocolSetup.from_protocol(p, sc), seed, 0, n)
    tr = design_run(p, sc, n, seed, tmp_path)
    num = p.plan.num_doses
    # the same patients: doses, entry times (the design kernel's dose_seq holds every enrolled
    # patient, backfill ones included)
    np.testing.assert_array_equal(np.where(blk.dose < num, blk.dose + 1, 0), tr.dose_seq)
    np.testing.assert_array_equal(np.where(blk.dose < num, blk.entry, np.nan), tr.entry)
    np.testing.assert_array_equal(blk.close_kind == CLOSE_SAFETY, tr.stopped_early)
    cut = kernel_cut(blk, p.plan.design)
    for key in ("n", "tox", "n_backfill", "selected"):
        np.testing.assert_array_equal(cut[key], getattr(tr, key), err_msg=key)
    # the protocol's own selection (every outcome known) differs only where the kernel dropped
    # a pending backfill patient
    dropped = (cut["n"] != np.stack([(blk.dose == j).sum(axis=1) for j in range(num)], 1)).any(1)
    assert not ((blk.selected != tr.selected) & ~dropped).any()
    assert (blk.bf.sum(axis=1) > 0).mean() > 0.2  # backfill happened


def _z_ok(a: np.ndarray, b: np.ndarray, z: float = 4.0) -> bool:
    """Means of two per-trial samples equal within ``z`` combined Monte-Carlo SEs (each SE
    from its own sample; the samples share random numbers, which makes the difference's SE
    smaller than the combined one, so the test is conservative)."""
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    diff = abs(a.mean() - b.mean())
    return bool(diff <= z * se) if se > 0 else bool(diff == 0)


@pytest.mark.parametrize(
    ("design", "truth"),
    [
        ({"no_slot": "leave"}, ([0.05, 0.2, 0.4], [0.2, 0.3, 0.4])),
        ({"backfill_assign": "random", "n_cap": 4}, ([0.05, 0.1, 0.3], [0.6, 0.6, 0.6])),
    ],
)
def test_protocol_equals_design_simulation_in_distribution(
    design: dict[str, Any], truth: tuple[list[float], list[float]], tmp_path: Path
) -> None:
    """``no_slot: leave`` / ``random`` assignment: the extra arrival gaps and the uniforms come
    in a different order from the design kernel's block-wide streams, so trials differ once
    one is drawn; the per-dose counts, the selection and the turned-away arrivals agree within
    4 Monte-Carlo SEs (about 40 comparisons: a false alarm has probability < 0.3 %, and the
    seeds are fixed)."""
    p = single_indication({"start_dose": "DL-1", **design})
    sc = one_truth(*truth, 0.2)
    n, seed = 4000, 8
    blk = simulate_protocol_block(ProtocolSetup.from_protocol(p, sc), seed, 0, n)
    tr = design_run(p, sc, n, seed, tmp_path)
    cut = kernel_cut(blk, p.plan.design)
    num = p.plan.num_doses
    for key in ("n", "tox", "n_backfill"):
        for j in range(num):
            assert _z_ok(cut[key][:, j].astype(float), getattr(tr, key)[:, j].astype(float)), (
                key,
                j,
            )
    for j in range(num + 1):
        assert _z_ok((cut["selected"] == j) * 1.0, (tr.selected == j) * 1.0), ("selected", j)
    enrolled = np.stack([(blk.dose == j).sum(axis=1) for j in range(num)], 1)
    tr_enrolled = np.stack([(tr.dose_seq == j + 1).sum(axis=1) for j in range(num)], 1)
    for j in range(num):
        assert _z_ok(enrolled[:, j] * 1.0, tr_enrolled[:, j] * 1.0), ("enrolled", j)
    if design.get("no_slot") == "leave":
        assert blk.turned_away is not None
        away = blk.turned_away[0].astype(float)
        assert away.mean() > 0.5
        assert _z_ok(away, tr.turned_away.astype(float))
    else:
        assert blk.turned_away is None
        assert not (tr.turned_away > 0).any()


# ------------------------------------------------------------------ results and CLI
def test_result_splits_escalation_and_backfill_and_counts_turned_away() -> None:
    sc = scen(drv=(0.05, 0.2, 0.4), eff=(0.5, 0.6, 0.7), rate=0.1)
    res = simulate_protocol(be_proto({"no_slot": "leave"}, {"fallback": None}), sc, 500, seed=2)
    drv = res.per_dose[res.per_dose["indication"] == "SLE-ITP"]
    np.testing.assert_allclose(
        drv["mean_patients_escalation"] + drv["mean_patients_backfill"], drv["mean_patients"]
    )
    np.testing.assert_allclose(
        drv["mean_dlt_escalation"] + drv["mean_dlt_backfill"], drv["mean_dlt"]
    )
    assert drv["mean_patients_backfill"].iloc[-1] == 0.0  # never at the top dose
    assert res.metric("backfill_n", "SLE-ITP") > 0.5
    assert res.metric("turned_away", "SLE-ITP") > 0.5
    assert res.metric("duration") > 0
    # waiting instead of leaving: nobody of the driving cohort is turned away
    res_w = simulate_protocol(be_proto({"no_slot": "wait"}, {"fallback": None}), sc, 500, seed=2)
    with pytest.raises(KeyError):
        res_w.metric("turned_away", "SLE-ITP")
    assert res_w.metric("suspended_time") > res.metric("suspended_time") * 0.5


def test_pooled_be_boin_with_leave_equals_recommend() -> None:
    data = be_data({"start_dose": "DL-1", "no_slot": "leave"})
    for ind in data["indications"]:
        ind.pop("driving", None)
    for key in ("other_indications", "safety_monitor", "fallback"):
        data["rules"][key] = None
    p = protocol_from_dict(data)
    setup = ProtocolSetup.from_protocol(p, scen(eff=(0.6, 0.6, 0.6), rate=0.05, orate=0.05))
    seen = check_against_core(setup, 150, seed=21)
    assert seen["backfilled"] > 0
    blk = simulate_protocol_block(setup, 21, 0, 150)
    assert blk.turned_away is not None and blk.turned_away.shape == (3, 150)
    assert (blk.turned_away.sum(axis=1) > 0).all()  # every indication's arrivals


def test_tite_boin_with_the_backfill_rule_is_refused() -> None:
    """The BOIN backfill rule has no time-to-event form (``core/rules/backfill.py``): a
    TITE-BOIN protocol with ``rules.backfill`` is refused when loaded; BE-BOIN is the
    time-to-event backfill design."""
    data = copy.deepcopy(BASE)
    data["design"] = {"design": "tite-boin", "start_dose": "DL1", "target": 0.3, "max_n": 30}
    with pytest.raises(InputError) as err:
        protocol_from_dict(data)
    assert err.value.field.startswith("rules.backfill")


def test_cli_simulate_protocol_prints_the_split(tmp_path: Path) -> None:
    proto_file = tmp_path / "be.yaml"
    proto_file.write_text(
        yaml.safe_dump(be_data({"no_slot": "leave"}), allow_unicode=True), encoding="utf-8"
    )
    scen_file = tmp_path / "scen.yaml"
    scen_file.write_text(
        yaml.safe_dump(scen(drv=(0.05, 0.2, 0.4), eff=(0.5, 0.6, 0.7), rate=0.1).to_dict()),
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["simulate-protocol", str(proto_file), "--scenario", str(scen_file), "--trials", "200"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "of which backfill" in out.stdout and "backfill DLTs" in out.stdout
    assert "turned_away" in out.stdout and "backfill_n" in out.stdout
    res = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    rows = [r for r in res["per_dose"] if r["indication"] == "SLE-ITP"]
    for r in rows:
        assert r["mean_patients_escalation"] + r["mean_patients_backfill"] == pytest.approx(
            r["mean_patients"]
        )
    assert res["protocol"]["plan"]["design"]["design"] == "be-boin"
