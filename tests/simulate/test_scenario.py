"""Scenario validation and the event-time models."""

from __future__ import annotations

import numpy as np
import pytest

from doseladder.core.errors import InputError
from doseladder.simulate.latent import event_time_fraction
from doseladder.simulate.scenario import EventTimeModel, Scenario, joint_probabilities


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"p_tox": [0.1, 1.2]}, "p_tox[1]"),
        ({"p_tox": [0.1], "p_eff": [0.2, 0.3]}, "p_eff"),
        ({"p_tox": [0.1], "colour": 1}, "colour"),
        ({"p_tox": [0.1], "accrual": {"type": "weekly", "rate": 1}}, "accrual.type"),
        ({"p_tox": [0.1], "accrual": {"rate": -1}}, "accrual.rate"),
        ({"p_tox": [0.1], "tox_time": {"model": "weibull", "alpha1": 1.5}}, "tox_time.alpha1"),
        ({"p_tox": [0.1], "tox_eff_odds_ratio": 2}, "tox_eff_odds_ratio"),
        ({}, "p_tox"),
    ],
)
def test_bad_scenarios_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as err:
        Scenario.from_dict(data)
    assert err.value.field == field


def test_weibull_puts_alpha1_of_events_in_last_alpha2_of_window() -> None:
    rng = np.random.default_rng(0)
    v = rng.random(200_000)
    for p in (0.1, 0.3, 0.6):
        for a1, a2 in ((0.5, 0.5), (0.7, 0.3)):
            frac = event_time_fraction(v, np.full(v.size, p), EventTimeModel("weibull", a1, a2))
            assert frac.max() <= 1.0 + 1e-12 and frac.min() > 0
            assert np.mean(frac > 1 - a2) == pytest.approx(a1, abs=0.005)


def test_uniform_event_times() -> None:
    v = np.random.default_rng(1).random(100_000)
    frac = event_time_fraction(v, np.full(v.size, 0.3), EventTimeModel())
    assert np.mean(frac <= 0.25) == pytest.approx(0.25, abs=0.01)


@pytest.mark.parametrize("psi", [0.3, 1.0, 4.0])
def test_plackett_joint_probability_has_the_odds_ratio(psi: float) -> None:
    pt, pe = 0.3, 0.4
    p11 = joint_probabilities(pt, pe, psi)
    p10, p01 = pt - p11, pe - p11
    p00 = 1 - p11 - p10 - p01
    assert min(p11, p10, p01, p00) >= 0
    assert p11 * p00 / (p10 * p01) == pytest.approx(psi)


def test_uniform_accrual_gaps_are_uniform_on_zero_to_two_over_rate() -> None:
    """bfboin's ``accrual = "uniform"``: gaps U(0, 2/rate), mean 1/rate (also for the
    turned-away arrivals' stream)."""
    import numpy as np

    from doseladder.simulate.latent import PatientDraws
    from doseladder.simulate.scenario import Accrual, Scenario

    rate = 3.0
    draws = PatientDraws(
        Scenario(p_tox=(0.1,), accrual=Accrual("uniform", rate)), 1, 0, 0, 4000, 10
    )
    g = draws.gaps.ravel()
    assert g.min() >= 0 and g.max() < 2 / rate
    se = (2 / rate) / np.sqrt(12 * g.size)
    assert abs(g.mean() - 1 / rate) < 5 * se
    # uniform: a quarter of the gaps in each quarter of the range
    q = np.histogram(g, bins=4, range=(0, 2 / rate))[0] / g.size
    assert np.all(np.abs(q - 0.25) < 0.01)
    w = draws.wait_gaps()(20_000)
    assert w.max() < 2 / rate and abs(w.mean() - 1 / rate) < 5 * (2 / rate) / np.sqrt(12 * 20_000)
