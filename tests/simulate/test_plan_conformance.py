"""Protocol-rule conformance by random testing: the vectorised protocol rules of
:mod:`doseladder.simulate.protocol.plan_rules` take the decisions of the core's
:func:`~doseladder.core.rules.plan.recommend` on random protocol parameters and random histories.

Hypothesis draws the plan (design and its options -- BOIN, TITE-BOIN, BOIN12, TITE-BOIN12, 3+3,
Keyboard, mTPI-2, i3+3, CRM, TITE-CRM --, start dose, backup-dose fallback with every option,
driving indication or pooled cohort, other-indication policy with the CRM rule, pooled safety
monitor with either scope and the vectorisable actions, cohort completion, trial-wide cap); a
seeded generator draws, for many trials at once, the driving cohort's patients (run-in biased
towards the start dose so that the fallback's phases all occur), the other indications' patients,
pending outcomes, carried eliminations and the decision time.  Every trial's history is then
rebuilt as a :class:`~doseladder.core.state.TrialState` and ``recommend`` is asked; the public
entry points of ``plan_rules`` must agree on

* :func:`~.plan_rules.fallback_status` -- the fallback's phase, whether it
  fired and the doses it blocks (``BackupFallback.evaluate`` / ``blocked_doses``);
* :func:`~.plan_rules.driving_recommendation` -- the driving (or pooled)
  entry: status and dose (fallback, design, cohort completion, the guard against closed doses;
  the trial-wide cap applied as the caller does) and the doses carried as eliminated;
* :func:`~.plan_rules.other_recommendation` -- every non-driving
  indication's status and dose (confirmed-safe doses, dose cap, pooled safety monitor, caps,
  the driving cohort's stop).

Histories the core refuses (e.g. more than 6 patients at a 3+3 dose) are skipped, and so are CRM
evaluations at a near-tie of the model fit (:func:`crm_near_tie`: the array fit and dfcrm's
``integrate`` may pick different doses there); each example must keep most of its trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from doseladder.core.designs import BOIN, BOIN12, TITEBOIN12
from doseladder.core.designs.arrays.interface import ACTION_NAMES
from doseladder.core.designs.crm import CrmParameters
from doseladder.core.designs.crm_model import prob_dose_above
from doseladder.core.errors import InputError
from doseladder.core.rules.backfill import BackfillRule
from doseladder.core.rules.backup_fallback import BackupFallback
from doseladder.core.rules.deescalation_verdict import DEFAULT_OVERDOSE_CUTOFF
from doseladder.core.rules.driving_indication import OtherIndicationPolicy
from doseladder.core.rules.plan import EnrolStatus, EscalationPlan, recommend
from doseladder.core.rules.safety_monitor import PooledSafetyMonitor
from doseladder.core.state import Patient, TrialState
from doseladder.io.design_file import design_from_dict
from doseladder.simulate.protocol.plan_rules import (
    CLOSED,
    ENROL,
    WAIT,
    PatientView,
    backfill_recommendation,
    design_decisions,
    driving_recommendation,
    fallback_status,
    other_recommendation,
)

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
ROWS = 48
TOX_WINDOW = 28.0
EFF_WINDOW = 60.0
DRIVING = "A"
OTHERS = ("B", "C")
STATUS = {ENROL: EnrolStatus.ENROL, WAIT: EnrolStatus.WAIT, CLOSED: EnrolStatus.CLOSED}
PHASES = ("run_in", "awaiting", "passed", "triggered", "applied")


# ------------------------------------------------------------------------------ plans
#: the interval designs and the CRMs (issue #13): every option drawn
NEW_DESIGNS = ("keyboard", "mtpi2", "i3+3", "crm", "tite-crm")


def new_design_options(draw: st.DrawFn, name: str, num: int) -> dict[str, Any]:
    target = draw(st.sampled_from([0.2, 0.25, 0.3]))
    data: dict[str, Any] = {
        "target": target,
        "cohort_size": draw(st.integers(1, 3)),
        "max_n": draw(st.integers(6, 24)),
    }
    if name in ("keyboard", "mtpi2", "i3+3"):
        data.update(
            cutoff_eli=draw(st.sampled_from([0.9, 0.95])),
            n_earlystop=draw(st.integers(3, 100)),
        )
    if name == "keyboard":
        data.update(
            margin_left=draw(st.sampled_from([0.03, 0.05])),
            margin_right=draw(st.sampled_from([0.05, 0.07])),
            extrasafe=draw(st.booleans()),
        )
    elif name == "mtpi2":
        data.update(
            epsilon1=draw(st.sampled_from([0.03, 0.05])),
            epsilon2=draw(st.sampled_from([0.05, 0.08])),
        )
    elif name == "i3+3":
        data.update(ei_low=target - 0.05, ei_high=target + draw(st.sampled_from([0.05, 0.1])))
    elif name in ("crm", "tite-crm"):
        data.update(
            halfwidth=draw(st.sampled_from([0.04, 0.06, 0.08])),
            prior_mtd=draw(st.integers(1, num)),
            model=draw(st.sampled_from(["empiric", "logistic"])),
            restrict=draw(st.booleans()),
            stop_tox_cutoff=draw(st.sampled_from([None, 0.8, 0.9])),
            stop_n_mtd=draw(st.sampled_from([None, 6, 9])),
        )
        if name == "tite-crm":
            data.update(tox_window=TOX_WINDOW, scheme=draw(st.sampled_from(["linear", "adaptive"])))
    return data


@st.composite
def designs(
    draw: st.DrawFn,
    num: int,
    start: int,
    with_fallback: bool,
    backfill: bool = False,
    only: str | None = None,
) -> Any:
    name = (
        only
        if only is not None
        else "boin"
        if backfill
        else draw(
            st.sampled_from(
                [
                    "boin",
                    "tite-boin",
                    "boin12",
                    "tite-boin12",
                    *NEW_DESIGNS,
                    *(() if with_fallback else ("3+3",)),
                ]
            )
        )
    )
    data: dict[str, Any] = {"design": name, "num_doses": num, "start_dose": start}
    if name in NEW_DESIGNS:
        data.update(new_design_options(draw, name, num))
    elif name == "tite-boin":
        data.update(
            target=draw(st.sampled_from([0.2, 0.25, 0.3])),
            cohort_size=draw(st.integers(1, 3)),
            max_n=draw(st.integers(6, 24)),
            n_earlystop=draw(st.integers(3, 12)),
            extrasafe=draw(st.booleans()),
            tox_window=TOX_WINDOW,
            form=draw(st.sampled_from(["imputation", "ess"])),
            max_pending=draw(st.sampled_from([0.34, 0.5, 0.67])),
            block_escalation_few_complete=draw(st.booleans()),
        )
    elif name == "boin":
        data.update(
            target=draw(st.sampled_from([0.2, 0.25, 0.3, 0.35])),
            cohort_size=3 if backfill else draw(st.integers(1, 3)),
            max_n=draw(st.integers(6, 24)),
            n_earlystop=draw(st.integers(3, 12)),
            extrasafe=draw(st.booleans()),
        )
    elif name == "3+3":
        data.update(allow_deescalate=draw(st.booleans()))
    else:
        data.update(
            cohort_size=draw(st.integers(1, 3)),
            max_n=draw(st.integers(6, 24)),
            n_stop=draw(st.integers(3, 12)),
        )
        if name == "tite-boin12":
            data.update(tox_window=TOX_WINDOW, eff_window=EFF_WINDOW)
    return design_from_dict(data)


@st.composite
def plans(draw: st.DrawFn, only: str | None = None) -> EscalationPlan:
    """A random plan; ``only``: with that design and a driving indication."""
    num = draw(st.integers(2, 5))
    fallback = None
    if draw(st.booleans()) and num >= 2:
        run_in = draw(st.integers(2, num))
        first_k = draw(st.integers(1, 4))
        fallback = BackupFallback(
            run_in_dose=run_in,
            backup_dose=draw(st.integers(1, run_in - 1)),
            first_k=first_k,
            min_dlts=draw(st.integers(1, first_k)),
            zero_dlt_branch=draw(st.sampled_from(["complete", "tite"])),
            reescalation=draw(st.sampled_from(["allowed", "blocked"])),
        )
        start = run_in
    else:
        start = draw(st.integers(1, num))
    with_backfill = only is None and draw(st.integers(0, 3)) == 0  # BOIN with the backfill rule
    design = draw(designs(num, start, fallback is not None, with_backfill, only))
    driving = only is not None or draw(st.booleans())
    monitor = None
    if driving and draw(st.booleans()):
        monitor = PooledSafetyMonitor(
            target=draw(st.sampled_from([0.2, 0.3])),
            cutoff=draw(st.sampled_from([0.8, 0.9, 0.95])),
            min_n=draw(st.integers(1, 4)),
            scope=draw(st.sampled_from(["all", "others"])),
            action=draw(st.sampled_from(["flag", "close_others"])),
        )
    crm: dict[str, Any] = {}
    if design.name in ("crm", "tite-crm"):
        crm["crm_rule"] = draw(st.sampled_from(["recommended", "overdose_control"]))
        if crm["crm_rule"] == "overdose_control":
            crm["crm_overdose_cutoff"] = draw(st.sampled_from([None, 0.1, 0.25, 0.5]))
    policy = OtherIndicationPolicy(
        min_complete=draw(st.integers(1, 4)),
        dose_cap=draw(st.sampled_from(["driving_current", "any_confirmed"])),
        max_n_per_indication=draw(st.one_of(st.none(), st.integers(1, 6))),
        continue_after_driving_stop=draw(st.booleans()),
        **crm,
    )
    backfill = None
    if with_backfill:
        assert isinstance(design, BOIN)
        backfill = BackfillRule(
            n_cap=draw(st.integers(3, 12)),
            cap_rule=draw(st.sampled_from(["at_most", "bfboin"])),
            assign=draw(st.sampled_from(["highest", "lowest", "random"])),
            activity=draw(st.sampled_from(["dose", "dose_or_lower"])),
            min_dose=draw(st.integers(1, num)),
            three_plus_three=draw(st.booleans()) and design.target == 0.25,
        )
    try:
        return EscalationPlan(
            design=design,
            dose_labels=tuple(f"DL{k}" for k in range(1, num + 1)),
            indications=(DRIVING, *OTHERS) if driving else (),
            driving_indication=DRIVING if driving else None,
            fallback=fallback,
            other_indications=policy,
            safety_monitor=monitor,
            complete_cohorts=draw(st.booleans()),
            max_total=draw(st.integers(4, 30)) if draw(st.integers(0, 2)) == 0 else None,
            backfill=backfill,
        )
    except InputError:
        assume(False)
        raise


# ------------------------------------------------------------------------------ histories
@dataclass(frozen=True)
class Histories:
    """Random histories of ``ROWS`` trials: the driving cohort as a view, the others' patients."""

    view: PatientView
    now: np.ndarray
    carried: np.ndarray  # (J, R) the state's eliminated
    oth_dose: np.ndarray  # (R, K) 0-based, J = none
    oth_ind: np.ndarray  # (R, K) index into OTHERS
    oth_entry: np.ndarray
    oth_rt: np.ndarray
    oth_tb: np.ndarray


