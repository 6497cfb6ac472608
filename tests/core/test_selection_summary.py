"""``Selection.summary`` names doses by a protocol's labels when given them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core.decision import Reason
from doseladder.core.selection import DoseEstimate, Selection

LABEL = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(min_value=1, max_value=7))
def test_labels_follow_the_levels(data: st.DataObject, n: int) -> None:
    labels = data.draw(st.lists(LABEL, min_size=n, max_size=n, unique=True))
    dose = data.draw(st.one_of(st.none(), st.integers(min_value=1, max_value=n)))
    sel = Selection(
        kind="mtd",
        dose=dose,
        reason=Reason(rule="test", message="because"),
        estimates=tuple(DoseEstimate(dose=d, n=3, n_tox=0) for d in range(1, n + 1)),
    )
    lines = sel.summary(labels).splitlines()
    expected = "none" if dose is None else f"{labels[dose - 1]} (dose level {dose})"
    assert lines[0] == f"MTD: {expected}"
    rows = [line.split() for line in lines[4:]]
    assert [(int(r[0]), r[1]) for r in rows] == list(enumerate(labels, 1))
    # without labels: level numbers, as before
    assert sel.summary().splitlines()[0] == f"MTD: {dose if dose is not None else 'none'}"


def test_the_labels_must_match_the_levels() -> None:
    sel = Selection(
        kind="mtd",
        dose=1,
        reason=Reason(rule="test", message="because"),
        estimates=(DoseEstimate(dose=1, n=3, n_tox=0), DoseEstimate(dose=2, n=0, n_tox=0)),
    )
    with pytest.raises(ValueError, match="1 dose label"):
        sel.summary(["DL1"])
