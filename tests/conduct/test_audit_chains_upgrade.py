"""Migration 0007 (per-trial audit chains) on a database holding a trail written by the code
before it: the old events stay valid as the frozen ``legacy`` chain (their hashes, signatures
and anchors unchanged), new events go to per-trial and global chains, ``audit verify`` and
certified copies cover all of them, and tampering with a legacy event is still caught.

The old trail (``data/legacy_trail_0006.json``) was written by the previous code
(``data/make_legacy_trail.py``): every row of every table, its signing key and anchor lines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Date, DateTime, MetaData, select, text
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.conduct import Database, audit, downgrade, upgrade
from doseladder.conduct.db import make_engine
from doseladder.conduct.models import AuditEvent, AuditHead, User
from doseladder.conduct.sealing import FileAnchorStore, Sealer
from doseladder.conduct.services import sites_users, trials
from doseladder.conduct.signing import Ed25519Signer

from .conftest import Clock, PgDatabases, pg_url, require_pg

runner = CliRunner()
LEGACY = json.loads((Path(__file__).parent / "data" / "legacy_trail_0006.json").read_text())


@pytest.fixture(params=["sqlite", "postgresql"])
def old_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases
) -> Iterator[str]:
    """A database at revision 0006 holding the old code's trail, row for row."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        require_pg()
        name = pg_databases.create()
        url = pg_url(name)
    upgrade(url, LEGACY["revision"])
    _load(url, LEGACY["tables"])
    yield url
    if request.param == "postgresql":
        pg_databases.drop(name)


def _value(column: Any, value: Any) -> Any:
    if isinstance(value, str) and isinstance(column.type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(value, str) and isinstance(column.type, Date):
        return date.fromisoformat(value)
    return value


def _load(url: str, tables: dict[str, list[dict[str, Any]]]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            meta = MetaData()
            meta.reflect(conn)
            for table in meta.sorted_tables:
                rows = tables.get(table.name) or []
                if table.name == "audit_head":  # the migrations seed its single row
                    (row,) = rows
                    conn.execute(
                        text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
                        {"s": row["seq"], "h": row["hash"]},
                    )
                    continue
                if rows:
                    conn.execute(
                        table.insert(),
                        [{k: _value(table.c[k], v) for k, v in r.items()} for r in rows],
                    )
                if conn.dialect.name == "postgresql" and "id" in table.c and rows:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT MAX(id) FROM {table.name}))"
                        )
                    )
    finally:
        engine.dispose()


def _files(tmp_path: Path) -> tuple[Ed25519Signer, Path, Path]:
    signer = Ed25519Signer.from_text(LEGACY["key_pem"])
    key_file = tmp_path / "audit.pem"
    key_file.write_text(LEGACY["key_pem"])
    key_file.chmod(0o600)
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text("\n".join(LEGACY["anchors"]) + "\n")
    return signer, key_file, anchors


def _verify(url: str, key_file: Path, anchors: Path) -> Any:
    return runner.invoke(
        app,
        [
            "audit",
            "verify",
            "--database",
            url,
            "--key-file",
            str(key_file),
            "--anchors",
            str(anchors),
        ],
    )


