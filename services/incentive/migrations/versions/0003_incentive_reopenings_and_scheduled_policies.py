"""Incentive: complaint resolutions and reopenings by time, and policy versions withdrawn before
their start.

``complaint_marks`` holds, per complaint, the time of every resolution and reopening seen: a
resolution's decisions stand only while no later resolution or reopening is known, whatever the
order the events arrive in (``services/incentive/handlers.py``). ``policies.withdrawn_at`` marks a
scheduled version withdrawn before its start date (versions are never deleted: their numbers are
not reused, so every process's cache of a version stays true).

Revision ID: incentive_0003
Revises: incentive_0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "incentive_0003"
down_revision = "incentive_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_marks",
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("subject", "kind", "at"),
    )
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("withdrawn_at")
    op.drop_table("complaint_marks")
