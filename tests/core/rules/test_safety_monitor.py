"""Pooled safety monitoring across indications (spec dose-finding.md §5.2, BOIN §1.2)."""

from __future__ import annotations

from typing import Any

import pytest

from doseladder.core.designs.boin import b_elim
from doseladder.core.errors import InputError
from doseladder.core.rules import PooledSafetyMonitor
from tests.core.rules.helpers import P


@pytest.mark.parametrize("target", [0.25, 0.3, 0.35])
def test_boundary_is_the_boin_elimination_boundary(target: float) -> None:
    mon = PooledSafetyMonitor(target=target)
    for n in range(3, 31):
        assert mon.boundary(n) == b_elim(n, target), n
    assert mon.boundary(2) is None


def test_pending_outcomes_never_count() -> None:
    mon = PooledSafetyMonitor(target=0.3)
    pts = [P(1, 0, True), P(1, 1, True), P(1, 2, None), P(1, 3, None)]
    res = mon.evaluate(2, pts, [True] * 4)
    assert (res.per_dose[0].n, res.per_dose[0].dlts, res.per_dose[0].pending) == (2, 2, 2)
    assert not res.triggered  # 2 known outcomes < min_n 3
    res3 = mon.evaluate(2, [*pts, P(1, 4, True)], [True] * 5)
    assert res3.flagged == frozenset({1, 2})  # 3/3: flagged, and every higher dose


def test_scope_and_actions() -> None:
    pts = [P(2, i, True, ind="IIM") for i in range(3)] + [P(2, 9, False)] * 3
    driving = [False] * 3 + [True] * 3
    pooled = PooledSafetyMonitor(target=0.3).evaluate(3, pts, driving)
    assert not pooled.triggered  # 3/6
    others = PooledSafetyMonitor(target=0.3, scope="others").evaluate(3, pts, driving)
    assert others.flagged == frozenset({2, 3})
    assert others.closed_for_others() == frozenset({2, 3})
    assert others.closed_for_driving() == frozenset()
    flag = PooledSafetyMonitor(target=0.3, scope="others", action="flag").evaluate(3, pts, driving)
    assert flag.triggered and flag.closed_for_others() == frozenset()
    close_all = PooledSafetyMonitor(target=0.3, scope="others", action="close_all")
    assert close_all.evaluate(3, pts, driving).closed_for_driving() == frozenset({2, 3})


def test_describe_and_validation() -> None:
    text = PooledSafetyMonitor(target=0.35).describe()
    assert "pending outcomes never count" in text
    assert "Pr(DLT rate > 0.35 | data) > 0.95" in text
    assert "3: 3, 4: 4" in text
    bad: list[dict[str, Any]] = [
        {"target": 1.2},
        {"target": 0.3, "scope": "x"},
        {"target": 0.3, "action": "x"},
    ]
    for kwargs in bad:
        with pytest.raises(InputError):
            PooledSafetyMonitor(**kwargs)
