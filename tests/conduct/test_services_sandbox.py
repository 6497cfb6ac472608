"""Sandbox trials: the trial clock, who may advance it, and exports that leave sandboxes out."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, Forbidden, ValidationError
from doseladder.conduct.models import AuditEvent, Trial
from doseladder.conduct.services import decisions, exports, grading, outcomes, sandbox, trials
from doseladder.core.clinical.dlt import TERM_CRS, DLTDefinition, DLTRule

from .conftest import BOIN, World


def _sandbox_trial(world: World, **kw: Any) -> int:
    return world.trial(BOIN, sandbox=True, **kw)


def _advance(world: World, trial_id: int, days: Any, who: Any = None) -> sandbox.TrialClock:
    actor = who or world.admin
    clock: sandbox.TrialClock = world.run(
        lambda s: sandbox.advance_clock(s, actor, trial_id, days=days, reason="rehearse day 29")
    )
    return clock


def _offset(world: World, trial_id: int) -> Any:
    with world.db.session() as s:
        return s.get(Trial, trial_id).clock_offset_days  # type: ignore[union-attr]


def test_a_real_trial_refuses_a_clock_advance_and_nothing_changes(world: World) -> None:
    tid = world.trial(BOIN)
    before = world.snapshot_counts()
    with pytest.raises(Conflict, match="real trial"):
        _advance(world, tid, 29)
    assert world.snapshot_counts() == before
    assert _offset(world, tid) is None
    with world.db.session() as s:
        trial = s.get(Trial, tid)
        assert trial is not None and not sandbox.is_sandbox(trial)


def test_only_an_administrator_advances_a_sandbox_clock(world: World) -> None:
    tid = _sandbox_trial(world)
    for who in (world.stat, world.inv_a, world.dm, world.monitor):
        with pytest.raises(Forbidden):
            _advance(world, tid, 1, who)
    assert _offset(world, tid) == 0.0


@pytest.mark.parametrize("days", [0, -1, 3651, "3", True, float("nan")])
def test_bad_advance_is_refused_naming_days(world: World, days: Any) -> None:
    tid = _sandbox_trial(world)
    with pytest.raises(ValidationError) as err:
        _advance(world, tid, days)
    assert err.value.field == "days"
    assert _offset(world, tid) == 0.0


def test_decisions_in_a_sandbox_use_the_advanced_clock(world: World) -> None:
    """BOIN waits for complete data: three patients infused today are pending until the
    28-day window has passed.  Advancing the sandbox clock by 29 days completes the window:
    the next decision is taken at the advanced time and escalates; the same cohort in a real
    trial still waits."""
    real = world.trial(BOIN)
    box = _sandbox_trial(world)
    for tid in (real, box):
        world.cohort(tid, 1)
        assert world.decide(tid).status == "wait"
    clock = _advance(world, box, 29)
    assert clock.sandbox and clock.offset_days == 29.0
    d = world.decide(box)
    assert (d.status, d.next_dose) == ("enrol", 2), d.message
    real_now = world.clock.t
    assert d.decision_time - real_now > timedelta(days=28.99)
    assert d.recorded_at - real_now < timedelta(seconds=1)  # record times stay real
    assert world.decide(real).status == "wait"
    # replay recomputes the sandbox decision from its stored time and data
    replay = world.run(lambda s: decisions.replay_decision(s, world.stat, d.id))
    assert replay.ok, replay.differences


def test_clinical_dates_follow_the_trial_clock(world: World) -> None:
    real = world.trial(BOIN)
    box = _sandbox_trial(world)
    pids = {tid: world.cohort(tid, 1)[0] for tid in (real, box)}
    _advance(world, box, 10)
    day = world.clock.today() + timedelta(days=10)

    def ae(pid: int) -> Any:
        return world.run(
            lambda s: outcomes.record_adverse_event(
                s, world.inv_a, pid, term="headache", grade=1, onset_date=day
            )
        )

    assert ae(pids[box]).onset_date == day
    with pytest.raises(ValidationError) as err:
        ae(pids[real])
    assert err.value.field == "onset_date"


def test_the_advance_is_audited_with_its_reason(world: World) -> None:
    tid = _sandbox_trial(world)
    _advance(world, tid, 3)
    _advance(world, tid, 2.5)
    with world.db.session() as s:
        events = list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "trials", AuditEvent.action == "update")
                .order_by(AuditEvent.seq)
            )
        )
        changes = [
            (e.reason, json.loads(e.payload)["new"].get("clock_offset_days"))
            for e in events
            if "clock_offset_days" in json.loads(e.payload)["new"]
        ]
        assert changes == [("rehearse day 29", 3.0), ("rehearse day 29", 5.5)]
        assert audit.verify(s).ok
    assert _offset(world, tid) == 5.5


def test_exports_leave_sandbox_trials_out_unless_asked(world: World) -> None:
    real = world.trial(BOIN, code="REAL-1")
    box = _sandbox_trial(world, code="BOX-1")
    world.cohort(real, 1)
    world.cohort(box, 1)

    def csv(trial_id: int, include: bool) -> dict[str, str]:
        out: dict[str, str] = world.run(
            lambda s: exports.tables_csv(s, world.monitor, trial_id, include_sandbox=include)
        )
        return out

    with pytest.raises(Conflict) as refused:
        csv(box, False)
    assert refused.value.field == "include_sandbox"
    asked, real_only = csv(box, True), csv(real, False)
    assert "BOX-1" in asked["trials"] and "REAL-1" not in asked["trials"]
    assert "REAL-1" in real_only["trials"] and "BOX-1" not in real_only["trials"]
    # every row of the export belongs to its trial, in every table with a trial
    assert len(asked["patients"].splitlines()) - 1 == 3
    assert len(real_only["patients"].splitlines()) - 1 == 3


def test_trials_created_as_real_stay_real(world: World) -> None:
    tid = world.trial(BOIN)
    with world.db.session() as s:
        trial = s.get(Trial, tid)
        assert trial is not None
        assert trial.sandbox is False and trial.clock_offset_days is None
        clock = sandbox.trial_clock(s, trial)
        assert not clock.sandbox and clock.offset_days == 0.0
    with pytest.raises(ValidationError) as err:
        world.run(
            lambda s: trials.create_trial(
                s, world.stat, code="X-1", title="x", protocol=BOIN, sandbox="yes"
            )
        )
    assert err.value.field == "sandbox"


def test_efficacy_dates_and_dlt_proposals_follow_the_sandbox_clock(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the sandbox clock moved 30 days, an efficacy assessment may be dated on the
    trial's today (not refused as "in the future"), and the DLT proposal sees the window as
    ended (the real clock would still be on day 0 of it); a real trial refuses the same date."""
    definition = DLTDefinition(
        rules=(DLTRule("crs_ge3", 3, terms=frozenset({TERM_CRS})),), window_days=28
    )
    monkeypatch.setattr(grading, "dlt_definition", lambda protocol: definition)
    # protocols seen without a definition are remembered per process (by content hash)
    monkeypatch.setattr(outcomes, "_NO_DLT_PROTOCOL", {})
    real = world.trial(BOIN)
    box = _sandbox_trial(world)
    pids = {tid: world.cohort(tid, 1, n=1)[0] for tid in (real, box)}
    _advance(world, box, 30)
    ahead = world.clock.today() + timedelta(days=30)

    def assess(tid: int) -> Any:
        return world.run(
            lambda s: outcomes.assess_efficacy(
                s,
                world.inv_a,
                pids[tid],
                assessed_on=ahead.isoformat(),
                instrument="ITP response",
                components={"platelets": 150, "unit": "10^9/L"},
            )
        )

    assert assess(box).assessed_on == ahead
    with pytest.raises(ValidationError) as err:
        assess(real)
    assert err.value.field == "assessed_on"
    proposals = {
        tid: world.run(lambda s, t=tid: outcomes.propose_dlt(s, world.stat, pids[t]).status)
        for tid in (real, box)
    }
    assert proposals == {real: "not_yet_known", box: "no"}
