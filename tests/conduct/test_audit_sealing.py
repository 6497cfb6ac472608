"""The signed, anchored audit trail: every tampering that a database writer can do -- even one
who recomputes the hash chain -- is detected, with the reason printed by ``audit verify``;
forged certified copies are refused by ``audit verify --copy``; keys are created and rotated
by commands."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.conduct import Database, audit
from doseladder.conduct.models import AuditKey, AuditSignature
from doseladder.conduct.sealing import FileAnchorStore, Sealer, anchor_record
from doseladder.conduct.services import trials
from doseladder.conduct.signing import Ed25519Signer

from .conftest import Sealed, broken, export, recertify, verify_copy

runner = CliRunner()


# ---------------------------------------------------------------- intact trail
def test_intact_sealed_trail_verifies_and_prints_the_key(sealed: Sealed) -> None:
    res = sealed.verify()
    assert res.exit_code == 0, res.output
    assert "intact" in res.stdout
    assert f"signing key (ed25519): {sealed.signer.key_id} {sealed.signer.public_key}" in (
        res.stdout
    )
    seq, head = sealed.head()
    assert f"chain {sealed.chain}: head #{seq} {head}" in res.stdout
    latest = json.loads(sealed.anchors.read_text().splitlines()[-1])
    assert latest["heads"][sealed.chain] == [seq, head]  # the anchor covers every chain head
    assert set(latest["heads"]) == {"global", sealed.chain}
    assert f"latest anchor: {latest['seq']} event(s), {latest['hash']}" in res.stdout
    with sealed.world.db.session() as s:
        sigs = list(s.scalars(select(AuditSignature)))
        keys = list(s.scalars(select(AuditKey)))
    assert max(x.last_seq for x in sigs if x.chain == sealed.chain) == seq
    assert [k.public_key for k in keys] == [sealed.signer.public_key]
    # the key's registration is itself in the chain
    assert any(e["entity_type"] == "audit_keys" for e in sealed.events("global"))


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
    digest = sealed.insert_event(seq + 1, body, adj["ts"], head)
    sealed.tamper(
        "UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c", s=seq + 1, h=digest
    )
    sealed.tamper("UPDATE dlt_adjudications SET is_dlt = :f", f=False)
    broken(sealed, f"event #{seq + 1}", "no valid signature")


def test_history_edited_and_chain_recomputed_is_detected(sealed: Sealed) -> None:
    """The DLT's grade is edited in its creation event and every later hash recomputed."""
    evs = sealed.events()
    target = next(e for e in evs if e["entity_type"] == "adverse_events")
    body = json.loads(target["payload"])
    body["new"]["grade"] = 1
    target["payload"] = audit.canonical_json(body)
    sealed.rechain(evs)
    sealed.tamper("UPDATE adverse_events SET grade = 1")
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
    sealed.tamper("DELETE FROM audit_events WHERE chain = :c AND seq = :s", s=seq)
    sealed.tamper("DELETE FROM audit_signatures WHERE chain = :c AND last_seq = :s", s=seq)
    sealed.tamper(
        "UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c",
        s=seq - 1,
        h=evs[-2]["hash"],
    )
    # whether the cut event shared its transaction or not, signatures or the anchor object
    out = broken(sealed)
    assert "events removed" in out or "no valid signature" in out


def test_last_transaction_cut_with_its_signature_is_caught_by_the_anchor(sealed: Sealed) -> None:
    seq, _ = sealed.head()
    with sealed.world.db.session() as s:
        last = s.scalars(
            select(AuditSignature)
            .where(AuditSignature.chain == sealed.chain)
            .order_by(AuditSignature.last_seq.desc())
        ).first()
        assert last is not None
        first = last.first_seq
    prev_hash = sealed.events()[first - 2]["hash"]
    sealed.tamper("DELETE FROM audit_events WHERE chain = :c AND seq >= :s", s=first)
    sealed.tamper("DELETE FROM audit_signatures WHERE chain = :c AND last_seq >= :s", s=first)
    sealed.tamper(
        "UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c",
        s=first - 1,
        h=prev_hash,
    )
    broken(sealed, f"records {seq} events", f"the trail has {first - 1}", "events removed")


def test_everything_wiped_and_head_reset_is_detected(sealed: Sealed) -> None:
    for table in ("audit_events", "audit_signatures", "audit_keys", "audit_chain_heads"):
        sealed.tamper(f"DELETE FROM {table}")
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
    for chain in ("global", sealed.chain):
        seq, head = sealed.head(chain)
        sig = audit.signature_message(1, seq, head, mallory.key_id, chain)
        sealed.tamper(
            "INSERT INTO audit_signatures (chain, first_seq, last_seq, head_hash, key_id, "
            "signature, signed_at) VALUES (:c, 1, :s, :h, :k, :sig, :at)",
            c=chain,
            s=seq,
            h=head,
            k=mallory.key_id,
            sig=base64.b64encode(mallory.sign(sig)).decode(),
            at=evs[0]["ts"].replace(tzinfo=None) if w.db.dialect == "sqlite" else evs[0]["ts"],
        )
    broken(sealed, "untrusted key")


def test_forged_anchor_line_is_detected(sealed: Sealed) -> None:
    seq, head = sealed.head()
    forged = anchor_record(sealed.signer, heads={sealed.chain: (seq, head)}, database="test")
    forged["heads"][sealed.chain][0] = seq + 5  # edited after signing
    with sealed.anchors.open("a") as fh:
        fh.write(json.dumps(forged) + "\n")
    broken(sealed, "invalid signature")


def test_deleted_anchor_file_is_reported(sealed: Sealed) -> None:
    sealed.anchors.unlink()
    broken(sealed, "no anchor in")


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
            heads=data["heads"],
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
