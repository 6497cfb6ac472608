"""The dashboard tells a pending outcome from a negative one and from one not assessed."""

from __future__ import annotations

from typing import Any

from doseladder.conduct.services import dashboard, outcomes, patients

from .conftest import BOIN, World, crs_form


def _rows(world: World, trial_id: int, who: Any = None) -> dict[int, dict[str, Any]]:
    data = world.run(lambda s: dashboard.dashboard_data(s, who or world.stat, trial_id))
    return {row["patient"]["id"]: row for row in data["patients"]}


def _status(row: dict[str, Any]) -> tuple[str, str]:
    return row["dlt_status"].kind, row["dlt_status"].text


def test_dlt_status_pending_negative_positive_and_not_assessed(world: World) -> None:
    tid = world.trial(BOIN)
    a, b, c = world.cohort(tid, 1)
    ae = world.run(
        lambda s: outcomes.record_adverse_event(
            s,
            world.inv_a,
            a,
            term="cytokine release syndrome",
            crs=crs_form(3),
            onset_date=world.clock.today(),
            dlt_candidate=True,
        )
    )
    world.run(
        lambda s: outcomes.adjudicate_dlt(
            s,
            world.stat,
            b,
            is_dlt=True,
            rationale="grade 4 neutropenia beyond day 14",
            onset_date=world.clock.today(),
        )
    )
    waiting = world.patient(tid)  # screened, never enrolled
    rows = _rows(world, tid)
    assert _status(rows[c]) == ("pending", "pending: day 0 of the 28-day DLT window")
    assert _status(rows[b])[0] == "positive"
    assert _status(rows[waiting]) == ("not_assessed", "not assessed (not enrolled)")
    assert rows[a]["awaiting"] == 1

    world.clock.advance(days=30)
    rows = _rows(world, tid)
    assert _status(rows[c]) == ("negative", "no DLT")
    assert _status(rows[a]) == ("pending", "pending: DLT window ended, awaiting adjudication")
    assert _status(rows[b])[0] == "positive"
    # BOIN does not use efficacy: the response column shows what was recorded
    assert rows[c]["response_status"].kind == "not_assessed"

    world.run(
        lambda s: outcomes.adjudicate_dlt(
            s, world.stat, a, is_dlt=False, rationale="resolved in 48 h", adverse_event_id=ae.id
        )
    )
    assert _status(_rows(world, tid)[a]) == ("negative", "no DLT")


def test_not_infused_is_not_assessed_and_site_users_see_their_statuses(world: World) -> None:
    tid = world.trial(BOIN)
    d = world.decide(tid)
    assert d.status == "enrol"
    mine = world.patient(tid, world.inv_a)
    world.enrol(mine, 1, inv=world.inv_a, infused=False)
    rows = _rows(world, tid, world.inv_a)
    assert _status(rows[mine]) == ("not_assessed", "not assessed (not infused yet)")
    world.run(
        lambda s: patients.record_infusion(
            s, world.inv_a, rows[mine]["enrolment"]["id"], infusion_date=world.clock.today()
        )
    )
    world.clock.advance(days=3)
    rows = _rows(world, tid, world.inv_a)
    assert _status(rows[mine]) == ("pending", "pending: day 3 of the 28-day DLT window")
