"""Lymphodepletion administrations: ``lymphodepletion_doses`` (a versioned clinical record,
append-only like the other clinical records: triggers as in 0001).

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "lymphodepletion_doses"


def _fk(col: str, ref: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([col], [f"{ref}.id"], name=op.f(f"fk_{TABLE}_{col}_{ref}"))


def upgrade() -> None:
    t = TABLE
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("change_reason", sa.Text(), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("agent", sa.String(length=100), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("dose", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _fk("entered_by_id", "users"),
        _fk("patient_id", "patients"),
        _fk("root_id", t),
        _fk("supersedes_id", t),
        _fk("trial_id", "trials"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("supersedes_id", name=op.f(f"uq_{t}_supersedes_id")),
    )
    for col in ("patient_id", "root_id", "trial_id"):
        op.create_index(op.f(f"ix_{t}_{col}"), t, [col], unique=False)
    _create_guards()


def downgrade() -> None:
    _drop_guards()
    for col in ("patient_id", "root_id", "trial_id"):
        op.drop_index(op.f(f"ix_{TABLE}_{col}"), table_name=TABLE)
    op.drop_table(TABLE)


def _create_guards() -> None:
    """Append-only: no UPDATE, no DELETE (the PostgreSQL function is 0001's)."""
    t = TABLE
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
            "FOR EACH ROW EXECUTE FUNCTION doseladder_refuse_change()"
        )
        return
    for what in ("DELETE", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER {t}_no_{what.lower()} BEFORE {what} ON {t} BEGIN "
            f"SELECT RAISE(ABORT, 'doseladder: {what} on {t} is not allowed "
            "(append-only record)'); END"
        )


def _drop_guards() -> None:
    t = TABLE
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {t}_no_delete")
    op.execute(f"DROP TRIGGER IF EXISTS {t}_no_update")