def random_histories(plan: EscalationPlan, seed: int) -> Histories:
    rng = np.random.default_rng(seed)
    num, rows, width = plan.num_doses, ROWS, 14
    start = plan.design.start_dose - 1

    count = rng.integers(0, width + 1, rows)
    # a random walk of doses with a run at the start dose, so the fallback's phases all occur
    steps = rng.choice([-1, 0, 0, 1], (rows, width))
    walk = np.clip(start + np.cumsum(steps, axis=1), 0, num - 1)
    lead = rng.integers(0, 6, rows)
    dose = np.where(np.arange(width)[None, :] < lead[:, None], start, walk)
    dose = np.where(rng.random((rows, width)) < 0.15, rng.integers(0, num, (rows, width)), dose)
    dose = np.where(np.arange(width)[None, :] < count[:, None], dose, num)
    entry = np.cumsum(rng.exponential(6.0, (rows, width)), axis=1)
    tb = rng.random((rows, width)) < rng.uniform(0.05, 0.6, (rows, 1))
    eb = rng.random((rows, width)) < 0.4
    rt = entry + np.where(tb, rng.uniform(0, TOX_WINDOW, (rows, width)), TOX_WINDOW)
    re = entry + np.where(eb, rng.uniform(0, EFF_WINDOW, (rows, width)), EFF_WINDOW)
    k_oth = 8
    n_oth = rng.integers(0, k_oth + 1, rows)
    oth_dose = np.where(
        np.arange(k_oth)[None, :] < n_oth[:, None], rng.integers(0, num, (rows, k_oth)), num
    )
    oth_ind = rng.integers(0, len(OTHERS), (rows, k_oth))
    oth_entry = rng.uniform(0, 80, (rows, k_oth))
    oth_tb = rng.random((rows, k_oth)) < 0.35
    oth_rt = oth_entry + np.where(oth_tb, rng.uniform(0, TOX_WINDOW, (rows, k_oth)), TOX_WINDOW)
    r = np.arange(rows)
    last = np.maximum(
        np.where(count > 0, entry[r, np.maximum(count - 1, 0)], 0.0),
        np.where(oth_dose < num, oth_entry, 0.0).max(axis=1),
    )
    now = last + rng.choice([0.0, 1.0, 10.0, 40.0, 200.0], rows) * rng.random(rows)
    now = np.where(rng.random(rows) < 0.2, np.inf, now)  # some with every outcome known
    backfill = None
    if plan.backfills:
        # responses are what open doses: frequent, and seen with the DLT outcome
        eb = rng.random((rows, width)) < 0.7
        re = np.minimum(re, rt)
        # backfill patients after the third: treated below the escalation dose so far
        backfill = np.zeros((rows, width), dtype=np.bool_)
        for i in range(rows):
            esc_d = -1
            for c in range(int(count[i])):
                if c >= 3 and esc_d > 0 and rng.random() < 0.35:
                    backfill[i, c] = True
                    dose[i, c] = rng.integers(0, esc_d)
                else:
                    esc_d = int(dose[i, c])
    esc = np.ones((rows, width), dtype=np.bool_) if backfill is None else ~backfill
    current = np.zeros(rows, dtype=np.int64)
    run_len = np.zeros(rows, dtype=np.int64)
    for i in range(rows):
        cols = [c for c in range(int(count[i])) if esc[i, c]]
        if cols:
            current[i] = dose[i, cols[-1]]
        for c in reversed(cols):
            if dose[i, c] != current[i]:
                break
            run_len[i] += 1
    carried = rng.random((num, rows)) < 0.06
    view = PatientView(
        dose.astype(np.int64), entry, rt, re, tb, eb, count.astype(np.int64),
        current.astype(np.int64), run_len, backfill,
    )  # fmt: skip
    return Histories(view, now, carried, oth_dose, oth_ind, oth_entry, oth_rt, oth_tb)


