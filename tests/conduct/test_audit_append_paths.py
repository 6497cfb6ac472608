""":func:`doseladder.conduct.audit.append` writes a transaction's events, head and signature in
one statement on PostgreSQL (up to ``_ONE_STATEMENT_MAX_EVENTS`` events) and statement by
statement otherwise: both paths must give the same verifiable, signed chain."""

from __future__ import annotations

import json
import random
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder.conduct import Database, audit
from doseladder.conduct.models import AuditEvent, AuditSignature
from doseladder.conduct.sealing import FileAnchorStore, Sealer
from doseladder.conduct.security import SYSTEM
from doseladder.conduct.signing import Ed25519Signer

from .conftest import Clock


def test_small_and_large_transactions_chain_sign_and_verify(
    db_url: str, clock: Clock, tmp_path: Path
) -> None:
    signer = Ed25519Signer.generate()
    anchors = FileAnchorStore(tmp_path / "anchors.jsonl")
    db = Database(db_url, clock=clock, sealer=Sealer(signer=signer, anchors=anchors))
    rng = random.Random()
    large = audit._ONE_STATEMENT_MAX_EVENTS + rng.randint(1, 50)  # the statement-by-statement path
    sizes = [rng.randint(1, 5), large, rng.randint(1, 5)]
    try:
        for n, size in enumerate(sizes):

            def write(s: Session, n: int = n, size: int = size) -> None:
                s.info["actor"] = SYSTEM
                for i in range(size):
                    audit.log_event(s, "probe", entity_id=f"{n}.{i}", data={"i": i})

            db.run(write)
        with db.transaction() as s:
            result = audit.verify(s, keys={signer.key_id: signer.public_key}, anchors=anchors)
            events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
            sigs = s.scalars(select(AuditSignature).order_by(AuditSignature.first_seq)).all()
    finally:
        db.dispose()
    assert result.ok, result.problem
    probes = [e for e in events if e.action == "probe"]
    assert len(probes) == sum(sizes)
    assert [json.loads(e.payload)["new"]["i"] for e in probes] == [
        i for size in sizes for i in range(size)
    ]
    # one signature per transaction, covering exactly its events
    probe_sigs = [g for g in sigs if any(g.first_seq <= e.seq <= g.last_seq for e in probes)]
    assert [g.last_seq - g.first_seq + 1 for g in probe_sigs] == sizes
    assert result.head_seq == events[-1].seq
