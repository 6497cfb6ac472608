"""HN2301 (3+3, one SLE cohort) at three sites through the JSON API to a signed final MTD,
with a CRS graded 3 by the ASTCT form at DL2, and the replay of the certified copy.

As in the STR-P004 journey, every decision is checked against the core's recommendation from
the test's own records, and the MTD against the core's final selection on them; time passes on
the sandbox clock; SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

from doseladder.core.rules.final_selection import final_selection
from doseladder.core.state import TrialState

from ..web.conftest import Api, World
from .journey import (
    Ledger,
    Subject,
    advance,
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

PROTOCOL = "hn2301-nct06801119"
COHORT = "SLE"
ROTATION = ("SA", "SB", "SC")


def test_hn2301_three_plus_three_to_a_signed_mtd(api: Api, world: World, tmp_path: Path) -> None:
    decoy = open_trial(api, shipped=PROTOCOL, code="HN-DECOY")
    register(api, decoy, "SB", trial_today(api, decoy.trial_id), COHORT)
    opened = open_trial(api, shipped=PROTOCOL, code="HN-E2E")
    tid = opened.trial_id
    trial = ok(api.get("stat", f"/trials/{tid}"))
    ledger = Ledger(date.fromisoformat(trial["epoch"]), float(trial["dlt_window_days"]), None)
    today = trial_today(api, tid)
    closed: set[int] = set()
    doses: list[int] = []
    crs_done = False
    decisions = 0
    d: Any = None
    for _ in range(40):
        d = decide(api, opened, ledger, COHORT)
        decisions += 1
        if d["status"] == "closed":
            break
        if d["status"] == "enrol":
            doses.append(d["next_dose"])
            for slot in range(d["slots_open"]):
                site = ROTATION[slot % 3]
                pid = register(api, opened, site, today, COHORT)
                enrol(api, opened.investigators[site], pid, d["next_dose"], d["id"], today)
                ledger.subjects.append(Subject(pid, site, COHORT, d["next_dose"], today))
        today = advance(api, tid, 3)
        at_two = [s for s in ledger.subjects if s.dose == 2]
        if at_two and not crs_done:
            s = at_two[0]
            _ae, proposal = record_crs(api, opened.investigators[s.site], s, today, 3)
            assert (proposal["status"], proposal["rule"]) == ("yes", "crs_ge3")
            confirm_dlt_proposal(api, proposal, "grade 3 CRS on day 3")
            s.dlt_on = today
            crs_done = True
        today = advance(api, tid, 26)
        close_dlt_windows(api, ledger, today, closed)
    else:
        raise AssertionError("the design never stopped")
    # 3+3: DL1 (0/3) → DL2 (1/3) → DL2 again (1/6) → the enrolment cap of 9 stops the trial
    assert doses == [1, 2, 2] and len(ledger.subjects) == 9

    eot = ok(api.get("monitor", f"/trials/{tid}/end-of-trial"))
    assert eot["kind"] == "mtd" and eot["stop"] is not None
    assert eot["pending"] == [] and eot["preview"] is not None
    now = float(ok(api.get("stat", f"/trials/{tid}/recommendation"))["decision_day"])
    state = TrialState(opened.engine.num_doses, ledger.core_patients(now))
    expected = final_selection(opened.engine.plan, state)
    sel = ok(api.post("stat", f"/trials/{tid}/final-selection"), 201)
    assert (sel["kind"], sel["dose_level"]) == ("mtd", expected.dose) and expected.dose == 2
    refused = api.post("stat", f"/final-selections/{sel['id']}/sign", {"password": "x" * 8})
    assert refused.status_code in (403, 422)
    signed = sign_final(api, sel["id"])
    assert signed["signed"] and {s["username"] for s in signed["signatures"]} == {"com1", "com2"}

    exported = export_checks(api, tid, "HN-E2E", ("HN-DECOY",), ("DM", "EX", "AE"))
    assert sorted(r["AEDLT"] for r in exported["AE"]) == ["Y"]
    rows = list(csv.DictReader(io.StringIO(exported["final_selections.csv"])))
    assert [(r["kind"], r["dose_label"]) for r in rows] == [("mtd", "DL2")]

    lines = replay_copy(api, tmp_path / "copy.json")
    assert lines[-1].endswith("every one matches") and len(lines) - 1 == decisions + 1