def test_the_old_trail_verifies_after_the_upgrade_and_new_events_chain_per_trial(
    old_url: str, tmp_path: Path
) -> None:
    signer, key_file, anchors = _files(tmp_path)
    n_old = len(LEGACY["tables"]["audit_events"])
    upgrade(old_url)
    res = _verify(old_url, key_file, anchors)
    assert res.exit_code == 0, res.output
    assert f"chain legacy: head #{n_old} {LEGACY['tables']['audit_head'][0]['hash']}" in res.stdout

    # the new code writes on: a trial's change to its chain, a site to the global chain
    trial = LEGACY["trial_id"]
    sealer = Sealer(signer=signer, anchors=FileAnchorStore(anchors), database="test")
    db = Database(
        old_url, clock=Clock(datetime.fromisoformat("2025-03-04T09:00:00+00:00")), sealer=sealer
    )
    try:
        with db.session() as s:
            users = {u.username: sites_users.actor_for(u) for u in s.scalars(select(User))}
        db.run(lambda s: trials.resume_accrual(s, users["stat"], trial, reason="review done"))
        db.run(lambda s: sites_users.create_site(s, users["admin"], code="SC", name="Site C"))
        with db.session() as s:
            heads = {h.chain: h.seq for h in s.scalars(select(AuditHead))}
            chains = {e.chain for e in s.scalars(select(AuditEvent).where(AuditEvent.id > n_old))}
            old = s.scalars(select(AuditEvent).where(AuditEvent.id <= n_old)).all()
    finally:
        db.dispose()
    assert heads["legacy"] == n_old and heads[f"trial:{trial}"] >= 1 and heads["global"] >= 1
    assert chains == {"global", f"trial:{trial}"}
    assert {e.chain for e in old} == {"legacy"} and [e.seq for e in old] == list(
        range(1, n_old + 1)
    )
    res = _verify(old_url, key_file, anchors)
    assert res.exit_code == 0, res.output
    assert "intact" in res.stdout and "chain global" in res.stdout

    # a certified copy holds all three chains and verifies on its own
    out = tmp_path / "copy.json"
    res = runner.invoke(
        app,
        [
            "audit",
            "export",
            str(out),
            "--database",
            old_url,
            "--key-file",
            str(key_file),
            "--anchors",
            str(anchors),
        ],
    )
    assert res.exit_code == 0, res.output
    copy = json.loads(out.read_text())
    assert copy["format_version"] == audit.COPY_FORMAT_VERSION
    assert set(copy["heads"]) == {"legacy", "global", f"trial:{trial}"}
    res = runner.invoke(app, ["audit", "verify", "--copy", str(out), "--key-file", str(key_file)])
    assert res.exit_code == 0, res.output

    # and the legacy chain is as protected as before: an edit of an old event is caught
    engine = make_engine(old_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(
                text(
                    "UPDATE audit_events SET payload = replace(payload, 'Neutrophil', 'Nothing') "
                    "WHERE chain = 'legacy' AND entity_type = 'adverse_events'"
                )
            )
    finally:
        engine.dispose()
    res = _verify(old_url, key_file, anchors)
    assert res.exit_code == 1 and "of chain legacy" in res.stdout, res.output
    assert "event altered" in res.stdout


def test_the_upgrade_of_an_old_trail_can_be_undone_until_new_events_are_written(
    old_url: str, tmp_path: Path
) -> None:
    _, key_file, anchors = _files(tmp_path)
    upgrade(old_url)
    downgrade(old_url, "0006")
    engine = make_engine(old_url)
    try:
        with engine.connect() as conn:
            head = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
            n = conn.execute(text("SELECT COUNT(*) FROM audit_events")).scalar()
    finally:
        engine.dispose()
    old_head = LEGACY["tables"]["audit_head"][0]
    assert (head.seq, head.hash) == (old_head["seq"], old_head["hash"]) and n == head.seq
    upgrade(old_url)
    assert _verify(old_url, key_file, anchors).exit_code == 0


def _verify_copy_file(data: dict[str, Any], tmp_path: Path, key_file: Path) -> Any:
    path = tmp_path / "old-copy.json"
    path.write_text(json.dumps(data))
    return runner.invoke(app, ["audit", "verify", "--copy", str(path), "--key-file", str(key_file)])


def test_a_certified_copy_made_before_per_trial_chains_still_verifies(tmp_path: Path) -> None:
    """A format-1 copy (one global chain), exported and signed by the old code."""
    _, key_file, _ = _files(tmp_path)
    copy = json.loads(json.dumps(LEGACY["certified_copy"]))
    assert copy["format_version"] == 1 and "chain" not in copy["events"][0]
    res = _verify_copy_file(copy, tmp_path, key_file)
    assert res.exit_code == 0, res.output
    assert "intact" in res.stdout

    # and a forged one is still refused: an event edited, the chain and digest recomputed
    ev = next(e for e in copy["events"] if e["entity_type"] == "dlt_adjudications")
    body = json.loads(ev["payload"])
    body["new"]["is_dlt"] = False
    ev["payload"] = audit.canonical_json(body)
    prev = audit.GENESIS_HASH
    for e in copy["events"]:
        e["prev_hash"] = prev
        e["hash"] = prev = audit.chain_hash(prev, e["payload"])
    copy["head"] = {"seq": len(copy["events"]), "hash": prev}
    content = {k: v for k, v in copy.items() if k not in ("certificate", "manifest")}
    copy["certificate"]["sha256"] = hashlib.sha256(
        audit.canonical_json(content).encode()
    ).hexdigest()
    res = _verify_copy_file(copy, tmp_path, key_file)
    assert res.exit_code == 1 and "does not match the signed manifest" in res.stdout, res.output


def test_a_copy_of_an_unknown_format_version_is_refused_with_the_reason(tmp_path: Path) -> None:
    _, key_file, _ = _files(tmp_path)
    copy = dict(LEGACY["certified_copy"], format_version=3)
    res = _verify_copy_file(copy, tmp_path, key_file)
    assert res.exit_code == 1 and "format version 3 is not supported" in res.stdout, res.output
