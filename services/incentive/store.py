"""Incentive tables (SQLAlchemy Core) and the queries the use cases need.

The ``ledger`` is append-only: rows are inserted, never updated or deleted. The other tables hold
the current state that the rules need quickly (fund balances, sanction lifecycle, monthly points
tallies, ladder facts) and can all be rebuilt by replaying the topics.
"""
from __future__ import annotations

import orjson
from sqlalchemy import (BigInteger, Boolean, Column, Index, Integer, MetaData, Numeric, String, Table,
                        Text, select, update)
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime

metadata = MetaData()
_id = lambda name, **kw: Column(name, String(64), **kw)  # noqa: E731 - ids are strings everywhere

policies = Table(
    "policies", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("document", Text, nullable=False),
    Column("activated_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("note", String(500), nullable=True),
    # A version scheduled for a later day may be withdrawn before it starts (never deleted: numbers
    # are not reused, so every process's cache of a version stays true).
    Column("withdrawn_at", UtcDateTime(), nullable=True),
)

funds = Table(
    "funds", metadata,
    _id("branch_id", primary_key=True),
    Column("period", String(20), primary_key=True),
    Column("budget", Numeric(14, 2), nullable=False),
    Column("reserved", Numeric(14, 2), nullable=False),
    Column("granted", Numeric(14, 2), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

ledger = Table(
    "ledger", metadata,
    Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("kind", String(12), nullable=False),  # award | points | sanction | revocation | adjustment
    _id("staff_id", nullable=False),
    _id("branch_id", nullable=False),
    Column("period", String(20), nullable=True),
    Column("amount", Numeric(14, 2), nullable=True),
    Column("points", Integer, nullable=True),
    Column("level", String(20), nullable=True),
    Column("tier", String(30), nullable=True),
    Column("refers_to", String(36), nullable=True),
    Column("subject", String(160), nullable=False),
    Column("rule_id", String(60), nullable=True),
    Column("policy_version", Integer, nullable=False),
    Column("causes", Text, nullable=False),
    Column("reason_en", String(500), nullable=False),
    Column("reason_zh", String(500), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index("ix_ledger_staff", "staff_id", "occurred_at"),
    Index("ix_ledger_branch", "branch_id", "occurred_at"),
    Index("ix_ledger_subject", "subject"),
)

ledger_causes = Table(
    "ledger_causes", metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("source", String(100), primary_key=True),
    Column("event_id", String(100), primary_key=True),
    Index("ix_ledger_causes_event", "event_id"),
)

awards = Table(
    "awards", metadata,
    Column("id", String(36), primary_key=True),
    _id("staff_id", nullable=False, index=True),
    _id("branch_id", nullable=False),
    Column("period", String(20), nullable=False),
    Column("tier", String(30), nullable=False),
    Column("requested_amount", Numeric(14, 2), nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("status", String(12), nullable=False),  # pending | granted | rejected | revoked
    Column("waiting_for", String(30), nullable=True),
    Column("subject", String(160), nullable=False, index=True),
    Column("rule_id", String(60), nullable=True),
    Column("policy_version", Integer, nullable=False),
    Column("causes", Text, nullable=False),
    Column("reason_en", String(500), nullable=False),
    Column("reason_zh", String(500), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("decided_by", String(100), nullable=True),
    Column("decision_note", String(2000), nullable=True),
    Index("ix_awards_branch_status", "branch_id", "status"),
)

ladder_facts = Table(
    "ladder_facts", metadata,
    Column("key", String(200), primary_key=True),
    _id("staff_id", nullable=False, index=True),
    _id("branch_id", nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("bump", Integer, nullable=False),
    Column("level", String(20), nullable=True),
    Column("grp", String(60), nullable=True),
    Column("free_notices", Integer, nullable=False),
    Column("lapse_months", Integer, nullable=False),
    Column("excluded", Boolean, nullable=False),
    Column("subject", String(160), nullable=False, index=True),
    Column("rule_id", String(60), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("appeal_days", Integer, nullable=False),
    Column("causes", Text, nullable=False),
    Column("reason_en", String(500), nullable=False),
    Column("reason_zh", String(500), nullable=False),
)

sanctions = Table(
    "sanctions", metadata,
    Column("id", String(36), primary_key=True),
    _id("staff_id", nullable=False, index=True),
    _id("branch_id", nullable=False),
    Column("level", String(20), nullable=False),
    Column("fact_key", String(200), nullable=False, index=True),
    Column("policy_version", Integer, nullable=False),
    Column("causes", Text, nullable=False),
    Column("reason_en", String(500), nullable=False),
    Column("reason_zh", String(500), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("appeal_deadline", UtcDateTime(), nullable=False),
    # issued | acknowledged | appealed | upheld | overturned | revoked
    Column("status", String(12), nullable=False),
    Column("replaces", String(36), nullable=True),
    Column("acknowledged_at", UtcDateTime(), nullable=True),
    Column("appeal_reason", String(2000), nullable=True),
    Column("appealed_at", UtcDateTime(), nullable=True),
    Column("decision", String(12), nullable=True),
    Column("decision_note", String(2000), nullable=True),
    Column("decided_by", String(100), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index("ix_sanctions_branch_status", "branch_id", "status"),
)

points_tally = Table(
    "points_tally", metadata,
    _id("staff_id", primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("rule_id", String(60), primary_key=True),
    Column("points", Integer, nullable=False),
)

points_awarded = Table(
    "points_awarded", metadata,
    Column("subject", String(160), primary_key=True),  # e.g. praise:<id>
    _id("staff_id", nullable=True),
    Column("state", String(10), nullable=False),  # credited | reversed | rejected (before receipt)
    Column("entry_id", String(36), nullable=True),
    Column("points", Integer, nullable=False),
    Column("month", String(7), nullable=True),
    Column("rule_id", String(60), nullable=True),
)

revisions = Table(
    "revisions", metadata,
    Column("subject", String(160), primary_key=True),
    Column("revision", Integer, nullable=False),
)

staff_versions = Table(
    # Bumped in the transaction of every change to a person's facts, sanctions, training watches or
    # completions: a worker's cached copy of that history is good only while the version is the one
    # it read.
    "staff_versions", metadata,
    _id("staff_id", primary_key=True),
    Column("version", Integer, nullable=False),
)

requirement_watch = Table(
    "requirement_watch", metadata,
    Column("subject", String(160), primary_key=True),
    _id("requirement_id", nullable=False),
    _id("staff_id", nullable=False, index=True),
    _id("branch_id", nullable=False),
    _id("course_id", nullable=True),
    Column("overdue_since", UtcDateTime(), nullable=False),
    Column("escalate_at", UtcDateTime(), nullable=False),
    Column("escalate_to", String(20), nullable=False),
    Column("rule_id", String(60), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("causes", Text, nullable=False),
    Column("title", String(300), nullable=False),
    Column("status", String(10), nullable=False),  # waiting | cleared | escalated
    Column("cleared_by", String(100), nullable=True),
    Index("ix_requirement_watch_due", "status", "escalate_at"),
)

completions = Table(
    "completions", metadata,
    Column("completion_id", String(64), primary_key=True),
    _id("staff_id", nullable=False, index=True),
    _id("course_id", nullable=True),
    Column("completed_at", UtcDateTime(), nullable=False),
    Column("source", String(100), nullable=False),
    Column("event_id", String(100), nullable=False),
)

violations = Table(
    "violations", metadata,
    Column("id", String(64), primary_key=True),
    _id("staff_id", nullable=False, index=True),
    _id("branch_id", nullable=False, index=True),
    Column("category", String(20), nullable=False),
    Column("description", String(2000), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("fact_key", String(200), nullable=False),
)

complaint_marks = Table(
    # Every resolution and reopening of a complaint seen, by time: a resolution's decisions stand
    # only while no later resolution or reopening is known (order-tolerant, see handlers.py).
    "complaint_marks", metadata,
    Column("subject", String(160), primary_key=True),
    Column("kind", String(10), primary_key=True),  # resolved | reopened
    Column("at", UtcDateTime(), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("event_id", String(100), nullable=False),
)

settlements = Table(
    "settlements", metadata,
    Column("id", String(64), primary_key=True),
    Column("period", String(20), nullable=False, unique=True),
    Column("settled_by", String(100), nullable=False),
    Column("settled_at", UtcDateTime(), nullable=False),
    Column("awards", Integer, nullable=False),
)


# -- helpers -------------------------------------------------------------------------------------
def dumps(value) -> str:
    """Compact JSON with sorted keys (causes, decisions): the same text as the json module's."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def loads(text: str):
    return orjson.loads(text) if text else []


def upsert(conn: Connection, table: Table, keys: dict, values: dict) -> None:
    """Update the row with ``keys`` or insert it: portable between SQLite and PostgreSQL."""
    condition = [table.c[k] == v for k, v in keys.items()]
    if not conn.execute(update(table).where(*condition).values(**values)).rowcount:
        conn.execute(table.insert().values(**keys, **values))


def one(conn: Connection, table: Table, for_update: bool = False, **keys):
    """The row of ``table`` with these column values, or None."""
    query = select(table).where(*[table.c[k] == v for k, v in keys.items()])
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()
