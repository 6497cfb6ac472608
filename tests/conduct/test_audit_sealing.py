"""The signed, anchored audit trail: every tampering that a database writer can do -- even one
who recomputes the hash chain -- is detected, with the reason printed by ``audit verify``;
forged certified copies are refused by ``audit verify --copy``; keys are created and rotated
by commands."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.conduct import Database, audit
from doseladder.conduct.models import AuditEvent, AuditHead, AuditKey, AuditSignature
from doseladder.conduct.sealing import FileAnchorStore, Sealer, anchor_record
from doseladder.conduct.services import outcomes, trials
from doseladder.conduct.signing import Ed25519Signer, write_key_file

from .conftest import Clock, World, make_world

runner = CliRunner()


class Sealed:
    """A world whose database signs every commit and anchors it in a file."""

    def __init__(self, world: World, key_file: Path, anchors: Path, signer: Ed25519Signer):
        self.world = world
        self.key_file = key_file
        self.anchors = anchors
        self.signer = signer

    def cli(self, *args: str) -> Any:
        return runner.invoke(
            app,
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

    def events(self) -> list[dict[str, Any]]:
        with self.world.db.session() as s:
            rows = s.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq)).mappings()
            return [dict(r) for r in rows]

    def head(self) -> tuple[int, str]:
        with self.world.db.session() as s:
            h = s.get(AuditHead, 1)
            assert h is not None
            return h.seq, h.hash

    def rechain(self, events: list[dict[str, Any]]) -> None:
        """Rewrite the trail as ``events`` with a valid, recomputed hash chain and head."""
        w = self.world
        w.tamper("DELETE FROM audit_events")
        prev = audit.GENESIS_HASH
        for n, ev in enumerate(events, start=1):
            body = json.loads(ev["payload"])
            body["seq"] = n
            payload = audit.canonical_json(body)
            digest = audit.chain_hash(prev, payload)
            w.tamper(
                "INSERT INTO audit_events (seq, ts, actor_user_id, actor_username, trial_id, "
                "entity_type, entity_id, action, reason, payload, prev_hash, hash) VALUES "
                "(:seq, :ts, :uid, :uname, :tid, :et, :eid, :act, :rsn, :p, :prev, :h)",
                seq=n,
                ts=ev["ts"].replace(tzinfo=None) if w.db.dialect == "sqlite" else ev["ts"],
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
            prev = digest
        w.tamper("UPDATE audit_head SET seq = :s, hash = :h", s=len(events), h=prev)


@pytest.fixture
def sealed(db_url: str, clock: Clock, tmp_path: Path) -> Iterator[Sealed]:
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
    yield Sealed(world, key_file, anchors, signer)
    db.dispose()


def broken(sealed: Sealed, *words: str) -> str:
    res = sealed.verify()
    assert res.exit_code == 1, res.output
    assert "BROKEN" in res.stdout
    for word in words:
        assert word in res.stdout, res.stdout
    return str(res.stdout)


# ---------------------------------------------------------------- intact trail
def test_intact_sealed_trail_verifies_and_prints_the_key(sealed: Sealed) -> None:
    res = sealed.verify()
    assert res.exit_code == 0, res.output
    assert "intact" in res.stdout
    assert f"signing key (ed25519): {sealed.signer.key_id} {sealed.signer.public_key}" in (
        res.stdout
    )
    seq, head = sealed.head()
    assert f"latest anchor: event #{seq} {head}" in res.stdout
    with sealed.world.db.session() as s:
        sigs = list(s.scalars(select(AuditSignature)))
        keys = list(s.scalars(select(AuditKey)))
    assert max(x.last_seq for x in sigs) == seq
    assert [k.public_key for k in keys] == [sealed.signer.public_key]
    # the key's registration is itself in the chain
    assert any(e["entity_type"] == "audit_keys" for e in sealed.events())


# ------------------------------------------------------- the five missed cases
def test_appended_forged_event_is_detected(sealed: Sealed) -> None:
    """An 'approved' change of the DLT to no DLT, attributed to the statistician, chained
    correctly onto the head, with the head moved."""
    evs = sealed.events()
    seq, head = sealed.head()
    adj = [e for e in evs if e["entity_type"] == "dlt_adjudications"][-1]
    body = json.loads(adj["payload"])
    body.update(
        seq=seq + 1,
        action="update",
        reason="approved by SRC",
        old={"is_dlt": True},
        new={"is_dlt": False},
    )
    payload = audit.canonical_json(body)
    digest = audit.chain_hash(head, payload)
    w = sealed.world
    w.tamper(
        "INSERT INTO audit_events (seq, ts, actor_user_id, actor_username, trial_id, "
        "entity_type, entity_id, action, reason, payload, prev_hash, hash) VALUES (:seq, :ts, "
        ":uid, 'stat', :tid, 'dlt_adjudications', :eid, 'update', 'approved by SRC', :p, :prev, "
        ":h)",
        seq=seq + 1,
        ts=adj["ts"].replace(tzinfo=None) if w.db.dialect == "sqlite" else adj["ts"],
        uid=body["actor"]["user_id"],
        tid=body["trial_id"],
        eid=body["entity_id"],
        p=payload,
        prev=head,
        h=digest,
    )
    w.tamper("UPDATE audit_head SET seq = :s, hash = :h", s=seq + 1, h=digest)
    w.tamper("UPDATE dlt_adjudications SET is_dlt = :f", f=False)
    broken(sealed, f"event #{seq + 1}", "no valid signature")


def test_history_edited_and_chain_recomputed_is_detected(sealed: Sealed) -> None:
    """The DLT's grade is edited in its creation event and every later hash recomputed."""
    evs = sealed.events()
    target = next(e for e in evs if e["entity_type"] == "adverse_events")
    body = json.loads(target["payload"])
    body["new"]["grade"] = 1
    target["payload"] = audit.canonical_json(body)
    sealed.rechain(evs)
    sealed.world.tamper("UPDATE adverse_events SET grade = 1")
    broken(sealed, "hash changed since signing", "history rewritten")


