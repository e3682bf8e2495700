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
from shared.events.envelope import Event


class IncentiveRunner(ConsumerRunner):
    """``ConsumerRunner`` applying each batch in one incentive unit of work."""

    def apply_batch(self, events: list[Event]) -> list[str]:
        statuses = []
        with self.db.transaction() as conn, unit.scope(conn) as work:
            done = inbox.seen_many(conn, self.group, [(e.source, e.id) for e in events])
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

