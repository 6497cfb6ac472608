"""Tests of BOIN's ``select.mtd`` (spec ``dose-finding.md`` §1.4; BOIN 2.7.2 ``R/select.mtd.R``)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta as beta_dist

from doseladder.core.errors import InputError
from doseladder.core.select_mtd import select_mtd


def test_yan_et_al_p15_vector() -> None:
    # [S escalation tests/testthat/test_select_boin_mtd.R, "p.15 of Yan et al." (JSS 2020);
    #  D confirmed by running BOIN-R] -- spec §1.4 test vector.
    sel = select_mtd([3, 3, 15, 9, 0], [0, 0, 4, 4, 0], 0.3)
    assert sel.kind == "mtd"
    assert sel.dose == 3
    assert sel.reason.rule == "select_mtd.closest"
    est = sel.estimates
    assert [round(e.tox_est, 2) for e in est[:4]] == [0.02, 0.02, 0.27, 0.45]  # type: ignore[arg-type]
    assert [(round(e.tox_lower, 2), round(e.tox_upper, 2)) for e in est[:4]] == [  # type: ignore[arg-type]
        (0.00, 0.20),
        (0.00, 0.20),
        (0.09, 0.51),
        (0.16, 0.75),
    ]
    assert [round(e.p_overdose, 2) for e in est[:4]] == [0.01, 0.01, 0.36, 0.81]  # type: ignore[arg-type]
    # the untried dose 5 is printed "----" by R
    assert est[4].tox_est is None and est[4].tox_lower is None and est[4].p_overdose is None
    assert [e.dose for e in est] == [1, 2, 3, 4, 5]
    assert [e.n for e in est] == [3, 3, 15, 9, 0]


def test_dose_one_eliminated_gives_no_mtd() -> None:
    # 3/3 DLTs at dose 1 with target 0.3: Pr(p > 0.3) = 1 - 0.3^4 = 0.9919 > 0.95.
    sel = select_mtd([3, 3, 0], [3, 0, 0], 0.3)
    assert sel.dose is None
    assert sel.reason.rule == "select_mtd.none_eliminated"
    assert sel.reason.values["eliminated"] == [1, 2, 3]


def test_elimination_recomputed_from_data() -> None:
    # dose 2: 3/3 DLTs -> doses 2..3 eliminated; only dose 1 remains.
    sel = select_mtd([6, 3, 3], [0, 3, 0], 0.3)
    assert sel.dose == 1
    assert sel.reason.values["eliminated"] == [2, 3]
    assert sel.reason.values["admissible"] == [1]


def test_extrasafe_eliminates_everything() -> None:
    # spec §1.2: extra-safe stop boundary for φ = 0.3 at n = 3 is y >= 2 (cutoff 0.90);
    # the regular elimination boundary at n = 3 is 3, so only extrasafe removes dose 1.
    n, y = [3, 3], [2, 0]
    assert select_mtd(n, y, 0.3).dose is not None
    sel = select_mtd(n, y, 0.3, extrasafe=True)
    assert sel.dose is None
    assert sel.reason.rule == "select_mtd.none_eliminated"
    assert "extra-safe" in sel.reason.message


def test_no_patient_on_a_non_eliminated_dose() -> None:
    sel = select_mtd([0, 0, 0], [0, 0, 0], 0.25)
    assert sel.dose is None
    assert sel.reason.rule == "select_mtd.none_treated"


def test_bound_mtd() -> None:
    # dose 2: 3/6 -> p̂ = 3.05/6.1 = 0.5, closest to 0.3 but above λd = 0.3585
    assert select_mtd([6, 6], [0, 3], 0.3).dose == 2
    sel = select_mtd([6, 6], [0, 3], 0.3, bound_mtd=True)
    assert sel.dose == 1
    assert sel.reason.values["lambda_d"] == pytest.approx(0.358519, abs=1e-6)
    none = select_mtd([6], [3], 0.3, bound_mtd=True)
    assert none.dose is None and none.reason.rule == "select_mtd.none_bound_mtd"
    # a custom p_tox changes λd: p_tox = 0.6 -> λd ≈ 0.44 still below 0.5
    assert select_mtd([6, 6], [0, 3], 0.3, bound_mtd=True, p_tox=0.6).dose == 1


def test_ties_from_pooling() -> None:
    # spec §1.4 step 6: among pooled doses the higher wins below the target ...
    low = select_mtd([3, 3], [1, 0], 0.3)
    iso = low.reason.values["isotonic_estimates"]
    assert iso[0] < 0.3 and math.isclose(iso[0], iso[1], abs_tol=1e-9)
    assert low.dose == 2
    # ... and the lower wins above it.
    high = select_mtd([6, 6], [3, 2], 0.3)
    iso = high.reason.values["isotonic_estimates"]
    assert iso[0] > 0.3 and math.isclose(iso[0], iso[1], abs_tol=1e-9)
    assert high.dose == 1


def test_carried_eliminations_are_excluded() -> None:
    base = select_mtd([3, 3, 6], [0, 0, 2], 0.3)
    assert base.dose == 3
    sel = select_mtd([3, 3, 6], [0, 0, 2], 0.3, eliminated=[3])
    assert sel.dose == 2
    assert sel.reason.values["eliminated"] == [3]


@pytest.mark.parametrize(
    ("n", "y", "field"),
    [([3, 3], [0], "y"), ([3], [4], "y[0]"), ([-1], [0], "n[0]"), ([], [], "n")],
)
def test_invalid_counts(n: list[int], y: list[int], field: str) -> None:
    with pytest.raises(InputError) as err:
        select_mtd(n, y, 0.3)
    assert err.value.field == field


# ----------------------------------------------------------- literal port of the R code
def _r_pava(x: list[float], wt: list[float]) -> list[float]:
    """``pava`` of ``select.mtd.R``: pool the leftmost violator first, repeatedly."""
    x = list(x)
    n = len(x)
    if n <= 1:
        return x
    lvl = list(range(n))
    while True:
        viol = [i for i in range(n - 1) if x[i + 1] - x[i] < 0]
        if not viol:
            return x
        i = viol[0]
        l1, l2 = lvl[i], lvl[i + 1]
        idx = [k for k in range(n) if lvl[k] in (l1, l2)]
        m = sum(x[k] * wt[k] for k in idx) / sum(wt[k] for k in idx)
        for k in idx:
            x[k] = m
            lvl[k] = l1


def _r_select(n: list[int], y: list[int], target: float) -> int | None:
    J = len(n)
    elim = [0] * J
    for i in range(J):
        if n[i] >= 3 and 1 - beta_dist.cdf(target, y[i] + 1, n[i] - y[i] + 1) > 0.95:
            elim[i:] = [1] * (J - i)
            break
    if elim[0] == 1 or sum(n[j] for j in range(J) if elim[j] == 0) == 0:
        return None
    adm = [j for j in range(J) if n[j] != 0 and elim[j] == 0]
    phat = [(y[j] + 0.05) / (n[j] + 0.1) for j in adm]
    var = [
        (y[j] + 0.05) * (n[j] - y[j] + 0.05) / ((n[j] + 0.1) ** 2 * (n[j] + 0.1 + 1)) for j in adm
    ]
    iso = _r_pava(phat, [1 / v for v in var])
    iso = [v + (k + 1) * 1e-10 for k, v in enumerate(iso)]
    dist = [abs(v - target) for v in iso]
    return adm[dist.index(min(dist))] + 1


@st.composite
def _counts(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    J = draw(st.integers(1, 6))
    n = draw(st.lists(st.integers(0, 18), min_size=J, max_size=J))
    y = [draw(st.integers(0, nj)) for nj in n]
    return n, y


@settings(max_examples=300, deadline=None)
@given(_counts(), st.sampled_from([0.2, 0.25, 0.3, 0.35]))
def test_matches_literal_port_of_r(counts: tuple[list[int], list[int]], target: float) -> None:
    n, y = counts
    sel = select_mtd(n, y, target)
    assert sel.dose == _r_select(n, y, target)
    if sel.dose is not None:
        # the selected dose was treated and is not eliminated
        assert n[sel.dose - 1] > 0
        assert sel.dose not in sel.reason.values["eliminated"]
