"""BOIN12's array decision and selection agree with ``BOIN12.decide`` / ``BOIN12.select``
(random parameters, every option and named convention, random histories)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from doseladder.core.designs import BOIN12
from doseladder.core.designs.arrays import STOP, DoseArrays
from doseladder.core.designs.arrays.boin12 import (
    admissible_one,
    complete_stats,
    conclude_boin12,
    conclude_one,
    n_stop_one,
    needed_one,
    neighbours_one,
    next_dose_one,
    rule_options,
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


@SETTINGS
@given(data=st.data())
def test_separate_array_rules_are_the_packed_rules(data: st.DataObject) -> None:
    """The rules on separate per-dose arrays (``conclude_one``, ``next_dose_one``,
    ``needed_one``, ``admissible_one``, ``neighbours_one``, ``n_stop_one``: the interface
    before the packed statistics) give the decisions of ``decide_arrays`` (proven equal to
    ``decide`` above) on random histories."""
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
    opts, fopts = rule_options(design)
    for r in range(arrays.rows):
        n = np.ascontiguousarray(arrays.n[:, r])
        d = int(arrays.current[r])
        p_d = float(stats.p_tox[d, r])
        desir = np.ascontiguousarray(stats.desir[:, r])
        flags = (
            np.ascontiguousarray(stats.tox_fail[:, r]),
            np.ascontiguousarray(stats.eff_fail[:, r]),
        )
        prior = np.ascontiguousarray(arrays.eliminated[:, r])
        adm = np.zeros(n.size, dtype=np.bool_)
        elim = np.zeros(n.size, dtype=np.bool_)
        action, nxt, deesc = conclude_one(n, p_d, desir, *flags, prior, d, opts, fopts, adm, elim)
        assert (action, nxt, deesc) == (
            want.action[r], want.next_dose[r], want.tox_deesc[r]
        ), r  # fmt: skip
        assert np.array_equal(elim, want.eliminated[:, r]), r
        adm_sep = np.zeros(n.size, dtype=np.bool_)
        admissible_one(prior, *flags, adm_sep)
        assert np.array_equal(adm_sep, adm)
        if not np.isfinite(p_d):
            continue
        below, has_below, _, _, here = neighbours_one(d, n, adm)
        assert here == adm[d] and has_below == adm[:d].any()
        assert not has_below or below == np.flatnonzero(adm[:d])[-1]
        nd, no_adm, _ = next_dose_one(d, n, p_d, desir, adm, opts, fopts)
        assert nxt == (-1 if no_adm else nd), r
        stop_max = not no_adm and n.sum() >= design.max_n
        stop_n = not no_adm and not stop_max and n_stop_one(n, d, nd, opts)
        assert (action == STOP) == (no_adm or stop_max or stop_n), r
        need = np.zeros(n.size, dtype=np.bool_)
        needed_one(d, n, p_d, adm, opts, fopts, need)
        assert not need.any() or (need.sum() >= 2 and adm[need].all())
