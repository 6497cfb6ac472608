"""Initial schema: trials, protocol versions, sites, users, tokens, patients, clinical
records, dose decisions, sign-offs, and the hash-chained audit trail (with append-only
triggers and the genesis chain head).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
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
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    op.create_index(
        op.f("ix_audit_events_entity_type_entity_id"),
        "audit_events",
        ["entity_type", "entity_id"],
        unique=False,
    )
    op.create_index(op.f("ix_audit_events_trial_id"), "audit_events", ["trial_id"], unique=False)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("code", name=op.f("uq_sites_code")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_users_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_users_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_site_id"), "users", ["site_id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_api_tokens_token_digest")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("epoch", sa.Date(), nullable=False),
        sa.Column("require_signoff_for_escalation", sa.Boolean(), nullable=False),
        sa.Column("dlt_window_days", sa.Float(), nullable=True),
        sa.Column("efficacy_window_days", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_trials_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trials")),
        sa.UniqueConstraint("code", name=op.f("uq_trials_code")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("indication", sa.String(length=64), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["registered_by_id"], ["users.id"], name=op.f("fk_patients_registered_by_id_users")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_patients_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_patients_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("trial_id", "study_id", name=op.f("uq_patients_trial_id_study_id")),
    )
    op.create_index(op.f("ix_patients_site_id"), "patients", ["site_id"], unique=False)
    op.create_index(op.f("ix_patients_trial_id"), "patients", ["trial_id"], unique=False)
    op.create_table(
        "protocol_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=True),
        sa.Column("source_text", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("amendment", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_protocol_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_protocol_versions_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_versions")),
        sa.UniqueConstraint(
            "trial_id", "version", name=op.f("uq_protocol_versions_trial_id_version")
        ),
    )
    op.create_index(
        op.f("ix_protocol_versions_trial_id"), "protocol_versions", ["trial_id"], unique=False
    )
    op.create_table(
        "trial_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activated_by_id"], ["users.id"], name=op.f("fk_trial_sites_activated_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_trial_sites_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_trial_sites_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_sites")),
        sa.UniqueConstraint("trial_id", "site_id", name=op.f("uq_trial_sites_trial_id_site_id")),
    )
    op.create_index(op.f("ix_trial_sites_site_id"), "trial_sites", ["site_id"], unique=False)
    op.create_index(op.f("ix_trial_sites_trial_id"), "trial_sites", ["trial_id"], unique=False)
    op.create_table(
        "adverse_events",
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
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("resolved_date", sa.Date(), nullable=True),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("relatedness", sa.String(length=20), nullable=True),
        sa.Column("dlt_candidate", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["users.id"], name=op.f("fk_adverse_events_entered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_adverse_events_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["root_id"],
            ["adverse_events.id"],
            name=op.f("fk_adverse_events_root_id_adverse_events"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["adverse_events.id"],
            name=op.f("fk_adverse_events_supersedes_id_adverse_events"),
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_adverse_events_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_adverse_events_supersedes_id")),
    )
    op.create_index(
        op.f("ix_adverse_events_patient_id"), "adverse_events", ["patient_id"], unique=False
    )
    op.create_index(op.f("ix_adverse_events_root_id"), "adverse_events", ["root_id"], unique=False)
    op.create_index(
        op.f("ix_adverse_events_trial_id"), "adverse_events", ["trial_id"], unique=False
    )
    op.create_table(
        "dose_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("indication", sa.String(length=64), nullable=True),
        sa.Column("protocol_version_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_dose", sa.Integer(), nullable=True),
        sa.Column("next_dose", sa.Integer(), nullable=True),
        sa.Column("dose_label", sa.String(length=64), nullable=True),
        sa.Column("recommended_status", sa.String(length=16), nullable=False),
        sa.Column("recommended_dose", sa.Integer(), nullable=True),
        sa.Column("eliminated", sa.JSON(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("requires_signoff", sa.Boolean(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision_day", sa.Float(), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("engine_version", sa.String(length=32), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_versions.id"],
            name=op.f("fk_dose_decisions_protocol_version_id_protocol_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_dose_decisions_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_dose_decisions_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_decisions")),
        sa.UniqueConstraint("trial_id", "seq", name=op.f("uq_dose_decisions_trial_id_seq")),
    )
    op.create_index(
        op.f("ix_dose_decisions_trial_id"), "dose_decisions", ["trial_id"], unique=False
    )
    op.create_table(
        "efficacy_assessments",
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
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("responder", sa.Boolean(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["users.id"],
            name=op.f("fk_efficacy_assessments_entered_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_efficacy_assessments_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["root_id"],
            ["efficacy_assessments.id"],
            name=op.f("fk_efficacy_assessments_root_id_efficacy_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["efficacy_assessments.id"],
            name=op.f("fk_efficacy_assessments_supersedes_id_efficacy_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_efficacy_assessments_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_efficacy_assessments")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_efficacy_assessments_supersedes_id")),
    )
    op.create_index(
        op.f("ix_efficacy_assessments_patient_id"),
        "efficacy_assessments",
        ["patient_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_efficacy_assessments_root_id"), "efficacy_assessments", ["root_id"], unique=False
    )
    op.create_index(
        op.f("ix_efficacy_assessments_trial_id"), "efficacy_assessments", ["trial_id"], unique=False
    )
    op.create_table(
        "screening_results",
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
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["users.id"], name=op.f("fk_screening_results_entered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_screening_results_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["root_id"],
            ["screening_results.id"],
            name=op.f("fk_screening_results_root_id_screening_results"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["screening_results.id"],
            name=op.f("fk_screening_results_supersedes_id_screening_results"),
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_screening_results_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_results")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_screening_results_supersedes_id")),
    )
    op.create_index(
        op.f("ix_screening_results_patient_id"), "screening_results", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_screening_results_root_id"), "screening_results", ["root_id"], unique=False
    )
    op.create_index(
        op.f("ix_screening_results_trial_id"), "screening_results", ["trial_id"], unique=False
    )
    op.create_table(
        "committee_signoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["dose_decisions.id"],
            name=op.f("fk_committee_signoffs_decision_id_dose_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["users.id"], name=op.f("fk_committee_signoffs_signed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_committee_signoffs_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_signoffs")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_committee_signoffs_decision_id")),
    )
    op.create_index(
        op.f("ix_committee_signoffs_trial_id"), "committee_signoffs", ["trial_id"], unique=False
    )
    op.create_table(
        "dlt_adjudications",
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
        sa.Column("adverse_event_id", sa.Integer(), nullable=True),
        sa.Column("is_dlt", sa.Boolean(), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_events.id"],
            name=op.f("fk_dlt_adjudications_adverse_event_id_adverse_events"),
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["users.id"], name=op.f("fk_dlt_adjudications_entered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_dlt_adjudications_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["root_id"],
            ["dlt_adjudications.id"],
            name=op.f("fk_dlt_adjudications_root_id_dlt_adjudications"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["dlt_adjudications.id"],
            name=op.f("fk_dlt_adjudications_supersedes_id_dlt_adjudications"),
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_dlt_adjudications_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dlt_adjudications")),
        sa.UniqueConstraint(
            "adverse_event_id",
            "version",
            name=op.f("uq_dlt_adjudications_adverse_event_id_version"),
        ),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_dlt_adjudications_supersedes_id")),
    )
    op.create_index(
        op.f("ix_dlt_adjudications_adverse_event_id"),
        "dlt_adjudications",
        ["adverse_event_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_dlt_adjudications_patient_id"), "dlt_adjudications", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_dlt_adjudications_root_id"), "dlt_adjudications", ["root_id"], unique=False
    )
    op.create_index(
        op.f("ix_dlt_adjudications_trial_id"), "dlt_adjudications", ["trial_id"], unique=False
    )
    op.create_table(
        "enrolments",
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
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("indication", sa.String(length=64), nullable=True),
        sa.Column("dose_level", sa.Integer(), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("infusion_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["dose_decisions.id"],
            name=op.f("fk_enrolments_decision_id_dose_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["users.id"], name=op.f("fk_enrolments_entered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_enrolments_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["root_id"], ["enrolments.id"], name=op.f("fk_enrolments_root_id_enrolments")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["enrolments.id"],
            name=op.f("fk_enrolments_supersedes_id_enrolments"),
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_enrolments_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint(
            "decision_id", "slot", "version", name=op.f("uq_enrolments_decision_id_slot_version")
        ),
        sa.UniqueConstraint("patient_id", "version", name=op.f("uq_enrolments_patient_id_version")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_enrolments_supersedes_id")),
    )
    op.create_index(op.f("ix_enrolments_decision_id"), "enrolments", ["decision_id"], unique=False)
    op.create_index(op.f("ix_enrolments_patient_id"), "enrolments", ["patient_id"], unique=False)
    op.create_index(op.f("ix_enrolments_root_id"), "enrolments", ["root_id"], unique=False)
    op.create_index(op.f("ix_enrolments_trial_id"), "enrolments", ["trial_id"], unique=False)

    _seed_audit_head()
    _create_guards()


def downgrade() -> None:
    _drop_guards()
    op.drop_index(op.f("ix_enrolments_trial_id"), table_name="enrolments")
    op.drop_index(op.f("ix_enrolments_root_id"), table_name="enrolments")
    op.drop_index(op.f("ix_enrolments_patient_id"), table_name="enrolments")
    op.drop_index(op.f("ix_enrolments_decision_id"), table_name="enrolments")
    op.drop_table("enrolments")
    op.drop_index(op.f("ix_dlt_adjudications_trial_id"), table_name="dlt_adjudications")
    op.drop_index(op.f("ix_dlt_adjudications_root_id"), table_name="dlt_adjudications")
    op.drop_index(op.f("ix_dlt_adjudications_patient_id"), table_name="dlt_adjudications")
    op.drop_index(op.f("ix_dlt_adjudications_adverse_event_id"), table_name="dlt_adjudications")
    op.drop_table("dlt_adjudications")
    op.drop_index(op.f("ix_committee_signoffs_trial_id"), table_name="committee_signoffs")
    op.drop_table("committee_signoffs")
    op.drop_index(op.f("ix_screening_results_trial_id"), table_name="screening_results")
    op.drop_index(op.f("ix_screening_results_root_id"), table_name="screening_results")
    op.drop_index(op.f("ix_screening_results_patient_id"), table_name="screening_results")
    op.drop_table("screening_results")
    op.drop_index(op.f("ix_efficacy_assessments_trial_id"), table_name="efficacy_assessments")
    op.drop_index(op.f("ix_efficacy_assessments_root_id"), table_name="efficacy_assessments")
    op.drop_index(op.f("ix_efficacy_assessments_patient_id"), table_name="efficacy_assessments")
    op.drop_table("efficacy_assessments")
    op.drop_index(op.f("ix_dose_decisions_trial_id"), table_name="dose_decisions")
    op.drop_table("dose_decisions")
    op.drop_index(op.f("ix_adverse_events_trial_id"), table_name="adverse_events")
    op.drop_index(op.f("ix_adverse_events_root_id"), table_name="adverse_events")
    op.drop_index(op.f("ix_adverse_events_patient_id"), table_name="adverse_events")
    op.drop_table("adverse_events")
    op.drop_index(op.f("ix_trial_sites_trial_id"), table_name="trial_sites")
    op.drop_index(op.f("ix_trial_sites_site_id"), table_name="trial_sites")
    op.drop_table("trial_sites")
    op.drop_index(op.f("ix_protocol_versions_trial_id"), table_name="protocol_versions")
    op.drop_table("protocol_versions")
    op.drop_index(op.f("ix_patients_trial_id"), table_name="patients")
    op.drop_index(op.f("ix_patients_site_id"), table_name="patients")
    op.drop_table("patients")
    op.drop_table("trials")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_users_site_id"), table_name="users")
    op.drop_table("users")
    op.drop_table("sites")
    op.drop_table("audit_head")
    op.drop_index(op.f("ix_audit_events_trial_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_entity_type_entity_id"), table_name="audit_events")
    op.drop_table("audit_events")


# --------------------------------------------------------------- append-only guards
IMMUTABLE_TABLES = (
    "protocol_versions",
    "screening_results",
    "enrolments",
    "adverse_events",
    "efficacy_assessments",
    "dlt_adjudications",
    "dose_decisions",
    "committee_signoffs",
    "audit_events",
)
UNDELETABLE_TABLES = (
    "sites",
    "users",
    "api_tokens",
    "trials",
    "trial_sites",
    "patients",
    *IMMUTABLE_TABLES,
)


def _seed_audit_head() -> None:
    head = sa.table(
        "audit_head",
        sa.column("id", sa.Integer),
        sa.column("seq", sa.Integer),
        sa.column("hash", sa.String),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def _create_guards() -> None:
    """Database triggers refusing UPDATE of immutable rows and DELETE of any record."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION doseladder_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'doseladder: % on % is not allowed (append-only record)',
                    TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in UNDELETABLE_TABLES:
            ops = "UPDATE OR DELETE" if table in IMMUTABLE_TABLES else "DELETE"
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE {ops} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION doseladder_refuse_change()"
            )
        return
    for table in UNDELETABLE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN "
            f"SELECT RAISE(ABORT, 'doseladder: DELETE on {table} is not allowed "
            "(append-only record)'); END"
        )
        if table in IMMUTABLE_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'doseladder: UPDATE on {table} is not allowed "
                "(append-only record)'); END"
            )


def _drop_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in UNDELETABLE_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS doseladder_refuse_change()")
        return
    for table in UNDELETABLE_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
