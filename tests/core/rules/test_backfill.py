"""The backfill protocol rule: BOIN plans with ``BackfillRule`` (spec ``backfill.md``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core.decision import Action
from doseladder.core.designs import BOIN, TITEBOIN12
from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.core.errors import InputError
from doseladder.core.rules import (
    BackfillRule,
    BackupFallback,
    EnrolStatus,
    EscalationPlan,
    recommend,
)
from doseladder.core.state import Patient, TrialState

LABELS = ("DL1", "DL2", "DL3", "DL4", "DL5")


def plan(**rule: object) -> EscalationPlan:
    return EscalationPlan(
        BOIN(num_doses=5, target=0.25, max_n=30), LABELS, backfill=BackfillRule(**rule)
    )


def esc(dose: int, outcomes: str, *, resp: int = 0, t0: float = 0.0) -> list[Patient]:
    """Escalation patients: T/N/P(ending); the first ``resp`` have a response."""
    return [
        Patient(
            dose=dose,
            entry_time=t0 + i,
            tox=None if c == "P" else c == "T",
            eff=(i < resp) if c != "P" else None,
        )
        for i, c in enumerate(outcomes)
    ]


def bf(dose: int, outcomes: str, t0: float = 50.0) -> list[Patient]:
    return [
        Patient(dose=dose, entry_time=t0 + i, tox=None if c == "P" else c == "T", backfill=True)
        for i, c in enumerate(outcomes)
    ]


def test_pending_cohort_opens_backfill_at_the_responding_dose() -> None:
    # spec §7 H1: cohort at dose 3 pending; only dose 2 has a response -> open {2}
    pts = esc(1, "NNN") + esc(2, "NNN", resp=1, t0=3) + esc(3, "PPP", t0=6)
    rec = recommend(plan(), TrialState(5, tuple(pts)), now=20.0)
    d = rec.driving
    assert d.status is EnrolStatus.WAIT and d.dose == 3
    assert d.backfill_open == (1,)  # 0-based: DL2
    assert d.backfill_dose == 1
    assert rec.to_dict()["indications"][0]["backfill_open"] == [1]
    assert rec.to_dict()["indications"][0]["backfill_dose"] == 1


def test_current_dose_is_the_escalation_cohorts_not_the_last_patients() -> None:
    # a backfill patient at DL2 after the pending cohort at DL3: escalation still waits at DL3
    # (the old rule read the last patient's dose and "completed a cohort" at DL2)
    pts = esc(1, "NNN") + esc(2, "NNN", resp=1, t0=3) + esc(3, "PPP", t0=6) + bf(2, "P")
    rec = recommend(plan(), TrialState(5, tuple(pts)), now=60.0)
    assert rec.driving.status is EnrolStatus.WAIT and rec.driving.dose == 3
    assert rec.driving.backfill_open == (1,)
    # cohort 3 completes 0/3; dose 2 has 1/5 (S), pooled 2..3 = 1/8 <= b_e(8) = 1: escalate
    done = esc(1, "NNN") + esc(2, "NNN", resp=1, t0=3) + esc(3, "NNN", t0=6) + bf(2, "TN")
    rec = recommend(plan(), TrialState(5, tuple(done)), now=60.0)
    assert rec.driving.status is EnrolStatus.ENROL and rec.driving.dose == 4
    assert rec.driving.backfill_open == () and rec.driving.backfill_dose is None
    assert rec.driving_decision is not None
    assert rec.driving_decision.reason.rule == "bf_boin.escalate"


def test_backfill_dlts_force_a_two_level_deescalation() -> None:
    # spec §7 H2 (second case): cohort 3 is 1/3, dose 2 is 4/9 with backfill -> go to dose 1
    pts = (
        esc(1, "NNNNNN", resp=1)
        + esc(2, "TNN", resp=1, t0=6)
        + esc(3, "TNN", t0=9)
        + bf(2, "TTTNNN")
    )
    rec = recommend(plan(), TrialState(5, tuple(pts)), now=100.0)
    assert rec.driving.status is EnrolStatus.ENROL and rec.driving.dose == 1


def test_min_dose_and_assignment() -> None:
    pts = esc(1, "NNN", resp=1) + esc(2, "NNN", resp=1, t0=3) + esc(3, "PPP", t0=6)
    st_ = TrialState(5, tuple(pts))
    assert recommend(plan(), st_, 20.0).driving.backfill_open == (0, 1)
    assert recommend(plan(assign="lowest"), st_, 20.0).driving.backfill_dose == 0
    rnd = recommend(plan(assign="random"), st_, 20.0).driving
    assert rnd.backfill_open == (0, 1) and rnd.backfill_dose is None
    hi = recommend(plan(min_dose=2), st_, 20.0).driving
    assert hi.backfill_open == (1,) and hi.backfill_dose == 1


def test_plain_bf_boin_design_fills_the_fields_too() -> None:
    p = EscalationPlan(BFBOIN(num_doses=5), LABELS)
    pts = esc(1, "NNN") + esc(2, "NNN", resp=1, t0=3) + esc(3, "PPP", t0=6)
    d = recommend(p, TrialState(5, tuple(pts)), 20.0).driving
    assert d.backfill_open == (1,) and d.backfill_dose == 1


def test_without_backfill_the_fields_stay_empty() -> None:
    p = EscalationPlan(BOIN(num_doses=5, target=0.25), LABELS)
    pts = esc(1, "NNN", resp=1) + esc(2, "NNN", resp=1, t0=3) + esc(3, "PPP", t0=6)
    d = recommend(p, TrialState(5, tuple(pts)), 20.0).driving
    assert d.backfill_open == () and d.backfill_dose is None
    with pytest.raises(InputError) as exc:
        recommend(p, TrialState(5, tuple(pts + bf(1, "P"))), 60.0)
    assert exc.value.field == "patients[9].backfill"


def test_trial_wide_cap_closes_backfill() -> None:
    p = EscalationPlan(BOIN(num_doses=5, target=0.25), LABELS, backfill=BackfillRule(), max_total=9)
    pts = esc(1, "NNN") + esc(2, "NNN", resp=1, t0=3) + esc(3, "PPP", t0=6)
    d = recommend(p, TrialState(5, tuple(pts)), 20.0).driving
    assert d.status is EnrolStatus.CLOSED and d.backfill_open == ()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rule": {"n_cap": 0}}, "n_cap"),
        ({"rule": {"assign": "middle"}}, "assign"),
        ({"rule": {"activity": "any"}}, "activity"),
        ({"rule": {"min_dose": 0}}, "min_dose"),
        ({"rule": {"indications": ["a", "a"]}}, "indications"),
    ],
)
def test_rule_validation_names_the_field(kwargs: dict[str, dict[str, object]], field: str) -> None:
    with pytest.raises(InputError) as exc:
        BackfillRule(**kwargs["rule"])  # type: ignore[arg-type]
    assert exc.value.field == field


def test_plan_validation_names_the_field() -> None:
    boin = BOIN(num_doses=5, target=0.25)
    cases: list[tuple[dict[str, object], str]] = [
        (
            {
                "design": TITEBOIN12(num_doses=5, tox_window=28, eff_window=90),
                "backfill": BackfillRule(),
            },
            "backfill.design",
        ),
        (
            {"design": BOIN(num_doses=5, target=0.25, cohort_size=2), "backfill": BackfillRule()},
            "design.cohort_size",
        ),
        ({"design": boin, "backfill": BackfillRule(min_dose=6)}, "backfill.min_dose"),
        (
            {
                "design": BOIN(num_doses=5, target=0.3),
                "backfill": BackfillRule(three_plus_three=True),
            },
            "backfill.three_plus_three",
        ),
        (
            {
                "design": boin,
                "backfill": BackfillRule(indications=("other",)),
                "indications": ("drv", "other"),
                "driving_indication": "drv",
            },
            "backfill.indications[0]",
        ),
    ]
    for kwargs, field in cases:
        design = kwargs.pop("design")
        with pytest.raises(InputError) as exc:
            EscalationPlan(design, LABELS, **kwargs)  # type: ignore[arg-type]
        assert exc.value.field == field, (kwargs, exc.value)


def test_describe_cites_the_source() -> None:
    text = plan(min_dose=2).describe()
    assert "Backfill (BF-BOIN)" in text and "Clin Cancer Res 2024" in text
    assert "at or above DL2" in text
    assert plan().to_dict()["backfill"]["n_cap"] == 12


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    j=st.integers(2, 5),
    assign=st.sampled_from(["highest", "lowest", "random"]),
    activity=st.sampled_from(["dose", "dose_or_lower"]),
    min_dose=st.integers(1, 3),
    n_cap=st.integers(3, 9),
    cap_rule=st.sampled_from(["at_most", "bfboin"]),
    fallback=st.booleans(),
)
def test_backfill_only_at_open_doses_never_eliminated_or_untried(
    seed: int,
    j: int,
    assign: str,
    activity: str,
    min_dose: int,
    n_cap: int,
    cap_rule: str,
    fallback: bool,
) -> None:
    """Trials run in time through ``recommend``: every open dose is below the escalation dose,
    at or above ``min_dose``, not eliminated, tried by an escalation patient with a response
    (at or below it), under the cap -- checked independently -- and a backfill patient is only
    ever enrolled at an open dose."""
    labels = LABELS[:j]
    min_dose = min(min_dose, j)
    fb = BackupFallback(run_in_dose=2, backup_dose=1) if fallback and j >= 2 else None
    p = EscalationPlan(
        BOIN(num_doses=j, target=0.25, max_n=18, start_dose=2 if fb else 1),
        labels,
        fallback=fb,
        backfill=BackfillRule(
            n_cap=n_cap, cap_rule=cap_rule, assign=assign, activity=activity, min_dose=min_dose
        ),
    )
    # the most patients a backfill patient may bring a dose to (at_most: n_cap; bfboin:
    # "<= n_cap before enrolling", so n_cap + 1)
    limit = n_cap if cap_rule == "at_most" else n_cap + 1
    rng = np.random.default_rng(seed)
    p_tox = np.sort(rng.uniform(0, 0.6, j))
    p_eff = rng.uniform(0.1, 0.8, j)
    window = 10.0
    pts: list[Patient] = []
    latent: list[tuple[float, bool]] = []  # (DLT time, DLT)
    carried: frozenset[int] = frozenset()
    now = 0.0
    for _ in range(120):
        known_l = []
        for q, (t_dlt, tox) in zip(pts, latent, strict=True):
            done_at = t_dlt if tox else q.entry_time + window
            # the DLT outcome (and an escalation patient's response) is known at done_at
            seen = done_at <= now
            known_l.append(
                Patient(
                    dose=q.dose,
                    entry_time=q.entry_time,
                    tox=tox if seen else None,
                    eff=q.eff if seen else None,
                    backfill=q.backfill,
                )
            )
        known = tuple(known_l)
        state = TrialState(j, known, eliminated=carried)
        rec = recommend(p, state, now)
        carried = carried | rec.eliminated
        drv = rec.driving
        esc_doses = [q.dose for q in known if not q.backfill]
        d_esc = esc_doses[-1] if esc_doses else None
        for k0 in drv.backfill_open:
            k = k0 + 1
            assert d_esc is not None and k < d_esc
            assert k >= min_dose and k not in rec.eliminated
            lowest = 1 if activity == "dose_or_lower" else k
            assert any(not q.backfill and q.eff is True and lowest <= q.dose <= k for q in known)
            assert any(not q.backfill and q.dose == k for q in known)  # tried
            assert sum(q.dose == k for q in known) + 1 <= limit  # room for one more
        if drv.backfill_dose is not None:
            assert drv.backfill_dose in drv.backfill_open
        if drv.status is EnrolStatus.CLOSED:
            break
        arrival = rng.random() < 0.6
        dose: int | None = None
        backfill = False
        if arrival and drv.status is EnrolStatus.ENROL:
            dose = drv.dose
        elif arrival and drv.backfill_open:
            pick = drv.backfill_dose
            if pick is None:
                pick = drv.backfill_open[int(rng.integers(len(drv.backfill_open)))]
            dose, backfill = pick + 1, True
        if dose is not None:
            tox = bool(rng.random() < p_tox[dose - 1])
            pts.append(
                Patient(
                    dose=dose,
                    entry_time=now,
                    tox=None,
                    eff=bool(rng.random() < p_eff[dose - 1]) and not backfill,
                    backfill=backfill,
                )
            )
            latent.append((now + float(rng.uniform(0, window)), tox))
        now += float(rng.exponential(2.0))
    assert all(q.dose >= min_dose for q in pts if q.backfill)


def test_decision_design_is_bf_boin_from_the_boin_parameters() -> None:
    p = plan(n_cap=7)
    dd = p.decision_design
    assert isinstance(dd, BFBOIN) and dd.n_cap == 7 and dd.target == 0.25 and dd.max_n == 30
    pts = esc(1, "NNN") + esc(2, "TTT", t0=3)
    dec = recommend(p, TrialState(5, tuple(pts)), 20.0).driving_decision
    assert dec is not None and dec.action is Action.DEESCALATE


def test_after_a_one_patient_fallback_the_trial_re_escalates() -> None:
    """Regression: with a fallback, 1 DLT in the first DL1 subject moves to the backup dose; the
    BF-BOIN cohorts (every 3 escalation subjects) then no longer line up with runs at one dose,
    and the plan's own cohort completion used to keep the trial at the backup dose for good.
    BF-BOIN forms its cohorts itself; the plan's completion does not apply to it."""
    p = EscalationPlan(
        BOIN(num_doses=3, target=0.35, max_n=39, start_dose=2),
        ("DL-1", "DL1", "DL2"),
        fallback=BackupFallback(run_in_dose=2, backup_dose=1),
        backfill=BackfillRule(),
    )
    assert p.design_forms_cohorts
    first = [Patient(2, 0.0, True, eff=False)]
    for n_back, status, dose in ((6, EnrolStatus.ENROL, 1), (8, EnrolStatus.ENROL, 2)):
        pts = first + [Patient(1, 10.0 + i, False, eff=False) for i in range(n_back)]
        rec = recommend(p, TrialState(3, tuple(pts)), 200.0)
        assert (rec.driving.status, rec.driving.dose) == (status, dose), rec.driving.reason
    # 1 + 8 = 9 escalation subjects: a full cohort, 0/8 at DL-1 -> escalate to DL1
    assert rec.driving_decision is not None
    assert rec.driving_decision.reason.rule == "bf_boin.escalate"
    assert "every 3 escalation subjects form a cohort" in p.describe()
