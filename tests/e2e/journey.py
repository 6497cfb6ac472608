"""The steps every end-to-end journey shares, through the JSON API only.

:func:`open_trial` is the one place that creates a trial with its sites and users and opens it
(so that a change of the opening rules -- e.g. acknowledgements of placeholder doses and review
items -- is adapted here once).  The other helpers are thin API calls that assert the status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from doseladder.conduct.services.patients import applicable_criteria
from doseladder.conduct.services.protocol_engine import Engine, parse_protocol
from doseladder.core.rules.plan import recommend as plan_recommend
from doseladder.core.state import Patient as CorePatient
from doseladder.core.state import TrialState
from doseladder.protocols import shipped_path

from ..conduct.conftest import crs_form
from ..web.conftest import PASSWORD, Api, login

#: the sites of a journey and their investigators (SA and SB come with the ``world`` fixture)
SITES = {"SA": "inv_a", "SB": "inv_b", "SC": "inv_c"}


def ok(r: Any, status: int = 200) -> Any:
    """The JSON body of a response that must have ``status``."""
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()


@dataclass
class Opened:
    """An open trial: its id, protocol, and the site id and investigator of each site code."""

    trial_id: int
    engine: Engine
    site_ids: dict[str, int]
    investigators: dict[str, str] = field(default_factory=lambda: dict(SITES))

    def engine_label(self, dose: int) -> str:
        """How the web pages name a dose: ``DL-1 (level 1)``."""
        return f"{self.engine.label(dose)} (level {dose})"

    def criteria(self, indication: str | None) -> dict[str, bool]:
        """Every criterion that applies to ``indication``, satisfied (an eligible screening)."""
        return dict.fromkeys(sorted(applicable_criteria(self.engine, indication)), True)


def open_trial(api: Api, *, shipped: str, code: str, sandbox: bool = True) -> Opened:
    """Create a trial from a shipped protocol at three sites (SA, SB and a new SC with its
    investigator ``inv_c``), and open it.  A sandbox trial by default: its clock is advanced
    with :func:`advance` instead of waiting."""
    sites = {s["code"]: s["id"] for s in ok(api.get("admin", "/sites"))}
    if "SC" not in sites:
        sites["SC"] = ok(api.post("admin", "/sites", {"code": "SC", "name": "Site C"}), 201)["id"]
        ok(
            api.post(
                "admin",
                "/users",
                {
                    "username": "inv_c",
                    "password": PASSWORD,
                    "role": "investigator",
                    "site_id": sites["SC"],
                    "display_name": "Dr C",
                },
            ),
            201,
        )
        api.tokens["inv_c"] = login(api.client, "inv_c")
    trial = ok(
        api.post(
            "stat",
            "/trials",
            {"code": code, "title": code, "shipped_protocol": shipped, "sandbox": sandbox},
        ),
        201,
    )
    tid = int(trial["id"])
    for site in SITES:
        ok(api.post("admin", f"/trials/{tid}/sites", {"site_id": sites[site]}), 201)
    open_body = {"reason": "site initiation visits done"}
    refused = api.post("admin", f"/trials/{tid}/open", open_body)
    assert refused.status_code == 409, refused.text  # the opening guard: items not acknowledged
    assert "protocol" in refused.text
    items = ok(api.get("stat", f"/trials/{tid}/opening-checklist"))
    assert items, "a shipped protocol with placeholders has opening items"
    for item in items:
        for who in ("admin", "stat"):
            body = {"item": item["id"], "reason": "reviewed at the protocol review meeting"}
            ok(api.post(who, f"/trials/{tid}/opening-acknowledgements", body), 201)
    assert all(i["cleared"] for i in ok(api.get("stat", f"/trials/{tid}/opening-checklist")))
    opened = ok(api.post("admin", f"/trials/{tid}/open", open_body))
    assert opened["status"] == "open"
    engine = parse_protocol(yaml.safe_load(shipped_path(shipped).read_text(encoding="utf-8")))
    return Opened(tid, engine, {k: sites[k] for k in SITES})


def advance(api: Api, trial_id: int, days: float) -> date:
    """Advance the sandbox trial's clock by ``days``; today on the trial's clock."""
    out = ok(api.post("admin", f"/trials/{trial_id}/clock", {"days": days, "reason": "rehearsal"}))
    return date.fromisoformat(str(out["now"])[:10])


def register(
    api: Api, opened: Opened, site: str, today: date, indication: str | None = None
) -> int:
    """Register and screen (eligible, every criterion met) a patient at ``site``."""
    body = {
        "sex": "F",
        "age": 35,
        "indication": indication,
        "screening": {
            "screened_on": today.isoformat(),
            "eligible": True,
            "criteria": opened.criteria(indication),
        },
    }
    out = ok(api.post(opened.investigators[site], f"/trials/{opened.trial_id}/patients", body), 201)
    assert out["screening"]["eligible"] is True
    return int(out["patient"]["id"])


def enrol(api: Api, who: str, patient_id: int, dose: int, decision_id: int, today: date) -> int:
    """Enrol a screened patient at ``dose`` under ``decision_id``, infused ``today``."""
    e = ok(
        api.post(
            who,
            f"/patients/{patient_id}/enrol",
            {"dose_level": dose, "decision_id": decision_id, "infusion_date": today.isoformat()},
        ),
        201,
    )
    assert e["dose_level"] == dose and e["decision_id"] == decision_id
    return int(e["id"])


def sign_final(api: Api, selection_id: int, members: tuple[str, ...] = ("com1", "com2")) -> Any:
    """Two committee members sign the final selection (re-entered password, printed name)."""
    out: Any = None
    for i, member in enumerate(members, start=1):
        out = ok(
            api.post(
                member,
                f"/final-selections/{selection_id}/sign",
                {"password": PASSWORD, "printed_name": f"Dr Member {member}", "comment": "DSMB"},
            ),
            201,
        )
        assert out["signed"] is (i == len(members))
    return out


# ----------------------------------------------------------------- the reference
@dataclass
class Subject:
    """What the test itself knows about one enrolled patient (its own bookkeeping, never read
    back from the service): the reference the service's decisions are checked against."""

    patient_id: int
    site: str
    indication: str | None
    dose: int
    infused: date
    dlt_on: date | None = None
    responded_on: date | None = None


