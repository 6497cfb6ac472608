"""A BF-BOIN trial end to end through the API (SQLite and PostgreSQL): escalation cohort in
follow-up → backfill patients at the open doses → their DLTs drive a two-level de-escalation
(spec ``backfill.md`` §3, conflict (b), as worked example H2) → stop and final selection.
Every recommendation is checked against the core's ``recommend()`` on a trial state built here
from the test's own record of what happened (not from the service's inputs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from doseladder.core.rules.plan import EscalationPlan, recommend
from doseladder.core.state import Patient, TrialState
from doseladder.io.design_file import design_from_dict

from .conftest import Api, World

BF = {
    "design": "bf-boin",
    "num_doses": 4,
    "target": 0.25,
    "cohort_size": 3,
    "max_n": 12,
    "n_cap": 9,
    "tox_window": 28,
}
LABELS = ("DL1", "DL2", "DL3", "DL4")


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@dataclass
class Ledger:
    """What the test did, kept independently of the service: one row per enrolled patient."""

    rows: dict[int, dict[str, Any]] = field(default_factory=dict)

    def enrol(self, pid: int, dose: int, day: float, *, backfill: bool) -> None:
        self.rows[pid] = {
            "dose": dose,
            "day": day,
            "dlt": None,
            "resp": None,
            "backfill": backfill,
        }

    def state(self, now: float) -> TrialState:
        pts = []
        for r in self.rows.values():
            if r["dlt"] is not None:
                tox: bool | None = True
                tox_time: float | None = r["dlt"] - r["day"]
            elif now - r["day"] >= 28:
                tox, tox_time = False, None
            else:
                tox, tox_time = None, None
            eff: bool | None
            if r["resp"] is not None:
                eff, eff_time = True, r["resp"] - r["day"]
            else:
                eff, eff_time = (False if now - r["day"] >= 28 else None), None
            pts.append(
                Patient(
                    dose=r["dose"],
                    entry_time=r["day"],
                    tox=tox,
                    tox_time=tox_time,
                    eff=eff,
                    eff_time=eff_time,
                    backfill=r["backfill"],
                )
            )
        return TrialState(4, tuple(pts))


@pytest.mark.parametrize("cap_rule", [None, "at_most"])
def test_a_bf_boin_trial_through_the_api(api: Api, world: World, cap_rule: str | None) -> None:
    """``cap_rule`` None: the design's default reading (bfboin, a dose takes backfill patients
    while it has <= n_cap, so 9 + 1 − 3 = 7 slots at a dose with 3); ``at_most``: 9 − 3 = 6."""
    w = world
    design = dict(BF) if cap_rule is None else {**BF, "cap_rule": cap_rule}
    room = 9 - 3 if cap_rule == "at_most" else 9 + 1 - 3
    plan = EscalationPlan(design_from_dict(dict(design)), LABELS)
    tid = w.trial(design)
    book = Ledger()
    day = 0.0

    def advance(days: float) -> None:
        nonlocal day
        w.clock.advance(days=days)
        day += days
        api.relogin()

    def check(*, status: str, dose: int | None, open_: list[int], bf_dose: int | None) -> Any:
        """The API's recommendation equals the core's on the ledger's state."""
        rec = ok(api.get("stat", f"/trials/{tid}/recommendation"))
        view = rec["indications"][0]
        now = float(rec["decision_day"])
        core = recommend(plan, book.state(now), now).driving
        assert (view["status"], view["next_dose"]) == (core.status.value, core.dose)
        assert view["rule"] == core.reason.rule
        assert [b["dose"] for b in view["backfill"]["open"]] == [j + 1 for j in core.backfill_open]
        expected_pick = None if core.backfill_dose is None else core.backfill_dose + 1
        assert view["backfill"]["dose"] == expected_pick
        assert (view["status"], view["next_dose"]) == (status, dose)
        assert [b["dose"] for b in view["backfill"]["open"]] == open_
        assert view["backfill"]["dose"] == bf_dose
        # the same numbers for a site user, who sees no other site's patients
        site = ok(api.get("inv_b", f"/trials/{tid}/recommendation"))["indications"][0]
        assert site["backfill"] == view["backfill"]
        return view

    def today() -> str:
        return w.clock.today().isoformat()

    def decide(dose: int) -> int:
        d = ok(api.post("stat", f"/trials/{tid}/decisions", {}), 201)
        assert (d["status"], d["next_dose"]) == ("enrol", dose), d
        return int(d["id"])

    def enrol(dose: int, n: int = 3) -> list[int]:
        pids = []
        for _ in range(n):
            pid = w.patient(tid)
            e = ok(
                api.post(
                    "inv_a",
                    f"/patients/{pid}/enrol",
                    {"dose_level": dose, "infusion_date": today()},
                ),
                201,
            )
            assert e["cohort"] == "escalation"
            book.enrol(pid, dose, day, backfill=False)
            pids.append(pid)
        return pids

    def backfill(who: str, dose: int | None = None) -> dict[str, Any]:
        pid = w.patient(tid, w.inv_a if who == "inv_a" else w.inv_b)
        body: dict[str, Any] = {"cohort": "backfill", "infusion_date": today()}
        if dose is not None:
            body["dose_level"] = dose
        r = api.post(who, f"/patients/{pid}/enrol", body)
        if r.status_code == 201:
            book.enrol(pid, r.json()["dose_level"], day, backfill=True)
        return {"pid": pid, "status": r.status_code, "body": r.json()}

    def respond(pid: int) -> None:
        body = {"assessed_on": today(), "instrument": "ORR", "responder": True}
        ok(api.post("inv_a", f"/patients/{pid}/efficacy", body), 201)
        book.rows[pid]["resp"] = day

    def dlt(pid: int) -> None:
        body = {"is_dlt": True, "rationale": "grade 4 neutropenia", "onset_date": today()}
        ok(api.post("stat", f"/patients/{pid}/dlt-adjudications", body), 201)
        book.rows[pid]["dlt"] = day

    # ---- cohort 1 at DL1 (one response), cohort 2 at DL2 (one response)
    check(status="enrol", dose=1, open_=[], bf_dose=None)
    decide(1)
    c1 = enrol(1)
    advance(10)
    respond(c1[0])
    advance(19)
    check(status="enrol", dose=2, open_=[], bf_dose=None)
    decide(2)
    c2 = enrol(2)
    advance(10)
    respond(c2[0])
    advance(19)
    check(status="enrol", dose=3, open_=[], bf_dose=None)
    decision3 = decide(3)
    c3 = enrol(3)
    # ---- cohort 3 in follow-up: DL1 and DL2 are open for backfill, the rule picks DL2
    view = check(status="wait", dose=3, open_=[1, 2], bf_dose=2)
    assert view["backfill"]["open"] == [
        {"dose": 1, "dose_label": "DL1", "patients": 3, "slots_left": room},
        {"dose": 2, "dose_label": "DL2", "patients": 3, "slots_left": room},
    ]
    assert view["backfill"]["n_cap"] == 9
    assert view["backfill"]["cap_rule"] == (cap_rule or "bfboin")
    assert ("up to 10 per dose" in view["backfill"]["cap_text"]) is (cap_rule is None)
    slots = ok(api.get("inv_b", f"/trials/{tid}/slots"))
    assert slots[0]["escalation"] == {
        "decision_id": decision3,
        "status": "enrol",
        "dose": 3,
        "dose_label": "DL3",
        "slots": 3,
        "slots_used": 3,
        "slots_open": 0,
    }
    assert slots[0]["backfill"] == view["backfill"]
    # escalation is full; a dose that is not open for backfill is refused with its reason
    late = w.patient(tid)
    r = api.post("inv_a", f"/patients/{late}/enrol", {"dose_level": 3})
    assert r.status_code == 409 and "full" in r.json()["message"]
    r = api.post("inv_a", f"/patients/{late}/enrol", {"dose_level": 3, "cohort": "backfill"})
    assert r.status_code == 409 and "not open for backfill" in r.json()["message"]
    assert r.json()["field"] == "dose_level"
    r = api.post("inv_a", f"/patients/{late}/enrol", {"dose_level": 1, "cohort": "backfill"})
    assert r.status_code == 422 and "assigns DL2" in r.json()["reason"]
    bf = [backfill("inv_a"), backfill("inv_b", 2), backfill("inv_a")]
    assert [b["status"] for b in bf] == [201, 201, 201]
    assert {b["body"]["dose_level"] for b in bf} == {2}
    assert {b["body"]["cohort"] for b in bf} == {"backfill"}
    check(status="wait", dose=3, open_=[1, 2], bf_dose=2)
    # ---- two backfill DLTs at DL2: 2/5 complete fails C2 -> DL2 closes, DL1 stays open
    advance(2)
    dlt(bf[0]["pid"])
    dlt(bf[1]["pid"])
    check(status="wait", dose=3, open_=[1], bf_dose=1)
    b4 = backfill("inv_b")
    assert b4["status"] == 201 and b4["body"]["dose_level"] == 1
    # ---- cohort 3 completes 1/3 (D); DL2 is 2/6 (D): conflict (b), pool 3/9 >= b_d(9)=3,
    # nothing in [2, 3] is safe -> DL1 (escalation data alone would give DL2)
    advance(10)
    dlt(c3[0])
    advance(17)
    view = check(status="enrol", dose=1, open_=[], bf_dose=None)
    assert view["rule"].startswith("bf_boin.")
    assert view["reason_values"]["conflict_dose"] == 2
    alone = TrialState(4, tuple(p for p in book.state(day).patients if not p.backfill))
    assert recommend(plan, alone, day).driving.dose == 2
    decide(1)
    enrol(1)
    advance(29)
    # ---- max_n escalation patients decided on: the trial stops; the final selection
    view = check(status="closed", dose=None, open_=[], bf_dose=None)
    ok(api.post("stat", f"/trials/{tid}/decisions", {}), 201)
    sel = ok(api.post("stat", f"/trials/{tid}/final-selection"), 201)
    core_sel = plan.design.select(book.state(day))
    assert sel["dose_level"] == core_sel.dose == 2
    # backfill patients' data count at their dose (DL1: 3 + 3 escalation + 1 backfill)
    assert sel["result"]["reason"]["values"]["n"] == [7, 6, 3, 0]
    assert sel["result"]["reason"]["values"]["y"] == [0, 2, 1, 0]
    # every recorded decision replays: the stored inputs (with the backfill flags) give the
    # stored result, and the database as it stood rebuilds the same inputs
    recorded = ok(api.get("stat", f"/trials/{tid}/decisions"))
    assert len(recorded) == 5
    for d in recorded:
        replay = ok(api.get("stat", f"/decisions/{d['id']}/replay"))
        assert replay["matches"] and replay["data_matches"], replay["differences"]
    flags = [p.get("backfill", False) for p in recorded[-1]["inputs"]["state"]["patients"]]
    assert flags == [r["backfill"] for r in book.rows.values()]
