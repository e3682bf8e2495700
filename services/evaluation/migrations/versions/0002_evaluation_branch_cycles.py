"""Evaluation: branch-level cycles (their owner and the branches a cycle covers) and the event ids
that published scores cite in ``caused_by``.

Revision ID: evaluation_0002
Revises: evaluation_0001
Create Date: 2026-12-03
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0002"
down_revision = "evaluation_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cycles", sa.Column("owner_branch_id", sa.String(64), nullable=True))
    op.add_column("cycles", sa.Column("closed_event_id", sa.String(36), nullable=True))
    op.add_column("results", sa.Column("event_id", sa.String(36), nullable=True))
    cycle_branches = op.create_table(
        "cycle_branches",
        sa.Column("cycle_id", sa.String(36), primary_key=True),
        sa.Column("branch_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_cycle_branches_branch", "cycle_branches", ["branch_id"])
    # the branches of the cycles that exist, from their JSON list
    rows = op.get_bind().execute(sa.text("SELECT id, branch_ids FROM cycles")).all()
    values = [{"cycle_id": cycle_id, "branch_id": branch_id}
              for cycle_id, text in rows for branch_id in sorted(set(json.loads(text or "[]")))]
    if values:
        op.bulk_insert(cycle_branches, values)


def downgrade() -> None:
    op.drop_index("ix_cycle_branches_branch", table_name="cycle_branches")
    op.drop_table("cycle_branches")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("event_id")
    with op.batch_alter_table("cycles") as batch:
        batch.drop_column("closed_event_id")
        batch.drop_column("owner_branch_id")
