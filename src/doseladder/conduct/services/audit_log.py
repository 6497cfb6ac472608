"""The audit log listing (read-only).

The audit trail holds every site's patient-level data, so its listing needs the ``audit``
permission and a user not bound to a site (like the exports).  Nothing here writes.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder.conduct.errors import Forbidden
from doseladder.conduct.models import AuditEvent
from doseladder.conduct.security import Actor, Permission, require

__all__ = ["list_audit_events"]


def list_audit_events(
    session: Session,
    actor: Actor,
    *,
    trial_id: int | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The latest audit events (newest first), optionally of one trial, before a sequence
    number (for paging)."""
    require(actor, Permission.AUDIT)
    if actor.site_id is not None:
        raise Forbidden("the audit trail holds every site's data: not for site-bound users")
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 500)))
    if trial_id is not None:
        stmt = stmt.where(AuditEvent.trial_id == trial_id)
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.id < before_seq)
    out: list[dict[str, Any]] = []
    for ev in session.scalars(stmt):
        body = json.loads(ev.payload)
        actor_info = body.get("actor") if isinstance(body, dict) else None
        out.append(
            {
                "seq": ev.id,  # the global event number (each chain numbers its own)
                "ts": ev.ts,
                "actor_user_id": ev.actor_user_id,
                "actor_username": ev.actor_username,
                "actor_role": actor_info.get("role") if isinstance(actor_info, dict) else None,
                "trial_id": ev.trial_id,
                "entity_type": ev.entity_type,
                "entity_id": ev.entity_id,
                "action": ev.action,
                "reason": ev.reason,
                "old": body.get("old") if isinstance(body.get("old"), dict) else None,
                "new": body.get("new") if isinstance(body.get("new"), dict) else None,
                "hash": ev.hash,
            }
        )
    return out
