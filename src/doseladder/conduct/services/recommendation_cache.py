"""A per-trial cache of what a recommendation reads from the database, keyed by the trial's
audit head.

Every change to a trial's data is written to the trial's own audit chain in the same
transaction (:mod:`doseladder.conduct.audit`), so the sequence number of the head of that
chain -- the trial's *audit head* -- changes with every committed write that can change its
recommendation.  :func:`trial_head` reads it (one primary-key read, no lock); the cache keeps, per
trial, the records read at one head (:class:`Snapshot`) and serves them only while the head in
the database is still that one.

Correct across processes: the key is read from the database on every request, before the
records, so an entry is never older than its key; a write in another process moves the head
and the entry is not served again as it is.  The snapshot holds stored records only: the
recommendation itself is evaluated at the request's decision time on every request (waits,
DLT windows and TITE weights depend on the time), which is pure computation in the core.

Revalidation: most writes to a trial do not change what its recommendation reads (an adverse
event never flagged as a possible DLT, a screening, a signature...), yet each moves the head.
When the head has moved since the kept snapshot's head, :func:`unchanged_between` reads the
trial's audit events between the two heads (one statement: table, action, and the row's values
only for the tables read in part, at most :data:`MAX_EVENTS`); if none of them may change the
snapshot (:func:`may_change_snapshot`: the tables of :data:`SNAPSHOT_TABLES`, with
:func:`~doseladder.conduct.services.decision_state.may_change_records` -- the rule of
``load_records`` itself -- for the stored records) the snapshot is kept, now at the new head
(``revalidated``); otherwise, or when the gap is larger or not complete, everything is read
again.  Sound for the same reason as the key: every change to those tables is written to the
trial's chain in the same transaction, and the events up to the head read are committed.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import bindparam, case, select
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.db import READ_ONLY
from doseladder.conduct.models import AuditEvent, AuditHead, Base, ProtocolVersion
from doseladder.conduct.services.decision_state import (
    FLAGGED_LINEAGES,
    RECORD_TABLES,
    TrialRecords,
    may_change_records,
)
from doseladder.conduct.services.protocol_engine import Engine

__all__ = [
    "HEAD_SEQ",
    "MAX_EVENTS",
    "SESSION_KEY",
    "SNAPSHOT_TABLES",
    "RecommendationCache",
    "Snapshot",
    "cache_of",
    "head_params",
    "may_change_snapshot",
    "trial_head",
    "unchanged_between",
]

#: ``session.info`` key under which :class:`~doseladder.conduct.db.Database` passes its cache
SESSION_KEY = "recommendation_cache"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a live recommendation reads from the database, as of one audit head."""

    head: int
    protocol: ProtocolVersion
    engine: Engine
    carried: frozenset[int]
    records: TrialRecords
    stops: tuple[dict[str, Any], ...]


#: the tables a :class:`Snapshot` is read from: the records (``load_records``), the protocol
#: versions (``current_protocol``), the recorded decisions (``eliminated_carried``,
#: ``recorded_stops``) and, to be safe, the trial row (read on every request anyway)
SNAPSHOT_TABLES = RECORD_TABLES | {"protocol_versions", "dose_decisions", "trials"}
#: every table of the schema (an event of any other kind is not a known row change)
_TABLES = frozenset(Base.metadata.tables)
#: the most audit events read to revalidate a snapshot (a larger gap: read it all again)
MAX_EVENTS = 64


def may_change_snapshot(table: str, action: str, new: Mapping[str, Any] | None) -> bool:
    """Whether an audit event (its ``entity_type`` = ``table``, ``action`` and the row's values
    after the change, ``None`` if not read) may change what a :class:`Snapshot` holds.

    ``False`` only for a table of the schema the snapshot does not read, or for a change
    ``may_change_records`` clears; an event of any other kind (not a table) counts as a change.
    """
    if table in RECORD_TABLES:
        return may_change_records(table, action, new)
    return table in SNAPSHOT_TABLES or table not in _TABLES


#: the audit events of one chain in ``(:after, :head]``: table, action, and the payload only
#: of the tables read in part (built once: only the parameters change)
_EVENTS_BETWEEN = (
    select(
        AuditEvent.entity_type,
        AuditEvent.action,
        case(
            (AuditEvent.entity_type.in_(sorted(FLAGGED_LINEAGES)), AuditEvent.payload),
            else_=None,
        ),
    )
    .where(
        AuditEvent.chain == bindparam("chain"),
        AuditEvent.seq > bindparam("after"),
        AuditEvent.seq <= bindparam("head"),
    )
    .order_by(AuditEvent.seq)
)


