"""Recorded stops are sticky; eliminations come from the driving (or pooled) cohort only.

* A recorded decision that ended accrual (status ``closed``) keeps later recommendations of
  its indication closed, citing it, even when later outcomes would let the design enrol again;
  an override by an authorised user re-opens it.  ``wait`` decisions and accrual suspension
  are not sticky.
* With a driving indication, eliminations are carried only from the driving indication's
  recorded decisions: another indication's decision never makes a dose permanently
  eliminated for the driving design.
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

import pytest

from doseladder.conduct.errors import Conflict, Forbidden
from doseladder.conduct.models import DoseDecision
from doseladder.conduct.services import decisions, outcomes, trials
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import World, crs_form

#: TITE-BOIN stops once the rule keeps a dose with 6 patients; TITE-BOIN decides on pending
#: outcomes, so the outcomes that arrive after a stop can move the design off that dose
TITE_BOIN_EARLYSTOP = {
    "design": "tite-boin",
    "num_doses": 4,
    "target": 0.3,
    "cohort_size": 3,
    "max_n": 24,
    "n_earlystop": 6,
    "tox_window": 28,
}


def dlt(world: World, pid: int) -> int:
    """A grade 3 CRS today, adjudicated as a DLT; returns the adjudication id."""
    a = world.run(
        lambda s: outcomes.record_adverse_event(
            s,
            world.inv_a,
            pid,
            term="CRS",
            crs=crs_form(3),
            onset_date=world.clock.today(),
            dlt_candidate=True,
        )
    )
    adj = world.run(
        lambda s: outcomes.adjudicate_dlt(
            s, world.stat, pid, is_dlt=True, adverse_event_id=a.id, rationale="grade 3 CRS"
        )
    )
    return int(adj.id)


def withdraw(world: World, adjudication_id: int) -> None:
    """The committee re-reviews a DLT: not a DLT after all (a corrected adjudication)."""
    world.run(
        lambda s: outcomes.correct_adjudication(
            s, world.stat, adjudication_id, changes={"is_dlt": False}, reason="SRC re-review"
        )
    )


def recommendation(world: World, tid: int, indication: str | None = None) -> Any:
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    return rec.for_indication(indication)


def replay_ok(world: World, decision_id: int) -> None:
    r = world.run(lambda s: decisions.replay_decision(s, world.monitor, decision_id))
    assert r.ok, r.differences


def reach_earlystop(world: World) -> tuple[int, DoseDecision]:
    """TITE-BOIN: dose 1 clear, 1 DLT in the first 3 at dose 2 (stay), 3 more at dose 2; the
    next day the rule keeps dose 2 with 6 patients -> stop (recorded)."""
    tid = world.trial(TITE_BOIN_EARLYSTOP)
    world.cohort(tid, 1)
    world.clock.advance(29)
    first = world.cohort(tid, 2)
    world.clock.advance(2)
    dlt(world, first[0])
    world.clock.advance(27)
    world.cohort(tid, 2)
    world.clock.advance(1)
    stop = world.decide(tid)
    assert (stop.status, stop.next_dose, stop.slots) == ("closed", None, 0), stop.message
    assert stop.rule == "boin.n_earlystop" and stop.source == "design"
    return tid, stop


def test_a_recorded_stop_stays_closed_until_an_override(world: World) -> None:
    tid, stop = reach_earlystop(world)
    # the pending outcomes of the last three arrive (no DLT): 1/6 at dose 2 -> escalate
    world.clock.advance(29)
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    view = rec.indications[0]
    assert rec.plan["indications"][0]["status"] == "enrol"  # the design alone would enrol ...
    assert rec.plan["indications"][0]["dose"] == 3
    assert (view.status, view.next_dose, view.slots) == ("closed", None, 0)  # ... but not now
    assert view.rule == decisions.STOPPED_RULE
    assert f"#{stop.id}" in view.message and f"seq {stop.seq}" in view.message
    assert "boin.n_earlystop" in view.message and stop.message in view.message
    assert "override" in view.message and "enrol at DL3" in view.message
    cited = view.reason_values["stop"]
    assert (cited["decision_id"], cited["seq"], cited["rule"]) == (stop.id, stop.seq, stop.rule)
    assert cited["scope"] == "own" and cited["message"] == stop.message
    assert view.reason_values["design_status"] == "enrol"
    assert view.reason_values["design_next_dose"] == 3
    assert view.steps[-1]["rule"].endswith("escalate")
    assert rec.inputs["recorded_stops"][0]["decision_id"] == stop.id
    # recording again gives closed too, still citing the original stop, and replays
    again = world.decide(tid)
    assert (again.status, again.rule, again.slots) == ("closed", decisions.STOPPED_RULE, 0)
    assert f"#{stop.id}" in again.message
    assert json.loads(again.inputs)["recorded_stops"][0]["decision_id"] == stop.id
    replay_ok(world, again.id)
    replay_ok(world, stop.id)
    # nobody can enrol from it
    with pytest.raises(Conflict, match="does not allow enrolment"):
        world.enrol(world.patient(tid), 3)
    # only an authorised user can re-open it, with an override
    with pytest.raises(Forbidden):
        world.run(
            lambda s: decisions.override_decision(
                s, world.inv_a, tid, dose_level=3, reason="continue"
            )
        )
    ov = world.run(
        lambda s: decisions.override_decision(
            s,
            world.stat,
            tid,
            dose_level=3,
            reason="SRC: continue the escalation to DL3",
            justification="SRC reviewed the full data: 1/6 DLT at DL2, escalation is justified",
        )
    )
    world.approve(ov.id)
    assert (ov.source, ov.status, ov.next_dose, ov.recommended_status) == (
        "override",
        "enrol",
        3,
        "closed",
    )
    replay_ok(world, ov.id)
    view = recommendation(world, tid)
    assert (view.status, view.next_dose, view.rule) == ("enrol", 3, "boin.escalate")
    world.enrol(world.patient(tid), 3)
    # the design takes over again after the override
    d = world.decide(tid)
    assert d.source == "design" and d.rule != decisions.STOPPED_RULE
    assert "recorded_stops" not in json.loads(d.inputs)
    replay_ok(world, d.id)


def test_an_unrecorded_stop_is_not_sticky(world: World) -> None:
    """Only recorded decisions count: a stop that was only shown is not remembered."""
    tid = world.trial(TITE_BOIN_EARLYSTOP)
    world.cohort(tid, 1)
    world.clock.advance(29)
    first = world.cohort(tid, 2)
    world.clock.advance(2)
    dlt(world, first[0])
    world.clock.advance(27)
    world.cohort(tid, 2)
    world.clock.advance(1)
    assert recommendation(world, tid).rule == "boin.n_earlystop"  # shown, not recorded
    world.clock.advance(29)
    view = recommendation(world, tid)
    assert (view.status, view.next_dose) == ("enrol", 3)


BOIN_EARLYSTOP = {
    "design": "boin",
    "num_doses": 3,
    "target": 0.3,
    "cohort_size": 3,
    "max_n": 12,
    "n_earlystop": 6,
}


def boin_earlystop(world: World, tid: int, indication: str | None = None) -> list[int]:
    """BOIN on complete data: 0/3 at dose 1, 1/3 at dose 2 (stay), 2/6 at dose 2 (stay with 6
    patients -> stop).  Returns the adjudication ids of the two DLTs."""
    kw = {"indication": indication} if indication is not None else {}

    def cohort(dose: int) -> list[int]:
        d = world.decide(tid)
        assert (d.status, d.next_dose) == ("enrol", dose), (d.rule, d.message)
        pids = [world.patient(tid, **kw) for _ in range(3)]
        for pid in pids:
            world.enrol(pid, dose)
        return pids

    cohort(1)
    world.clock.advance(29)
    second = cohort(2)
    world.clock.advance(2)
    adjs = [dlt(world, second[0])]
    world.clock.advance(27)
    third = cohort(2)
    world.clock.advance(2)
    adjs.append(dlt(world, third[0]))
    world.clock.advance(27)
    return adjs


def test_a_stop_stays_closed_after_a_correction(world: World) -> None:
    """The stop is recorded; a DLT withdrawn on re-review would let BOIN escalate (1/6), but
    the recorded stop holds."""
    tid = world.trial(BOIN_EARLYSTOP)
    adjs = boin_earlystop(world, tid)
    stop = world.decide(tid)
    assert (stop.status, stop.rule) == ("closed", "boin.n_earlystop"), stop.message
    withdraw(world, adjs[0])
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    assert (rec.plan["indications"][0]["status"], rec.plan["indications"][0]["dose"]) == (
        "enrol",
        3,
    )
    view = rec.indications[0]
    assert view.status == "closed" and view.rule == decisions.STOPPED_RULE
    assert view.reason_values["stop"]["decision_id"] == stop.id
    replay_ok(world, world.decide(tid).id)


def test_wait_decisions_and_suspension_are_not_sticky(world: World) -> None:
    tid = world.trial(
        {"design": "boin", "num_doses": 4, "target": 0.3, "cohort_size": 3, "max_n": 12}
    )
    world.cohort(tid, 1)
    wait = world.decide(tid)  # BOIN waits for complete data
    assert (wait.status, wait.rule, wait.slots) == ("wait", "boin.pending", 0)
    assert recommendation(world, tid).status == "wait"
    world.clock.advance(29)
    view = recommendation(world, tid)
    assert (view.status, view.next_dose, view.rule) == ("enrol", 2, "boin.escalate")
    # accrual suspension blocks enrolment but records no stop
    world.run(lambda s: trials.suspend_accrual(s, world.stat, tid, reason="site audit"))
    d = world.decide(tid)
    assert (d.status, d.next_dose) == ("enrol", 2)
    with pytest.raises(Conflict, match="suspended"):
        world.enrol(world.patient(tid), 2)
    world.run(lambda s: trials.resume_accrual(s, world.stat, tid, reason="audit done"))
    assert recommendation(world, tid).status == "enrol"
    world.enrol(world.patient(tid), 2)
    replay_ok(world, d.id)


# ------------------------------------------------------------- driving indication
def driving_protocol(**other_rules: Any) -> dict[str, Any]:
    """Seed 000's protocol (SLE-ITP drives; doses DL-1/DL1/DL2 = levels 1..3) with BOIN from
    DL-1 (``n_earlystop`` 6), no fallback and no safety monitor, so that only the driving design
    and the other-indication policy act."""
    p = deepcopy(load_mapping(shipped_path("str-p004-nct07143617")))
    p["design"] = {
        "design": "boin",
        "start_dose": "DL-1",
        "target": 0.3,
        "cohort_size": 3,
        "max_n": 12,
        "n_earlystop": 6,
    }
    p["rules"]["fallback"] = None
    p["rules"]["safety_monitor"] = None
    p["rules"]["other_indications"].update(other_rules)
    return p


def driving_cohort(world: World, tid: int, dose: int) -> list[int]:
    """Record a driving-indication decision and enrol 3 SLE-ITP patients at ``dose``."""
    d = world.decide(tid)
    assert (d.indication, d.status, d.next_dose) == ("SLE-ITP", "enrol", dose), d.message
    pids = [world.patient(tid, indication="SLE-ITP") for _ in range(3)]
    for pid in pids:
        world.enrol(pid, dose)
    return pids


def test_other_indication_decisions_add_no_eliminations(world: World) -> None:
    tid = world.trial(driving_protocol())
    driving_cohort(world, tid, 1)
    world.clock.advance(29)
    pids = driving_cohort(world, tid, 2)
    world.clock.advance(2)
    adjs = [dlt(world, pid) for pid in pids]  # 3/3 at DL1: BOIN eliminates DL1 and DL2
    iim = world.decide(tid, indication="IIM")
    assert iim.indication == "IIM" and set(iim.eliminated) == {2, 3}
    # the DLTs are withdrawn on re-review before any SLE-ITP decision was recorded
    for a in adjs:
        withdraw(world, a)
    world.clock.advance(29)
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    assert rec.inputs["state"]["eliminated"] == []  # the IIM decision carries nothing
    assert rec.eliminated == ()
    drv = rec.for_indication("SLE-ITP")
    assert (drv.status, drv.next_dose, drv.rule) == ("enrol", 3, "boin.escalate")
    iim2 = world.decide(tid, indication="IIM")
    replay_ok(world, iim2.id)
    replay_ok(world, iim.id)


def test_driving_decisions_carry_their_eliminations(world: World) -> None:
    tid = world.trial(driving_protocol())
    driving_cohort(world, tid, 1)
    world.clock.advance(29)
    pids = driving_cohort(world, tid, 2)
    world.clock.advance(2)
    adjs = [dlt(world, pid) for pid in pids]
    d = world.decide(tid)  # recorded for the driving indication: eliminations are permanent
    assert d.indication == "SLE-ITP" and set(d.eliminated) == {2, 3} and d.next_dose == 1
    world.decide(tid, indication="IIM")  # a later other-indication decision changes nothing
    for a in adjs:
        withdraw(world, a)
    world.clock.advance(29)
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    assert rec.inputs["state"]["eliminated"] == [2, 3] and set(rec.eliminated) == {2, 3}
    assert rec.for_indication("SLE-ITP").next_dose == 1


def test_a_driving_safety_stop_closes_the_other_indications(world: World) -> None:
    """A recorded driving stop with no acceptable dose closes the other indications too."""
    tid = world.trial(driving_protocol())
    pids = driving_cohort(world, tid, 1)
    world.clock.advance(2)
    for pid in pids:  # 3/3 at DL-1: the lowest dose is eliminated
        dlt(world, pid)
    stop = world.decide(tid)
    assert (stop.indication, stop.status, stop.rule) == ("SLE-ITP", "closed", "boin.eliminate")
    for name in ("IIM", "SLE-other"):
        view = recommendation(world, tid, name)
        assert view.status == "closed" and view.rule == decisions.STOPPED_RULE
        assert view.reason_values["stop"]["scope"] == "driving"
        assert view.reason_values["stop"]["decision_id"] == stop.id
        assert "driving indication" in view.message
    iim = world.decide(tid, indication="IIM")
    assert (iim.status, iim.rule) == ("closed", decisions.STOPPED_RULE)
    replay_ok(world, iim.id)


def test_a_driving_sample_size_stop_leaves_the_others_open(world: World) -> None:
    """continue_after_driving_stop true (default): a driving stop for its sample size is the
    driving indication's own; the other indications go on by their own rules."""
    tid = world.trial(driving_protocol())
    adjs = boin_earlystop(world, tid, "SLE-ITP")
    stop = world.decide(tid)
    assert (stop.indication, stop.rule) == ("SLE-ITP", "boin.n_earlystop")
    withdraw(world, adjs[0])
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    assert rec.for_indication("SLE-ITP").rule == decisions.STOPPED_RULE
    iim = rec.for_indication("IIM")
    assert (iim.status, iim.next_dose, iim.rule) == (
        "enrol",
        2,
        "driving_indication.confirmed_safe",
    )
    assert "recorded_stops" in rec.inputs and len(rec.inputs["recorded_stops"]) == 1


