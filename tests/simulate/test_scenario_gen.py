"""Random scenarios (simulate.scenario_gen): the pseudo-uniform algorithm's documented
properties -- monotone curves, the MTD (OBD) at the drawn position, the MTD uniformly
distributed over the doses -- and seeded reproducibility."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core import BOIN, BOIN12
from doseladder.core.errors import InputError
from doseladder.io.scenario_file import load_protocol_scenario
from doseladder.simulate.results import true_obd
from doseladder.simulate.scenario_gen import (
    random_protocol_scenarios,
    random_scenarios,
    random_scenarios_for,
    random_tox_curve,
)

targets = st.sampled_from([0.2, 0.25, 0.3, 0.33, 0.4])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), targets, st.integers(0, 2**32 - 1), st.integers(1, 8))
def test_toxicity_curves_are_monotone_with_the_drawn_mtd(
    k: int, target: float, seed: int, m_raw: int
) -> None:
    m = (m_raw - 1) % k + 1
    p = random_tox_curve(np.random.default_rng(seed), k, target, m)
    assert all(0.0 <= x < 1.0 for x in p)
    assert list(p) == sorted(p)
    gaps = [abs(x - target) for x in p]
    assert gaps.index(min(gaps)) + 1 == m


@settings(max_examples=6, deadline=None)
@given(st.integers(2, 6), targets, st.integers(0, 2**32 - 1))
def test_mtd_location_is_uniform(k: int, target: float, seed: int) -> None:
    n = 1200
    scen = random_scenarios(n, k, target, seed)
    freq = Counter(s.true_mtd(target) for s in scen)
    for dose in range(1, k + 1):
        share = freq[dose] / n
        se = math.sqrt((1 / k) * (1 - 1 / k) / n)
        assert abs(share - 1 / k) < 5 * se, (dose, share)


@settings(max_examples=6, deadline=None)
@given(
    st.integers(2, 6),
    st.sampled_from([0.3, 0.35]),
    st.sampled_from([0.2, 0.25]),
    st.integers(0, 2**32 - 1),
)
def test_toxicity_efficacy_scenarios_have_a_uniform_obd(
    k: int, phi_t: float, phi_e: float, seed: int
) -> None:
    u = (100.0, 40.0, 60.0, 0.0)
    n = 300
    scen = random_scenarios(n, k, phi_t, seed, efficacy=True, phi_e=phi_e, utilities=u)
    obds = Counter()
    for s in scen:
        assert s.p_eff is not None
        assert list(s.p_tox) == sorted(s.p_tox)
        obd, _ = true_obd(s.p_tox, s.p_eff, phi_t, phi_e, u)
        assert obd is not None
        obds[obd] += 1
    # O is drawn uniformly and kept only when it is the true OBD: each position keeps a
    # positive share (rejection can tilt it, so only coverage is asserted)
    assert set(obds) == set(range(1, k + 1))


def test_same_seed_same_scenarios_and_names() -> None:
    a = random_scenarios(5, 5, 0.3, seed=7)
    b = random_scenarios(5, 5, 0.3, seed=7)
    c = random_scenarios(5, 5, 0.3, seed=8)
    assert a == b
    assert a != c
    assert [s.name for s in a] == ["R1", "R2", "R3", "R4", "R5"]


def test_scenarios_for_a_design_use_its_target_and_endpoints() -> None:
    s = random_scenarios_for(BOIN(num_doses=4, target=0.25), 3, seed=1)
    assert all(x.num_doses == 4 and x.p_eff is None for x in s)
    assert all(x.true_mtd(0.25) is not None for x in s)
    s12 = random_scenarios_for(BOIN12(num_doses=5), 3, seed=1)
    assert all(x.p_eff is not None for x in s12)


def test_random_protocol_scenarios_keep_accrual_and_indications() -> None:
    from doseladder.protocols import load_shipped
    from doseladder.protocols.shipped import library_dir

    proto = load_shipped("str-p004-nct07143617")
    base = load_protocol_scenario(library_dir() / "scenarios" / "str-p004-nct07143617.yaml")
    out = random_protocol_scenarios(base, proto.plan.design, 3, seed=2)
    assert [s.name for s in out] == ["R1", "R2", "R3"]
    for s in out:
        assert list(s.indications) == list(base.indications)
        for name, t in s.indications.items():
            assert t.accrual == base.indications[name].accrual
            assert len(t.p_tox) == proto.plan.num_doses
    assert out == random_protocol_scenarios(base, proto.plan.design, 3, seed=2)


def test_bad_input_names_the_field() -> None:
    with pytest.raises(InputError, match="random_scenarios"):
        random_scenarios(0, 5, 0.3)
    with pytest.raises(InputError, match="target"):
        random_scenarios(2, 5, 0.99)
    with pytest.raises(InputError, match="seed"):
        random_scenarios(2, 5, 0.3, seed=-1)