def state_of(plan: EscalationPlan, h: Histories, r: int) -> tuple[TrialState, float | None]:
    """Trial ``r`` as the core sees it: every patient in order of entry."""
    now = float(h.now[r])
    use_eff = plan.design.uses_efficacy or plan.backfills
    v = h.view
    pts: list[tuple[float, Patient]] = []
    for c in range(int(v.count[r])):
        pts.append(
            (
                float(v.entry[r, c]),
                Patient(
                    dose=int(v.dose[r, c]) + 1,
                    entry_time=float(v.entry[r, c]),
                    tox=bool(v.tb[r, c]) if v.rt[r, c] <= now else None,
                    eff=(bool(v.eb[r, c]) if v.re[r, c] <= now else None) if use_eff else False,
                    indication=DRIVING if plan.driving_indication else None,
                    backfill=bool(v.backfill[r, c]) if v.backfill is not None else False,
                ),
            )
        )
    if plan.driving_indication is not None:
        for c in np.flatnonzero(h.oth_dose[r] < plan.num_doses):
            pts.append(
                (
                    float(h.oth_entry[r, c]),
                    Patient(
                        dose=int(h.oth_dose[r, c]) + 1,
                        entry_time=float(h.oth_entry[r, c]),
                        tox=bool(h.oth_tb[r, c]) if h.oth_rt[r, c] <= now else None,
                        eff=False,
                        indication=OTHERS[int(h.oth_ind[r, c])],
                    ),
                )
            )
    pts.sort(key=lambda x: x[0])  # stable: the driving cohort keeps its order
    elim = frozenset(int(d) + 1 for d in np.flatnonzero(h.carried[:, r]))
    state = TrialState(plan.num_doses, tuple(p for _, p in pts), eliminated=elim)
    return state, None if math.isinf(now) else now


