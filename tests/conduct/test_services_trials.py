"""Trials: creation with a design or protocol file, versions/amendments, status, sites."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from doseladder.conduct.errors import Conflict, Forbidden, NotFound, ValidationError
from doseladder.conduct.services import decisions, trials
from doseladder.conduct.services.protocol_engine import parse_protocol
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import BOIN, TITE_BOIN, World


def create(world: World, **kw: Any) -> Any:
    args: dict[str, Any] = {"code": "LUPUS-1", "title": "CAR-T in SLE", "protocol": BOIN} | kw
    return world.run(lambda s: trials.create_trial(s, world.stat, **args))


def test_create_trial_with_a_design_file(world: World) -> None:
    t = create(world, source_name="boin.yaml", source_text="design: boin\n")
    assert (t.status, t.code, t.epoch, t.dlt_window_days) == (
        "draft",
        "LUPUS-1",
        world.clock.today(),
        28.0,
    )
    assert t.efficacy_window_days is None and t.require_signoff_for_escalation is False
    with world.db.session() as s:
        pv = trials.current_protocol(s, t.id)
        assert (pv.version, pv.kind, pv.reason, pv.amendment) == (1, "design", None, False)
        assert json.loads(pv.content) == BOIN
        assert pv.source_text == "design: boin\n"
        engine = trials.engine_for(pv)
        assert engine.plan.dose_labels == ("DL1", "DL2", "DL3", "DL4")


def test_windows_come_from_the_design_or_the_trial(world: World) -> None:
    t = create(world, code="TITE", protocol=TITE_BOIN)
    assert t.dlt_window_days == 28.0
    with pytest.raises(ValidationError, match="sets the DLT window to 28"):
        create(world, code="TITE2", protocol=TITE_BOIN, dlt_window_days=21)
    t = create(world, code="B42", dlt_window_days=42, epoch="2025-01-06")
    assert (t.dlt_window_days, t.epoch) == (42.0, date(2025, 1, 6))
    b12 = {"design": "boin12", "num_doses": 3, "phi_t": 0.35, "phi_e": 0.25, "max_n": 12}
    t = create(world, code="B12", protocol=b12)
    assert t.efficacy_window_days == 84.0
    t = create(world, code="B12b", protocol=b12, efficacy_window_days=60)
    assert t.efficacy_window_days == 60.0
    with pytest.raises(ValidationError, match="does not use efficacy"):
        create(world, code="B5", efficacy_window_days=60)


def test_create_trial_with_a_shipped_protocol_file(world: World) -> None:
    data = load_mapping(shipped_path("str-p004-nct07143617"))
    t = create(world, code="STR-P004", protocol=data)
    with world.db.session() as s:
        engine = trials.engine_for(trials.current_protocol(s, t.id))
    assert engine.kind == "protocol"
    assert engine.plan.driving_indication == "SLE-ITP"
    assert (t.dlt_window_days, t.efficacy_window_days) == (28.0, 90.0)
    assert engine.criteria


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "has space"}, "code"),
        ({"code": ""}, "code"),
        ({"title": "  "}, "title"),
        ({"title": None}, "title"),
        ({"protocol": {}}, "protocol"),
        ({"protocol": []}, "protocol"),
        ({"protocol": {"design": "boin", "num_doses": 0, "target": 0.3}}, "protocol.num_doses"),
        ({"protocol": {"design": "nope"}}, "protocol.design"),
        ({"protocol": {**BOIN, "colour": "red"}}, "protocol.colour"),
        ({"protocol": {"schema_version": 1, "id": "x"}}, "protocol"),
        ({"epoch": "2025-13-01"}, "epoch"),
        ({"dlt_window_days": -3}, "dlt_window_days"),
        ({"require_signoff_for_escalation": "yes"}, "require_signoff_for_escalation"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    world: World, change: dict[str, Any], field: str
) -> None:
    before = world.snapshot_counts()
    with pytest.raises(ValidationError) as info:
        create(world, **change)
    assert info.value.field == field or info.value.field.startswith(field)
    assert info.value.reason
    assert world.snapshot_counts() == before


def test_duplicate_code(world: World) -> None:
    create(world)
    with pytest.raises(Conflict, match="already exists") as info:
        create(world)
    assert info.value.field == "code"


def test_status_life_cycle(world: World) -> None:
    tid = world.trial(open_=False)
    with pytest.raises(Conflict, match="draft"):
        world.run(lambda s: trials.suspend_accrual(s, world.stat, tid, reason="pause"))
    world.run(lambda s: trials.open_trial(s, world.admin, tid))
    with pytest.raises(Conflict):
        world.run(lambda s: trials.open_trial(s, world.admin, tid))
    with pytest.raises(ValidationError, match="reason"):
        world.run(lambda s: trials.suspend_accrual(s, world.stat, tid, reason=" "))
    t = world.run(lambda s: trials.suspend_accrual(s, world.stat, tid, reason="SRC review"))
    assert (t.status, t.status_reason) == ("suspended", "SRC review")
    t = world.run(lambda s: trials.resume_accrual(s, world.admin, tid, reason="SRC cleared"))
    assert t.status == "open" and t.opened_at is not None
    t = world.run(lambda s: trials.close_trial(s, world.stat, tid, reason="completed"))
    assert t.status == "closed" and t.closed_at is not None
    with pytest.raises(Conflict, match="closed"):
        world.run(lambda s: trials.amend_protocol(s, world.stat, tid, BOIN, reason="late"))
    with pytest.raises(NotFound):
        world.run(lambda s: trials.open_trial(s, world.stat, 999))


def test_amendments_are_new_versions_with_a_reason(world: World) -> None:
    tid = world.trial()
    with pytest.raises(ValidationError, match="reason"):
        world.run(lambda s: trials.amend_protocol(s, world.stat, tid, BOIN, reason=""))
    new = {**BOIN, "max_n": 18}
    pv = world.run(
        lambda s: trials.amend_protocol(s, world.stat, tid, new, reason="amendment 1: N=18")
    )
    assert (pv.version, pv.amendment, pv.reason) == (2, True, "amendment 1: N=18")
    with world.db.session() as s:
        versions = trials.protocol_versions(s, world.monitor, tid)
        assert [v.version for v in versions] == [1, 2]
        assert json.loads(versions[0].content) == BOIN  # the original is untouched
        assert trials.engine_for(trials.current_protocol(s, tid)).design.max_n == 18


def test_amendment_must_keep_given_doses_and_indications(world: World) -> None:
    tid = world.trial()
    world.cohort(tid, dose=1)
    world.clock.advance(29)
    world.cohort(tid, dose=2)
    with pytest.raises(ValidationError, match="dose level 2 has been given") as info:
        world.run(
            lambda s: trials.amend_protocol(
                s, world.stat, tid, {**BOIN, "num_doses": 1}, reason="drop doses"
            )
        )
    assert info.value.field == "protocol.num_doses"
    data = load_mapping(shipped_path("steam-cd19-car-t-csle"))
    with pytest.raises(ValidationError, match="without an indication"):
        world.run(lambda s: trials.amend_protocol(s, world.stat, tid, data, reason="switch"))
    with pytest.raises(ValidationError, match="DLT window"):
        world.run(
            lambda s: trials.amend_protocol(
                s, world.stat, tid, {**TITE_BOIN, "tox_window": 21}, reason="to TITE"
            )
        )


def test_amendment_makes_earlier_decisions_stale(world: World) -> None:
    tid = world.trial()
    d = world.decide(tid)
    world.run(
        lambda s: trials.amend_protocol(s, world.stat, tid, {**BOIN, "max_n": 15}, reason="N to 15")
    )
    pid = world.patient(tid)
    with pytest.raises(Conflict, match="earlier protocol version"):
        world.enrol(pid, 1, decision_id=d.id)
    d2 = world.decide(tid)
    assert d2.protocol_version_id != d.protocol_version_id
    world.enrol(pid, 1)


def test_sites_and_visibility(world: World) -> None:
    t1 = world.trial()
    t2 = world.run(
        lambda s: trials.create_trial(s, world.stat, code="OTHER", title="x", protocol=BOIN)
    ).id
    with pytest.raises(Conflict, match="already takes part"):
        world.run(lambda s: trials.activate_site(s, world.stat, t1, world.site_a))
    with pytest.raises(ValidationError) as info:
        world.run(lambda s: trials.activate_site(s, world.stat, t1, 999))
    assert info.value.field == "site_id"
    with world.db.session() as s:
        assert {t.id for t in trials.list_trials(s, world.inv_a)} == {t1}
        assert {t.id for t in trials.list_trials(s, world.monitor)} == {t1, t2}
        assert [x.code for x in trials.list_trial_sites(s, world.inv_a, t1)] == ["SA", "SB"]
        with pytest.raises(NotFound):
            trials.get_trial(s, world.inv_a, t2)
        assert trials.get_trial(s, world.dm, t2).code == "OTHER"
        with pytest.raises(NotFound):
            decisions.recommend(s, world.inv_a, t2)


@pytest.mark.parametrize("role", ["investigator", "data_manager", "monitor"])
def test_trial_management_refused(world: World, role: str) -> None:
    actor = world.actors[role]
    tid = world.trial(open_=False)
    before = world.snapshot_counts()
    ops = [
        lambda s: trials.create_trial(s, actor, code="X", title="x", protocol=BOIN),
        lambda s: trials.amend_protocol(s, actor, tid, BOIN, reason="r r r"),
        lambda s: trials.open_trial(s, actor, tid),
        lambda s: trials.close_trial(s, actor, tid, reason="r r r"),
        lambda s: trials.activate_site(s, actor, tid, world.site_a),
    ]
    for op in ops:
        with pytest.raises(Forbidden):
            world.run(op)
    world.run(lambda s: trials.open_trial(s, world.stat, tid))
    for op in (
        lambda s: trials.suspend_accrual(s, actor, tid, reason="r r r"),
        lambda s: trials.resume_accrual(s, actor, tid, reason="r r r"),
    ):
        with pytest.raises(Forbidden):
            world.run(op)
    assert world.snapshot_counts()["trials"] == before["trials"]


def test_parse_protocol_rejects_non_mappings() -> None:
    with pytest.raises(ValidationError):
        parse_protocol("boin")
