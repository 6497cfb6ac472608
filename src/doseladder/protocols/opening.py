"""What keeps a protocol from opening a trial: placeholder doses and unresolved review items.

:func:`opening_items` lists them, one :class:`OpeningItem` each, from the same flags that
``protocol show`` prints (:meth:`~doseladder.protocols.model.Protocol.flagged`) plus every dose
level whose amount is still a placeholder (``A mg/kg``).  A dose that is both a placeholder and
flagged for review is one item (kind ``placeholder``, the review note appended).

Every item has a stable ``id``: ``<kind>:<where>#<digest>`` where the digest is the first 10
hex digits of the SHA-256 of the item's text.  The same flag with the same wording has the
same id in every protocol version, so an acknowledgement stands across an amendment that leaves
the item unchanged; an amendment that removes the item (or rewrites it) resolves it (a
rewritten item is a new item).  Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from doseladder.protocols.model import Protocol

__all__ = ["ITEM_ID_MAX_LEN", "OpeningItem", "opening_items"]

#: the longest item id (the ``opening_acknowledgements.item`` column holds 200 characters)
ITEM_ID_MAX_LEN = 200
_DIGEST_LEN = 10


@dataclass(frozen=True, slots=True)
class OpeningItem:
    """One protocol item that must be resolved or acknowledged before the trial opens.

    Attributes:
        id: stable identifier (module docstring), at most :data:`ITEM_ID_MAX_LEN` characters.
        kind: ``"placeholder"`` (a dose amount not yet set) or ``"review"`` (a flag of the
            source record: an ambiguity or error the file does not resolve on its own).
        where: what the item is about, as ``protocol show`` names it (``dose DL1``,
            ``criterion 000-INC-03.2``, ``review R000-01 (design)``).
        text: the item in words (the review note, or the placeholder amount).
    """

    id: str
    kind: Literal["placeholder", "review"]
    where: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "where": self.where, "text": self.text}


def _item_id(kind: str, where: str, text: str) -> str:
    digest = hashlib.sha256(f"{kind}\n{where}\n{text}".encode()).hexdigest()[:_DIGEST_LEN]
    head = f"{kind}:{where}"
    room = ITEM_ID_MAX_LEN - _DIGEST_LEN - 1
    return f"{head[:room]}#{digest}"


def _item(kind: Literal["placeholder", "review"], where: str, text: str) -> OpeningItem:
    return OpeningItem(id=_item_id(kind, where, text), kind=kind, where=where, text=text)


def opening_items(protocol: Protocol | None) -> tuple[OpeningItem, ...]:
    """The items that keep ``protocol`` from opening a trial, in file order: placeholder
    doses first, then every flag of :meth:`Protocol.flagged` (``None``, a design file without a
    protocol, has none)."""
    if protocol is None:
        return ()
    out: list[OpeningItem] = []
    placeholder_doses: set[str] = set()
    notes = dict(protocol.flagged())
    for d in protocol.doses:
        if d.amount.placeholder is None:
            continue
        where = f"dose {d.label}"
        placeholder_doses.add(where)
        text = f"the amount is {d.amount.describe()}"
        if where in notes:
            text += f"; REVIEW: {notes[where]}"
        out.append(_item("placeholder", where, text))
    for where, note in protocol.flagged():
        if where not in placeholder_doses:
            out.append(_item("review", where, note))
    return tuple(out)
