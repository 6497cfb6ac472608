"""Every tampering case of the issue-10 campaign, one named mutation each, against a signed,
anchored trial database (SQLite and PostgreSQL): each must make ``audit verify`` (the CLI, with
the key kept outside the database and the anchor file) fail, naming what it found.

The trail under attack records a real trial: sites and users, a trial opened, a patient
registered and enrolled, a grade-4 neutropenia, its adjudication as a DLT, accrual suspended
and a committee member's electronic signature ("approved") of the dose decision.  A mutation
is what someone who can write to the database (or to the anchor file, where said) can do with
SQL alone -- including recomputing every SHA-256 of the chain, which needs no key.  Only the
Ed25519 key, kept outside the database, cannot be had.

The forged certified copies (``audit verify --copy``) follow at the end.  The same cases and
what detects each are listed in docs/conduct.md ("Tampering cases and what detects them").
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from doseladder.conduct import audit
from doseladder.conduct.models import AuditSignature, DoseDecision
from doseladder.conduct.sealing import anchor_record
from doseladder.conduct.signing import Ed25519Signer

from .conftest import Sealed, export, recertify, verify_copy

Mutation = Callable[[Sealed], list[str]]


@dataclass(frozen=True)
class Case:
    """A named tampering: ``mutate`` changes the database (or anchor file) and returns the
    words the verifier's report must contain."""

    name: str
    mutate: Mutation


@pytest.fixture
def trail(sealed: Sealed) -> Iterator[Sealed]:
    """The sealed world plus a committee member's electronic signature of the decision, and
    a second trial (its own chain) with a patient registered after all that."""
    w = sealed.world
    with w.db.session() as s:
        decision = s.scalars(select(DoseDecision)).one()
    w.sign(decision.id, w.com1)
    other = w.trial()
    w.patient(other)
    sealed.other = audit.chain_of(other)
    yield sealed


def _other(t: Sealed) -> str:
    assert t.other is not None
    return t.other


# ------------------------------------------------------------------------ helpers
def _ts(sealed: Sealed, value: Any) -> Any:
    return value.replace(tzinfo=None) if sealed.world.db.dialect == "sqlite" else value


def _event(sealed: Sealed, entity_type: str, last: bool = False) -> dict[str, Any]:
    found = [e for e in sealed.events() if e["entity_type"] == entity_type]
    assert found, entity_type
    return found[-1] if last else found[0]


