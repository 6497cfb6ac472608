"""Every endpoint refuses the roles that must be refused (403, nothing changed) and every
endpoint refuses requests without a valid token (401); views answer every role."""

from __future__ import annotations

from typing import Any

from doseladder.conduct.models import User
from doseladder.conduct.services import outcomes, trials

from .conftest import BOIN, ROLE_USERS, Api, Scene, World
from .endpoints import ALL, operations


def _values(world: World, scene: Scene) -> dict[str, Any]:
    draft = world.trial(BOIN, open_=False)
    with world.db.session() as s:
        ids = dict(s.query(User.username, User.id).all())
        proposal = outcomes.latest_proposal(s, world.stat, scene.enrolled)
    assert proposal is not None
    return {
        "proposal_id": proposal.id,
        **vars(scene),
        "today": world.clock.today().isoformat(),
        "site_a": world.site_a,
        "site_b": world.site_b,
        "monitor_id": ids["monitor"],
        "dm_a_id": ids["dm_a"],
        "draft_id": draft,
        "protocol": BOIN,
        "record": {"patient_id": "X-1"},
    }


def test_every_endpoint_is_in_the_catalogue(api: Api, world: World, scene: Scene) -> None:
    spec = api.client.get("/openapi.json").json()
    documented = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, item in spec["paths"].items()
        for method in item
    }
    ops = operations(_values(world, scene))
    # normalise ids in the catalogue's paths to the spec's templates
    import re

    def template(path: str) -> str:
        return re.sub(r"/\d+", "/{}", path)

    catalogue = {(op.method, template(op.path)) for op in ops}
    spec_templates = {(m, re.sub(r"\{[^}]+\}", "{}", p)) for m, p in documented}
    spec_templates = {(m, p.replace("/DM", "/{}")) for m, p in spec_templates}
    catalogue = {(m, p.replace("/DM", "/{}")) for m, p in catalogue}
    missing = spec_templates - catalogue - {("POST", "/auth/login")}
    assert not missing, f"operations without a role test: {sorted(missing)}"


def test_refused_roles_get_403_and_change_nothing(api: Api, world: World, scene: Scene) -> None:
    ops = operations(_values(world, scene))
    before = world.snapshot_counts()
    problems = []
    for op in ops:
        for role in sorted(ALL - op.allowed):
            r = api.call(ROLE_USERS[role], op.method, op.path, op.body)
            if r.status_code != 403 or r.json().get("error") != "forbidden":
                problems.append(f"{op} as {role}: {r.status_code} {r.text[:200]}")
    assert not problems, "\n".join(problems)
    assert world.snapshot_counts() == before


def test_without_a_valid_token_every_endpoint_is_401(api: Api, world: World, scene: Scene) -> None:
    ops = operations(_values(world, scene))
    before = world.snapshot_counts()
    problems = []
    for op in ops:
        for headers in ({}, {"Authorization": "Bearer dl_not-a-token"}, {"Authorization": "x"}):
            r = api.client.request(op.method, "/api/v1" + op.path, json=op.body, headers=headers)
            body = r.json()
            if r.status_code != 401 or body.get("error") != "unauthenticated":
                problems.append(f"{op} with {headers}: {r.status_code} {r.text[:200]}")
    assert not problems, "\n".join(problems)
    assert world.snapshot_counts() == before


def test_views_answer_every_allowed_role(api: Api, world: World, scene: Scene) -> None:
    ops = [op for op in operations(_values(world, scene)) if op.method == "GET"]
    problems = []
    for op in ops:
        for role in sorted(op.allowed):
            r = api.get(ROLE_USERS[role], op.path)
            if r.status_code != 200:
                problems.append(f"{op} as {role}: {r.status_code} {r.text[:200]}")
    assert not problems, "\n".join(problems)


def test_site_isolation(api: Api, world: World, scene: Scene) -> None:
    """An investigator (and a site-bound data manager) sees and changes only their site's
    patients; another site's patient is refused with 403 and nothing changes."""
    today = world.clock.today().isoformat()
    listed = api.get("inv_b", f"/trials/{scene.trial_id}/patients").json()
    assert [p["id"] for p in listed] == [scene.other_site]
    assert {p["id"] for p in api.get("stat", f"/trials/{scene.trial_id}/patients").json()} == {
        scene.enrolled,
        scene.waiting,
        scene.other_site,
    }
    before = world.snapshot_counts()
    for who, method, path, body in [
        ("inv_b", "GET", f"/patients/{scene.enrolled}", None),
        ("inv_b", "GET", f"/patients/{scene.enrolled}/adverse-events", None),
        ("inv_b", "POST", f"/patients/{scene.waiting}/enrol", {"dose_level": 1}),
        (
            "inv_b",
            "POST",
            f"/patients/{scene.enrolled}/adverse-events",
            {"term": "rash", "grade": 1, "onset_date": today},
        ),
        (
            "dm_a",
            "POST",
            f"/patients/{scene.other_site}/screening",
            {"screened_on": today, "eligible": True},
        ),
        ("inv_a", "POST", f"/trials/{scene.trial_id}/patients", {"site_id": world.site_b}),
    ]:
        r = api.call(who, method, path, body)
        assert r.status_code == 403, (who, path, r.text)
        assert r.json()["error"] == "forbidden"
    # site-bound users get per-dose tallies, not patient-level inputs
    rec = api.get("inv_b", f"/trials/{scene.trial_id}/recommendation").json()
    assert "patients" not in rec["inputs"]["state"] and "tallies" in rec["inputs"]["state"]
    # and exports and the audit trail are refused to them
    assert api.get("dm_a", f"/trials/{scene.trial_id}/exports/tables.zip").status_code == 403
    assert world.snapshot_counts() == before


def test_trial_of_another_site_is_not_found(api: Api, world: World) -> None:
    def make(s: Any) -> int:
        t = trials.create_trial(s, world.stat, code="ONLYA", title="Site A only", protocol=BOIN)
        trials.activate_site(s, world.stat, t.id, world.site_a)
        return t.id

    only_a = world.run(make)
    assert api.get("inv_b", f"/trials/{only_a}").status_code == 404
    assert api.get("inv_b", f"/trials/{only_a}/recommendation").status_code == 404
    assert only_a not in [t["id"] for t in api.get("inv_b", "/trials").json()]
    assert api.get("inv_a", f"/trials/{only_a}").status_code == 200
