"""Evaluation: the deadline reminders sent (one per cycle and rater).

Revision ID: evaluation_0003
Revises: evaluation_0002
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op

revision = "evaluation_0003"
down_revision = "evaluation_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deadline_reminders",
        sa.Column("cycle_id", sa.String(36), primary_key=True),
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deadline_reminders")
