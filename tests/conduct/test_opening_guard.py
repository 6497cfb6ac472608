"""The opening guard: a trial with placeholder doses or unresolved review items opens only
when each is resolved by an amendment or acknowledged by an admin and a statistician (two
different people), with reasons, audited; refusals name the items and change nothing."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import pytest
from sqlalchemy import select

from doseladder.conduct.errors import Conflict, Forbidden, ValidationError
from doseladder.conduct.models import AuditEvent, OpeningAcknowledgement, Trial
from doseladder.conduct.security import Actor, Role
from doseladder.conduct.services import opening_guard, sites_users, trials
from doseladder.io.design_file import load_mapping
from doseladder.protocols import protocol_from_dict, shipped_path
from doseladder.protocols.opening import opening_items

from .conftest import BOIN, PASSWORD, World

STR = "str-p004-nct07143617"


def _data() -> dict[str, Any]:
    return deepcopy(load_mapping(shipped_path(STR)))


def _draft(world: World, data: dict[str, Any] | None = None) -> int:
    return world.trial(data or _data(), open_=False)


def _ack(world: World, who: Actor, tid: int, item: str, reason: str = "sponsor letter") -> Any:
    return world.run(lambda s: opening_guard.acknowledge(s, who, tid, item=item, reason=reason))


def _items(world: World, tid: int) -> list[opening_guard.ItemStatus]:
    out: list[opening_guard.ItemStatus] = world.run(
        lambda s: opening_guard.checklist(s, world.monitor, tid)
    )
    return out


def _status(world: World, tid: int) -> str:
    with world.db.session() as s:
        trial = s.get(Trial, tid)
        assert trial is not None
        return trial.status


def _refused_to_open(world: World, tid: int) -> str:
    before = world.snapshot_counts()
    with pytest.raises(Conflict) as info:
        world.run(lambda s: trials.open_trial(s, world.stat, tid, reason="SIV done"))
    assert world.snapshot_counts() == before  # nothing changed, not even the audit trail
    assert _status(world, tid) == "draft"
    assert info.value.status == 409 and info.value.field == "protocol"
    return info.value.message


def test_the_checklist_is_the_protocols_items(world: World) -> None:
    tid = _draft(world)
    expected = opening_items(protocol_from_dict(_data()))
    got = _items(world, tid)
    assert [x.item for x in got] == list(expected)
    assert all(x.missing == ("admin", "statistician") and not x.cleared for x in got)
    assert world.run(lambda s: opening_guard.checklist(s, world.monitor, world.trial(BOIN))) == []


def test_unacknowledged_placeholders_keep_the_trial_closed(world: World) -> None:
    tid = _draft(world)
    message = _refused_to_open(world, tid)
    items = _items(world, tid)
    assert f"{len(items)} protocol item(s)" in message
    assert "placeholder:dose DL-1#" in message and "needs an administrator and a statistician" in (
        message
    )


def test_one_acknowledgement_is_not_enough(world: World) -> None:
    tid = _draft(world)
    for x in _items(world, tid):
        _ack(world, world.admin, tid, x.item.id)
    assert all(x.missing == ("statistician",) for x in _items(world, tid))
    message = _refused_to_open(world, tid)
    assert "(needs a statistician)" in message and "administrator)" not in message
    # statistician acknowledges all but the last item: still refused, naming that item only
    *first, last = _items(world, tid)
    for x in first:
        _ack(world, world.stat, tid, x.item.id)
    message = _refused_to_open(world, tid)
    assert "1 protocol item(s)" in message and last.item.id in message
    _ack(world, world.stat, tid, last.item.id)
    opened = world.run(lambda s: trials.open_trial(s, world.stat, tid))
    assert opened.status == "open"


def test_the_same_person_never_gives_both_acknowledgements(world: World) -> None:
    tid = _draft(world)
    item = _items(world, tid)[0].item.id
    _ack(world, world.admin, tid, item)
    admin2 = world.run(
        lambda s: sites_users.actor_for(
            sites_users.create_user(
                s, world.admin, username="admin2", password=PASSWORD, role=Role.ADMIN
            )
        )
    )
    before = world.snapshot_counts()
    # a second administrator cannot stand in for the statistician
    with pytest.raises(Conflict, match="already acknowledged by an administrator"):
        _ack(world, admin2, tid, item)
    assert world.snapshot_counts() == before
    # the first administrator, now a statistician, still cannot give the second one
    world.run(
        lambda s: sites_users.set_role(
            s,
            admin2,
            world.admin.user_id,
            role=Role.STATISTICIAN,
            site_id=None,
            reason="moved to statistics",
        )
    )
    turned = Actor(world.admin.user_id, world.admin.username, Role.STATISTICIAN)
    before = world.snapshot_counts()
    with pytest.raises(Conflict, match=r"you already acknowledged .* another person"):
        _ack(world, turned, tid, item)
    assert world.snapshot_counts() == before
    # another person in the statistician role may
    _ack(world, world.stat, tid, item)
    assert _items(world, tid)[0].cleared


def test_an_amendment_resolves_an_item_and_keeps_the_other_acknowledgements(
    world: World,
) -> None:
    tid = _draft(world)
    items = _items(world, tid)
    dl1 = next(x for x in items if x.item.where == "dose DL1")
    for x in items:
        if x is not dl1:
            _ack(world, world.admin, tid, x.item.id)
            _ack(world, world.stat, tid, x.item.id)
    assert "placeholder:dose DL1#" in _refused_to_open(world, tid)
    data = _data()
    dose = data["doses"][1]
    assert dose["label"] == "DL1"
    dose["amount"] = {"value": 0.5, "unit": "mg/kg"}
    dose.pop("needs_review")
    dose.pop("review_note")
    world.run(lambda s: trials.amend_protocol(s, world.stat, tid, data, reason="sponsor set DL1"))
    after = _items(world, tid)
    assert [x.item.id for x in after] == [x.item.id for x in items if x is not dl1]
    assert all(x.cleared for x in after)  # acknowledged under version 1, still standing
    assert {a.protocol_version for x in after for a in x.acknowledgements} == {1}
    # an acknowledgement of the resolved item is refused: it is no longer an item
    with pytest.raises(ValidationError) as info:
        _ack(world, world.admin, tid, dl1.item.id)
    assert info.value.field == "item"
    assert world.run(lambda s: trials.open_trial(s, world.stat, tid)).status == "open"


def test_rewording_an_item_needs_new_acknowledgements(world: World) -> None:
    tid = _draft(world)
    world.acknowledge_opening(tid)
    data = _data()
    data["doses"][0]["review_note"] = "The sponsor will set A before the first patient."
    world.run(lambda s: trials.amend_protocol(s, world.stat, tid, data, reason="note reworded"))
    message = _refused_to_open(world, tid)
    assert "1 protocol item(s)" in message and "placeholder:dose DL-1#" in message


def test_acknowledgements_are_audited_with_their_reason(world: World) -> None:
    tid = _draft(world)
    x = _items(world, tid)[0]
    row = _ack(world, world.stat, tid, x.item.id, reason="sponsor confirmed by letter of 3 March")
    with world.db.session() as s:
        events = s.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "opening_acknowledgements",
                AuditEvent.entity_id == str(row.id),
            )
        ).all()
    assert len(events) == 1
    (ev,) = events
    assert ev.action == "create" and ev.actor_username == "stat" and ev.trial_id == tid
    assert ev.reason is not None and "sponsor confirmed by letter of 3 March" in ev.reason
    assert x.item.where in ev.reason


@pytest.mark.parametrize("who", ["inv_a", "dm", "monitor", "com1"])
def test_other_roles_may_not_acknowledge(world: World, who: str) -> None:
    tid = _draft(world)
    item = _items(world, tid)[0].item.id
    before = world.snapshot_counts()
    with pytest.raises(Forbidden, match="acknowledge opening"):
        _ack(world, getattr(world, who), tid, item)
    assert world.snapshot_counts() == before


def test_bad_acknowledgements_name_the_field_and_change_nothing(world: World) -> None:
    tid = _draft(world)
    item = _items(world, tid)[0].item.id
    before = world.snapshot_counts()
    for kw, field in (
        ({"item": item, "reason": ""}, "reason"),
        ({"item": item, "reason": None}, "reason"),
        ({"item": "", "reason": "ok reason"}, "item"),
        ({"item": 7, "reason": "ok reason"}, "item"),
        ({"item": "review:nothing#0000000000", "reason": "ok reason"}, "item"),
    ):
        with pytest.raises(ValidationError) as info:
            world.run(lambda s, kw=kw: opening_guard.acknowledge(s, world.admin, tid, **kw))
        assert info.value.field == field, kw
    assert world.snapshot_counts() == before


def test_no_acknowledgement_once_the_trial_is_open(world: World) -> None:
    tid = _draft(world)
    world.acknowledge_opening(tid)
    world.run(lambda s: trials.open_trial(s, world.stat, tid))
    item = _items(world, tid)[0].item.id
    with world.db.session() as s:
        n = len(s.scalars(select(OpeningAcknowledgement)).all())
    assert n == 2 * len(_items(world, tid))
    with pytest.raises(Conflict, match="is open"):
        _ack(world, world.admin, tid, item)


def test_standing_acknowledgements_follow_the_current_protocol(world: World) -> None:
    tid = _draft(world)
    items = _items(world, tid)
    dl1 = next(x for x in items if x.item.where == "dose DL1")
    _ack(world, world.admin, tid, dl1.item.id, reason="B is set in amendment 1")
    standing = world.run(lambda s: opening_guard.standing_acknowledgements(s, world.inv_a, tid))
    assert [x.item.id for x in standing] == [dl1.item.id]
    (ack,) = standing[0].acknowledgements
    assert (ack.username, ack.role, ack.reason) == ("admin", "admin", "B is set in amendment 1")
    data = _data()
    data["doses"][1]["amount"] = {"value": 0.5, "unit": "mg/kg"}
    data["doses"][1].pop("needs_review")
    data["doses"][1].pop("review_note")
    world.run(lambda s: trials.amend_protocol(s, world.stat, tid, data, reason="DL1 set"))
    assert world.run(lambda s: opening_guard.standing_acknowledgements(s, world.inv_a, tid)) == []
