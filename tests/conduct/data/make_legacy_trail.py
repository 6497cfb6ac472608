"""Write ``legacy_trail_0006.json``: a signed, anchored trail written by doseladder *before*
per-trial audit chains (schema revision 0006, one global chain), for the upgrade test of
migration 0007 (tests/conduct/test_audit_chains_upgrade.py).

Run with the code of that time on the path (commit 039ab6d, the parent of the per-trial
chains), from a checkout of it::

    PYTHONPATH=src python tests/conduct/data/make_legacy_trail.py OUT.json

The file holds every row of every table (timestamps as ISO text), the test signing key (a key
made for this fixture only), the anchor file's lines and a signed certified copy (format 1).
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

sys.path.insert(0, str(Path.cwd()))

from tests.conduct.conftest import Clock, make_world

from doseladder.conduct import Database, audit
from doseladder.conduct.db import upgrade
from doseladder.conduct.models import Base
from doseladder.conduct.sealing import FileAnchorStore, Sealer
from doseladder.conduct.services import outcomes, trials
from doseladder.conduct.signing import Ed25519Signer


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def main(out: Path) -> None:
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'legacy.db'}"
    upgrade(url)
    signer = Ed25519Signer.generate()
    anchors = tmp / "anchors.jsonl"
    clock = Clock()
    db = Database(url, clock=clock, sealer=Sealer(signer=signer, anchors=FileAnchorStore(anchors)))
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
    with db.session() as s:
        copy = audit.certified_copy(
            s, signer=signer, anchors=FileAnchorStore(anchors), database="legacy"
        )
    tables: dict[str, list[dict[str, Any]]] = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table)).mappings()
            tables[table.name] = [{k: _plain(v) for k, v in r.items()} for r in rows]
    db.dispose()
    doc = {
        "revision": "0006",
        "trial_id": trial,
        "key_pem": signer.pem().decode(),
        "anchors": anchors.read_text().splitlines(),
        "certified_copy": copy,
        "tables": tables,
    }
    out.write_text(json.dumps(doc, indent=0, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
