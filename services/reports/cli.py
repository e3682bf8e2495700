"""``lsq reports rebuild``: replay every topic the reports read into an empty database.

The read model is derived only from events, so a rebuild from the beginning of the topics gives
the same figures as the worker that followed them live (tested). The inbox rows are written under
the worker's consumer group, so a worker started on the rebuilt database skips what it replays.
"""
from __future__ import annotations

import argparse
import sys

from sqlalchemy import func, select

from services.reports import store
from services.reports.handlers import HANDLERS
from services.reports.runner import ReportsRunner
from shared import bus
from shared.config import Settings
from shared.db import Database
from shared.events import get as get_event_type


def is_empty(db: Database) -> bool:
    """No read-model rows yet (a rebuild refuses to add to figures already counted)."""
    with db.read() as conn:
        return all(conn.execute(select(func.count()).select_from(t)).scalar_one() == 0
                   for t in store.metadata.sorted_tables)


def replay(db: Database, bootstrap: str, group: str = "lsq.reports", batch: int = 2000) -> int:
    """Read every topic of ``HANDLERS`` from the beginning to its current end and apply the events
    in batches; returns how many records were read. No consumer group: offsets stay untouched."""
    from kafka import KafkaConsumer, TopicPartition
    topics = sorted({get_event_type(t).topic for t in HANDLERS})
    settings = bus.consumer_settings(bootstrap, group)
    settings.update(group_id=None, client_id="lsq-reports-rebuild")
    consumer = KafkaConsumer(**settings)
    # The batch path of the worker; no pacing: the loop below reads to the end by itself and the
    # handlers are order-tolerant (docs/services/reports.md).
    runner = ReportsRunner(db, bootstrap, group, HANDLERS, topics=topics, pacing_window_ms=None)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = {tp: offset for tp, offset in consumer.end_offsets(partitions).items() if offset}
        records_read, pending = 0, []
        while ends:
            polled = consumer.poll(timeout_ms=1000)
            for tp, records in polled.items():
                for record in records:
                    if tp in ends and record.offset < ends[tp]:
                        records_read += 1
                        event, status, _error = runner.parse(record)
                        if event is not None:
                            pending.append(event)
                if tp in ends and consumer.position(tp) >= ends[tp]:
                    del ends[tp]
            if len(pending) >= batch or (not ends and pending):
                # Record time order across topics, as the paced worker sees them.
                pending.sort(key=lambda e: (e.time or 0, e.topic, e.partition, e.offset))
                runner.apply_batch(pending)
                pending = []
        return records_read
    finally:
        consumer.close()


def cmd_rebuild(args) -> int:
    settings = Settings.from_env("reports")
    url = args.database_url or settings.database_url
    db = Database(url, "reports")
    db.migrate()
    if not is_empty(db):
        print(f"the database {url} already holds report rows: rebuild into an empty one "
              "(--database-url), then point the service at it", file=sys.stderr)
        return 2
    count = replay(db, args.bootstrap or settings.kafka_bootstrap)
    print(f"replayed {count} records into {url}")
    db.dispose()
    return 0


def register(subparsers) -> None:
    """``lsq reports rebuild [--database-url URL] [--bootstrap HOST:PORT]``."""
    reports = subparsers.add_parser("reports", help="the reporting service's read model")
    sub = reports.add_subparsers(dest="reports_command", required=True)
    rebuild = sub.add_parser("rebuild", help="replay every topic into an empty reports database")
    rebuild.add_argument("--database-url", help="an empty database (default: the service's own)")
    rebuild.add_argument("--bootstrap", dest="kafka", default=None, help="Kafka (default: LSQ_KAFKA_BOOTSTRAP)")
    rebuild.set_defaults(func=lambda args: cmd_rebuild(argparse.Namespace(database_url=args.database_url,
                                                                          bootstrap=args.kafka)))
