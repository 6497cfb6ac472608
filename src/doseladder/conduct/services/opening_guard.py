"""The opening guard: a trial does not open while its protocol has placeholder doses or
unresolved review items, unless each is resolved or acknowledged by two people.

The items are the current protocol version's :func:`doseladder.protocols.opening.opening_items`
(the flags ``protocol show`` prints, and every dose whose amount is still a placeholder; a
design file has none).  An item is

* **resolved** by an amendment: a new protocol version without it (a reworded item is a new
  item, so its acknowledgements do not carry over);
* **acknowledged** when an administrator *and* a statistician -- two different people -- have
  each acknowledged it with a reason (:func:`acknowledge`).  One person never gives both
  acknowledgements of an item, even after a change of role.

An acknowledgement names the item by its stable id and stands for as long as the trial's
current protocol still has that item (so it carries across an amendment that leaves the item
unchanged).  Acknowledgements are given while the trial is a draft, are append-only rows of
``opening_acknowledgements`` and every one is in the audit trail (with its reason).
:func:`check_can_open` is what :func:`doseladder.conduct.services.trials.open_trial` asks
before opening; it refuses (409) naming the outstanding items and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import OpeningAcknowledgement, ProtocolVersion, Trial, User
from doseladder.conduct.security import Actor, Permission, Role
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import trials
from doseladder.protocols.opening import OpeningItem, opening_items

__all__ = [
    "REQUIRED_ROLES",
    "Acknowledgement",
    "ItemStatus",
    "acknowledge",
    "check_can_open",
    "checklist",
    "current_items",
    "standing_acknowledgements",
]

#: the roles that must each acknowledge an item (two different people)
REQUIRED_ROLES: tuple[Role, ...] = (Role.ADMIN, Role.STATISTICIAN)
_ROLE_NAMES = {Role.ADMIN.value: "an administrator", Role.STATISTICIAN.value: "a statistician"}
#: how many outstanding items the refusal to open names before "and N more"
_NAMED_IN_REFUSAL = 8


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """One acknowledgement of an item: who (user, role), why, when, under which version."""

    id: int
    item: str
    role: str
    user_id: int
    username: str
    display_name: str | None
    reason: str
    acknowledged_at: datetime
    protocol_version: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item": self.item,
            "role": self.role,
            "user_id": self.user_id,
            "username": self.username,
            "display_name": self.display_name,
            "reason": self.reason,
            "acknowledged_at": self.acknowledged_at,
            "protocol_version": self.protocol_version,
        }


@dataclass(frozen=True, slots=True)
class ItemStatus:
    """An item of the current protocol and the acknowledgements that stand for it."""

    item: OpeningItem
    acknowledgements: tuple[Acknowledgement, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        """The roles whose acknowledgement is still missing."""
        have = {a.role for a in self.acknowledgements}
        return tuple(r.value for r in REQUIRED_ROLES if r.value not in have)

    @property
    def cleared(self) -> bool:
        """Acknowledged by every required role (the trial may open as far as it goes)."""
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.item.to_dict(),
            "acknowledgements": [a.to_dict() for a in self.acknowledgements],
            "missing": list(self.missing),
            "cleared": self.cleared,
        }


def current_items(session: Session, trial_id: int) -> tuple[OpeningItem, ...]:
    """The items of the trial's current protocol version (no permission check)."""
    engine = trials.engine_for(trials.current_protocol(session, trial_id))
    return opening_items(engine.protocol)


def _acknowledgements(session: Session, trial_id: int) -> dict[str, list[Acknowledgement]]:
    rows = session.execute(
        select(OpeningAcknowledgement, User, ProtocolVersion.version)
        .join(User, User.id == OpeningAcknowledgement.acknowledged_by_id)
        .join(ProtocolVersion, ProtocolVersion.id == OpeningAcknowledgement.protocol_version_id)
        .where(OpeningAcknowledgement.trial_id == trial_id)
        .order_by(OpeningAcknowledgement.id)
    ).all()
    out: dict[str, list[Acknowledgement]] = {}
    for ack, user, version in rows:
        out.setdefault(ack.item, []).append(
            Acknowledgement(
                id=ack.id,
                item=ack.item,
                role=ack.role,
                user_id=user.id,
                username=user.username,
                display_name=user.display_name,
                reason=ack.reason,
                acknowledged_at=ack.acknowledged_at,
                protocol_version=int(version),
            )
        )
    return out