def crm_near_tie(plan: EscalationPlan, state: TrialState, rec: Any) -> bool:
    """Whether a CRM / TITE-CRM evaluation sits at a near-tie, where the array fit (fixed
    Gauss-Legendre rule) and dfcrm's ``integrate`` (the scalar fit) may give different doses
    (see :mod:`doseladder.core.designs.arrays.crm`): |p̂_j − target| of the two closest doses
    within 1e-3, or a posterior probability within 1e-6 of its cutoff -- in the driving
    decision's fit or in the confirmed-safe rule's fit on the known driving outcomes."""
    design = plan.design
    if not isinstance(design, CrmParameters):
        return False

    def tie(ptox: Any) -> bool:
        gaps = sorted(abs(float(p) - design.target) for p in ptox)
        return len(gaps) > 1 and gaps[1] - gaps[0] < 1e-3

    def near(prob: float, cutoff: float | None) -> bool:
        return cutoff is not None and abs(prob - cutoff) < 1e-6

    kw: dict[str, Any] = {
        "model": design.model,
        "intercept": float(design.intercept),
        "scale": float(design.prior_sd),
    }
    drv = [p for p in state.patients if p.indication in (None, DRIVING)]
    dec = rec.driving_decision
    if dec is not None:
        for values in (dec.reason.values, *(st_.values for st_ in dec.steps)):
            if "ptox" in values and tie(values["ptox"]):
                return True
        if design.stop_tox_cutoff is not None and drv:
            weights = dec.reason.values.get("weights")
            prob = prob_dose_above(
                design.skeleton_values, 1, design.target, [p.dose for p in drv],
                [1 if p.tox else 0 for p in drv], weights, **kw,
            )  # fmt: skip
            if near(prob, design.stop_tox_cutoff):
                return True
    known = [p for p in drv if p.tox is not None]
    if not known:
        return False
    levels, tox = [p.dose for p in known], [1 if p.tox else 0 for p in known]
    if tie(design.fit(levels, tox).ptox):
        return True
    policy = plan.other_indications
    if policy.crm_rule == "overdose_control":
        cutoff = policy.crm_overdose_cutoff or DEFAULT_OVERDOSE_CUTOFF
        for k in range(1, plan.num_doses + 1):
            if near(prob_dose_above(design.skeleton_values, k, design.target, levels, tox, **kw),
                    cutoff):  # fmt: skip
                return True
    return False


