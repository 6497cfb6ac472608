"""Four-eyes governance: electronic signatures, signed final selections, opening
acknowledgements; dose decisions record the signatures they need and an override's written
justification.  The new tables are append-only (triggers as in 0001).

Revision ID: 0004
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("electronic_signatures", "final_selections", "opening_acknowledgements")


def _fk(table: str, col: str, ref: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([col], [f"{ref}.id"], name=op.f(f"fk_{table}_{col}_{ref}"))


def upgrade() -> None:
    t = "electronic_signatures"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("meaning", sa.String(length=16), nullable=False),
        sa.Column("printed_name", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=False),
        _fk(t, "signed_by_id", "users"),
        _fk(t, "trial_id", "trials"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint(
            "subject_type",
            "subject_id",
            "signed_by_id",
            name=op.f(f"uq_{t}_subject_type_subject_id_signed_by_id"),
        ),
    )
    op.create_index(op.f(f"ix_{t}_trial_id"), t, ["trial_id"], unique=False)
    t = "final_selections"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("indication", sa.String(length=64), nullable=True),
        sa.Column("protocol_version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("dose_level", sa.Integer(), nullable=True),
        sa.Column("dose_label", sa.String(length=64), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("engine_version", sa.String(length=32), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_by_id", sa.Integer(), nullable=True),
        _fk(t, "computed_by_id", "users"),
        _fk(t, "protocol_version_id", "protocol_versions"),
        _fk(t, "trial_id", "trials"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_trial_id"), t, ["trial_id"], unique=False)
    t = "opening_acknowledgements"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("protocol_version_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=False),
        _fk(t, "acknowledged_by_id", "users"),
        _fk(t, "protocol_version_id", "protocol_versions"),
        _fk(t, "trial_id", "trials"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint(
            "protocol_version_id",
            "item",
            "role",
            name=op.f(f"uq_{t}_protocol_version_id_item_role"),
        ),
    )
    op.create_index(op.f(f"ix_{t}_trial_id"), t, ["trial_id"], unique=False)
    op.add_column("dose_decisions", sa.Column("signatures_required", sa.Integer(), nullable=True))
    op.add_column("dose_decisions", sa.Column("justification", sa.Text(), nullable=True))
    _create_guards()


def downgrade() -> None:
    _drop_guards()
    with op.batch_alter_table("dose_decisions") as batch:
        batch.drop_column("justification")
        batch.drop_column("signatures_required")
    for t in reversed(NEW_TABLES):
        op.drop_index(op.f(f"ix_{t}_trial_id"), table_name=t)
        op.drop_table(t)


def _create_guards() -> None:
    """The new tables are immutable: no UPDATE, no DELETE (the function is 0001's)."""
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION doseladder_refuse_change()"
            )
        return
    for table in NEW_TABLES:
        for what in ("DELETE", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'doseladder: {what} on {table} is not allowed "
                "(append-only record)'); END"
            )


def _drop_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        return
    for table in NEW_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