def _statuses(session: Session, trial_id: int) -> list[ItemStatus]:
    acks = _acknowledgements(session, trial_id)
    return [
        ItemStatus(item=i, acknowledgements=tuple(acks.get(i.id, ())))
        for i in current_items(session, trial_id)
    ]


def checklist(session: Session, actor: Actor, trial_id: int) -> list[ItemStatus]:
    """The opening checklist: every item of the current protocol with the acknowledgements
    that stand for it (empty for a protocol without items)."""
    trials.get_trial(session, actor, trial_id)
    return _statuses(session, trial_id)


def standing_acknowledgements(session: Session, actor: Actor, trial_id: int) -> list[ItemStatus]:
    """The items of the current protocol that have at least one acknowledgement (what the
    dashboard shows for as long as they stand)."""
    return [x for x in checklist(session, actor, trial_id) if x.acknowledgements]


def acknowledge(
    session: Session, actor: Actor, trial_id: int, *, item: object, reason: object
) -> OpeningAcknowledgement:
    """Acknowledge one item of a draft trial's current protocol, with a reason.

    Administrators and statisticians only; each role acknowledges an item once, and the same
    person never gives both acknowledgements of an item.  Audited with the reason.

    Raises:
        Forbidden: another role.
        ValidationError: ``item`` is not an item of the current protocol; ``reason`` missing.
        Conflict: the trial is not a draft; the role already acknowledged the item; the user
            already acknowledged it in another role.
    """
    c.begin(session, actor, Permission.ACKNOWLEDGE_OPENING)
    trials.get_trial(session, actor, trial_id)
    if not isinstance(item, str) or not item.strip():
        raise ValidationError("item", "is required: the id of an item of the opening checklist")
    item_id = item.strip()
    why = c.reason_text(reason)
    trial = c.lock_trial(session, trial_id)
    if trial.status != trials.TrialStatus.DRAFT:
        raise Conflict(
            f"trial {trial.code} is {trial.status}: protocol items are acknowledged before it "
            "opens",
            field="item",
        )
    status = next((x for x in _statuses(session, trial.id) if x.item.id == item_id), None)
    if status is None:
        raise ValidationError(
            "item",
            f"{item_id!r} is not an item of the current protocol (it may have been resolved by "
            "an amendment); see the trial's opening checklist",
        )
    role = actor.role.value
    for ack in status.acknowledgements:
        if ack.user_id == actor.user_id:
            raise Conflict(
                f"you already acknowledged {status.item.where} (as {ack.role}); the second "
                f"acknowledgement must come from {_other(ack.role)}, another person",
                field="item",
            )
        if ack.role == role:
            raise Conflict(
                f"{status.item.where} is already acknowledged by {_ROLE_NAMES[role]} "
                f"({ack.username}, {ack.acknowledged_at:%Y-%m-%d %H:%M} UTC)",
                field="item",
            )
    pv = trials.current_protocol(session, trial.id)
    row = OpeningAcknowledgement(
        trial_id=trial.id,
        protocol_version_id=pv.id,
        item=item_id,
        role=role,
        reason=why,
        acknowledged_at=c.now(session),
        acknowledged_by_id=actor.user_id,
    )
    with audit.reason(session, f"opening acknowledgement of {status.item.where}: {why}"):
        session.add(row)
        session.flush()
    return row


def _other(role: str) -> str:
    others = [_ROLE_NAMES[r.value] for r in REQUIRED_ROLES if r.value != role]
    return " or ".join(others) or "another role"


def outstanding(session: Session, trial_id: int) -> list[ItemStatus]:
    """The items that keep the trial from opening (neither resolved nor fully acknowledged)."""
    return [x for x in _statuses(session, trial_id) if not x.cleared]


def check_can_open(session: Session, trial: Trial) -> None:
    """Refuse (:class:`Conflict`, field ``protocol``) to open ``trial`` while items are
    outstanding, naming them and the acknowledgements they still need."""
    left = outstanding(session, trial.id)
    if not left:
        return
    named = "; ".join(
        f"{x.item.id} (needs {' and '.join(_ROLE_NAMES[r] for r in x.missing)})"
        for x in left[:_NAMED_IN_REFUSAL]
    )
    more = len(left) - _NAMED_IN_REFUSAL
    if more > 0:
        named += f"; and {more} more"
    raise Conflict(
        f"trial {trial.code} cannot open: {len(left)} protocol item(s) (placeholder doses or "
        "unresolved review items) are neither resolved by an amendment nor acknowledged by an "
        f"administrator and a statistician: {named}.  See the trial's opening checklist.",
        field="protocol",
    )
