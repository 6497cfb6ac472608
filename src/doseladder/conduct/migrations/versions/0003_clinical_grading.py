"""Clinical grading: how an adverse event was graded, efficacy components with a proposed
response, and DLT proposals that an adjudication confirms or overrides.

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dlt_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=True),
        sa.Column("adverse_event_id", sa.Integer(), nullable=True),
        sa.Column("dlt_day", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("assessment", sa.JSON(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_events.id"],
            name=op.f("fk_dlt_proposals_adverse_event_id_adverse_events"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_dlt_proposals_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["users.id"], name=op.f("fk_dlt_proposals_proposed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_dlt_proposals_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dlt_proposals")),
    )
    op.create_index(
        op.f("ix_dlt_proposals_patient_id"), "dlt_proposals", ["patient_id"], unique=False
    )
    op.create_index(op.f("ix_dlt_proposals_trial_id"), "dlt_proposals", ["trial_id"], unique=False)
    op.add_column("adverse_events", sa.Column("grade_scale", sa.String(length=16), nullable=True))
    op.add_column("adverse_events", sa.Column("grading", sa.JSON(), nullable=True))
    op.add_column("efficacy_assessments", sa.Column("components", sa.JSON(), nullable=True))
    op.add_column("efficacy_assessments", sa.Column("assessment", sa.JSON(), nullable=True))
    op.add_column(
        "efficacy_assessments", sa.Column("proposed_responder", sa.Boolean(), nullable=True)
    )
    op.add_column("efficacy_assessments", sa.Column("call", sa.String(length=16), nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite cannot add a foreign key to an existing table: batch mode rebuilds the table,
    # which drops its triggers, so the append-only guards are put back afterwards
    with op.batch_alter_table("dlt_adjudications", recreate="always" if sqlite else "never") as b:
        b.add_column(sa.Column("proposal_id", sa.Integer(), nullable=True))
        b.add_column(sa.Column("call", sa.String(length=16), nullable=True))
        b.create_index(op.f("ix_dlt_adjudications_proposal_id"), ["proposal_id"], unique=False)
        b.create_foreign_key(
            op.f("fk_dlt_adjudications_proposal_id_dlt_proposals"),
            "dlt_proposals",
            ["proposal_id"],
            ["id"],
        )
    if sqlite:
        _guard("dlt_adjudications")
    _guard("dlt_proposals")


def downgrade() -> None:
    _unguard("dlt_proposals")
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("dlt_adjudications", recreate="always" if sqlite else "never") as b:
        b.drop_constraint(
            op.f("fk_dlt_adjudications_proposal_id_dlt_proposals"), type_="foreignkey"
        )
        b.drop_index(op.f("ix_dlt_adjudications_proposal_id"))
        b.drop_column("call")
        b.drop_column("proposal_id")
    if sqlite:
        _guard("dlt_adjudications")
    for table, column in (
        ("efficacy_assessments", "call"),
        ("efficacy_assessments", "proposed_responder"),
        ("efficacy_assessments", "assessment"),
        ("efficacy_assessments", "components"),
        ("adverse_events", "grading"),
        ("adverse_events", "grade_scale"),
    ):
        op.drop_column(table, column)
    op.drop_index(op.f("ix_dlt_proposals_trial_id"), table_name="dlt_proposals")
    op.drop_index(op.f("ix_dlt_proposals_patient_id"), table_name="dlt_proposals")
    op.drop_table("dlt_proposals")


def _guard(table: str) -> None:
    """The append-only guards of 0001 for a new immutable table (no UPDATE, no DELETE)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION doseladder_refuse_change()"
        )
        return
    op.execute(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN "
        f"SELECT RAISE(ABORT, 'doseladder: DELETE on {table} is not allowed "
        "(append-only record)'); END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN "
        f"SELECT RAISE(ABORT, 'doseladder: UPDATE on {table} is not allowed "
        "(append-only record)'); END"
    )


def _unguard(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
