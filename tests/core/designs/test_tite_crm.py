"""TITE-CRM against dfcrm ``titecrm`` (spec ``dose-finding.md`` §6.4, man/titecrm.Rd example)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.core.decision import Action
from doseladder.core.designs.crm import CRM
from doseladder.core.designs.crm_model import crm_fit, tite_weights
from doseladder.core.designs.tite_crm import TITECRM
from doseladder.core.errors import InputError
from doseladder.core.state import Patient, TrialState

REF: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "dfcrm_reference.json").read_text(encoding="utf-8")
)
NOW = 500.0


def _state(case: dict[str, Any]) -> TrialState:
    """The man-page data as patients: pending if follow-up < window and no DLT."""
    pts = []
    for lv, y, u in zip(case["level"], case["tox"], case["followup"], strict=True):
        if y:
            pts.append(Patient(dose=lv, entry_time=NOW - 200, tox=True, tox_time=float(u)))
        elif u >= case["obswin"]:
            pts.append(Patient(dose=lv, entry_time=NOW - u, tox=False))
        else:
            pts.append(Patient(dose=lv, entry_time=NOW - u, tox=None))
    return TrialState(6, tuple(pts))


@pytest.mark.parametrize("case", REF["titecrm"], ids=lambda c: c["scheme"])
def test_titecrm_weights_and_fit_match_dfcrm(case: dict[str, Any]) -> None:
    w = tite_weights(case["followup"], case["tox"], case["obswin"], case["scheme"])
    assert w == pytest.approx(case["weights"], abs=5e-5)
    fit = crm_fit(case["prior"], case["target"], case["level"], case["tox"], w)
    assert fit.estimate == pytest.approx(case["estimate"], abs=5e-6)
    assert fit.mtd == case["mtd"]
    if case["ptox"] is not None:
        assert fit.ptox == pytest.approx(case["ptox"], abs=5e-5)


@pytest.mark.parametrize("case", REF["titecrm"], ids=lambda c: c["scheme"])
def test_design_decides_on_pending_patients_like_titecrm(case: dict[str, Any]) -> None:
    design = TITECRM(
        num_doses=6,
        target=case["target"],
        tox_window=case["obswin"],
        skeleton=tuple(case["prior"]),
        scheme=case["scheme"],
    )
    dec = design.decide(_state(case), NOW)
    assert dec.reason.values["posterior_mean"] == pytest.approx(case["estimate"], abs=5e-6)
    assert dec.reason.values["mtd"] == case["mtd"]
    assert dec.reason.values["weights"] == pytest.approx(case["weights"], abs=5e-5)
    assert dec.next_dose == 3 and dec.action is Action.STAY


def test_complete_data_equals_crm() -> None:
    sk = (0.05, 0.12, 0.25, 0.4, 0.55)
    pts = tuple(Patient(dose=d, tox=t) for d, t in [(1, False), (2, False), (3, True), (2, False)])
    st_ = TrialState(5, pts)
    tite = TITECRM(num_doses=5, target=0.25, tox_window=30, skeleton=sk)
    crm = CRM(num_doses=5, target=0.25, skeleton=sk, cohort_size=1, restrict=False)
    assert tite.select(st_).to_dict()["posterior_mean"] == pytest.approx(
        crm.select(st_).to_dict()["posterior_mean"], abs=1e-12
    )
    assert tite.decide(st_, 100.0).reason.values["mtd"] == crm.decide(st_).next_dose


@settings(max_examples=60, deadline=None)
@given(
    u=st.lists(st.floats(0.0, 200.0), min_size=1, max_size=12),
    data=st.data(),
    scheme=st.sampled_from(["linear", "adaptive"]),
)
def test_weights_in_unit_interval_monotone_and_dlts_full(
    u: list[float], data: st.DataObject, scheme: str
) -> None:
    tox = data.draw(st.lists(st.integers(0, 1), min_size=len(u), max_size=len(u)))
    w = np.array(tite_weights(u, tox, 100.0, scheme))
    assert np.all((w >= 0) & (w <= 1))
    assert np.all(w[np.array(tox) == 1] == 1)
    # a longer follow-up never gets a smaller weight
    free = [(ui, wi) for ui, wi, y in zip(u, w, tox, strict=True) if not y]
    for (ua, wa), (ub, wb) in zip(sorted(free), sorted(free)[1:], strict=False):
        assert wb >= wa - 1e-12 or ub == ua


def test_adaptive_needs_dlt_times_and_now_needed() -> None:
    design = TITECRM(
        num_doses=3, target=0.3, tox_window=30, skeleton=(0.2, 0.3, 0.4), scheme="adaptive"
    )
    st_ = TrialState(3, (Patient(dose=1, tox=True), Patient(dose=1, entry_time=5, tox=None)))
    with pytest.raises(InputError) as err:
        design.decide(st_, 10.0)
    assert err.value.field == "patients[0].tox_time"
    with pytest.raises(InputError) as err2:
        design.decide(st_)
    assert err2.value.field == "now"
    with pytest.raises(InputError) as err3:
        TITECRM(num_doses=3, target=0.3, tox_window=30, skeleton=(0.2, 0.3, 0.4), scheme="x")
    assert err3.value.field == "scheme"


def test_no_skipping_with_pending() -> None:
    design = TITECRM(num_doses=5, target=0.3, tox_window=30, halfwidth=0.05, prior_mtd=3)
    pts = tuple(Patient(dose=1, entry_time=float(i), tox=False) for i in range(3))
    dec = design.decide(TrialState(5, (*pts, Patient(dose=1, entry_time=40, tox=None))), 45.0)
    assert dec.reason.values["mtd"] > 2 and dec.next_dose == 2
