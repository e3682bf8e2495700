"""Rebuild the incentive state by replaying every topic from the beginning into an empty database.

    python -m services.incentive.replay --database-url sqlite:///var/data/incentive-replay.db \\
        [--config-from postgresql+psycopg://.../lsq_incentive] [--bootstrap 127.0.0.1:9092]

Every topic the worker consumes (its own command events included) is read up to its current end.
Partitions keep their order and are merged by event time, which is the order a live worker sees
when events arrive as they happen, so the rebuilt ledger is the same, entry for entry. Policy
versions and fund budgets are configuration, not events: ``--config-from`` copies them first (the
default policy, version 1, is the same in every database anyway).
"""
from __future__ import annotations

import argparse
import heapq
import json
import logging
import sys
import uuid
from decimal import Decimal

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import select

from services.incentive import service, store
from services.incentive.handlers import HANDLERS
from services.incentive.runner import IncentiveRunner
from shared import events
from shared.db import Database
from shared.timeutil import parse_rfc3339, utcnow

log = logging.getLogger(__name__)


def consumed_topics() -> list[str]:
    """The topics the incentive worker reads."""
    return sorted({events.get(t).topic for t in HANDLERS})


def _time_of(record) -> float:
    for key, value in record.headers or []:
        if key == "ce_time" and value:
            try:
                return parse_rfc3339(value.decode()).timestamp()
            except ValueError:
                break
    return 0.0


def read_topics(bootstrap: str, topics: list[str], timeout_seconds: float = 60) -> list:
    """Every record of ``topics`` up to their current end, partitions merged by event time."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None, enable_auto_commit=False,
                             client_id=f"lsq-incentive-replay-{uuid.uuid4().hex[:6]}", max_poll_records=5000,
                             fetch_max_bytes=64 * 1024 * 1024)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        per_partition: dict[TopicPartition, list] = {tp: [] for tp in partitions}
        import time
        deadline = time.monotonic() + timeout_seconds
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError("reading the topics took too long")
            for tp, records in consumer.poll(timeout_ms=500).items():
                per_partition[tp] += [r for r in records if r.offset < ends[tp]]
        # Tie-break equal times by topic and partition, so that two replays merge alike.
        keyed = ([(_time_of(r), tp.topic, tp.partition, r.offset, r) for r in records]
                 for tp, records in sorted(per_partition.items(), key=lambda kv: (kv[0].topic, kv[0].partition)))
        return [item[-1] for item in heapq.merge(*keyed, key=lambda item: item[:4])]
    finally:
        consumer.close()


def copy_configuration(source: Database, target: Database) -> None:
    """Copy policy versions after 1 and fund budgets (not balances) from ``source``."""
    with source.read() as conn:
        policies = [dict(r) for r in conn.execute(select(store.policies).where(store.policies.c.version > 1)
                                                  .order_by(store.policies.c.version)).mappings()]
        budgets = [dict(r) for r in conn.execute(select(store.funds.c.branch_id, store.funds.c.period,
                                                        store.funds.c.budget)).mappings()]
    with target.transaction() as conn:
        for row in policies:
            conn.execute(store.policies.insert().values(**row))
        for row in budgets:
            conn.execute(store.funds.insert().values(**row, reserved=Decimal("0.00"), granted=Decimal("0.00"),
                                                     updated_at=utcnow()))


def replay(db: Database, records: list, group: str = "lsq.incentive", batch_size: int = 500,
           escalate_at=None) -> dict:
    """Apply ``records`` in order, in batches; then run the escalation sweep as the worker would
    (at ``escalate_at``, default now: a dry run over a past period sweeps at the period's end)."""
    runner = IncentiveRunner(db, "127.0.0.1:1", group, HANDLERS)
    counts = {"applied": 0, "duplicate": 0, "ignored": 0, "poison": 0}
    batch = []

    def flush():
        if batch:
            for status in runner.apply_batch(batch):
                counts[status] += 1
            batch.clear()

    for record in records:
        event, status, error = runner.parse(record)
        if event is None:
            counts[status] += 1
            if status == "poison":
                log.warning("skipping %s[%s]@%s: %s", record.topic, record.partition, record.offset, error)
            continue
        batch.append(event)
        if len(batch) >= batch_size:
            flush()
    flush()
    counts["escalated"] = service.escalate_due(db, escalate_at)
    return counts


def ledger_snapshot(db: Database) -> list[dict]:
    """The ledger without its storage details (position, recorded_at), ordered by entry id: two
    databases holding the same ledger give equal snapshots."""
    with db.read() as conn:
        rows = conn.execute(select(store.ledger).order_by(store.ledger.c.id)).mappings().all()
    return [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items() if k not in ("position", "recorded_at")}
            for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--database-url", required=True, help="an EMPTY database to rebuild into")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--config-from", help="database URL to copy policy versions and fund budgets from")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    db = Database(args.database_url, "incentive")
    db.migrate()
    with db.read() as conn:
        if conn.execute(select(store.ledger.c.id).limit(1)).first() is not None:
            print("the target database already has a ledger: replay into an empty one", file=sys.stderr)
            return 2
    if args.config_from:
        copy_configuration(Database(args.config_from, "incentive"), db)
    records = read_topics(args.bootstrap, consumed_topics())
    counts = replay(db, records)
    print(json.dumps({"records": len(records), **counts, "ledger_entries": len(ledger_snapshot(db))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