def unchanged_between(session: Session, trial_id: int, after: int, head: int) -> bool:
    """Whether no audit event of the trial's chain with ``after < seq <= head`` may change its
    snapshot (:func:`may_change_snapshot`): one statement reading the events' table and action,
    and the payload only of events of the tables read in part.  ``False`` (read everything
    again) when the gap holds more than :data:`MAX_EVENTS` events or not every one of them."""
    if not 0 <= after < head or head - after > MAX_EVENTS:
        return False
    params = {"chain": audit.chain_of(trial_id), "after": after, "head": head}
    rows = session.execute(_EVENTS_BETWEEN, params).all()
    if len(rows) != head - after:
        return False
    for table, action, payload in rows:
        new = None
        if payload is not None:
            body = json.loads(payload)
            new = body.get("new") if isinstance(body, dict) else None
        if may_change_snapshot(table, action, new if isinstance(new, dict) else None):
            return False
    return True


#: the sequence number of the head of one audit chain (parameter ``head_chain``): one
#: primary-key read of a row a writer may hold locked, which a plain read never waits for (also
#: a scalar subquery of the trial's read in ``decision_queries.visible_with_head``)
HEAD_SEQ = select(AuditHead.seq).where(AuditHead.chain == bindparam("head_chain"))


def head_params(trial_id: int) -> dict[str, str]:
    """The parameters of :data:`HEAD_SEQ` for a trial's chain."""
    return {"head_chain": audit.chain_of(trial_id)}


def trial_head(session: Session, trial_id: int) -> int:
    """The sequence number of the head of the trial's audit chain (0 if none)."""
    return int(session.execute(HEAD_SEQ, head_params(trial_id)).scalar() or 0)


class RecommendationCache:
    """Thread-safe, bounded (least recently used trials dropped first) map of
    ``trial id -> Snapshot``.

    Attributes:
        max_trials: how many trials' snapshots are kept.
        hits / misses: counters of :meth:`get` (benchmarks, tests).
        revalidated: misses served by a kept snapshot moved to the new head
            (:meth:`revalidate`); the other misses read the records again.
    """

    def __init__(self, max_trials: int = 256) -> None:
        if max_trials < 1:
            raise ValueError("max_trials must be at least 1")
        self.max_trials = max_trials
        self.hits = 0
        self.misses = 0
        self.revalidated = 0
        self._entries: OrderedDict[int, Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, trial_id: int, head: int) -> Snapshot | None:
        """The trial's snapshot if it was read at ``head``, else ``None``."""
        with self._lock:
            entry = self._entries.get(trial_id)
            if entry is None or entry.head != head:
                self.misses += 1
                return None
            self._entries.move_to_end(trial_id)
            self.hits += 1
            return entry

    def older(self, trial_id: int, head: int) -> Snapshot | None:
        """The trial's snapshot if it was read at a head before ``head`` (not counted)."""
        with self._lock:
            entry = self._entries.get(trial_id)
            return entry if entry is not None and entry.head < head else None

    def revalidate(self, trial_id: int, snapshot: Snapshot, head: int) -> Snapshot:
        """``snapshot`` moved to ``head`` (nothing between changed it: see
        :func:`unchanged_between`), kept and counted."""
        moved = replace(snapshot, head=head)
        self.put(trial_id, moved)
        with self._lock:
            self.revalidated += 1
        return moved

    def put(self, trial_id: int, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` unless a snapshot at a later head is already kept."""
        with self._lock:
            entry = self._entries.get(trial_id)
            if entry is not None and entry.head > snapshot.head:
                return
            self._entries[trial_id] = snapshot
            self._entries.move_to_end(trial_id)
            while len(self._entries) > self.max_trials:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every snapshot."""
        with self._lock:
            self._entries.clear()


def cache_of(session: Session) -> RecommendationCache | None:
    """The session's cache, if it may be used: only in a read-only transaction
    (``Database.run(..., read_only=True)``) with no change of its own (a change not yet
    committed is not in the audit head).  Writers (a recorded decision) always read the
    database, under the trial's lock."""
    cache = session.info.get(SESSION_KEY)
    if not isinstance(cache, RecommendationCache) or not session.info.get(READ_ONLY):
        return None
    if session.new or session.dirty or session.deleted or audit.has_pending(session):
        return None
    return cache
