"""Fixtures of the trial-conduct tests: a migrated database on SQLite *and* PostgreSQL.

``db_url`` is parametrised over ``sqlite`` (a copy of a migrated template file per test) and
``postgresql`` (one fresh database ``doseladder_test_<random>`` per test session, created with
psycopg on 127.0.0.1:5432 as user ``postgres``, migrated once, emptied before each test, and
dropped at the end).  PostgreSQL tests are skipped only when the server is unreachable *and*
the ``CI`` environment variable is unset; in CI an unreachable server fails the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from doseladder.cli.main import app as _cli_app
from doseladder.conduct import Database, audit, security
from doseladder.conduct.db import upgrade
from doseladder.conduct.models import (
    AdverseEvent,
    AuditEvent,
    AuditHead,
    Base,
    DLTProposal,
    DoseDecision,
    Enrolment,
    Patient,
    Trial,
)
from doseladder.conduct.sealing import FileAnchorStore, Sealer
from doseladder.conduct.security import Actor, Role
from doseladder.conduct.services import (
    decisions,
    opening_guard,
    outcomes,
    patients,
    sites_users,
    trials,
)
from doseladder.conduct.signing import Ed25519Signer, write_key_file

PG_HOST = os.environ.get("DOSELADDER_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("DOSELADDER_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("DOSELADDER_TEST_PG_USER", "postgres")
PASSWORD = "correct horse battery"
BOIN = {"design": "boin", "num_doses": 4, "target": 0.3, "cohort_size": 3, "max_n": 12}
TITE_BOIN = {
    "design": "tite-boin",
    "num_doses": 4,
    "target": 0.3,
    "cohort_size": 3,
    "max_n": 12,
    "tox_window": 28,
}
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DAY0 = START.date()


def pg_admin_conninfo(dbname: str = "postgres") -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={dbname} connect_timeout=3"


def pg_url(dbname: str) -> str:
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def pg_available() -> bool:
    try:
        with psycopg.connect(pg_admin_conninfo()):
            return True
    except psycopg.OperationalError:
        return False


def require_pg() -> None:
    """Skip (locally) or fail (in CI) when PostgreSQL is unreachable."""
    if pg_available():
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is unreachable on {PG_HOST}:{PG_PORT} but CI is set")
    pytest.skip(f"PostgreSQL is unreachable on {PG_HOST}:{PG_PORT} (set CI to make this fail)")


class PgDatabases:
    """Creates and drops throw-away PostgreSQL databases."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self) -> str:
        name = f"doseladder_test_{secrets.token_hex(6)}"
        with psycopg.connect(pg_admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        with psycopg.connect(pg_admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            self.drop(name)


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    dbs = PgDatabases()
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def pg_session_url(pg_databases: PgDatabases) -> str:
    """The session's migrated PostgreSQL database."""
    require_pg()
    url = pg_url(pg_databases.create())
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _reset_pg(url: str) -> None:
    """Empty every table (fast: DELETE with triggers off, no TRUNCATE) and reset the head."""
    dbname = url.rsplit("/", 1)[-1]
    with psycopg.connect(pg_admin_conninfo(dbname)) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for t in reversed(Base.metadata.sorted_tables):
            conn.execute(f'DELETE FROM "{t.name}"')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database (SQLite file or PostgreSQL)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "conduct.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_session_url")
    _reset_pg(url)
    return url


@pytest.fixture(autouse=True)
def _cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests do not need slow password hashing (production keeps n = 2**14 and argon2id at
    t = 3, m = 64 MiB, p = 4)."""
    monkeypatch.setattr(security, "SCRYPT_N", 2**8)
    monkeypatch.setattr(security, "ARGON2_TIME_COST", 1)
    monkeypatch.setattr(security, "ARGON2_MEMORY_KIB", 1024)
    monkeypatch.setattr(security, "ARGON2_PARALLELISM", 1)


class Clock:
    """A controllable service clock: ticks 1 ms per reading, ``advance`` jumps ahead."""

    def __init__(self, start: datetime = START) -> None:
        self.t = start

    def __call__(self) -> datetime:
        self.t += timedelta(milliseconds=1)
        return self.t

    def advance(self, days: float = 0.0, **kw: float) -> None:
        self.t += timedelta(days=days, **kw)

    def today(self) -> date:
        return self.t.date()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(db_url: str, clock: Clock) -> Iterator[Database]:
    database = Database(db_url, clock=clock, pool_size=8)
    yield database
    database.dispose()


@dataclass
class World:
    """A populated system: two sites, one user per role (investigators at each site)."""

    db: Database
    clock: Clock
    admin: Actor
    stat: Actor
    inv_a: Actor
    inv_b: Actor
    dm: Actor
    dm_a: Actor
    monitor: Actor
    site_a: int
    site_b: int
    com1: Actor
    com2: Actor

    @property
    def actors(self) -> dict[str, Actor]:
        return {
            "admin": self.admin,
            "statistician": self.stat,
            "investigator": self.inv_a,
            "data_manager": self.dm,
            "monitor": self.monitor,
        }

    def run(self, fn: Callable[[Any], Any]) -> Any:
        return self.db.run(fn)

    def trial(
        self,
        protocol: dict[str, Any] | None = None,
        *,
        code: str | None = None,
        open_: bool = True,
        **kw: Any,
    ) -> int:
        design = protocol if protocol is not None else BOIN
        name = code or f"T{secrets.token_hex(3).upper()}"

        def make(s: Any) -> int:
            t = trials.create_trial(
                s, self.stat, code=name, title="A test trial", protocol=design, **kw
            )
            trials.activate_site(s, self.stat, t.id, self.site_a)
            trials.activate_site(s, self.stat, t.id, self.site_b)
            if open_:
                acknowledge_opening(s, t.id, self.admin, self.stat)
                trials.open_trial(s, self.stat, t.id)
            return t.id

        trial_id: int = self.run(make)
        return trial_id

    def acknowledge_opening(self, trial_id: int) -> int:
        """Acknowledge every opening item of a draft trial (admin and statistician)."""
        n: int = self.run(lambda s: acknowledge_opening(s, trial_id, self.admin, self.stat))
        return n

    def patient(
        self,
        trial_id: int,
        inv: Actor | None = None,
        *,
        eligible: bool = True,
        indication: str | None = None,
    ) -> int:
        who = inv or self.inv_a

        def make(s: Any) -> int:
            p = patients.register_patient(s, who, trial_id, indication=indication)
            patients.record_screening(
                s, who, p.id, screened_on=self.clock.today(), eligible=eligible
            )
            return p.id

        patient_id: int = self.run(make)
        return patient_id

    def decide(self, trial_id: int, indication: str | None = None) -> DoseDecision:
        d: DoseDecision = self.run(
            lambda s: decisions.record_decision(s, self.stat, trial_id, indication=indication)
        )
        return d

    def sign(self, decision_id: int, who: Actor | None = None, *, approve: bool = True) -> Any:
        """An electronic signature of a decision (by the admin unless ``who``)."""
        signer = who or self.admin
        return self.run(
            lambda s: decisions.sign_off(
                s,
                signer,
                decision_id,
                approve=approve,
                comment="SRC minutes",
                password=PASSWORD,
                printed_name=f"Dr {signer.username}",
            )
        )

    def approve(self, decision_id: int) -> Any:
        """Sign a decision off by as many committee members as it needs (four eyes)."""
        result = self.sign(decision_id, self.com1)
        if not result.complete:
            result = self.sign(decision_id, self.com2)
        return result

    def enrol(
        self,
        patient_id: int,
        dose: int,
        *,
        inv: Actor | None = None,
        infused: bool = True,
        decision_id: int | None = None,
    ) -> Enrolment:
        who = inv or self.inv_a
        e: Enrolment = self.run(
            lambda s: patients.enrol(
                s,
                who,
                patient_id,
                dose_level=dose,
                decision_id=decision_id,
                infusion_date=self.clock.today() if infused else None,
            )
        )
        return e

    def cohort(self, trial_id: int, dose: int, n: int = 3, inv: Actor | None = None) -> list[int]:
        """Record a decision and enrol ``n`` patients at ``dose`` (infused today)."""
        d = self.decide(trial_id)
        assert d.status == "enrol" and d.next_dose == dose, (d.status, d.next_dose, d.message)
        ids = []
        for _ in range(n):
            pid = self.patient(trial_id, inv)
            self.enrol(pid, dose, inv=inv)
            ids.append(pid)
        return ids

    def audit_count(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)

    def count(self, model: Any) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def snapshot_counts(self) -> dict[str, int]:
        """Row counts of every table (to prove that nothing changed)."""
        with self.db.session() as s:
            return {
                t.name: int(s.scalar(select(func.count()).select_from(t)) or 0)
                for t in Base.metadata.sorted_tables
            }

    def sql(self, statement: str, **params: Any) -> Any:
        """Raw SQL outside the services (to simulate tampering)."""
        with self.db.engine.begin() as conn:
            return conn.execute(text(statement), params)

    def tamper(self, statement: str, **params: Any) -> None:
        """Raw SQL with the append-only triggers out of the way, as an attacker with direct
        database access could do (PostgreSQL: triggers off for this transaction only; SQLite:
        the per-test file's triggers are dropped)."""
        with self.db.engine.begin() as conn:
            if self.db.dialect == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                names = conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).fetchall()
                for (name,) in names:
                    conn.execute(text(f'DROP TRIGGER "{name}"'))
            conn.execute(text(statement), params)


def acknowledge_opening(s: Any, trial_id: int, admin: Actor, statistician: Actor) -> int:
    """THE test helper that lets a trial open through the opening guard: ``admin`` and
    ``statistician`` acknowledge every item of the trial's current protocol that they have not
    acknowledged yet ("acknowledged for the test").  Returns how many acknowledgements it
    gave (0 for a design file or a protocol without items)."""
    given = 0
    for status in opening_guard.checklist(s, admin, trial_id):
        for who in (admin, statistician):
            if who.role.value in status.missing:
                opening_guard.acknowledge(
                    s, who, trial_id, item=status.item.id, reason="acknowledged for the test"
                )
                given += 1
    return given


def crs_form(grade: int) -> dict[str, Any]:
    """An ASTCT 2019 CRS form that the consensus table grades ``grade`` (1-4): fever with no
    hypotension (1), hypotension without vasopressors (2), one vasopressor (3), two (4)."""
    form: dict[str, Any] = {
        "temperature_max": 38.9,
        "temperature_unit": "°C",
        "fever_other_cause": False,
        "hypotension": grade >= 2,
        "oxygen": "none",
    }
    if grade >= 3:
        form["vasopressors"] = ["norepinephrine", "phenylephrine"][: grade - 2]
    return form


def icans_form(grade: int) -> dict[str, Any]:
    """An adult ASTCT 2019 ICANS form graded ``grade`` (1-4): ICE 7-9 (1), 3-6 (2), 0-2 (3),
    unarousable (4)."""
    ice = {1: 8, 2: 5, 3: 1, 4: 0}[grade]
    consciousness = "unarousable" if grade == 4 else "alert"
    return {"age_years": 40, "ice": ice, "consciousness": consciousness}


def make_world(db: Database, clock: Clock) -> World:
    def setup(s: Any) -> dict[str, Any]:
        admin = sites_users.actor_for(
            sites_users.bootstrap_admin(s, username="admin", password=PASSWORD)
        )
        a = sites_users.create_site(s, admin, code="SA", name="Site A")
        b = sites_users.create_site(s, admin, code="SB", name="Site B")

        def user(name: str, role: Role, site: int | None = None) -> Actor:
            u = sites_users.create_user(
                s, admin, username=name, password=PASSWORD, role=role, site_id=site
            )
            return sites_users.actor_for(u)

        return {
            "admin": admin,
            "stat": user("stat", Role.STATISTICIAN),
            "inv_a": user("inv_a", Role.INVESTIGATOR, a.id),
            "inv_b": user("inv_b", Role.INVESTIGATOR, b.id),
            "dm": user("datamgr", Role.DATA_MANAGER),
            "dm_a": user("dm_a", Role.DATA_MANAGER, a.id),
            "monitor": user("monitor", Role.MONITOR),
            "site_a": a.id,
            "site_b": b.id,
            "com1": user("com1", Role.COMMITTEE),
            "com2": user("com2", Role.COMMITTEE),
        }

    return World(db=db, clock=clock, **db.run(setup))


@pytest.fixture
def world(db: Database, clock: Clock) -> World:
    return make_world(db, clock)


__all__ = [
    "BOIN",
    "DAY0",
    "PASSWORD",
    "TITE_BOIN",
    "Clock",
    "Patient",
    "Trial",
    "World",
    "acknowledge_opening",
    "crs_form",
    "icans_form",
    "make_world",
    "pg_url",
    "require_pg",
]


_runner = CliRunner()


# ------------------------------------------------- a signed, anchored trail (shared by
# test_audit_sealing.py and test_tampering_cases.py)
class Sealed:
    """A world whose database signs every commit and anchors it in a file.

    ``chain`` is the audit chain of the world's trial: the helpers read and rewrite it (the
    attacker's target); ``tamper`` passes it to SQL as ``:c``."""

    def __init__(
        self, world: World, key_file: Path, anchors: Path, signer: Ed25519Signer, trial: int
    ):
        self.world = world
        self.key_file = key_file
        self.anchors = anchors
        self.signer = signer
        self.trial = trial
        self.chain = audit.chain_of(trial)
        self.other: str | None = None  # another trial's chain, where a test makes one

    def cli(self, *args: str) -> Any:
        return _runner.invoke(
            _cli_app,
            [
                *args,
                "--database",
                self.world.db.url,
                "--key-file",
                str(self.key_file),
                "--anchors",
                str(self.anchors),
            ],
        )

    def verify(self) -> Any:
        return self.cli("audit", "verify")

    def tamper(self, statement: str, **params: Any) -> None:
        """:meth:`World.tamper` with ``:c`` bound to the trial's chain."""
        if ":c" in statement:
            params.setdefault("c", self.chain)
        self.world.tamper(statement, **params)

    def events(self, chain: str | None = None) -> list[dict[str, Any]]:
        """The events of ``chain`` (default: the trial's), in chain order."""
        with self.world.db.session() as s:
            rows = s.execute(
                select(AuditEvent.__table__)
                .where(AuditEvent.chain == (chain or self.chain))
                .order_by(AuditEvent.seq)
            ).mappings()
            return [dict(r) for r in rows]

    def head(self, chain: str | None = None) -> tuple[int, str]:
        with self.world.db.session() as s:
            h = s.get(AuditHead, chain or self.chain)
            assert h is not None
            return h.seq, h.hash

    def insert_event(self, seq: int, body: dict[str, Any], ts: Any, prev: str) -> str:
        """Insert an event row for ``body`` at ``seq`` of its chain, linked to ``prev``;
        returns its hash."""
        body = dict(body, seq=seq)
        payload = audit.canonical_json(body)
        digest = audit.chain_hash(prev, payload)
        self.world.tamper(
            "INSERT INTO audit_events (chain, seq, ts, actor_user_id, actor_username, trial_id, "
            "entity_type, entity_id, action, reason, payload, prev_hash, hash) VALUES "
            "(:c, :seq, :ts, :uid, :uname, :tid, :et, :eid, :act, :rsn, :p, :prev, :h)",
            c=body.get("chain", self.chain),
            seq=seq,
            ts=ts.replace(tzinfo=None) if self.world.db.dialect == "sqlite" else ts,
            uid=body["actor"]["user_id"],
            uname=body["actor"]["username"],
            tid=body["trial_id"],
            et=body["entity_type"],
            eid=body["entity_id"],
            act=body["action"],
            rsn=body["reason"],
            p=payload,
            prev=prev,
            h=digest,
        )
        return digest

    def rechain(self, events: list[dict[str, Any]], chain: str | None = None) -> None:
        """Rewrite ``chain`` (default: the trial's) as ``events`` with a valid, recomputed
        hash chain and head -- what anyone can do without the key."""
        chain = chain or self.chain
        self.tamper("DELETE FROM audit_events WHERE chain = :c", c=chain)
        prev = audit.GENESIS_HASH
        for n, ev in enumerate(events, start=1):
            body = dict(json.loads(ev["payload"]), chain=chain)
            prev = self.insert_event(n, body, ev["ts"], prev)
        self.tamper(
            "UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c",
            s=len(events),
            h=prev,
            c=chain,
        )


@pytest.fixture
def sealed(db_url: str, clock: Clock, tmp_path: Path) -> Iterator[Sealed]:
    """A signed, anchored trial: sites and users, a trial opened, a patient registered and
    enrolled, a grade-4 neutropenia adjudicated as a DLT, accrual suspended."""
    signer = Ed25519Signer.generate()
    key_file = tmp_path / "keys" / "audit.pem"
    write_key_file(key_file, signer)
    anchors = tmp_path / "anchors.jsonl"
    sealer = Sealer(signer=signer, anchors=FileAnchorStore(anchors), database="test")
    db = Database(db_url, clock=clock, pool_size=8, sealer=sealer)
    world = make_world(db, clock)
    trial = world.trial()
    pid = world.patient(trial)
    d = world.decide(trial)
    world.enrol(pid, d.next_dose)
    ae = world.run(
        lambda s: outcomes.record_adverse_event(
            s,
            world.inv_a,
            pid,
            term="Neutrophil count decreased",
            lab={"value": 0.4, "unit": "10^9/L"},
            onset_date=world.clock.today(),
            dlt_candidate=True,
        )
    )
    world.run(
        lambda s: outcomes.adjudicate_dlt(
            s, world.stat, pid, is_dlt=True, adverse_event_id=ae.id, rationale="grade 4"
        )
    )
    world.run(lambda s: trials.suspend_accrual(s, world.stat, trial, reason="DLT review"))
    yield Sealed(world, key_file, anchors, signer, trial)
    db.dispose()


def broken(sealed: Sealed, *words: str) -> str:
    """``audit verify`` fails, reporting every one of ``words``."""
    res = sealed.verify()
    assert res.exit_code == 1, res.output
    assert "BROKEN" in res.stdout
    for word in words:
        assert word in res.stdout, res.stdout
    return str(res.stdout)


def export(sealed: Sealed, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "copy.json"
    res = sealed.cli("audit", "export", str(out), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["key_id"] == sealed.signer.key_id
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def verify_copy(sealed: Sealed, data: dict[str, Any], tmp_path: Path) -> Any:
    path = tmp_path / "candidate.json"
    path.write_text(json.dumps(data))
    return _runner.invoke(
        _cli_app, ["audit", "verify", "--copy", str(path), "--key-file", str(sealed.key_file)]
    )


def recertify(data: dict[str, Any]) -> None:
    """What a forger can do to a copy without the key: renumber and recompute every chain,
    the heads and the SHA-256."""
    heads: dict[str, tuple[int, str]] = {}
    for ev in data["events"]:
        seq, prev = heads.get(ev["chain"], (0, audit.GENESIS_HASH))
        body = json.loads(ev["payload"])
        body["seq"] = ev["seq"] = seq + 1
        ev["payload"] = audit.canonical_json(body)
        ev["prev_hash"] = prev
        ev["hash"] = audit.chain_hash(prev, ev["payload"])
        heads[ev["chain"]] = (seq + 1, ev["hash"])
    data["heads"] = {c: {"seq": s, "hash": h} for c, (s, h) in heads.items()}
    data["head"] = {"seq": len(data["events"]), "hash": audit.heads_digest(heads)}
    body = {k: v for k, v in data.items() if k not in ("certificate", "manifest")}
    data["certificate"]["sha256"] = hashlib.sha256(audit.canonical_json(body).encode()).hexdigest()


# ------------------------------------------------ adverse events and DLT proposals (grading tests)
def enrolled(world: World, protocol: dict[str, Any] | None = None) -> tuple[int, int]:
    """A new trial (``protocol``, default BOIN) with one patient enrolled at its first dose:
    (trial id, patient id)."""
    tid = world.trial(protocol)
    d = world.decide(tid)
    pid = world.patient(tid)
    world.enrol(pid, d.next_dose or 1)
    return tid, pid


def record(world: World, pid: int, **kw: Any) -> AdverseEvent:
    """``record_adverse_event`` by investigator A (onset today unless given)."""
    args: dict[str, Any] = {"onset_date": world.clock.today()} | kw
    row: AdverseEvent = world.run(
        lambda s: outcomes.record_adverse_event(s, world.inv_a, pid, **args)
    )
    return row


def latest(world: World, pid: int) -> DLTProposal:
    """The patient's latest DLT proposal (read by the statistician)."""
    with world.db.session() as s:
        p = outcomes.latest_proposal(s, world.stat, pid)
        assert p is not None
        return p
