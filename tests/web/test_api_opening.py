"""The opening guard through the API: the checklist, acknowledgements by an admin and a
statistician, and the refusal to open with outstanding items (409, nothing changed)."""

from __future__ import annotations

from typing import Any

from .conftest import Api, World


def _str_trial(api: Api, world: World) -> int:
    r = api.post(
        "admin",
        "/trials",
        {"code": "STR-G", "title": "STR-P004", "shipped_protocol": "str-p004-nct07143617"},
    )
    assert r.status_code == 201, r.text
    tid: int = r.json()["id"]
    assert api.post("admin", f"/trials/{tid}/sites", {"site_id": world.site_a}).status_code == 201
    return tid


def _open_refused(api: Api, world: World, tid: int) -> dict[str, Any]:
    before = world.snapshot_counts()
    r = api.post("stat", f"/trials/{tid}/open", {"reason": "SIV done"})
    assert r.status_code == 409, r.text
    assert world.snapshot_counts() == before
    assert api.get("stat", f"/trials/{tid}").json()["status"] == "draft"
    body: dict[str, Any] = r.json()
    assert body["error"] == "conflict" and body["field"] == "protocol"
    return body


def test_a_trial_opens_only_after_two_people_acknowledge_every_item(api: Api, world: World) -> None:
    tid = _str_trial(api, world)
    items = api.get("monitor", f"/trials/{tid}/opening-checklist").json()
    assert len(items) == 25 and all(x["missing"] == ["admin", "statistician"] for x in items)
    assert items[0]["kind"] == "placeholder" and items[0]["where"] == "dose DL-1"
    body = _open_refused(api, world, tid)
    assert items[0]["id"] in body["message"] and "25 protocol item(s)" in body["message"]

    for x in items:
        r = api.post(
            "admin",
            f"/trials/{tid}/opening-acknowledgements",
            {"item": x["id"], "reason": "sponsor will set the doses before the first patient"},
        )
        assert r.status_code == 201, r.text
        assert (r.json()["role"], r.json()["username"]) == ("admin", "admin")
    # one acknowledgement per item is not enough
    body = _open_refused(api, world, tid)
    assert "(needs a statistician)" in body["message"]
    # the administrator cannot give the statistician's acknowledgement
    before = world.snapshot_counts()
    again = api.post(
        "admin",
        f"/trials/{tid}/opening-acknowledgements",
        {"item": items[0]["id"], "reason": "once more"},
    )
    assert again.status_code == 409 and "already acknowledged" in again.json()["message"]
    assert world.snapshot_counts() == before

    for x in items:
        r = api.post(
            "stat",
            f"/trials/{tid}/opening-acknowledgements",
            {"item": x["id"], "reason": "reviewed with the sponsor"},
        )
        assert r.status_code == 201, r.text
    listed = api.get("inv_a", f"/trials/{tid}/opening-checklist").json()
    assert all(x["cleared"] and len(x["acknowledgements"]) == 2 for x in listed)
    opened = api.post("stat", f"/trials/{tid}/open", {"reason": "SIV done"})
    assert opened.status_code == 200 and opened.json()["status"] == "open"


def test_bad_acknowledgements_are_4xx_naming_the_field(api: Api, world: World) -> None:
    tid = _str_trial(api, world)
    item = api.get("stat", f"/trials/{tid}/opening-checklist").json()[0]["id"]
    before = world.snapshot_counts()
    path = f"/trials/{tid}/opening-acknowledgements"
    for who, body, status, field in (
        ("stat", {"item": item}, 422, "reason"),
        ("stat", {"item": item, "reason": "  "}, 422, "reason"),
        ("stat", {"item": "review:unknown#0000000000", "reason": "fine"}, 422, "item"),
        ("stat", {"item": item, "reason": "fine", "extra": 1}, 422, "extra"),
        ("inv_a", {"item": item, "reason": "fine"}, 403, None),
        ("com1", {"item": item, "reason": "fine"}, 403, None),
    ):
        r = api.post(who, path, body)
        assert r.status_code == status, (body, r.text)
        if field is not None:
            assert field in r.text, r.text
    assert (
        api.post(
            "stat", "/trials/999999/opening-acknowledgements", {"item": item, "reason": "fine"}
        ).status_code
        == 404
    )
    assert world.snapshot_counts() == before