@dataclass
class Ledger:
    """Every enrolled patient in order of enrolment, and the trial's windows and epoch."""

    epoch: date
    dlt_window: float
    efficacy_window: float | None
    subjects: list[Subject] = field(default_factory=list)

    def day(self, d: date) -> float:
        return float((d - self.epoch).days)

    def core_patients(self, now: float) -> tuple[CorePatient, ...]:
        """The core's patients as the protocol's ascertainment rules say from the test's own
        records (a DLT at its onset; no DLT once the window elapsed; a response at its
        assessment; no response once the efficacy window elapsed)."""
        out = []
        for s in self.subjects:
            entry = self.day(s.infused)
            follow = now - entry
            tox: bool | None
            if s.dlt_on is not None:
                tox, tox_time = True, self.day(s.dlt_on) - entry
            else:
                tox, tox_time = (False if follow >= self.dlt_window else None), None
            eff: bool | None = None
            eff_time = None
            if self.efficacy_window is not None:
                if s.responded_on is not None:
                    eff, eff_time = True, self.day(s.responded_on) - entry
                elif follow >= self.efficacy_window:
                    eff = False
            out.append(
                CorePatient(
                    dose=s.dose,
                    entry_time=entry,
                    tox=tox,
                    tox_time=tox_time,
                    eff=eff,
                    eff_time=eff_time,
                    indication=s.indication,
                )
            )
        return tuple(out)

    def reference(self, engine: Engine, now: float) -> dict[str | None, tuple[str, int | None]]:
        """Indication → (status, dose) as the core recommends from the test's records."""
        state = TrialState(engine.num_doses, self.core_patients(now))
        rec = plan_recommend(engine.plan, state, now)
        return {r.indication: (r.status.value, r.dose) for r in rec.indications}


def check_recommendation(api: Api, opened: Opened, ledger: Ledger) -> dict[str | None, Any]:
    """The service's recommendation for every indication equals the core's from the test's
    records (status and dose); indication → the service's view."""
    rec = ok(api.get("stat", f"/trials/{opened.trial_id}/recommendation"))
    expected = ledger.reference(opened.engine, float(rec["decision_day"]))
    got = {v["indication"]: (v["status"], v["next_dose"]) for v in rec["indications"]}
    assert got == expected, (rec["decision_day"], got, expected)
    return {v["indication"]: v for v in rec["indications"]}


def decide(api: Api, opened: Opened, ledger: Ledger, indication: str | None) -> Any:
    """Record the design's decision for ``indication`` and check it against the core."""
    views = check_recommendation(api, opened, ledger)
    d = ok(
        api.post("stat", f"/trials/{opened.trial_id}/decisions", {"indication": indication}), 201
    )
    view = views[indication]
    assert (d["status"], d["next_dose"]) == (view["status"], view["next_dose"]), (d, view)
    expected = ledger.reference(opened.engine, float(d["decision_day"]))[indication]
    assert (d["recommended_status"], d["recommended_dose"]) == expected
    if d["requires_signoff"]:
        for member in ("com1", "com2")[: max(1, d["signatures_required"])]:
            ok(
                api.post(
                    member,
                    f"/decisions/{d['id']}/signoff",
                    {
                        "approve": True,
                        "comment": "safety review committee: escalation agreed",
                        "password": PASSWORD,
                        "printed_name": f"Dr Member {member}",
                    },
                ),
                201,
            )
    return d


def trial_today(api: Api, trial_id: int) -> date:
    """Today on the trial's clock (the recommendation's decision time)."""
    rec = ok(api.get("stat", f"/trials/{trial_id}/recommendation"))
    return date.fromisoformat(str(rec["decision_time"])[:10])


