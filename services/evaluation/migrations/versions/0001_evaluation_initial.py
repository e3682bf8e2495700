"""Evaluation: rubrics, settings, cycles, participants, peers, submissions, results, appeals,
reader feedback facts, the directory read model and the messaging tables.

Revision ID: evaluation_0001
Revises:
Create Date: 2026-11-28
"""
import json
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from shared.directory_view import create_directory_view_tables
from shared.migrations.messaging import create_messaging_tables, drop_messaging_tables

revision = "evaluation_0001"
down_revision = None
branch_labels = ("evaluation",)
depends_on = None

# The defaults as they were when this migration was written (later code may change its own).
DEFAULT_DIMENSIONS = [
    {"code": "service_attitude", "label_en": "Service attitude", "label_zh": "服务态度", "weight": "0.30"},
    {"code": "professional_competence", "label_en": "Professional competence", "label_zh": "专业能力",
     "weight": "0.30"},
    {"code": "efficiency", "label_en": "Service efficiency", "label_zh": "服务效率", "weight": "0.20"},
    {"code": "compliance", "label_en": "Compliance with rules", "label_zh": "遵章守纪", "weight": "0.20"},
]


def _time(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    create_messaging_tables(op)
    create_directory_view_tables(op)
    rubrics = op.create_table(
        "rubrics",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False, unique=True),
        sa.Column("dimensions", sa.Text, nullable=False),
        _time("created_at"),
        sa.Column("created_by", sa.String(64), nullable=True),
    )
    op.create_table(
        "evaluation_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        _time("updated_at"),
        sa.Column("updated_by", sa.String(64), nullable=True),
    )
    op.create_table(
        "cycles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("branch_ids", sa.Text, nullable=False),
        sa.Column("rubric_id", sa.String(36), nullable=False),
        sa.Column("rubric_version", sa.Integer, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        _time("submission_deadline"),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        sa.Column("participants", sa.Integer, nullable=False),
        sa.Column("scored", sa.Integer, nullable=False),
        sa.Column("scores_digest", sa.String(64), nullable=True),
        _time("created_at"),
        sa.Column("created_by", sa.String(64), nullable=True),
        _time("opened_at", True), _time("closed_at", True), _time("published_at", True),
    )
    op.create_table(
        "participants",
        sa.Column("cycle_id", sa.String(36), primary_key=True),
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
    )
    op.create_index("ix_participants_branch", "participants", ["cycle_id", "branch_id"])
    op.create_table(
        "peer_assignments",
        sa.Column("cycle_id", sa.String(36), primary_key=True),
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("peer_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_peer_assignments_rater", "peer_assignments", ["cycle_id", "peer_id"])
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("cycle_id", sa.String(36), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("rater_type", sa.String(10), nullable=False),
        sa.Column("rater_id", sa.String(64), nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("comments", sa.Text, nullable=False),
        _time("submitted_at"), _time("updated_at"),
        sa.UniqueConstraint("cycle_id", "staff_id", "rater_type", "rater_id", name="uq_submissions_rater"),
    )
    op.create_index("ix_submissions_rater", "submissions", ["cycle_id", "rater_id"])
    op.create_table(
        "results",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("cycle_id", sa.String(36), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False, index=True),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("score", sa.String(10), nullable=True),
        sa.Column("grade", sa.String(20), nullable=True),
        sa.Column("dimension_scores", sa.Text, nullable=False),
        sa.Column("components", sa.Text, nullable=False),
        sa.Column("components_used", sa.Text, nullable=False),
        sa.Column("components_missing", sa.Text, nullable=False),
        sa.Column("reader_inputs", sa.Text, nullable=False),
        sa.Column("rank_in_branch", sa.Integer, nullable=True),
        sa.Column("branch_participants", sa.Integer, nullable=True),
        sa.Column("percentile_in_branch", sa.String(10), nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("status", sa.String(15), nullable=False),
        _time("computed_at"), _time("published_at", True), _time("acknowledged_at", True),
        sa.UniqueConstraint("cycle_id", "staff_id", name="uq_results_cycle_staff"),
    )
    op.create_index("ix_results_cycle_branch", "results", ["cycle_id", "branch_id"])
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("evaluation_id", sa.String(36), nullable=False, index=True),
        sa.Column("cycle_id", sa.String(36), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _time("filed_at"),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        _time("decided_at", True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decision_reason", sa.Text, nullable=True),
        sa.Column("previous_score", sa.String(10), nullable=True),
        sa.Column("previous_grade", sa.String(20), nullable=True),
        sa.Column("new_score", sa.String(10), nullable=True),
        sa.Column("new_grade", sa.String(20), nullable=True),
        sa.Column("revision", sa.Integer, nullable=True),
    )
    op.create_table(
        "reader_facts",
        sa.Column("kind", sa.String(10), primary_key=True),
        sa.Column("ref_id", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(64), nullable=True),
        sa.Column("branch_id", sa.String(64), nullable=False),
        _time("occurred_at", True),
        sa.Column("stars", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(30), nullable=True),
        sa.Column("severity", sa.String(10), nullable=True),
        sa.Column("rejected", sa.Boolean, nullable=False),
        _time("reopened_at", True),
        _time("recorded_at"),
    )
    op.create_index("ix_reader_facts_staff_time", "reader_facts", ["staff_id", "occurred_at"])
    # Version 1 of the rubric: the four dimensions of the regulation.
    now = datetime.now(timezone.utc)
    op.bulk_insert(rubrics, [{"id": str(uuid.uuid4()), "version": 1, "created_at": now, "created_by": None,
                              "dimensions": json.dumps(DEFAULT_DIMENSIONS, ensure_ascii=False,
                                                       sort_keys=True, separators=(",", ":"))}])


def downgrade() -> None:
    for table in ("reader_facts", "appeals", "results", "submissions", "peer_assignments", "participants",
                  "cycles", "evaluation_settings", "rubrics", "known_service_points", "known_branches",
                  "known_staff"):
        op.drop_table(table)
    drop_messaging_tables(op)