def _edit_payload(ev: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> str:
    body = json.loads(ev["payload"])
    edit(body)
    return audit.canonical_json(body)


def _insert(sealed: Sealed, seq: int, body: dict[str, Any], ts: Any, prev: str) -> str:
    """Insert an event row for ``body`` at ``seq`` of the trial's chain linked to ``prev``."""
    return sealed.insert_event(seq, body, ts, prev)


def _dlt_reversal(sealed: Sealed) -> tuple[dict[str, Any], Any]:
    """The body of a forged 'approved' change of the DLT to no DLT, by the statistician."""
    adj = _event(sealed, "dlt_adjudications", last=True)
    body = json.loads(adj["payload"])
    body.update(action="update", reason="approved by SRC", old={"is_dlt": True})
    body["new"] = {"is_dlt": False}
    return body, adj["ts"]


def _seq_of(sealed: Sealed, entity_type: str) -> int:
    return int(_event(sealed, entity_type)["seq"])


# ------------------------------------------------------- edits of recorded events
def payload_field_edited(t: Sealed) -> list[str]:
    """The AE's grade 4 becomes grade 2 inside its recorded event (hash left)."""
    ev = _event(t, "adverse_events")
    payload = _edit_payload(ev, lambda b: b["new"].update(grade=2))
    t.tamper(
        "UPDATE audit_events SET payload = :p WHERE chain = :c AND seq = :s", p=payload, s=ev["seq"]
    )
    return [f"BROKEN at event #{ev['seq']}", "event altered"]


def payload_edited_with_its_own_hash_recomputed(t: Sealed) -> list[str]:
    ev = _event(t, "adverse_events")
    payload = _edit_payload(ev, lambda b: b["new"].update(grade=2))
    t.tamper(
        "UPDATE audit_events SET payload = :p, hash = :h WHERE chain = :c AND seq = :s",
        p=payload,
        h=audit.chain_hash(ev["prev_hash"], payload),
        s=ev["seq"],
    )
    return [f"BROKEN at event #{ev['seq'] + 1}", "link broken"]


def denormalised_actor_column_edited(t: Sealed) -> list[str]:
    seq = _seq_of(t, "dlt_adjudications")
    t.tamper(
        "UPDATE audit_events SET actor_username = 'inv_b' WHERE chain = :c AND seq = :s", s=seq
    )
    return [f"BROKEN at event #{seq}", "column actor_username differs"]


def denormalised_action_column_edited(t: Sealed) -> list[str]:
    seq = _seq_of(t, "adverse_events")
    t.tamper("UPDATE audit_events SET action = 'delete' WHERE chain = :c AND seq = :s", s=seq)
    return [f"BROKEN at event #{seq}", "column action differs"]


def actor_changed_in_payload_and_columns(t: Sealed) -> list[str]:
    """The adjudication is attributed to another user everywhere in its row."""
    ev = _event(t, "dlt_adjudications")
    actor = json.loads(_event(t, "adverse_events")["payload"])["actor"]  # the investigator
    assert actor != json.loads(ev["payload"])["actor"]
    payload = _edit_payload(ev, lambda b: b.update(actor=actor))
    t.tamper(
        "UPDATE audit_events SET payload = :p, actor_user_id = :u, actor_username = :n "
        "WHERE chain = :c AND seq = :s",
        p=payload,
        u=actor["user_id"],
        n=actor["username"],
        s=ev["seq"],
    )
    return [f"BROKEN at event #{ev['seq']}", "event altered"]


def timestamp_column_changed(t: Sealed) -> list[str]:
    ev = _event(t, "adverse_events")
    earlier = ev["ts"].replace(year=ev["ts"].year - 1)
    t.tamper(
        "UPDATE audit_events SET ts = :ts WHERE chain = :c AND seq = :s",
        ts=_ts(t, earlier),
        s=ev["seq"],
    )
    return [f"BROKEN at event #{ev['seq']}", "timestamp column differs"]


def timestamp_back_dated_and_chain_recomputed(t: Sealed) -> list[str]:
    """The AE is back-dated by a day in its content and column; every hash recomputed."""
    evs = t.events()
    ev = next(e for e in evs if e["entity_type"] == "adverse_events")
    earlier = ev["ts"].replace(day=ev["ts"].day - 1 if ev["ts"].day > 1 else 2)
    ev["ts"] = earlier
    ev["payload"] = _edit_payload(ev, lambda b: b.update(ts=audit.jsonable(earlier)))
    t.rechain(evs)
    return ["hash changed since signing", "history rewritten"]


def history_edited_and_chain_recomputed(t: Sealed) -> list[str]:
    evs = t.events()
    ev = next(e for e in evs if e["entity_type"] == "adverse_events")
    ev["payload"] = _edit_payload(ev, lambda b: b["new"].update(grade=1))
    t.rechain(evs)
    t.tamper("UPDATE adverse_events SET grade = 1")
    return ["hash changed since signing", "history rewritten"]


def signature_meaning_edited_in_history_and_data(t: Sealed) -> list[str]:
    """The committee member's 'approved' becomes 'rejected' in the trail and the table."""
    evs = t.events()
    ev = next(e for e in evs if e["entity_type"] == "electronic_signatures")
    ev["payload"] = _edit_payload(ev, lambda b: b["new"].update(meaning="rejected"))
    t.rechain(evs)
    t.tamper("UPDATE electronic_signatures SET meaning = 'rejected'")
    return ["hash changed since signing", "history rewritten"]


# --------------------------------------------------- deletions, moves, insertions
def middle_event_deleted(t: Sealed) -> list[str]:
    seq = _seq_of(t, "adverse_events")
    t.tamper("DELETE FROM audit_events WHERE chain = :c AND seq = :s", s=seq)
    return [f"BROKEN at event #{seq}", "event(s) missing"]


def first_event_deleted(t: Sealed) -> list[str]:
    t.tamper("DELETE FROM audit_events WHERE chain = :c AND seq = 1")
    return ["BROKEN at event #1", "event(s) missing"]


def last_event_deleted(t: Sealed) -> list[str]:
    seq, _ = t.head()
    t.tamper("DELETE FROM audit_events WHERE chain = :c AND seq = :s", s=seq)
    return [f"BROKEN at event #{seq}", "events removed or head altered"]


def events_reordered(t: Sealed) -> list[str]:
    """The adjudication is moved before the adverse event it judges (seqs swapped)."""
    a, b = _seq_of(t, "adverse_events"), _seq_of(t, "dlt_adjudications")
    t.tamper("UPDATE audit_events SET seq = -1 WHERE chain = :c AND seq = :a", a=a)
    t.tamper("UPDATE audit_events SET seq = :a WHERE chain = :c AND seq = :b", a=a, b=b)
    t.tamper("UPDATE audit_events SET seq = :b WHERE chain = :c AND seq = -1", b=b)
    return [f"BROKEN at event #{a}", "link broken"]


def event_removed_and_chain_recomputed(t: Sealed) -> list[str]:
    """The DLT adjudication's event dropped, later events renumbered, chain recomputed."""
    t.rechain([e for e in t.events() if e["entity_type"] != "dlt_adjudications"])
    return ["history rewritten"]


def forged_event_inserted_and_chain_recomputed(t: Sealed) -> list[str]:
    """A forged reversal of the DLT slipped in right after the adjudication."""
    body, ts = _dlt_reversal(t)
    evs = t.events()
    at = next(i for i, e in enumerate(evs) if e["entity_type"] == "dlt_adjudications") + 1
    forged = dict(evs[at - 1], payload=audit.canonical_json(body), ts=ts)
    t.rechain([*evs[:at], forged, *evs[at:]])
    return ["hash changed since signing", "history rewritten"]


def forged_event_appended_without_moving_the_head(t: Sealed) -> list[str]:
    seq, head = t.head()
    body, ts = _dlt_reversal(t)
    _insert(t, seq + 1, body, ts, head)
    return [f"BROKEN at event #{seq}", "chain head says"]


def forged_event_appended_and_head_moved(t: Sealed) -> list[str]:
    """The campaign's forgery: an 'approved' DLT → no DLT by the statistician, chained onto
    the head, the head moved and the adjudication row changed to match."""
    seq, head = t.head()
    body, ts = _dlt_reversal(t)
    digest = _insert(t, seq + 1, body, ts, head)
    t.tamper(
        "UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c", s=seq + 1, h=digest
    )
    t.tamper("UPDATE dlt_adjudications SET is_dlt = :f", f=False)
    return [f"BROKEN at event #{seq + 1}", "no valid signature"]


def head_hash_altered(t: Sealed) -> list[str]:
    t.tamper("UPDATE audit_chain_heads SET hash = :h WHERE chain = :c", h="0" * 64)
    return ["chain head says", "head altered"]


def last_event_cut_and_head_moved_back(t: Sealed) -> list[str]:
    seq, _ = t.head()
    evs = t.events()
    t.tamper("DELETE FROM audit_events WHERE chain = :c AND seq = :s", s=seq)
    t.tamper("DELETE FROM audit_signatures WHERE chain = :c AND last_seq = :s", s=seq)
    t.tamper(
        "UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c",
        s=seq - 1,
        h=evs[-2]["hash"],
    )
    return [f"the trail has {seq - 1}", "events removed"]


def last_transaction_cut_with_its_signature(t: Sealed) -> list[str]:
    seq, _ = t.head()
    w = t.world
    with w.db.session() as s:
        last = s.scalars(
            select(AuditSignature)
            .where(AuditSignature.chain == t.chain)
            .order_by(AuditSignature.last_seq.desc())
        ).first()
        assert last is not None
        first = last.first_seq
    prev = next(e for e in t.events() if e["seq"] == first - 1)
    t.tamper("DELETE FROM audit_events WHERE chain = :c AND seq >= :s", s=first)
    t.tamper("DELETE FROM audit_signatures WHERE chain = :c AND last_seq >= :s", s=first)
    t.tamper(
        "UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c",
        s=first - 1,
        h=prev["hash"],
    )
    return [f"records {seq} events", f"the trail has {first - 1}", "events removed"]


def everything_wiped_and_head_reset(t: Sealed) -> list[str]:
    for table in ("audit_events", "audit_signatures", "audit_keys", "audit_chain_heads"):
        t.tamper(f"DELETE FROM {table}")
    return ["the trail has 0", "replaced"]


# ------------------------------------------------------------ signatures and keys
def transaction_signature_changed(t: Sealed) -> list[str]:
    with t.world.db.session() as s:
        sig = s.scalars(
            select(AuditSignature)
            .where(AuditSignature.chain == t.chain)
            .order_by(AuditSignature.last_seq)
        ).first()
        assert sig is not None
        raw = bytearray(base64.b64decode(sig.signature))
        last = sig.last_seq
    raw[0] ^= 0xFF
    t.tamper(
        "UPDATE audit_signatures SET signature = :g WHERE chain = :c AND last_seq = :s",
        g=base64.b64encode(bytes(raw)).decode(),
        s=last,
    )
    return [f"signature of event #{last} is invalid (forged)"]


def signature_range_widened(t: Sealed) -> list[str]:
    """A signature claimed for more events than it covered (its first event moved back)."""
    with t.world.db.session() as s:
        sig = s.scalars(
            select(AuditSignature)
            .where(AuditSignature.chain == t.chain)
            .order_by(AuditSignature.last_seq.desc())
        ).first()
        assert sig is not None and sig.first_seq > 1
        last = sig.last_seq
    t.tamper("UPDATE audit_signatures SET first_seq = 1 WHERE chain = :c AND last_seq = :s", s=last)
    return [f"signature of event #{last} is invalid (forged)"]


def latest_signature_deleted(t: Sealed) -> list[str]:
    seq, _ = t.head()
    t.tamper("DELETE FROM audit_signatures WHERE chain = :c AND last_seq = :s", s=seq)
    return [f"#{seq} carry no valid signature"]


def public_key_swapped_and_trail_re_signed(t: Sealed) -> list[str]:
    """The recorded public key replaced by the forger's (under the same key id) and every
    transaction re-signed with the forger's private key."""
    mallory = Ed25519Signer.generate()
    kid = t.signer.key_id
    w = t.world
    t.tamper("UPDATE audit_keys SET public_key = :p", p=mallory.public_key)
    with w.db.session() as s:
        sigs = [
            (x.first_seq, x.last_seq, x.head_hash)
            for x in s.scalars(select(AuditSignature).where(AuditSignature.chain == t.chain))
        ]
    for first, last, head in sigs:
        message = audit.signature_message(first, last, head, kid, t.chain)
        t.tamper(
            "UPDATE audit_signatures SET signature = :g WHERE chain = :c AND last_seq = :s",
            g=base64.b64encode(mallory.sign(message)).decode(),
            s=last,
        )
    return ["is invalid (forged)"]


def trail_rewritten_and_re_signed_with_a_substituted_key(t: Sealed) -> list[str]:
    mallory = Ed25519Signer.generate()
    evs = t.events()
    evs[-1]["payload"] = _edit_payload(evs[-1], lambda b: b.update(reason="nothing to see"))
    t.rechain(evs)
    t.tamper("DELETE FROM audit_signatures")
    t.tamper(
        "INSERT INTO audit_keys (key_id, algorithm, public_key, created_at) "
        "VALUES (:k, 'ed25519', :p, :at)",
        k=mallory.key_id,
        p=mallory.public_key,
        at=_ts(t, evs[0]["ts"]),
    )
    seq, head = t.head()
    message = audit.signature_message(1, seq, head, mallory.key_id, t.chain)
    t.tamper(
        "INSERT INTO audit_signatures (chain, first_seq, last_seq, head_hash, key_id, "
        "signature, signed_at) VALUES (:c, 1, :s, :h, :k, :g, :at)",
        s=seq,
        h=head,
        k=mallory.key_id,
        g=base64.b64encode(mallory.sign(message)).decode(),
        at=_ts(t, evs[0]["ts"]),
    )
    return ["untrusted key"]


# ---------------------------------------------------------------- the anchor file
def anchor_line_edited(t: Sealed) -> list[str]:
    """The last anchor's count lowered (to cover a truncation) in the anchor file."""
    lines = t.anchors.read_text().splitlines()
    rec = json.loads(lines[-1])
    rec["heads"][t.chain][0] -= 1
    t.anchors.write_text("\n".join([*lines[:-1], json.dumps(rec)]) + "\n")
    return ["has an invalid signature"]


def anchor_file_deleted(t: Sealed) -> list[str]:
    t.anchors.unlink()
    return ["no anchor in", "cannot be ruled out"]


def anchor_forged_with_another_key(t: Sealed) -> list[str]:
    """A truncated trail plus an anchor file replaced by one signed with the forger's key."""
    mallory = Ed25519Signer.generate()
    evs = t.events()
    t.tamper("DELETE FROM audit_events WHERE chain = :c AND seq = :s", s=evs[-1]["seq"])
    t.tamper(
        "UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c",
        s=evs[-2]["seq"],
        h=evs[-2]["hash"],
    )
    rec = anchor_record(
        mallory, heads={t.chain: (evs[-2]["seq"], evs[-2]["hash"])}, database="test"
    )
    t.anchors.write_text(json.dumps(rec) + "\n")
    return ["signed with an untrusted key"]


# ------------------------------------------------------- one chain among several
def event_moved_to_another_trials_chain(t: Sealed) -> list[str]:
    """The AE's event taken out of its trial's chain (recomputed) and appended to the other
    trial's chain as that trial's (content, trial and hashes recomputed, head moved)."""
    evs = t.events()
    ev = next(e for e in evs if e["entity_type"] == "adverse_events")
    t.rechain([e for e in evs if e is not ev])
    other = _other(t)
    seq, head = t.head(other)
    trial = int(other.removeprefix("trial:"))
    body = dict(json.loads(ev["payload"]), chain=other, trial_id=trial)
    digest = t.insert_event(seq + 1, body, ev["ts"], head)
    t.tamper(
        "UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c",
        s=seq + 1,
        h=digest,
        c=other,
    )
    return ["history rewritten", "no valid signature", f"in chain {other}"]


def event_moved_between_chains_by_its_columns(t: Sealed) -> list[str]:
    """The AE's event re-filed under the other trial's chain (chain, number, trial columns)."""
    ev = _event(t, "adverse_events")
    other = _other(t)
    seq, _ = t.head(other)
    t.tamper(
        "UPDATE audit_events SET chain = :o, seq = :n, trial_id = :tid "
        "WHERE chain = :c AND seq = :s",
        o=other,
        n=seq + 1,
        tid=int(other.removeprefix("trial:")),
        s=ev["seq"],
    )
    return [f"BROKEN at event #{ev['seq']} of chain {t.chain}", "event(s) missing"]


def whole_trial_chain_deleted(t: Sealed) -> list[str]:
    """Every event, signature and the head of one trial's chain removed (the other trial's
    and the global chain intact)."""
    seq, _ = t.head()
    for table in ("audit_events", "audit_signatures", "audit_chain_heads"):
        t.tamper(f"DELETE FROM {table} WHERE chain = :c")
    return [f"records {seq} events of chain {t.chain}", "the trail has 0", "events removed"]


def one_trials_head_rolled_back(t: Sealed) -> list[str]:
    """One trial's chain rolled back to before the DLT adjudication -- events, signatures
    and head consistent -- while the other trial's chain went on after it."""
    seq, _ = t.head()
    evs = t.events()
    cut = next(e["seq"] for e in evs if e["entity_type"] == "dlt_adjudications")
    t.tamper("DELETE FROM audit_events WHERE chain = :c AND seq >= :s", s=cut)
    t.tamper("DELETE FROM audit_signatures WHERE chain = :c AND last_seq >= :s", s=cut)
    t.tamper(
        "UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c",
        s=cut - 1,
        h=evs[cut - 2]["hash"],
    )
    return [f"records {seq} events of chain {t.chain}", f"the trail has {cut - 1}"]


# ------------------------------------------------ data edited behind the trail
def dlt_call_replaced_in_the_table(t: Sealed) -> list[str]:
    t.tamper("UPDATE dlt_adjudications SET is_dlt = :f", f=False)
    return ["dlt_adjudications #", "is_dlt is False but the audit trail says True"]


def signature_meaning_edited_in_the_table(t: Sealed) -> list[str]:
    t.tamper("UPDATE electronic_signatures SET meaning = 'rejected'")
    return ["electronic_signatures #", "meaning is 'rejected' but the audit trail says 'approved'"]


def adverse_event_deleted_from_the_table(t: Sealed) -> list[str]:
    t.tamper("DELETE FROM dlt_adjudications")
    t.tamper("DELETE FROM adverse_events")
    return ["adverse_events #", "row recorded in the audit trail is missing"]


def patient_inserted_behind_the_application(t: Sealed) -> list[str]:
    w = t.world
    with w.db.session() as s:
        trial = s.scalars(select(DoseDecision.trial_id)).first()
    t.tamper(
        "INSERT INTO patients (trial_id, site_id, study_id, registered_at) "
        "VALUES (:t, :s, 'SA-999', :now)",
        t=trial,
        s=w.site_a,
        now=_ts(t, w.clock.t),
    )
    return ["patients #", "row has no audit record"]


CASES = [
    Case("payload field edited", payload_field_edited),
    Case("payload edited, its own hash recomputed", payload_edited_with_its_own_hash_recomputed),
    Case("denormalised actor column edited", denormalised_actor_column_edited),
    Case("denormalised action column edited", denormalised_action_column_edited),
    Case("actor changed in payload and columns", actor_changed_in_payload_and_columns),
    Case("timestamp column changed", timestamp_column_changed),
    Case("timestamp back-dated, chain recomputed", timestamp_back_dated_and_chain_recomputed),
    Case("history edited, chain recomputed", history_edited_and_chain_recomputed),
    Case(
        "signature meaning edited in trail and table, chain recomputed",
        signature_meaning_edited_in_history_and_data,
    ),
    Case("event deleted in the middle", middle_event_deleted),
    Case("first event deleted", first_event_deleted),
    Case("last event deleted", last_event_deleted),
    Case("events reordered", events_reordered),
    Case("event removed, chain recomputed", event_removed_and_chain_recomputed),
    Case("forged event inserted, chain recomputed", forged_event_inserted_and_chain_recomputed),
    Case("forged event appended, head not moved", forged_event_appended_without_moving_the_head),
    Case("forged event appended, head moved", forged_event_appended_and_head_moved),
    Case("head hash altered", head_hash_altered),
    Case("last event cut, head moved back", last_event_cut_and_head_moved_back),
    Case("last transaction cut with its signature", last_transaction_cut_with_its_signature),
    Case("everything wiped, head reset", everything_wiped_and_head_reset),
    Case("transaction signature changed", transaction_signature_changed),
    Case("signature range widened", signature_range_widened),
    Case("latest signature deleted", latest_signature_deleted),
    Case("public key swapped, trail re-signed", public_key_swapped_and_trail_re_signed),
    Case(
        "trail rewritten, re-signed with a substituted key",
        trail_rewritten_and_re_signed_with_a_substituted_key,
    ),
    Case("anchor line edited", anchor_line_edited),
    Case("anchor file deleted", anchor_file_deleted),
    Case("trail truncated, anchor file forged", anchor_forged_with_another_key),
    Case("event moved to another trial's chain", event_moved_to_another_trials_chain),
    Case("event moved between chains by its columns", event_moved_between_chains_by_its_columns),
    Case("a whole trial's chain deleted", whole_trial_chain_deleted),
    Case("one trial's head rolled back", one_trials_head_rolled_back),
    Case("DLT call replaced in the table", dlt_call_replaced_in_the_table),
    Case("signature meaning edited in the table", signature_meaning_edited_in_the_table),
    Case("adverse event deleted from the table", adverse_event_deleted_from_the_table),
    Case("patient inserted behind the application", patient_inserted_behind_the_application),
]


def test_the_untouched_trail_verifies(trail: Sealed) -> None:
    """The baseline every case starts from is intact (else a case could pass for nothing)."""
    res = trail.verify()
    assert res.exit_code == 0, res.output
    assert "intact" in res.stdout
    kinds = {e["entity_type"] for e in trail.events()}
    assert {"adverse_events", "dlt_adjudications", "electronic_signatures"} <= kinds


def test_there_are_at_least_the_campaigns_24_cases() -> None:
    assert len(CASES) >= 24
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name.replace(" ", "-") for c in CASES])
def test_tampering_is_detected_with_its_reason(trail: Sealed, case: Case) -> None:
    expected = case.mutate(trail)
    res = trail.verify()
    assert res.exit_code == 1, f"{case.name}: not detected\n{res.output}"
    assert "BROKEN" in res.stdout or "differ from the audit trail" in res.stdout, res.stdout
    for words in expected:
        assert words in res.stdout, f"{case.name}: {words!r} not in\n{res.stdout}"


