"""The append-only, hash-chained audit trail.

Every insert or update of a mapped row is captured automatically when the session flushes
(who, what, old → new value, reason) and appended to the chain in the same transaction, just
before it commits: if the transaction rolls back, neither the change nor its audit record
exists.  Deleting rows through a session is refused.  :func:`insert_row` inserts a new row
without the ORM unit of work and records the same event as the flush would.

Chains: each trial's events form their own chain (``"trial:<id>"``), events of no trial the
``"global"`` chain, and events written before per-trial chains (migration 0007) the frozen
``"legacy"`` chain.  Format (one :class:`~doseladder.conduct.models.AuditEvent` per change)::

    payload = canonical_json({"chain", "seq", "ts", "actor": {"user_id", "username", "role"},
                              "trial_id", "entity_type", "entity_id", "action",
                              "reason", "old", "new"})     # legacy events: no "chain"
    hash    = sha256_hex(prev_hash + "\\n" + payload)        # a chain's first prev_hash = "0" * 64

``seq`` numbers the events of a chain (1, 2, ...); ``id`` is the global insertion order.
``canonical_json`` is JSON with sorted keys, no insignificant whitespace, UTF-8, no NaN.  One
``audit_chain_heads`` row per chain holds its last ``seq`` and ``hash``; appending locks the
heads of the chains a transaction writes to (``SELECT … FOR UPDATE`` in chain order on
PostgreSQL; SQLite write transactions are serialised anyway), so each chain is a total order
even with many concurrent writers, and writers to different trials never wait for each other.
The heads are taken last in a transaction, after any trial lock, so lock order is always
trial → heads (no deadlocks).  They are held until the commit, so on PostgreSQL the events,
the heads and the signatures are written in one statement after taking them (see
:func:`append`).

:func:`verify` walks every chain and reports the first broken link (a changed, removed,
inserted, reordered or moved event) and then compares every table with the state the trail
says it should have (catching changes made behind the application's back).
:func:`certified_copy` exports the whole trail with its heads and a digest; :func:`verify_copy`
checks such a file on its own.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, event, insert, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached

from doseladder import __version__
from doseladder.conduct.models import AuditEvent, AuditHead, AuditKey, AuditSignature, Base
from doseladder.conduct.sealing import AnchorStore, Sealer, verify_record
from doseladder.conduct.security import SYSTEM, Actor
from doseladder.conduct.signing import Signer, key_id, sign_b64, verify_signature

__all__ = [
    "GENESIS_HASH",
    "VerifyResult",
    "canonical_json",
    "certified_copy",
    "chain_hash",
    "chain_head",
    "chain_of",
    "has_pending",
    "heads_digest",
    "history",
    "insert_row",
    "install",
    "log_event",
    "reason",
    "seal",
    "signature_message",
    "snapshot",
    "verify",
    "verify_copy",
]

GENESIS_HASH = "0" * 64
LEGACY_CHAIN = "legacy"
GLOBAL_CHAIN = "global"
COPY_FORMAT = "doseladder-audit-certified-copy"
_PENDING = "audit_pending"
#: ``session.info`` key: the session runs in autocommit (no audited change may be written)
AUTOCOMMIT = "doseladder_autocommit"
_REASON = "audit_reason"
_SEALED = "audit_sealed"
_SKIP_TABLES = frozenset(
    {
        "audit_chain_heads",
        "audit_events",
        "audit_signatures",
        "idempotency_keys",
        "session_activity",
    }
)
log = logging.getLogger("doseladder.audit")
B = TypeVar("B", bound=Base)
_EVENTS = cast(Table, AuditEvent.__table__)
_HEADS = cast(Table, AuditHead.__table__)
_SIGNATURES = cast(Table, AuditSignature.__table__)
#: the ``init`` hook every mapper installs (private to SQLAlchemy: if it is not found, no
#: model takes :func:`insert_row`'s bare-instance path)
_MAPPER_INIT_HOOK = getattr(importlib.import_module("sqlalchemy.orm.mapper"), "_event_on_init", 0)


# ------------------------------------------------------------------ encoding
#: the types :func:`jsonable` returns as they are (exactly these types: a subclass, e.g. a
#: ``StrEnum`` member, takes the general path and comes out the same)
_PLAIN = frozenset({str, int, bool, float})


def jsonable(value: Any) -> Any:
    """A JSON-compatible form of a column value (UTC ISO timestamps, ISO dates)."""
    cls = type(value)
    if cls in _PLAIN or value is None:
        return value
    # the common containers and UTC timestamps at once (the same as :func:`_jsonable`)
    if cls is dict:
        return {
            str(k): v if type(v) in _PLAIN or v is None else jsonable(v) for k, v in value.items()
        }
    if cls is list:
        return [v if type(v) in _PLAIN or v is None else jsonable(v) for v in value]
    if cls is datetime and value.tzinfo is UTC:
        return value.isoformat()  # ``astimezone(UTC)`` of a UTC timestamp is itself
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    """:func:`jsonable`, every case."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)  # exact (a dose given, ``Numeric`` columns)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [jsonable(v) for v in items]
    raise TypeError(f"cannot record a {type(value).__name__} in the audit trail")


#: built once (``json.dumps`` with these options builds the same encoder at every call)
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(obj: Any) -> str:
    """Sorted keys, compact separators, UTF-8 text, NaN/Infinity refused."""
    return _CANONICAL.encode(obj)


def chain_hash(prev_hash: str, payload: str) -> str:
    """``sha256_hex(prev_hash + "\\n" + payload)``."""
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


def _redacted(value: Any) -> str | None:
    if value is None:
        return None
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()


def _column_value(column: Any, value: Any) -> Any:
    if column.info.get("redact"):
        return _redacted(value)
    return jsonable(value)


def snapshot(obj: Base) -> dict[str, Any]:
    """Every column of a mapped object as recorded in the trail (secrets as digests)."""
    table = obj.__table__
    mapper = inspect(type(obj))
    out: dict[str, Any] = {}
    for column in table.columns:
        attr = mapper.get_property_by_column(column).key
        out[column.name] = _column_value(column, getattr(obj, attr))
    return out


def row_snapshot(table: Any, row: Mapping[Any, Any]) -> dict[str, Any]:
    """:func:`snapshot` of a row read with a Core ``select`` of ``table``."""
    return {c.name: _column_value(c, row[c.name]) for c in table.columns}


# ------------------------------------------------------------------- capture
def _actor(session: Session) -> Actor:
    actor = session.info.get("actor")
    if not isinstance(actor, Actor):
        raise RuntimeError("unattributed change: no actor set on the session")
    return actor


def _pk(obj: Base) -> str:
    ident = inspect(type(obj)).primary_key_from_instance(obj)
    if any(v is None for v in ident):
        raise RuntimeError("object without primary key after flush")
    return ",".join(str(v) for v in ident)


