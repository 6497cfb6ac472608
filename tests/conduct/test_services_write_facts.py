"""The adverse-event write reads what it rests on in one statement after the trial lock.

``outcomes._dlt_basis`` reads the consent date, the current enrolment, the latest protocol
version and the patient's AE/adjudication history in one statement; the protocol is parsed once
per content hash in the process (``trials.engine_by_hash``).  These tests check that what the
write sees is what the full reads see: a new protocol version at once, a voided or corrected
enrolment, the first screening, the stored proposal equal to a fresh one, and that the parsed
protocols kept are bounded and shared correctly by two ``Database`` objects.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from doseladder.conduct import Database
from doseladder.conduct.errors import Forbidden, NotFound, ValidationError
from doseladder.conduct.models import Patient
from doseladder.conduct.services import outcomes, patients, trials
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import BOIN, Clock, World, crs_form, enrolled, latest, record


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def str_p004() -> dict[str, Any]:
    data: dict[str, Any] = load_mapping(shipped_path("str-p004-nct07143617"))
    return data


def str_p004_crs_from(grade: int) -> dict[str, Any]:
    """STR-P004 with its CRS rule starting at ``grade``."""
    data = copy.deepcopy(str_p004())
    rule = next(r for r in data["dlt"]["rules"] if r["id"] == "crs_ge3")
    rule["min_grade"] = grade
    return data


def str_patient(world: World, tid: int) -> int:
    d = world.decide(tid, indication="SLE-ITP")
    pid = world.patient(tid, indication="SLE-ITP")
    world.enrol(pid, d.next_dose or 1)
    return pid


def test_a_new_protocol_version_is_used_by_the_next_write(world: World) -> None:
    tid = world.trial(str_p004(), code="STR")
    first = str_patient(world, tid)
    world.clock.advance(2)
    record(world, first, term="CRS", crs=crs_form(3), relatedness="possible")
    assert (latest(world, first).status, latest(world, first).rule) == ("yes", "crs_ge3")
    # the parsed version 1 is cached now; the amendment is a new row with its own hash
    world.run(
        lambda s: trials.amend_protocol(
            s, world.stat, tid, str_p004_crs_from(4), reason="CRS DLT from grade 4"
        )
    )
    second = str_patient(world, tid)
    world.clock.advance(2)
    ae = record(world, second, term="CRS", crs=crs_form(3), relatedness="possible")
    p = latest(world, second)
    assert p.status != "yes" and p.rule is None, (p.status, p.rule, p.message)
    assert ae.grading is not None and ae.grading["dlt_call"] != "met"
    with world.db.session() as s:
        assert outcomes._dlt_basis(s, s.get_one(Patient, second)).definition == (
            trials.current_engine(s, tid).protocol.dlt
        )


def test_parsed_protocols_kept_are_bounded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trials, "_ENGINES_BY_HASH", {})
    monkeypatch.setattr(trials, "_ENGINES_KEPT", 2)
    targets = (0.2, 0.25, 0.3, 0.35)
    ids = [world.trial(BOIN | {"target": t}) for t in targets]
    for _ in range(2):
        for tid, target in zip(ids, targets, strict=True):
            with world.db.session() as s:
                assert trials.current_engine(s, tid).design.target == target
            assert 1 <= len(trials._ENGINES_BY_HASH) <= 2


def test_two_databases_share_parsed_protocols_by_content(
    world: World, db_url: str, clock: Clock
) -> None:
    """A second ``Database`` on the same database sees an amendment made through the first at
    its next write (the cache is keyed by the stored content's hash, never by trial)."""
    tid, pid = enrolled(world)
    other = Database(db_url, clock=clock, pool_size=2)
    try:
        with other.session() as s:
            assert trials.current_engine(s, tid).design.target == 0.3
        world.run(
            lambda s: trials.amend_protocol(
                s, world.stat, tid, BOIN | {"target": 0.25}, reason="target lowered"
            )
        )
        with other.session() as s:
            assert trials.current_engine(s, tid).design.target == 0.25
            version_id = trials.current_protocol(s, tid).id
            facts = outcomes._dlt_basis(s, s.get_one(Patient, pid))
            assert facts.trial.id == tid
        other_world = World(**{**world.__dict__, "db": other})
        row = record(other_world, pid, term="Headache", grade=1)
        assert row.id is not None
        with world.db.session() as s:
            assert trials.current_protocol(s, tid).id == version_id
    finally:
        other.dispose()


def test_voided_and_corrected_enrolment_are_seen_by_the_write(world: World) -> None:
    tid = world.trial(str_p004(), code="STR")
    pid = str_patient(world, tid)
    world.clock.advance(1)
    record(world, pid, term="Headache", grade=1)
    assert latest(world, pid).status == "not_yet_known"
    with world.db.session() as s:
        enrolment = patients.current_enrolment(s, world.stat, pid)
        assert enrolment is not None
    moved = world.run(
        lambda s: patients.correct_enrolment(
            s,
            world.inv_a,
            enrolment.id,
            changes={"infusion_date": world.clock.today()},
            reason="infusion date corrected",
        )
    )
    world.clock.advance(3)
    record(world, pid, term="CRS", crs=crs_form(3), relatedness="possible")
    p = latest(world, pid)
    # day 3 from the corrected infusion (day 4 from the first one)
    assert (p.status, p.rule, p.dlt_day) == ("yes", "crs_ge3", 3.0)
    with world.db.session() as s:
        basis = outcomes._dlt_basis(s, s.get_one(Patient, pid))
        assert basis.enrolled and basis.infusion_date == moved.infusion_date
    world.run(lambda s: patients.void_enrolment(s, world.inv_a, moved.id, reason="in error"))
    record(world, pid, term="Headache", grade=1)
    p = latest(world, pid)
    assert (p.status, p.message) == ("not_evaluable", "Not enrolled.")


def test_consent_is_the_first_screening(world: World) -> None:
    tid = world.trial()
    pid = world.patient(tid)  # screened today
    earlier = world.clock.today() - timedelta(days=5)
    world.run(
        lambda s: patients.record_screening(s, world.inv_a, pid, screened_on=earlier, eligible=True)
    )
    world.enrol(pid, world.decide(tid).next_dose or 1)
    record(world, pid, term="Headache", grade=1, onset_date=earlier)
    with pytest.raises(ValidationError) as info:
        record(world, pid, term="Headache", grade=1, onset_date=earlier - timedelta(days=1))
    assert info.value.field == "onset_date"
    with world.db.session() as s:
        patient = s.get_one(Patient, pid)
        assert outcomes.consent_date(s, patient) == earlier
        assert outcomes._dlt_basis(s, patient).consent == earlier


def test_stored_proposal_equals_a_fresh_one(world: World) -> None:
    """The write's proposal (history read before its insert plus the inserted row) is the
    proposal computed afresh from the stored rows right after it, through corrections."""
    _, pid = enrolled(world)
    world.clock.advance(1)
    first = record(world, pid, term="CRS", crs=crs_form(3), relatedness="possible")
    record(world, pid, term="Headache", grade=2)
    world.run(
        lambda s: outcomes.correct_adverse_event(
            s, world.inv_a, first.id, changes={"crs": crs_form(1)}, reason="re-graded"
        )
    )
    for _ in range(2):
        stored = latest(world, pid)
        fresh = world.run(lambda s: outcomes.propose_dlt(s, world.stat, pid))
        keys = ("status", "rule", "adverse_event_id", "dlt_day", "message", "assessment")
        assert {k: getattr(stored, k) for k in keys} == {k: getattr(fresh, k) for k in keys}
        record(world, pid, term="Nausea", grade=3)


def test_an_adverse_event_write_is_four_statements(world: World) -> None:
    """Patient + trial lock, the facts and history, the AE insert, the proposal insert (the
    protocol already parsed in this process)."""
    _, pid = enrolled(world)
    record(world, pid, term="Headache", grade=1)

    def write(s: Any) -> list[str]:
        with counted(world.db) as seen:
            outcomes.record_adverse_event(
                s, world.inv_a, pid, term="Headache", grade=1, onset_date=world.clock.today()
            )
        return [x for x in seen if not x.startswith("BEGIN")]  # SQLite: BEGIN IMMEDIATE

    seen = world.run(write)
    assert len(seen) == 4, seen
    assert seen[0].startswith("SELECT patients.id") and seen[2].startswith(
        "INSERT INTO adverse_events"
    )
    assert seen[3].startswith("INSERT INTO dlt_proposals")


def test_a_write_waiting_for_the_trial_lock_sees_what_the_holder_committed(
    world: World, db_url: str
) -> None:
    """PostgreSQL: an AE write that waits for the patient's trial row lock reads its facts
    after it got the lock, so it sees the enrolment the lock holder voided meanwhile (a read
    in the locking statement's snapshot would still see the enrolment)."""
    if world.db.dialect != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite serialises whole write transactions)")
    tid = world.trial(str_p004(), code="STR")
    pid = str_patient(world, tid)
    world.clock.advance(1)
    with world.db.session() as s:
        enrolment = patients.current_enrolment(s, world.stat, pid)
        assert enrolment is not None
    holder = world.db.session()
    written: list[Any] = []
    try:
        patients.void_enrolment(holder, world.inv_a, enrolment.id, reason="entered in error")
        holder.flush()

        def write() -> None:
            written.append(record(world, pid, term="CRS", crs=crs_form(3), relatedness="possible"))

        writer = threading.Thread(target=write)
        writer.start()
        deadline = time.monotonic() + 30
        while not waiting_for_a_lock(world):  # the writer is blocked on the trial row
            assert writer.is_alive() and time.monotonic() < deadline
            time.sleep(0.02)
        holder.commit()
    finally:
        holder.close()
    writer.join(30)
    assert len(written) == 1
    p = latest(world, pid)
    assert (p.status, p.message) == ("not_evaluable", "Not enrolled.")
    assert written[0].grading is not None and written[0].grading["dlt_call"] is None


