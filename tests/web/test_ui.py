"""The web interface through an HTTP client: login and sessions, CSRF, the dashboard's
recommendation and reasoning, forms, refusals, site isolation, exports, audit log."""

from __future__ import annotations

import html
import io
import re
import zipfile
from typing import Any

import pytest

from doseladder.conduct.models import AdverseEvent, Patient, ScreeningResult
from doseladder.conduct.services import trials
from doseladder.web.api.trials import shipped_source

from .conftest import PASSWORD, Api, Scene, TestClient, World, acknowledge_opening


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]*)"', page)
    assert m, "no CSRF field on the page"
    return m.group(1)


def ui_login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    assert page.status_code == 200
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )


@pytest.fixture
def browser(client: TestClient) -> TestClient:
    return client


def text(page: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def test_login_logout_and_the_session_cookie(browser: TestClient, world: World) -> None:
    assert browser.get("/", follow_redirects=False).headers["location"] == "/login"
    bad = ui_login(browser, "stat", "wrong password")
    assert bad.status_code == 401 and "unknown user or wrong password" in bad.text
    r = ui_login(browser, "stat")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "doseladder_session=dl_" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    home = browser.get("/")
    assert home.status_code == 200 and "stat" in home.text
    assert "Content-Security-Policy" in home.headers and home.headers["X-Frame-Options"] == "DENY"
    out = browser.post("/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    # the token is revoked server-side, not only forgotten by the browser
    token = re.search(r"doseladder_session=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
    browser.cookies.set("doseladder_session", token)
    assert browser.get("/", follow_redirects=False).headers["location"] == "/login"


def test_login_needs_its_csrf_cookie(browser: TestClient) -> None:
    browser.get("/login")
    r = browser.post(
        "/login",
        data={"username": "stat", "password": PASSWORD, "csrf": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403


def test_dashboard_shows_the_current_dose_and_why(
    browser: TestClient, api: Api, world: World, scene: Scene
) -> None:
    ui_login(browser, "stat")
    page = browser.get(f"/trials/{scene.trial_id}")
    assert page.status_code == 200
    rec = api.get("stat", f"/trials/{scene.trial_id}/recommendation").json()["indications"][0]
    body = text(page)
    assert rec["message"] in body and rec["rule"] in body  # the core's reasoning, verbatim
    assert "Current dose" in body and "DL1 (level 1)" in body
    assert "Latest recorded decision #1" in body
    for pid in (scene.enrolled, scene.waiting, scene.other_site):
        assert f'href="/patients/{pid}"' in page.text


def test_forms_need_the_csrf_token(browser: TestClient, world: World, scene: Scene) -> None:
    ui_login(browser, "inv_a")
    before = world.snapshot_counts()
    today = world.clock.today().isoformat()
    form = {"term": "rash", "grade": "2", "onset_date": today}
    r = browser.post(f"/patients/{scene.enrolled}/adverse-events", data=form)
    assert r.status_code == 403 and "CSRF" in r.text
    r = browser.post(f"/patients/{scene.enrolled}/adverse-events", data={**form, "csrf": "x" * 64})
    assert r.status_code == 403
    assert world.snapshot_counts() == before


def test_record_an_adverse_event_and_refusals(
    browser: TestClient, world: World, scene: Scene
) -> None:
    ui_login(browser, "inv_a")
    page = browser.get(f"/patients/{scene.enrolled}")
    csrf = csrf_of(page.text)
    today = world.clock.today().isoformat()
    before = world.snapshot_counts()
    bad = browser.post(
        f"/patients/{scene.enrolled}/adverse-events",
        data={"csrf": csrf, "term": "rash", "grade": "9", "onset_date": today},
    )
    assert bad.status_code == 422 and "grade" in text(bad) and "no grade 9" in text(bad)
    bad = browser.post(
        f"/patients/{scene.enrolled}/adverse-events",
        data={"csrf": csrf, "term": "rash", "grade": "two", "onset_date": today},
    )
    assert bad.status_code == 422 and "grade" in text(bad)
    assert world.snapshot_counts() == before
    r = browser.post(
        f"/patients/{scene.enrolled}/adverse-events",
        data={
            "csrf": csrf,
            "term": "Fever",
            "grade": "3",
            "onset_date": today,
            "dlt_candidate": "yes",
        },
    )
    assert r.status_code == 200 and "Adverse event #" in r.text and "Fever" in r.text
    assert "awaiting adjudication" in r.text
    assert world.count(AdverseEvent) == before["adverse_events"] + 1


def test_site_isolation_is_visible(browser: TestClient, world: World, scene: Scene) -> None:
    ui_login(browser, "inv_b")
    page = browser.get(f"/trials/{scene.trial_id}")
    body = text(page)
    assert "You work for site SB" in body
    assert f'href="/patients/{scene.other_site}"' in page.text
    assert f'href="/patients/{scene.enrolled}"' not in page.text
    r = browser.get(f"/patients/{scene.enrolled}")
    assert r.status_code == 403 and "another site" in r.text
    assert browser.get("/audit").status_code == 403
    assert "Exports hold every site" in browser.get(f"/trials/{scene.trial_id}/exports").text


def test_monitor_reads_but_cannot_write(browser: TestClient, world: World, scene: Scene) -> None:
    ui_login(browser, "monitor")
    page = browser.get(f"/patients/{scene.enrolled}")
    assert page.status_code == 200 and 'id="ae-form"' not in page.text
    before = world.snapshot_counts()
    r = browser.post(
        f"/patients/{scene.enrolled}/adverse-events",
        data={"csrf": csrf_of(page.text), "term": "rash", "grade": "1", "onset_date": "2025-03-03"},
    )
    assert r.status_code == 403 and "may not enter outcomes" in r.text
    assert world.snapshot_counts() == before


def test_register_with_screening_and_enrol(browser: TestClient, world: World) -> None:
    def make(s: Any) -> int:
        data, _, name = shipped_source("str-p004-nct07143617")
        t = trials.create_trial(
            s, world.stat, code="STR", title="STR", protocol=data, source_name=name
        )
        trials.activate_site(s, world.stat, t.id, world.site_a)
        acknowledge_opening(s, t.id, world.admin, world.stat)
        trials.open_trial(s, world.stat, t.id)
        return t.id

    tid = world.run(make)
    ui_login(browser, "stat")
    dash = browser.get(f"/trials/{tid}")
    r = browser.post(
        f"/trials/{tid}/decisions", data={"csrf": csrf_of(dash.text), "indication": "SLE-ITP"}
    )
    assert r.status_code == 200 and "Decision #1 recorded: enrol at DL1" in r.text
    browser.cookies.clear()
    ui_login(browser, "inv_a")
    form_page = browser.get(f"/trials/{tid}/patients/new")
    assert form_page.status_code == 200 and "000-INC-03.2" in form_page.text
    criteria = re.findall(r'name="crit:([^"]+)"', form_page.text)
    applicable = [c for c in criteria if c != "000-INC-IIM.1"]  # an IIM-only criterion
    data = {
        "csrf": csrf_of(form_page.text),
        "indication": "SLE-ITP",
        "sex": "F",
        "age": "33",
        "screened_on": world.clock.today().isoformat(),
    }
    # one unmet criterion: registered and screened NOT eligible
    r = browser.post(
        f"/trials/{tid}/patients",
        data={**data, **{f"crit:{c}": "met" for c in applicable if c != "000-EXC-13"}},
    )
    assert r.status_code == 200 and "NOT eligible" in r.text
    # every criterion of the indication met: eligible, then enrol at the decided dose
    r = browser.post(
        f"/trials/{tid}/patients", data={**data, **{f"crit:{c}": "met" for c in applicable}}
    )
    assert "registered and screened: eligible" in r.text
    with world.db.session() as s:
        screening = s.query(ScreeningResult).order_by(ScreeningResult.id.desc()).first()
        assert screening is not None and screening.eligible
        assert "000-INC-IIM.1" not in (screening.criteria or {})
        pid = s.query(Patient.id).order_by(Patient.id.desc()).limit(1).scalar()
    assert 'id="enrol-form"' in r.text
    enrol = re.search(r'id="enrol-form".*?</form>', r.text, re.S).group(0)  # type: ignore[union-attr]
    fields = dict(re.findall(r'name="(\w+)" (?:id="[^"]*" )?value="([^"]*)"', enrol))
    r = browser.post(f"/patients/{pid}/enrol", data=fields)
    assert r.status_code == 200 and "Enrolled at dose level 2" in r.text, text(r)[:2000]
    # bad registration input re-renders the form with the reason and status
    bad = browser.post(f"/trials/{tid}/patients", data={**data, "age": "200"})
    assert bad.status_code == 422 and "age: must be in 0..120" in text(bad)


def test_timeline_replay_audit_and_exports(browser: TestClient, world: World, scene: Scene) -> None:
    ui_login(browser, "stat")
    tl = browser.get(f"/trials/{scene.trial_id}/timeline")
    assert tl.status_code == 200 and 'id="decision-' in tl.text and "#1" in tl.text
    rp = browser.get(f"/decisions/{scene.decision_id}/replay")
    assert rp.status_code == 200 and "Reproduced exactly" in rp.text
    audit_page = browser.get("/audit")
    assert audit_page.status_code == 200 and "Chain intact" in audit_page.text
    assert "dlt_adjudications#" in audit_page.text
    filtered = browser.get(f"/audit?trial_id={scene.trial_id}&before=5")
    assert filtered.status_code == 200
    copy = browser.get("/audit/certified-copy.json")
    assert copy.status_code == 200 and copy.json()["certificate"]["sha256"]
    z = browser.get(f"/trials/{scene.trial_id}/exports/tables.zip")
    assert "patients.csv" in zipfile.ZipFile(io.BytesIO(z.content)).namelist()
    for domain in ("DM", "EX", "AE", "RS"):
        ds = browser.get(f"/trials/{scene.trial_id}/datasets/{domain}.json")
        assert ds.status_code == 200 and ds.json()["name"] == domain
    assert browser.get(f"/trials/{scene.trial_id}/datasets/XX.json").status_code == 422
    assert browser.get("/trials/99999").status_code == 404
    assert browser.get("/trials/0").status_code == 404


def test_screen_an_uploaded_record(browser: TestClient, world: World) -> None:
    from pathlib import Path

    import doseladder.examples

    def make(s: Any) -> int:
        data = shipped_source("hn2301-nct06801119")[0]
        t = trials.create_trial(s, world.stat, code="HN", title="HN", protocol=data)
        trials.activate_site(s, world.stat, t.id, world.site_a)
        acknowledge_opening(s, t.id, world.admin, world.stat)
        trials.open_trial(s, world.stat, t.id)
        return t.id

    tid = world.run(make)
    record = (
        Path(doseladder.examples.__file__).parent / "patients" / "hn2301-eligible-sle.json"
    ).read_bytes()
    ui_login(browser, "inv_a")
    page = browser.get(f"/trials/{tid}/patients/new")
    assert 'id="screen-record"' in page.text
    before = world.snapshot_counts()
    fields = {"csrf": csrf_of(page.text), "indication": "SLE", "screened_on": "2025-06-02"}
    r = browser.post(
        f"/trials/{tid}/patients/screen-record",
        data=fields,
        files={"record": ("patient.json", record, "application/json")},
    )
    assert r.status_code == 200, text(r)[:1000]
    assert "Verdict: ELIGIBLE" in text(r)
    assert len(re.findall(r'value="met" checked', r.text)) == 17  # every criterion pre-ticked
    bad = browser.post(
        f"/trials/{tid}/patients/screen-record",
        data=fields,
        files={"record": ("patient.json", b"not json", "application/json")},
    )
    assert bad.status_code == 422 and "record: not a JSON file" in text(bad)
    assert world.snapshot_counts() == before  # previews record nothing