def chain_of(trial_id: int | None) -> str:
    """The chain of an event: ``"trial:<id>"`` for a trial's events, else ``"global"``."""
    return GLOBAL_CHAIN if trial_id is None else f"trial:{trial_id}"


def _chain_order(chain: str) -> tuple[int, int, str]:
    """Legacy first, then global, then the trials by id (the order state is rebuilt in)."""
    if chain == LEGACY_CHAIN:
        return (0, 0, chain)
    if chain == GLOBAL_CHAIN:
        return (1, 0, chain)
    tail = chain.removeprefix("trial:")
    return (2, int(tail), chain) if tail.isdigit() else (3, 0, chain)


def heads_digest(heads: Mapping[str, tuple[int, str]]) -> str:
    """SHA-256 of the canonical JSON of ``{chain: [seq, hash]}`` (one hash for every head)."""
    body = {c: [int(s), str(h)] for c, (s, h) in heads.items()}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def _trial_id(obj: Base) -> int | None:
    return _trial_of(obj.__tablename__, getattr(obj, "id", None), getattr(obj, "trial_id", None))


def _trial_of(table_name: str, row_id: Any, trial_id: Any) -> int | None:
    """The trial an event of a row of ``table_name`` belongs to (a trial row: its own id)."""
    value = row_id if table_name == "trials" else trial_id
    return value if isinstance(value, int) else None


def _created(
    session: Session, table_name: str, trial_id: int | None, entity_id: str, new: dict[str, Any]
) -> dict[str, Any]:
    """The pending audit record of a new row (the flush and :func:`insert_row` alike)."""
    return {
        "actor": _actor(session),
        "trial_id": trial_id,
        "entity_type": table_name,
        "entity_id": entity_id,
        "action": "create",
        "reason": session.info.get(_REASON),
        "old": None,
        "new": new,
    }


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        raise RuntimeError(
            f"records are never deleted: refusing to delete {type(obj).__name__} (void or "
            "supersede it instead)"
        )


def _after_flush(session: Session, flush_context: Any) -> None:
    pending: list[dict[str, Any]] = session.info.setdefault(_PENDING, [])
    why = session.info.get(_REASON)
    for obj in session.new:
        if not isinstance(obj, Base) or obj.__tablename__ in _SKIP_TABLES:
            continue
        pending.append(
            _created(session, obj.__tablename__, _trial_id(obj), _pk(obj), snapshot(obj))
        )
    for obj in session.dirty:
        if not isinstance(obj, Base) or obj.__tablename__ in _SKIP_TABLES:
            continue
        state = inspect(obj)
        mapper = state.mapper
        old: dict[str, Any] = {}
        new: dict[str, Any] = {}
        for column in obj.__table__.columns:
            attr = mapper.get_property_by_column(column).key
            hist = state.attrs[attr].history
            if not hist.has_changes():
                continue
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if _column_value(column, before) == _column_value(column, after):
                continue
            old[column.name] = _column_value(column, before)
            new[column.name] = _column_value(column, after)
        if not new:
            continue
        actor = _actor(session)
        pending.append(
            {
                "actor": actor,
                "trial_id": _trial_id(obj),
                "entity_type": obj.__tablename__,
                "entity_id": _pk(obj),
                "action": "update",
                "reason": why,
                "old": old,
                "new": new,
            }
        )


def _clock(session: Session) -> datetime:
    clock: Callable[[], datetime] | None = session.info.get("clock")
    now = clock() if clock is not None else datetime.now(UTC)
    return now.astimezone(UTC)


def has_pending(session: Session) -> bool:
    """Whether the session holds changes not yet chained (flushed, not committed)."""
    return bool(session.info.get(_PENDING))


def _before_commit(session: Session) -> None:
    session.flush()
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if pending:
        sealer = session.info.get("sealer")
        signer = sealer.signer if isinstance(sealer, Sealer) else None
        chained = append(session, pending, signer=signer)
        if signer is not None:
            session.info[_SEALED] = {c: (last, h) for c, _, last, h in chained}


def _after_commit(session: Session) -> None:
    sealed = session.info.pop(_SEALED, None)
    sealer = session.info.get("sealer")
    if sealed is None or not isinstance(sealer, Sealer):
        return
    try:
        sealer.anchor(sealed)
    except Exception:  # the commit happened: report, never turn it into a failure
        log.exception("could not write the audit anchor for chain heads %s", sealed)


def _discard(session: Session, *args: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_SEALED, None)


def install(session_class: type[Session]) -> None:
    """Attach the capture and append hooks to a session class (done by :mod:`.db`)."""
    event.listen(session_class, "before_flush", _before_flush)
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_commit", _after_commit)
    event.listen(session_class, "after_rollback", _discard)
    event.listen(session_class, "after_soft_rollback", _discard)


@contextmanager
def reason(session: Session, text: str | None) -> Iterator[None]:
    """Attribute the changes flushed inside the block to ``text`` (flushes at the end)."""
    previous = session.info.get(_REASON)
    session.info[_REASON] = text
    try:
        yield
        session.flush()
    finally:
        session.info[_REASON] = previous


