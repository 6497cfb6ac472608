"""Malformed or out-of-range input gets a 4xx naming the field and the reason -- never a 500 --
and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from .conftest import API, Api, Scene, World


def _cases(world: World, scene: Scene) -> list[tuple[str, str, Any, int, str]]:
    """(method, path, body, status, field) of bad requests."""
    today = world.clock.today()
    tomorrow2 = (today + timedelta(days=2)).isoformat()
    p, t = scene.enrolled, scene.trial_id
    ae = f"/patients/{p}/adverse-events"
    good_ae = {"term": "rash", "grade": 2, "onset_date": today.isoformat()}
    return [
        # types, ranges, enums, dates, unknown fields (request validation)
        ("POST", ae, {**good_ae, "grade": 6}, 422, "body.grade"),
        ("POST", ae, {**good_ae, "grade": 0}, 422, "body.grade"),
        ("POST", ae, {**good_ae, "grade": "3"}, 422, "body.grade"),
        ("POST", ae, {**good_ae, "grade": True}, 422, "body.grade"),
        ("POST", ae, {**good_ae, "grade": 2.5}, 422, "body.grade"),
        ("POST", ae, {k: v for k, v in good_ae.items() if k != "term"}, 422, "body.term"),
        ("POST", ae, {**good_ae, "term": ""}, 422, "body.term"),
        ("POST", ae, {**good_ae, "term": "x" * 201}, 422, "body.term"),
        ("POST", ae, {**good_ae, "term": "rash\x00"}, 422, "body.term"),
        ("POST", ae, {**good_ae, "onset_date": "2025-13-01"}, 422, "body.onset_date"),
        ("POST", ae, {**good_ae, "onset_date": "03/03/2025"}, 422, "body.onset_date"),
        ("POST", ae, {**good_ae, "onset_date": "2025-03-03T10:00:00"}, 422, "body.onset_date"),
        ("POST", ae, {**good_ae, "onset_date": 20250303}, 422, "body.onset_date"),
        ("POST", ae, {**good_ae, "relatedness": "maybe"}, 422, "body.relatedness"),
        ("POST", ae, {**good_ae, "serious": "yes"}, 422, "body.serious"),
        ("POST", ae, {**good_ae, "colour": "red"}, 422, "body.colour"),
        ("POST", ae, ["not", "an", "object"], 422, "body"),
        ("POST", ae, None, 422, "body"),
        # the services' clinical rules
        ("POST", ae, {**good_ae, "onset_date": tomorrow2}, 422, "onset_date"),
        (
            "POST",
            ae,
            {**good_ae, "resolved_date": (today - timedelta(days=1)).isoformat()},
            422,
            "resolved_date",
        ),
        ("POST", f"/patients/{scene.waiting}/enrol", {"dose_level": 0}, 422, "body.dose_level"),
        ("POST", f"/patients/{scene.waiting}/enrol", {"dose_level": 3}, 422, "dose_level"),
        (
            "POST",
            f"/patients/{scene.waiting}/enrol",
            {"dose_level": 1, "infusion_date": "2020-01-01"},
            422,
            "infusion_date",
        ),
        (
            "POST",
            f"/patients/{p}/efficacy",
            {"assessed_on": today.isoformat(), "instrument": "SRI-4", "responder": 1},
            422,
            "body.responder",
        ),
        (
            "POST",
            f"/patients/{p}/efficacy",
            {
                "assessed_on": today.isoformat(),
                "instrument": "SRI-4",
                "responder": True,
                "measures": {"a\x01": 1},
            },
            422,
            "body.measures",
        ),
        ("POST", f"/trials/{t}/patients", {"age": 121}, 422, "body.age"),
        ("POST", f"/trials/{t}/patients", {"sex": "X"}, 422, "body.sex"),
        ("POST", f"/trials/{t}/patients", {"site_id": 0}, 422, "body.site_id"),
        ("POST", f"/trials/{t}/patients", {"study_id": "John Smith"}, 422, "study_id"),
        ("POST", f"/trials/{t}/patients", {"indication": "SLE"}, 422, "indication"),
        (
            "POST",
            f"/trials/{t}/patients",
            {"screening": {"screened_on": today.isoformat(), "eligible": "true"}},
            422,
            "body.screening.eligible",
        ),
        (
            "POST",
            f"/patients/{scene.waiting}/screening",
            {"screened_on": today.isoformat(), "eligible": True, "criteria": {"c1": False}},
            422,
            "eligible",
        ),
        (
            "POST",
            f"/adverse-events/{scene.ae_id}/correct",
            {"changes": {"grade": 9}, "reason": "regraded"},
            422,
            "body.changes.grade",
        ),
        (
            "POST",
            f"/adverse-events/{scene.ae_id}/correct",
            {"changes": {"patient_id": 9}, "reason": "regraded"},
            422,
            "body.changes.patient_id",
        ),
        (
            "POST",
            f"/adverse-events/{scene.ae_id}/correct",
            {"changes": {"grade": 2}, "reason": "x"},
            422,
            "body.reason",
        ),
        (
            "POST",
            f"/adverse-events/{scene.ae_id}/correct",
            {"changes": {}, "reason": "why"},
            422,
            "changes",
        ),
        # path and query parameters
        ("POST", "/patients/0/adverse-events", good_ae, 422, "path.patient_id"),
        ("POST", "/patients/-1/adverse-events", good_ae, 422, "path.patient_id"),
        ("POST", "/patients/2147483648/adverse-events", good_ae, 422, "path.patient_id"),
        ("POST", "/patients/abc/adverse-events", good_ae, 422, "path.patient_id"),
        ("POST", "/patients/99999/adverse-events", good_ae, 404, ""),
        ("GET", f"/trials/{t}/datasets/XX", None, 422, "path.domain"),
        ("GET", "/audit/events?limit=0", None, 422, "query.limit"),
        ("GET", "/audit/events?trial_id=abc", None, 422, "query.trial_id"),
        ("GET", f"/patients/{p}?history=maybe", None, 422, "query.history"),
        # trials, users, decisions
        (
            "POST",
            "/trials",
            {"code": "X1", "title": "t", "protocol": {"design": "boin"}, "shipped_protocol": "a"},
            422,
            "body",
        ),
        ("POST", "/trials", {"code": "X1", "title": "t"}, 422, "body"),
        (
            "POST",
            "/trials",
            {"code": "X1", "title": "t", "shipped_protocol": "../../etc/passwd"},
            422,
            "shipped_protocol",
        ),
        (
            "POST",
            "/trials",
            {
                "code": "X1",
                "title": "t",
                "protocol": {"design": "boin", "num_doses": 0, "target": 0.3},
            },
            422,
            "protocol.num_doses",
        ),
        (
            "POST",
            "/trials",
            {"code": "bad code!", "title": "t", "protocol": {"design": "boin"}},
            422,
            "body.code",
        ),
        (
            "POST",
            "/trials",
            {"code": "X1", "title": "t", "protocol": {"design": "boin"}, "epoch": "yesterday"},
            422,
            "body.epoch",
        ),
        (
            "POST",
            "/trials",
            {"code": "X1", "title": "t", "protocol": {"design": "boin"}, "dlt_window_days": 0},
            422,
            "body.dlt_window_days",
        ),
        (
            "POST",
            f"/decisions/{scene.decision_id}/signoff",
            {"approve": "yes", "comment": "ok!", "password": "x", "printed_name": "Dr X"},
            422,
            "body.approve",
        ),
        (
            "POST",
            f"/trials/{t}/decisions/override",
            {"dose_level": 9, "reason": "why"},
            422,
            "dose_level",
        ),
        ("POST", f"/trials/{t}/decisions", {"indication": "SLE"}, 422, "indication"),
    ]


ADMIN_CASES = [
    ("/users", {"username": "user1", "password": "long enough pw", "role": "root"}, "body.role"),
    ("/users", {"username": "user1", "password": "short", "role": "monitor"}, "body.password"),
    ("/users", {"username": "user1", "password": " " * 12, "role": "monitor"}, "password"),
    (
        "/users",
        {"username": "user1", "password": "long enough pw", "role": "investigator"},
        "site_id",
    ),
    ("/sites", {"code": "", "name": "x"}, "body.code"),
    ("/sites", {"code": "SA", "name": "dup"}, "code"),
]


def _who(path: str) -> str:
    if path.startswith(("/trials", "/decisions")) and "/patients" not in path:
        return "stat"
    if "dlt-adjudications" in path:
        return "stat"
    return "inv_a"


def test_bad_input_is_refused_with_the_field(api: Api, world: World, scene: Scene) -> None:
    before = world.snapshot_counts()
    problems = []
    for method, path, body, status, field in _cases(world, scene):
        who = _who(path)
        r = api.call(who, method, path, body)
        try:
            data = r.json()
        except ValueError:
            data = {}
        if r.status_code != status or (field and data.get("field") != field):
            problems.append(f"{method} {path} {body!r}: {r.status_code} {r.text[:300]}")
        elif status == 422 and not data.get("reason"):
            problems.append(f"{method} {path}: no reason in {data}")
    for path, body, field in ADMIN_CASES:
        r = api.post("admin", path, body)
        data = r.json()
        if r.status_code not in (409, 422) or (field and data.get("field") != field):
            problems.append(f"POST {path} {body!r}: {r.status_code} {r.text[:300]}")
    assert not problems, "\n".join(problems)
    assert world.snapshot_counts() == before


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"term": "rash", "grade": NaN, "onset_date": "2025-03-03"}',
        b"\xff\xfe",
        b'{"term": "rash", "grade": 1e400, "onset_date": "2025-03-03"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"term": "\\ud800", "grade": 1, "onset_date": "2025-03-03"}',
        b'{"term": "rash", "grade": 1, "onset_date": "2025-03-03", "serious": null}',
    ],
)
def test_malformed_json_is_422(api: Api, world: World, scene: Scene, raw: bytes) -> None:
    before = world.snapshot_counts()
    r = api.client.post(
        f"{API}/patients/{scene.enrolled}/adverse-events",
        content=raw,
        headers={**api.headers("inv_a"), "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text  # 400: too deeply nested to parse
    assert r.json()["error"] == "invalid" and r.json()["field"].startswith("body")
    assert world.snapshot_counts() == before


def test_nan_in_free_json_is_refused(api: Api, world: World, scene: Scene) -> None:
    before = world.snapshot_counts()
    raw = (
        b'{"assessed_on": "%s", "instrument": "SRI-4", "responder": true, "measures": {"x": NaN}}'
        % world.clock.today().isoformat().encode()
    )
    r = api.client.post(
        f"{API}/patients/{scene.enrolled}/efficacy",
        content=raw,
        headers={**api.headers("inv_a"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["field"].startswith(("measures", "body")), r.text
    assert world.snapshot_counts() == before


def test_conflicts_are_409_and_change_nothing(api: Api, world: World, scene: Scene) -> None:
    before = world.snapshot_counts()
    today = world.clock.today().isoformat()
    for who, path, body in [
        ("inv_a", f"/patients/{scene.enrolled}/enrol", {"dose_level": 1}),  # already enrolled
        ("stat", f"/trials/{scene.trial_id}/open", {}),  # already open
        ("admin", "/sites", {"code": "SA", "name": "again"}),  # code taken
        (
            "inv_a",
            f"/patients/{scene.enrolled}/screening",
            {"screened_on": today, "eligible": True},
        ),
        (
            "stat",
            f"/patients/{scene.enrolled}/dlt-adjudications",
            {"is_dlt": False, "rationale": "window again"},
        ),
    ]:
        r = api.post(who, path, body)
        assert r.status_code == 409, (path, r.text)
        assert r.json()["error"] == "conflict" and r.json()["message"]
    assert world.snapshot_counts() == before


def test_unknown_routes_and_methods(api: Api) -> None:
    r = api.get("stat", "/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = api.client.delete(f"{API}/trials/1", headers=api.headers("stat"))
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
