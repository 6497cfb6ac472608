"""The per-trial recommendation cache keyed by the trial's audit head
(:mod:`doseladder.conduct.services.recommendation_cache`): a recommendation served through it
always equals the one computed from the database without it -- after writes through another
``Database`` (another server process), and as time passes without writes."""

from __future__ import annotations

import random
import threading
from datetime import datetime
from typing import Any

import pytest

from doseladder.conduct import Database
from doseladder.conduct.models import Trial
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import decisions, outcomes, patients, recommendation
from doseladder.conduct.services.recommendation_cache import (
    SESSION_KEY,
    RecommendationCache,
    Snapshot,
    cache_of,
    trial_head,
)

from .conftest import TITE_BOIN, Clock, World, crs_form


def _now(db: Database) -> datetime:
    clock = db.clock
    assert isinstance(clock, Clock)
    return clock.t  # the test clock's time without a tick: both reads at the same moment


def cached(db: Database, trial_id: int) -> dict[str, Any]:
    """The live recommendation at the clock's current time, read as the API reads it (a
    read-only transaction, through the cache)."""
    when = _now(db)

    def run(s: Any) -> dict[str, Any]:
        return recommendation.compute(s, s.get(Trial, trial_id), now=when).to_dict()

    result: dict[str, Any] = db.run(run, read_only=True)
    return result


def uncached(db: Database, trial_id: int) -> dict[str, Any]:
    """The reference: the same computation at the same time with the cache taken out."""
    when = _now(db)

    def run(s: Any) -> dict[str, Any]:
        s.info.pop(SESSION_KEY)
        return recommendation.compute(s, s.get(Trial, trial_id), now=when).to_dict()

    result: dict[str, Any] = db.run(run)
    return result


def _dlt(db: Database, world: World, patient_id: int, is_dlt: bool) -> None:
    def run(s: Any) -> None:
        ae = outcomes.record_adverse_event(
            s,
            world.inv_a,
            patient_id,
            term="CRS",
            crs=crs_form(3),
            onset_date=world.clock.today(),
            dlt_candidate=True,
        )
        outcomes.adjudicate_dlt(
            s, world.stat, patient_id, is_dlt=is_dlt, adverse_event_id=ae.id, rationale="SRC"
        )

    db.run(run)


def _enrol_cohort(db: Database, world: World, trial_id: int) -> list[int]:
    d = db.run(lambda s: decisions.record_decision(s, world.stat, trial_id))
    if d.status != "enrol":
        return []
    ids = []
    for _ in range(min(d.slots, 3)):

        def run(s: Any) -> int:
            p = patients.register_patient(s, world.inv_a, trial_id)
            patients.record_screening(
                s, world.inv_a, p.id, screened_on=world.clock.today(), eligible=True
            )
            patients.enrol(
                s,
                world.inv_a,
                p.id,
                dose_level=d.next_dose,
                decision_id=d.id,
                infusion_date=world.clock.today(),
            )
            return int(p.id)

        ids.append(db.run(run))
    return ids


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_databases_never_serve_a_stale_recommendation(
    world: World, db_url: str, clock: Clock, seed: int
) -> None:
    """Random writes through either of two ``Database`` handles (two processes), reads
    through both, and time passing: every cached answer equals the uncached one."""
    rng = random.Random(seed)
    other = Database(db_url, clock=clock, pool_size=4)
    handles = [world.db, other]
    try:
        tid = world.trial(TITE_BOIN)
        enrolled: list[int] = []
        for _ in range(8):
            for db in handles:  # warm both caches
                assert cached(db, tid) == uncached(db, tid)
            op = rng.choice(["cohort", "dlt", "no_dlt", "time", "read"])
            writer = rng.choice(handles)
            if op == "cohort" or not enrolled:
                enrolled += _enrol_cohort(writer, world, tid)
            elif op in ("dlt", "no_dlt"):
                _dlt(writer, world, rng.choice(enrolled), op == "dlt")
            elif op == "time":
                clock.advance(rng.uniform(0.5, 20))
            for db in rng.sample(handles, 2):
                assert cached(db, tid) == uncached(db, tid)
        # nothing written since the last reads: both serve from their cache
        hits = [db.recommendation_cache.hits for db in handles]
        for db in handles:
            cached(db, tid)
        assert [db.recommendation_cache.hits for db in handles] == [h + 1 for h in hits]
    finally:
        other.dispose()