def test_a_recorded_driving_stop_keeps_the_others_closed(world: World) -> None:
    """continue_after_driving_stop false: the driving stop closes the other indications and
    stays in force for them after a correction; an override of one indication re-opens that
    indication only."""
    tid = world.trial(driving_protocol(continue_after_driving_stop=False))
    adjs = boin_earlystop(world, tid, "SLE-ITP")
    stop = world.decide(tid)
    assert (stop.indication, stop.status, stop.rule) == ("SLE-ITP", "closed", "boin.n_earlystop")
    assert recommendation(world, tid, "IIM").rule == decisions.STOPPED_RULE
    withdraw(world, adjs[0])
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    raw = {r["indication"]: (r["status"], r["dose"]) for r in rec.plan["indications"]}
    assert raw["SLE-ITP"] == ("enrol", 3) and raw["IIM"] == ("enrol", 2)
    for name in ("SLE-ITP", "IIM", "SLE-other"):
        view = rec.for_indication(name)
        assert (view.status, view.rule) == ("closed", decisions.STOPPED_RULE), name
        assert view.reason_values["stop"]["decision_id"] == stop.id
    assert rec.for_indication("IIM").reason_values["stop"]["scope"] == "driving"
    ov = world.run(
        lambda s: decisions.override_decision(
            s,
            world.stat,
            tid,
            dose_level=2,
            reason="SRC: IIM may continue",
            indication="IIM",
            justification="SRC: the IIM cohort may continue at DL1 after review of all data",
        )
    )
    assert ov.indication == "IIM"
    world.approve(ov.id)
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    assert rec.for_indication("IIM").status == "enrol"
    assert rec.for_indication("SLE-ITP").rule == decisions.STOPPED_RULE
    assert rec.for_indication("SLE-other").rule == decisions.STOPPED_RULE
    world.enrol(world.patient(tid, indication="IIM"), 2)
    replay_ok(world, ov.id)
    # an override of the driving indication lifts its stop for the indications it closed
    world.run(
        lambda s: decisions.override_decision(
            s,
            world.stat,
            tid,
            dose_level=3,
            reason="SRC: escalate to DL2",
            justification="SRC: escalation to DL2 after review of all the cohort's data",
        )
    )
    rec = world.run(lambda s: decisions.recommend(s, world.stat, tid))
    assert "recorded_stops" not in rec.inputs
    assert rec.for_indication("SLE-ITP").status == "enrol"
    assert rec.for_indication("SLE-other").rule == "driving_indication.confirmed_safe"