def _level(dose0: int) -> int | None:
    return dose0 + 1 if dose0 >= 0 else None


def _doses(mask: np.ndarray) -> frozenset[int]:
    return frozenset(int(d) + 1 for d in np.flatnonzero(mask))


# ------------------------------------------------------------------------------ tests
@SETTINGS
@given(plan=plans(), seed=st.integers(0, 2**32 - 1))
def test_driving_entry_and_fallback_agree_with_recommend(plan: EscalationPlan, seed: int) -> None:
    h = random_histories(plan, seed)
    step = driving_recommendation(plan, h.view, h.now, h.carried)
    fb = fallback_status(plan, h.view, h.now) if plan.fallback is not None else None
    n_all = h.view.count + (
        (h.oth_dose < plan.num_doses).sum(axis=1) if plan.driving_indication else 0
    )
    capped = n_all >= plan.max_total if plan.max_total is not None else None
    bstep = backfill_recommendation(plan, h.view, h.now, step, capped)
    checked = 0
    for r in range(ROWS):
        state, now = state_of(plan, h, r)
        try:
            rec = recommend(plan, state, now)
        except InputError:
            continue  # a history the design does not define
        if crm_near_tie(plan, state, rec):
            continue  # the array and scalar CRM fits may pick different doses here
        checked += 1
        where = (r, rec.driving.reason.rule)
        if fb is not None:
            assert rec.fallback is not None
            assert rec.fallback.phase.value == PHASES[int(fb.phase[r])], where
            assert rec.fallback.fired == bool(fb.fired[r]), where
        status, dose = STATUS[int(step.status[r])], _level(int(step.dose[r]))
        if plan.max_total is not None and n_all[r] >= plan.max_total:
            status, dose = EnrolStatus.CLOSED, None  # the trial-wide cap (the caller's part)
        assert rec.driving.status is status, where
        assert rec.driving.dose == dose, where
        assert rec.eliminated == _doses(step.eliminated[:, r]), where
        # backfill: the open doses (0-based) and the assignment rule's pick
        want_open = tuple(int(j) for j in np.flatnonzero(bstep.open[:, r]))
        assert rec.driving.backfill_open == want_open, where
        assert rec.driving.backfill_dose == (int(bstep.dose[r]) if bstep.dose[r] >= 0 else None), (
            where
        )
    assert checked >= ROWS // 2


