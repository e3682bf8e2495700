"""Incentive worker throughput over pre-produced mixed events, against a raw consumer.

    .venv/bin/python -m bench.incentive_throughput [--events 200000]

Produces ``--events`` realistic events (praise and rejections, training completions, evaluation
results, complaint resolutions, SLA breaches, overdue training) to private topics, then measures:
- baseline: a bare kafka-python consumer reading and JSON-decoding every record;
- incentive: the worker's consumer (``IncentiveRunner`` with the real handlers and the workers'
  consumer settings, ``shared.bus.consumer_settings``, on partitions assigned by hand) applying them to an
  empty database (PostgreSQL when DATABASE_URL names a server, else SQLite), with idempotency
  (inbox), ledger, state and outbox writes, one transaction per poll of up to 500 records.
Prints both rates and the ratio (goal: >= 0.25 and >= 5,000 events/s). Topics and database are
removed afterwards.
"""
from __future__ import annotations

import argparse
import threading
import time
import uuid

from sqlalchemy import func, select

from bench.incentive_common import (BOOTSTRAP, assigned_consumer, delete_topics, drop_database, fresh_database,
                                    mixed_events, private_topics, produce, raw_consume, set_budgets)
from services.incentive import store
from services.incentive.handlers import HANDLERS
from services.incentive.replay import consumed_topics
from services.incentive.runner import IncentiveRunner
from shared import runtime
from shared.bus import consumer_settings
from shared.db import Database


def run_worker(url: str, topics: list[str], expected: int, timeout: float) -> tuple[float, dict]:
    """Apply every record with the incentive consumer; returns (seconds, status counts)."""
    db = Database(url, "incentive")
    db.migrate()
    set_budgets(db)
    runtime.tune_garbage_collector()  # as a worker process does once started (shared.worker)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    runner = IncentiveRunner(db, BOOTSTRAP, group, HANDLERS, topics=topics,
                             consumer_factory=lambda: assigned_consumer(
                                 topics, group, **consumer_settings(BOOTSTRAP, group)))
    counts: dict[str, int] = {}
    original = runner.process

    def counting(records):
        outcomes = original(records)
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return outcomes

    runner.process = counting
    started = time.perf_counter()
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = started + timeout
    while sum(counts.values()) < expected and time.perf_counter() < deadline:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    runner.stop.set()
    thread.join(30)
    with db.read() as conn:
        counts["ledger_entries"] = conn.execute(select(func.count()).select_from(store.ledger)).scalar_one()
    db.dispose()
    return elapsed, counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="incentive worker throughput")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    stream = mixed_events(args.events)
    count = len(stream)
    topics = private_topics(prefix, consumed_topics())
    url = fresh_database("throughput")
    try:
        produced = produce(prefix, stream)
        del stream  # a worker process does not hold the events it will read
        print(f"produced {count} events in {produced:.1f}s")
        baseline = raw_consume(topics, count)
        print(f"baseline  raw kafka-python consumer: {count / baseline:9.0f} events/s")
        elapsed, counts = run_worker(url, topics, count, args.timeout)
        handled = sum(v for k, v in counts.items() if k != "ledger_entries")
        if handled < count:
            print(f"time budget of {args.timeout:.0f}s reached: rate measured over the {handled} events applied")
        rate = handled / elapsed
        print(f"incentive worker ({url.split(':')[0]}):     {rate:9.0f} events/s  {counts}")
        print(f"ratio incentive / raw consumer: {rate / (count / baseline):.3f}  "
              f"(goal >= 0.25 and >= 5000 events/s)")
    finally:
        delete_topics(topics)
        drop_database(url)


if __name__ == "__main__":
    main()
