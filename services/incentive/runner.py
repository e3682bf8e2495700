"""The incentive consumer: the shared runner, with one unit of work per batch.

``ConsumerRunner.apply_batch`` applies a poll's events in one transaction; this subclass opens the
incentive unit of work around the batch's handlers, so the state the batch needs is loaded in a
few queries and its ledger, outbox and points rows are written together at the end (see ``unit``).
Semantics are unchanged: all or nothing, duplicates skipped, the inbox written in the same
transaction.
"""
from __future__ import annotations

import contextlib

from services.incentive import handlers, unit
from shared.consumer import ConsumerRunner
from shared.events.envelope import Event


class IncentiveRunner(ConsumerRunner):
    """``ConsumerRunner`` applying each batch in one incentive unit of work."""

    @contextlib.contextmanager
    def batch_scope(self, conn, fresh: list[Event]):
        with unit.scope(conn):  # flushed when the batch's handlers are done
            handlers.prefetch(conn, fresh)
            yield
