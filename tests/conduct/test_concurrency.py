"""Real concurrent clients (threads, one database connection each).

PostgreSQL is the target (row locks: ``SELECT … FOR NO KEY UPDATE`` on the trial, the audit
head last); the same tests run on SQLite, where ``BEGIN IMMEDIATE`` serialises writers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from doseladder.conduct import Database, audit
from doseladder.conduct.errors import Conflict
from doseladder.conduct.models import (
    AdverseEvent,
    AuditEvent,
    DLTProposal,
    EfficacyAssessment,
    Enrolment,
)
from doseladder.conduct.services import decisions, outcomes, patients

from .conftest import Clock, World, make_world


@pytest.fixture
def big_db(db_url: str, clock: Clock) -> Any:
    database = Database(db_url, clock=_LockedClock(clock), pool_size=60)
    yield database
    database.dispose()


class _LockedClock:
    """The test clock, safe to read from many threads."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.Lock()

    def __call__(self) -> Any:
        with self.lock:
            return self.clock()


@pytest.fixture
def cworld(big_db: Database, clock: Clock) -> World:
    return make_world(big_db, clock)


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` in ``n`` threads released at the same moment; results or exceptions."""
    barrier = threading.Barrier(n)

    def go(i: int) -> Any:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(go, range(n)))


def test_two_sites_race_for_the_last_slot(cworld: World) -> None:
    w = cworld
    for _ in range(4):
        tid = w.trial()
        d = w.decide(tid)
        for _ in range(2):
            w.enrol(w.patient(tid), 1)
        pa, pb = w.patient(tid, w.inv_a), w.patient(tid, w.inv_b)
        invs = [(w.inv_a, pa), (w.inv_b, pb)]

        def take(i: int, invs: list[Any] = invs, decision_id: int = d.id) -> Any:
            return w.run(
                lambda s: patients.enrol(
                    s,
                    invs[i][0],
                    invs[i][1],
                    dose_level=1,
                    decision_id=decision_id,
                    infusion_date=w.clock.today(),
                )
            )

        results = race(2, take)
        wins = [r for r in results if isinstance(r, Enrolment)]
        losses = [r for r in results if isinstance(r, Exception)]
        assert len(wins) == 1 and len(losses) == 1, results
        assert isinstance(losses[0], Conflict) and "full" in str(losses[0])
        with w.db.session() as s:
            assert decisions.used_slots(s, d.id) == 3
            slots = s.scalars(select(Enrolment.slot).where(Enrolment.decision_id == d.id)).all()
            assert sorted(slots) == [1, 2, 3]


def test_many_clients_one_cohort(cworld: World) -> None:
    w = cworld
    tid = w.trial()
    d = w.decide(tid)
    pids = [w.patient(tid, w.inv_a if i % 2 else w.inv_b) for i in range(10)]
    actors = [w.inv_a if i % 2 else w.inv_b for i in range(10)]
    results = race(
        10,
        lambda i: w.run(lambda s: patients.enrol(s, actors[i], pids[i], dose_level=1)),
    )
    assert sum(isinstance(r, Enrolment) for r in results) == 3
    assert all(isinstance(r, Enrolment | Conflict) for r in results), results
    with w.db.session() as s:
        assert decisions.used_slots(s, d.id) == 3
        assert audit.verify(s).ok


def test_enrolment_never_uses_a_decision_superseded_concurrently(cworld: World) -> None:
    w = cworld
    for _ in range(3):
        tid = w.trial()
        old = w.decide(tid)
        pid = w.patient(tid)

        def act(i: int, tid: int = tid, old_id: int = old.id, pid: int = pid) -> Any:
            if i == 0:
                return w.run(
                    lambda s: decisions.override_decision(
                        s,
                        w.stat,
                        tid,
                        dose_level=2,
                        reason="SRC chose DL2",
                        justification="SRC chose DL2 on the prior phase I data",
                    )
                )
            return w.run(
                lambda s: patients.enrol(s, w.inv_a, pid, dose_level=1, decision_id=old_id)
            )

        new, enrolled = race(2, act)
        assert not isinstance(new, Exception), new
        if isinstance(enrolled, Enrolment):
            # it won the race: it was committed before the new decision was recorded
            assert enrolled.entered_at < new.recorded_at
        else:
            assert isinstance(enrolled, Conflict) and "stale" in str(enrolled)


def test_fifty_concurrent_writers_lose_nothing(cworld: World) -> None:
    w = cworld
    tid = w.trial()
    w.decide(tid)
    pids = []
    for _ in range(3):
        pid = w.patient(tid)
        w.enrol(pid, 1)
        pids.append(pid)
    before_events = w.audit_count()

    def write(i: int) -> Any:
        pid = pids[i % 3]
        if i % 2:
            return w.run(
                lambda s: outcomes.record_adverse_event(
                    s,
                    w.inv_a,
                    pid,
                    term="Vomiting",
                    grade=1 + i % 4,
                    onset_date=w.clock.today(),
                )
            )
        return w.run(
            lambda s: outcomes.record_efficacy(
                s,
                w.dm,
                pid,
                assessed_on=w.clock.today(),
                instrument="SRI-4",
                responder=bool(i % 3),
                measures={"writer": i},
            )
        )

    results = race(50, write)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    with w.db.session() as s:
        n_ae = s.scalar(select(func.count()).select_from(AdverseEvent))
        n_eff = s.scalar(select(func.count()).select_from(EfficacyAssessment))
        assert (n_ae, n_eff) == (25, 25)
        grades = sorted(s.scalars(select(AdverseEvent.grade)))
        assert grades == sorted(1 + i % 4 for i in range(1, 50, 2))
        # each adverse event also stores the patient's new DLT proposal (one more audit event)
        n_prop = s.scalar(select(func.count()).select_from(DLTProposal))
        assert n_prop == 25
        rows = s.execute(select(AuditEvent.chain, AuditEvent.seq)).all()
        for chain in {c for c, _ in rows}:  # every chain numbered 1, 2, 3 ... without a gap
            seqs = sorted(n for c, n in rows if c == chain)
            assert seqs == list(range(1, len(seqs) + 1))
        assert len(rows) == before_events + 50 + n_prop
        result = audit.verify(s)
        assert result.ok, result.summary()


def test_concurrent_corrections_of_one_record(cworld: World) -> None:
    w = cworld
    tid = w.trial()
    w.decide(tid)
    pid = w.patient(tid)
    w.enrol(pid, 1)
    ae = w.run(
        lambda s: outcomes.record_adverse_event(
            s, w.inv_a, pid, term="Vomiting", grade=1, onset_date=w.clock.today()
        )
    )
    results = race(
        8,
        lambda i: w.run(
            lambda s: outcomes.correct_adverse_event(
                s, w.dm, ae.id, changes={"grade": 2 + i % 3}, reason=f"correction {i}"
            )
        ),
    )
    assert sum(isinstance(r, AdverseEvent) for r in results) == 1
    assert all(isinstance(r, AdverseEvent | Conflict) for r in results), results
    with w.db.session() as s:
        versions = s.scalars(select(AdverseEvent.version).order_by(AdverseEvent.id)).all()
        assert versions == [1, 2]
