"""Notify: rules and templates, preferences, duty-group robots, the message outbox, the directory
read model and the messaging tables. The default rules are seeded at first start by the service
(``service.seed_default_rules``), so later code can improve the defaults without a migration.

Revision ID: notify_0001
Revises:
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from shared.directory_view import create_directory_view_tables
from shared.migrations.messaging import create_messaging_tables, drop_messaging_tables

revision = "notify_0001"
down_revision = None
branch_labels = ("notify",)
depends_on = None


def _time(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    create_messaging_tables(op)
    create_directory_view_tables(op)
    op.create_table(
        "notify_rules",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("recipient_kind", sa.String(20), nullable=False),
        sa.Column("channels", sa.Text, nullable=False),
        sa.Column("subject_zh", sa.Text, nullable=False),
        sa.Column("subject_en", sa.Text, nullable=False),
        sa.Column("body_zh", sa.Text, nullable=False),
        sa.Column("body_en", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        _time("updated_at"),
        sa.Column("updated_by", sa.String(100), nullable=True),
        sa.UniqueConstraint("event_type", "recipient_kind", name="uq_notify_rules_event_kind"),
    )
    op.create_table(
        "notify_preferences",
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("chat_id", sa.String(100), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("channels", sa.Text, nullable=False),
        sa.Column("muted_event_types", sa.Text, nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("digest", sa.Boolean, nullable=False),
        _time("updated_at"),
        sa.Column("updated_by", sa.String(100), nullable=True),
    )
    op.create_table(
        "notify_chat_groups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("branch_id", sa.String(64), nullable=True, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(10), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        _time("updated_at"),
    )
    op.create_table(
        "notify_messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("event_source", sa.String(100), nullable=False),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("recipient_kind", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(120), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=True, index=True),
        sa.Column("complaint_id", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("subject_zh", sa.Text, nullable=False),
        sa.Column("subject_en", sa.Text, nullable=False),
        sa.Column("body_zh", sa.Text, nullable=False),
        sa.Column("body_en", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("digest", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _time("next_attempt_at", True),
        sa.Column("last_error", sa.Text, nullable=True),
        _time("created_at"),
        _time("sent_at", True),
        _time("read_at", True),
        sa.UniqueConstraint("event_source", "event_id", "recipient", "channel", name="uq_notify_messages_once"),
    )
    op.create_index("ix_notify_messages_due", "notify_messages", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notify_messages_due", "notify_messages")
    for table in ("notify_messages", "notify_chat_groups", "notify_preferences", "notify_rules",
                  "known_service_points", "known_branches", "known_staff"):
        op.drop_table(table)
    drop_messaging_tables(op)
