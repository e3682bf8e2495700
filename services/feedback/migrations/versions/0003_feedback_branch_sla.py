"""Feedback: SLA targets per branch, overriding the network's for the severities a branch sets.

Revision ID: feedback_0003
Revises: feedback_0002
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "feedback_0003"
down_revision = "feedback_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "branch_sla_policy",
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("severity", sa.String(10), primary_key=True),
        sa.Column("acknowledge_minutes", sa.Integer, nullable=False),
        sa.Column("resolve_minutes", sa.Integer, nullable=False),
        sa.Column("business_hours", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("branch_sla_policy")
