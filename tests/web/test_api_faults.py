"""A crash in the middle of a request leaves no partial record (one transaction per request)
and answers a generic 500 without internals."""

from __future__ import annotations

from typing import Any

import pytest

from doseladder.conduct import audit
from doseladder.conduct.services import decisions, patients

from .conftest import Api, Scene, World


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("simulated crash: secret internals")


def test_crash_after_the_first_write_leaves_nothing(
    api: Api, world: World, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registration is written and flushed, then screening crashes: neither remains."""
    before = world.snapshot_counts()
    monkeypatch.setattr(patients, "record_screening", _boom)
    today = world.clock.today().isoformat()
    r = api.post(
        "inv_a",
        f"/trials/{scene.trial_id}/patients",
        {"study_id": "SA-900", "screening": {"screened_on": today, "eligible": True}},
    )
    assert r.status_code == 500
    assert r.json()["error"] == "internal" and "secret" not in r.text
    assert world.snapshot_counts() == before
    monkeypatch.undo()
    r = api.post(
        "inv_a",
        f"/trials/{scene.trial_id}/patients",
        {"study_id": "SA-900", "screening": {"screened_on": today, "eligible": True}},
    )
    assert r.status_code == 201, r.text  # the study ID was not taken by the failed attempt


def test_crash_while_chaining_the_audit_trail_leaves_nothing(
    api: Api, world: World, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change is flushed and the commit starts; appending to the chain fails."""
    before = world.snapshot_counts()
    monkeypatch.setattr(audit, "append", _boom)
    today = world.clock.today().isoformat()
    r = api.post(
        "inv_a",
        f"/patients/{scene.enrolled}/adverse-events",
        {"term": "rash", "grade": 2, "onset_date": today},
    )
    assert r.status_code == 500 and r.json()["error"] == "internal"
    r = api.post("inv_a", f"/patients/{scene.waiting}/enrol", {"dose_level": 1})
    assert r.status_code == 500
    assert world.snapshot_counts() == before
    monkeypatch.undo()
    assert api.get("monitor", "/audit/verify").json()["ok"]


def test_crash_inside_a_decision_leaves_nothing(
    api: Api, world: World, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = world.snapshot_counts()
    real = decisions._store

    def store_then_crash(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the decision row is flushed...
        raise RuntimeError("...and then the process fails")

    monkeypatch.setattr(decisions, "_store", store_then_crash)
    r = api.post("stat", f"/trials/{scene.trial_id}/decisions", {})
    assert r.status_code == 500
    assert world.snapshot_counts() == before
