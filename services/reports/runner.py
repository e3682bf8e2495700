"""The reports consumer: the shared runner, with one in-memory batch of read-model writes per poll.

``ConsumerRunner.apply_batch`` applies a poll's events in one transaction; this subclass opens a
``store.Batch`` around the batch's handlers: the item rows the batch touches (complaints, praise,
evaluation results, ledger entries, the directory's names) are read in one statement per table, the handlers change them
and add to the daily rollups in memory, and everything is written at the end in one upsert per
table. Semantics are unchanged: all or nothing, duplicates skipped, the inbox written in the same
transaction; a handler called outside a batch still writes straight to SQL. The worker, the
rebuild (``lsq reports rebuild``), the tests and the bench all use this runner.
"""
from __future__ import annotations

import contextlib

from services.reports import store
from shared.consumer import ConsumerRunner
from shared.directory_view import known_branches, known_service_points, known_staff
from shared.events.envelope import Event

#: The reports consumer reads as Kafka hands the records, without ``shared.pacing``: every handler
#: is order-tolerant (each event sets its own columns, later facts are recognised by their own
#: times and revisions, tested by feeding the events backwards), so keeping partitions in step by
#: record time buys the reports nothing and costs a catch-up pauses, resumes and smaller polls.
PACING_WINDOW_MS = None

#: Which item rows an event type reads or writes: (table, key column, the key from the data).
_ITEM_KEYS = {
    **{f"lsq.staff.{name}.v1": (known_staff, "staff_id", lambda d: d["staff_id"])
       for name in ("joined", "transferred", "left", "updated")},
    "lsq.branch.opened.v1": (known_branches, "branch_id", lambda d: d["branch_id"]),
    "lsq.branch.service_point_opened.v1": (known_service_points, "service_point_id", lambda d: d["service_point_id"]),
    **{f"lsq.complaint.{name}.v1": (store.complaint_facts, "complaint_id", lambda d: d["complaint_id"])
       for name in ("filed", "acknowledged", "resolved", "reopened", "sla_at_risk", "sla_breached", "rated")},
    "lsq.praise.received.v1": (store.praise_facts, "praise_id", lambda d: d["praise_id"]),
    "lsq.praise.rejected.v1": (store.praise_facts, "praise_id", lambda d: d["praise_id"]),
    "lsq.evaluation.scored.v1": (store.evaluation_results, "evaluation_id", lambda d: d["evaluation_id"]),
    "lsq.evaluation.rescored.v1": (store.evaluation_results, "evaluation_id", lambda d: d["evaluation_id"]),
    "lsq.award.granted.v1": (store.ledger_entries, "entry_id", lambda d: f"award:{d['award_id']}"),
    "lsq.award.revoked.v1": (store.ledger_entries, "entry_id", lambda d: f"award:{d['award_id']}"),
    "lsq.sanction.issued.v1": (store.ledger_entries, "entry_id", lambda d: f"sanction:{d['sanction_id']}"),
    "lsq.sanction.revoked.v1": (store.ledger_entries, "entry_id", lambda d: f"sanction:{d['sanction_id']}"),
}


def prefetch(work: store.Batch, events: list[Event]) -> None:
    """Load the item rows ``events`` touch, one statement per table."""
    wanted: dict[tuple, list] = {}
    for event in events:
        item = _ITEM_KEYS.get(event.type)
        if item is not None:
            table, column, key = item
            wanted.setdefault((table, column), []).append(key(event.data))
    for (table, column), keys in wanted.items():
        work.load(table, column, keys)


class ReportsRunner(ConsumerRunner):
    """``ConsumerRunner`` applying each batch through one ``store.Batch``; unpaced unless told
    otherwise (``PACING_WINDOW_MS``)."""

    def __init__(self, *args, pacing_window_ms: int | None = PACING_WINDOW_MS, **kwargs):
        super().__init__(*args, pacing_window_ms=pacing_window_ms, **kwargs)

    @contextlib.contextmanager
    def batch_scope(self, conn, fresh: list[Event]):
        with store.batch(conn) as work:  # flushed when the batch's handlers are done
            prefetch(work, fresh)
            yield
