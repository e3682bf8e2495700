"""Training tables and queries (SQLAlchemy Core). The migrations in ``migrations/versions`` create them."""
from __future__ import annotations

import json

from sqlalchemy import (Boolean, Column, Date, Float, ForeignKey, Index, Integer, MetaData, PrimaryKeyConstraint,
                        String, Table, Text, UniqueConstraint, select, update)
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime
from shared.ids import time_ordered_id

metadata = MetaData()

courses = Table(
    "courses", metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("title_zh", String(200), nullable=False),
    Column("title_en", String(200), nullable=False),
    Column("description_zh", Text, nullable=True),
    Column("description_en", Text, nullable=True),
    Column("competency_area", String(40), nullable=False),
    Column("hours", Float, nullable=False),
    Column("mandatory", Boolean, nullable=False),
    Column("delivery", String(10), nullable=False),
    Column("validity_months", Integer, nullable=True),
    Column("pass_mark", Float, nullable=True),
    Column("remedial_for", String(40), nullable=True),
    Column("is_regulation", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("version_notes", String(500), nullable=True),
    Column("version_published_on", Date, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

sessions = Table(
    "training_sessions", metadata,
    Column("id", String(36), primary_key=True),
    Column("course_id", String(36), ForeignKey("courses.id"), nullable=False, index=True),
    Column("course_version", Integer, nullable=False),
    Column("branch_id", String(64), nullable=True, index=True),
    Column("starts_at", UtcDateTime(), nullable=False, index=True),
    Column("ends_at", UtcDateTime(), nullable=False),
    Column("place", String(300), nullable=True),
    Column("link", String(500), nullable=True),
    Column("capacity", Integer, nullable=False),
    Column("trainer_staff_id", String(64), nullable=True),
    Column("trainer_name", String(100), nullable=True),
    Column("status", String(12), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

enrolments = Table(
    "enrolments", metadata,
    Column("id", String(36), primary_key=True),
    Column("session_id", String(36), ForeignKey("training_sessions.id"), nullable=False),
    Column("staff_id", String(64), nullable=False, index=True),
    Column("branch_id", String(64), nullable=False, index=True),
    Column("status", String(12), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("promoted_at", UtcDateTime(), nullable=True),
    Column("score", Float, nullable=True),
    Column("recorded_by", String(64), nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=True),
    Column("completion_id", String(36), nullable=True),
    Column("cancelled_at", UtcDateTime(), nullable=True),
    Column("cancel_reason", String(200), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("session_id", "staff_id", name="uq_enrolment_session_staff"),
)

completions = Table(
    "completions", metadata,
    Column("id", String(36), primary_key=True),
    Column("staff_id", String(64), nullable=False),
    Column("branch_id", String(64), nullable=False, index=True),
    Column("staff_name", String(100), nullable=True),
    Column("source", String(10), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("course_id", String(36), nullable=True),
    Column("course_version", Integer, nullable=True),
    Column("external_activity_id", String(36), nullable=True),
    Column("enrolment_id", String(36), nullable=True),
    Column("title", String(300), nullable=False),
    Column("title_zh", String(300), nullable=True),
    Column("competency_area", String(40), nullable=True),
    Column("hours", Float, nullable=False),
    Column("credit_hours", Float, nullable=False),
    Column("completed_on", Date, nullable=False),
    Column("year", Integer, nullable=False),
    Column("expires_on", Date, nullable=True),
    Column("certificate_code", String(20), nullable=True, unique=True),
    Column("score", Float, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_completions_staff_year", "staff_id", "year"),
)

external_activities = Table(
    "external_activities", metadata,
    Column("id", String(36), primary_key=True),
    Column("staff_id", String(64), nullable=False, index=True),
    Column("branch_id", String(64), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("title", String(300), nullable=False),
    Column("organiser", String(200), nullable=False),
    Column("activity_date", Date, nullable=False),
    Column("end_date", Date, nullable=True),
    Column("hours", Float, nullable=False),
    Column("competency_area", String(40), nullable=True),
    Column("evidence_note", Text, nullable=True),
    Column("status", String(10), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("decision_note", String(500), nullable=True),
    Column("credit_hours", Float, nullable=True),
    Column("completion_id", String(36), nullable=True),
)

requirements = Table(
    "requirements", metadata,
    Column("id", String(36), primary_key=True),
    # One requirement per key (e.g. annual:<staff>:2026): makes assignment idempotent in effect.
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("staff_id", String(64), nullable=False),
    Column("branch_id", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("course_id", String(36), nullable=True),
    Column("course_version", Integer, nullable=True),
    Column("area", String(40), nullable=True),
    Column("required_hours", Float, nullable=True),
    Column("title", String(300), nullable=False),
    Column("title_zh", String(300), nullable=True),
    Column("reason", String(500), nullable=False),
    Column("reason_zh", String(500), nullable=True),
    Column("due_on", Date, nullable=False),
    Column("period", String(20), nullable=False),
    Column("status", String(10), nullable=False),
    Column("assigned_at", UtcDateTime(), nullable=False),
    Column("completed_on", Date, nullable=True),
    Column("completion_id", String(36), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("caused_by", Text, nullable=True),
    Index("ix_requirements_status_due", "status", "due_on"),
    Index("ix_requirements_staff_status", "staff_id", "status"),
    Index("ix_requirements_branch_period", "branch_id", "period"),
)

requirement_notices = Table(
    "requirement_notices", metadata,
    Column("requirement_id", String(36), nullable=False),
    Column("notice", String(10), nullable=False),
    Column("period", String(20), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=False),
    # The primary key is what makes a notice once-only, whatever number of workers sweep.
    PrimaryKeyConstraint("requirement_id", "notice", "period"),
)

#: Staff members' professional titles (职称), from the directory's staff events: the continuing-
#: education policy can ask hours of a title. Kept here rather than in the shared directory read
#: model, which every service keeps and only training needs this of.
staff_titles = Table(
    "training_staff_titles", metadata,
    Column("staff_id", String(64), primary_key=True),
    Column("title", String(20), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)


def titles_of(conn: Connection, staff_ids) -> dict:
    """staff id → professional title (or None) of those whose title the directory announced."""
    ids, found = list(staff_ids), {}
    for i in range(0, len(ids), 500):
        found.update(conn.execute(select(staff_titles.c.staff_id, staff_titles.c.title)
                                  .where(staff_titles.c.staff_id.in_(ids[i:i + 500]))).all())
    return found


def set_title(conn: Connection, staff_id: str, title: str | None, at) -> None:
    if not conn.execute(update(staff_titles).where(staff_titles.c.staff_id == staff_id)
                        .values(title=title, updated_at=at)).rowcount:
        conn.execute(staff_titles.insert().values(staff_id=staff_id, title=title, updated_at=at))


policy = Table(
    "training_policy", metadata,
    Column("id", Integer, primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=True),
)


def new_id() -> str:
    """A new row id: time-ordered (UUIDv7), so the tables and indexes holding it grow at one end."""
    return time_ordered_id()


def one(conn: Connection, table: Table, ident: str, for_update: bool = False):
    """The row of ``table`` with this id, or None (locked on PostgreSQL with ``for_update``)."""
    query = select(table).where(table.c.id == ident)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def load_policy(conn: Connection) -> dict | None:
    row = conn.execute(select(policy.c.data).where(policy.c.id == 1)).first()
    return json.loads(row.data) if row else None
