"""Feedback tables and queries (SQLAlchemy Core)."""
from __future__ import annotations

import json

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (BigInteger, Boolean, Column, Date, ForeignKey, Index, Integer, MetaData,
                        SmallInteger, String, Table, Text, and_, false, not_, or_, select)
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime, insert_rows
from shared.timeutil import local_midnight

metadata = MetaData()
_id = BigInteger().with_variant(Integer, "sqlite")

complaints = Table(
    "complaints", metadata,
    Column("id", String(36), primary_key=True),
    Column("tracking_hash", String(64), nullable=False, unique=True),
    Column("branch_id", String(64), nullable=False, index=True),
    Column("service_point_id", String(64), nullable=True),
    Column("staff_id", String(64), nullable=True, index=True),
    Column("category", String(20), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("handler_id", String(64), nullable=True),
    Column("outcome", String(30), nullable=True),
    Column("response", Text, nullable=True),
    Column("filed_at", UtcDateTime(), nullable=False),
    Column("acknowledged_at", UtcDateTime(), nullable=True),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("reopened_at", UtcDateTime(), nullable=True),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("resolve_clock_start", UtcDateTime(), nullable=False),
    Column("acknowledge_due_at", UtcDateTime(), nullable=True),
    Column("acknowledge_at_risk_at", UtcDateTime(), nullable=True),
    Column("resolve_due_at", UtcDateTime(), nullable=True),
    Column("resolve_at_risk_at", UtcDateTime(), nullable=True),
    Column("acknowledge_at_risk_sent_at", UtcDateTime(), nullable=True),
    Column("acknowledge_breached_at", UtcDateTime(), nullable=True),
    Column("resolve_at_risk_sent_at", UtcDateTime(), nullable=True),
    Column("resolve_breached_at", UtcDateTime(), nullable=True),
    Column("escalated_to", String(64), nullable=True),
    Column("escalated_at", UtcDateTime(), nullable=True),
    Column("rating", SmallInteger, nullable=True),
    Column("rating_comment", Text, nullable=True),
    Column("rated_at", UtcDateTime(), nullable=True),
    Column("has_contact", Boolean, nullable=False, default=False),
    Column("contact_erased_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

#: Reader contact details live apart from the complaint so that purging them is one DELETE and
#: no query that serves staff or events can pick them up by accident.
complaint_contacts = Table(
    "complaint_contacts", metadata,
    Column("complaint_id", String(36), ForeignKey("complaints.id"), primary_key=True),
    Column("name", String(100), nullable=True),
    Column("phone", String(40), nullable=True),
    Column("email", String(200), nullable=True),
)

#: Every time a service (the notify worker) read a reader's contact details: who, why, when, and
#: whether there was anything to give. The contact itself is never copied here.
contact_access = Table(
    "complaint_contact_access", metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("complaint_id", String(36), nullable=False, index=True),
    Column("accessed_by", String(100), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("found", Boolean, nullable=False),
    Column("accessed_at", UtcDateTime(), nullable=False),
)

complaint_pauses = Table(
    "complaint_pauses", metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("complaint_id", String(36), ForeignKey("complaints.id"), nullable=False, index=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
)

complaint_history = Table(
    "complaint_history", metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("complaint_id", String(36), ForeignKey("complaints.id"), nullable=False, index=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("action", String(30), nullable=False),
    Column("actor_role", String(20), nullable=True),
    Column("actor_id", String(64), nullable=True),
    Column("from_status", String(20), nullable=True),
    Column("to_status", String(20), nullable=True),
    Column("note", Text, nullable=True),
)

sla_policy = Table(
    "sla_policy", metadata,
    Column("severity", String(10), primary_key=True),
    Column("acknowledge_minutes", Integer, nullable=False),
    Column("resolve_minutes", Integer, nullable=False),
    Column("business_hours", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

#: A branch's own targets for some severities, overriding the network's (``sla_policy``) for them.
branch_sla_policy = Table(
    "branch_sla_policy", metadata,
    Column("branch_id", String(64), primary_key=True),
    Column("severity", String(10), primary_key=True),
    Column("acknowledge_minutes", Integer, nullable=False),
    Column("resolve_minutes", Integer, nullable=False),
    Column("business_hours", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=True),
)

branch_hours = Table(
    "branch_hours", metadata,
    Column("branch_id", String(64), primary_key=True),
    Column("hours", Text, nullable=False),  # OpeningHours.to_dict() as JSON
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=True),
)

praise = Table(
    "praise", metadata,
    Column("id", String(36), primary_key=True),
    Column("branch_id", String(64), nullable=False, index=True),
    Column("staff_id", String(64), nullable=True, index=True),
    Column("service_point_id", String(64), nullable=True),
    Column("message", Text, nullable=True),
    Column("status", String(10), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("rejected_at", UtcDateTime(), nullable=True),
    Column("reject_reason", String(20), nullable=True),
    Column("rejected_by", String(64), nullable=True),
)

ratings = Table(
    "ratings", metadata,
    Column("id", String(36), primary_key=True),
    Column("branch_id", String(64), nullable=False),
    Column("service_point_id", String(64), nullable=False, index=True),
    Column("staff_id", String(64), nullable=True, index=True),
    Column("stars", SmallInteger, nullable=False),
    Column("wait_minutes", Integer, nullable=True),
    Column("comment", Text, nullable=True),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Index("ix_ratings_branch_time", "branch_id", "submitted_at"),
)

instruments = Table(
    "instruments", metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(50), nullable=False),
    Column("version", Integer, nullable=False),
    Column("title_zh", String(200), nullable=False),
    Column("title_en", String(200), nullable=False),
    Column("items", Text, nullable=False),  # JSON list of items
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ux_instruments_code_version", "code", "version", unique=True),
)

surveys = Table(
    "surveys", metadata,
    Column("id", String(36), primary_key=True),
    Column("instrument_id", String(36), ForeignKey("instruments.id"), nullable=False),
    Column("title_zh", String(200), nullable=False),
    Column("title_en", String(200), nullable=False),
    Column("branch_ids", Text, nullable=False),  # JSON list
    Column("opens_at", UtcDateTime(), nullable=False),
    Column("closes_at", UtcDateTime(), nullable=False),
    Column("open_link", Boolean, nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(64), nullable=True),
)

survey_invitations = Table(
    "survey_invitations", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("survey_id", String(36), ForeignKey("surveys.id"), nullable=False, index=True),
    Column("branch_id", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
)

survey_responses = Table(
    "survey_responses", metadata,
    Column("id", String(36), primary_key=True),
    Column("survey_id", String(36), ForeignKey("surveys.id"), nullable=False, index=True),
    Column("branch_id", String(64), nullable=False),
    Column("user_group", String(50), nullable=True),
    Column("submitted_at", UtcDateTime(), nullable=False),
)

#: One row per answered item (per chosen option for multiple choice): results are GROUP BYs here.
survey_answers = Table(
    "survey_answers", metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("survey_id", String(36), nullable=False),
    Column("response_id", String(36), nullable=False),
    Column("branch_id", String(64), nullable=False),
    Column("user_group", String(50), nullable=True),
    Column("item_code", String(50), nullable=False),
    Column("item_type", String(15), nullable=False),
    Column("dimension", String(30), nullable=True),
    Column("minimum", SmallInteger, nullable=True),
    Column("desired", SmallInteger, nullable=True),
    Column("perceived", SmallInteger, nullable=True),
    Column("na", Boolean, nullable=False),
    Column("value", SmallInteger, nullable=True),
    Column("choice", String(50), nullable=True),
    Column("text", Text, nullable=True),
    Index("ix_survey_answers_survey_item", "survey_id", "item_code"),
)

forums = Table(
    "forums", metadata,
    Column("id", String(36), primary_key=True),
    Column("branch_id", String(64), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("held_on", Date, nullable=False),
    Column("attendance", Integer, nullable=False),
    Column("minutes", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(64), nullable=True),
)

forum_suggestions = Table(
    "forum_suggestions", metadata,
    Column("id", String(36), primary_key=True),
    Column("forum_id", String(36), ForeignKey("forums.id"), nullable=False, index=True),
    Column("branch_id", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(15), nullable=False),
    Column("owner_id", String(64), nullable=True),
    Column("due_on", Date, nullable=True),
    Column("outcome_on", Date, nullable=True),
    Column("note", Text, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)


# -- queries -------------------------------------------------------------------------------------
def get(conn: Connection, table: Table, ident: str, for_update: bool = False):
    """One row by primary key ``id``, or None."""
    query = select(table).where(table.c.id == ident)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def complaint_by_code_hash(conn: Connection, code_hash: str, for_update: bool = False):
    query = select(complaints).where(complaints.c.tracking_hash == code_hash)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def contact_of(conn: Connection, complaint_id: str):
    return conn.execute(select(complaint_contacts).where(
        complaint_contacts.c.complaint_id == complaint_id)).mappings().first()


def pauses_of(conn: Connection, complaint_id: str) -> list[tuple]:
    rows = conn.execute(select(complaint_pauses.c.started_at, complaint_pauses.c.ended_at)
                        .where(complaint_pauses.c.complaint_id == complaint_id)
                        .order_by(complaint_pauses.c.started_at))
    return [(r.started_at, r.ended_at) for r in rows]


def add_history(conn: Connection, complaint_id: str, at, action: str, actor_role: str | None,
                actor_id: str | None, from_status: str | None, to_status: str | None, note: str | None = None):
    insert_rows(conn, complaint_history, [dict(
        complaint_id=complaint_id, at=at, action=action, actor_role=actor_role, actor_id=actor_id,
        from_status=from_status, to_status=to_status, note=note)])


def hours_of(conn: Connection, branch_id: str) -> dict | None:
    row = conn.execute(select(branch_hours.c.hours).where(branch_hours.c.branch_id == branch_id)).first()
    return json.loads(row.hours) if row else None


def instrument_by_code(conn: Connection, code: str):
    """The latest version of the instrument called ``code``."""
    return conn.execute(select(instruments).where(instruments.c.code == code)
                        .order_by(instruments.c.version.desc()).limit(1)).mappings().first()


# -- the complaint list's filters ----------------------------------------------------------------
#: Statuses in which each SLA target's clock runs (the resolution clock stops while waiting on the reader).
ACKNOWLEDGE_RUNS = ("new",)
RESOLVE_RUNS = ("new", "acknowledged", "investigating")


def _passed(column, now: datetime):
    """``column`` is set and not after ``now`` (never NULL itself, so it can be negated)."""
    return and_(column.is_not(None), column <= now)


def _ahead(column, now: datetime):
    return and_(column.is_not(None), column > now)


def sla_at_risk(now: datetime):
    """A running target has reached its at-risk instant (80 %) and is not yet due."""
    k = complaints.c
    return or_(
        and_(k.status.in_(ACKNOWLEDGE_RUNS), _passed(k.acknowledge_at_risk_at, now), _ahead(k.acknowledge_due_at, now)),
        and_(k.status.in_(RESOLVE_RUNS), _passed(k.resolve_at_risk_at, now), _ahead(k.resolve_due_at, now)))


def sla_breached(now: datetime):
    """A target was missed: a breach was recorded, or a running target is past due (the sweep,
    which records it, may not have passed yet)."""
    k = complaints.c
    return or_(
        k.acknowledge_breached_at.is_not(None), k.resolve_breached_at.is_not(None),
        and_(k.status.in_(ACKNOWLEDGE_RUNS), _passed(k.acknowledge_due_at, now)),
        and_(k.status.in_(RESOLVE_RUNS), _passed(k.resolve_due_at, now)))


def _either(condition, wanted: bool):
    return condition if wanted else not_(condition)


def complaint_filters(filters: dict, now: datetime, zone: ZoneInfo, caller_staff_id: str | None) -> list:
    """SQL conditions for the complaint list's filters (``schemas.ComplaintQuery``), all to hold.

    Lists (statuses, severities, categories) match any of their values; a single string is one
    value. Every condition is TRUE or FALSE, never NULL, so each boolean filter's ``false`` is
    exactly the complement of its ``true``.
    """
    k = complaints.c
    conditions = []
    for name in ("status", "severity", "category"):
        value = filters.get(name)
        if value is None or value == []:
            continue
        conditions.append(k[name].in_(list(value)) if isinstance(value, (list, tuple, set)) else k[name] == value)
    for name in ("branch_id", "staff_id"):
        if filters.get(name) is not None:
            conditions.append(k[name] == filters[name])
    if filters.get("assigned_to") is not None:
        conditions.append(k.handler_id == filters["assigned_to"])
    if filters.get("mine") is not None:
        mine = (and_(k.handler_id.is_not(None), k.handler_id == caller_staff_id) if caller_staff_id
                else false())
        conditions.append(_either(mine, filters["mine"]))
    if filters.get("at_risk") is not None:
        conditions.append(_either(sla_at_risk(now), filters["at_risk"]))
    if filters.get("breached") is not None:
        conditions.append(_either(sla_breached(now), filters["breached"]))
    if filters.get("escalated") is not None:
        conditions.append(_either(k.escalated_at.is_not(None), filters["escalated"]))
    first: date | None = filters.get("filed_from")
    last: date | None = filters.get("filed_to")
    if first is not None:
        conditions.append(k.filed_at >= local_midnight(first, zone))
    if last is not None:
        conditions.append(k.filed_at < local_midnight(last + timedelta(days=1), zone))
    return conditions