# -------------------------------------------------------------- forged copies
def _flip_dlt(data: dict[str, Any]) -> None:
    for ev in data["events"]:
        if ev["entity_type"] == "dlt_adjudications":
            ev["payload"] = _edit_payload(ev, lambda b: b["new"].update(is_dlt=False))


def copy_dlt_changed_and_recertified(data: dict[str, Any]) -> str:
    _flip_dlt(data)
    recertify(data)
    return "does not match the signed manifest"


def copy_dlt_changed_without_recertifying(data: dict[str, Any]) -> str:
    _flip_dlt(data)
    return "event altered"


def copy_cut_and_recertified(data: dict[str, Any]) -> str:
    data["events"] = data["events"][:-2]
    data["signatures"] = [s for s in data["signatures"] if s["last_seq"] <= len(data["events"])]
    recertify(data)
    return "signed manifest"


def copy_stripped_of_its_signatures(data: dict[str, Any]) -> str:
    del data["manifest"]
    data["signatures"] = []
    data["public_keys"] = {}
    recertify(data)
    return "no signed manifest"


def copy_re_signed_with_the_forgers_key(data: dict[str, Any]) -> str:
    mallory = Ed25519Signer.generate()
    _flip_dlt(data)
    recertify(data)
    m = data["manifest"]
    m.update(
        content_sha256=data["certificate"]["sha256"],
        head=data["head"],
        key_id=mallory.key_id,
        public_key=mallory.public_key,
    )
    m["signature"] = base64.b64encode(mallory.sign(audit.manifest_message(m))).decode()
    return "untrusted key"


