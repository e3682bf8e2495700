"""Feedback: complaints, praise, ratings, surveys, forums, SLA policy, opening hours; messaging
tables, the directory read model, and the seeds (default SLA policy, default questionnaire).

Revision ID: feedback_0001
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

revision = "feedback_0001"
down_revision = None
branch_labels = ("feedback",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_TS = dict(timezone=True)


def _ts(name, nullable=True):
    return sa.Column(name, sa.DateTime(**_TS), nullable=nullable)


def upgrade() -> None:
    create_messaging_tables(op)
    create_directory_view_tables(op)
    op.create_table(
        "complaints",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tracking_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("branch_id", sa.String(64), nullable=False, index=True),
        sa.Column("service_point_id", sa.String(64), nullable=True),
        sa.Column("staff_id", sa.String(64), nullable=True, index=True),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("handler_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(30), nullable=True),
        sa.Column("response", sa.Text, nullable=True),
        _ts("filed_at", False), _ts("acknowledged_at"), _ts("resolved_at"), _ts("closed_at"),
        _ts("reopened_at"),
        sa.Column("reopen_count", sa.Integer, nullable=False, server_default="0"),
        _ts("resolve_clock_start", False),
        _ts("acknowledge_due_at"), _ts("acknowledge_at_risk_at"), _ts("resolve_due_at"),
        _ts("resolve_at_risk_at"), _ts("acknowledge_at_risk_sent_at"), _ts("acknowledge_breached_at"),
        _ts("resolve_at_risk_sent_at"), _ts("resolve_breached_at"),
        sa.Column("escalated_to", sa.String(64), nullable=True),
        _ts("escalated_at"),
        sa.Column("rating", sa.SmallInteger, nullable=True),
        sa.Column("rating_comment", sa.Text, nullable=True),
        _ts("rated_at"),
        sa.Column("has_contact", sa.Boolean, nullable=False, server_default=sa.false()),
        _ts("contact_erased_at"),
        _ts("updated_at", False),
    )
    op.create_table(
        "complaint_contacts",
        sa.Column("complaint_id", sa.String(36), sa.ForeignKey("complaints.id"), primary_key=True),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("email", sa.String(200), nullable=True),
    )
    op.create_table(
        "complaint_pauses",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.String(36), sa.ForeignKey("complaints.id"), nullable=False, index=True),
        _ts("started_at", False), _ts("ended_at"),
    )
    op.create_table(
        "complaint_history",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.String(36), sa.ForeignKey("complaints.id"), nullable=False, index=True),
        _ts("at", False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=True),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    policy = op.create_table(
        "sla_policy",
        sa.Column("severity", sa.String(10), primary_key=True),
        sa.Column("acknowledge_minutes", sa.Integer, nullable=False),
        sa.Column("resolve_minutes", sa.Integer, nullable=False),
        sa.Column("business_hours", sa.Boolean, nullable=False),
        _ts("updated_at", False),
    )
    op.create_table(
        "branch_hours",
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("hours", sa.Text, nullable=False),
        _ts("updated_at", False),
        sa.Column("updated_by", sa.String(64), nullable=True),
    )
    op.create_table(
        "praise",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("branch_id", sa.String(64), nullable=False, index=True),
        sa.Column("staff_id", sa.String(64), nullable=True, index=True),
        sa.Column("service_point_id", sa.String(64), nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        _ts("received_at", False), _ts("rejected_at"),
        sa.Column("reject_reason", sa.String(20), nullable=True),
        sa.Column("rejected_by", sa.String(64), nullable=True),
    )
    op.create_table(
        "ratings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("service_point_id", sa.String(64), nullable=False, index=True),
        sa.Column("staff_id", sa.String(64), nullable=True, index=True),
        sa.Column("stars", sa.SmallInteger, nullable=False),
        sa.Column("wait_minutes", sa.Integer, nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        _ts("submitted_at", False),
    )
    op.create_index("ix_ratings_branch_time", "ratings", ["branch_id", "submitted_at"])
    instruments = op.create_table(
        "instruments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        _ts("created_at", False),
    )
    op.create_index("ux_instruments_code_version", "instruments", ["code", "version"], unique=True)
    op.create_table(
        "surveys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("instrument_id", sa.String(36), sa.ForeignKey("instruments.id"), nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("branch_ids", sa.Text, nullable=False),
        _ts("opens_at", False), _ts("closes_at", False),
        sa.Column("open_link", sa.Boolean, nullable=False),
        _ts("closed_at"), _ts("created_at", False),
        sa.Column("created_by", sa.String(64), nullable=True),
    )
    op.create_table(
        "survey_invitations",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("survey_id", sa.String(36), sa.ForeignKey("surveys.id"), nullable=False, index=True),
        sa.Column("branch_id", sa.String(64), nullable=True),
        _ts("created_at", False), _ts("used_at"),
    )
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("survey_id", sa.String(36), sa.ForeignKey("surveys.id"), nullable=False, index=True),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("user_group", sa.String(50), nullable=True),
        _ts("submitted_at", False),
    )
    op.create_table(
        "survey_answers",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("survey_id", sa.String(36), nullable=False),
        sa.Column("response_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("user_group", sa.String(50), nullable=True),
        sa.Column("item_code", sa.String(50), nullable=False),
        sa.Column("item_type", sa.String(15), nullable=False),
        sa.Column("dimension", sa.String(30), nullable=True),
        sa.Column("minimum", sa.SmallInteger, nullable=True),
        sa.Column("desired", sa.SmallInteger, nullable=True),
        sa.Column("perceived", sa.SmallInteger, nullable=True),
        sa.Column("na", sa.Boolean, nullable=False),
        sa.Column("value", sa.SmallInteger, nullable=True),
        sa.Column("choice", sa.String(50), nullable=True),
        sa.Column("text", sa.Text, nullable=True),
    )
    op.create_index("ix_survey_answers_survey_item", "survey_answers", ["survey_id", "item_code"])
    op.create_table(
        "forums",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("branch_id", sa.String(64), nullable=False, index=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("attendance", sa.Integer, nullable=False),
        sa.Column("minutes", sa.Text, nullable=True),
        _ts("created_at", False),
        sa.Column("created_by", sa.String(64), nullable=True),
    )
    op.create_table(
        "forum_suggestions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("forum_id", sa.String(36), sa.ForeignKey("forums.id"), nullable=False, index=True),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(15), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=True),
        sa.Column("due_on", sa.Date, nullable=True),
        sa.Column("outcome_on", sa.Date, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        _ts("updated_at", False),
    )

    # Seeds. Values are written out here (not imported from the model) so that this revision
    # stays what it was when later code changes its defaults.
    now = datetime.now(timezone.utc)
    op.bulk_insert(policy, [
        {"severity": s, "acknowledge_minutes": a, "resolve_minutes": r, "business_hours": False, "updated_at": now}
        for s, a, r in (("urgent", 120, 1440), ("high", 480, 4320), ("normal", 1440, 10080), ("low", 2880, 20160))
    ])
    from services.feedback import default_instrument
    op.bulk_insert(instruments, [{
        "id": str(uuid.uuid4()), "code": default_instrument.CODE, "version": 1,
        "title_zh": default_instrument.TITLE_ZH, "title_en": default_instrument.TITLE_EN,
        "items": json.dumps(default_instrument.items(), ensure_ascii=False), "created_at": now}])


def downgrade() -> None:
    for table in ("forum_suggestions", "forums", "survey_answers", "survey_responses", "survey_invitations",
                  "surveys", "instruments", "ratings", "praise", "branch_hours", "sla_policy",
                  "complaint_history", "complaint_pauses", "complaint_contacts", "complaints",
                  "known_service_points", "known_branches", "known_staff"):
        op.drop_table(table)
    drop_messaging_tables(op)
