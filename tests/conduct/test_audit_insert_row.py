"""``audit.insert_row``: a Core ``INSERT … RETURNING id`` recorded in the audit trail exactly as
the ORM flush records the same new row (the services' light path for new records)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict
from doseladder.conduct.models import (
    AdverseEvent,
    AuditEvent,
    Base,
    DLTProposal,
    LymphodepletionDose,
)

from .conftest import World

AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def _cases(tid: int, pid: int, user: int | None) -> list[tuple[type[Base], dict[str, Any]]]:
    common = {"trial_id": tid, "patient_id": pid}
    versioned = common | {
        "version": 1,
        "voided": False,
        "change_reason": None,
        "entered_at": AT,
        "entered_by_id": user,
    }
    return [
        (
            AdverseEvent,
            versioned
            | {
                "term": "Headache",
                "grade": 2,
                "onset_date": date(2026, 3, 1),
                "resolved_date": None,
                "serious": False,
                "relatedness": "possible",
                "dlt_candidate": True,
                "grade_scale": "CTCAE v5.0",
                "grading": {"method": "definition", "form": {"grade": 2}, "x": [1.5, None]},
            },
        ),
        (  # columns left out are NULL in both paths
            AdverseEvent,
            versioned
            | {
                "term": "Nausea",
                "grade": 1,
                "onset_date": date(2026, 3, 2),
                "serious": True,
                "dlt_candidate": False,
            },
        ),
        (
            DLTProposal,
            common
            | {
                "status": "not_yet_known",
                "rule": "window open",
                "adverse_event_id": None,
                "dlt_day": 2.5,
                "message": "Pending: ‘ünïcode’",
                "assessment": {"event_calls": {"3": "pending"}},
                "proposed_at": AT,
                "proposed_by_id": user,
            },
        ),
        (
            LymphodepletionDose,
            versioned
            | {
                "agent": "fludarabine",
                "given_on": date(2026, 2, 27),
                "dose": Decimal("30.1250"),
                "unit": "mg/m2",
                "note": None,
            },
        ),
    ]


def _event(s: Session, table: str, row_id: int) -> AuditEvent:
    ev = s.scalars(
        select(AuditEvent).where(
            AuditEvent.entity_type == table, AuditEvent.entity_id == str(row_id)
        )
    ).one()
    return ev


def _write(world: World, light: bool, model: type[Base], values: dict[str, Any]) -> int:
    def fn(s: Session) -> int:
        s.info["actor"] = world.dm
        with audit.reason(s, "entered from the source document"):
            if light:
                row: Any = audit.insert_row(s, model, **values)
            else:
                row = model(**values)
                s.add(row)
                s.flush()
        assert row.id is not None
        return int(row.id)

    result: int = world.run(fn)
    return result


def test_light_insert_records_the_same_event_as_the_flush(world: World) -> None:
    tid = world.trial()
    pid = world.patient(tid)
    for model, values in _cases(tid, pid, world.dm.user_id):
        orm_id = _write(world, False, model, values)
        light_id = _write(world, True, model, values)
        assert orm_id != light_id
        table = model.__tablename__
        with world.db.session() as s:
            by_orm, by_light = _event(s, table, orm_id), _event(s, table, light_id)
            for column in ("chain", "actor_user_id", "actor_username", "trial_id", "entity_type",
                           "action", "reason"):  # fmt: skip
                assert getattr(by_light, column) == getattr(by_orm, column), (table, column)
            assert by_light.seq == by_orm.seq + 1
            orm, light = json.loads(by_orm.payload), json.loads(by_light.payload)
            assert orm.keys() == light.keys()
            for key in orm.keys() - {"seq", "ts", "entity_id", "new"}:
                assert light[key] == orm[key], (table, key)
            assert (orm["entity_id"], light["entity_id"]) == (str(orm_id), str(light_id))
            assert orm["new"]["id"] == orm_id and light["new"]["id"] == light_id
            assert orm["new"].keys() == light["new"].keys() == {c.name for c in model.__table__.c}
            for key in orm["new"].keys() - {"id"}:
                assert light["new"][key] == orm["new"][key], (table, key)
            # the stored rows are the same too
            a, b = s.get(model, orm_id), s.get(model, light_id)
            for c in model.__table__.c:
                if c.name != "id":
                    assert getattr(a, c.key) == getattr(b, c.key), (table, c.name)
    with world.db.session() as s:
        result = audit.verify(s)
    assert result.ok, result.problem or result.data_problems


def test_light_row_is_persistent_and_tracked(world: World) -> None:
    tid = world.trial()
    pid = world.patient(tid)
    model, values = _cases(tid, pid, world.dm.user_id)[0]
    seen: list[int] = []

    def fn(s: Session) -> None:
        s.info["actor"] = world.dm
        row: Any = audit.insert_row(s, model, **values)
        seen.append(row.id)
        assert s.get(model, row.id) is row  # in the identity map, as after a flush
        assert row not in s.new and row not in s.dirty
        row.resolved_date = date(2026, 3, 9)  # tracked: the flush sends an UPDATE ...
        assert row in s.dirty
        s.flush()

    with pytest.raises((Conflict, DBAPIError)) as caught:  # ... the append-only trigger refuses
        world.run(fn)
    assert "append-only" in str(caught.value.__cause__ or caught.value)
    with world.db.session() as s:  # and the whole transaction rolled back
        assert s.get(model, seen[0]) is None
        assert audit.history(s, model.__tablename__, seen[0]) == []


def test_light_insert_keeps_the_order_of_pending_changes(world: World) -> None:
    tid = world.trial()
    pid = world.patient(tid)
    (_, first), (_, second) = _cases(tid, pid, world.dm.user_id)[:2]

    def fn(s: Session) -> tuple[int, int]:
        s.info["actor"] = world.dm
        pending = AdverseEvent(**first)
        s.add(pending)  # not flushed yet: insert_row flushes it first
        row = audit.insert_row(s, AdverseEvent, **second)
        return int(pending.id), int(row.id)

    a, b = world.run(fn)
    with world.db.session() as s:
        assert _event(s, "adverse_events", a).seq + 1 == _event(s, "adverse_events", b).seq


def test_light_insert_refusals(world: World) -> None:
    tid = world.trial()
    pid = world.patient(tid)
    model, values = _cases(tid, pid, world.dm.user_id)[0]

    def unknown(s: Session) -> None:
        s.info["actor"] = world.dm
        audit.insert_row(s, model, **values, nonsense=1)

    with pytest.raises(TypeError, match="nonsense"):
        world.run(unknown)

    def unattributed(s: Session) -> None:
        audit.insert_row(s, model, **values)

    with pytest.raises(RuntimeError, match="unattributed"):
        world.run(unattributed)

    def in_autocommit(s: Session) -> None:
        s.info["actor"] = world.dm
        audit.insert_row(s, model, **values)

    with pytest.raises(RuntimeError, match="autocommit"):
        world.db.run(in_autocommit, autocommit=True)
    with world.db.session() as s:  # nothing was written
        assert s.scalars(select(AdverseEvent).where(AdverseEvent.patient_id == pid)).all() == []