@SETTINGS
@given(plan=plans(), seed=st.integers(0, 2**32 - 1))
def test_other_indications_agree_with_recommend(plan: EscalationPlan, seed: int) -> None:
    assume(plan.driving_indication is not None)
    check_other_indications(plan, seed)


@pytest.mark.parametrize("name", NEW_DESIGNS)
@settings(SETTINGS, max_examples=12)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_other_indications_agree_with_recommend_for_each_new_design(
    name: str, data: st.DataObject, seed: int
) -> None:
    """Keyboard, mTPI-2, i3+3, CRM and TITE-CRM each as the driving design (random options,
    the CRM rule of the policy included): the other indications' entries equal ``recommend``'s."""
    check_other_indications(data.draw(plans(only=name)), seed)


def check_other_indications(plan: EscalationPlan, seed: int) -> None:
    """``other_recommendation`` for every other indication = ``recommend``'s entry, on random
    histories of ``ROWS`` trials of ``plan``."""
    h = random_histories(plan, seed)
    num = plan.num_doses
    oth_in = h.oth_dose < num
    oth_known = oth_in & (h.oth_rt <= h.now[:, None])
    drv_known = (h.view.dose < num) & (h.view.rt <= h.now[:, None])
    dose_ix = np.arange(num)[:, None, None]
    pooled_n = (oth_known[None] & (h.oth_dose[None] == dose_ix)).sum(axis=2)
    pooled_y = (oth_known[None] & h.oth_tb[None] & (h.oth_dose[None] == dose_ix)).sum(axis=2)
    mon = plan.safety_monitor
    if mon is not None and mon.scope == "all":
        pooled_n += (drv_known[None] & (h.view.dose[None] == dose_ix)).sum(axis=2)
        pooled_y += (drv_known[None] & h.view.tb[None] & (h.view.dose[None] == dose_ix)).sum(axis=2)
    total = h.view.count + oth_in.sum(axis=1)
    steps = {}
    for k, name in enumerate(OTHERS):
        n_ind = (oth_in & (h.oth_ind == k)).sum(axis=1)
        steps[name] = other_recommendation(
            plan, h.view, h.now, h.carried, pooled_n, pooled_y, total, n_ind
        )
    checked = 0
    for r in range(ROWS):
        state, now = state_of(plan, h, r)
        try:
            rec = recommend(plan, state, now)
        except InputError:
            continue
        if crm_near_tie(plan, state, rec):
            continue  # the array and scalar CRM fits may pick different doses here
        checked += 1
        for name in OTHERS:
            got = rec.for_indication(name)
            step = steps[name]
            where = (r, name, got.reason.rule)
            assert got.status is STATUS[int(step.status[r])], where
            assert got.dose == _level(int(step.dose[r])), where
    assert checked >= ROWS // 2


