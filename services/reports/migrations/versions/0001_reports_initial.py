"""Reports: the read model (daily rollups per branch, desk and staff member; one row per complaint),
the directory read model and the messaging tables.

Revision ID: reports_0001
Revises:
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from shared.directory_view import create_directory_view_tables
from shared.migrations.messaging import create_messaging_tables, drop_messaging_tables

revision = "reports_0001"
down_revision = None
branch_labels = ("reports",)
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op)
    create_directory_view_tables(op)
    op.create_table(
        "appeal_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(12), primary_key=True),
        sa.Column("filed", sa.Integer, nullable=False),
        sa.Column("upheld", sa.Integer, nullable=False),
        sa.Column("overturned", sa.Integer, nullable=False),
    )
    op.create_table(
        "award_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("granted", sa.Integer, nullable=False),
        sa.Column("granted_amount", sa.Float, nullable=False),
        sa.Column("revoked", sa.Integer, nullable=False),
        sa.Column("revoked_amount", sa.Float, nullable=False),
        sa.Column("pending", sa.Integer, nullable=False),
    )
    op.create_table(
        "complaint_facts",
        sa.Column("complaint_id", sa.String(64), primary_key=True),
        sa.Column("branch_id", sa.String(64), nullable=True),
        sa.Column("staff_id", sa.String(64), nullable=True),
        sa.Column("service_point_id", sa.String(64), nullable=True),
        sa.Column("handler_id", sa.String(64), nullable=True),
        sa.Column("severity", sa.String(10), nullable=True),
        sa.Column("category", sa.String(20), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("filed_day", sa.Date, nullable=True),
        sa.Column("ack_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolve_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(30), nullable=True),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("ack_at_risk", sa.Boolean, nullable=False),
        sa.Column("resolve_at_risk", sa.Boolean, nullable=False),
        sa.Column("ack_breached", sa.Boolean, nullable=False),
        sa.Column("resolve_breached", sa.Boolean, nullable=False),
        sa.Column("ack_breach_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolve_breach_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "desk_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("service_point_id", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("ratings", sa.Integer, nullable=False),
        sa.Column("stars_sum", sa.Integer, nullable=False),
        sa.Column("waits", sa.Integer, nullable=False),
        sa.Column("wait_sum", sa.Integer, nullable=False),
    )
    op.create_table(
        "desk_wait_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("minutes", sa.Integer, primary_key=True),
        sa.Column("waits", sa.Integer, nullable=False),
    )
    op.create_table(
        "evaluation_results",
        sa.Column("evaluation_id", sa.String(64), primary_key=True),
        sa.Column("cycle_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("grade", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
    )
    op.create_index("ix_evaluation_results_staff_id", "evaluation_results", ['staff_id'])
    op.create_table(
        "ledger_entries",
        sa.Column("entry_id", sa.String(80), primary_key=True),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("detail", sa.String(30), nullable=False),
        sa.Column("amount", sa.Float, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason_zh", sa.String(500), nullable=False),
        sa.Column("reason_en", sa.String(500), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
    )
    op.create_index("ix_ledger_entries_staff_id", "ledger_entries", ['staff_id'])
    op.create_table(
        "praise_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("praise", sa.Integer, nullable=False),
    )
    op.create_table(
        "praise_facts",
        sa.Column("praise_id", sa.String(64), primary_key=True),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=True),
        sa.Column("rejected", sa.Boolean, nullable=False),
    )
    op.create_table(
        "requirement_overdue",
        sa.Column("requirement_id", sa.String(64), primary_key=True),
        sa.Column("period", sa.String(20), primary_key=True),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
    )
    op.create_table(
        "sanction_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("level", sa.String(20), primary_key=True),
        sa.Column("issued", sa.Integer, nullable=False),
        sa.Column("revoked", sa.Integer, nullable=False),
    )
    op.create_table(
        "survey_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("user_group", sa.String(50), primary_key=True),
        sa.Column("dimension", sa.String(64), primary_key=True),
        sa.Column("item_code", sa.String(64), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("s_min", sa.Integer, nullable=False),
        sa.Column("s_des", sa.Integer, nullable=False),
        sa.Column("s_per", sa.Integer, nullable=False),
    )
    op.create_table(
        "training_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("completions", sa.Integer, nullable=False),
        sa.Column("hours", sa.Float, nullable=False),
        sa.Column("credit_hours", sa.Float, nullable=False),
    )
    op.create_index("ix_complaint_facts_day_branch", "complaint_facts", ["filed_day", "branch_id"])
    op.create_index("ix_requirement_overdue_day", "requirement_overdue", ["day", "branch_id"])
    op.create_index("ix_evaluation_results_day", "evaluation_results", ["day", "branch_id"])


def downgrade() -> None:
    for table in ['training_daily', 'survey_daily', 'sanction_daily', 'requirement_overdue', 'praise_facts', 'praise_daily', 'ledger_entries', 'evaluation_results', 'desk_wait_daily', 'desk_daily', 'complaint_facts', 'award_daily', 'appeal_daily', 'known_service_points', 'known_branches', 'known_staff']:
        op.drop_table(table)
    drop_messaging_tables(op)
