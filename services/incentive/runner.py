"""The incentive consumer: the shared runner, with one unit of work per batch.

``ConsumerRunner.apply_batch`` applies a poll's events in one transaction; this subclass also
opens the incentive unit of work around the batch, so the state the batch needs is loaded in a few
queries and its ledger, outbox and points rows are written together at the end (see ``unit``).
Semantics are unchanged: all or nothing, duplicates skipped, the inbox written in the same
transaction.
"""
from __future__ import annotations

from services.incentive import handlers, unit
from shared import inbox, logs
from shared.consumer import ConsumerRunner
from marshmallow import EXCLUDE, ValidationError
from sqlalchemy import String, any_, cast, select
from sqlalchemy.dialects.postgresql import ARRAY

from shared.events import get as get_event_type
from shared.events.envelope import Event, MalformedEnvelope


class IncentiveRunner(ConsumerRunner):
    """``ConsumerRunner`` applying each batch in one incentive unit of work."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._schemas: dict = {}

    def parse(self, record):
        """As ``ConsumerRunner.parse`` (tolerant reader, poison on bad data), with each type's
        schema built once instead of once per record (a large share of the CPU per event)."""
        try:
            event = Event.from_record(record)
        except MalformedEnvelope as exc:
            return None, "poison", str(exc)
        if event.type not in self.handlers:
            return None, "ignored", None
        schema = self._schemas.get(event.type)
        if schema is None:
            schema = self._schemas[event.type] = get_event_type(event.type).schema(unknown=EXCLUDE)
        try:
            event.data = schema.load(event.data)
        except ValidationError as exc:
            return None, "poison", f"invalid data for {event.type}: {exc.messages}"
        return event, None, None

    def apply_batch(self, events: list[Event]) -> list[str]:
        statuses = []
        with self.db.transaction() as conn, unit.scope(conn) as work:
            done = seen_many(conn, self.group, [(e.source, e.id) for e in events])
            fresh = [e for e in events if (e.source, e.id) not in done]
            handlers.prefetch(conn, fresh)
            applied = []
            for event in events:
                key = (event.source, event.id)
                if key in done:
                    statuses.append("duplicate")
                    continue
                logs.event_id.set(event.id)
                self.handlers[event.type](conn, event)
                done.add(key)
                applied.append(key)
                statuses.append("applied")
            work.flush()
            inbox.record_many(conn, self.group, applied)
        logs.event_id.set(None)
        return statuses


def seen_many(conn, consumer: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """``shared.inbox.seen_many`` with the source in the condition, one query per source.

    The inbox's primary key is (consumer, source, event_id); filtering on consumer and event id
    alone can only use the key's first column, which scans every event the consumer ever
    processed: the batch slows down as the inbox grows. With the source, each lookup is a key hit.
    """
    by_source: dict[str, set[str]] = {}
    for source, event_id in keys:
        by_source.setdefault(source, set()).add(event_id)
    t = inbox.processed_events
    found = set()
    for source, ids in sorted(by_source.items()):
        if conn.dialect.name == "postgresql":  # one array parameter: planned once, not per id
            condition = t.c.event_id == any_(cast(sorted(ids), ARRAY(String)))
        else:
            condition = t.c.event_id.in_(sorted(ids))
        rows = conn.execute(select(t.c.event_id).where(t.c.consumer == consumer, t.c.source == source, condition))
        found.update((source, r.event_id) for r in rows)
    return found
