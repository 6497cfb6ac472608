"""Exact 3+3 operating characteristics (dose-finding spec §6.1; reference-results S1)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core.designs.three_plus_three import ThreePlusThree
from doseladder.core.errors import InputError
from doseladder.core.exact_three_plus_three import ExactOC, exact_oc, exact_three_plus_three
from doseladder.core.state import Patient, TrialState

# spec §6.1 table: p_true, allow_deescalate, P(no MTD), P(MTD = j), E[n_j], E[N]
SPEC_TABLE = [
    ((0.05, 0.10, 0.20), False, 0.0266, (0.0914, 0.2570, 0.6251), (3.406, 3.630, 3.662), 10.698),
    ((0.05, 0.10, 0.20), True, 0.0272, (0.0965, 0.2512, 0.6251), (3.663, 4.250, 3.662), 11.576),
    ((0.10, 0.30, 0.50), False, 0.0939, (0.4583, 0.3709, 0.0770), (3.729, 3.917, 1.847), 9.494),
    ((0.10, 0.30, 0.50), True, 0.1054, (0.5023, 0.3153, 0.0770), (4.969, 4.689, 1.847), 11.506),
    ((0.30, 0.45, 0.60), False, 0.5057, (0.3784, 0.1063, 0.0095), (4.323, 2.088, 0.448), 6.859),
    ((0.30, 0.45, 0.60), True, 0.5673, (0.3490, 0.0742, 0.0095), (5.178, 2.315, 0.448), 7.940),
    ((0.15, 0.25, 0.35), False, 0.1862, (0.3256, 0.2946, 0.1935), (3.975, 3.471, 2.114), 9.561),
    ((0.15, 0.25, 0.35), True, 0.2026, (0.3416, 0.2622, 0.1935), (4.786, 4.093, 2.114), 10.993),
    (
        (0.05, 0.15, 0.30, 0.45, 0.60),
        False,
        0.0266,
        (0.1813, 0.4006, 0.2998, 0.0842, 0.0076),
        (3.406, 3.870, 3.425, 1.654, 0.355),
        12.709,
    ),
    (
        (0.05, 0.15, 0.30, 0.45, 0.60),
        True,
        0.0278,
        (0.2006, 0.4288, 0.2765, 0.0588, 0.0076),
        (3.940, 4.887, 4.102, 1.834, 0.355),
        15.116,
    ),
]


def close(value: float, printed: float, decimals: int) -> bool:
    """``value`` rounds to ``printed`` at ``decimals`` places (half-unit tolerance)."""
    return abs(value - printed) <= 0.5 * 10.0**-decimals + 1e-12


@pytest.mark.parametrize(("p", "korn", "p_none", "p_mtd", "e_n", "e_total"), SPEC_TABLE)
def test_spec_table(
    p: tuple[float, ...],
    korn: bool,
    p_none: float,
    p_mtd: tuple[float, ...],
    e_n: tuple[float, ...],
    e_total: float,
) -> None:
    oc = exact_three_plus_three(p, allow_deescalate=korn)
    assert close(oc.p_no_mtd, p_none, 4)
    assert all(close(a, b, 4) for a, b in zip(oc.p_mtd, p_mtd, strict=True)), oc.p_mtd
    assert all(close(a, b, 3) for a, b in zip(oc.expected_n, e_n, strict=True)), oc.expected_n
    assert close(oc.expected_n_total, e_total, 3)


def test_reference_results_s1_top_dose_needs_three() -> None:
    """reference-results.md, S1, row "3+3 exact enumeration (top dose needs 3)"."""
    oc = exact_three_plus_three((0.05, 0.10, 0.20, 0.30, 0.50, 0.70))
    selection = [100 * x for x in oc.p_mtd]
    for got, printed in zip(selection, (9.136, 25.703, 31.611, 25.584, 5.139, 0.170), strict=True):
        assert close(got, printed, 3)
    for got, printed in zip(
        oc.expected_n, (3.4061, 3.6300, 3.6624, 2.7021, 1.2744, 0.1894), strict=True
    ):
        assert close(got, printed, 4)
    assert close(100 * oc.p_no_mtd, 2.656, 3)


# --------------------------------------------------------------------------- closed form
def standard_closed_form(p: Sequence[float]) -> tuple[float, list[float], list[float]]:
    """Independent closed form of the standard 3+3 (start at dose 1)."""
    q0 = [(1 - x) ** 3 for x in p]
    q1 = [3 * x * (1 - x) ** 2 for x in p]
    passes = [a + b * a for a, b in zip(q0, q1, strict=True)]
    reach = [math.prod(passes[:j]) for j in range(len(p))]
    e_n = [r * (3 + 3 * b) for r, b in zip(reach, q1, strict=True)]
    p_mtd = [reach[j + 1] * (1 - passes[j + 1]) for j in range(len(p) - 1)]
    p_mtd.append(reach[-1] * passes[-1])
    return 1 - passes[0], p_mtd, e_n


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=7))
def test_standard_matches_closed_form(p: list[float]) -> None:
    oc = exact_three_plus_three(p)
    none, p_mtd, e_n = standard_closed_form(p)
    assert oc.p_no_mtd == pytest.approx(none, abs=1e-12)
    assert oc.p_mtd == pytest.approx(p_mtd, abs=1e-12)
    assert oc.expected_n == pytest.approx(e_n, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6),
    st.booleans(),
    st.data(),
)
def test_invariants(p: list[float], korn: bool, data: st.DataObject) -> None:
    start = data.draw(st.integers(1, len(p)))
    oc = exact_three_plus_three(p, allow_deescalate=korn, start_dose=start)
    assert oc.p_no_mtd + math.fsum(oc.p_mtd) == pytest.approx(1.0, abs=1e-12)
    assert all(-1e-15 <= x <= 1 + 1e-12 for x in (oc.p_no_mtd, *oc.p_mtd))
    assert all(0 <= x <= 6 + 1e-12 for x in oc.expected_n)
    # a cohort's size does not depend on its own outcomes: E[DLT_j] = p_j E[n_j]
    for pj, en, ed in zip(p, oc.expected_n, oc.expected_dlt, strict=True):
        assert ed == pytest.approx(pj * en, abs=1e-12)
    # the start dose always gets the first cohort
    assert oc.expected_n[start - 1] >= 3 - 1e-12


def test_deescalation_variant_treats_at_least_as_many() -> None:
    p = (0.1, 0.2, 0.35, 0.5)
    std = exact_three_plus_three(p)
    korn = exact_three_plus_three(p, allow_deescalate=True)
    assert korn.expected_n_total >= std.expected_n_total
    assert korn.p_mtd[-1] == pytest.approx(std.p_mtd[-1])  # top dose path is identical


# --------------------------------------------------------------------------- brute force
def brute_force(design: ThreePlusThree, p: Sequence[float]) -> tuple[list[float], list[float]]:
    """Enumerate every patient-level outcome sequence through ``design.decide`` on states.

    Returns (P(no MTD), P(MTD = 1..J)) and E[n_j].  Independent of the binomial bookkeeping
    and of ``decide_counts``' memoisation: each leaf is a full TrialState history.
    """
    j_max = design.num_doses
    p_out = [0.0] * (j_max + 1)
    e_n = [0.0] * j_max

    def walk(state: TrialState, weight: float) -> None:
        decision = design.decide(state)
        if decision.stopped:
            p_out[decision.next_dose or 0] += weight
            for j, nj in enumerate(state.counts().n):
                e_n[j] += weight * nj
            return
        dose = decision.next_dose
        assert dose is not None
        state = state.with_eliminated(decision.eliminated)
        for outcome in itertools.product((False, True), repeat=3):
            w = math.prod(p[dose - 1] if t else 1 - p[dose - 1] for t in outcome)
            if w == 0:
                continue
            t0 = float(state.n_patients)
            pts = [Patient(dose, t0 + i, tox=t) for i, t in enumerate(outcome)]
            walk(state.with_patients(pts), weight * w)

    walk(TrialState(j_max), 1.0)
    return p_out, e_n


@pytest.mark.parametrize("korn", [False, True])
@pytest.mark.parametrize(
    ("p", "start"),
    [((0.2, 0.45), 1), ((0.1, 0.3, 0.6), 1), ((0.1, 0.3, 0.6), 2), ((0.0, 1.0, 0.5), 1)],
)
def test_brute_force_enumeration(p: tuple[float, ...], start: int, korn: bool) -> None:
    design = ThreePlusThree(num_doses=len(p), allow_deescalate=korn, start_dose=start)
    oc = exact_oc(design, p)
    p_out, e_n = brute_force(design, p)
    assert oc.p_no_mtd == pytest.approx(p_out[0], abs=1e-12)
    assert oc.p_mtd == pytest.approx(p_out[1:], abs=1e-12)
    assert oc.expected_n == pytest.approx(e_n, abs=1e-12)


def test_brute_force_with_max_n() -> None:
    design = ThreePlusThree(num_doses=3, allow_deescalate=True, max_n=9)
    p = (0.15, 0.3, 0.45)
    oc = exact_oc(design, p)
    p_out, e_n = brute_force(design, p)
    assert oc.p_mtd == pytest.approx(p_out[1:], abs=1e-12)
    assert oc.expected_n == pytest.approx(e_n, abs=1e-12)
    assert oc.expected_n_total <= 9 + 1e-12


# --------------------------------------------------------------------------- Monte-Carlo
def simulate_3p3(
    p: Sequence[float], korn: bool, trials: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Naive independent 3+3 simulator written from the spec's text (not the design code)."""
    j_max = len(p)
    picks = np.zeros(j_max + 1)
    n_tot = np.zeros(j_max)
    for _ in range(trials):
        n = [0] * j_max
        y = [0] * j_max
        d = 0
        while True:
            y[d] += int(rng.binomial(3, p[d]))
            n[d] += 3
            if (n[d] == 3 and y[d] == 0) or (n[d] == 6 and y[d] <= 1):
                if d == j_max - 1 or n[d + 1] >= 6 or y[d + 1] >= 2:
                    mtd = d + 1
                    break
                d += 1
            elif n[d] == 3 and y[d] == 1:
                continue
            elif not korn:
                mtd = d  # d-1 in 1-based terms; 0 = none
                break
            elif d == 0:
                mtd = 0
                break
            elif n[d - 1] < 6:
                d -= 1
            else:
                ok = [j + 1 for j in range(j_max) if n[j] >= 6 and y[j] <= 1]
                mtd = max(ok) if ok else 0
                break
        picks[mtd] += 1
        n_tot += n
    return picks / trials, n_tot / trials


