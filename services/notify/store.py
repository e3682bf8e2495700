"""Notify's tables: rules and templates, staff preferences, duty-group robots, and the message
outbox (one row per event, recipient and channel, written before anything is sent)."""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, Integer, MetaData, String, Table, Text, UniqueConstraint, and_, func,
                        select)
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime
from shared.directory_view import known_branches, known_staff

metadata = MetaData()

rules = Table(
    "notify_rules", metadata,
    Column("id", String(36), primary_key=True),
    Column("event_type", String(80), nullable=False),
    Column("recipient_kind", String(20), nullable=False),
    Column("channels", Text, nullable=False),  # JSON list
    Column("subject_zh", Text, nullable=False),
    Column("subject_en", Text, nullable=False),
    Column("body_zh", Text, nullable=False),
    Column("body_en", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=True),
    UniqueConstraint("event_type", "recipient_kind", name="uq_notify_rules_event_kind"),
)

preferences = Table(
    "notify_preferences", metadata,
    Column("staff_id", String(64), primary_key=True),
    Column("email", String(200), nullable=True),       # overrides the directory's address
    Column("chat_id", String(100), nullable=True),
    Column("language", String(8), nullable=False),
    Column("channels", Text, nullable=False),          # JSON list of "email", "inbox"
    Column("muted_event_types", Text, nullable=False),  # JSON list
    Column("quiet_start", String(5), nullable=True),
    Column("quiet_end", String(5), nullable=True),
    Column("digest", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=True),
)

chat_groups = Table(
    "notify_chat_groups", metadata,
    Column("id", String(36), primary_key=True),
    Column("branch_id", String(64), nullable=True, index=True),  # null: the network office's group
    Column("name", String(200), nullable=False),
    Column("platform", String(10), nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", String(200), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

#: The outbox of messages. ``recipient`` is a staff id, ``reader:<complaint id>`` or
#: ``group:<chat group id>``; no address of a reader is ever stored here.
messages = Table(
    "notify_messages", metadata,
    Column("id", String(36), primary_key=True),
    Column("event_id", String(100), nullable=False),
    Column("event_source", String(100), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("recipient_kind", String(20), nullable=False),
    Column("recipient", String(120), nullable=False),
    Column("staff_id", String(64), nullable=True, index=True),  # the inbox owner
    Column("complaint_id", String(64), nullable=True),
    Column("channel", String(10), nullable=False),
    Column("language", String(8), nullable=False),
    Column("subject_zh", Text, nullable=False),
    Column("subject_en", Text, nullable=False),
    Column("body_zh", Text, nullable=False),
    Column("body_en", Text, nullable=False),
    Column("status", String(10), nullable=False),  # pending, sent, failed, skipped
    Column("digest", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("read_at", UtcDateTime(), nullable=True),
    UniqueConstraint("event_source", "event_id", "recipient", "channel", name="uq_notify_messages_once"),
)


def branch_name(conn: Connection, branch_id: str | None, language: str) -> str:
    """A branch's name in ``language`` from the directory read model (the id if not known yet)."""
    if not branch_id:
        return ""
    row = conn.execute(select(known_branches).where(known_branches.c.branch_id == branch_id)).mappings().first()
    if row is None:
        return branch_id
    return row["name_zh"] if language == "zh-CN" else row["name_en"]


def staff_name(conn: Connection, staff_id: str | None) -> str:
    """A staff member's name from the read model ("" when there is none)."""
    if not staff_id:
        return ""
    row = conn.execute(select(known_staff.c.name).where(known_staff.c.staff_id == staff_id)).first()
    return (row[0] or staff_id) if row else staff_id


def staff_with_role(conn: Connection, role: str, branch_id: str | None = None) -> list[str]:
    """Active staff of ``role`` (of ``branch_id`` when given), in a stable order."""
    query = select(known_staff.c.staff_id).where(known_staff.c.role == role, known_staff.c.status == "active")
    if branch_id is not None:
        query = query.where(known_staff.c.branch_id == branch_id)
    return [r[0] for r in conn.execute(query.order_by(known_staff.c.staff_id))]


def staff_of_branches(conn: Connection, branch_ids: list[str] | None) -> list[str]:
    """Active staff members (not the network roles) of these branches, or of all when None."""
    query = select(known_staff.c.staff_id).where(known_staff.c.status == "active",
                                                 known_staff.c.role.in_(("staff", "supervisor", "branch_manager")))
    if branch_ids is not None:
        query = query.where(known_staff.c.branch_id.in_(branch_ids))
    return [r[0] for r in conn.execute(query.order_by(known_staff.c.staff_id))]


def unread_count(conn: Connection, staff_id: str) -> int:
    return conn.execute(select(func.count()).select_from(messages).where(and_(
        messages.c.staff_id == staff_id, messages.c.channel == "inbox", messages.c.read_at.is_(None)))).scalar_one()
