"""TITE-BOIN12's table of decisions by observed and pending counts (tables()["pending_decisions"]).

Checked against independent facts: with nothing pending the decision is BOIN12's on the same
counts (Zhou et al. 2022: complete data = BOIN12), and accrual is suspended exactly when more
than half the patients at the dose are pending (spec §4.4)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core import BOIN12, TITEBOIN12
from doseladder.core.errors import InputError
from doseladder.core.state import Patient, TrialState


@settings(max_examples=4, deadline=None)
@given(st.integers(2, 5), st.sampled_from([0.3, 0.35]), st.sampled_from([0.2, 0.25]))
def test_pending_table_rules(j: int, phi_t: float, phi_e: float) -> None:
    kw = dict(num_doses=j, phi_t=phi_t, phi_e=phi_e)
    tite = TITEBOIN12(**kw, tox_window=28.0, eff_window=90.0)
    plain = BOIN12(**kw)
    table = tite.tables()["pending_decisions"]
    assert set(table["n"]) == {3, 6}
    for row in table.itertuples():
        assert row.dlt <= row.n - row.pending and row.responses <= row.n - row.pending
        if row.pending == 0:
            done = row.n
            pts = tuple(
                Patient(1, 0.0, tox=i < row.dlt, eff=i >= done - row.responses) for i in range(done)
            )
            ref = plain.decide(TrialState(j, pts))
            nxt = None if row.next_dose is pd.NA else row.next_dose
            assert (row.decision, nxt) == (ref.action.value, ref.next_dose)
        if row.pending / row.n > 0.5:
            assert row.decision == "suspend"
        elif row.decision == "suspend":
            raise AssertionError(f"suspended with {row.pending}/{row.n} pending")


def test_pending_table_arguments_are_checked() -> None:
    tite = TITEBOIN12(num_doses=3, tox_window=28.0, eff_window=90.0)
    with pytest.raises(InputError, match="cohorts"):
        tite.pending_table(cohorts=0)
    with pytest.raises(InputError, match="followed"):
        tite.pending_table(followed=1.5)
