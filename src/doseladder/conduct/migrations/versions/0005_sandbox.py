"""Sandbox trials: ``trials.sandbox`` and ``trials.clock_offset_days``.

Both are nullable: trials created before the revision read as real trials with the real clock
(``NULL``), so the rows still match what the audit trail recorded for them.

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ALTER TABLE ADD COLUMN on both backends (no table rebuild: the triggers stay)
    op.add_column("trials", sa.Column("sandbox", sa.Boolean(), nullable=True))
    op.add_column("trials", sa.Column("clock_offset_days", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("trials", "clock_offset_days")
    op.drop_column("trials", "sandbox")
