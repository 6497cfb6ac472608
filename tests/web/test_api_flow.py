"""A trial run end to end through the JSON API (happy paths of every endpoint)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from doseladder.conduct.models import Base

from ..conduct.conftest import crs_form
from .conftest import PASSWORD, TITE_BOIN, Api, World


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_administration(api: Api, world: World) -> None:
    me = ok(api.get("admin", "/auth/me"))
    assert me["role"] == "admin" and "manage_users" in me["permissions"]
    site = ok(api.post("admin", "/sites", {"code": "sc", "name": "Site C"}), 201)
    assert site["code"] == "SC" and site["active"]
    assert "SC" in [s["code"] for s in ok(api.get("stat", "/sites"))]
    assert [s["code"] for s in ok(api.get("inv_a", "/sites"))] == ["SA"]
    user = ok(
        api.post(
            "admin",
            "/users",
            {
                "username": "inv_c",
                "password": "a long password",
                "role": "investigator",
                "site_id": site["id"],
                "display_name": "Dr C",
            },
        ),
        201,
    )
    assert user["role"] == "investigator" and user["site_id"] == site["id"]
    assert "inv_c" in [u["username"] for u in ok(api.get("admin", "/users"))]
    # own password (with the old one), then someone else's as admin
    token = ok(api.post(None, "/auth/login", {"username": "inv_c", "password": "a long password"}))
    r = api.client.post(
        f"/api/v1/users/{user['id']}/password",
        json={"new_password": "a new long password", "old_password": "a long password"},
        headers={"Authorization": f"Bearer {token['token']}"},
    )
    ok(r)
    ok(api.post("admin", f"/users/{user['id']}/password", {"new_password": "reset by admin"}))
    ok(api.post(None, "/auth/login", {"username": "inv_c", "password": "reset by admin"}))
    assert (
        ok(api.post("admin", f"/users/{user['id']}/deactivate", {"reason": "left"}))["active"]
        is False
    )
    r = api.post(None, "/auth/login", {"username": "inv_c", "password": "reset by admin"})
    assert r.status_code == 401
    assert (
        ok(api.post("admin", f"/sites/{site['id']}/deactivate", {"reason": "closed"}))["active"]
        is False
    )


def test_login_logout(api: Api) -> None:
    wrong = api.post(None, "/auth/login", {"username": "stat", "password": "wrong password"})
    unknown = api.post(None, "/auth/login", {"username": "nobody", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"]
    assert wrong.headers["www-authenticate"] == "Bearer"
    token = ok(
        api.post(None, "/auth/login", {"username": "Stat ", "password": "correct horse battery"})
    )
    assert token["token"].startswith("dl_") and token["user"]["username"] == "stat"
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 200
    out = api.client.post("/api/v1/auth/logout", headers=headers)
    assert out.status_code == 200 and out.json()["revoked_token_id"] == token["token_id"]
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_trial_life_cycle_and_protocols(api: Api, world: World) -> None:
    shipped = ok(api.get("monitor", "/protocols"))
    names = {p["name"] for p in shipped}
    assert "str-p004-nct07143617" in names and len(shipped) == 5
    t = ok(
        api.post(
            "stat",
            "/trials",
            {"code": "STR-1", "title": "STR-P004", "shipped_protocol": "str-p004-nct07143617"},
        ),
        201,
    )
    assert t["status"] == "draft" and t["dlt_window_days"] == 28 and t["efficacy_window_days"] == 90
    pv = ok(api.get("stat", f"/trials/{t['id']}/protocol-versions"))
    assert pv[0]["version"] == 1 and pv[0]["source_name"] == "str-p004-nct07143617.yaml"
    ok(api.post("stat", f"/trials/{t['id']}/sites", {"site_id": world.site_a}), 201)
    assert [s["code"] for s in ok(api.get("stat", f"/trials/{t['id']}/sites"))] == ["SA"]
    refused = api.post("stat", f"/trials/{t['id']}/open", {})
    assert refused.status_code == 409 and "placeholder:dose DL1#" in refused.json()["message"]
    world.acknowledge_opening(t["id"])
    assert ok(api.post("stat", f"/trials/{t['id']}/open", {}))["status"] == "open"
    amended = ok(
        api.post(
            "stat",
            f"/trials/{t['id']}/protocol-versions",
            {"shipped_protocol": "str-p004-nct07143617", "reason": "re-issued"},
        ),
        201,
    )
    assert amended["version"] == 2 and amended["amendment"] is True
    assert ok(api.post("admin", f"/trials/{t['id']}/suspend", {"reason": "DSMB"}))["status"] == (
        "suspended"
    )
    resumed = ok(api.post("admin", f"/trials/{t['id']}/resume", {"reason": "all clear"}))
    assert resumed["status"] == "open"
    closed = ok(api.post("stat", f"/trials/{t['id']}/close", {"reason": "completed"}))
    assert closed["status"] == "closed" and closed["closed_at"]
    assert t["id"] in [x["id"] for x in ok(api.get("monitor", "/trials"))]
    assert ok(api.get("inv_a", f"/trials/{t['id']}"))["code"] == "STR-1"


def test_a_trial_conducted_through_the_api(api: Api, world: World) -> None:
    today = lambda: world.clock.today().isoformat()  # noqa: E731
    t = ok(
        api.post(
            "stat",
            "/trials",
            {
                "code": "TB-1",
                "title": "TITE-BOIN",
                "protocol": TITE_BOIN,
                "require_signoff_for_escalation": True,
                "epoch": today(),
            },
        ),
        201,
    )
    tid = t["id"]
    for site in (world.site_a, world.site_b):
        ok(api.post("admin", f"/trials/{tid}/sites", {"site_id": site}), 201)
    ok(api.post("admin", f"/trials/{tid}/open", {"reason": "SIV done"}))

    rec = ok(api.get("inv_a", f"/trials/{tid}/recommendation"))
    assert rec["indications"][0]["status"] == "enrol" and rec["indications"][0]["next_dose"] == 1
    d1 = ok(api.post("inv_a", f"/trials/{tid}/decisions", {}), 201)
    assert (d1["status"], d1["next_dose"], d1["slots"], d1["slots_open"]) == ("enrol", 1, 3, 3)

    def register(who: str, **screen: Any) -> int:
        body = {
            "sex": "F",
            "age": 40,
            "screening": {"screened_on": today(), "eligible": True, **screen},
        }
        out = ok(api.post(who, f"/trials/{tid}/patients", body), 201)
        assert out["screening"]["eligible"] is True
        return int(out["patient"]["id"])

    pids = [register("inv_a"), register("inv_a"), register("inv_b")]
    for who, pid in zip(("inv_a", "inv_a", "inv_b"), pids, strict=True):
        e = ok(
            api.post(who, f"/patients/{pid}/enrol", {"dose_level": 1, "decision_id": d1["id"]}), 201
        )
        assert e["dose_level"] == 1 and e["infusion_date"] is None
        inf = ok(
            api.post("datamgr", f"/enrolments/{e['id']}/infusion", {"infusion_date": today()}), 201
        )
        assert inf["version"] == 2 and inf["infusion_date"] == today()
    assert ok(api.get("stat", f"/decisions/{d1['id']}"))["slots_open"] == 0
    # a fourth patient: the cohort is full
    extra = register("inv_a", criteria={}, notes="all criteria met")
    r = api.post("inv_a", f"/patients/{extra}/enrol", {"dose_level": 1})
    assert r.status_code == 409 and "full" in r.json()["message"]

    # outcomes: an AE, corrected; efficacy, corrected and voided; window adjudications
    ae = ok(
        api.post(
            "inv_a",
            f"/patients/{pids[0]}/adverse-events",
            {"term": "fever", "grade": 1, "onset_date": today(), "relatedness": "related"},
        ),
        201,
    )
    ae2 = ok(
        api.post(
            "datamgr",
            f"/adverse-events/{ae['id']}/correct",
            {"changes": {"grade": 2, "resolved_date": today()}, "reason": "regraded"},
        ),
        201,
    )
    assert ae2["grade"] == 2 and ae2["root_id"] == ae["id"] and ae2["version"] == 2
    assert [x["grade"] for x in ok(api.get("monitor", f"/patients/{pids[0]}/adverse-events"))] == [
        2
    ]
    assert len(ok(api.get("monitor", f"/patients/{pids[0]}/adverse-events?history=true"))) == 2
    eff = ok(
        api.post(
            "inv_a",
            f"/patients/{pids[0]}/efficacy",
            {
                "assessed_on": today(),
                "instrument": "SRI-4",
                "responder": True,
                "measures": {"SLEDAI": 4},
            },
        ),
        201,
    )
    eff2 = ok(
        api.post(
            "inv_a",
            f"/efficacy/{eff['id']}/correct",
            {"changes": {"measures": {"SLEDAI": 2}}, "reason": "recalculated"},
        ),
        201,
    )
    ok(api.post("inv_a", f"/efficacy/{eff2['id']}/void", {"reason": "wrong visit"}), 201)
    assert ok(api.get("stat", f"/patients/{pids[0]}/efficacy")) == []
    ae_void = ok(
        api.post(
            "inv_a",
            f"/patients/{pids[1]}/adverse-events",
            {"term": "Nausea", "grade": 1, "onset_date": today()},
        ),
        201,
    )
    assert ok(
        api.post("inv_a", f"/adverse-events/{ae_void['id']}/void", {"reason": "duplicate"}), 201
    )["voided"]

    # the DLT window passes without DLT: the design escalates, which needs sign-off
    world.clock.advance(days=29)
    api.relogin()
    adj = ok(
        api.post(
            "stat",
            f"/patients/{pids[0]}/dlt-adjudications",
            {"is_dlt": False, "rationale": "window completed"},
        ),
        201,
    )
    adj2 = ok(
        api.post(
            "stat",
            f"/dlt-adjudications/{adj['id']}/correct",
            {"changes": {"rationale": "window completed, SRC"}, "reason": "wording"},
        ),
        201,
    )
    ok(api.post("stat", f"/dlt-adjudications/{adj2['id']}/void", {"reason": "not needed"}), 201)
    assert len(ok(api.get("stat", f"/patients/{pids[0]}/dlt-adjudications?history=true"))) == 3
    rec = ok(api.get("stat", f"/trials/{tid}/recommendation"))["indications"][0]
    assert (rec["status"], rec["next_dose"], rec["requires_signoff"]) == ("enrol", 2, True)
    assert rec["message"] and rec["rule"]
    d2 = ok(api.post("stat", f"/trials/{tid}/decisions", {}), 201)
    assert d2["requires_signoff"] and d2["signoff"] is None and d2["latest"]
    p4 = register("inv_a")
    r = api.post("inv_a", f"/patients/{p4}/enrol", {"dose_level": 2})
    assert r.status_code == 409 and "sign-off" in r.json()["message"]
    so = ok(
        api.post(
            "admin",
            f"/decisions/{d2['id']}/signoff",
            {"approve": True, "comment": "SRC ok", "password": PASSWORD, "printed_name": "A D Min"},
        ),
        201,
    )
    assert so["approved"] is True
    r = api.post("inv_a", f"/patients/{p4}/enrol", {"dose_level": 3})
    assert r.status_code == 422 and r.json()["field"] == "dose_level"
    assert "dose level 2" in r.json()["reason"]
    e4 = ok(
        api.post("inv_a", f"/patients/{p4}/enrol", {"dose_level": 2, "infusion_date": today()}), 201
    )
    # a DLT at dose 2: decision 2 becomes stale for the next patient
    world.clock.advance(days=3)
    api.relogin()
    dlt_ae = ok(
        api.post(
            "inv_a",
            f"/patients/{p4}/adverse-events",
            {
                "term": "CRS",
                "crs": crs_form(3),
                "grade": 3,
                "onset_date": today(),
                "serious": True,
                "dlt_candidate": True,
            },
        ),
        201,
    )
    ok(
        api.post(
            "stat",
            f"/patients/{p4}/dlt-adjudications",
            {"is_dlt": True, "adverse_event_id": dlt_ae["id"], "rationale": "grade 3 CRS"},
        ),
        201,
    )
    p5 = register("inv_b")
    r = api.post("inv_b", f"/patients/{p5}/enrol", {"dose_level": 2})
    assert r.status_code == 409 and "stale" in r.json()["message"]
    # the statistician overrides to dose 1 with a reason; the patient enrols there
    ov = ok(
        api.post(
            "stat",
            f"/trials/{tid}/decisions/override",
            {"dose_level": 1, "reason": "SRC: back to dose 1 after the CRS", "slots": 1},
        ),
        201,
    )
    assert ov["source"] == "override" and ov["next_dose"] == 1 and ov["slots"] == 1
    assert ov["requires_signoff"]  # every override is signed by a second person
    for member in ("com1", "com2")[: ov["signatures_required"]]:
        ok(
            api.post(
                member,
                f"/decisions/{ov['id']}/signoff",
                {
                    "approve": True,
                    "comment": "SRC ok",
                    "password": PASSWORD,
                    "printed_name": member,
                },
            ),
            201,
        )
    e5 = ok(
        api.post("inv_b", f"/patients/{p5}/enrol", {"dose_level": 1, "infusion_date": today()}), 201
    )
    assert e5["decision_id"] == ov["id"]
    fixed = ok(
        api.post(
            "datamgr",
            f"/enrolments/{e4['id']}/correct",
            {"changes": {"infusion_date": today()}, "reason": "date from the chart"},
        ),
        201,
    )
    assert fixed["version"] == 2

    # history, replay, record
    history = ok(api.get("monitor", f"/trials/{tid}/decisions"))
    assert [d["seq"] for d in history] == [1, 2, 3]
    assert [d["latest"] for d in history] == [False, False, True]
    replay = ok(api.get("monitor", f"/decisions/{d1['id']}/replay"))
    assert replay["ok"] and replay["matches"] and replay["data_matches"]
    record = ok(api.get("inv_a", f"/patients/{p4}"))
    assert record["enrolment"][0]["dose_level"] == 2 and record["dlt_adjudications"][0]["is_dlt"]
    assert len(ok(api.get("inv_a", f"/patients/{p4}?history=true"))["enrolment"]) == 2
    screening = ok(
        api.post(
            "inv_a",
            f"/patients/{extra}/screening",
            {"screened_on": today(), "eligible": False, "notes": "rescreened"},
        ),
        201,
    )
    corrected = ok(
        api.post(
            "inv_a",
            f"/screening/{screening['id']}/correct",
            {"changes": {"notes": "rescreen: platelets too low"}, "reason": "detail"},
        ),
        201,
    )
    assert corrected["version"] == 2
    voided = ok(
        api.post("inv_b", f"/enrolments/{e5['id']}/void", {"reason": "consent withdrawn"}), 201
    )
    assert voided["voided"] is True

    # audit trail and exports
    verify = ok(api.get("monitor", "/audit/verify"))
    assert verify["ok"] and verify["events"] > 50
    copy = ok(api.get("monitor", "/audit/certified-copy"))
    assert copy["head"]["seq"] == verify["head_seq"] and copy["certificate"]["sha256"]
    events = ok(api.get("stat", f"/audit/events?trial_id={tid}&limit=5"))
    assert len(events) == 5 and events[0]["seq"] > events[-1]["seq"]
    older = ok(
        api.get("stat", f"/audit/events?trial_id={tid}&before_seq={events[-1]['seq']}&limit=2")
    )
    assert [e["seq"] for e in older] == [events[-1]["seq"] - 1, events[-1]["seq"] - 2] or all(
        e["seq"] < events[-1]["seq"] for e in older
    )
    z = api.get("datamgr", f"/trials/{tid}/exports/tables.zip")
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(z.content)).namelist())
    assert names == {f"{t.name}.csv" for t in Base.metadata.sorted_tables} - {
        "api_tokens.csv",
        "audit_chain_heads.csv",
        "audit_keys.csv",
        "audit_signatures.csv",
        "idempotency_keys.csv",
        "session_activity.csv",
    }
    users_csv = zipfile.ZipFile(io.BytesIO(z.content)).read("users.csv").decode()
    assert "[redacted]" in users_csv and "scrypt$" not in users_csv and "$argon2" not in users_csv
    for domain in ("DM", "EX", "AE"):
        ds = ok(api.get("monitor", f"/trials/{tid}/datasets/{domain}"))
        assert ds["datasetJSONVersion"] == "1.1.0" and ds["name"] == domain
        assert ds["records"] == len(ds["rows"]) > 0
    dm = ok(api.get("stat", f"/trials/{tid}/datasets/DM"))
    assert json.dumps(dm).count("TB-1-") >= 5


def test_screening_report_from_a_patient_record(api: Api, world: World) -> None:
    from pathlib import Path

    import doseladder.examples

    examples = Path(doseladder.examples.__file__).parent / "patients"
    t = ok(
        api.post(
            "stat",
            "/trials",
            {"code": "HN-1", "title": "HN2301", "shipped_protocol": "hn2301-nct06801119"},
        ),
        201,
    )
    before = world.snapshot_counts()
    for name, verdict in (
        ("hn2301-eligible-sle.json", "eligible"),
        ("hn2301-fhir-bundle.json", None),
    ):
        record = json.loads((examples / name).read_text())
        report = ok(
            api.post(
                "datamgr",
                f"/trials/{t['id']}/screening-report",
                {"record": record, "screening_date": "2025-06-02"},
            )
        )
        assert report["protocol"] == "hn2301-nct06801119" and report["criteria"]
        if verdict:
            assert report["verdict"] == verdict
    r = api.post("datamgr", f"/trials/{t['id']}/screening-report", {"record": {"sex": 5}})
    assert r.status_code == 422 and r.json()["field"].startswith("record")
    assert world.snapshot_counts() == before  # a preview records nothing