def record_crs(api: Api, who: str, subject: Subject, today: date, grade: int) -> Any:
    """A CRS graded by the ASTCT 2019 form (no grade typed in), then the service's DLT
    proposal; the adverse event and the proposal."""
    ae = ok(
        api.post(
            who,
            f"/patients/{subject.patient_id}/adverse-events",
            {
                "term": "Cytokine release syndrome",
                "crs": crs_form(grade),
                "onset_date": today.isoformat(),
                "serious": True,
                "relatedness": "probable",
                "dlt_candidate": True,
            },
        ),
        201,
    )
    assert ae["grade"] == grade and "ASTCT" in str(ae["grade_scale"])
    proposal = ok(api.post(who, f"/patients/{subject.patient_id}/dlt-proposals"), 201)
    return ae, proposal


def confirm_dlt_proposal(api: Api, proposal: Any, reason: str) -> Any:
    """The statistician confirms the service's DLT proposal."""
    return ok(api.post("stat", f"/dlt-proposals/{proposal['id']}/confirm", {"reason": reason}), 201)


def close_dlt_windows(api: Api, ledger: Ledger, today: date, done: set[int]) -> None:
    """Every patient whose DLT window has ended without a DLT: the service proposes "no DLT"
    and the statistician confirms it (once per patient)."""
    for s in ledger.subjects:
        ended = (today - s.infused).days >= ledger.dlt_window
        if s.dlt_on is None and s.patient_id not in done and ended:
            prop = ok(api.post(SITES[s.site], f"/patients/{s.patient_id}/dlt-proposals"), 201)
            assert prop["status"] == "no", prop
            confirm_dlt_proposal(api, prop, "window completed without DLT")
            done.add(s.patient_id)


def export_checks(
    api: Api,
    trial_id: int,
    code: str,
    others: tuple[str, ...],
    filled: tuple[str, ...] = ("DM", "EX", "AE", "RS"),
) -> dict[str, Any]:
    """The per-trial exports: every Dataset-JSON domain valid against the 1.1 schema and
    holding only this trial (rows in each of ``filled``), the CSVs too; a sandbox trial needs
    ``include_sandbox``.
    Domain → its Dataset-JSON."""
    import io
    import json
    import zipfile
    from pathlib import Path

    import jsonschema

    schema_file = Path(__file__).parents[1] / "conduct" / "data" / "dataset-json-1.1.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    refused = api.get("datamgr", f"/trials/{trial_id}/datasets/AE")
    assert refused.status_code == 409 and refused.json()["field"] == "include_sandbox"
    out: dict[str, Any] = {}
    for domain in ("DM", "EX", "AE", "RS"):
        ds = ok(api.get("datamgr", f"/trials/{trial_id}/datasets/{domain}?include_sandbox=true"))
        jsonschema.validate(ds, schema)
        names = [c["name"] for c in ds["columns"]]
        rows = [dict(zip(names, r, strict=True)) for r in ds["rows"]]
        assert {r["STUDYID"] for r in rows} == ({code} if domain in filled else set()), domain
        out[domain] = rows
        csv = api.get("datamgr", f"/trials/{trial_id}/datasets/{domain}/csv?include_sandbox=true")
        assert csv.status_code == 200 and csv.text.count("\n") == len(rows) + 1
        assert (code in csv.text) is bool(rows) and not any(o in csv.text for o in others)
    z = api.get("datamgr", f"/trials/{trial_id}/exports/tables.zip?include_sandbox=true")
    assert z.status_code == 200
    tables = zipfile.ZipFile(io.BytesIO(z.content))
    patients_csv = tables.read("patients.csv").decode()
    assert not any(o in patients_csv for o in others)
    out["final_selections.csv"] = tables.read("final_selections.csv").decode()
    return out


def replay_copy(api: Api, path: Any) -> list[str]:
    """The certified copy from the API, replayed by ``doseladder audit replay`` in a
    subprocess (no database); its output lines (the command must exit 0)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    copy = ok(api.get("monitor", "/audit/certified-copy"))
    path.write_text(json.dumps(copy), encoding="utf-8")
    src = str(Path(__file__).parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-m", "doseladder", "audit", "replay", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def assess_itp(api: Api, s: Subject, today: date, responder: bool) -> Any:
    """An ITP response assessment from the platelet count (CR at 150, no response at 20 with
    a baseline of 15), confirmed by the statistician."""
    ea = ok(
        api.post(
            SITES[s.site],
            f"/patients/{s.patient_id}/efficacy-assessments",
            {
                "assessed_on": today.isoformat(),
                "components": {
                    "platelets": 150 if responder else 20,
                    "unit": "10^9/L",
                    "baseline_platelets": 15,
                    "bleeding": False,
                },
            },
        ),
        201,
    )
    assert ea["proposed_responder"] is responder, ea
    ok(api.post("stat", f"/efficacy/{ea['id']}/confirm", {"reason": "agreed"}), 201)
    if responder:
        s.responded_on = today
    return ea
