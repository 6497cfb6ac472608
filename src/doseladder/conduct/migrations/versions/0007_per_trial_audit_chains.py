"""Per-trial audit chains: ``audit_events`` gets a global ``id`` and a ``chain`` (``seq`` is
now the position in the chain), ``audit_signatures`` a ``chain``, and the single-row
``audit_head`` becomes ``audit_chain_heads`` (one row per chain).

Events written before this migration stay valid as they are: they form the frozen
``"legacy"`` chain (their ``seq`` and payload are unchanged, so their hashes and signatures
still verify); new events go to the chain of their trial or to the ``"global"`` chain.

``audit_events`` and ``audit_signatures`` are append-only (triggers refuse UPDATE), so they are
rebuilt (copied, dropped, re-created, triggers re-created) rather than updated in place.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY = "legacy"
_EVENT_DATA = (
    "ts, actor_user_id, actor_username, trial_id, entity_type, entity_id, action, reason, "
    "payload, prev_hash, hash"
)


def _dialect() -> str:
    return str(op.get_bind().dialect.name)


def _guard(table: str, updates: bool) -> None:
    """The append-only triggers of 0001/0002 (UPDATE and DELETE refused)."""
    if _dialect() == "postgresql":
        ops = "UPDATE OR DELETE" if updates else "DELETE"
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE {ops} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION doseladder_refuse_change()"
        )
        return
    for what in ("UPDATE", "DELETE") if updates else ("DELETE",):
        op.execute(
            f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} BEGIN "
            f"SELECT RAISE(ABORT, 'doseladder: {what} on {table} is not allowed "
            "(append-only record)'); END"
        )


def _stash(table: str) -> None:
    """Copy ``table`` to ``<table>_old`` (no constraints) and drop it (its triggers go too)."""
    op.execute(f"CREATE TABLE {table}_old AS SELECT * FROM {table}")
    op.drop_table(table)


def _event_columns(new: bool) -> list[sa.Column[object]]:
    lead: list[sa.Column[object]] = (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("chain", sa.String(length=32), nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
        ]
        if new
        else [sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False)]
    )
    return [
        *lead,
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=True),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
    ]


def _create_events(new: bool) -> None:
    extra: list[Any] = (
        [
            sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
            sa.UniqueConstraint("chain", "seq", name=op.f("uq_audit_events_chain_seq")),
        ]
        if new
        else [sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events"))]
    )
    op.create_table(
        "audit_events",
        *_event_columns(new),
        *extra,
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    op.create_index(
        op.f("ix_audit_events_entity_type_entity_id"),
        "audit_events",
        ["entity_type", "entity_id"],
        unique=False,
    )
    op.create_index(op.f("ix_audit_events_trial_id"), "audit_events", ["trial_id"], unique=False)


def _create_signatures(new: bool) -> None:
    cols: list[sa.Column[object]] = [sa.Column("id", sa.Integer(), nullable=False)]
    if new:
        cols.append(sa.Column("chain", sa.String(length=32), nullable=False))
    cols += [
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
    ]
    unique = (
        sa.UniqueConstraint("chain", "last_seq", name=op.f("uq_audit_signatures_chain_last_seq"))
        if new
        else sa.UniqueConstraint("last_seq", name=op.f("uq_audit_signatures_last_seq"))
    )
    op.create_table(
        "audit_signatures",
        *cols,
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_signatures")),
        unique,
    )


def _reset_sequence(table: str) -> None:
    if _dialect() == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def upgrade() -> None:
    _stash("audit_events")
    _create_events(new=True)
    op.execute(
        f"INSERT INTO audit_events (id, chain, seq, {_EVENT_DATA}) "
        f"SELECT seq, '{LEGACY}', seq, {_EVENT_DATA} FROM audit_events_old"
    )
    op.drop_table("audit_events_old")
    _reset_sequence("audit_events")
    _guard("audit_events", updates=True)

    _stash("audit_signatures")
    _create_signatures(new=True)
    op.execute(
        "INSERT INTO audit_signatures (id, chain, first_seq, last_seq, head_hash, key_id, "
        f"signature, signed_at) SELECT id, '{LEGACY}', first_seq, last_seq, head_hash, key_id, "
        "signature, signed_at FROM audit_signatures_old"
    )
    op.drop_table("audit_signatures_old")
    _reset_sequence("audit_signatures")
    _guard("audit_signatures", updates=True)

    op.create_table(
        "audit_chain_heads",
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chain_heads")),
    )
    op.execute(
        f"INSERT INTO audit_chain_heads (chain, seq, hash, updated_at) "
        f"SELECT '{LEGACY}', seq, hash, updated_at FROM audit_head WHERE id = 1 AND seq > 0"
    )
    op.drop_table("audit_head")


def downgrade() -> None:
    bind = op.get_bind()
    newer = bind.execute(
        sa.text(f"SELECT COUNT(*) FROM audit_events WHERE chain <> '{LEGACY}'")
    ).scalar()
    if newer:
        raise RuntimeError(
            f"cannot downgrade below 0007: {newer} audit event(s) are in per-trial chains, "
            "which the single global chain cannot hold without rewriting them"
        )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.execute(
        "INSERT INTO audit_head (id, seq, hash, updated_at) "
        f"SELECT 1, seq, hash, updated_at FROM audit_chain_heads WHERE chain = '{LEGACY}'"
    )
    op.execute(
        "INSERT INTO audit_head (id, seq, hash) SELECT 1, 0, '"
        + "0" * 64
        + "' WHERE NOT EXISTS (SELECT 1 FROM audit_head)"
    )
    op.drop_table("audit_chain_heads")

    _stash("audit_signatures")
    _create_signatures(new=False)
    op.execute(
        "INSERT INTO audit_signatures (id, first_seq, last_seq, head_hash, key_id, signature, "
        "signed_at) SELECT id, first_seq, last_seq, head_hash, key_id, signature, signed_at "
        "FROM audit_signatures_old"
    )
    op.drop_table("audit_signatures_old")
    _reset_sequence("audit_signatures")
    _guard("audit_signatures", updates=True)

    _stash("audit_events")
    _create_events(new=False)
    op.execute(
        f"INSERT INTO audit_events (seq, {_EVENT_DATA}) SELECT seq, {_EVENT_DATA} "
        "FROM audit_events_old ORDER BY seq"
    )
    op.drop_table("audit_events_old")
    _guard("audit_events", updates=True)
