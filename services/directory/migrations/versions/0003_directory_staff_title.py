"""Directory: a staff member's professional title (职称), optional.

Revision ID: directory_0003
Revises: directory_0002
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "directory_0003"
down_revision = "directory_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("title", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("title")
