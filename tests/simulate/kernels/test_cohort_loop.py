"""The compiled cohort loop of the interval designs (BOIN, Keyboard, mTPI-2, i3+3) runs the same
trials as the NumPy cohort loop driven by the array functions (``decide_boin`` /
``decide_interval``, proven equal to the core's ``decide`` in ``tests/core/designs/arrays``):
random designs with every option, random scenarios, random seeds -- every output identical
(patients, DLTs, doses in order of entry, selection, early stops)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseladder.core.designs import BOIN, Design
from doseladder.core.designs.arrays.boin import decide_boin, select_boin
from doseladder.core.designs.arrays.interval import decide_interval, select_interval
from doseladder.simulate.kernels import kernel_for
from doseladder.simulate.kernels.cohort_loop import simulate_cohorts
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays
from doseladder.simulate.scenario import Scenario

from ...core.designs.arrays.test_boin import boin_designs
from ...core.designs.arrays.test_interval import interval_designs

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIELDS = ("n", "tox", "eff", "selected", "stopped_early", "duration", "suspended", "dose_seq")


def _numpy_loop(design: Design, draws: PatientDraws) -> TrialArrays:
    if isinstance(design, BOIN):
        return simulate_cohorts(design, draws, decide_boin, select_boin)
    return simulate_cohorts(design, draws, decide_interval, select_interval)


def _check(design: Design, data: st.DataObject) -> None:
    p = sorted(data.draw(st.lists(st.floats(0.0, 0.95), min_size=design.num_doses,
                                  max_size=design.num_doses)))  # fmt: skip
    seed = data.draw(st.integers(0, 2**31))
    trials = data.draw(st.integers(1, 300))
    draws = PatientDraws(Scenario(p_tox=tuple(p)), seed, 0, 0, trials, design.max_n)
    compiled = kernel_for(design)(design, draws)
    reference = _numpy_loop(design, draws)
    for field in FIELDS:
        a, b = getattr(compiled, field), getattr(reference, field)
        assert a.shape == b.shape and a.dtype == b.dtype, field
        assert np.array_equal(a, b, equal_nan=True), field
    assert compiled.entry.shape == (trials, 0)


@SETTINGS
@given(data=st.data())
def test_boin_compiled_loop_equals_numpy_loop(data: st.DataObject) -> None:
    _check(data.draw(boin_designs()), data)


@SETTINGS
@given(data=st.data())
def test_interval_compiled_loop_equals_numpy_loop(data: st.DataObject) -> None:
    _check(data.draw(interval_designs()), data)
