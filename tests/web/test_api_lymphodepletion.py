"""The lymphodepletion endpoints: record, list, correct, void for the allowed roles; every bad
request is a 4xx naming the field and changes nothing; other sites and other roles are refused."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import Api, World


def _f01_patient(world: World, api: Api) -> tuple[int, date]:
    """An F01 patient (fludarabine 25-30, cyclophosphamide 250-300 mg/m² on days -5..-3),
    enrolled at site A without an infusion date; the clock moves on a week."""
    tid = world.trial(load_mapping(shipped_path("f01-car-nk-snc103")))
    d = world.decide(tid)
    pid = world.patient(tid, indication="SLE")
    world.enrol(pid, d.next_dose or 1, infused=False)
    start = world.clock.today()
    world.clock.advance(days=7)
    api.relogin()
    return pid, start


def test_record_list_correct_and_void(api: Api, world: World) -> None:
    pid, start = _f01_patient(world, api)
    when = (start + timedelta(days=1)).isoformat()
    body = {"agent": "fludarabine", "given_on": when, "dose": 25, "note": "iv over 30 min"}
    r = api.post("inv_a", f"/patients/{pid}/lymphodepletion", body)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert (rec["agent"], rec["given_on"], rec["unit"], rec["version"]) == (
        "fludarabine",
        when,
        "mg/m2",
        1,
    )
    assert float(rec["dose"]) == 25.0
    r = api.post(
        "datamgr",
        f"/lymphodepletion/{rec['id']}/correct",
        {"changes": {"dose": 27.5}, "reason": "transcription error"},
    )
    assert r.status_code == 201, r.text
    fixed = r.json()
    assert (fixed["version"], fixed["root_id"], float(fixed["dose"])) == (2, rec["id"], 27.5)
    listed = api.get("monitor", f"/patients/{pid}/lymphodepletion").json()
    assert [x["id"] for x in listed] == [fixed["id"]]
    r = api.post("inv_a", f"/lymphodepletion/{fixed['id']}/void", {"reason": "wrong patient"})
    assert r.status_code == 201 and r.json()["voided"] is True
    assert api.get("monitor", f"/patients/{pid}/lymphodepletion").json() == []
    history = api.get("monitor", f"/patients/{pid}/lymphodepletion?history=true").json()
    assert len(history) == 3


def _bad(start: date, today: date) -> list[tuple[dict[str, Any], int, str]]:
    ok = {"agent": "fludarabine", "given_on": (start + timedelta(days=1)).isoformat(), "dose": 25}
    return [
        ({**ok, "agent": "busulfan"}, 422, "agent"),
        ({**ok, "dose": 0}, 422, "body.dose"),
        ({**ok, "dose": -1}, 422, "body.dose"),
        ({**ok, "dose": "25"}, 422, "body.dose"),
        ({**ok, "dose": 25.00001}, 422, "dose"),
        ({**ok, "dose": "lots"}, 422, "body.dose"),
        ({**ok, "dose": 46}, 422, "dose"),
        ({**ok, "unit": "mg"}, 422, "unit"),
        ({**ok, "given_on": (start - timedelta(days=1)).isoformat()}, 422, "given_on"),
        ({**ok, "given_on": (today + timedelta(days=2)).isoformat()}, 422, "given_on"),
        ({**ok, "given_on": "2026-02-30"}, 422, "body.given_on"),
        ({**ok, "colour": "red"}, 422, "body.colour"),
        ({k: v for k, v in ok.items() if k != "agent"}, 422, "body.agent"),
    ]


def test_bad_requests_name_the_field_and_change_nothing(api: Api, world: World) -> None:
    pid, start = _f01_patient(world, api)
    before = world.snapshot_counts()
    problems = []
    for body, status, field in _bad(start, world.clock.today()):
        r = api.post("inv_a", f"/patients/{pid}/lymphodepletion", body)
        got = r.json()
        named = got.get("field") or (got.get("errors") or [{}])[0].get("field")
        if r.status_code != status or named != field:
            problems.append(f"{body}: {r.status_code} {r.text[:300]}")
    assert not problems, "\n".join(problems)
    assert world.snapshot_counts() == before


@pytest.mark.parametrize("who", ["inv_b", "monitor", "com1"])
def test_other_sites_and_roles_are_refused(api: Api, world: World, who: str) -> None:
    pid, start = _f01_patient(world, api)
    before = world.snapshot_counts()
    body = {"agent": "fludarabine", "given_on": (start + timedelta(days=1)).isoformat(), "dose": 25}
    r = api.post(who, f"/patients/{pid}/lymphodepletion", body)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert world.snapshot_counts() == before
