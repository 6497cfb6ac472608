"""The commit path's fast code writes exactly what the reference code wrote (kept here as it
was): :func:`audit.jsonable` and :func:`audit.canonical_json`, the bare instance
:func:`audit.insert_row` returns, and every audit row, head and signature :func:`audit.append`
stores (on SQLite and PostgreSQL), with the anchors of the same commits."""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, make_transient_to_detached

from doseladder.conduct import Database, audit
from doseladder.conduct.models import (
    AdverseEvent,
    AuditEvent,
    AuditHead,
    AuditSignature,
    Base,
    DLTProposal,
    EfficacyAssessment,
    LymphodepletionDose,
)
from doseladder.conduct.sealing import FileAnchorStore, Sealer, anchor_record
from doseladder.conduct.security import Actor
from doseladder.conduct.services import outcomes
from doseladder.conduct.signing import Ed25519Signer

from .conftest import Clock, enrolled, make_world


# ------------------------------------------------------------------ the reference code
def reference_jsonable(value: Any) -> Any:
    """``audit.jsonable`` before the fast paths."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): reference_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [reference_jsonable(v) for v in items]
    raise TypeError(f"cannot record a {type(value).__name__} in the audit trail")


def reference_canonical(obj: Any) -> str:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def reference_rows(
    events: list[dict[str, Any]], heads: Mapping[str, tuple[int, str]], ts: datetime
) -> tuple[list[dict[str, Any]], list[tuple[str, int, int, str]]]:
    """The audit rows and ``(chain, first, last, head)`` of ``audit.append`` before the fast
    paths, for the heads it found and its clock reading."""
    by_chain: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        by_chain.setdefault(audit.chain_of(ev["trial_id"]), []).append(ev)
    ts_json = reference_jsonable(ts)
    rows: list[dict[str, Any]] = []
    touched: list[tuple[str, int, int, str]] = []
    for chain in sorted(by_chain):
        seq, prev = heads[chain]
        first = seq + 1
        for ev in by_chain[chain]:
            seq += 1
            actor: Actor = ev["actor"]
            body = {
                "chain": chain,
                "seq": seq,
                "ts": ts_json,
                "actor": {
                    "user_id": actor.user_id,
                    "username": actor.username,
                    "role": actor.role.value,
                },
                "trial_id": ev["trial_id"],
                "entity_type": ev["entity_type"],
                "entity_id": ev["entity_id"],
                "action": ev["action"],
                "reason": ev["reason"],
                "old": ev["old"],
                "new": ev["new"],
            }
            payload = reference_canonical(body)
            digest = hashlib.sha256(f"{prev}\n{payload}".encode()).hexdigest()
            rows.append(
                {
                    "chain": chain,
                    "seq": seq,
                    "ts": ts,
                    "actor_user_id": actor.user_id,
                    "actor_username": actor.username,
                    "trial_id": ev["trial_id"],
                    "entity_type": ev["entity_type"],
                    "entity_id": ev["entity_id"],
                    "action": ev["action"],
                    "reason": ev["reason"],
                    "payload": payload,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        touched.append((chain, first, seq, prev))
    return rows, touched


# ------------------------------------------------------------------ jsonable, canonical JSON
class _Colour(enum.StrEnum):
    RED = "red"


class _Level(enum.IntEnum):
    HIGH = 3


_zones = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=-5, minutes=-30)), ZoneInfo("Europe/Paris")]
)
_datetimes = st.builds(lambda d, tz: d.replace(tzinfo=tz), st.datetimes(), _zones)
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**200), 2**200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec=None)),  # surrogates too
    st.decimals(allow_nan=False),
    _datetimes,
    st.dates(),
    st.sampled_from([_Colour.RED, _Level.HIGH, True, False, -0.0]),
)
_keys = st.one_of(st.text(max_size=8), st.integers(-5, 5), st.just(_Colour.RED))
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_keys, inner, max_size=4),
        st.dictionaries(st.text(max_size=5), inner, max_size=3).map(OrderedDict),
        st.frozensets(st.integers(), max_size=4),
        st.sets(st.text(max_size=4), max_size=4),
    ),
    max_leaves=20,
)


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (``1 == 1.0 == True`` is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and str(a) == str(b))
    return bool(a == b)


@settings(max_examples=400, deadline=None)
@given(value=_values)
def test_jsonable_equals_the_reference(value: Any) -> None:
    assert _same(audit.jsonable(value), reference_jsonable(value))


def test_jsonable_refuses_what_the_reference_refuses() -> None:
    for bad in (object(), b"bytes", {"k": [1, object()]}, [{1j}]):
        with pytest.raises(TypeError) as fast:
            audit.jsonable(bad)
        with pytest.raises(TypeError) as ref:
            reference_jsonable(bad)
        assert str(fast.value) == str(ref.value)


@settings(max_examples=300, deadline=None)
@given(value=_values)
def test_canonical_json_equals_the_reference(value: Any) -> None:
    obj = reference_jsonable(value)
    try:
        expected: str | type[Exception] = reference_canonical(obj)
    except (ValueError, TypeError) as exc:  # NaN / infinity refused, keys not sortable
        expected = type(exc)
    if isinstance(expected, str):
        assert audit.canonical_json(obj) == expected
    else:
        with pytest.raises(expected):
            audit.canonical_json(obj)


# ------------------------------------------------------------------ insert_row's bare instance
AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
_ROWS: list[tuple[type[Base], dict[str, Any]]] = [
    (
        AdverseEvent,
        {
            "trial_id": 1,
            "patient_id": 2,
            "version": 1,
            "voided": False,
            "entered_at": AT,
            "term": "Headache",
            "grade": 2,
            "onset_date": date(2026, 3, 1),
            "serious": False,
            "dlt_candidate": True,
            "grading": {"method": "definition", "x": [1.5, None]},
        },
    ),
    (
        DLTProposal,
        {
            "trial_id": 1,
            "patient_id": 2,
            "status": "not_yet_known",
            "rule": "r",
            "dlt_day": 2.5,
            "message": "‘ünïcode’",
            "assessment": {"a": 1},
            "proposed_at": AT,
        },
    ),
    (
        LymphodepletionDose,
        {
            "trial_id": 1,
            "patient_id": 2,
            "version": 1,
            "voided": False,
            "entered_at": AT,
            "agent": "fludarabine",
            "given_on": date(2026, 2, 27),
            "dose": Decimal("30.1250"),
            "unit": "mg/m2",
        },
    ),
    (
        EfficacyAssessment,
        {"trial_id": 1, "patient_id": 2, "version": 1, "voided": False, "entered_at": AT},
    ),
]


def _state(obj: Any) -> dict[str, Any]:
    st_ = inspect(obj)
    return {
        "dict": {k: v for k, v in st_.dict.items() if k != "_sa_instance_state"},
        "committed": dict(st_.committed_state),
        "key": st_.key,
        "expired": set(st_.expired_attributes),
        "modified": st_.modified,
        "callables": dict(st_.callables),
        "unloaded": set(st_.unloaded),
        "class": type(obj),
    }


@pytest.mark.parametrize(("model", "values"), _ROWS)
def test_bare_instance_equals_the_constructed_one(
    model: type[Base], values: dict[str, Any]
) -> None:
    plan = audit._insert_plan(model)
    assert plan.manager is not None  # these models take the bare-instance path
    full = {key: values.get(key) for _, key in plan.columns} | {"id": 42}
    built = model(**full)
    make_transient_to_detached(built)
    bare = plan.manager.new_instance()
    bare.__dict__.update(full)
    make_transient_to_detached(bare)
    assert _state(bare) == _state(built)


# ------------------------------------------------------------------ append, signatures, anchors
def test_every_stored_audit_byte_equals_the_reference(
    db_url: str, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = Ed25519Signer.generate()
    anchors = FileAnchorStore(tmp_path / "anchors.jsonl")
    sealer = Sealer(signer=signer, anchors=anchors, database="test")
    checked: list[int] = []
    real_append = audit.append

    def checked_append(
        session: Session, events: list[dict[str, Any]], *, signer: Any = None
    ) -> list[tuple[str, int, int, str]]:
        touched = real_append(session, events, signer=signer)
        e, sig = AuditEvent.__table__.c, AuditSignature.__table__.c
        stored: list[dict[str, Any]] = []
        found: dict[str, tuple[int, str]] = {}
        for chain, first, last, _ in touched:
            got = [
                dict(r)
                for r in session.execute(
                    select(AuditEvent.__table__)
                    .where(e.chain == chain, e.seq >= first, e.seq <= last)
                    .order_by(e.seq)
                ).mappings()
            ]
            found[chain] = (first - 1, got[0]["prev_hash"])
            stored.extend(got)
        rows, expected_touched = reference_rows(events, found, stored[0]["ts"])
        assert touched == expected_touched
        assert [{k: r[k] for k in rows[0]} for r in stored] == rows
        for chain, first, last, head in touched:
            h = session.execute(
                select(AuditHead.__table__).where(AuditHead.__table__.c.chain == chain)
            ).one()
            assert (h.seq, h.hash) == (last, head)
            if signer is not None:
                s = session.execute(
                    select(AuditSignature.__table__).where(sig.chain == chain, sig.last_seq == last)
                ).one()
                message = reference_canonical(
                    {"type": "doseladder-audit-signature", "v": 2, "first_seq": first,
                     "last_seq": last, "hash": head, "key_id": signer.key_id, "chain": chain}
                ).encode()  # fmt: skip
                expected_signature = signer.sign(message)
                assert (s.first_seq, s.head_hash, s.key_id) == (first, head, signer.key_id)
                assert s.signature == base64.b64encode(expected_signature).decode()
        checked.append(len(rows))
        return touched

    monkeypatch.setattr(audit, "append", checked_append)
    db = Database(db_url, clock=clock, pool_size=4, sealer=sealer)
    try:
        world = make_world(db, clock)
        tid, pid = enrolled(world)
        tid2, pid2 = enrolled(world)

        def adverse_event(s: Session, i: int) -> None:
            outcomes.record_adverse_event(
                s, world.inv_a, (pid, pid2)[i % 2], term="Headache", grade=1 + i % 3,
                onset_date=world.clock.today(), serious=i == 4,
            )  # fmt: skip

        for i in range(6):
            world.run(functools.partial(adverse_event, i=i))

        def two_chains(s: Session) -> None:  # one transaction, three chains, odd values
            s.info["actor"] = world.dm
            audit.log_event(s, "note", trial_id=tid, data={"ü": "\u2028\x00\"'", "n": 2**70})
            audit.log_event(s, "note", trial_id=None, reason="é", data={"x": [1.5, None, True]})
            audit.log_event(s, "note", trial_id=tid2, data={"when": AT, "d": date(2026, 1, 2)})

        world.run(two_chains)
        with db.session() as s:
            result = audit.verify(s, keys={signer.key_id: signer.public_key}, anchors=anchors)
        assert result.ok, (result.problem, result.data_problems)
    finally:
        db.dispose()
    assert len(checked) > 10 and sum(checked) > len(checked)  # the checks ran, multi-row too
    lines = (tmp_path / "anchors.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) == len(checked)  # one anchor per commit (no interval)
    for line in lines:
        rec = json.loads(line)
        assert (
            line
            == (
                json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
            ).encode()
        )
        heads = {c: (s, h) for c, (s, h) in rec["heads"].items()}
        assert rec == anchor_record(signer, heads=heads, database="test", at=rec["at"])


# ------------------------------------------------------------------ insert_row as driver SQL
@pytest.mark.parametrize("model", [AdverseEvent, DLTProposal, LymphodepletionDose])
def test_postgresql_inserts_are_sent_as_driver_sql(model: type[Base]) -> None:
    plan = audit._insert_plan(model)
    driver = audit._driver_insert(plan, psycopg_dialect())  # type: ignore[no-untyped-call]
    assert driver  # the light path is the one the PostgreSQL tests of insert_row exercise
    sql, _ = driver
    assert sql.startswith(f"INSERT INTO {model.__tablename__} (") and "RETURNING" in sql
    assert audit._driver_insert(plan, sqlite_dialect()) == ()


def test_a_refused_value_is_reported_as_before(db: Database) -> None:
    world = make_world(db, db.clock)  # type: ignore[arg-type]
    tid, pid = enrolled(world)
    values = dict(_ROWS[0][1], trial_id=tid, patient_id=pid, entered_at=datetime(2026, 1, 1))

    def naive(s: Session) -> None:
        s.info["actor"] = world.dm
        audit.insert_row(s, AdverseEvent, **values)

    with pytest.raises(StatementError) as caught:
        world.run(naive)
    assert isinstance(caught.value.orig, ValueError)
    assert "naive datetime" in str(caught.value)
