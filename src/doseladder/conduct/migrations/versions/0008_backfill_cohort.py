"""Backfill cohorts: ``enrolments.cohort`` (``escalation`` | ``backfill``).

Nullable: enrolments entered before the revision read as escalation enrolments (``NULL``), so
those rows still match what the audit trail recorded for them (as ``trials.sandbox`` in 0005).
Plain ALTER TABLE ADD COLUMN on both backends (no table rebuild: the append-only triggers of
0001 stay).

Revision ID: 0008
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("enrolments", sa.Column("cohort", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("enrolments", "cohort")
