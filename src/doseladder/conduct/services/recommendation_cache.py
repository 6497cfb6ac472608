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
and the entry is not served again.  The snapshot holds stored records only: the
recommendation itself is evaluated at the request's decision time on every request (waits,
DLT windows and TITE weights depend on the time), which is pure computation in the core.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.db import READ_ONLY
from doseladder.conduct.models import AuditHead, ProtocolVersion
from doseladder.conduct.services.decision_state import TrialRecords
from doseladder.conduct.services.protocol_engine import Engine

__all__ = ["SESSION_KEY", "RecommendationCache", "Snapshot", "cache_of", "trial_head"]

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


def trial_head(session: Session, trial_id: int) -> int:
    """The sequence number of the head of the trial's audit chain (0 if none): one primary-key
    read of a row a writer may hold locked, which a plain read never waits for."""
    head = session.scalar(select(AuditHead.seq).where(AuditHead.chain == audit.chain_of(trial_id)))
    return int(head or 0)


class RecommendationCache:
    """Thread-safe, bounded (least recently used trials dropped first) map of
    ``trial id -> Snapshot``.

    Attributes:
        max_trials: how many trials' snapshots are kept.
        hits / misses: counters (benchmarks, tests).
    """

    def __init__(self, max_trials: int = 256) -> None:
        if max_trials < 1:
            raise ValueError("max_trials must be at least 1")
        self.max_trials = max_trials
        self.hits = 0
        self.misses = 0
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
