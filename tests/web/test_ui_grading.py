"""The patient page's grading forms: an AE graded by the ASTCT CRS form, the proposed DLT call
confirmed, an efficacy assessment scored from components; bad input re-renders with the field."""

from __future__ import annotations

from typing import Any

import pytest

from doseladder.conduct.models import DLTAdjudication
from doseladder.conduct.services import grading, outcomes
from doseladder.core.clinical.dlt import TERM_CRS, DLTDefinition, DLTRule

from .conftest import Scene, World
from .test_ui import browser, csrf_of, text, ui_login  # noqa: F401 - the browser fixture

DEFINITION = DLTDefinition(
    rules=(DLTRule("crs_ge3", 3, terms=frozenset({TERM_CRS})),), window_days=28
)


@pytest.fixture
def defined(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grading, "dlt_definition", lambda protocol: DEFINITION)
    # protocols seen without a definition are remembered per process (by content hash)
    monkeypatch.setattr(outcomes, "_NO_DLT_PROTOCOL", {})


def test_crs_form_proposal_and_confirmation(
    browser: Any,  # noqa: F811
    world: World,
    scene: Scene,
    defined: None,
) -> None:
    ui_login(browser, "inv_a")
    page = browser.get(f"/patients/{scene.enrolled}")
    assert page.status_code == 200 and 'id="ae-crs"' in page.text
    csrf = csrf_of(page.text)
    today = world.clock.today().isoformat()
    form = {
        "csrf": csrf,
        "term": TERM_CRS,
        "onset_date": today,
        "relatedness": "probable",
        "crs_temperature_max": "39.2",
        "crs_temperature_unit": "°C",
        "crs_fever_other_cause": "no",
        "crs_hypotension": "yes",
        "crs_vasopressors": "norepinephrine",
        "crs_oxygen": "none",
    }
    before = world.snapshot_counts()
    bad = browser.post(f"/patients/{scene.enrolled}/adverse-events", data=form | {"grade": "2"})
    assert bad.status_code == 422 and "contradicts" in text(bad)
    bad = browser.post(
        f"/patients/{scene.enrolled}/adverse-events",
        data={
            "csrf": csrf,
            "term": "Platelet count decreased",
            "lab_value": "20",
            "onset_date": today,
        },
    )
    assert bad.status_code == 422 and "lab.unit" in text(bad)
    assert world.snapshot_counts() == before
    r = browser.post(f"/patients/{scene.enrolled}/adverse-events", data=form)
    assert r.status_code == 200 and "ASTCT 2019 grade 3" in r.text
    assert 'id="proposal-rule">crs_ge3' in r.text
    browser.post("/logout", data={"csrf": csrf_of(r.text)})
    ui_login(browser, "stat")
    page = browser.get(f"/patients/{scene.enrolled}")
    assert 'id="confirm-submit"' in page.text
    proposal = page.text.split('action="/dlt-proposals/')[1].split("/")[0]
    r = browser.post(
        f"/dlt-proposals/{proposal}/confirm",
        data={"csrf": csrf_of(page.text), "patient_id": str(scene.enrolled)},
    )
    assert r.status_code == 200 and "confirmed" in r.text
    assert world.count(DLTAdjudication) == before["dlt_adjudications"] + 1


def test_efficacy_components_form(browser: Any, world: World, scene: Scene) -> None:  # noqa: F811
    ui_login(browser, "inv_a")
    page = browser.get(f"/patients/{scene.enrolled}")
    r = browser.post(
        f"/patients/{scene.enrolled}/efficacy-assessments",
        data={
            "csrf": csrf_of(page.text),
            "assessed_on": world.clock.today().isoformat(),
            "instrument": "ITP response",
            "c_platelets": "150",
            "c_unit": "10^9/L",
        },
    )
    assert r.status_code == 200 and "proposed response: True" in r.text
    assert "Confirm: responder" in r.text