@pytest.mark.parametrize("korn", [False, True])
def test_independent_monte_carlo(korn: bool) -> None:
    p = (0.05, 0.15, 0.30, 0.45, 0.60)
    trials = 20_000
    freq, mean_n = simulate_3p3(p, korn, trials, np.random.default_rng(7))
    oc = exact_three_plus_three(p, allow_deescalate=korn)
    exact = (oc.p_no_mtd, *oc.p_mtd)
    for f, q in zip(freq, exact, strict=True):
        assert abs(f - q) <= 4.5 * math.sqrt(q * (1 - q) / trials) + 1e-9
    for m, e in zip(mean_n, oc.expected_n, strict=True):
        assert abs(m - e) <= 0.1


# --------------------------------------------------------------------------- result object
def test_result_object() -> None:
    oc = exact_three_plus_three((0.1, 0.3, 0.5))
    assert isinstance(oc, ExactOC)
    frame = oc.to_frame()
    assert list(frame.columns) == ["dose", "p_true", "p_mtd", "expected_n", "expected_dlt"]
    assert frame["dose"].tolist() == [1, 2, 3]
    assert frame["p_mtd"].sum() + oc.p_no_mtd == pytest.approx(1.0)
    d = oc.to_dict()
    assert d["expected_n_total"] == pytest.approx(9.494, abs=5e-4)
    assert d["expected_dlt_total"] == pytest.approx(oc.expected_dlt_total)
    assert d["allow_deescalate"] is False and d["start_dose"] == 1
    assert oc.n_states > 0
    with pytest.raises(AttributeError):
        oc.p_no_mtd = 0.5  # type: ignore[misc]