def copy_manifest_count_edited(data: dict[str, Any]) -> str:
    data["manifest"]["events"] -= 1
    return "manifest"


def copy_event_moved_to_another_chain_and_recertified(data: dict[str, Any]) -> str:
    """The AE's event re-filed under the global chain (content too), every chain and the
    SHA-256 recomputed."""
    ev = next(e for e in data["events"] if e["entity_type"] == "adverse_events")
    ev["chain"] = "global"
    ev["trial_id"] = None
    ev["payload"] = _edit_payload(ev, lambda b: b.update(chain="global", trial_id=None))
    recertify(data)
    return "does not match the signed manifest"


COPY_CASES: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("DLT changed, chain and SHA-256 recomputed", copy_dlt_changed_and_recertified),
    ("DLT changed, nothing recomputed", copy_dlt_changed_without_recertifying),
    ("events cut, recertified", copy_cut_and_recertified),
    ("signatures stripped, recertified", copy_stripped_of_its_signatures),
    ("re-signed with the forger's key", copy_re_signed_with_the_forgers_key),
    ("manifest count edited", copy_manifest_count_edited),
    (
        "event moved to another chain, recertified",
        copy_event_moved_to_another_chain_and_recertified,
    ),
]


@pytest.mark.parametrize(
    "forge", [f for _, f in COPY_CASES], ids=[n.replace(" ", "-") for n, _ in COPY_CASES]
)
def test_forged_certified_copy_is_refused_with_its_reason(
    trail: Sealed, tmp_path: Path, forge: Callable[[dict[str, Any]], str]
) -> None:
    data = export(trail, tmp_path)
    assert verify_copy(trail, data, tmp_path).exit_code == 0
    expected = forge(data)
    res = verify_copy(trail, data, tmp_path)
    assert res.exit_code == 1, res.output
    assert "BROKEN" in res.stdout and expected in res.stdout, res.stdout
