"""BOIN12's array decision and selection agree with ``BOIN12.decide`` / ``BOIN12.select``
(random parameters, every option and named convention, random histories)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from doseladder.core.designs import BOIN12
from doseladder.core.designs.arrays import STOP, DoseArrays
from doseladder.core.designs.arrays.boin12 import (
    ST_ADM,
    ST_DESIR,
    ST_EFF_FAIL,
    ST_ELIM,
    ST_N,
    ST_NEED,
    ST_PRIOR,
    ST_ROWS,
    ST_TOX_FAIL,
    admissible_trial,
    complete_stats,
    conclude_boin12,
    conclude_trial,
    n_stop_trial,
    needed_trial,
    neighbours_trial,
    next_dose_trial,
    rule_table,
)
from doseladder.core.errors import InputError
from doseladder.core.select_obd import OBD_STATISTICS

from .conformance import assert_decisions_agree, assert_selections_agree, histories

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: utilities with u1 + u4 = u2 + u3 (marginal desirability table) and without
UTILITIES = st.sampled_from(
    [(100.0, 40.0, 60.0, 0.0), (100.0, 50.0, 70.0, 20.0), (100.0, 35.0, 72.5, 0.0),
     (90.0, 30.0, 60.0, 10.0)]
)  # fmt: skip


def boin12_fields(draw: st.DrawFn, num: int) -> dict[str, object]:
    """Random values for every field of :class:`BOIN12` (shared with TITE-BOIN12)."""
    return {
        "num_doses": num,
        "phi_t": draw(st.sampled_from([0.05, 0.2, 0.3, 0.35, 0.4, 0.6])),
        "phi_e": draw(st.sampled_from([0.1, 0.25, 0.3, 0.5])),
        "utilities": draw(UTILITIES),
        "c_t": draw(st.sampled_from([0.5, 0.8, 0.9, 0.95])),
        "c_e": draw(st.sampled_from([0.5, 0.8, 0.9])),
        "n_star": draw(st.integers(1, 9)),
        "exploration_n": draw(st.one_of(st.none(), st.integers(1, 12))),
        "cohort_size": draw(st.integers(1, 4)),
        "max_n": draw(st.integers(1, 36)),
        "n_stop": draw(st.one_of(st.none(), st.integers(1, 15))),
        "n_stop_dose": draw(st.sampled_from(["recommended", "current", "any"])),
        "start_dose": draw(st.integers(1, num)),
        "prior_alpha": draw(st.sampled_from([1.0, 0.5, 2.0])),
        "prior_beta": draw(st.sampled_from([1.0, 0.5, 3.0])),
        "admissibility": draw(st.sampled_from(["permanent", "reevaluate"])),
        "obd_statistic": draw(st.sampled_from(OBD_STATISTICS)),
        "nstar_tie": draw(st.sampled_from(["lower", "higher"])),
    }


@st.composite
def boin12_designs(draw: st.DrawFn) -> BOIN12:
    try:
        return BOIN12(**boin12_fields(draw, draw(st.integers(1, 6))))  # type: ignore[arg-type]
    except InputError:
        assume(False)
        raise


@SETTINGS
@given(data=st.data())
def test_decide_arrays_equals_decide(data: st.DataObject) -> None:
    design = data.draw(boin12_designs())
    states = data.draw(
        st.lists(
            histories(design.num_doses, design.max_n + 3, efficacy=True), min_size=1, max_size=12
        )
    )
    assert_decisions_agree(design, states)


@SETTINGS
@given(data=st.data())
def test_select_arrays_equals_select(data: st.DataObject) -> None:
    design = data.draw(boin12_designs())
    states = data.draw(
        st.lists(
            histories(design.num_doses, design.max_n + 3, pending=False, efficacy=True),
            min_size=1,
            max_size=12,
        )
    )
    assert assert_selections_agree(design, states) == len(states)


def _packed(*rows: tuple[int, NDArray[Any]]) -> NDArray[np.float64]:
    """One trial's packed statistics (zeros but for the given rows)."""
    out = np.zeros((ST_ROWS, rows[0][1].size))
    for k, values in rows:
        out[k] = values
    return out


@SETTINGS
@given(data=st.data())
def test_per_trial_rules_called_one_trial_at_a_time(data: st.DataObject) -> None:
    """The per-trial rules on one trial's packed statistics, called as a caller such as
    TITE-BOIN12's ``decide_one`` calls them (``conclude_trial``, ``admissible_trial``,
    ``neighbours_trial``, ``next_dose_trial``, ``n_stop_trial``, ``needed_trial``), give the
    decisions of ``decide_arrays`` (proven equal to ``decide`` above) on random histories."""
    design = data.draw(boin12_designs())
    states = data.draw(
        st.lists(
            histories(design.num_doses, design.max_n + 3, pending=False, efficacy=True),
            min_size=1,
            max_size=8,
        )
    )
    arrays = DoseArrays.from_states(states)
    stats = complete_stats(design, arrays)
    want = conclude_boin12(design, arrays, stats)
    rules = rule_table(design, 0)
    for r in range(arrays.rows):
        n = arrays.n[:, r]
        d = int(arrays.current[r])
        p_d = float(stats.p_tox[d, r])
        flags = ((ST_TOX_FAIL, stats.tox_fail[:, r]), (ST_EFF_FAIL, stats.eff_fail[:, r]))
        prior = (ST_PRIOR, arrays.eliminated[:, r])
        trial = _packed((ST_N, n), (ST_DESIR, stats.desir[:, r]), *flags, prior)
        action, nxt, deesc = conclude_trial(trial, d, p_d, rules)
        assert (action, nxt, deesc) == (
            want.action[r], want.next_dose[r], want.tox_deesc[r]
        ), r  # fmt: skip
        assert np.array_equal(trial[ST_ELIM] != 0, want.eliminated[:, r]), r
        adm = trial[ST_ADM] != 0
        alone = _packed(*flags, prior)
        admissible_trial(alone)
        assert np.array_equal(alone[ST_ADM] != 0, adm)
        if not np.isfinite(p_d):
            continue
        below, has_below, _, _, here = neighbours_trial(trial, d)
        assert here == adm[d] and has_below == adm[:d].any()
        assert not has_below or below == np.flatnonzero(adm[:d])[-1]
        nd, no_adm, _ = next_dose_trial(trial, d, p_d, rules)
        assert nxt == (-1 if no_adm else nd), r
        stop_max = not no_adm and n.sum() >= design.max_n
        stop_n = not no_adm and not stop_max and n_stop_trial(trial, d, nd, rules)
        assert (action == STOP) == (no_adm or stop_max or stop_n), r
        needed_trial(trial, d, p_d, rules)
        need = trial[ST_NEED] != 0
        assert not need.any() or (need.sum() >= 2 and adm[need].all())
