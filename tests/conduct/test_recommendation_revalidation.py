"""Revalidating a cached recommendation snapshot over the audit events since its head
(:func:`doseladder.conduct.services.recommendation_cache.unchanged_between`): after every kind
of write the services offer, the recommendation served from the cache equals the one computed by
another ``Database`` with no cache at all, and the writes that cannot change what it reads (an
adverse event never flagged as a possible DLT, a registration, a screening, a signature...) keep
the snapshot instead of reading every record again."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from doseladder.conduct import Database
from doseladder.conduct.services import (
    decisions,
    outcomes,
    patients,
    trials,
)
from doseladder.conduct.services import lymphodepletion as ld
from doseladder.conduct.services.decision_state import may_change_records
from doseladder.conduct.services.recommendation_cache import (
    MAX_EVENTS,
    may_change_snapshot,
    trial_head,
    unchanged_between,
)
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import Clock, World
from .test_services_backfill import BF
from .test_services_recommendation_cache import cached, uncached

KEPT, RELOAD = "kept", "reload"


@dataclass
class Scene:
    """A BF-BOIN trial (efficacy and backfill count) read through ``world.db``'s cache and
    compared with ``fresh`` (another ``Database``: another process, its cache never used)."""

    world: World
    fresh: Database
    tid: int
    pids: list[int] = field(default_factory=list)
    aes: dict[str, int] = field(default_factory=dict)
    effs: list[int] = field(default_factory=list)

    def check(self, expect: str, db: Database | None = None) -> dict[str, Any]:
        """The cached recommendation (after a warm read before the write) equals the uncached
        one, and the snapshot was kept (``KEPT``) or read again (``RELOAD``)."""
        reader = db or self.world.db
        cache = reader.recommendation_cache
        before = (cache.misses, cache.revalidated)
        got = cached(reader, self.tid)
        assert got == uncached(self.fresh, self.tid)
        assert cache.misses == before[0] + 1  # the head moved
        assert cache.revalidated == before[1] + (1 if expect == KEPT else 0), expect
        return got

    def ae(self, pid: int, *, flagged: bool = False) -> int:
        w = self.world
        row = w.run(
            lambda s: outcomes.record_adverse_event(
                s,
                w.inv_a,
                pid,
                term="Headache",
                grade=1,
                onset_date=w.clock.today(),
                dlt_candidate=flagged,
            )
        )
        return int(row.id)


@pytest.fixture
def scene(world: World, db_url: str, clock: Clock) -> Any:
    other = Database(db_url, clock=clock, pool_size=4)
    try:
        tid = world.trial(BF)
        s = Scene(world, other, tid)
        s.pids = world.cohort(tid, 1)
        cached(world.db, tid)  # warm
        yield s
    finally:
        other.dispose()


def _write_ops(sc: Scene) -> list[tuple[str, str, Callable[[], Any]]]:
    """Every kind of write on the BF-BOIN trial, in an order that lets each one succeed, with
    whether it may change what the recommendation reads."""
    w, tid = sc.world, sc.tid
    p0, p1, p2 = sc.pids

    def flagged() -> None:
        sc.aes["flagged"] = sc.ae(p0, flagged=True)

    def plain_ae() -> None:
        sc.aes["plain"] = sc.ae(p1)

    def correct_ae() -> None:
        row = w.run(
            lambda s: outcomes.correct_adverse_event(
                s, w.dm, sc.aes["plain"], changes={"grade": 2}, reason="typo"
            )
        )
        sc.aes["plain"] = int(row.id)

    def eff(responder: bool, final: bool = False) -> Callable[[], None]:
        def go() -> None:
            row = w.run(
                lambda s: outcomes.record_efficacy(
                    s,
                    w.dm,
                    p2 if responder else p1,
                    assessed_on=w.clock.today(),
                    instrument="ORR",
                    responder=responder,
                    final=final,
                )
            )
            sc.effs.append(int(row.id))

        return go

    def register() -> None:
        sc.pids.append(w.patient(tid))

    def enrol_backfill() -> None:
        w.run(
            lambda s: patients.enrol(
                s, w.inv_a, sc.pids[-1], dose_level=1, cohort="backfill", infusion_date=None
            )
        )

    def infuse() -> None:
        def go(s: Any) -> None:
            e = patients.current_enrolment(s, w.inv_a, sc.pids[-1])
            patients.record_infusion(s, w.inv_a, e.id, infusion_date=w.clock.today())

        w.run(go)

    def correct_enrolment() -> None:
        def go(s: Any) -> None:
            e = patients.current_enrolment(s, w.inv_a, sc.pids[-1])
            patients.correct_enrolment(
                s,
                w.dm,
                e.id,
                changes={"infusion_date": w.clock.today() - timedelta(days=1)},
                reason="typo",
            )

        w.run(go)

    def escalate() -> None:
        w.clock.advance(30)
        w.cohort(tid, 2)

    def sign() -> None:
        d = w.run(
            lambda s: decisions.override_decision(
                s, w.stat, tid, dose_level=1, reason="SRC de-escalates"
            )
        )
        w.approve(d.id)

    return [
        ("AE, not flagged", KEPT, plain_ae),
        ("AE, flagged", RELOAD, flagged),
        ("AE correction (not flagged)", RELOAD, correct_ae),
        (
            "AE void",
            RELOAD,
            lambda: w.run(
                lambda s: outcomes.void_adverse_event(s, w.dm, sc.aes["plain"], reason="error")
            ),
        ),
        (
            "DLT adjudication",
            RELOAD,
            lambda: w.run(
                lambda s: outcomes.adjudicate_dlt(
                    s,
                    w.stat,
                    p0,
                    is_dlt=False,
                    adverse_event_id=sc.aes["flagged"],
                    rationale="SRC",
                )
            ),
        ),
        ("efficacy, no response (not final)", KEPT, eff(False)),
        ("efficacy, response", RELOAD, eff(True)),
        ("efficacy, final non-response", RELOAD, eff(False, final=True)),
        (
            "efficacy correction",
            RELOAD,
            lambda: w.run(
                lambda s: outcomes.correct_efficacy(
                    s, w.dm, sc.effs[0], changes={"responder": True}, reason="re-read"
                )
            ),
        ),
        (
            "efficacy void",
            RELOAD,
            lambda: w.run(
                lambda s: outcomes.void_efficacy(s, w.dm, sc.effs[1], reason="entered in error")
            ),
        ),
        ("time passes, a decision, enrolments", RELOAD, escalate),
        ("registration and screening", KEPT, register),
        ("backfill enrolment", RELOAD, enrol_backfill),
        ("infusion", RELOAD, infuse),
        ("enrolment correction", RELOAD, correct_enrolment),
        ("override and sign-off", RELOAD, sign),
        (
            "suspend accrual",
            RELOAD,
            lambda: w.run(lambda s: trials.suspend_accrual(s, w.stat, tid, reason="DSMB")),
        ),
        (
            "resume accrual",
            RELOAD,
            lambda: w.run(lambda s: trials.resume_accrual(s, w.stat, tid, reason="DSMB ok")),
        ),
        (
            "protocol amendment",
            RELOAD,
            lambda: w.run(
                lambda s: trials.amend_protocol(s, w.stat, tid, {**BF, "n_cap": 4}, reason="cap")
            ),
        ),
        (
            "void enrolment",
            RELOAD,
            lambda: w.run(
                lambda s: patients.void_enrolment(
                    s,
                    w.dm,
                    patients.current_enrolment(s, w.inv_a, sc.pids[-1]).id,
                    reason="entered in error",
                )
            ),
        ),
        (
            "end of trial: close",
            RELOAD,
            lambda: w.run(lambda s: trials.close_trial(s, w.stat, tid, reason="end of study")),
        ),
    ]


def test_after_every_kind_of_write_the_cached_recommendation_is_the_uncached_one(
    scene: Scene,
) -> None:
    w = scene.world
    ops = _write_ops(scene)
    seen = []
    for name, expect, write in ops:
        cached(w.db, scene.tid)  # the snapshot is at the current head
        write()
        seen.append((name, scene.check(expect)["inputs"]["state"]["patients"]))
    # the writes did change the recommendation's inputs along the way (not a constant answer)
    assert len({repr(p) for _, p in seen}) > 5


def test_a_signature_alone_keeps_the_snapshot(scene: Scene) -> None:
    w = scene.world
    d = w.run(
        lambda s: decisions.override_decision(
            s,
            w.stat,
            scene.tid,
            dose_level=1,
            reason="SRC stays at DL1",
            justification="three more patients at DL1 before any escalation",
        )
    )
    cached(w.db, scene.tid)
    w.sign(d.id, w.com1)
    scene.check(KEPT)


def test_an_unflagged_adverse_event_keeps_the_snapshot_across_two_databases(
    scene: Scene,
) -> None:
    """Written through one ``Database`` (one process), read through another: the reader's
    snapshot is kept (no reload), and still equals the uncached answer."""
    w = scene.world
    cached(scene.fresh, scene.tid)  # the other process caches too
    for _ in range(3):
        scene.ae(scene.pids[1])
    scene.check(KEPT, db=scene.fresh)
    scene.check(KEPT)  # several events in one gap
    scene.ae(scene.pids[0], flagged=True)
    after = scene.check(RELOAD, db=scene.fresh)
    assert [p["tox"] for p in after["inputs"]["state"]["patients"]].count(None) >= 1
    scene.check(RELOAD)
    hits = w.db.recommendation_cache.hits
    cached(w.db, scene.tid)
    assert w.db.recommendation_cache.hits == hits + 1


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_writes_and_reads_through_two_databases(scene: Scene, seed: int) -> None:
    """Random sequences of writes (plain / flagged AEs, responses, registrations, time) through
    either handle, reads through both: every cached answer is the uncached one."""
    rng = random.Random(seed)
    w = scene.world
    handles = [w.db, scene.fresh]
    for _ in range(12):
        op = rng.choice(["plain", "plain", "plain", "flagged", "response", "register", "time"])
        if op == "plain":
            scene.ae(rng.choice(scene.pids))
        elif op == "flagged":
            scene.ae(rng.choice(scene.pids), flagged=True)
        elif op == "response":
            w.run(
                lambda s: outcomes.record_efficacy(
                    s,
                    w.dm,
                    rng.choice(scene.pids),
                    assessed_on=w.clock.today(),
                    instrument="ORR",
                    responder=rng.random() < 0.5,
                )
            )
        elif op == "register":
            w.patient(scene.tid)
        else:
            w.clock.advance(rng.uniform(0.5, 10))
        for db in rng.sample(handles, rng.randint(1, 2)):
            assert cached(db, scene.tid) == uncached(db, scene.tid)


def test_lymphodepletion_keeps_the_snapshot(world: World, db_url: str, clock: Clock) -> None:
    other = Database(db_url, clock=clock, pool_size=4)
    try:
        tid = world.trial(load_mapping(shipped_path("f01-car-nk-snc103")))
        d = world.decide(tid)
        pid = world.patient(tid, indication="SLE")
        world.enrol(pid, d.next_dose or 1, infused=False)
        sc = Scene(world, other, tid)
        cached(world.db, tid)
        day = world.clock.today() + timedelta(days=1)
        world.run(
            lambda s: ld.record_lymphodepletion(
                s, world.inv_a, pid, agent="fludarabine", dose="25", given_on=day
            )
        )
        sc.check(KEPT)
    finally:
        other.dispose()


def test_a_large_or_incomplete_gap_is_read_again(scene: Scene) -> None:
    w = scene.world
    head = w.run(lambda s: trial_head(s, scene.tid))
    for _ in range(MAX_EVENTS // 2 + 1):  # an AE write is more than one audit event
        scene.ae(scene.pids[1])
    new = w.run(lambda s: trial_head(s, scene.tid))
    assert new - head > MAX_EVENTS
    assert not w.run(lambda s: unchanged_between(s, scene.tid, head, new))
    assert w.run(lambda s: unchanged_between(s, scene.tid, new - MAX_EVENTS, new))
    # a gap reaching past the head (events not there) is never taken as unchanged
    assert not w.run(lambda s: unchanged_between(s, scene.tid, new - 1, new + 1))
    scene.check(RELOAD)


def test_the_rule_is_load_records_rule() -> None:
    new_ae = {"root_id": None, "supersedes_id": None, "voided": False, "dlt_candidate": False}
    assert not may_change_records("adverse_events", "create", new_ae)
    assert may_change_records("adverse_events", "create", {**new_ae, "dlt_candidate": True})
    assert may_change_records("adverse_events", "create", {**new_ae, "root_id": 3})
    assert may_change_records("adverse_events", "create", {**new_ae, "supersedes_id": 3})
    assert may_change_records("adverse_events", "create", {**new_ae, "voided": True})
    assert may_change_records("adverse_events", "update", new_ae)
    assert may_change_records("adverse_events", "create", None)
    assert may_change_records("adverse_events", "create", {"dlt_candidate": False})
    new_eff = {"root_id": None, "supersedes_id": None, "voided": False}
    assert not may_change_records(
        "efficacy_assessments", "create", {**new_eff, "responder": False, "final": False}
    )
    assert may_change_records(
        "efficacy_assessments", "create", {**new_eff, "responder": False, "final": True}
    )
    assert may_change_records("enrolments", "create", new_eff)
    assert may_change_records("dlt_adjudications", "create", new_eff)
    assert not may_change_records("patients", "create", new_eff)
    for table in ("protocol_versions", "dose_decisions", "trials", "enrolments"):
        assert may_change_snapshot(table, "create", {})
    assert may_change_snapshot("event", "export", None)  # not a table: counted as a change
    for table in ("patients", "screening_results", "electronic_signatures", "users"):
        assert not may_change_snapshot(table, "create", None)


def test_the_trial_and_its_head_read_together_keep_the_visibility_rules(world: World) -> None:
    """``recommend`` reads the trial and its audit head in one statement
    (``visible_with_head``): same head as ``trial_head``, same refusals as ``ensure_visible``."""
    from doseladder.conduct.errors import NotFound, ValidationError
    from doseladder.conduct.services.decision_queries import ensure_visible, visible_with_head

    tid = world.trial()
    trial, head = world.run(lambda s: visible_with_head(s, world.inv_a, tid))
    assert trial.id == tid and head == world.run(lambda s: trial_head(s, tid)) > 0
    other_site = world.run(
        lambda s: trials.create_trial(s, world.stat, code="TOTHER", title="t", protocol=BF).id
    )
    for fn in (ensure_visible, visible_with_head):
        with pytest.raises(NotFound):
            world.run(lambda s, f=fn: f(s, world.inv_a, other_site))  # site not activated
        with pytest.raises(NotFound):
            world.run(lambda s, f=fn: f(s, world.stat, 10_000))
        with pytest.raises(ValidationError):
            world.run(lambda s, f=fn: f(s, world.stat, "1"))
    assert world.run(lambda s: visible_with_head(s, world.stat, other_site))[1] > 0