@pytest.mark.parametrize("eff", [False, True])
@pytest.mark.parametrize("tite", [False, True])
def test_design_decisions_past_max_n_agree_with_decide(eff: bool, tite: bool) -> None:
    """Regression: a BOIN12-family history with more patients than ``max_n`` (2 doses,
    max_n=6, n_stop=3, cohort size 1, 9 complete patients at dose 1) used to raise IndexError
    from a desirability table sized by ``max_n``; it now gives the core's decision (stop,
    ``max_n_reached``)."""
    common: dict[str, Any] = {"num_doses": 2, "max_n": 6, "n_stop": 3, "cohort_size": 1}
    design = (
        TITEBOIN12(**common, tox_window=TOX_WINDOW, eff_window=EFF_WINDOW)
        if tite
        else BOIN12(**common)
    )
    width, now = 9, 1000.0
    entry = np.arange(width, dtype=np.float64)[None, :]
    view = PatientView(
        dose=np.zeros((1, width), dtype=np.int64),
        entry=entry,
        rt=entry + TOX_WINDOW,
        re=entry + 1.0,
        tb=np.zeros((1, width), dtype=np.bool_),
        eb=np.full((1, width), eff),
        count=np.array([width]),
        current=np.array([0]),
        run_len=np.array([width]),
    )
    got = design_decisions(design, view, np.array([now]), np.zeros((2, 1), dtype=np.bool_))
    state = TrialState(
        2,
        tuple(
            Patient(1, entry_time=float(t), tox=False, eff=eff, eff_time=1.0 if eff else None)
            for t in range(width)
        ),
    )
    dec = design.decide(state, now)
    assert dec.reason.rule == "max_n_reached"
    assert ACTION_NAMES[int(got.action[0])] == dec.action.value
    assert int(got.next_dose[0]) + 1 == dec.next_dose
    assert frozenset(int(j) + 1 for j in np.flatnonzero(got.eliminated[:, 0])) == dec.eliminated


