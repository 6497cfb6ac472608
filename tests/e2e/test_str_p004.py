"""STR-P004 (TITE-BOIN12, SLE-ITP driving, DL1 → DL-1 fallback) at three sites through the
JSON API, from screening to a signed final OBD and the replay of the certified copy.

Every recorded decision is checked against the core's recommendation computed from the test's
own bookkeeping (:class:`~tests.e2e.journey.Ledger`), not from what the service stored; the
final OBD against the core's final selection on the same independent state.  Time passes on
the sandbox trial's clock.  Runs on SQLite and PostgreSQL (``db_url``).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from doseladder.core.rules.final_selection import final_selection
from doseladder.core.state import TrialState

from ..web.conftest import Api, World
from .journey import (
    Ledger,
    Subject,
    advance,
    assess_itp,
    check_recommendation,
    close_dlt_windows,
    confirm_dlt_proposal,
    decide,
    enrol,
    export_checks,
    ok,
    open_trial,
    record_crs,
    register,
    replay_copy,
    sign_final,
    trial_today,
)

PROTOCOL = "str-p004-nct07143617"
DRIVING = "SLE-ITP"
OTHERS = (("SLE-other", "SB"), ("IIM", "SC"))
DL_MINUS_1, DL1 = 1, 2
ROTATION = ("SA", "SB", "SC")


def test_str_p004_at_three_sites_to_a_signed_obd(api: Api, world: World, tmp_path: Path) -> None:
    decoy = open_trial(api, shipped=PROTOCOL, code="STR-DECOY")
    register(api, decoy, "SA", trial_today(api, decoy.trial_id), DRIVING)
    opened = open_trial(api, shipped=PROTOCOL, code="STR-E2E")
    tid = opened.trial_id
    trial = ok(api.get("stat", f"/trials/{tid}"))
    assert trial["sandbox"] is True
    ledger = Ledger(
        date.fromisoformat(trial["epoch"]),
        float(trial["dlt_window_days"]),
        float(trial["efficacy_window_days"]),
    )
    today = trial_today(api, tid)
    n = 0

    def enrol_one(site: str, indication: str, decision: Any) -> Subject:
        pid = register(api, opened, site, today, indication)
        enrol(api, opened.investigators[site], pid, decision["next_dose"], decision["id"], today)
        s = Subject(pid, site, indication, decision["next_dose"], today)
        ledger.subjects.append(s)
        return s

    # 1. the run-in at DL1: one patient at each site; the other indications wait
    views = check_recommendation(api, opened, ledger)
    assert [views[i]["status"] for i, _ in OTHERS] == ["wait", "wait"]
    d1 = decide(api, opened, ledger, DRIVING)
    assert (d1["status"], d1["next_dose"], d1["slots"]) == ("enrol", DL1, 3)
    first = [enrol_one(site, DRIVING, d1) for site in ROTATION]
    assert ok(api.get("stat", f"/decisions/{d1['id']}"))["slots_open"] == 0

    # 2. day 3: CRS graded 3 by the ASTCT form, proposed as a DLT, confirmed
    today = advance(api, tid, 3)
    ae, proposal = record_crs(api, "inv_a", first[0], today, 3)
    assert (proposal["status"], proposal["rule"], proposal["adverse_event_id"]) == (
        "yes",
        "crs_ge3",
        ae["id"],
    )
    assert ok(api.get("stat", f"/trials/{tid}/decisions"))[-1]["latest"]
    adjudications = confirm_dlt_proposal(api, proposal, "grade 3 CRS within the DLT window")
    assert adjudications[0]["is_dlt"] is True
    first[0].dlt_on = today

    # 3. fallback to DL-1
    d2 = decide(api, opened, ledger, DRIVING)
    assert (d2["status"], d2["next_dose"]) == ("enrol", DL_MINUS_1)
    assert "fallback" in (d2["rule"] + d2["message"]).lower()

    # 4. the design runs (the core's decision each time) until it stops
    closed: set[int] = set()
    assessed: list[tuple[str, str]] = []
    others_at: dict[str, int] = {}
    decisions = 2
    d = d2
    for _ in range(80):
        if d["status"] == "enrol":
            for _slot in range(d["slots_open"]):
                enrol_one(ROTATION[n % 3], DRIVING, d)
                n += 1
        views = check_recommendation(api, opened, ledger)
        for indication, site in OTHERS:
            if indication not in others_at and views[indication]["status"] == "enrol":
                od = decide(api, opened, ledger, indication)
                decisions += 1
                dose = od["next_dose"]
                # confirmed safe: ≥ 3 SLE-ITP patients with a known "no DLT" mostly, at or
                # below the driving cohort's current dose
                itp = [s for s in ledger.subjects if s.indication == DRIVING and s.dose == dose]
                known = [s for s in itp if s.dlt_on is not None or s.patient_id in closed]
                assert len(known) >= 3 and dose <= views[DRIVING]["current_dose"]
                enrol_one(site, indication, od)
                others_at[indication] = dose
        today = advance(api, tid, 7)
        for s in ledger.subjects:
            if s.indication == DRIVING and (today - s.infused).days in range(14, 21):
                responder = s.patient_id % 3 != 0
                assess_itp(api, s, today, responder=responder)
                study_id = ok(api.get("stat", f"/patients/{s.patient_id}"))["patient"]["study_id"]
                assessed.append(
                    (f"STR-E2E-{study_id}", "RESPONDER" if responder else "NON-RESPONDER")
                )
        close_dlt_windows(api, ledger, today, closed)
        d = decide(api, opened, ledger, DRIVING)
        decisions += 1
        if d["status"] == "closed":
            break
    else:
        raise AssertionError("the design never stopped")
    assert set(others_at) == {"SLE-other", "IIM"}

    # 5. end of trial: outcomes still pending, the selection refused until they are known
    eot = ok(api.get("monitor", f"/trials/{tid}/end-of-trial"))
    assert eot["stop"] is not None and eot["kind"] == "obd"
    assert eot["pending"] and eot["preview"] is None and "pending" in eot["why_not"]
    now = float(ok(api.get("stat", f"/trials/{tid}/recommendation"))["decision_day"])
    mine = [
        (p.entry_time, p.tox is None, p.eff is None)
        for p in ledger.core_patients(now)
        if p.indication == DRIVING and (p.tox is None or p.eff is None)
    ]
    theirs = [
        (
            ledger.day(date.fromisoformat(p["infused_on"])),
            p["toxicity_pending"],
            p["efficacy_pending"],
        )
        for p in eot["pending"]
        if p["driving"]
    ]
    assert sorted(theirs) == sorted(mine) and f"{len(mine)} driving" in eot["why_not"]
    for p in eot["pending"]:
        infused = date.fromisoformat(p["infused_on"])
        assert date.fromisoformat(p["dlt_window_ends"]) == infused + timedelta(days=28)
        assert date.fromisoformat(p["efficacy_window_ends"]) == infused + timedelta(days=90)
    refused = api.post("stat", f"/trials/{tid}/final-selection")
    assert 400 <= refused.status_code < 500
    today = advance(api, tid, 91)
    close_dlt_windows(api, ledger, today, closed)
    eot = ok(api.get("monitor", f"/trials/{tid}/end-of-trial"))
    assert [p for p in eot["pending"] if p["driving"]] == [] and eot["preview"] is not None

    # 6. the final OBD: the core's selection on the test's own records, signed by two members
    now = float(ok(api.get("stat", f"/trials/{tid}/recommendation"))["decision_day"])
    driving = [p for p in ledger.core_patients(now) if p.indication == DRIVING]
    expected = final_selection(
        opened.engine.plan, TrialState(opened.engine.num_doses, tuple(driving))
    )
    sel = ok(api.post("stat", f"/trials/{tid}/final-selection"), 201)
    assert (sel["kind"], sel["dose_level"]) == ("obd", expected.dose)
    assert sel["dose_label"] == opened.engine.label(expected.dose)
    refused = api.post("stat", f"/final-selections/{sel['id']}/sign", {"password": "x" * 8})
    assert refused.status_code in (403, 422)
    signed = sign_final(api, sel["id"])
    assert signed["signed"] and len(signed["signatures"]) == 2

    # 7. per-trial exports: the DLT flag, the response domain, only this trial
    exported = export_checks(api, tid, "STR-E2E", ("STR-DECOY",))
    crs_rows = [r for r in exported["AE"] if "cytokine" in str(r["AETERM"]).lower()]
    assert [r["AEDLT"] for r in crs_rows] == ["Y"]
    assert sorted((r["USUBJID"], r["RSSTRESC"]) for r in exported["RS"]) == sorted(assessed)
    rows = list(csv.DictReader(io.StringIO(exported["final_selections.csv"])))
    assert [(r["id"], r["trial_id"], r["dose_label"]) for r in rows] == [
        (str(sel["id"]), str(tid), sel["dose_label"])
    ]

    # 8. the certified copy replays: every decision and the final selection match
    lines = replay_copy(api, tmp_path / "copy.json")
    records = lines[:-1]
    assert lines[-1].endswith("every one matches"), lines[-1]
    assert len(records) == decisions + 1, (len(records), decisions)
    assert all("match" in line.lower() and "mismatch" not in line.lower() for line in records)
    assert any("final selection" in line for line in records)