def test_fast_for_ten_doses() -> None:
    p = tuple(0.03 * (j + 1) for j in range(10))
    oc = exact_three_plus_three(p, allow_deescalate=True)
    assert oc.p_no_mtd + sum(oc.p_mtd) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("p_true", "field"),
    [
        ((0.1, 0.2), "p_true"),
        ((0.1, 1.2, 0.3), "p_true[1]"),
        ((0.1, float("nan"), 0.3), "p_true[1]"),
        ((0.1, True, 0.3), "p_true[1]"),
        ("abc", "p_true"),
    ],
)
def test_validation(p_true: object, field: str) -> None:
    design = ThreePlusThree(num_doses=3)
    with pytest.raises(InputError) as err:
        exact_oc(design, p_true)  # type: ignore[arg-type]
    assert err.value.field == field


def test_validation_of_the_convenience_function_and_design() -> None:
    with pytest.raises(InputError) as err:
        exact_three_plus_three([])
    assert err.value.field == "p_true"
    with pytest.raises(InputError) as err:
        exact_three_plus_three((0.1, 0.2), start_dose=3)
    assert err.value.field == "start_dose"
    with pytest.raises(InputError) as err:
        exact_oc("3+3", (0.1,))  # type: ignore[arg-type]
    assert err.value.field == "design"
