"""Backfill patients are refused by every design without backfill cohorts (they would silently
count as escalation patients) and accepted by BF-BOIN."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import doseladder
from doseladder.core import InputError, Patient, TrialState, decide, select
from doseladder.io.design_file import design_from_dict

EXAMPLES = Path(doseladder.__file__).parent / "examples" / "designs"
FILES = sorted(EXAMPLES.glob("*.yaml"))


def _design(path: Path):  # type: ignore[no-untyped-def]
    return design_from_dict(yaml.safe_load(path.read_text()))


def _state(num_doses: int, backfill_at: int) -> TrialState:
    patients = [Patient(dose=1, tox=False, entry_time=float(i)) for i in range(3)]
    patients.insert(backfill_at, Patient(dose=1, tox=False, entry_time=2.5, backfill=True))
    return TrialState(num_doses, tuple(patients))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
@pytest.mark.parametrize("backfill_at", [0, 2, 3])
def test_backfill_patient_needs_backfill_cohorts(path: Path, backfill_at: int) -> None:
    design = _design(path)
    state = _state(design.num_doses, backfill_at)
    if design.backfill_cohorts:
        assert decide(design, state, 100.0).next_dose is not None
        return
    with pytest.raises(InputError) as err:
        decide(design, state, 100.0)
    assert err.value.field == f"patients[{backfill_at}].backfill"
    with pytest.raises(InputError) as err:
        select(design, state)
    assert err.value.field == f"patients[{backfill_at}].backfill"


def test_only_bf_boin_has_backfill_cohorts() -> None:
    names = {_design(p).name for p in FILES if _design(p).backfill_cohorts}
    assert "bf-boin" in names
    assert names <= {"bf-boin", "be-boin"}
