"""Transactional outbox: events are rows written in the same transaction as the state change.

The relay (``shared.relay``) publishes them to Kafka afterwards, so an API write succeeds while
Kafka is down and nothing is lost when it comes back.
"""
from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import (BigInteger, Column, Index, Integer, MetaData, String, Table, Text,
                        func, select, update)
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime, insert_rows
from shared.ids import time_ordered_id

from shared.events import get as get_event_type
from shared.events.envelope import Event
from shared.timeutil import as_utc, utcnow

metadata = MetaData()

outbox = Table(
    "outbox", metadata,
    Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(100), nullable=False),
    Column("topic", String(100), nullable=False),
    Column("key", String(64), nullable=False),
    Column("source", String(100), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("data", Text, nullable=False),
    Column("published_at", UtcDateTime(), nullable=True),
    Index("ix_outbox_pending", "position", sqlite_where=Column("published_at").is_(None),
          postgresql_where=Column("published_at").is_(None)),
)


def add(conn: Connection, event_type: str, data: dict, *, caused_by: list[dict] | None = None,
        occurred_at: datetime | None = None) -> str:
    """Write one event to the outbox inside the caller's transaction; returns its id.

    ``data`` is validated against the registry first: an invalid event is a bug, never published.
    """
    return add_many(conn, event_type, [(data, caused_by)], occurred_at=occurred_at)[0]


def add_many(conn: Connection, event_type: str, items: list[tuple[dict, list[dict] | None]], *,
             occurred_at: datetime | None = None) -> list[str]:
    """Write many events of one type in one INSERT (sweeps that emit thousands); returns their ids.

    Each item is ``(data, caused_by)``; every one is validated as ``add`` does.
    """
    if not items:
        return []
    when = occurred_at or utcnow()
    rows = [event_row(event_type, data, caused_by, when) for data, caused_by in items]
    write_rows(conn, rows)
    return [row["event_id"] for row in rows]


def write_rows(conn: Connection, rows: list[dict]) -> None:
    """Insert outbox rows built beforehand by ``event_row``, inside the caller's transaction.

    Building (and validating) the rows before the transaction keeps the write lock short, which
    matters on SQLite where writers take turns.
    """
    if rows:
        insert_rows(conn, outbox, rows)
        conn.info["outbox_added"] = conn.info.get("outbox_added", 0) + len(rows)


def event_row(event_type: str, data: dict, caused_by: list[dict] | None, occurred_at: datetime) -> dict:
    """The validated outbox row of one event, for callers that insert rows in their own batches.

    Every event carries ``caused_by`` (empty for one a person caused directly) so that subscribers
    can trace any decision without special cases. Event ids are UUIDv7 (RFC 9562): time-ordered,
    so the indexes that hold them (this outbox, every consumer's inbox) grow at one end instead
    of rewriting pages all over the file on each commit.
    """
    kind = get_event_type(event_type)
    plain, text = kind.encode({**data, "caused_by": caused_by if caused_by is not None else data.get("caused_by", [])})
    return dict(event_id=time_ordered_id(), type=kind.name, topic=kind.topic, key=kind.key_of(plain),
                source=kind.source, subject=kind.subject_of(plain), occurred_at=occurred_at, data=text)


def pending(conn: Connection, limit: int = 500) -> list[tuple[int, Event]]:
    """The oldest unpublished events, in the order they were written."""
    rows = conn.execute(
        select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.position).limit(limit)
    ).mappings().all()
    return [(row["position"], row_to_event(row)) for row in rows]


def mark_published(conn: Connection, positions: list[int]) -> None:
    """Record that these rows reached Kafka."""
    if positions:
        conn.execute(update(outbox).where(outbox.c.position.in_(positions)).values(published_at=utcnow()))


def backlog(conn: Connection) -> int:
    """How many events wait to be published."""
    return conn.execute(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))).scalar_one()


def purge_published(conn: Connection, before: datetime) -> int:
    """Delete rows published before ``before`` (they are in Kafka); returns how many."""
    result = conn.execute(outbox.delete().where(outbox.c.published_at.is_not(None),
                                                outbox.c.published_at < before))
    return result.rowcount or 0


def row_to_event(row) -> Event:
    """The event an outbox row holds; its data keeps the stored JSON text for publishing."""
    text = row["data"].encode()
    return Event(id=row["event_id"], type=row["type"], source=row["source"], subject=row["subject"],
                 time=as_utc(row["occurred_at"]), data=orjson.loads(text), key=row["key"],
                 topic=row["topic"], encoded=text)


def events_for(conn: Connection, subject: str | None = None, event_type: str | None = None) -> list[Event]:
    """Events written by this service (published or not), oldest first: for tests and audits."""
    query = select(outbox).order_by(outbox.c.position)
    if subject is not None:
        query = query.where(outbox.c.subject == subject)
    if event_type is not None:
        query = query.where(outbox.c.type == event_type)
    return [row_to_event(r) for r in conn.execute(query).mappings()]