@SETTINGS
@given(
    num=st.integers(2, 5),
    n_cap=st.integers(3, 12),
    cap_rule=st.sampled_from(["at_most", "bfboin"]),
    assign=st.sampled_from(["highest", "lowest", "random"]),
    activity=st.sampled_from(["dose", "dose_or_lower"]),
    min_dose=st.integers(1, 3),
    target=st.sampled_from([0.25, 0.3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_backfill_entry_agrees_with_recommend_on_cohort_histories(
    num: int,
    n_cap: int,
    cap_rule: str,
    assign: str,
    activity: str,
    min_dose: int,
    target: float,
    seed: int,
) -> None:
    """BOIN + backfill rule on histories shaped like trials: escalation cohorts of 3 walking
    over the doses, backfill patients below the cohort's dose between cohorts, the last cohort
    often in follow-up -- ``driving_recommendation`` and ``backfill_recommendation`` give
    ``recommend``'s status, dose, open doses and assignment."""
    plan = EscalationPlan(
        design=BOIN(num_doses=num, target=target, max_n=30),
        dose_labels=tuple(f"DL{k}" for k in range(1, num + 1)),
        backfill=BackfillRule(
            n_cap=n_cap,
            cap_rule=cap_rule,
            assign=assign,
            activity=activity,
            min_dose=min(min_dose, num),
        ),
    )
    rng = np.random.default_rng(seed)
    rows, width = ROWS, 40
    dose = np.full((rows, width), num, dtype=np.int64)
    entry = np.full((rows, width), np.inf)
    bf = np.zeros((rows, width), dtype=np.bool_)
    now = np.zeros(rows)
    count = np.zeros(rows, dtype=np.int64)
    p_tox = np.sort(rng.uniform(0.0, 0.6, num))
    for i in range(rows):
        t, c, d = 0.0, 0, 0
        for k in range(int(rng.integers(1, 6))):
            if k:
                d = int(np.clip(d + rng.choice([-1, 0, 1, 1]), 0, num - 1))
                # the next cohort usually waits for the previous one's DLT window
                if rng.random() < 0.8:
                    t = max(t, float(entry[i, c - 1]) + TOX_WINDOW)
            for _ in range(3):
                dose[i, c], entry[i, c] = d, t
                c, t = c + 1, t + float(rng.exponential(3.0))
            for _ in range(int(rng.integers(0, 5)) if d > 0 else 0):
                dose[i, c], entry[i, c], bf[i, c] = int(rng.integers(0, d)), t, True
                c, t = c + 1, t + float(rng.exponential(3.0))
        count[i] = c
        now[i] = t + float(rng.choice([0.0, 5.0, 15.0, 40.0]))
    tb = rng.random((rows, width)) < p_tox[np.minimum(dose, num - 1)]
    eb = rng.random((rows, width)) < 0.5
    rt = entry + np.where(tb, rng.uniform(0, TOX_WINDOW, (rows, width)), TOX_WINDOW)
    re = rt.copy()
    current = np.zeros(rows, dtype=np.int64)
    run_len = np.zeros(rows, dtype=np.int64)
    for i in range(rows):
        cols = [c for c in range(int(count[i])) if not bf[i, c]]
        current[i] = dose[i, cols[-1]]
        for c in reversed(cols):
            if dose[i, c] != current[i]:
                break
            run_len[i] += 1
    view = PatientView(dose, entry, rt, re, tb, eb, count, current, run_len, bf)
    carried = np.zeros((num, rows), dtype=np.bool_)
    empty = np.zeros((rows, 0))
    h = Histories(
        view, now, carried, empty.astype(np.int64), empty.astype(np.int64), empty, empty,
        empty.astype(np.bool_),
    )  # fmt: skip
    step = driving_recommendation(plan, view, now, carried)
    bstep = backfill_recommendation(plan, view, now, step)
    opened = 0
    for r in range(rows):
        state, t_now = state_of(plan, h, r)
        rec = recommend(plan, state, t_now)
        where = (r, rec.driving.reason.rule)
        assert rec.driving.status is STATUS[int(step.status[r])], where
        assert rec.driving.dose == _level(int(step.dose[r])), where
        want_open = tuple(int(j) for j in np.flatnonzero(bstep.open[:, r]))
        assert rec.driving.backfill_open == want_open, where
        assert rec.driving.backfill_dose == (int(bstep.dose[r]) if bstep.dose[r] >= 0 else None), (
            where
        )
        opened += bool(want_open)
    assume(opened > 0)  # examples where nothing opens say little about backfill
