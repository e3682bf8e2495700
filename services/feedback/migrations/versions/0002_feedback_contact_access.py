"""Feedback: a record of every read of a reader's contact details by another service.

Revision ID: feedback_0002
Revises: feedback_0001
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "feedback_0002"
down_revision = "feedback_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_contact_access",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.String(36), nullable=False, index=True),
        sa.Column("accessed_by", sa.String(100), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("found", sa.Boolean, nullable=False),
        sa.Column("accessed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("complaint_contact_access")