def test_event_removed_from_history_and_chain_recomputed_is_detected(sealed: Sealed) -> None:
    """The DLT adjudication's event is dropped, later events renumbered, chain recomputed."""
    evs = [e for e in sealed.events() if e["entity_type"] != "dlt_adjudications"]
    sealed.rechain(evs)
    out = broken(sealed, "history rewritten")
    assert "events removed" in out  # signatures beyond the shortened trail


def test_last_event_cut_and_head_moved_back_is_detected(sealed: Sealed) -> None:
    seq, _ = sealed.head()
    evs = sealed.events()
    w = sealed.world
    w.tamper("DELETE FROM audit_events WHERE seq = :s", s=seq)
    w.tamper("DELETE FROM audit_signatures WHERE last_seq = :s", s=seq)
    w.tamper("UPDATE audit_head SET seq = :s, hash = :h", s=seq - 1, h=evs[-2]["hash"])
    # whether the cut event shared its transaction or not, signatures or the anchor object
    out = broken(sealed)
    assert "events removed" in out or "no valid signature" in out


def test_last_transaction_cut_with_its_signature_is_caught_by_the_anchor(sealed: Sealed) -> None:
    seq, _ = sealed.head()
    w = sealed.world
    with w.db.session() as s:
        last = s.scalars(select(AuditSignature).order_by(AuditSignature.last_seq.desc())).first()
        assert last is not None
        first = last.first_seq
        prev_hash = s.get(AuditEvent, first - 1)
        assert prev_hash is not None
    w.tamper("DELETE FROM audit_events WHERE seq >= :s", s=first)
    w.tamper("DELETE FROM audit_signatures WHERE last_seq >= :s", s=first)
    w.tamper("UPDATE audit_head SET seq = :s, hash = :h", s=first - 1, h=prev_hash.hash)
    broken(sealed, f"records {seq} events", f"the trail has {first - 1}", "events removed")


def test_everything_wiped_and_head_reset_is_detected(sealed: Sealed) -> None:
    w = sealed.world
    for table in ("audit_events", "audit_signatures", "audit_keys"):
        w.tamper(f"DELETE FROM {table}")
    w.tamper("UPDATE audit_head SET seq = 0, hash = :h", h=audit.GENESIS_HASH)
    seq, _ = sealed.head()
    assert seq == 0
    broken(sealed, "the trail has 0", "replaced")


# ------------------------------------------------------------ more forgeries
def test_trail_re_signed_with_a_substituted_key_is_detected(sealed: Sealed) -> None:
    """The attacker rewrites history and re-signs every transaction with a key of their own,
    registered in the database; the verifier trusts only the key kept outside."""
    mallory = Ed25519Signer.generate()
    evs = sealed.events()
    body = json.loads(evs[-1]["payload"])
    body["reason"] = "nothing to see"
    evs[-1]["payload"] = audit.canonical_json(body)
    sealed.rechain(evs)
    w = sealed.world
    w.tamper("DELETE FROM audit_signatures")
    seq, head = sealed.head()
    sig = audit.signature_message(1, seq, head, mallory.key_id)
    w.tamper(
        "INSERT INTO audit_signatures (first_seq, last_seq, head_hash, key_id, signature, "
        "signed_at) VALUES (1, :s, :h, :k, :sig, :at)",
        s=seq,
        h=head,
        k=mallory.key_id,
        sig=base64.b64encode(mallory.sign(sig)).decode(),
        at=evs[0]["ts"].replace(tzinfo=None) if w.db.dialect == "sqlite" else evs[0]["ts"],
    )
    broken(sealed, "untrusted key")


def test_forged_anchor_line_is_detected(sealed: Sealed) -> None:
    seq, head = sealed.head()
    forged = anchor_record(sealed.signer, seq=seq, head_hash=head, database="test")
    forged["seq"] = seq + 5  # edited after signing
    with sealed.anchors.open("a") as fh:
        fh.write(json.dumps(forged) + "\n")
    broken(sealed, "invalid signature")


