"""The latent patients' outcome helpers agree with the per-patient definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.scenario import Accrual, EventTimeModel, Scenario


def _scenario(model: str, odds: float) -> Scenario:
    return Scenario(
        p_tox=(0.02, 0.1, 0.3, 0.6),
        p_eff=(0.1, 0.3, 0.5, 0.2),
        tox_eff_odds_ratio=odds,
        accrual=Accrual("poisson", 0.2),
        tox_time=EventTimeModel(model),  # type: ignore[arg-type]
        eff_time=EventTimeModel(model, 0.3, 0.7),  # type: ignore[arg-type]
    )


@settings(max_examples=30, deadline=None)
@given(
    model=st.sampled_from(["uniform", "weibull"]),
    odds=st.sampled_from([1.0, 0.5, 3.0]),
    seed=st.integers(0, 2**31),
)
def test_event_fractions_equal_tox_time_and_eff_time(model: str, odds: float, seed: int) -> None:
    draws = PatientDraws(_scenario(model, odds), seed, 0, 0, 50, 12)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 50, 40)
    cols = rng.integers(0, 12, 40)
    dose = rng.integers(0, 4, 40)
    ref_t = draws.tox_time(rows, cols, dose)
    ref_e = draws.eff_time(rows, cols, dose)
    for name, ref in (("tox", ref_t), ("eff", ref_e)):
        table = draws.event_fractions(name)  # type: ignore[arg-type]
        assert table.shape == ((1 if model == "uniform" else 4), 50, 12)
        frac = table[dose if table.shape[0] > 1 else 0, rows, cols]
        event = np.isfinite(ref)
        assert np.array_equal(frac[event], ref[event])


@pytest.mark.parametrize("model", ["uniform", "weibull"])
def test_event_fractions_lie_in_the_window(model: str) -> None:
    draws = PatientDraws(_scenario(model, 1.0), 3, 0, 0, 200, 10)
    for name in ("tox", "eff"):
        table = draws.event_fractions(name)  # type: ignore[arg-type]
        assert np.all((table > 0) & (table <= 1))