def waiting_for_a_lock(world: World) -> bool:
    n = world.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    ).scalar()
    return bool(n)


@pytest.mark.parametrize("write", ["adverse_event", "efficacy"])
def test_the_light_patient_lock_checks_as_patient_for(world: World, write: str) -> None:
    """``lock_patient`` (the AE and efficacy writes) refuses what ``patient_for`` refuses:
    another site's patient, an unknown patient, an id that is not an integer."""
    _, pid = enrolled(world)

    def call(who: Any, patient_id: Any) -> Any:
        if write == "adverse_event":
            return world.run(
                lambda s: outcomes.record_adverse_event(
                    s, who, patient_id, term="Headache", grade=1, onset_date=world.clock.today()
                )
            )
        return world.run(
            lambda s: outcomes.record_efficacy(
                s,
                who,
                patient_id,
                assessed_on=world.clock.today(),
                instrument="SRI-4",
                responder=False,
            )
        )

    before = world.snapshot_counts()
    with pytest.raises(Forbidden):
        call(world.inv_b, pid)
    with pytest.raises(NotFound, match=f"patient #{pid + 1000} not found"):
        call(world.inv_a, pid + 1000)
    with pytest.raises(ValidationError) as info:
        call(world.inv_a, str(pid))
    assert info.value.field == "patient_id"
    assert world.snapshot_counts() == before
    assert call(world.inv_a, pid).patient_id == pid