def test_a_write_in_another_database_moves_the_trial_head(
    world: World, db_url: str, clock: Clock
) -> None:
    other = Database(db_url, clock=clock, pool_size=4)
    try:
        tid, unrelated = world.trial(TITE_BOIN), world.trial(TITE_BOIN)
        cached(world.db, tid)
        head = world.db.run(lambda s: trial_head(s, tid))
        assert head > 0
        _enrol_cohort(other, world, unrelated)  # another trial: this head stays
        assert world.db.run(lambda s: trial_head(s, tid)) == head
        misses = world.db.recommendation_cache.misses
        assert cached(world.db, tid) == uncached(world.db, tid)
        assert world.db.recommendation_cache.misses == misses
        ids = _enrol_cohort(other, world, tid)
        assert world.db.run(lambda s: trial_head(s, tid)) > head
        after = cached(world.db, tid)
        assert world.db.recommendation_cache.misses == misses + 1
        assert after == uncached(world.db, tid)
        assert [p["enrolment"] for p in after["inputs"]["state"]["patients"]] != []
        assert len(after["inputs"]["state"]["patients"]) == len(ids)
    finally:
        other.dispose()


def test_only_a_read_only_session_without_changes_uses_the_cache(world: World) -> None:
    tid = world.trial()

    def run(s: Any) -> list[bool]:
        seen = [cache_of(s) is not None]
        patients.register_patient(s, world.inv_a, tid)
        seen.append(cache_of(s) is not None)
        s.flush()
        seen.append(cache_of(s) is not None)
        return seen

    assert world.db.run(run, read_only=True) == [True, False, False]
    assert world.db.run(lambda s: cache_of(s) is None)  # a writer's transaction: never


def _snap(head: int) -> Snapshot:
    return Snapshot(head, None, None, frozenset(), None, ())  # type: ignore[arg-type]


def test_cache_keeps_the_latest_head_and_the_most_recent_trials() -> None:
    cache = RecommendationCache(max_trials=2)
    cache.put(1, _snap(5))
    cache.put(1, _snap(3))  # a slower reader's older snapshot does not replace it
    assert cache.get(1, 3) is None and cache.get(1, 5) is not None
    cache.put(2, _snap(1))
    cache.get(1, 5)
    cache.put(3, _snap(1))  # trial 2 was used least recently
    assert cache.get(2, 1) is None and cache.get(1, 5) is not None and cache.get(3, 1)
    assert (cache.hits, cache.misses) == (4, 2)
    cache.clear()
    assert cache.get(1, 5) is None
    with pytest.raises(ValueError, match="max_trials"):
        RecommendationCache(max_trials=0)


def test_a_read_never_waits_for_a_writer_of_the_trial(world: World) -> None:
    """A writer holds the trial's lock (PostgreSQL: its row lock; SQLite: the write lock) with
    an uncommitted change; the recommendation completes meanwhile, without the change."""
    tid = world.trial()
    locked, read_done = threading.Event(), threading.Event()
    outcome: dict[str, bool] = {}

    def writer() -> None:
        with world.db.transaction() as s:
            c.lock_trial(s, tid)
            patients.register_patient(s, world.inv_a, tid)
            s.flush()
            locked.set()
            outcome["read_while_locked"] = read_done.wait(20)

    thread = threading.Thread(target=writer)
    thread.start()
    assert locked.wait(20)
    rec = world.db.run(lambda s: decisions.recommend(s, world.stat, tid), read_only=True)
    read_done.set()
    thread.join(30)
    assert outcome == {"read_while_locked": True}
    assert rec.inputs["state"]["patients"] == []
