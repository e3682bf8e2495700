"""Training: staff members' professional titles (职称), for requirements that follow titles.

Revision ID: training_0003
Revises: training_0002
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "training_0003"
down_revision = "training_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_staff_titles",
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(20), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("training_staff_titles")
