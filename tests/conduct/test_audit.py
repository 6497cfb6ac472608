"""The audit trail: captured in the same transaction, append-only, hash-chained; tampering
(edit, delete, reorder, truncate, edits of data behind the application's back) is detected at
the right place; certified copies verify on their own; the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.conduct import audit
from doseladder.conduct.models import AuditEvent, AuditHead, Patient, Site, Trial
from doseladder.conduct.services import outcomes, sites_users, trials

from .conftest import World

runner = CliRunner()


def events(world: World) -> list[dict[str, Any]]:
    with world.db.session() as s:
        return [
            json.loads(e.payload)
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq))
        ]


def verify(world: World, **kw: Any) -> audit.VerifyResult:
    with world.db.session() as s:
        return audit.verify(s, **kw)


def populated(world: World) -> tuple[int, int]:
    trial = world.trial()
    pid = world.patient(trial)
    ae = world.run(
        lambda s: outcomes.record_adverse_event(
            s, world.inv_a, pid, term="Headache", grade=2, onset_date=world.clock.today()
        )
    )
    return trial, ae.id


def test_every_change_is_recorded_with_who_what_and_values(world: World) -> None:
    trial = world.trial()
    world.run(lambda s: trials.suspend_accrual(s, world.stat, trial, reason="DSMB pause"))
    evs = events(world)
    for chain in {e["chain"] for e in evs}:  # every chain numbered 1, 2, 3 ...
        seqs = [e["seq"] for e in evs if e["chain"] == chain]
        assert seqs == list(range(1, len(seqs) + 1))
    assert {e["chain"] for e in evs} == {"global", f"trial:{trial}"}
    assert all(e["chain"] == audit.chain_of(e["trial_id"]) for e in evs)
    created = [e for e in evs if e["entity_type"] == "trials" and e["action"] == "create"]
    assert len(created) == 1 and created[0]["new"]["code"].startswith("T")
    assert created[0]["actor"]["username"] == "stat"
    assert created[0]["actor"]["role"] == "statistician"
    update = [e for e in evs if e["entity_type"] == "trials" and e["action"] == "update"][-1]
    assert update["old"]["status"] == "open" and update["new"]["status"] == "suspended"
    assert update["reason"] == "DSMB pause"
    assert update["trial_id"] == trial
    assert update["ts"].endswith("+00:00")
    # secrets are recorded as digests only
    users = [e for e in evs if e["entity_type"] == "users"]
    assert all(e["new"]["password_hash"].startswith("sha256:") for e in users)
    assert verify(world).ok


def test_intact_chain_and_head(world: World) -> None:
    trial, _ = populated(world)
    result = verify(world)
    assert result.ok, result.summary()
    with world.db.session() as s:
        heads = s.scalars(select(AuditHead)).all()
        assert {h.chain for h in heads} == {"global", f"trial:{trial}"}
        for head in heads:
            chain = select(AuditEvent).where(AuditEvent.chain == head.chain)
            last = s.scalars(chain.order_by(AuditEvent.seq.desc())).first()
            assert last is not None
            assert (head.seq, head.hash) == (last.seq, last.hash) == result.heads[head.chain]
            first = s.scalars(chain.order_by(AuditEvent.seq)).first()
            assert first is not None and first.seq == 1
            assert first.prev_hash == audit.GENESIS_HASH
            assert first.hash == audit.chain_hash(first.prev_hash, first.payload)
        assert result.head_seq == s.scalar(select(func.count()).select_from(AuditEvent))
        assert result.head_hash == audit.heads_digest({h.chain: (h.seq, h.hash) for h in heads})
    assert "intact" in result.summary()


def test_rollback_leaves_no_record_and_no_audit(world: World) -> None:
    trial, _ = populated(world)
    pid = world.patient(trial)
    before = world.snapshot_counts()
    with pytest.raises(ZeroDivisionError), world.db.transaction() as s:
        outcomes.record_adverse_event(
            s, world.inv_a, pid, term="Fever", grade=1, onset_date=world.clock.today()
        )
        s.flush()
        _ = 1 / 0
    assert world.snapshot_counts() == before
    assert verify(world).ok


def test_failure_while_appending_the_audit_leaves_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    populated(world)
    before = world.snapshot_counts()

    def boom(session: Any, events: Any, **kw: Any) -> None:
        raise RuntimeError("crash while chaining")

    monkeypatch.setattr(audit, "append", boom)
    with pytest.raises(RuntimeError, match="crash while chaining"):
        world.run(lambda s: sites_users.create_site(s, world.admin, code="SC", name="Site C"))
    assert world.snapshot_counts() == before
    monkeypatch.undo()
    assert verify(world).ok


def test_unattributed_changes_are_refused(world: World) -> None:
    before = world.snapshot_counts()
    with pytest.raises(RuntimeError, match="unattributed"), world.db.transaction() as s:
        site = s.get(Site, world.site_a)
        assert site is not None
        site.name = "renamed"
        s.flush()
    assert world.snapshot_counts() == before


def test_history_of_a_row(world: World) -> None:
    trial = world.trial()
    world.run(lambda s: trials.suspend_accrual(s, world.stat, trial, reason="pause"))
    world.run(lambda s: trials.resume_accrual(s, world.stat, trial, reason="resume"))
    with world.db.session() as s:
        hist = audit.history(s, "trials", trial)
    assert [h["action"] for h in hist] == ["create", "update", "update", "update"]
    assert [h["new"].get("status") for h in hist[1:]] == ["open", "suspended", "open"]
    assert all(len(h["hash"]) == 64 for h in hist)


# ------------------------------------------------------------------ tampering
def test_edited_event_is_detected_at_its_sequence_number(world: World) -> None:
    populated(world)
    world.tamper(
        "UPDATE audit_events SET payload = replace(payload, 'Headache', 'Nothing') "
        "WHERE entity_type = 'adverse_events'"
    )
    with world.db.session() as s:
        seq = s.scalar(select(AuditEvent.seq).where(AuditEvent.entity_type == "adverse_events"))
    result = verify(world)
    assert not result.ok and result.first_bad_seq == seq
    assert "altered" in (result.problem or "")


def test_edited_event_with_recomputed_hash_breaks_the_next_link(world: World) -> None:
    populated(world)
    with world.db.session() as s:
        ev = s.scalars(
            select(AuditEvent).where(AuditEvent.chain == "global", AuditEvent.seq == 3)
        ).one()
        payload = ev.payload.replace('"create"', '"update"')
        new_hash = audit.chain_hash(ev.prev_hash, payload)
    world.tamper(
        "UPDATE audit_events SET payload = :p, action = 'update', hash = :h "
        "WHERE chain = 'global' AND seq = 3",
        p=payload,
        h=new_hash,
    )
    result = verify(world)
    assert result.first_bad_seq == 4
    assert "link broken" in (result.problem or "")


def test_deleted_event_is_detected(world: World) -> None:
    populated(world)
    world.tamper("DELETE FROM audit_events WHERE seq = 5")
    result = verify(world)
    assert result.first_bad_seq == 5
    assert "missing" in (result.problem or "")


def test_reordered_events_are_detected(world: World) -> None:
    populated(world)
    world.tamper("UPDATE audit_events SET seq = -1 WHERE seq = 6")
    world.tamper("UPDATE audit_events SET seq = 6 WHERE seq = 7")
    world.tamper("UPDATE audit_events SET seq = 7 WHERE seq = -1")
    result = verify(world)
    assert result.first_bad_seq == 6
    assert not result.ok


def test_truncated_tail_is_detected_by_the_head(world: World) -> None:
    populated(world)
    with world.db.session() as s:
        last = int(s.scalar(select(AuditHead.seq)) or 0)
    world.tamper("DELETE FROM audit_events WHERE seq = :s", s=last)
    result = verify(world)
    assert not result.ok and result.first_bad_seq == last
    assert "removed" in (result.problem or "")


def test_column_differing_from_payload_is_detected(world: World) -> None:
    populated(world)
    world.tamper("UPDATE audit_events SET actor_username = 'someone' WHERE seq = 2")
    result = verify(world)
    assert result.first_bad_seq == 2
    assert "actor_username" in (result.problem or "")


def test_data_edited_behind_the_application_is_detected(world: World) -> None:
    _, ae_id = populated(world)
    world.tamper("UPDATE adverse_events SET grade = 1 WHERE id = :i", i=ae_id)
    result = verify(world)
    assert not result.ok and result.problem is None
    assert any(f"adverse_events #{ae_id}: grade is 1" in p for p in result.data_problems)
    assert verify(world, check_data=False).ok


def test_rows_inserted_or_deleted_behind_the_application_are_detected(world: World) -> None:
    trial, _ = populated(world)
    world.tamper(
        "INSERT INTO patients (trial_id, site_id, study_id, registered_at) "
        "VALUES (:t, :s, 'SA-999', :now)",
        t=trial,
        s=world.site_a,
        now=world.clock.t.replace(tzinfo=None) if world.db.dialect == "sqlite" else world.clock.t,
    )
    world.tamper("DELETE FROM efficacy_assessments")  # nothing there: no problem
    world.tamper("DELETE FROM trial_sites WHERE site_id = :s", s=world.site_b)
    problems = verify(world).data_problems
    assert any("patients #" in p and "no audit record" in p for p in problems)
    assert any("trial_sites #" in p and "missing" in p for p in problems)


# ------------------------------------------------------------- certified copy
def test_certified_copy_round_trip_and_tampering(world: World) -> None:
    populated(world)
    with world.db.session() as s:
        copy = audit.certified_copy(s, actor=world.monitor)
    assert copy["head"]["seq"] == len(copy["events"])
    assert copy["verification"]["ok"] is True
    assert len(copy["certificate"]["sha256"]) == 64
    data = json.loads(json.dumps(copy))
    assert audit.verify_copy(data).ok
    edited = json.loads(json.dumps(copy))
    edited["events"][2]["payload"] = edited["events"][2]["payload"].replace(
        '"action":"create"', '"action":"update"'
    )
    bad = audit.verify_copy(edited)
    assert not bad.ok and bad.first_bad_seq == 3
    resigned = json.loads(json.dumps(copy))
    resigned["generated_by"] = "mallory"
    assert "certificate digest" in (audit.verify_copy(resigned).problem or "")
    short = json.loads(json.dumps(copy))
    short["events"].pop()
    assert not audit.verify_copy(short).ok
    assert not audit.verify_copy({"format": "other"}).ok


# -------------------------------------------------------------------- the CLI
def test_cli_verify_and_export(world: World, tmp_path: Path) -> None:
    populated(world)
    url = world.db.url
    res = runner.invoke(app, ["audit", "verify", "--database", url])
    assert res.exit_code == 0, res.output
    assert "intact" in res.stdout
    res = runner.invoke(app, ["audit", "verify", "--database", url, "--json"])
    assert json.loads(res.stdout)["ok"] is True
    out = tmp_path / "copy.json"
    res = runner.invoke(app, ["audit", "export", str(out), "--database", url, "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["verified"] is True and summary["events"] == world.audit_count()
    res = runner.invoke(app, ["audit", "verify", "--copy", str(out)])
    # no signing key configured: the copy is unsigned, which the command refuses (signed
    # copies: test_audit_sealing.py)
    assert res.exit_code == 1 and "no signed manifest" in res.stdout
    world.tamper("DELETE FROM audit_events WHERE seq = 2")
    res = runner.invoke(app, ["audit", "verify", "--database", url])
    assert res.exit_code == 1
    assert "BROKEN at event #2" in res.stdout


def test_cli_audit_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOSELADDER_DATABASE_URL", raising=False)
    cases = [
        (["audit", "verify", "--database", f"sqlite:///{tmp_path / 'none.db'}"], "no database"),
        (["audit", "verify", "--database", "mysql://x@y/z"], "unsupported database"),
        (["audit", "verify", "--copy", str(tmp_path / "none.json")], "file not found"),
        (["audit", "export", str(tmp_path / "o.json"), "--database", "sqlite://"], "file path"),
    ]
    for args, message in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert res.stderr.startswith("error: ") and message in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    empty = tmp_path / "other.db"
    empty.write_bytes(b"")
    res = runner.invoke(app, ["audit", "verify", "--database", f"sqlite:///{empty}"])
    assert res.exit_code == 2 and "not a doseladder database" in res.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    res = runner.invoke(app, ["audit", "verify", "--copy", str(bad)])
    assert res.exit_code == 2 and "not a certified copy" in res.stderr


def test_verify_reads_every_table(world: World) -> None:
    populated(world)
    with world.db.session() as s:
        assert s.scalars(select(Trial)).first() is not None
        assert s.scalars(select(Patient)).first() is not None
    assert verify(world).data_problems == ()
