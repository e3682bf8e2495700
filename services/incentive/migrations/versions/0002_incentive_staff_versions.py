"""Incentive: a version per staff member, bumped by every change to their ladder state.

A worker keeps people's ladder history (facts, sanctions, training watches) in memory between
batches and reuses it only while this version is the one it read (``services/incentive/unit.py``).

Revision ID: incentive_0002
Revises: incentive_0001
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "incentive_0002"
down_revision = "incentive_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_versions",
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("staff_id"),
    )


def downgrade() -> None:
    op.drop_table("staff_versions")
