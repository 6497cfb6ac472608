"""BF-BOIN kernel: every enrolled patient is where the core sends them (the trial rebuilt at
each arrival and given to ``BFBOIN.decide`` / ``backfill_open``), which proves the invariants
-- never skip an untried dose, never an eliminated dose, a backfill patient only at a dose open
for backfill --; without responses (no backfill) it is BOIN trial by trial; results split
escalation and backfill."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseladder.core.decision import Action
from doseladder.core.designs import BOIN
from doseladder.core.designs.bf_boin import BFBOIN, assign_backfill, backfill_open
from doseladder.core.state import Patient, TrialState
from doseladder.simulate.engine import simulate
from doseladder.simulate.kernels.bf_boin import simulate_bf_boin
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Accrual, EventTimeModel, Scenario


def _replay(
    design: BFBOIN, draws: PatientDraws, dose_seq: np.ndarray, entry: np.ndarray, trial: int
) -> tuple[list[bool], TrialState]:
    """Walk one simulated trial patient by patient, checking each against the core; returns
    the backfill flags and the final state."""
    w = float(design.tox_window)
    rows = np.array([trial])
    count = int((dose_seq > 0).sum())
    flags: list[bool] = []
    tried = {design.start_dose}
    elim: frozenset[int] = frozenset()
    esc_dose = design.start_dose
    resp_all = draws.scenario.p_eff is None
    for i in range(count + 1):
        now = float(entry[i]) if i < count else math.inf
        pts = []
        for q in range(i):
            d = int(dose_seq[q])
            frac = float(draws.tox_time(rows, q, np.array([d - 1]))[0])
            e = float(entry[q])
            done = e + (frac if math.isfinite(frac) else 1.0) * w
            tox = None if done > now else math.isfinite(frac)
            eff: bool | None = False
            if not flags[q]:
                r = resp_all or bool(draws.eff(rows, q, np.array([d - 1]))[0])
                eff = r if e + w <= now else None
            pts.append(
                Patient(
                    d, e, tox=tox, tox_time=frac * w if tox else None, eff=eff, backfill=flags[q]
                )
            )
        state = TrialState(
            design.num_doses, tuple(pts), current_dose=esc_dose if pts else None, eliminated=elim
        )
        if i == count:
            return flags, state
        dec = design.decide(state)
        d_i = int(dose_seq[i])
        if dec.action is Action.SUSPEND:
            opened = backfill_open(design, state, esc_dose)
            assert d_i in opened, (trial, i, opened, d_i)  # only at a dose open for backfill
            if design.backfill_assign != "random":
                assert d_i == assign_backfill(opened, design.backfill_assign)
            assert d_i < esc_dose
            flags.append(True)
        else:
            assert dec.action is not Action.STOP, (trial, i, dec)
            assert dec.next_dose == d_i, (trial, i, state, dec)
            assert d_i <= max(tried) + 1  # never skip an untried dose
            esc_dose = d_i
            tried.add(d_i)
            flags.append(False)
        elim = dec.eliminated
        assert d_i not in elim  # never an eliminated dose
    raise AssertionError("unreachable")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    assign=st.sampled_from(["highest", "lowest", "random"]),
    activity=st.sampled_from(["dose", "dose_or_lower"]),
    accrual=st.sampled_from(["uniform", "poisson"]),
    rate=st.sampled_from([1.0, 3.0, 8.0]),
    n_cap=st.integers(3, 12),
    cap_rule=st.sampled_from(["bfboin", "at_most"]),
    tpt=st.booleans(),
    p=st.lists(st.floats(0.02, 0.7), min_size=4, max_size=4),
)
def test_every_patient_is_where_the_core_sends_them(
    seed: int,
    assign: str,
    activity: str,
    accrual: str,
    rate: float,
    n_cap: int,
    cap_rule: str,
    tpt: bool,
    p: list[float],
) -> None:
    design = BFBOIN(
        num_doses=4,
        target=0.25,
        cohort_size=3,
        max_n=18,
        n_cap=n_cap,
        cap_rule=cap_rule,
        backfill_assign=assign,
        activity=activity,
        three_plus_three=tpt,
    )
    sc = Scenario(
        p_tox=tuple(sorted(p)),
        p_eff=(0.3, 0.5, 0.6, 0.6),
        accrual=Accrual(accrual, rate),
        tox_time=EventTimeModel("weibull"),
    )
    draws = PatientDraws(sc, seed, 0, 0, 6, design.n_max)
    out = simulate_bf_boin(design, draws)
    assert out.n_backfill is not None and out.tox_backfill is not None
    for tr in range(6):
        flags, _final = _replay(design, draws, out.dose_seq[tr], out.entry[tr], tr)
        assert _most_at_backfill(out.dose_seq[tr], flags) <= n_cap + (cap_rule == "bfboin")
        n_esc = sum(1 for f in flags if not f)
        assert n_esc == design.max_n or out.stopped_early[tr]
        # the end: the last escalation cohort's last completion; backfill still pending then
        # is dropped from the counts
        assert out.n_backfill[tr].sum() <= sum(flags)
        assert np.all(out.n_backfill[tr] <= out.n[tr])
        assert np.all(out.tox_backfill[tr] <= out.tox[tr])
        assert out.n[tr].sum() - out.n_backfill[tr].sum() == n_esc
        assert out.duration[tr] > 0


def _most_at_backfill(dose_seq: np.ndarray, flags: list[bool]) -> int:
    """The most patients a dose held right after a backfill patient joined it (0: none)."""
    count: dict[int, int] = {}
    most = 0
    for d, bf in zip(dose_seq.tolist(), flags, strict=False):
        count[d] = count.get(d, 0) + 1
        if bf:
            most = max(most, count[d])
    return most


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 10**6),
    n_cap=st.integers(4, 6),  # above the escalation cohort of 3
    assign=st.sampled_from(["highest", "lowest"]),
)
def test_backfill_never_takes_a_dose_past_the_cap_of_its_reading(
    seed: int, n_cap: int, assign: str
) -> None:
    """Fast accrual, every escalation patient responds, low toxicity, a small cap: backfill
    fills the open doses to the cap.  With ``cap_rule: at_most`` a backfill patient never
    brings a dose above n_cap, with ``bfboin`` never above n_cap + 1 -- and both limits are
    reached (the readings differ by one patient per dose, the reason for the option)."""
    sc = Scenario(
        p_tox=(0.02, 0.03, 0.05, 0.08),
        accrual=Accrual("uniform", 12.0),
        tox_time=EventTimeModel("weibull"),
    )
    for rule, limit in (("at_most", n_cap), ("bfboin", n_cap + 1)):
        design = BFBOIN(
            num_doses=4,
            target=0.25,
            cohort_size=3,
            max_n=24,
            n_cap=n_cap,
            cap_rule=rule,
            backfill_assign=assign,
        )
        draws = PatientDraws(sc, seed, 0, 0, 8, design.n_max)
        out = simulate_bf_boin(design, draws)
        most = [
            _most_at_backfill(
                out.dose_seq[tr], _replay(design, draws, out.dose_seq[tr], out.entry[tr], tr)[0]
            )
            for tr in range(8)
        ]
        assert max(most) == limit, (rule, most)


def test_without_responses_bf_boin_is_boin_trial_by_trial() -> None:
    """No response -> no dose is ever open for backfill: BF-BOIN = BOIN (spec §3) on the
    same latent patients."""
    sc = Scenario(
        p_tox=(0.05, 0.15, 0.3, 0.45, 0.6),
        p_eff=(0.0,) * 5,
        accrual=Accrual("poisson", 2.0),
        name="S",
    )
    bf = BFBOIN(num_doses=5, target=0.3, cohort_size=3, max_n=30)
    boin = BOIN(num_doses=5, target=0.3, cohort_size=3, max_n=30)
    a = simulate(bf, sc, 2000, seed=11, keep_trials=True, max_n=bf.n_max).trials
    b = simulate(boin, sc, 2000, seed=11, keep_trials=True, max_n=bf.n_max).trials
    assert a is not None and b is not None and a.n_backfill is not None
    assert a.n_backfill.sum() == 0
    np.testing.assert_array_equal(a.n, b.n)
    np.testing.assert_array_equal(a.tox, b.tox)
    np.testing.assert_array_equal(a.selected, b.selected)


def test_results_report_the_split_and_duration() -> None:
    sc = Scenario(
        p_tox=(0.05, 0.1, 0.25, 0.4),
        p_eff=(0.3, 0.4, 0.5, 0.5),
        accrual=Accrual("uniform", 3.0),
        tox_time=EventTimeModel("weibull"),
    )
    design = BFBOIN(num_doses=4, target=0.25, cohort_size=3, max_n=24)
    res = simulate(design, sc, 1000, seed=5)
    pd_ = res.per_dose
    np.testing.assert_allclose(
        pd_["mean_patients_escalation"] + pd_["mean_patients_backfill"], pd_["mean_patients"]
    )
    assert pd_["mean_patients_backfill"].iloc[-1] == 0  # never backfilled at the top dose
    assert math.isclose(
        res.metric("total_n") - res.metric("total_backfill"),
        pd_["mean_patients_escalation"].sum(),
        rel_tol=1e-12,
    )
    assert res.metric("total_backfill") > 0
    assert res.metric("duration") > 0
    out = res.to_dict()
    assert "mean_patients_backfill" in out["per_dose"]
    assert "total_backfill" in out["trial"]
    # arrivals turned away (and the time accrual is suspended) are reported
    assert "turned_away" in out["trial"] and "suspended_time" in out["trial"]
    assert 0 <= res.metric("suspended_time") < res.metric("duration")


def test_escalation_sample_size_must_be_whole_cohorts() -> None:
    import pytest

    from doseladder.core.errors import InputError

    sc = Scenario(p_tox=(0.1, 0.2, 0.3), accrual=Accrual("uniform", 3.0))
    design = BFBOIN(num_doses=3, target=0.25, cohort_size=3, max_n=20)
    with pytest.raises(InputError) as err:
        simulate(design, sc, 10, seed=1)
    assert err.value.field == "max_n"


def _no_backfill_waits(max_n: int, rate: float, n_trials: int) -> tuple[np.ndarray, ...]:
    """No DLT and no response (nothing ever open for backfill), Poisson accrual, W = 1:
    every wait of an escalation cohort turns away the arrivals of its window."""
    sc = Scenario(p_tox=(0.0, 0.0, 0.0), p_eff=(0.0, 0.0, 0.0), accrual=Accrual("poisson", rate))
    design = BFBOIN(num_doses=3, target=0.25, cohort_size=3, max_n=max_n, tox_window=1.0)
    res = simulate(design, sc, n_trials, seed=17, keep_trials=True)
    a = res.trials
    assert a is not None and a.turned_away is not None and a.n_backfill is not None
    assert a.n_backfill.sum() == 0
    assert np.all(a.suspended <= a.duration)
    assert np.all((a.turned_away == 0) == (a.suspended == 0))
    assert math.isclose(res.metric("turned_away"), a.turned_away.mean(), rel_tol=1e-12)
    assert math.isclose(res.metric("suspended_time"), a.suspended.mean(), rel_tol=1e-12)
    return a.turned_away.astype(float), a.suspended


def _close(x: np.ndarray, want: float) -> bool:
    return abs(x.mean() - want) <= 4 * x.std(ddof=1) / math.sqrt(x.size)


def test_turned_away_and_suspended_time_one_cohort_exact() -> None:
    """One cohort (max_n 3): its window (t3, t3 + 1] turns away Poisson(r) arrivals; the run
    of turned-away arrivals lasts from the first (t3 + T1, T1 ~ Exp(r)) to the end t3 + 1, so
    E[suspended] = E[(1 − T1)+] = 1 − (1 − e^−r)/r."""
    r = 3.0
    away, sus = _no_backfill_waits(3, r, 20_000)
    assert _close(away, r)
    assert _close((away - r) ** 2, r)  # Poisson: variance = mean
    assert _close(sus, 1 - (1 - math.exp(-r)) / r)


def test_turned_away_and_suspended_time_two_cohorts_exact() -> None:
    """Two cohorts (max_n 6): the first wait's run ends at the arrival enrolled after t3 + 1
    (memoryless: Exp(r) later), so its mean is E[(1 − T1)+] + P(T1 < 1)/r = 1; the second is
    the one-cohort case.  Turned away: Poisson(r) per wait."""
    r = 2.0
    away, sus = _no_backfill_waits(6, r, 20_000)
    assert _close(away, 2 * r)
    assert _close(sus, 1 + 1 - (1 - math.exp(-r)) / r)
