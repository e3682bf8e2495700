"""Training: courses, sessions, enrolments, completions, external activities, requirements,
notices, policy; the messaging tables and the directory read model.

Revision ID: training_0001
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from shared.directory_view import create_directory_view_tables
from shared.migrations.messaging import create_messaging_tables, drop_messaging_tables

revision = "training_0001"
down_revision = None
branch_labels = ("training",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_messaging_tables(op)
    create_directory_view_tables(op)
    op.create_table(
        "courses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("description_zh", sa.Text, nullable=True),
        sa.Column("description_en", sa.Text, nullable=True),
        sa.Column("competency_area", sa.String(40), nullable=False),
        sa.Column("hours", sa.Float, nullable=False),
        sa.Column("mandatory", sa.Boolean, nullable=False),
        sa.Column("delivery", sa.String(10), nullable=False),
        sa.Column("validity_months", sa.Integer, nullable=True),
        sa.Column("pass_mark", sa.Float, nullable=True),
        sa.Column("remedial_for", sa.String(40), nullable=True),
        sa.Column("is_regulation", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("version_notes", sa.String(500), nullable=True),
        sa.Column("version_published_on", sa.Date, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "training_sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("courses.id"), nullable=False, index=True),
        sa.Column("course_version", sa.Integer, nullable=False),
        sa.Column("branch_id", sa.String(64), nullable=True, index=True),
        sa.Column("starts_at", TS, nullable=False, index=True),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("place", sa.String(300), nullable=True),
        sa.Column("link", sa.String(500), nullable=True),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("trainer_staff_id", sa.String(64), nullable=True),
        sa.Column("trainer_name", sa.String(100), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36), sa.ForeignKey("training_sessions.id"), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False, index=True),
        sa.Column("branch_id", sa.String(64), nullable=False, index=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("promoted_at", TS, nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=True),
        sa.Column("recorded_at", TS, nullable=True),
        sa.Column("completion_id", sa.String(36), nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("cancel_reason", sa.String(200), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("session_id", "staff_id", name="uq_enrolment_session_staff"),
    )
    op.create_table(
        "completions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("branch_id", sa.String(64), nullable=False, index=True),
        sa.Column("staff_name", sa.String(100), nullable=True),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("course_id", sa.String(36), nullable=True),
        sa.Column("course_version", sa.Integer, nullable=True),
        sa.Column("external_activity_id", sa.String(36), nullable=True),
        sa.Column("enrolment_id", sa.String(36), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("title_zh", sa.String(300), nullable=True),
        sa.Column("competency_area", sa.String(40), nullable=True),
        sa.Column("hours", sa.Float, nullable=False),
        sa.Column("credit_hours", sa.Float, nullable=False),
        sa.Column("completed_on", sa.Date, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=True),
        sa.Column("certificate_code", sa.String(20), nullable=True, unique=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_completions_staff_year", "completions", ["staff_id", "year"])
    op.create_table(
        "external_activities",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("staff_id", sa.String(64), nullable=False, index=True),
        sa.Column("branch_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("organiser", sa.String(200), nullable=False),
        sa.Column("activity_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=True),
        sa.Column("hours", sa.Float, nullable=False),
        sa.Column("competency_area", sa.String(40), nullable=True),
        sa.Column("evidence_note", sa.Text, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_note", sa.String(500), nullable=True),
        sa.Column("credit_hours", sa.Float, nullable=True),
        sa.Column("completion_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "requirements",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("dedup_key", sa.String(200), nullable=False, unique=True),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("course_id", sa.String(36), nullable=True),
        sa.Column("course_version", sa.Integer, nullable=True),
        sa.Column("area", sa.String(40), nullable=True),
        sa.Column("required_hours", sa.Float, nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("title_zh", sa.String(300), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("reason_zh", sa.String(500), nullable=True),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("assigned_at", TS, nullable=False),
        sa.Column("completed_on", sa.Date, nullable=True),
        sa.Column("completion_id", sa.String(36), nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("caused_by", sa.Text, nullable=True),
    )
    op.create_index("ix_requirements_status_due", "requirements", ["status", "due_on"])
    op.create_index("ix_requirements_staff_status", "requirements", ["staff_id", "status"])
    op.create_index("ix_requirements_branch_period", "requirements", ["branch_id", "period"])
    op.create_table(
        "requirement_notices",
        sa.Column("requirement_id", sa.String(36), nullable=False),
        sa.Column("notice", sa.String(10), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("requirement_id", "notice", "period"),
    )
    op.create_table(
        "training_policy",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=True),
    )


def downgrade() -> None:
    for table in ("training_policy", "requirement_notices", "requirements", "external_activities",
                  "completions", "enrolments", "training_sessions", "courses",
                  "known_service_points", "known_branches", "known_staff"):
        op.drop_table(table)
    drop_messaging_tables(op)
