"""Four-eyes governance: who may sign what, electronic signatures bound to what was signed."""

from __future__ import annotations

import hashlib

import pytest

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, Forbidden, ValidationError
from doseladder.conduct.models import DoseDecision, ElectronicSignature
from doseladder.conduct.services import decisions
from doseladder.conduct.services import esignatures as es

from .conftest import PASSWORD, World

WHY = "prior phase I data support this dose (12 patients, no DLT)"


def override(world: World, tid: int, dose: int, **kw: object) -> DoseDecision:
    return world.run(
        lambda s: decisions.override_decision(
            s, world.stat, tid, dose_level=dose, reason="SRC decision", **kw
        )
    )


def test_a_self_signed_override_is_refused_and_changes_nothing(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    for _ in range(3):
        world.enrol(world.patient(tid), 1)
    world.clock.advance(29)
    world.decide(tid)
    ov = override(world, tid, 1)  # back to a tried dose: one signature, but not the overrider's
    assert ov.requires_signoff and ov.signatures_required in (1, 2)
    before = world.snapshot_counts()
    with pytest.raises(Forbidden, match=r"second person must sign it \(four-eyes rule\)"):
        world.sign(ov.id, world.stat)
    assert world.snapshot_counts() == before
    pid = world.patient(tid)
    with pytest.raises(Conflict, match="needs committee sign-off"):
        world.enrol(pid, 1)


def test_an_override_into_an_untried_dose_needs_a_justification_and_two_committee_signatures(
    world: World,
) -> None:
    tid = world.trial()
    world.decide(tid)
    before = world.snapshot_counts()
    with pytest.raises(ValidationError) as info:
        override(world, tid, 3)
    assert info.value.field == "justification" and "never tried" in info.value.reason
    with pytest.raises(ValidationError, match="20 characters"):
        override(world, tid, 3, justification="because")
    assert world.snapshot_counts() == before
    ov = override(world, tid, 3, justification=WHY)
    assert (ov.signatures_required, ov.justification) == (2, WHY)
    pid = world.patient(tid)
    # a statistician or an administrator is not a committee member
    snap = world.snapshot_counts()
    with pytest.raises(Forbidden, match="committee members"):
        world.sign(ov.id, world.admin)
    assert world.snapshot_counts() == snap
    # one signature is not enough: nothing is signed off and nobody can enrol
    first = world.sign(ov.id, world.com1)
    assert (first.complete, first.approved, len(first.signatures)) == (False, None, 1)
    snap = world.snapshot_counts()
    with pytest.raises(Conflict, match="needs committee sign-off"):
        world.enrol(pid, 3)
    # the same member cannot sign twice
    with pytest.raises(Conflict, match="already signed"):
        world.sign(ov.id, world.com1)
    assert world.snapshot_counts() == snap
    second = world.sign(ov.id, world.com2)
    assert second.complete and second.approved is True
    assert [s["printed_name"] for s in second.signatures] == ["Dr com1", "Dr com2"]
    assert all(s["valid"] for s in second.signatures)
    world.enrol(pid, 3)


def test_electronic_signature_components_are_required(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    ov = override(world, tid, 2, justification=WHY)
    before = world.snapshot_counts()
    cases = [
        ({"password": "wrong password"}, "password"),
        ({"password": None}, "password"),
        ({"printed_name": " "}, "printed_name"),
    ]
    for change, field in cases:
        kw: dict[str, object] = {"password": PASSWORD, "printed_name": "Dr C One"}
        kw.update(change)
        with pytest.raises(ValidationError) as info:
            world.run(
                lambda s, kw=kw: decisions.sign_off(
                    s, world.com1, ov.id, approve=True, comment="approved by SRC", **kw
                )
            )
        assert info.value.field == field
    assert world.snapshot_counts() == before


def test_a_signature_is_bound_to_the_hash_of_what_was_signed(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    ov = override(world, tid, 2, justification=WHY)
    world.sign(ov.id, world.com1)
    with world.db.session() as s:
        sig = s.query(ElectronicSignature).one()
        decision = s.get(DoseDecision, ov.id)
        assert decision is not None
        content = decisions.decision_content(decision)
        text = audit.canonical_json(content)
        assert sig.content == text
        assert sig.content_sha256 == hashlib.sha256(text.encode()).hexdigest()
        assert (sig.meaning, sig.role, sig.username) == ("approved", "committee", "com1")
        assert sig.signed_at.tzinfo is not None
        assert es.verify(sig, content)
        # the same signature does not verify any other content
        assert not es.verify(sig, {**content, "next_dose": 3})
    # altering the signed record (outside the services) breaks the binding
    world.tamper("UPDATE dose_decisions SET next_dose = 3 WHERE id = :i", i=ov.id)
    with world.db.session() as s:
        decision = s.get(DoseDecision, ov.id)
        assert decision is not None
        view = es.signature_view(
            s.query(ElectronicSignature).one(), decisions.decision_content(decision)
        )
        assert view["valid"] is False