def test_deleted_anchor_file_is_reported(sealed: Sealed) -> None:
    sealed.anchors.unlink()
    broken(sealed, "no anchor in")


# ------------------------------------------------------------- certified copies
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
    return runner.invoke(
        app, ["audit", "verify", "--copy", str(path), "--key-file", str(sealed.key_file)]
    )


def recertify(data: dict[str, Any]) -> None:
    """What a forger can do without the key: recompute the chain and the SHA-256."""
    prev = audit.GENESIS_HASH
    for ev in data["events"]:
        ev["prev_hash"] = prev
        ev["hash"] = prev = audit.chain_hash(prev, ev["payload"])
    data["head"] = {"seq": len(data["events"]), "hash": prev}
    body = {k: v for k, v in data.items() if k not in ("certificate", "manifest")}
    data["certificate"]["sha256"] = hashlib.sha256(audit.canonical_json(body).encode()).hexdigest()


def test_signed_copy_verifies(sealed: Sealed, tmp_path: Path) -> None:
    data = export(sealed, tmp_path)
    assert {"format", "events", "head", "certificate", "verification"} <= set(data)
    assert data["manifest"]["events"] == len(data["events"])
    res = verify_copy(sealed, data, tmp_path)
    assert res.exit_code == 0, res.output
    assert sealed.signer.key_id in res.stdout


def test_forged_copy_with_a_dlt_changed_is_refused(sealed: Sealed, tmp_path: Path) -> None:
    data = export(sealed, tmp_path)
    for ev in data["events"]:
        if ev["entity_type"] == "dlt_adjudications":
            body = json.loads(ev["payload"])
            body["new"]["is_dlt"] = False
            ev["payload"] = audit.canonical_json(body)
    recertify(data)
    res = verify_copy(sealed, data, tmp_path)
    assert res.exit_code == 1 and "BROKEN" in res.stdout
    assert "does not match the signed manifest" in res.stdout


@pytest.mark.parametrize("cut", ["count", "strip", "resign"])
def test_other_forged_copies_are_refused(sealed: Sealed, tmp_path: Path, cut: str) -> None:
    data = export(sealed, tmp_path)
    if cut == "count":  # events cut from the end, head and digest recomputed
        data["events"] = data["events"][:-2]
        data["signatures"] = [s for s in data["signatures"] if s["last_seq"] <= len(data["events"])]
        recertify(data)
        expected = "signed manifest"
    elif cut == "strip":  # signatures removed to pass as an unsigned copy
        del data["manifest"]
        data["signatures"] = []
        data["public_keys"] = {}
        recertify(data)
        expected = "no signed manifest"
    else:  # re-signed with the forger's own key
        mallory = Ed25519Signer.generate()
        body = json.loads(data["events"][3]["payload"])
        body["new"]["name"] = "forged"
        data["events"][3]["payload"] = audit.canonical_json(body)
        recertify(data)
        m = data["manifest"]
        m.update(
            content_sha256=data["certificate"]["sha256"],
            head=data["head"],
            key_id=mallory.key_id,
            public_key=mallory.public_key,
        )
        m["signature"] = base64.b64encode(mallory.sign(audit.manifest_message(m))).decode()
        expected = "untrusted key"
    res = verify_copy(sealed, data, tmp_path)
    assert res.exit_code == 1, res.output
    assert expected in res.stdout


# ------------------------------------------------------------------- keys
def test_keygen_and_rotation(sealed: Sealed, tmp_path: Path) -> None:
    res = runner.invoke(app, ["audit", "keygen", "--key-file", str(tmp_path / "k.pem"), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert len(info["key_id"]) == 16
    again = runner.invoke(app, ["audit", "keygen", "--key-file", str(tmp_path / "k.pem")])
    assert again.exit_code == 2 and "refusing to overwrite" in again.stderr

    res = sealed.cli("audit", "rotate-key", "--json")
    assert res.exit_code == 0, res.output
    rotated = json.loads(res.stdout)
    assert rotated["old_key_id"] == sealed.signer.key_id != rotated["key_id"]
    # the server restarts with the new key and writes more
    new_signer = Ed25519Signer.from_text(sealed.key_file.read_bytes())
    w = sealed.world
    sealer = Sealer(signer=new_signer, anchors=FileAnchorStore(sealed.anchors), database="test")
    db = Database(w.db.url, clock=w.clock, sealer=sealer)
    try:
        trial = db.run(lambda s: trials.list_trials(s, w.stat))[0].id
        db.run(lambda s: trials.resume_accrual(s, w.stat, trial, reason="review done"))
    finally:
        db.dispose()
    res = sealed.verify()
    assert res.exit_code == 0, res.output
    assert sealed.signer.key_id in res.stdout and new_signer.key_id in res.stdout
    # without the rotation record the old key is no longer trusted
    lines = sealed.anchors.read_text().splitlines()
    sealed.anchors.write_text("\n".join(x for x in lines if '"rotation"' not in x) + "\n")
    broken(sealed, "untrusted key")
