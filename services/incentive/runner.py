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
    """``ConsumerRunner`` applying each batch in one incentive unit of work, and keeping people's
    ladder history between batches (``unit.StaffHistory``: reused only while current)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.history = unit.StaffHistory()
        self._work: unit.Unit | None = None

    def apply_batch(self, events: list[Event]) -> list[str]:
        self._work = None
        try:
            statuses = super().apply_batch(events)
        except BaseException:
            self.history.forget_all()  # the rolled-back unit may have changed the copies it used
            raise
        if self._work is not None:
            self.history.keep(self._work)  # committed: its state is the people's state now
        return statuses

    @contextlib.contextmanager
    def batch_scope(self, conn, fresh: list[Event]):
        with unit.scope(conn, self.history) as work:  # flushed when the batch's handlers are done
            self._work = work
            handlers.prefetch(conn, fresh)
            yield