def log_event(
    session: Session,
    action: str,
    *,
    entity_type: str = "event",
    entity_id: str | None = None,
    trial_id: int | None = None,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Record an event that is not a row change (e.g. a replay or an export)."""
    session.info.setdefault(_PENDING, []).append(
        {
            "actor": _actor(session),
            "trial_id": trial_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "action": action,
            "reason": reason,
            "old": None,
            "new": jsonable(dict(data or {})),
        }
    )


@dataclass(frozen=True)
class _InsertPlan:
    """How :func:`insert_row` writes a model's rows (built once per model)."""

    table: Table
    #: ``(column key, attribute key)`` of every column but the primary key, in table order
    columns: tuple[tuple[str, str], ...]
    #: whether every column key is its attribute's key (the parameters are then the values)
    same_keys: bool
    #: ``(column name, attribute key, redacted)`` of every column, for the snapshot
    snapshot: tuple[tuple[str, str, bool], ...]
    keys: frozenset[str]
    statement: Any
    #: builds the object without the mapped ``__init__`` (``None``: the model has its own)
    manager: Any
    #: dialect name → :func:`_driver_insert` of the statement (filled at first use)
    driver: dict[str, Any] = field(default_factory=dict, compare=False)


@lru_cache(maxsize=64)
def _insert_plan(model: type[Base]) -> _InsertPlan:
    table = cast(Table, model.__table__)
    configure_mappers()
    mapper = inspect(model)
    pk = list(table.primary_key.columns)
    if len(pk) != 1 or pk[0].name != "id" or table.name in _SKIP_TABLES:
        raise TypeError(f"insert_row: {table.name} has no single ``id`` key or is not audited")
    cols = tuple((c, mapper.get_property_by_column(c).key) for c in table.columns)
    for column, _ in cols:
        if column is not pk[0] and (
            column.default is not None or column.server_default is not None
        ):
            raise TypeError(f"insert_row: {table.name}.{column.name} has a default")
    rest = tuple((c.key, k) for c, k in cols if c is not pk[0])
    manager = mapper.class_manager
    # ``model(**values)`` runs the declarative constructor (``setattr`` of each value, history
    # that ``make_transient_to_detached`` then commits) and the mapper's ``init`` hook, which
    # only configures the mappers and sets a polymorphic identity: a model without either
    # gets the same object from a bare instance with its values in ``__dict__``
    plain = (
        manager.original_init is Base.registry.constructor
        and mapper.polymorphic_on is None
        and not mapper.inherits
        and list(manager.dispatch.init) == [_MAPPER_INIT_HOOK]
        and not list(manager.dispatch.init_failure)
    )
    return _InsertPlan(
        table,
        rest,
        all(c == k for c, k in rest),
        tuple((c.name, k, bool(c.info.get("redact"))) for c, k in cols),
        frozenset(k for _, k in rest),
        insert(table).returning(pk[0]),
        manager if plain else None,
    )


def _driver_insert(plan: _InsertPlan, dialect: Any) -> tuple[str, tuple[Any, ...]] | tuple[()]:
    """PostgreSQL: the SQL text of ``plan.statement`` for a value of every column and the bind
    processors of its columns (what SQLAlchemy's execution of the cached compiled statement
    applies), so that :func:`insert_row` sends it as driver SQL; ``()``: not on this dialect
    (or SQLAlchemy's compiled form is not the plain one relied on)."""
    if dialect.name != "postgresql":
        return ()
    keys = [ckey for ckey, _ in plan.columns]
    compiled = plan.statement.compile(dialect=dialect, column_keys=keys)
    processors = getattr(compiled, "_bind_processors", None)
    if (
        not isinstance(processors, Mapping)
        or compiled.positional
        or getattr(compiled, "escaped_bind_names", None)
        or set(compiled.binds) != set(keys)
        or not all(b.required and b.callable is None for b in compiled.binds.values())
    ):
        return ()
    return compiled.string, tuple((k, processors[k]) for k in keys if k in processors)


def insert_row(session: Session, model: type[B], **values: Any) -> B:
    """Insert one new row of ``model`` with a Core ``INSERT … RETURNING id`` and record it in
    the transaction's audit trail exactly as a flush of ``model(**values)`` would (the same
    event: actor, trial, entity, reason, every column's value) -- without the ORM unit of
    work.

    The row is returned as a persistent object of the session (as after ``session.add`` and a
    flush): later changes to it are flushed, and audited, as usual.  Changes pending in the
    session are flushed first, so the events keep the order of the writes.  Only for models
    whose primary key is ``id`` (generated by the database) and whose columns have no
    defaults (every column not given is ``NULL``, as in the flush)."""
    plan = _insert_plan(model)
    unknown = values.keys() - plan.keys
    if unknown:
        raise TypeError(f"{model.__name__} has no column(s) {sorted(unknown)}")
    if session.info.get(AUTOCOMMIT):
        raise RuntimeError("an autocommit transaction may not change audited records")
    if session.new or session.dirty:
        session.flush()
    get = values.get
    if plan.same_keys:
        full = {key: get(key) for _, key in plan.columns}
        params = full.copy()
    else:
        full = {key: get(key) for _, key in plan.columns}
        params = {ckey: full[key] for ckey, key in plan.columns}
    conn = session.connection()
    driver = plan.driver.get(conn.dialect.name)
    if driver is None:
        driver = plan.driver[conn.dialect.name] = _driver_insert(plan, conn.dialect)
    if driver:
        sql, processors = driver
        try:
            for key, process in processors:
                params[key] = process(params[key])
        except Exception:  # a value refused: SQLAlchemy reports it as it always did
            params = {ckey: full[key] for ckey, key in plan.columns}
            new_id = conn.execute(plan.statement, params).scalar_one()
        else:
            new_id = conn.exec_driver_sql(sql, params).scalar_one()
    else:
        new_id = conn.execute(plan.statement, params).scalar_one()
    full["id"] = new_id
    obj: B
    if plan.manager is not None:
        obj = plan.manager.new_instance()
        obj.__dict__.update(full)
    else:
        obj = model(**full)
    make_transient_to_detached(obj)
    session.add(obj)
    table_name = plan.table.name
    new: dict[str, Any] = {}
    for name, key, redact in plan.snapshot:
        value = full[key]
        if redact:
            new[name] = _redacted(value)
        elif value is None or type(value) in _PLAIN:
            new[name] = value
        else:
            new[name] = jsonable(value)
    session.info.setdefault(_PENDING, []).append(
        _created(
            session,
            table_name,
            _trial_of(table_name, new_id, full.get("trial_id")),
            str(new_id),
            new,
        )
    )
    return obj


_ONE_STATEMENT_MAX_EVENTS = 500
_EVENT_COLUMNS = (
    "chain",
    "seq",
    "ts",
    "actor_user_id",
    "actor_username",
    "trial_id",
    "entity_type",
    "entity_id",
    "action",
    "reason",
    "payload",
    "prev_hash",
    "hash",
)
_SIGNATURE_COLUMNS = (
    "chain",
    "first_seq",
    "last_seq",
    "head_hash",
    "key_id",
    "signature",
    "signed_at",
)


@lru_cache(maxsize=256)
def _one_statement_sql(n_events: int, n_signatures: int, n_heads: int) -> str:
    """PostgreSQL: insert ``n_events`` audit events (and ``n_signatures`` signatures) and move
    ``n_heads`` chain heads, in one statement (psycopg ``%(name)s`` parameters
    ``e<i>_<column>``, ``s<i>_<column>``, ``h<i>_chain/seq/hash``, ``head_at``)."""
    values = ", ".join(
        "(" + ", ".join(f"%(e{i}_{c})s" for c in _EVENT_COLUMNS) + ")" for i in range(n_events)
    )
    parts = [f"ev AS (INSERT INTO audit_events ({', '.join(_EVENT_COLUMNS)}) VALUES {values})"]
    if n_signatures:
        sigs = ", ".join(
            "(" + ", ".join(f"%(s{i}_{c})s" for c in _SIGNATURE_COLUMNS) + ")"
            for i in range(n_signatures)
        )
        parts.append(
            f"sig AS (INSERT INTO audit_signatures ({', '.join(_SIGNATURE_COLUMNS)}) VALUES {sigs})"
        )
    heads = ", ".join(
        f"(%(h{i}_chain)s::varchar, %(h{i}_seq)s::integer, %(h{i}_hash)s::varchar)"
        for i in range(n_heads)
    )
    return (
        "WITH " + ", ".join(parts) + " UPDATE audit_chain_heads AS h SET seq = v.seq, "
        f"hash = v.hash, updated_at = %(head_at)s FROM (VALUES {heads}) AS v(chain, seq, hash) "
        "WHERE h.chain = v.chain"
    )


#: the chain heads named by ``chains``, locked in sorted order (built once: a statement built
#: per commit cost more CPU than running it)
_LOCK_HEADS = (
    select(_HEADS.c.chain, _HEADS.c.seq, _HEADS.c.hash)
    .where(_HEADS.c.chain.in_(bindparam("chains", expanding=True)))
    .order_by(_HEADS.c.chain)
    .with_for_update()
)


@lru_cache(maxsize=64)
def _pg_lock_heads(n: int) -> tuple[str, tuple[str, ...]]:
    """:data:`_LOCK_HEADS` for ``n`` chains as PostgreSQL driver SQL, and its parameter names
    (one scalar parameter per chain, as SQLAlchemy expands the list: psycopg adapts a list
    parameter as an array at a higher cost)."""
    names = tuple(f"c{i}" for i in range(n))
    chains = ", ".join(f"%({name})s::VARCHAR" for name in names)
    return (
        f"SELECT chain, seq, hash FROM audit_chain_heads WHERE chain IN ({chains}) "
        "ORDER BY chain FOR UPDATE",
        names,
    )


def _lock_heads(session: Session, chains: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Lock the head rows of ``chains`` (in sorted order, so never a deadlock), creating the
    genesis head of a chain not seen before; returns ``{chain: (seq, hash)}``."""
    conn = session.connection()
    if chains and conn.dialect.name == "postgresql":  # the same statement as driver SQL
        sql, names = _pg_lock_heads(len(chains))
        rows = conn.exec_driver_sql(sql, dict(zip(names, chains, strict=True)))
    else:
        rows = conn.execute(_LOCK_HEADS, {"chains": list(chains)})
    found = {str(chain): (int(seq), str(h)) for chain, seq, h in rows}
    missing = [c for c in chains if c not in found]
    if missing:
        name = session.get_bind().dialect.name
        ins: Any = pg_insert(_HEADS) if name == "postgresql" else sqlite_insert(_HEADS)
        session.execute(
            ins.on_conflict_do_nothing(),
            [{"chain": c, "seq": 0, "hash": GENESIS_HASH} for c in missing],
        )
        found.update(
            {
                str(r.chain): (int(r.seq), str(r.hash))
                for r in session.execute(_LOCK_HEADS, {"chains": missing})
            }
        )
    return found


def append(
    session: Session, events: list[dict[str, Any]], *, signer: Signer | None = None
) -> list[tuple[str, int, int, str]]:
    """Chain ``events`` onto the heads of their chains (locking those heads only) and insert
    them; moves the heads and, with a ``signer``, stores one signature per chain touched
    (:func:`seal`).

    A trial's events go to the trial's chain, so writers to different trials never wait for
    each other.  The head rows stay locked until the commit, so everything after the lock is
    kept short: on PostgreSQL the events, the new heads and the signatures are written in one
    statement (data-modifying ``WITH`` clauses, all executed in full).

    Returns ``(chain, first seq, last seq, new head hash)`` for every chain touched."""
    by_chain: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        by_chain.setdefault(chain_of(ev["trial_id"]), []).append(ev)
    chains = sorted(by_chain)
    heads = _lock_heads(session, chains)
    ts = _clock(session)
    ts_json = jsonable(ts)
    encode = _CANONICAL.encode
    rows: list[tuple[Any, ...]] = []  # the values of ``_EVENT_COLUMNS``
    touched: list[tuple[str, int, int, str]] = []
    for chain in chains:
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
            payload = encode(body)
            digest = hashlib.sha256(f"{prev}\n{payload}".encode()).hexdigest()  # chain_hash
            rows.append(
                (
                    chain,
                    seq,
                    ts,
                    actor.user_id,
                    actor.username,
                    ev["trial_id"],
                    ev["entity_type"],
                    ev["entity_id"],
                    ev["action"],
                    ev["reason"],
                    payload,
                    prev,
                    digest,
                )
            )
            prev = digest
        touched.append((chain, first, seq, prev))
    signatures = (
        []
        if signer is None
        else [signature_row(session, signer, f, last, h, c) for c, f, last, h in touched]
    )
    if session.get_bind().dialect.name == "postgresql" and len(rows) <= _ONE_STATEMENT_MAX_EVENTS:
        params: dict[str, Any] = {"head_at": ts}
        for i, row in enumerate(rows):
            params.update(zip(_param_names("e", i, _EVENT_COLUMNS), row, strict=True))
        for i, sig in enumerate(signatures):
            names = _param_names("s", i, _SIGNATURE_COLUMNS)
            params.update(zip(names, [sig[c] for c in _SIGNATURE_COLUMNS], strict=True))
        for i, (chain, _, last, h) in enumerate(touched):
            params.update(zip(_param_names("h", i, _HEAD_FIELDS), (chain, last, h), strict=True))
        sql = _one_statement_sql(len(rows), len(signatures), len(touched))
        session.connection().exec_driver_sql(sql, params)
        return touched
    session.execute(insert(_EVENTS), [dict(zip(_EVENT_COLUMNS, row, strict=True)) for row in rows])
    head_table = _HEADS
    for chain, _, last, h in touched:
        session.execute(
            update(head_table)
            .where(head_table.c.chain == chain)
            .values(seq=last, hash=h, updated_at=ts)
        )
    if signatures:
        session.execute(insert(_SIGNATURES), signatures)
    return touched


#: a moved head's parameters in the one statement
_HEAD_FIELDS = ("chain", "seq", "hash")


@lru_cache(maxsize=1024)
def _param_names(prefix: str, i: int, columns: tuple[str, ...]) -> tuple[str, ...]:
    """``<prefix><i>_<column>`` of every column (the one statement's parameter names)."""
    return tuple(f"{prefix}{i}_{c}" for c in columns)


def signature_message(
    first_seq: int, last_seq: int, head_hash: str, key: str, chain: str = LEGACY_CHAIN
) -> bytes:
    """The bytes signed for one transaction's events in one chain: their range and the
    chain's head hash after them (which commits to every earlier event of the chain).

    The legacy chain (events written before per-trial chains) keeps the version-1 message,
    which names no chain."""
    body: dict[str, Any] = {
        "type": "doseladder-audit-signature",
        "v": 1,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "hash": head_hash,
        "key_id": key,
    }
    if chain != LEGACY_CHAIN:
        body.update(v=2, chain=chain)
    return canonical_json(body).encode("utf-8")


def signature_row(
    session: Session,
    signer: Signer,
    first_seq: int,
    last_seq: int,
    head_hash: str,
    chain: str = GLOBAL_CHAIN,
) -> dict[str, Any]:
    """The ``audit_signatures`` row signing a chain's head after a transaction's events."""
    message = signature_message(first_seq, last_seq, head_hash, signer.key_id, chain)
    return {
        "chain": chain,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "head_hash": head_hash,
        "key_id": signer.key_id,
        "signature": sign_b64(signer, message),
        "signed_at": _clock(session),
    }


def seal(
    session: Session,
    signer: Signer,
    first_seq: int,
    last_seq: int,
    head_hash: str,
    chain: str = GLOBAL_CHAIN,
) -> None:
    """Sign a chain's head after a transaction's events and store the signature
    (:func:`append` does this itself when given the signer)."""
    session.execute(
        insert(_SIGNATURES),
        [signature_row(session, signer, first_seq, last_seq, head_hash, chain)],
    )


# -------------------------------------------------------------------- verify
@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of :func:`verify`.

    Attributes:
        ok: every chain is intact, signatures and anchors check out, and every table matches.
        events: number of events checked (all chains).
        head_seq / head_hash: the number of events and :func:`heads_digest` of the heads.
        first_bad_seq: sequence number (in its chain) of the first broken link (``None`` if
            intact); ``first_bad_chain`` names the chain.
        problem: the first thing wrong (chain, head, signature or anchor).
        data_problems: rows that differ from what the trail recorded (first 100).
        problems: every chain, signature and anchor problem found.
        signatures: number of transaction signatures checked.
        keys: the signing keys, ``"<key id> <base64 public key>"``.
        anchor: the latest anchor checked (``None`` if none).
        notes: what was not checked and why.
        heads: ``{chain: (seq, hash)}`` of every chain as found.
    """

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    data_problems: tuple[str, ...] = field(default_factory=tuple)
    problems: tuple[str, ...] = field(default_factory=tuple)
    signatures: int = 0
    keys: tuple[str, ...] = field(default_factory=tuple)
    anchor: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    heads: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    first_bad_chain: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "heads": {c: {"seq": s, "hash": h} for c, (s, h) in self.heads.items()},
            "first_bad_chain": self.first_bad_chain,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "data_problems": list(self.data_problems),
            "problems": list(self.problems),
            "signatures": self.signatures,
            "keys": list(self.keys),
            "anchor": dict(self.anchor) if self.anchor is not None else None,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """One or more lines of plain text."""
        lines = []
        if self.ok:
            lines.append(
                f"audit trail intact: {self.events} events in {len(self.heads)} chain(s), "
                f"heads digest {self.head_hash}"
            )
        else:
            if self.problem is not None:
                where = f" at event #{self.first_bad_seq}" if self.first_bad_seq is not None else ""
                if self.first_bad_chain is not None:
                    where += f" of chain {self.first_bad_chain}"
                lines.append(f"audit trail BROKEN{where}: {self.problem}")
            lines.extend(f"  also: {p}" for p in self.problems if p != self.problem)
            if self.data_problems:
                lines.append(f"{len(self.data_problems)} row(s) differ from the audit trail:")
                lines.extend(f"  {p}" for p in self.data_problems)
        lines.extend(f"chain {c}: head #{s} {h}" for c, (s, h) in self.heads.items())
        if self.signatures:
            lines.append(f"signatures: {self.signatures} transaction signature(s) checked")
        lines.extend(f"signing key (ed25519): {k}" for k in self.keys)
        if self.anchor is not None:
            lines.append(
                f"latest anchor: {self.anchor.get('seq')} event(s), "
                f"{self.anchor.get('hash')} at {self.anchor.get('at')}"
            )
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


_COLUMN_FIELDS = (
    ("actor_user_id", ("actor", "user_id")),
    ("actor_username", ("actor", "username")),
    ("trial_id", ("trial_id",)),
    ("entity_type", ("entity_type",)),
    ("entity_id", ("entity_id",)),
    ("action", ("action",)),
    ("reason", ("reason",)),
)

#: (chain, seq in the chain or None, problem)
Problem = tuple[str | None, int | None, str]


def _check_event(
    row: Mapping[Any, Any], chain: str, expected_seq: int, prev: str
) -> tuple[str | None, dict[str, Any] | None]:
    """Problem with one event of ``chain`` (or ``None``) and its parsed payload."""
    seq = row["seq"]
    if seq != expected_seq:
        if seq > expected_seq:
            return f"expected event #{expected_seq}, found #{seq}: event(s) missing", None
        return f"duplicate or out-of-order event #{seq}", None
    if row["prev_hash"] != prev:
        return "prev_hash does not match the previous event's hash (link broken)", None
    if chain_hash(prev, row["payload"]) != row["hash"]:
        return "hash does not match the recorded content (event altered)", None
    try:
        body = json.loads(row["payload"])
    except json.JSONDecodeError:
        return "payload is not valid JSON", None
    if not isinstance(body, dict):
        return "payload is not an object", None
    if body.get("seq") != seq:
        return f"payload belongs to event #{body.get('seq')} (events reordered)", body
    recorded = str(body["chain"]) if "chain" in body else LEGACY_CHAIN
    if recorded != chain:
        return f"payload belongs to chain {recorded} (event moved between chains)", body
    if chain != LEGACY_CHAIN and chain_of(body.get("trial_id")) != chain:
        return f"event of trial {body.get('trial_id')} in chain {chain} (event moved)", body
    if body.get("ts") != jsonable(row["ts"]):
        return "timestamp column differs from the recorded content", body
    for column, path in _COLUMN_FIELDS:
        value: Any = body
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value != row[column]:
            return f"column {column} differs from the recorded content", body
    return None, body


def _walk(
    rows: Iterable[Mapping[Any, Any]], chain: str, hashes: list[str] | None = None
) -> tuple[int, str, int | None, str | None, list[dict[str, Any]]]:
    """Check the event rows of one chain in order; returns (count, last hash, bad seq,
    problem, bodies).

    ``hashes`` (if given) receives the hash of every intact event in order."""
    prev = GENESIS_HASH
    count = 0
    bodies: list[dict[str, Any]] = []
    for row in rows:
        problem, body = _check_event(row, chain, count + 1, prev)
        if problem is not None:
            return count, prev, count + 1, problem, bodies
        assert body is not None
        bodies.append(body)
        prev = row["hash"]
        if hashes is not None:
            hashes.append(prev)
        count += 1
    return count, prev, None, None, bodies


def _walk_chains(
    rows: Iterable[Mapping[Any, Any]],
    heads: Mapping[str, tuple[int, str]],
    hashes: dict[str, list[str]],
) -> tuple[int, dict[str, tuple[int, str]], list[Problem], list[dict[str, Any]]]:
    """Walk every chain of ``rows`` (grouped by their ``chain``, kept in their order) and
    compare each with its recorded head; returns (count, heads found, problems, bodies)."""
    grouped: dict[str, list[Mapping[Any, Any]]] = {}
    for row in rows:
        grouped.setdefault(str(row["chain"]), []).append(row)
    total = 0
    found: dict[str, tuple[int, str]] = {}
    problems: list[Problem] = []
    bodies: list[dict[str, Any]] = []
    for chain in sorted(set(grouped) | set(heads), key=_chain_order):
        chain_hashes = hashes.setdefault(chain, [])
        count, last, bad, problem, chain_bodies = _walk(grouped.get(chain, []), chain, chain_hashes)
        total += count
        bodies.extend(chain_bodies)
        found[chain] = (count, last)
        if problem is not None:
            problems.append((chain, bad, problem))
            continue
        head = heads.get(chain)
        if head is None:
            problems.append((chain, count, f"chain {chain} has no head: its head was removed"))
        elif head != (count, last):
            problems.append(
                (
                    chain,
                    count + 1 if head[0] > count else head[0],
                    f"chain head says event #{head[0]} ({head[1][:12]}…) but the trail ends at "
                    f"#{count}: events removed or head altered",
                )
            )
    return total, found, problems, bodies


def _check_signatures(
    sigs: Sequence[Mapping[str, Any]], hashes: Mapping[str, list[str]], keys: Mapping[str, str]
) -> list[Problem]:
    """(chain, event, problem) for every signature that fails and every unsigned tail."""
    out: list[Problem] = []
    signed_to: dict[str, int] = {}
    for sig in sorted(sigs, key=lambda r: (str(r.get("chain", LEGACY_CHAIN)), int(r["last_seq"]))):
        chain = str(sig.get("chain", LEGACY_CHAIN))
        chain_hashes = hashes.get(chain, [])
        count = len(chain_hashes)
        last = int(sig["last_seq"])
        kid = str(sig["key_id"])
        if last < 1 or last > count:
            out.append(
                (
                    chain,
                    last,
                    f"signature of event #{last} of chain {chain} but the trail has {count} "
                    "events: events removed",
                )
            )
            continue
        if chain_hashes[last - 1] != sig["head_hash"]:
            out.append(
                (
                    chain,
                    last,
                    f"event #{last} is not the event that was signed (its hash "
                    "changed since signing: history rewritten)",
                )
            )
            continue
        public = keys.get(kid)
        if public is None:
            out.append((chain, last, f"event #{last} is signed with an untrusted key {kid}"))
            continue
        message = signature_message(int(sig["first_seq"]), last, str(sig["head_hash"]), kid, chain)
        if not verify_signature(public, message, str(sig["signature"])):
            out.append((chain, last, f"signature of event #{last} is invalid (forged)"))
            continue
        signed_to[chain] = max(signed_to.get(chain, 0), last)
    for chain, chain_hashes in hashes.items():
        count, done = len(chain_hashes), signed_to.get(chain, 0)
        flagged = any(c == chain and s is not None and s >= count for c, s, _ in out)
        if count > done and not flagged:
            out.append(
                (
                    chain,
                    done + 1,
                    f"events #{done + 1}-#{count} carry no valid signature "
                    f"(written outside the application) in chain {chain}",
                )
            )
    return out


def _anchored_heads(rec: Mapping[str, Any]) -> dict[str, tuple[int, str]]:
    """``{chain: (seq, hash)}`` of an anchor record (a version-1 anchor: the legacy chain)."""
    heads = rec.get("heads")
    if isinstance(heads, Mapping):
        return {str(c): (int(v[0]), str(v[1])) for c, v in heads.items()}
    return {LEGACY_CHAIN: (int(rec["seq"]), str(rec["hash"]))}


def _check_anchor(
    anchors: AnchorStore,
    hashes: Mapping[str, list[str]],
    keys: Mapping[str, str] | None,
    *,
    required: bool = True,
) -> tuple[list[Problem], dict[str, Any] | None]:
    """Problems with the anchors and the latest valid anchor.

    Every chain is compared with the latest head any valid anchor recorded for it (anchors
    written by several server processes each cover the chains that process wrote)."""
    out: list[Problem] = []
    latest: dict[str, Any] | None = None
    best: dict[str, tuple[int, str, str]] = {}
    for n, rec in enumerate(anchors.records(), start=1):
        kind = rec.get("type")
        if kind not in ("anchor", "rotation"):
            out.append((None, None, f"anchor record {n} in {anchors.location} is unreadable"))
            continue
        if not verify_record(rec):
            out.append(
                (None, None, f"anchor record {n} in {anchors.location} has an invalid signature")
            )
            continue
        if kind != "anchor":
            continue
        if keys is not None and rec.get("key_id") not in keys:
            out.append((None, None, f"anchor record {n} is signed with an untrusted key"))
            continue
        try:
            anchored = _anchored_heads(rec)
        except (KeyError, TypeError, ValueError, IndexError):
            out.append((None, None, f"anchor record {n} in {anchors.location} is malformed"))
            continue
        for chain, (seq, h) in anchored.items():
            if chain not in best or seq > best[chain][0]:
                best[chain] = (seq, h, str(rec.get("at")))
        latest = rec
    if latest is None:
        if any(hashes.values()) and required:
            out.append(
                (
                    None,
                    None,
                    f"no anchor in {anchors.location}: truncation or replacement of "
                    "the trail cannot be ruled out",
                )
            )
        return out, None
    for chain, (seq, h, at) in sorted(best.items(), key=lambda kv: _chain_order(kv[0])):
        chain_hashes = hashes.get(chain, [])
        count = len(chain_hashes)
        if seq > count:
            out.append(
                (
                    chain,
                    count + 1,
                    f"the anchor of {at} records {seq} events of chain {chain} (head "
                    f"{h[:12]}…) but the trail has {count}: events removed or the trail "
                    "replaced",
                )
            )
        elif seq >= 1 and chain_hashes[seq - 1] != h:
            out.append(
                (
                    chain,
                    seq,
                    f"event #{seq} of chain {chain} differs from the anchor of {at} (head "
                    f"{h[:12]}…): the trail was rewritten or replaced",
                )
            )
    return out, latest


def _data_problems(session: Session, bodies: list[dict[str, Any]]) -> list[str]:
    """Rows whose current values differ from the state reconstructed from the trail."""
    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for body in bodies:
        key = (str(body.get("entity_type")), str(body.get("entity_id")))
        if body.get("action") == "create" and isinstance(body.get("new"), dict):
            expected[key] = dict(body["new"])
        elif body.get("action") == "update" and isinstance(body.get("new"), dict):
            expected.setdefault(key, {}).update(body["new"])
    problems: list[str] = []
    for table in Base.metadata.sorted_tables:
        if table.name in _SKIP_TABLES:
            continue
        pk = list(table.primary_key.columns)
        seen: set[str] = set()
        for row in session.execute(select(table).order_by(*pk)).mappings():
            ident = ",".join(str(row[c.name]) for c in pk)
            seen.add(ident)
            want = expected.get((table.name, ident))
            if want is None:
                problems.append(f"{table.name} #{ident}: row has no audit record")
                continue
            have = row_snapshot(table, row)
            for name, value in have.items():
                if want.get(name) != value:
                    problems.append(
                        f"{table.name} #{ident}: {name} is {value!r} but the audit trail "
                        f"says {want.get(name)!r}"
                    )
        for etype, eid in expected:
            if etype == table.name and eid not in seen:
                problems.append(f"{table.name} #{eid}: row recorded in the audit trail is missing")
    return problems


def verify(
    session: Session,
    *,
    check_data: bool = True,
    keys: Mapping[str, str] | None = None,
    anchors: AnchorStore | None = None,
) -> VerifyResult:
    """Walk every chain, check the signatures and the anchors, and (with ``check_data``)
    compare every table with the trail.

    Args:
        keys: trusted signing keys (key id → base64 public key), from outside the database;
            ``None``: the keys recorded in the database are used (and a note says so).
        anchors: the anchor store of this database (``None``: anchors not checked).
    """
    rows = session.execute(
        select(AuditEvent.__table__).order_by(AuditEvent.chain, AuditEvent.seq)
    ).mappings()
    head_table = _HEADS
    recorded_heads = {
        str(r.chain): (int(r.seq), str(r.hash))
        for r in session.execute(select(head_table.c.chain, head_table.c.seq, head_table.c.hash))
    }
    hashes: dict[str, list[str]] = {}
    count, heads, chain_problems, bodies = _walk_chains(rows, recorded_heads, hashes)
    found: list[Problem] = list(chain_problems)
    notes: list[str] = []
    sigs = [dict(r) for r in session.execute(select(AuditSignature.__table__)).mappings()]
    recorded = {str(k.key_id): str(k.public_key) for k in session.scalars(select(AuditKey))}
    trusted = dict(keys) if keys is not None else recorded
    if keys is None and recorded:
        notes.append(
            "signatures checked against the keys recorded in the database; pass the "
            "public key kept outside it (--public-key) to rule out a substituted key"
        )
    latest: dict[str, Any] | None = None
    signed = bool(sigs or recorded or keys is not None)
    if not chain_problems:
        if signed:
            found.extend(_check_signatures(sigs, hashes, trusted))
        elif count:
            notes.append("the trail is not signed (no signing key was configured)")
        if anchors is not None:
            anchor_problems, latest = _check_anchor(anchors, hashes, keys, required=signed)
            found.extend(anchor_problems)
        elif signed:
            notes.append("anchors not checked (no anchor store given)")
    bad_chain, bad, problem = found[0] if found else (None, None, None)
    data: list[str] = []
    if not chain_problems and check_data:
        data = _data_problems(session, bodies)
    used = sorted({str(s["key_id"]) for s in sigs})
    return VerifyResult(
        ok=problem is None and not data,
        events=count,
        head_seq=count,
        head_hash=heads_digest(heads),
        first_bad_seq=bad,
        problem=problem,
        data_problems=tuple(data[:100]),
        problems=tuple(p for _, _, p in found),
        signatures=len(sigs),
        keys=tuple(f"{k} {trusted.get(k) or recorded.get(k, '(unknown key)')}" for k in used),
        anchor=latest,
        notes=tuple(notes),
        heads=heads,
        first_bad_chain=bad_chain,
    )


def chain_head(session: Session, chain: str) -> tuple[int, str]:
    """The head ``(seq, hash)`` of one chain (``(0, GENESIS_HASH)`` if it has no event)."""
    head = session.get(AuditHead, chain)
    return (0, GENESIS_HASH) if head is None else (int(head.seq), str(head.hash))


def history(session: Session, entity_type: str, entity_id: int | str) -> list[dict[str, Any]]:
    """The audit records of one row, oldest first (parsed payloads)."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    )
    out: list[dict[str, Any]] = []
    for ev in rows:
        body = json.loads(ev.payload)
        body["hash"] = ev.hash
        out.append(body)
    return out


# ------------------------------------------------------------ certified copy
COPY_FORMAT_VERSION = 2
#: an event in a copy: its row id, then the columns it is inserted with
_EVENT_FIELDS = ("id", *_EVENT_COLUMNS)


def _copy_digest(data: Mapping[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k not in ("certificate", "manifest")}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def manifest_message(manifest: Mapping[str, Any]) -> bytes:
    """The signed bytes of a certified copy's manifest (all fields but ``signature``)."""
    return canonical_json({k: v for k, v in manifest.items() if k != "signature"}).encode()


def _heads_json(heads: Mapping[str, tuple[int, str]]) -> dict[str, dict[str, Any]]:
    return {c: {"seq": s, "hash": h} for c, (s, h) in heads.items()}


def certified_copy(
    session: Session,
    *,
    actor: Actor = SYSTEM,
    database: str | None = None,
    now: datetime | None = None,
    signer: Signer | None = None,
    keys: Mapping[str, str] | None = None,
    anchors: AnchorStore | None = None,
) -> dict[str, Any]:
    """The whole trail (every chain) as a JSON-ready mapping, with its heads, verification and
    a digest (format version 2: events carry their ``chain``; ``heads`` maps every chain to its
    head; ``head`` is the event count and :func:`heads_digest`).

    ``certificate.sha256`` is the SHA-256 of the canonical JSON of everything except the
    certificate and the manifest; :func:`verify_copy` recomputes it and re-walks every chain.
    With a ``signer``, the copy also carries the transaction signatures, the public keys and a
    ``manifest`` (content hash, event count, heads, key) signed by it.
    """
    result = verify(session, keys=keys, anchors=anchors)
    events = [
        {k: jsonable(v) for k, v in row.items() if k in _EVENT_FIELDS}
        for row in session.execute(select(AuditEvent.__table__).order_by(AuditEvent.id)).mappings()
    ]
    generated = (now or datetime.now(UTC)).astimezone(UTC)
    body: dict[str, Any] = {
        "format": COPY_FORMAT,
        "format_version": COPY_FORMAT_VERSION,
        "generated_at": jsonable(generated),
        "generated_by": actor.username,
        "software": f"doseladder {__version__}",
        "database": database,
        "hash_algorithm": "sha256(prev_hash + '\\n' + payload); genesis prev_hash = 64 zeros; "
        "one chain per trial ('trial:<id>'), 'global' for events of no trial, 'legacy' for "
        "events written before per-trial chains",
        "head": {"seq": result.head_seq, "hash": result.head_hash},
        "heads": _heads_json(result.heads),
        "verification": result.to_dict(),
        "events": events,
    }
    sigs = session.execute(
        select(AuditSignature.__table__).order_by(AuditSignature.chain, AuditSignature.last_seq)
    ).mappings()
    body["signatures"] = [
        {k: jsonable(v) for k, v in row.items() if k != "id" and k != "signed_at"} for row in sigs
    ]
    body["public_keys"] = {
        str(k.key_id): str(k.public_key) for k in session.scalars(select(AuditKey))
    }
    digest = _copy_digest(body)
    body["certificate"] = {
        "statement": (
            f"Certified copy of the complete audit trail ({len(events)} events in "
            f"{len(result.heads)} chain(s)) generated by {actor.username} at "
            f"{body['generated_at']}; the chains "
            f"{'were verified intact' if result.ok else 'FAILED verification'} at export. "
            "sha256 is the digest of the canonical JSON of this document without this "
            "certificate and the manifest."
        ),
        "sha256": digest,
    }
    if signer is not None:
        manifest: dict[str, Any] = {
            "content_sha256": digest,
            "events": len(events),
            "head": {"seq": result.head_seq, "hash": result.head_hash},
            "heads": _heads_json(result.heads),
            "generated_at": body["generated_at"],
            "algorithm": "ed25519",
            "key_id": signer.key_id,
            "public_key": signer.public_key,
        }
        manifest["signature"] = sign_b64(signer, manifest_message(manifest))
        body["manifest"] = manifest
    return body


def _bad_copy(problem: str, count: int = 0, seq: int = 0, h: str = "") -> VerifyResult:
    return VerifyResult(False, count, seq, h, None, problem, problems=(problem,))


def _claimed_heads(data: Mapping[str, Any], version: int) -> dict[str, tuple[int, str]]:
    """The heads a copy claims: version 1, its single ``head`` (the legacy chain)."""
    if version == 1:
        head = data["head"]
        seq = int(head.get("seq", -1))
        return {LEGACY_CHAIN: (seq, str(head.get("hash", "")))} if seq != 0 else {}
    heads = data["heads"]
    return {str(c): (int(v["seq"]), str(v["hash"])) for c, v in heads.items()}


def verify_copy(
    data: Mapping[str, Any],
    *,
    keys: Mapping[str, str] | None = None,
    require_signature: bool = False,
) -> VerifyResult:
    """Check a certified copy on its own: digest, the links of every chain, the heads, and
    (when present or required) the signed manifest and the transaction signatures.

    Copies of format version 1 (one global chain, before per-trial chains) are still checked:
    their events are the legacy chain.

    Args:
        keys: trusted public keys (key id → base64); ``None``: the copy's own keys are used
            and a note says so.
        require_signature: refuse a copy without a signed manifest.
    """
    if data.get("format") != COPY_FORMAT:
        return _bad_copy("not a doseladder certified audit copy")
    version = data.get("format_version")
    if version not in (1, COPY_FORMAT_VERSION):
        return _bad_copy(
            f"certified copy format version {version!r} is not supported (this doseladder "
            f"reads versions 1 and {COPY_FORMAT_VERSION})"
        )
    cert = data.get("certificate")
    events = data.get("events")
    head = data.get("head")
    if (
        not isinstance(cert, Mapping)
        or not isinstance(events, list)
        or not isinstance(head, Mapping)
        or (version != 1 and not isinstance(data.get("heads"), Mapping))
    ):
        return _bad_copy("certificate, head(s) or events missing")
    rows: list[dict[str, Any]] = []
    for ev in events:
        if not isinstance(ev, dict):
            return _bad_copy("malformed event entry")
        row = dict(ev)
        if version == 1:
            row["chain"] = LEGACY_CHAIN
        rows.append(row)
    hashes: dict[str, list[str]] = {}
    try:
        claimed = _claimed_heads(data, int(version))
        count, heads, problems, _ = _walk_chains(rows, claimed, hashes)
        head_seq = int(head.get("seq", -1))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return _bad_copy(f"malformed copy ({exc})")
    head_hash = str(head.get("hash", ""))
    bad_chain, bad, problem = problems[0] if problems else (None, None, None)
    if problem is not None:
        problem = problem.replace("chain head says", "head says").replace(
            "the trail ends", "the copy ends"
        )
    digest = _copy_digest(data)
    expected_head = (
        (count, heads_digest(heads)) if version != 1 else heads.get(LEGACY_CHAIN, (0, GENESIS_HASH))
    )
    if problem is None and (head_seq, head_hash) != expected_head:
        bad = count + 1 if head_seq > count else head_seq
        problem = f"head says event #{head_seq} but the copy ends at #{count}"
    if problem is None and digest != cert.get("sha256"):
        problem = "certificate digest does not match the document (copy altered)"
    notes: list[str] = []
    manifest = data.get("manifest")
    copy_keys = data.get("public_keys")
    own_keys = (
        {str(k): str(v) for k, v in copy_keys.items()} if isinstance(copy_keys, Mapping) else {}
    )
    trusted = dict(keys) if keys is not None else own_keys
    used: list[str] = []
    if problem is None:
        if isinstance(manifest, Mapping):
            problem = _manifest_problem(manifest, digest, count, heads, int(version), keys)
            used.append(f"{manifest.get('key_id')} {manifest.get('public_key')}")
            if keys is None:
                notes.append(
                    "manifest checked against its own public key: compare the key id "
                    "with the one kept in the trial master file (or pass --public-key)"
                )
        elif require_signature:
            problem = "the copy has no signed manifest (unsigned or stripped)"
    sigs = data.get("signatures")
    if problem is None and isinstance(sigs, list) and (sigs or own_keys):
        try:
            sig_rows = [dict(x) for x in sigs if isinstance(x, Mapping)]
            if version == 1:
                for x in sig_rows:
                    x["chain"] = LEGACY_CHAIN
            sig_problems = _check_signatures(sig_rows, hashes, trusted)
        except (KeyError, TypeError, ValueError) as exc:
            sig_problems = [(None, None, f"malformed signatures ({exc})")]
        if sig_problems:
            bad_chain, bad, problem = sig_problems[0]
    return VerifyResult(
        problem is None,
        count,
        head_seq,
        head_hash,
        bad,
        problem,
        problems=(problem,) if problem else (),
        signatures=len(sigs) if isinstance(sigs, list) else 0,
        keys=tuple(used),
        notes=tuple(notes),
        heads=heads,
        first_bad_chain=bad_chain,
    )


def _manifest_problem(
    manifest: Mapping[str, Any],
    digest: str,
    count: int,
    heads: Mapping[str, tuple[int, str]],
    version: int,
    keys: Mapping[str, str] | None,
) -> str | None:
    """What is wrong with a copy's manifest (``None`` if it matches and is validly signed)."""
    public = str(manifest.get("public_key", ""))
    kid = str(manifest.get("key_id", ""))
    if key_id(public) != kid:
        return "manifest key id does not match its public key"
    if keys is not None and keys.get(kid) != public:
        return f"manifest signed with an untrusted key {kid}"
    if not verify_signature(public, manifest_message(manifest), str(manifest.get("signature"))):
        return "manifest signature is invalid (manifest altered or forged)"
    if manifest.get("content_sha256") != digest:
        return "content does not match the signed manifest (copy altered after signing)"
    if manifest.get("events") != count:
        return f"the signed manifest says {manifest.get('events')} events, the copy has {count}"
    mhead = manifest.get("head")
    if version == 1:
        seq, last = heads.get(LEGACY_CHAIN, (0, GENESIS_HASH))
        if not isinstance(mhead, Mapping) or mhead.get("seq") != seq or mhead.get("hash") != last:
            return "the copy's head does not match the signed manifest"
        return None
    if manifest.get("heads") != _heads_json(heads):
        return "the copy's chain heads do not match the signed manifest"
    return None
