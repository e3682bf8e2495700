"""Evaluation tables and queries (SQLAlchemy Core).

Decimal figures are stored as text ("87.35"), never as floats, so they read back exactly the
same on SQLite and PostgreSQL; structured values (breakdowns, settings) as canonical JSON text.
"""
from __future__ import annotations

import json

from sqlalchemy import (Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, and_, func, or_, select)
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime

metadata = MetaData()

rubrics = Table(
    "rubrics", metadata,
    Column("id", String(36), primary_key=True),
    Column("version", Integer, nullable=False, unique=True),
    Column("dimensions", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(64), nullable=True),
)

settings = Table(
    "evaluation_settings", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("data", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=True),
)

cycles = Table(
    "cycles", metadata,
    Column("id", String(36), primary_key=True),
    Column("period", String(20), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("scope", String(10), nullable=False),
    Column("branch_ids", Text, nullable=False),
    Column("rubric_id", String(36), nullable=False),
    Column("rubric_version", Integer, nullable=False),
    Column("settings", Text, nullable=False),
    Column("submission_deadline", UtcDateTime(), nullable=False),
    Column("status", String(10), nullable=False, index=True),
    Column("participants", Integer, nullable=False),
    Column("scored", Integer, nullable=False),
    Column("scores_digest", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("opened_at", UtcDateTime(), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("published_at", UtcDateTime(), nullable=True),
    # the branch whose manager runs the cycle (a branch-level cycle); null: the network office's
    Column("owner_branch_id", String(64), nullable=True),
    # the lsq.cycle.closed.v1 event: what the published scores cite in caused_by
    Column("closed_event_id", String(36), nullable=True),
)

#: The branches a "branches" cycle covers, one row each, so that a branch's cycles are found by an
#: index instead of by reading every cycle's ``branch_ids`` text.
cycle_branches = Table(
    "cycle_branches", metadata,
    Column("cycle_id", String(36), primary_key=True),
    Column("branch_id", String(64), primary_key=True),
    Index("ix_cycle_branches_branch", "branch_id"),
)

participants = Table(
    "participants", metadata,
    Column("cycle_id", String(36), primary_key=True),
    Column("staff_id", String(64), primary_key=True),
    Column("branch_id", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Index("ix_participants_branch", "cycle_id", "branch_id"),
)

peers = Table(
    "peer_assignments", metadata,
    Column("cycle_id", String(36), primary_key=True),
    Column("staff_id", String(64), primary_key=True),
    Column("peer_id", String(64), primary_key=True),
    Index("ix_peer_assignments_rater", "cycle_id", "peer_id"),
)

#: One row per cycle and rater reminded of the deadline: the key makes a second reminder impossible.
deadline_reminders = Table(
    "deadline_reminders", metadata,
    Column("cycle_id", String(36), primary_key=True),
    Column("staff_id", String(64), primary_key=True),
    Column("reminded_at", UtcDateTime(), nullable=False),
)

submissions = Table(
    "submissions", metadata,
    Column("id", String(36), primary_key=True),
    Column("cycle_id", String(36), nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("rater_type", String(10), nullable=False),
    Column("rater_id", String(64), nullable=False),
    Column("scores", Text, nullable=False),
    Column("comments", Text, nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("cycle_id", "staff_id", "rater_type", "rater_id", name="uq_submissions_rater"),
    Index("ix_submissions_rater", "cycle_id", "rater_id"),
)

results = Table(
    "results", metadata,
    Column("id", String(36), primary_key=True),
    Column("cycle_id", String(36), nullable=False),
    Column("staff_id", String(64), nullable=False, index=True),
    Column("branch_id", String(64), nullable=False),
    Column("score", String(10), nullable=True),
    Column("grade", String(20), nullable=True),
    Column("dimension_scores", Text, nullable=False),
    Column("components", Text, nullable=False),
    Column("components_used", Text, nullable=False),
    Column("components_missing", Text, nullable=False),
    Column("reader_inputs", Text, nullable=False),
    Column("rank_in_branch", Integer, nullable=True),
    Column("branch_participants", Integer, nullable=True),
    Column("percentile_in_branch", String(10), nullable=True),
    Column("revision", Integer, nullable=False),
    Column("status", String(15), nullable=False),
    Column("computed_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime(), nullable=True),
    Column("acknowledged_at", UtcDateTime(), nullable=True),
    # the last lsq.evaluation.scored/rescored.v1 event of this result: a revision cites it
    Column("event_id", String(36), nullable=True),
    UniqueConstraint("cycle_id", "staff_id", name="uq_results_cycle_staff"),
    Index("ix_results_cycle_branch", "cycle_id", "branch_id"),
)

appeals = Table(
    "appeals", metadata,
    Column("id", String(36), primary_key=True),
    Column("evaluation_id", String(36), nullable=False, index=True),
    Column("cycle_id", String(36), nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("branch_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("filed_at", UtcDateTime(), nullable=False),
    Column("status", String(10), nullable=False, index=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("previous_score", String(10), nullable=True),
    Column("previous_grade", String(20), nullable=True),
    Column("new_score", String(10), nullable=True),
    Column("new_grade", String(20), nullable=True),
    Column("revision", Integer, nullable=True),
)

reader_facts = Table(
    "reader_facts", metadata,
    Column("kind", String(10), primary_key=True),  # rating | praise | complaint
    Column("ref_id", String(64), primary_key=True),  # rating_id, praise_id, complaint_id
    Column("staff_id", String(64), nullable=True),
    Column("branch_id", String(64), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=True),  # the event's own time (submitted/received/resolved)
    Column("stars", Integer, nullable=True),
    Column("outcome", String(30), nullable=True),
    Column("severity", String(10), nullable=True),
    Column("rejected", Boolean, nullable=False),
    Column("reopened_at", UtcDateTime(), nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index("ix_reader_facts_staff_time", "staff_id", "occurred_at"),
)


def dumps(value) -> str:
    """Canonical JSON text for a column."""
    from services.evaluation.model import canonical
    return canonical(value)


def loads(text: str | None):
    """JSON text of a column back to a value (None stays None)."""
    return json.loads(text) if text else None


def get(conn: Connection, table: Table, ident: str, for_update: bool = False, for_share: bool = False):
    """One row by id; on PostgreSQL optionally locked (SQLite transactions are serial anyway)."""
    query = select(table).where(table.c.id == ident)
    if (for_update or for_share) and conn.dialect.name == "postgresql":
        query = query.with_for_update(read=not for_update)
    return conn.execute(query).mappings().first()


def latest_rubric(conn: Connection):
    """The newest rubric version."""
    return conn.execute(select(rubrics).order_by(rubrics.c.version.desc()).limit(1)).mappings().first()


def next_rubric_version(conn: Connection) -> int:
    """The version number a new rubric gets."""
    return (conn.execute(select(func.max(rubrics.c.version))).scalar() or 0) + 1


def current_settings(conn: Connection, for_update: bool = False):
    """The settings row (None until network_admin first changes a setting)."""
    query = select(settings).where(settings.c.id == 1)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def participant(conn: Connection, cycle_id: str, staff_id: str):
    """One participant of a cycle, or None."""
    return conn.execute(select(participants).where(participants.c.cycle_id == cycle_id,
                                                   participants.c.staff_id == staff_id)).mappings().first()


def peers_of(conn: Connection, cycle_id: str, staff_id: str) -> list[str]:
    """The assigned peer raters of ``staff_id`` in the cycle (organisers only: never shown to them)."""
    return sorted(conn.execute(select(peers.c.peer_id).where(peers.c.cycle_id == cycle_id,
                                                             peers.c.staff_id == staff_id)).scalars())


def rated_by(conn: Connection, cycle_id: str, rater_id: str) -> list[str]:
    """Whom ``rater_id`` rates as a peer in the cycle."""
    return sorted(conn.execute(select(peers.c.staff_id).where(peers.c.cycle_id == cycle_id,
                                                              peers.c.peer_id == rater_id)).scalars())


def reader_aggregates(conn: Connection, cycle_id: str, start, end) -> list:
    """Per participant, the feedback of [start, end) that counts, grouped for the reader formula.

    Rejected praise never counts; a complaint counts when its outcome is (partially)
    substantiated and it was not reopened after its last resolution.
    """
    f, p = reader_facts, participants
    counted = or_(f.c.kind != "complaint",
                  and_(f.c.outcome.in_(("substantiated", "partially_substantiated")),
                       or_(f.c.reopened_at.is_(None), f.c.reopened_at < f.c.occurred_at)))
    query = (select(f.c.staff_id, f.c.kind, f.c.outcome, f.c.severity, func.count().label("n"),
                    func.coalesce(func.sum(f.c.stars), 0).label("stars"))
             .select_from(f.join(p, and_(p.c.staff_id == f.c.staff_id, p.c.cycle_id == cycle_id)))
             .where(f.c.occurred_at >= start, f.c.occurred_at < end, f.c.rejected.is_(False), counted)
             .group_by(f.c.staff_id, f.c.kind, f.c.outcome, f.c.severity))
    return list(conn.execute(query))
