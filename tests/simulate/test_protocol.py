"""Protocol simulation: equal to the core's ``recommend`` at every simulated decision and arrival,
the fallback fires at the exact binomial rate, the driving-indication rules hold, reproducible.

The equivalence tests rebuild, for a few hundred simulated trials, the
:class:`~doseladder.core.state.TrialState` (every indication; pending outcomes ``None``; the
carried eliminations) at each evaluation the simulator made -- every driving (pooled) arrival
and wait re-evaluation, every arrival of another indication -- and ask
:func:`doseladder.core.rules.recommend` for the status and dose it gave.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import yaml
from scipy.stats import binomtest

from doseladder.core.designs.boin import BOIN
from doseladder.core.errors import InputError
from doseladder.core.rules import EnrolStatus, recommend
from doseladder.core.state import Patient, TrialState
from doseladder.io.scenario_file import load_protocol_scenario
from doseladder.protocols import Protocol, library_dir, load_shipped, protocol_from_dict
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.protocol import (
    CLOSE_CAP,
    CLOSE_SAFETY,
    CLOSE_STUCK,
    ProtocolBlock,
    ProtocolSetup,
    TraceStep,
    simulate_protocol,
    simulate_protocol_block,
)
from doseladder.simulate.protocol import simulation as protocol_module
from doseladder.simulate.protocol.plan_rules import CLOSED, ENROL, WAIT
from doseladder.simulate.protocol.scenario import ProtocolScenario
from doseladder.simulate.scenario import Scenario

SEED000 = "str-p004-nct07143617"
BASE: dict[str, Any] = yaml.safe_load((library_dir() / f"{SEED000}.yaml").read_text())
STATUS = {ENROL: EnrolStatus.ENROL, WAIT: EnrolStatus.WAIT, CLOSED: EnrolStatus.CLOSED}


def proto(
    design: dict[str, Any] | None = None,
    rules: dict[str, Any] | None = None,
) -> Protocol:
    """Seed 000 with changed design / rules (a rule given as a mapping updates that rule)."""
    data = copy.deepcopy(BASE)
    if design is not None:
        data["design"] = design
    for key, value in (rules or {}).items():
        old = data["rules"].get(key)
        data["rules"][key] = {**old, **value} if isinstance(value, dict) and old else value
    return protocol_from_dict(data)


def scen(
    drv: tuple[float, ...] = (0.05, 0.15, 0.30),
    oth: tuple[float, ...] = (0.05, 0.20, 0.40),
    eff: tuple[float, ...] | None = (0.25, 0.45, 0.55),
    rate: float = 0.033,
    orate: float = 0.02,
    kind: str = "poisson",
    extra: float = 0.0,
) -> ProtocolScenario:
    def truth(p: tuple[float, ...], r: float) -> dict[str, Any]:
        out: dict[str, Any] = {"p_tox": list(p), "accrual": {"type": kind, "rate": r}}
        if eff is not None:
            out["p_eff"] = list(eff)
        return out

    return ProtocolScenario.from_dict(
        {
            "indications": {
                "SLE-ITP": truth(drv, rate),
                "SLE-other": truth(oth, orate),
                "IIM": truth(oth, orate / 2),
            },
            "other_accrual_after_driving_stop": extra,
        }
    )


# ------------------------------------------------------------------------- equivalence
def _patient(
    blk: ProtocolBlock, t: int, c: int, now: float, use_eff: bool, ind: str | None, other: bool
) -> Patient:
    if other:
        dose, entry, rt, re = blk.o_dose[t, c], blk.o_time[t, c], blk.o_rt[t, c], blk.o_re[t, c]
        tb, eb = blk.o_tb[t, c], blk.o_eb[t, c]
    else:
        dose, entry, rt, re = blk.dose[t, c], blk.entry[t, c], blk.rt[t, c], blk.re[t, c]
        tb, eb = blk.tb[t, c], blk.eb[t, c]
    tox = bool(tb) if rt <= now else None
    eff = (bool(eb) if re <= now else None) if use_eff else False
    bf = False if other else bool(blk.bf[t, c])
    return Patient(
        dose=int(dose) + 1,
        entry_time=float(entry),
        tox=tox,
        tox_time=float(rt - entry) if tox else None,  # known with the DLT (TITE-CRM adaptive)
        eff=eff,
        indication=ind,
        backfill=bf,
    )


def check_against_core(setup: ProtocolSetup, n: int, seed: int) -> Counter[str]:
    """Every simulated evaluation equals ``recommend``; returns the rules seen (coverage)."""
    trace: list[TraceStep] = []
    blk = simulate_protocol_block(setup, seed, 0, n, trace)
    plan = setup.plan
    num, names, use_eff, cap = plan.num_doses, setup.names, setup.watches_responses, plan.max_total
    named = bool(plan.indications)
    kept = blk.count
    assert not (blk.close_kind == CLOSE_STUCK).any()
    seen: Counter[str] = Counter()

    def drv_ind(t: int, c: int) -> str | None:
        if setup.driving:
            return plan.driving_indication
        return names[int(blk.ind[t, c])] if named else None

    for step in trace:
        for k, tt in enumerate(step.rows):
            t, now = int(tt), float(step.time[k])
            if step.kind == "driving":
                if step.column > kept[t]:
                    continue  # removed by the trial-wide cap (checked below)
                cols = list(range(step.column))
                ocols = [
                    j
                    for j in range(blk.o_time.shape[1])
                    if blk.o_enrolled[t, j] and blk.o_time[t, j] < now
                ]
            else:
                cols = [c for c in range(blk.dose.shape[1]) if blk.entry[t, c] <= now]
                ocols = [j for j in range(step.column) if blk.o_enrolled[t, j]]
            rows = [
                (blk.entry[t, c], 0, _patient(blk, t, c, now, use_eff, drv_ind(t, c), False))
                for c in cols
            ]
            rows += [
                (
                    blk.o_time[t, j],
                    1,
                    _patient(blk, t, j, now, use_eff, names[int(blk.o_ind[t, j])], True),
                )
                for j in ocols
            ]
            rows.sort(key=lambda r: (r[0], r[1]))
            carried = frozenset(int(d) + 1 for d in np.flatnonzero(step.carried[:, k]))
            state = TrialState(num, tuple(r[2] for r in rows), eliminated=carried)
            rec = recommend(plan, state, now)
            if step.kind == "driving":
                got = rec.driving
                if cap is not None and state.n_patients >= cap:
                    assert got.status is EnrolStatus.CLOSED
                    seen["plan.max_total_reached"] += 1
                    continue
            else:
                got = rec.for_indication(names[int(step.indication[k])])
            want = STATUS[int(step.status[k])]
            dose = int(step.dose[k])
            assert got.status is want, (step.kind, t, step.column, now, got.reason.message)
            if want is EnrolStatus.ENROL or (want is EnrolStatus.WAIT and step.kind == "driving"):
                assert got.dose == (dose + 1 if dose >= 0 else None), (step.kind, t, now, got)
            seen[f"{step.kind}:{got.reason.rule}"] += 1
            if step.kind == "driving" and step.backfill_open is not None:
                if not setup.driving and named:  # pooled: the arriving patient's entry
                    got = rec.for_indication(names[int(step.indication[k])])
                assert step.backfill_dose is not None and step.backfilled_at is not None
                want_open = tuple(int(x) for x in np.flatnonzero(step.backfill_open[:, k]))
                assert got.backfill_open == want_open, (t, now, got, want_open)
                bd = int(step.backfill_dose[k])
                assert got.backfill_dose == (bd if bd >= 0 else None)
                at = int(step.backfilled_at[k])
                if at >= 0:  # a backfill patient only ever at a dose open for backfill
                    assert at in got.backfill_open
                    assert got.backfill_dose in (None, at)
                    seen["backfilled"] += 1
                if got.backfill_open:
                    seen["backfill_open"] += 1
            elif step.kind == "driving":
                assert got.backfill_open == () and got.backfill_dose is None
            for s in got.steps:
                seen[f"{step.kind}-step:{s.rule}"] += 1
    # the final selection is the design's, on complete data with the carried eliminations
    design = plan.design
    for t in range(n):
        pts = tuple(
            _patient(blk, t, c, math.inf, use_eff, drv_ind(t, c), False)
            for c in range(blk.dose.shape[1])
            if blk.dose[t, c] < num
        )
        carried = frozenset(int(d) + 1 for d in np.flatnonzero(blk.carried[:, t]))
        sel = design.select(TrialState(num, pts, eliminated=carried)).dose if pts else None
        expected = 0 if blk.close_kind[t] == CLOSE_SAFETY else (sel or 0)
        assert blk.selected[t] == expected, (t, blk.close_kind[t])
        if cap is not None:
            assert kept[t] + blk.o_enrolled[t].sum() <= cap
    return seen


def test_seed000_equals_recommend_at_every_evaluation() -> None:
    setup = ProtocolSetup.from_protocol(
        load_shipped(SEED000),
        load_protocol_scenario(library_dir() / "scenarios" / f"{SEED000}.yaml"),
    )
    seen = check_against_core(setup, 300, seed=5)
    for rule in (
        "driving:backup_fallback.run_in",
        "driving:backup_fallback.await_run_in",
        "driving:backup_fallback.fallback",
        "driving:plan.complete_cohort",
        "driving:tite_boin12.suspend",
        "driving-step:backup_fallback.applied",
        "driving-step:backup_fallback.passed",
        "other:driving_indication.confirmed_safe",
        "other:driving_indication.no_confirmed_dose",
        "other:plan.max_total_reached",
        "plan.max_total_reached",
    ):
        assert seen[rule] > 0, rule


VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    # name: (design, rules, scenario)
    "tite branch, re-escalation blocked": (
        {},
        {"fallback": {"zero_dlt_branch": "tite", "reescalation": "blocked"}},
        {"drv": (0.05, 0.3, 0.5)},
    ),
    "any confirmed dose, caps, monitor on others only": (
        {},
        {
            "other_indications": {
                "dose_cap": "any_confirmed",
                "max_n_per_indication": 4,
                "continue_after_driving_stop": False,
            },
            "safety_monitor": {"scope": "others"},
        },
        {"extra": 200.0},
    ),
    "fixed accrual (ties)": ({}, {}, {"kind": "fixed", "rate": 0.05, "orate": 0.05, "extra": 100}),
    "toxic: safety stops and monitor": (
        {},
        {"max_total": None},
        {"drv": (0.3, 0.5, 0.7), "oth": (0.5, 0.7, 0.9), "orate": 0.05, "extra": 300.0},
    ),
    "slow accrual: per-patient decisions": ({}, {}, {"rate": 0.005, "orate": 0.01}),
    "trial-wide cap below the design's maximum": ({}, {"max_total": 15}, {"orate": 0.002}),
    "BOIN with fallback": (
        {"design": "boin", "target": 0.3, "max_n": 30, "start_dose": "DL1"},
        {},
        {"extra": 50.0},
    ),
    "BOIN extra-safe, early stop": (
        {
            "design": "boin",
            "target": 0.25,
            "max_n": 24,
            "start_dose": "DL1",
            "extrasafe": True,
            "n_earlystop": 9,
        },
        {"safety_monitor": {"action": "flag"}},
        {"drv": (0.2, 0.4, 0.6), "extra": 50.0},
    ),
    "3+3 with other indications": (
        {"design": "3+3", "start_dose": "DL1", "allow_deescalate": True},
        {"max_total": 30, "fallback": None},
        {"drv": (0.1, 0.3, 0.5), "extra": 50.0},
    ),
    "BOIN12 (complete data), n_stop": (
        {"design": "boin12", "start_dose": "DL1", "max_n": 30, "n_stop": 9},
        {"max_total": 35},
        {"extra": 50.0},
    ),
    "TITE-BOIN with fallback": (
        {"design": "tite-boin", "target": 0.3, "max_n": 30, "start_dose": "DL1"},
        {},
        {"drv": (0.05, 0.25, 0.45), "extra": 50.0},
    ),
    "TITE-BOIN ess form, suspension, extra-safe": (
        {
            "design": "tite-boin",
            "target": 0.25,
            "max_n": 24,
            "start_dose": "DL1",
            "form": "ess",
            "max_pending": 0.34,
            "extrasafe": True,
            "block_escalation_few_complete": True,
        },
        {"complete_cohorts": False, "fallback": None},
        {"drv": (0.1, 0.3, 0.5), "rate": 0.1, "extra": 50.0},
    ),
    "TITE-BOIN12 options": (
        {
            "design": "tite-boin12",
            "start_dose": "DL1",
            "max_n": 30,
            "admissibility": "reevaluate",
            "pending_admissibility": "ess",
            "max_pending": 0.34,
            "c_e": 0.7,
        },
        {"complete_cohorts": False, "safety_monitor": None},
        {"drv": (0.1, 0.35, 0.5), "eff": (0.05, 0.1, 0.3)},
    ),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variants_equal_recommend(name: str) -> None:
    design, rules, sc = VARIANTS[name]
    setup = ProtocolSetup.from_protocol(proto(design or None, rules), scen(**sc))
    seen = check_against_core(setup, 200, seed=11)
    assert seen["other:driving_indication.confirmed_safe"] > 0


def test_monitor_closes_doses_to_other_indications() -> None:
    setup = ProtocolSetup.from_protocol(
        proto(rules={"max_total": None}),
        scen(drv=(0.05, 0.1, 0.2), oth=(0.5, 0.7, 0.9), orate=0.05, extra=300.0),
    )
    seen = check_against_core(setup, 150, seed=3)
    assert seen["other-step:safety_monitor.triggered"] > 0


def test_pooled_protocols_equal_recommend() -> None:
    for name in ("f01-car-nk-snc103", "steam-cd19-car-t-csle"):
        setup = ProtocolSetup.from_protocol(
            load_shipped(name), load_protocol_scenario(library_dir() / "scenarios" / f"{name}.yaml")
        )
        seen = check_against_core(setup, 200, seed=7)
        assert sum(v for k, v in seen.items() if k.startswith("driving:")) > 1000


# ------------------------------------------------------------------------- fallback
def _fallback_scenario(p_dl1: float) -> ProtocolScenario:
    return scen(drv=(0.05, p_dl1, min(p_dl1 + 0.15, 1.0)))


@pytest.mark.parametrize("p_dl1", [0.05, 0.2, 0.4, 0.7])
def test_fallback_fires_at_the_exact_binomial_rate(p_dl1: float) -> None:
    """P(fallback) = P(>= 1 DLT in the first 3 at DL1) = 1 - (1 - p)^3 (seed 000's rule)."""
    n = 4000
    res = simulate_protocol(load_shipped(SEED000), _fallback_scenario(p_dl1), n, seed=17)
    exact = 1.0 - (1.0 - p_dl1) ** 3
    rate = res.metric("fallback_fired_pct") / 100.0
    se = math.sqrt(exact * (1 - exact) / n)
    assert abs(rate - exact) < 4 * se, (rate, exact)
    assert binomtest(round(rate * n), n, exact).pvalue > 1e-3
    assert res.metric_se("fallback_fired_pct") == pytest.approx(
        100 * math.sqrt(rate * (1 - rate) / n)
    )


def test_fallback_fires_exactly_when_a_run_in_patient_has_a_dlt() -> None:
    """Trial by trial: fired <=> one of the first three latent patients has a DLT at DL1."""
    setup = ProtocolSetup.from_protocol(load_shipped(SEED000), _fallback_scenario(0.25))
    n = 2000
    blk = simulate_protocol_block(setup, 23, 0, n)
    draws = PatientDraws(Scenario(p_tox=(0.05, 0.25, 0.4)), 23, 0, 0, n, 39)
    expected = (draws.u_tox[:, :3] < 0.25).any(axis=1)
    np.testing.assert_array_equal(blk.fired, expected)
    # the run-in: DL1 until the first DLT is observed, then DL-1
    for t in np.flatnonzero(blk.fired)[:300]:
        doses = blk.dose[t]
        first_back = int(np.argmax(doses == 0))
        assert 1 <= first_back <= 3
        assert np.all(doses[:first_back] == 1)
        tau = blk.rt[t, :first_back][blk.tb[t, :first_back]].min()
        assert blk.entry[t, first_back] >= tau  # treated at DL-1 only once the DLT is known
        assert blk.entry[t, first_back - 1] < tau  # the last DL1 patient came before


def _hand_setup(branch: str, p_dl1: float, reesc: str = "allowed") -> ProtocolSetup:
    design = {
        "design": "tite-boin12",
        "start_dose": "DL1",
        "max_pending": 1.0,  # TITE-BOIN12 itself never suspends: only the fallback waits
        "max_n": 12,
        "n_stop": None,
    }
    return ProtocolSetup.from_protocol(
        proto(
            design,
            {
                "fallback": {"zero_dlt_branch": branch, "reescalation": reesc},
                "max_total": None,
            },
        ),
        scen(
            drv=(0.0, p_dl1, 0.0), oth=(0.0, 0.0, 0.0), eff=(0.0, 0.0, 0.0), rate=0.1, kind="fixed"
        ),
    )


def test_hand_checked_zero_dlt_branches() -> None:
    """Fixed arrivals every 10 days, no DLT: run-in at days 10, 20, 30 (DL1, DL1, DL1).
    'complete': the 4th patient arrives on day 40 and waits until the third run-in patient has
    completed the 28-day window (day 58); 'tite': treated on arrival (day 40)."""
    for branch, entry4, wait in (("complete", 58.0, 18.0), ("tite", 40.0, 0.0)):
        blk = simulate_protocol_block(_hand_setup(branch, 0.0), 1, 0, 20)
        np.testing.assert_array_equal(blk.dose[:, :3], 1)
        np.testing.assert_allclose(blk.entry[:, :3], [[10.0, 20.0, 30.0]] * 20)
        np.testing.assert_allclose(blk.entry[:, 3], entry4)
        np.testing.assert_allclose(blk.waited[:, 3], wait)
        assert not blk.fired.any()
        # the design escalates from DL1 (no toxicity, no efficacy information pending)
        assert np.all(blk.dose[:, 3] >= 1)


def test_hand_checked_certain_dlt_at_dl1() -> None:
    """Every DL1 patient has a DLT (P = 1), arrivals every 10 days.  Patient 1 (day 10) is
    DL1; patient k + 1 (day 10(k + 1)) is DL1 only while no run-in DLT is known (tau = the
    first run-in DLT's time).  'complete': after 3 at DL1 the next patient waits until tau and
    is DL-1.  'tite': TITE-BOIN12 decides meanwhile (it never suspends here), and the first
    patient arriving at or after tau is DL-1.  With re-escalation blocked DL1 and DL2 are
    never used again, by any indication."""
    for branch in ("complete", "tite"):
        blk = simulate_protocol_block(_hand_setup(branch, 1.0, "blocked"), 2, 0, 300)
        assert blk.fired.all()
        for t in range(300):
            rt = blk.rt[t]
            n_run = 1
            while n_run < 3 and rt[:n_run].min() > 10.0 * (n_run + 1):
                n_run += 1
            assert list(blk.dose[t, :n_run]) == [1] * n_run
            tau = rt[:n_run].min()
            if branch == "complete" or n_run < 3:
                first = n_run
                assert blk.entry[t, first] == max(10.0 * (first + 1), tau)
            else:
                arrivals = 10.0 * np.arange(1, blk.dose.shape[1] + 1)
                first = int(np.argmax(arrivals >= tau))
                np.testing.assert_array_equal(blk.entry[t, : first + 1], arrivals[: first + 1])
                assert np.all(blk.dose[t, n_run:first] >= 1)
            assert blk.dose[t, first] == 0
            later = blk.dose[t, first:]
            assert np.all(later[later < 3] == 0)
        assert not (blk.o_enrolled & (blk.o_dose >= 1)).any()


# ------------------------------------------------------------------------- indications
def test_other_indications_never_change_the_driving_cohort() -> None:
    """Seed 000: decisions use SLE-ITP data only -- other indications' truths (here harmless
    vs very toxic, which also makes the pooled monitor close doses to them) leave every
    driving patient, decision and selection unchanged (no trial-wide cap in this variant)."""
    p = proto(rules={"max_total": None})
    a = simulate_protocol_block(
        ProtocolSetup.from_protocol(p, scen(oth=(0.01, 0.02, 0.03), extra=100)), 9, 0, 1000
    )
    b = simulate_protocol_block(
        ProtocolSetup.from_protocol(p, scen(oth=(0.4, 0.6, 0.8), extra=100)), 9, 0, 1000
    )
    for name in ("dose", "entry", "tb", "eb", "selected", "fired", "close_kind", "carried"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    # ... while the other indications are treated differently (monitor, confirmed safety)
    assert (a.o_dose != b.o_dose).any()
    assert b.o_enrolled.sum() < a.o_enrolled.sum()


def test_oc_per_indication() -> None:
    sc = load_protocol_scenario(library_dir() / "scenarios" / f"{SEED000}.yaml")
    res = simulate_protocol(load_shipped(SEED000), sc, 2000, seed=4)
    per = res.per_dose
    assert set(per["indication"]) == {"SLE-ITP", "SLE-other", "IIM"}
    drv = per[per["indication"] == "SLE-ITP"]
    assert drv["selection_pct"].sum() + res.metric("no_selection_pct") == pytest.approx(100.0)
    assert per[per["indication"] != "SLE-ITP"]["selection_pct"].isna().all()
    for ind in ("SLE-ITP", "SLE-other", "IIM"):
        rows = per[per["indication"] == ind]
        assert rows["mean_patients"].sum() == pytest.approx(res.metric("total_n", ind))
        assert (rows["mean_patients_se"] > 0).all()
    # IIM's true MTD is DL1 (P(DLT) 0.30 closest to 0.35): some IIM patients are overdosed
    assert res.metric("true_mtd", "IIM") == 2
    iim_dl2 = float(
        per[(per["indication"] == "IIM") & (per["label"] == "DL2")]["mean_patients"].iloc[0]
    )
    assert res.metric("patients_above_mtd", "IIM") == pytest.approx(iim_dl2)
    assert 0 < res.metric("pct_patients_above_mtd", "IIM") < 50
    total = sum(res.metric("total_n", x) for x in ("SLE-ITP", "SLE-other", "IIM"))
    assert res.metric("total_n") == pytest.approx(total)
    assert res.metric("total_n") <= 39
    assert res.metric("turned_away", "SLE-other") > 0
    data = res.to_dict()
    assert data["seed"] == 4 and data["n_trials"] == 2000
    assert data["scenario"]["indications"]["IIM"]["p_tox"] == [0.1, 0.3, 0.5]
    assert data["protocol"]["plan"]["fallback"]["first_k"] == 3
    assert "SLE-ITP" in res.summary()


# ------------------------------------------------------------------------- reproducibility
def test_reproducible_whatever_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol_module, "BLOCK_SIZE", 400)
    p = load_shipped(SEED000)
    sc = load_protocol_scenario(library_dir() / "scenarios" / f"{SEED000}.yaml")
    one = simulate_protocol(p, sc, 1000, seed=8)
    again = simulate_protocol(p, sc, 1000, seed=8)
    three = simulate_protocol(p, sc, 1000, seed=8, workers=3)
    for other in (again, three):
        assert one.per_dose.equals(other.per_dose)
        assert one.trial.equals(other.trial)
    assert not one.trial.equals(simulate_protocol(p, sc, 1000, seed=9).trial)


def test_dask_equals_local(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(protocol_module, "BLOCK_SIZE", 300)
    p = load_shipped("steam-cd19-car-t-csle")
    sc = load_protocol_scenario(library_dir() / "scenarios" / "steam-cd19-car-t-csle.yaml")
    local = simulate_protocol(p, sc, 700, seed=3)
    remote = simulate_protocol(p, sc, 700, seed=3, scheduler="local", workers=2)
    assert local.per_dose.equals(remote.per_dose)
    assert local.trial.equals(remote.trial)


def test_driving_streams_are_the_design_streams() -> None:
    """The driving cohort's patient i carries the latent uniforms of ``PatientDraws`` for
    scenario index 0 (same seed, block): its DLT at dose d is u_tox[t, i] < p_tox[d]."""
    setup = ProtocolSetup.from_protocol(load_shipped(SEED000), scen())
    blk = simulate_protocol_block(setup, 31, 0, 500)
    draws = PatientDraws(Scenario(p_tox=(0.05, 0.15, 0.3)), 31, 0, 0, 500, 39)
    present = blk.dose < 3
    p = np.array([0.05, 0.15, 0.3])[np.where(present, blk.dose, 0)]
    np.testing.assert_array_equal(blk.tb[present], (draws.u_tox < p)[present])


# ------------------------------------------------------------------------- inputs
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "indications"),
        ({"indications": {"A": {"p_tox": [0.1]}}}, "indications.A.accrual"),
        (
            {"indications": {"A": {"p_tox": [0.1, 1.3], "accrual": {"rate": 1}}}},
            "indications.A.p_tox[1]",
        ),
        (
            {"indications": {"A": {"p_tox": [0.1], "accrual": {"type": "weekly", "rate": 1}}}},
            "indications.A.accrual.type",
        ),
        (
            {"indications": {"A": {"p_tox": [0.1], "colour": 1, "accrual": {"rate": 1}}}},
            "indications.A.colour",
        ),
        ({"indications": {"A": {"p_tox": [0.1], "accrual": {"rate": 1}}}, "x": 1}, "x"),
        (
            {
                "indications": {"A": {"p_tox": [0.1], "accrual": {"rate": 1}}},
                "tox_time": {"model": "gamma"},
            },
            "tox_time.model",
        ),
        (
            {
                "indications": {"A": {"p_tox": [0.1], "accrual": {"rate": 1}}},
                "other_accrual_after_driving_stop": -1,
            },
            "other_accrual_after_driving_stop",
        ),
    ],
)
def test_bad_scenarios_name_the_path(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        ProtocolScenario.from_dict(data)
    assert err.value.field == field


def test_scenario_must_fit_the_protocol(tmp_path: Path) -> None:
    p = load_shipped(SEED000)
    sc = scen()
    bad = ProtocolScenario({k: v for k, v in sc.indications.items() if k != "IIM"})
    with pytest.raises(InputError, match=r"indications\.IIM: missing"):
        simulate_protocol(p, bad, 10)
    two = ProtocolScenario.from_dict(
        {
            "indications": {
                k: {"p_tox": [0.1, 0.2], "p_eff": [0.2, 0.3], "accrual": {"rate": 1}}
                for k in ("SLE-ITP", "SLE-other", "IIM")
            }
        }
    )
    with pytest.raises(InputError, match=r"indications\.SLE-ITP\.p_tox: has 2 values"):
        simulate_protocol(p, two, 10)
    no_eff = scen(eff=None)
    with pytest.raises(InputError, match="p_eff: required"):
        simulate_protocol(p, no_eff, 10)
    f = tmp_path / "s.yaml"
    f.write_text("indications: {A: {p_tox: [2], accrual: {rate: 1}}}\n")
    with pytest.raises(InputError, match=r"^s.yaml: indications.A.p_tox\[0\]"):
        load_protocol_scenario(f)


@pytest.mark.parametrize(
    ("design", "rules", "field"),
    [
        ({}, {"staggering": {"days": 14}}, "rules.staggering"),
        ({}, {"safety_monitor": {"action": "close_all"}}, "rules.safety_monitor.action"),
        ({"design": "3+3", "start_dose": "DL1"}, {}, "rules.fallback"),
    ],
)
def test_unsupported_plans_raise(design: dict[str, Any], rules: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        simulate_protocol(proto(design or None, rules), scen(), 10)
    assert err.value.field == field


def test_unsupported_design_raises() -> None:
    """Every registered design is simulated (BE-BOIN last, ``test_protocol_be_boin.py``); a
    design the simulator does not know -- here a new BOIN variant -- is refused by name, with
    the supported designs listed."""

    @dataclass(frozen=True)
    class NewBOIN(BOIN):
        name: ClassVar[str] = "new-boin"

    p = load_shipped("f01-car-nk-snc103")
    plan = dataclasses.replace(p.plan, design=NewBOIN(p.plan.num_doses, target=0.3, max_n=18))
    sc = load_protocol_scenario(library_dir() / "scenarios" / "f01-car-nk-snc103.yaml")
    with pytest.raises(InputError) as err:
        ProtocolSetup(plan, sc, 28.0, None).check()
    assert err.value.field == "design"
    assert "new-boin" in err.value.reason
    assert "tite-boin" in err.value.reason  # the supported designs are listed


def test_bad_run_arguments() -> None:
    p, sc = load_shipped(SEED000), scen()
    for kwargs, field in (
        ({"n_trials": 0}, "trials"),
        ({"seed": -1}, "seed"),
        ({"workers": 0}, "workers"),
    ):
        with pytest.raises(InputError) as err:
            simulate_protocol(p, sc, **{"n_trials": 10, **kwargs})
        assert err.value.field == field


def test_cap_and_safety_stops_are_reported() -> None:
    res = simulate_protocol(load_shipped(SEED000), scen(drv=(0.4, 0.6, 0.8)), 1000, seed=2)
    assert res.metric("safety_stop_pct") > 10
    assert res.metric("no_selection_pct") >= res.metric("safety_stop_pct")
    blk = simulate_protocol_block(
        ProtocolSetup.from_protocol(load_shipped(SEED000), scen(orate=0.06)), 1, 0, 300
    )
    assert (blk.close_kind == CLOSE_CAP).any()


# ------------------------------------------------------------------------- random states
def _random_views(
    rng: np.random.Generator, num: int, rows: int, width: int, eff_window: float
) -> tuple[Any, np.ndarray, np.ndarray]:
    from doseladder.simulate.protocol.plan_rules import PatientView

    count = rng.integers(1, width + 1, rows)
    dose = rng.integers(0, num, (rows, width))
    dose = np.where(np.arange(width)[None, :] < count[:, None], dose, num)
    entry = np.sort(rng.uniform(0, 100, (rows, width)), axis=1)
    tb = rng.random((rows, width)) < 0.3
    eb = rng.random((rows, width)) < 0.4
    rt = entry + np.where(tb, rng.uniform(0, 28, (rows, width)), 28.0)
    re = entry + np.where(eb, rng.uniform(0, eff_window, (rows, width)), eff_window)
    last = entry[np.arange(rows), count - 1]
    now = last + rng.choice([0.0, 1.0, 10.0, 40.0, 200.0], rows) * rng.random(rows)
    now = np.where(rng.random(rows) < 0.3, np.inf, now)  # some with complete data
    cur = dose[np.arange(rows), count - 1]
    prior = rng.random((num, rows)) < 0.08
    view = PatientView(
        dose, entry, rt, re, tb, eb, count.astype(np.int64), cur, np.zeros(rows, np.int64)
    )
    return view, now, prior


@pytest.mark.parametrize(
    "design_data",
    [
        {
            "design": "tite-boin12",
            "num_doses": 4,
            "tox_window": 28.0,
            "eff_window": 60.0,
            "max_n": 12,
            "n_stop": 6,
        },
        {
            "design": "tite-boin12",
            "num_doses": 3,
            "tox_window": 28.0,
            "eff_window": 60.0,
            "max_n": 10,
            "admissibility": "reevaluate",
            "pending_admissibility": "ess",
        },
        {"design": "boin12", "num_doses": 4, "max_n": 12, "n_stop_dose": "any", "n_stop": 5},
        {
            "design": "boin",
            "num_doses": 4,
            "target": 0.3,
            "max_n": 12,
            "extrasafe": True,
            "n_earlystop": 5,
        },
        {"design": "3+3", "num_doses": 4, "max_n": 12},
        {"design": "3+3", "num_doses": 3, "allow_deescalate": True},
    ],
)
def test_design_decisions_equal_decide_on_random_states(design_data: dict[str, Any]) -> None:
    """``design_decisions`` = ``design.decide(state, now)`` on random states (any doses,
    pending outcomes, carried eliminations), including states no conduct reaches."""
    from doseladder.core.rules.driving_indication import TOXICITY_DEESCALATION_RULES
    from doseladder.io.design_file import design_from_dict
    from doseladder.simulate.protocol.plan_rules import design_decisions

    design = design_from_dict(dict(design_data))
    num = design.num_doses
    rng = np.random.default_rng(len(str(design_data)))
    view, now, prior = _random_views(rng, num, 400, 12, 60.0)
    got = design_decisions(design, view, now, prior)  # type: ignore[arg-type]
    use_eff = design.uses_efficacy
    checked = 0
    for r in range(view.rows):
        pts = []
        for c in range(int(view.count[r])):
            pts.append(
                Patient(
                    dose=int(view.dose[r, c]) + 1,
                    entry_time=float(view.entry[r, c]),
                    tox=bool(view.tb[r, c]) if view.rt[r, c] <= now[r] else None,
                    eff=(bool(view.eb[r, c]) if view.re[r, c] <= now[r] else None)
                    if use_eff
                    else False,
                )
            )
        elim = frozenset(int(d) + 1 for d in np.flatnonzero(prior[:, r]))
        t = None if math.isinf(now[r]) else float(now[r])
        try:
            dec = design.decide(TrialState(num, tuple(pts), eliminated=elim), t)
        except InputError:
            continue  # not a valid history for this design (e.g. > 6 at a 3+3 dose)
        checked += 1
        assert dec.action.value == _ACTION_NAMES[int(got.action[r])], (r, dec)
        nd = int(got.next_dose[r])
        assert dec.next_dose == (nd + 1 if nd >= 0 else None), (r, dec)
        assert dec.eliminated == frozenset(
            int(d) + 1 for d in np.flatnonzero(got.eliminated[:, r])
        ), (r, dec)
        deesc = dec.reason.rule.rsplit(".", 1)[-1] in TOXICITY_DEESCALATION_RULES
        assert bool(got.tox_deesc[r]) == deesc, (r, dec.reason.rule)
    assert checked > 150


_ACTION_NAMES = {0: "stay", 1: "escalate", 2: "de-escalate", 3: "suspend", 4: "stop"}


#: designs without BOIN's boundaries, in a single-indication protocol (STEAM cSLE, 3 doses: no
#: driving indication, so no confirmed-safe rule that needs a de-escalation boundary)
OTHER_DESIGNS: dict[str, dict[str, Any]] = {
    "keyboard": {"design": "keyboard", "target": 0.3, "max_n": 18, "start_dose": "DL1"},
    "mtpi2": {"design": "mtpi2", "target": 0.25, "max_n": 18, "start_dose": "DL1"},
    "i3+3": {"design": "i3+3", "target": 0.3, "max_n": 18, "start_dose": "DL1"},
    "crm": {
        "design": "crm",
        "target": 0.3,
        "max_n": 18,
        "start_dose": "DL1",
        "halfwidth": 0.08,
        "prior_mtd": 2,
    },
    "tite-crm": {
        "design": "tite-crm",
        "target": 0.3,
        "max_n": 18,
        "start_dose": "DL1",
        "halfwidth": 0.08,
        "prior_mtd": 2,
        "scheme": "adaptive",
    },
}


@pytest.mark.parametrize("name", list(OTHER_DESIGNS))
def test_other_designs_in_protocol_simulation_equal_recommend(name: str) -> None:
    """Keyboard, mTPI-2, i3+3, CRM and TITE-CRM run in protocol simulation through the core's
    array decisions, and every simulated evaluation and final selection equals the core's."""
    data = yaml.safe_load((library_dir() / "steam-cd19-car-t-csle.yaml").read_text())
    data["design"] = dict(OTHER_DESIGNS[name])
    sc = load_protocol_scenario(library_dir() / "scenarios" / "steam-cd19-car-t-csle.yaml")
    protocol = protocol_from_dict(data)
    seen = check_against_core(ProtocolSetup.from_protocol(protocol, sc), 120, seed=9)
    assert sum(seen.values()) > 200, seen
    res = simulate_protocol(protocol, sc, 400, seed=2)
    sel = res.per_dose["selection_pct"].sum()
    assert 99.0 < sel + res.metric("no_selection_pct") < 101.0
