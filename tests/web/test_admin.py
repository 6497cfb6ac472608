"""Administration, sandbox trials and the small fixes, through the API and the web pages."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from doseladder.conduct.models import AuditEvent, Trial, User
from doseladder.conduct.services import protocol_sources, trials
from doseladder.protocols import load_shipped

from .conftest import BOIN, Api, Scene, TestClient, World
from .test_ui import csrf_of, text, ui_login


def _get(world: World, model: Any, ident: int) -> Any:
    with world.db.session() as s:
        row = s.get(model, ident)
        s.expunge(row)
        return row


# ------------------------------------------------------------------------ API
def test_api_sandbox_trial_clock_and_exports(api: Api, world: World) -> None:
    t = api.post(
        "admin", "/trials", {"code": "BOX", "title": "Rehearsal", "protocol": BOIN, "sandbox": True}
    )
    assert t.status_code == 201 and t.json()["sandbox"] is True, t.text
    tid = t.json()["id"]
    real = api.post("admin", "/trials", {"code": "REAL", "title": "Real", "protocol": BOIN})
    assert real.json()["sandbox"] is False
    refused = api.post("admin", f"/trials/{real.json()['id']}/clock", {"days": 5, "reason": "try"})
    assert refused.status_code == 409 and refused.json()["field"] == "days"
    assert _get(world, Trial, real.json()["id"]).clock_offset_days is None
    bad = api.post("admin", f"/trials/{tid}/clock", {"days": 0, "reason": "nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "body.days"
    ok = api.post("admin", f"/trials/{tid}/clock", {"days": 14.5, "reason": "skip ahead"})
    assert ok.status_code == 200 and ok.json()["offset_days"] == 14.5
    assert api.post("stat", f"/trials/{tid}/clock", {"days": 1, "reason": "x1y"}).status_code == 403
    # exports leave it out unless asked
    ds = api.get("monitor", f"/trials/{tid}/datasets/DM")
    assert ds.status_code == 409 and ds.json()["field"] == "include_sandbox"
    assert api.get("monitor", f"/trials/{tid}/datasets/DM?include_sandbox=true").status_code == 200

    # the per-trial CSV export refuses a sandbox trial unless asked; a real trial's is given
    r = api.get("monitor", f"/trials/{tid}/exports/tables.zip")
    assert r.status_code == 409 and r.json()["field"] == "include_sandbox"
    r = api.get("monitor", f"/trials/{tid}/exports/tables.zip?include_sandbox=true")
    assert r.status_code == 200
    assert "BOX" in zipfile.ZipFile(io.BytesIO(r.content)).read("trials.csv").decode()
    rid = real.json()["id"]
    r = api.get("monitor", f"/trials/{rid}/exports/tables.zip")
    assert r.status_code == 200
    trials_csv = zipfile.ZipFile(io.BytesIO(r.content)).read("trials.csv").decode()
    assert "REAL" in trials_csv and "BOX" not in trials_csv


def test_api_roles_and_access_review(api: Api, world: World) -> None:
    users = {u["username"]: u for u in api.get("admin", "/users").json()}
    mon = users["monitor"]["id"]
    r = api.post("admin", f"/users/{mon}/role", {"role": "investigator", "reason": "now at a site"})
    assert r.status_code == 422 and r.json()["field"] == "site_id"
    r = api.post(
        "admin",
        f"/users/{mon}/role",
        {"role": "investigator", "site_id": world.site_a, "reason": "now at site A"},
    )
    assert r.status_code == 200 and r.json()["role"] == "investigator"
    review = {x["username"]: x for x in api.get("admin", "/users/access-review").json()}
    assert review["monitor"]["site_code"] is not None and review["admin"]["last_login"]
    assert review["monitor"]["last_reviewed_at"] is None
    assert api.post("admin", f"/users/{mon}/reviewed", {}).status_code == 200
    review = {x["username"]: x for x in api.get("admin", "/users/access-review").json()}
    assert review["monitor"]["last_reviewed_by"] == "admin"


def test_api_refuses_an_eligible_screening_without_criteria(api: Api, world: World) -> None:
    t = api.post(
        "admin",
        "/trials",
        {"code": "HN", "title": "HN2301", "shipped_protocol": "hn2301-nct06801119"},
    ).json()
    joined = api.post("admin", f"/trials/{t['id']}/sites", {"site_id": world.site_a})
    assert joined.status_code == 201
    world.acknowledge_opening(t["id"])
    opened = api.post("admin", f"/trials/{t['id']}/open", {"reason": "SIV done"})
    assert opened.status_code == 200, opened.text
    before = world.snapshot_counts()
    today = world.clock.today().isoformat()
    protocol = load_shipped("hn2301-nct06801119")
    ind = protocol.indications[0].id
    body: dict[str, Any] = {
        "indication": ind,
        "screening": {"screened_on": today, "eligible": True},
    }
    r = api.post("inv_a", f"/trials/{t['id']}/patients", body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "criteria" and "missing" in r.json()["message"]
    assert world.snapshot_counts() == before  # the registration was rolled back too
    # every applicable criterion satisfied: accepted
    crit = {c.id: True for c in protocol.criteria if not c.indications or ind in c.indications}
    body["screening"]["criteria"] = crit
    r = api.post("inv_a", f"/trials/{t['id']}/patients", body)
    assert r.status_code == 201, r.text
    # not eligible needs no per-criterion results
    r = api.post(
        "inv_a",
        f"/trials/{t['id']}/patients",
        {"indication": ind, "screening": {"screened_on": today, "eligible": False}},
    )
    assert r.status_code == 201, r.text


# ----------------------------------------------------------------------- pages
def _admin(client: TestClient) -> str:
    assert ui_login(client, "admin").status_code == 303
    page = client.get("/admin/users")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def test_admin_pages_sites_users_and_access_review(client: TestClient, world: World) -> None:
    csrf = _admin(client)
    r = client.post(
        "/admin/sites",
        data={"csrf": csrf, "code": "pumch", "name": "PUMCH"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/admin/sites")
    assert "PUMCH" in text(page)
    dup = client.post("/admin/sites", data={"csrf": csrf, "code": "PUMCH", "name": "again"})
    assert dup.status_code == 409 and "already exists" in text(dup)

    r = client.post(
        "/admin/users",
        data={"csrf": csrf, "username": "nurse1", "password": "short", "role": "data_manager"},
    )
    assert r.status_code == 422 and "password" in text(r)
    r = client.post(
        "/admin/users",
        data={
            "csrf": csrf,
            "username": "nurse1",
            "password": "a long enough password",
            "role": "data_manager",
            "site_id": str(world.site_a),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with world.db.session() as s:
        nurse = s.query(User).filter_by(username="nurse1").one()
        nid = nurse.id
    for path, data in [
        (f"/admin/users/{nid}/role", {"role": "monitor", "site_id": "", "reason": "monitoring"}),
        (f"/admin/users/{nid}/password", {"new_password": "another long password"}),
        (f"/admin/users/{nid}/reviewed", {"note": "quarterly review"}),
        (f"/admin/users/{nid}/deactivate", {"reason": "left the hospital"}),
    ]:
        r = client.post(path, data={"csrf": csrf, **data}, follow_redirects=False)
        assert r.status_code == 303, (path, r.text)
    nurse = _get(world, User, nid)
    assert (nurse.role, nurse.site_id, nurse.active) == ("monitor", None, False)
    review = text(client.get("/admin/access-review"))
    assert "nurse1" in review and "by admin" in review
    with world.db.session() as s:
        assert s.query(AuditEvent).filter_by(action="access_reviewed").count() == 1
    # no CSRF token: refused, nothing changes
    r = client.post(f"/admin/users/{nid}/reviewed", data={"note": "x"})
    assert r.status_code == 403


def test_admin_pages_refuse_other_roles(client: TestClient, world: World) -> None:
    assert ui_login(client, "stat").status_code == 303
    for path in ("/admin/users", "/admin/sites", "/admin/access-review"):
        assert client.get(path).status_code == 403
    assert client.get("/admin/trials").status_code == 200  # statisticians manage trials
    client.cookies.clear()
    assert ui_login(client, "monitor").status_code == 303
    assert client.get("/admin/trials").status_code == 403


def test_admin_trial_life_cycle_and_sandbox_clock(client: TestClient, world: World) -> None:
    csrf = _admin(client)
    # an uploaded protocol with a bad key: the loader's dotted path is shown, nothing created
    _, good, _ = protocol_sources.shipped_source("hn2301-nct06801119")
    bad = good.replace("schema_version: 1", "schema_version: 1\nbogus_key: 3", 1)
    r = client.post(
        "/admin/trials",
        data={"csrf": csrf, "code": "UP1", "title": "Uploaded"},
        files={"protocol_file": ("hn.yaml", bad.encode(), "application/yaml")},
    )
    assert r.status_code == 422 and "bogus_key" in text(r)
    r = client.post(
        "/admin/trials",
        data={"csrf": csrf, "code": "UP1", "title": "Uploaded"},
        files={"protocol_file": ("hn.yaml", b"design: [\n", "application/yaml")},
    )
    assert r.status_code == 422 and "protocol_file: not valid YAML at line" in text(r)
    r = client.post(
        "/admin/trials",
        data={"csrf": csrf, "code": "BOX1", "title": "Rehearsal", "sandbox": "yes"},
        files={"protocol_file": ("hn.yaml", good.encode(), "application/yaml")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    tid = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/admin/trials/{tid}")
    assert "SANDBOX trial BOX1" in text(page) and 'id="clock-form"' in page.text
    steps = [
        ("sites", {"site_id": str(world.site_a)}),
        ("amend", {"shipped_protocol": "hn2301-nct06801119", "reason": "typo fixed"}),
        ("open", {"reason": "rehearsal starts"}),
        ("clock", {"days": "29", "reason": "end of the DLT window"}),
    ]
    for action, data in steps:
        if action == "open":  # the sandbox opens through the opening guard too
            world.acknowledge_opening(tid)
        r = client.post(
            f"/admin/trials/{tid}/{action}", data={"csrf": csrf, **data}, follow_redirects=False
        )
        assert r.status_code == 303, (action, text(r)[:500])
    trial = _get(world, Trial, tid)
    assert trial.status == "open" and trial.clock_offset_days == 29.0
    dash = client.get(f"/trials/{tid}")
    assert "SANDBOX trial BOX1" in text(dash) and "29 day(s) ahead" in text(dash)
    exports_page = text(client.get(f"/trials/{tid}/exports"))
    assert "include_sandbox=true" in exports_page
    r = client.post(
        f"/admin/trials/{tid}/close", data={"csrf": csrf, "reason": "done"}, follow_redirects=False
    )
    assert r.status_code == 303 and _get(world, Trial, tid).status == "closed"


def test_a_real_trial_page_has_no_clock_and_refuses_an_advance(
    client: TestClient, world: World, scene: Scene
) -> None:
    csrf = _admin(client)
    page = client.get(f"/admin/trials/{scene.trial_id}")
    assert page.status_code == 200 and 'id="clock-form"' not in page.text
    assert "SANDBOX" not in text(page)
    r = client.post(
        f"/admin/trials/{scene.trial_id}/clock",
        data={"csrf": csrf, "days": "3", "reason": "try it"},
    )
    assert r.status_code == 409 and "real clock" in text(r)
    assert _get(world, Trial, scene.trial_id).clock_offset_days is None


def test_dashboard_outcome_statuses_and_criteria_text(
    client: TestClient, world: World, scene: Scene
) -> None:
    assert ui_login(client, "stat").status_code == 303
    dash = client.get(f"/trials/{scene.trial_id}").text
    assert 'data-kind="not_assessed"' in dash  # the patients waiting to be enrolled
    assert 'data-kind="pending"' in dash  # the enrolled patient's possible DLT
    # a trial of the STR-P004 protocol: its criteria are shown without the escapes
    t = world.run(
        lambda s: trials.create_trial(
            s,
            world.stat,
            code="STR",
            title="STR",
            protocol=protocol_sources.shipped_source("str-p004-nct07143617")[0],
        )
    )
    client.cookies.clear()
    assert ui_login(client, "admin").status_code == 303
    csrf = csrf_of(client.get(f"/admin/trials/{t.id}").text)
    for action, data in [("sites", {"site_id": str(world.site_a)}), ("open", {})]:
        client.post(f"/admin/trials/{t.id}/{action}", data={"csrf": csrf, **data})
    client.cookies.clear()
    assert ui_login(client, "inv_a").status_code == 303
    form = client.get(f"/trials/{t.id}/patients/new")
    assert form.status_code == 200
    assert "\\<" not in form.text and "\\>" not in form.text and "\\^" not in form.text
    assert "platelet count &lt; 50×10^9/L" in form.text


def test_screening_a_record_fills_sex_and_age(client: TestClient, world: World) -> None:
    from pathlib import Path

    import doseladder.examples

    def make(s: Any) -> int:
        data = protocol_sources.shipped_source("hn2301-nct06801119")[0]
        t = trials.create_trial(s, world.stat, code="HN", title="HN", protocol=data)
        trials.activate_site(s, world.stat, t.id, world.site_a)
        return t.id

    tid = world.run(make)
    # the record: born 1988-03-14, female; screened 2025-06-02 -> 37 completed years
    record = (
        Path(doseladder.examples.__file__).parent / "patients" / "hn2301-eligible-sle.json"
    ).read_bytes()
    assert ui_login(client, "inv_a").status_code == 303
    page = client.get(f"/trials/{tid}/patients/new")
    fields = {"csrf": csrf_of(page.text), "indication": "SLE", "screened_on": "2025-06-02"}
    files = {"record": ("patient.json", record, "application/json")}
    r = client.post(f"/trials/{tid}/patients/screen-record", data=fields, files=files)
    assert r.status_code == 200, text(r)[:500]
    assert 'id="age" type="number" min="0" max="120" value="37"' in r.text
    assert "<option selected>F</option>" in r.text
    # what the investigator typed is kept
    typed = {**fields, "age": "36", "sex": "U"}
    r = client.post(f"/trials/{tid}/patients/screen-record", data=typed, files=files)
    assert 'value="36"' in r.text and "<option selected>U</option>" in r.text
