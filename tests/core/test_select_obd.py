"""BOIN12 final OBD selection (dose-finding spec §3.6)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core.errors import InputError
from doseladder.core.isotonic import pava
from doseladder.core.select_obd import select_obd


def _weights(n: list[int], y: list[int]) -> list[float]:
    return [
        1 / ((b + 0.05) * (a - b + 0.05) / ((a + 0.1) ** 2 * (a + 1.1)))
        for a, b in zip(n, y, strict=True)
    ]


def test_posterior_mean_published_example() -> None:
    # Lin et al. example path (spec §3.8 set 1) after 30 patients
    n, y = [3, 3, 6, 12, 6], [0, 1, 1, 3, 3]
    x = [1.2, 1.4, 3.2, 7.2, 3.0]
    res = select_obd(n, y, x, [True] * 5, 0.35, u_b=70.5)
    fitted = pava([yy / nn for nn, yy in zip(n, y, strict=True)], _weights(n, y))
    assert res.tox_fitted == pytest.approx([f + 0.001 * (j + 1) for j, f in enumerate(fitted)])
    assert res.mtd == 4
    assert res.utility == pytest.approx([(xx + 1) / (nn + 2) for xx, nn in zip(x, n, strict=True)])
    assert res.dose == 4 and res.rule == "obd"
    assert res.candidates == (1, 2, 3, 4)


def test_untried_dose_placeholder_and_first_minimum() -> None:
    # untried doses take φT with weight 1/var(0, 0); they can be the MTD but never the OBD
    n, y = [3, 0, 0], [0, 0, 0]
    res = select_obd(n, y, [1.2, 0.0, 0.0], [True] * 3, 0.35, u_b=70.5)
    assert res.tox_fitted[1] == pytest.approx(0.35 + 0.002)
    assert res.mtd == 2  # |0.352 − 0.35| < |0.353 − 0.35|
    assert res.dose == 1
    assert res.utility[1] is None


def test_inadmissible_and_above_mtd_never_selected() -> None:
    n, y = [6, 6, 6], [0, 1, 5]
    x = [1.0, 4.0, 2.0]
    res = select_obd(n, y, x, [True, False, False], 0.35, u_b=70.5)
    assert res.dose == 1
    none = select_obd(n, y, x, [False, False, False], 0.35, u_b=70.5)
    assert none.dose is None and none.rule == "no_obd" and none.mtd is not None
    # the only admissible dose lies above the MTD
    above = select_obd([6, 6], [2, 6], [3.0, 2.0], [False, True], 0.35, u_b=70.5)
    assert above.mtd == 1 and above.dose is None


def test_desirability_variant_highest_mtd_tie_and_statistic() -> None:
    # rates 0.25 and 0.75 are equally far from φT = 0.5: escalation takes the higher dose
    n, y, x = [4, 4], [1, 3], [2.0, 3.0]
    res = select_obd(n, y, x, [True, True], 0.5, u_b=70.5, statistic="desirability")
    assert res.mtd == 2
    assert res.tox_fitted == (0.25, 0.75)
    assert res.dose == 2  # D(3.0 of 4) > D(2.0 of 4)
    assert select_obd(n, y, x, [True, True], 0.5, u_b=70.5).mtd == 1  # first minimum


def test_nothing_treated_and_bad_input() -> None:
    res = select_obd([0, 0], [0, 0], [0.0, 0.0], [True, True], 0.35, u_b=70.5)
    assert res.dose is None and res.mtd is None
    with pytest.raises(InputError) as err:
        select_obd([3], [0, 0], [0.0], [True], 0.35, u_b=70.5)
    assert err.value.field == "n"
    with pytest.raises(InputError) as err:
        select_obd([3], [0], [0.0], [True], 0.35, u_b=70.5, statistic="mode")  # type: ignore[arg-type]
    assert err.value.field == "statistic"


@st.composite
def dose_data(draw: st.DrawFn) -> tuple[list[int], list[int], list[float], list[bool]]:
    j = draw(st.integers(1, 6))
    n = [draw(st.integers(0, 12)) for _ in range(j)]
    y = [draw(st.integers(0, nn)) for nn in n]
    x = [draw(st.floats(0, 1)) * nn for nn in n]
    adm = [draw(st.booleans()) for _ in range(j)]
    return n, y, x, adm


@settings(max_examples=300, deadline=None)
@given(dose_data(), st.sampled_from(["posterior_mean", "desirability"]))
def test_obd_is_treated_admissible_and_at_most_mtd(
    data: tuple[list[int], list[int], list[float], list[bool]],
    stat: Literal["posterior_mean", "desirability"],
) -> None:
    n, y, x, adm = data
    res = select_obd(n, y, x, adm, 0.3, u_b=70.5, statistic=stat)
    if res.dose is not None:
        assert n[res.dose - 1] > 0 and adm[res.dose - 1]
        assert res.mtd is not None and res.dose <= res.mtd
        best = max(u for c in res.candidates if (u := res.utility[c - 1]) is not None)
        assert res.utility[res.dose - 1] == best
    elif any(nn > 0 for nn in n):
        assert res.mtd is not None
        assert not any(n[j] > 0 and adm[j] for j in range(res.mtd))


# ------------------------------------------------------------------ phase12designs rule
def test_phase12designs_smoothed_efficacy_of_nearly_flat_data_stays_near_the_rate() -> None:
    from doseladder.core.select_obd import smoothed_efficacy

    got = smoothed_efficacy([3, 6, 9], [1, 2, 3])
    raw = [(1 + 0.05) / 3.1, (2 + 0.05) / 6.1, (3 + 0.05) / 9.1]
    assert raw[0] != raw[1]  # not exactly flat: the fits pool, the average stays near 1/3
    assert got == pytest.approx([r + 0.01 * (j + 1) for j, r in enumerate(raw)], abs=0.01)


def test_phase12designs_smoothed_efficacy_averages_the_modes() -> None:
    """Two doses: mode 1 fits the non-increasing PAVA, mode 2 the data; weights = likelihoods."""
    from scipy.stats import binom

    from doseladder.core.select_obd import smoothed_efficacy

    n, ye = [3, 3], [0, 3]
    raw = [(e + 0.05) / (k + 0.1) for k, e in zip(n, ye, strict=True)]
    pooled = (raw[0] * 3.5 + raw[1] * 3.5) / 7.0
    fits = [[pooled, pooled], raw]
    lik = [float(np.prod(binom.pmf(ye, n, f))) for f in fits]
    want = [(lik[0] * fits[0][j] + lik[1] * fits[1][j]) / sum(lik) + 0.01 * (j + 1) for j in (0, 1)]
    assert smoothed_efficacy(n, ye) == pytest.approx(want, rel=1e-12)


def test_phase12designs_rule_steps() -> None:
    from doseladder.core.designs.boin12 import expected_utility
    from doseladder.core.select_obd import smoothed_efficacy

    n, yt, ye = [3, 6, 9, 3, 0], [0, 1, 2, 2, 0], [0, 2, 5, 2, 0]
    util = (100.0, 40.0, 60.0, 0.0)
    res = select_obd(n, yt, [0.0] * 5, [True] * 5, 0.35, u_b=70.5,
                     statistic="phase12designs", n_eff=ye, utilities=util)  # fmt: skip
    tox = pava([(y + 0.05) / (k + 0.1) for k, y in zip(n, yt, strict=True)], [k + 0.1 for k in n])
    tox = [t + 0.001 * (j + 1) for j, t in enumerate(tox)]
    assert res.tox_fitted == pytest.approx(tox)
    mtd = min(range(5), key=lambda j: abs(tox[j] - 0.35)) + 1
    assert res.mtd == mtd
    eff = smoothed_efficacy(n, ye)
    u = [expected_utility(tox[j], eff[j], util) / 100 for j in range(5)]
    assert res.utility[:4] == pytest.approx(u[:4]) and res.utility[4] is None
    assert res.dose == max(range(1, mtd + 1), key=lambda d: u[d - 1])
    # the package's formula u1·pE + (1 − pT)·u2 with its default weights 60 / 40
    assert u[0] == pytest.approx((60 * eff[0] + 40 * (1 - tox[0])) / 100)


def test_phase12designs_ties_go_to_the_lowest_dose_and_needs_efficacy() -> None:
    # the same data twice gives the same answer (no random tie-breaking)
    args = ([3, 3], [0, 0], [0.0, 0.0], [True, True], 0.35)
    a = select_obd(*args, u_b=70.5, statistic="phase12designs", n_eff=[1, 1],
                   utilities=(100.0, 40.0, 60.0, 0.0))  # fmt: skip
    b = select_obd(*args, u_b=70.5, statistic="phase12designs", n_eff=[1, 1],
                   utilities=(100.0, 40.0, 60.0, 0.0))  # fmt: skip
    assert a == b
    # zero utilities: every dose has utility 0 exactly, a tie
    tie = select_obd([3, 3], [0, 0], [0.0, 0.0], [True, True], 0.35, u_b=70.5,
                     statistic="phase12designs", n_eff=[0, 3],
                     utilities=(0.0, 0.0, 0.0, 0.0))  # fmt: skip
    assert tie.utility[0] == tie.utility[1]
    assert tie.dose == 1
    with pytest.raises(InputError, match="n_eff"):
        select_obd([3], [0], [0.0], [True], 0.35, u_b=70.5, statistic="phase12designs")
