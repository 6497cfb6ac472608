"""Reproducibility (any workers, any backend), common random numbers and input validation."""

from __future__ import annotations

import numpy as np
import pytest

from doseladder.core.designs import BOIN, ThreePlusThree
from doseladder.core.errors import InputError
from doseladder.simulate import engine
from doseladder.simulate.engine import compare, simulate
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Scenario

SC = Scenario(p_tox=(0.05, 0.1, 0.2, 0.3, 0.5), name="A")
DESIGN = BOIN(num_doses=5, target=0.3)


def _same(a: object, b: object) -> None:
    ta, tb = a.trials, b.trials  # type: ignore[attr-defined]
    for field in ("n", "tox", "selected", "dose_seq"):
        np.testing.assert_array_equal(getattr(ta, field), getattr(tb, field))


def test_same_seed_same_result_and_different_seed_differs() -> None:
    a = simulate(DESIGN, SC, 3000, seed=7, keep_trials=True)
    b = simulate(DESIGN, SC, 3000, seed=7, keep_trials=True)
    c = simulate(DESIGN, SC, 3000, seed=8, keep_trials=True)
    _same(a, b)
    assert not np.array_equal(a.trials.dose_seq, c.trials.dose_seq)  # type: ignore[union-attr]
    assert a.seed == 7 and a.version and a.design["design"] == "boin"
    assert a.scenario["p_tox"] == SC.p_tox


def test_identical_for_any_number_of_workers_and_block_grouping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "BLOCK_SIZE", 700)
    one = simulate(DESIGN, SC, 5000, seed=3, keep_trials=True)
    two = simulate(DESIGN, SC, 5000, seed=3, workers=2, keep_trials=True)
    _same(one, two)
    assert one.per_dose.equals(two.per_dose)


def test_latent_components_are_independent_streams() -> None:
    """Drawing one component never changes another (lazy draws are order-free)."""
    a = PatientDraws(SC, 1, 0, 0, 50, 30)
    b = PatientDraws(SC, 1, 0, 0, 50, 30)
    _ = b.u_eff, b.gaps
    np.testing.assert_array_equal(a.u_tox, b.u_tox)


def test_compare_uses_common_random_numbers() -> None:
    """The first patient of each trial is the same patient for both designs."""
    res = compare({"boin": DESIGN, "3+3": ThreePlusThree(num_doses=5)}, {"A": SC}, 2000, seed=4)
    boin, tpt = res.results[("boin", "A")], res.results[("3+3", "A")]
    # both start at dose 1: the number of DLTs in the first cohort is identical per trial
    draws = PatientDraws(SC, 4, 0, 0, 2000, 30)
    rows = np.arange(2000)
    first = sum(draws.tox(rows, i, np.zeros(2000, dtype=np.int64)) for i in range(3))
    assert boin.per_dose is not tpt.per_dose
    assert first.mean() == pytest.approx(3 * 0.05, abs=0.03)
    frame = res.per_dose()
    assert set(frame["design"]) == {"boin", "3+3"}
    assert "selection_pct" in frame


def test_poisson_and_fixed_accrual_gaps() -> None:
    from doseladder.simulate.scenario import Accrual

    fixed = PatientDraws(Scenario(p_tox=(0.1,), accrual=Accrual("fixed", 2.0)), 0, 0, 0, 10, 5)
    assert np.all(fixed.gaps == 0.5)
    pois = PatientDraws(Scenario(p_tox=(0.1,), accrual=Accrual("poisson", 4.0)), 0, 0, 0, 4000, 5)
    assert pois.gaps.mean() == pytest.approx(0.25, rel=0.03)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"n_trials": 0}, "trials"), ({"seed": -1}, "seed"), ({"workers": 0}, "workers")],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, int], field: str) -> None:
    args = {"n_trials": 10, "seed": 0, **kwargs}
    workers = args.pop("workers", 1)
    with pytest.raises(InputError) as err:
        simulate(DESIGN, SC, args["n_trials"], args["seed"], workers=workers)
    assert err.value.field == field


def test_wrong_number_of_doses_is_rejected() -> None:
    with pytest.raises(InputError, match="p_tox"):
        simulate(DESIGN, Scenario(p_tox=(0.1, 0.2)), 10)


def test_non_monotone_toxicity_warns() -> None:
    from doseladder.simulate.scenario import ScenarioWarning

    with pytest.warns(ScenarioWarning, match="not non-decreasing"):
        simulate(DESIGN, Scenario(p_tox=(0.1, 0.3, 0.2, 0.4, 0.5)), 10)


def test_compare_summary_puts_trial_metrics_side_by_side() -> None:
    """The text summary has, per scenario, every trial-level metric of every design with the
    values of ``trial()`` (``—`` where a design lacks the metric)."""
    res = compare({"boin": DESIGN, "3+3": ThreePlusThree(num_doses=5)}, {"A": SC}, 500, seed=2)
    text = res.summary()
    assert "scenario A" in text
    trial = res.trial()
    block = text.split("scenario A\n", 1)[1].splitlines()
    header = block[0].split()
    assert header[1:] == ["boin", "3+3"]
    shown = {ln.split()[0]: ln.split()[1:] for ln in block[2:]}
    for row in trial.itertuples():
        cell = shown[row.metric][header.index(row.design) - 1]
        want = f"{row.value:.0f}" if row.metric.startswith("true_") else f"{row.value:.2f}"
        assert cell == want, (row.metric, row.design)
    only_33 = set(trial[trial.design == "3+3"].metric) - set(trial[trial.design == "boin"].metric)
    for metric in only_33:
        assert shown[metric][0] == "—"
